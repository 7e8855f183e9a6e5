"""Golden fingerprints of what determines roma's numbers: the synthetic data, every corruption, the warm start.

The documented accuracies are reproducible only while these stay bit-identical. A dependency bump (pillow, numpy,
opencv, scipy, torch, transformers ...) that changes any of them changes the model a fresh machine builds, so
``tests/test_goldens.py`` compares them with ``tests/goldens.json`` and names the one that moved.

When a change is intended (a new lock, a new corruption kernel, a new synthetic task):

    python tests/goldens.py --write        # in the locked environment (bash scripts/install.sh)
    git diff tests/goldens.json            # review: which fingerprints moved, and why
    # then rerun the main job and the study (python recipes/study_synthetic.py) and update the documented numbers
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

GOLDENS = Path(__file__).with_name("goldens.json")
SYNTHETIC_ROWS = 8  # first rows of each split
WARM_START_STEPS = 6  # optimiser steps whose losses are pinned (logged every step)
LOSS_DECIMALS = 4


def _warm_start_end_config():
    from roma.scripts.warm_start import WarmStartConfig

    return WarmStartConfig(
        steps=60,
        batch_size=16,
        learning_rate=3e-3,
        seed=0,
        target_accuracy=0.3,
        eval_steps=10,
        eval_samples=64,
        cpu_threads=1,  # as the recipe's (a float sum splits across threads): the same on any core count
    )


REGENERATE = "python tests/goldens.py --write"


def array_digest(array: np.ndarray) -> str:
    """sha256 over dtype, shape and the raw bytes (C order): equal digests mean bit-identical arrays."""
    array = np.ascontiguousarray(array)
    digest = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
    digest.update(array.tobytes())
    return digest.hexdigest()


def synthetic_fingerprints() -> dict[str, str]:
    """{"<split>/<row id>": digest of (image pixels, question, answer)} for the first rows of every split."""
    from roma.data.synthetic import SPLITS, make_synthetic_dataset

    fingerprints = {}
    for split in SPLITS:
        for row in make_synthetic_dataset(split, SYNTHETIC_ROWS, seed=0):
            pixels = np.asarray(row["image"].convert("RGB"))
            text = hashlib.sha256(f"{row['question']}\x00{row['answer']}".encode()).hexdigest()
            fingerprints[f"{split}/{row['id']}"] = hashlib.sha256(
                (array_digest(pixels) + text).encode()
            ).hexdigest()
    return fingerprints


def reference_image() -> np.ndarray:
    """A fixed 96 × 128 RGB image with smooth gradients, hard edges, thin strokes and texture, so that every
    corruption (blur, JPEG blocks, resampling, noise, photometric shifts) changes it."""
    height, width = 96, 128
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    image = np.stack([x / width * 255, y / height * 255, (x + y) / (width + height) * 255], axis=-1)
    image[20:60, 30:70] = (220, 30, 40)  # a saturated block with hard edges
    image[::7, :, 1] = 250  # thin horizontal strokes
    image[:, 90:92] = 10  # a thin dark bar
    texture = np.random.default_rng(1234).integers(0, 40, size=(height, width, 1))
    return np.clip(image + texture, 0, 255).astype(np.uint8)


def corruption_fingerprints() -> dict[str, str]:
    """{"<corruption>@<severity>": digest} for every registered corruption at every integer severity 1-5, each
    with its own seeded generator (so random corruptions are pinned too)."""
    from roma import degrade as D

    image = reference_image()
    fingerprints = {}
    for name in D.list_corruptions():
        for severity in range(1, 6):
            output = D.corrupt(image, name, severity, D.rng_for("goldens", name, severity))
            fingerprints[f"{name}@{severity}"] = array_digest(output)
    return fingerprints


def model_and_warm_start() -> tuple[str, list[list[float]]]:
    """The digest of the default tiny model's initial weights (``roma-tiny/qwen3_vl-small``, built offline from a
    seed), and [[step, loss]] of the first optimiser steps of the default warm start from it (the tiny CPU
    configuration's hyper-parameters, fewer steps), rounded to ``LOSS_DECIMALS``."""
    from safetensors.numpy import load_file

    from roma.models import resolve_model
    from roma.scripts.warm_start import WarmStartConfig, warm_start

    with tempfile.TemporaryDirectory(prefix="roma-goldens-") as tmp:
        base = resolve_model("roma-tiny/qwen3_vl-small", cache_dir=tmp)
        weights = load_file(str(Path(base) / "model.safetensors"))
        model_digest = hashlib.sha256(
            "".join(f"{name}:{array_digest(weights[name])}" for name in sorted(weights)).encode()
        ).hexdigest()
        config = WarmStartConfig(
            steps=WARM_START_STEPS, batch_size=16, learning_rate=1e-3, seed=0, cpu_threads=1
        )
        folder = warm_start(base, config, cache_dir=Path(tmp) / "warm_start")
        history = json.loads((folder / "warm_start.json").read_text())["loss_history"]
    return model_digest, [[int(step), round(float(loss), LOSS_DECIMALS)] for step, loss in history]


def warm_start_end() -> dict[str, Any]:
    """Where a complete warm start of the default tiny model ends: it stops at its target accuracy (as the recipe's
    does, shorter and on fewer validation rows): the step it stopped at, its validation accuracies and its last
    losses, rounded to ``LOSS_DECIMALS``. The first losses agree across CPUs when the end does not (issue 23)."""
    from roma.models import resolve_model
    from roma.scripts.warm_start import warm_start

    with tempfile.TemporaryDirectory(prefix="roma-goldens-") as tmp:
        base = resolve_model("roma-tiny/qwen3_vl-small", cache_dir=tmp)
        folder = warm_start(base, _warm_start_end_config(), cache_dir=Path(tmp) / "warm_start")
        info = json.loads((folder / "warm_start.json").read_text())
    return {
        "steps_trained": info["steps_trained"],
        "reached_target": info["reached_target"],
        "validation_accuracy": [
            [int(step), round(float(a), LOSS_DECIMALS)] for step, a in info["validation_accuracy_history"]
        ],
        "last_losses": [
            [int(step), round(float(loss), LOSS_DECIMALS)] for step, loss in info["loss_history"][-3:]
        ],
    }


def compute_all() -> dict[str, Any]:
    model_digest, losses = model_and_warm_start()
    return {
        "synthetic": synthetic_fingerprints(),
        "corruptions": corruption_fingerprints(),
        "tiny_model": model_digest,
        "warm_start_losses": losses,
        "warm_start_end": warm_start_end(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Compute (and with --write, store) roma's golden fingerprints."
    )
    parser.add_argument("--write", action="store_true", help=f"Rewrite {GOLDENS.name}.")
    args = parser.parse_args(argv)
    fingerprints = compute_all()
    if args.write:
        GOLDENS.write_text(json.dumps(fingerprints, indent=1, sort_keys=True) + "\n")
        print(f"Wrote {GOLDENS}")
    else:
        json.dump(fingerprints, sys.stdout, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from roma.numerics import pin_cpu_numerics

    pin_cpu_numerics()  # the kernels the tests run (tests/conftest.py), before torch computes anything
    sys.exit(main())
