"""Supervised warm start on the synthetic task (TRL's `SFTTrainer`), cached, and a synthetic-accuracy probe.

A randomly initialised model earns zero reward on every completion, so RL has nothing to push on. The CPU recipe
therefore starts from a small Qwen3-VL fine-tuned for a few minutes on the synthetic training split
(`roma.data.synthetic`) to answer ``\\boxed{ANSWER}``: far above chance, below its ceiling.

* `warm_start` trains with ``trl.SFTTrainer`` on conversational prompt-completion rows (prompt =
  `roma.data.prompts.build_conversation`, completion = one assistant message ``\\boxed{ANSWER}``, one ``image``
  per row). TRL 1.16 handles such vision rows in ``DataCollatorForVisionLanguageModeling``: it renders prompt and
  prompt + completion with the chat template, tokenises and processes the images per batch, and with
  ``completion_only_loss`` (the default for prompt-completion data) masks the prompt and the image tokens out of
  the labels: the loss is on ``\\boxed{ANSWER}<|im_end|>\\n`` only.
* The result is cached under ``cache_dir/sft-<hash12>``, the hash covering every argument that changes the
  weights (`warm_start_key`). Training writes into a hidden temporary folder that is renamed into place only
  after the model, the processor, ``warm_start.json`` and the ``COMPLETE`` marker are written: a killed run leaves
  a temporary folder that is never read (and is deleted by the next run for the same key), never a half
  checkpoint under the final name. A cache hit only hashes files and reads the marker.
* `synthetic_accuracy` measures greedy accuracy on a synthetic split, clean or under one corruption, graded
  with `roma.grading.grade` (the same code as the RL reward and the benchmark evaluation).

Command line: ``python -m roma.trainer.warm_start --steps 200 [--eval]`` prints the checkpoint path (and its
accuracy).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from datasets import Dataset

logger = logging.getLogger(__name__)

# Bump when the recipe (data, completion format, optimiser settings) changes what the same arguments produce, so
# old cache entries stop matching.
WARM_START_VERSION = 1
CACHE_PREFIX = "sft-"
TEMP_PREFIX = ".tmp-"
MARKER_FILE = "COMPLETE"
INFO_FILE = "warm_start.json"
BASE_MODEL_SIZE = "small"
# Fixed optimiser details (the tunable ones are arguments). A linear decay to zero after a short warm-up gave the
# best accuracy for a fixed number of steps in the calibration (see `warm_start`'s docstring).
LR_SCHEDULER = "linear"
WARMUP_RATIO = 0.05
# Environment variables that make a process part of a torchrun / accelerate launch; the isolated warm-start
# subprocess drops them so it trains alone.
_DISTRIBUTED_ENV_VARS = (
    "RANK",
    "LOCAL_RANK",
    "WORLD_SIZE",
    "LOCAL_WORLD_SIZE",
    "GROUP_RANK",
    "ROLE_RANK",
    "ROLE_WORLD_SIZE",
    "MASTER_ADDR",
    "MASTER_PORT",
    "TORCHELASTIC_RUN_ID",
)


# ---------------------------------------------------------------------------------------------------------
# Cache key: pure functions of the arguments and the base model's files.


def completion_text(answer: str) -> str:
    """The supervised completion for a gold ``answer``: ``\\boxed{ANSWER}`` (what `roma.grading` extracts)."""
    return f"\\boxed{{{answer}}}"


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def base_model_identity(base_model: str | Path | None, *, family: str, seed: int) -> dict[str, Any]:
    """What identifies the starting weights, for the cache key.

    ``None``: the ``small`` tiny checkpoint that `roma.models.tiny.build_tiny_model` builds for ``family`` and
    ``seed`` (its architecture spec is part of the identity, so a changed spec is a new key). A local folder: its
    resolved path and the SHA-256 of every file directly inside it (config, weights, processor files). Anything
    else is taken as a hub id and identified by the string.
    """
    if base_model is None:
        from roma.models.tiny import get_spec

        return {
            "build": "roma.models.tiny",
            "family": family,
            "size": BASE_MODEL_SIZE,
            "seed": seed,
            "spec": repr(get_spec(family, BASE_MODEL_SIZE)),
        }
    path = Path(base_model).expanduser()
    if path.is_dir():
        files = sorted(item for item in path.iterdir() if item.is_file())
        if not any(item.name == "config.json" for item in files):
            raise FileNotFoundError(
                f"Base model folder {str(path)!r} has no config.json: it is not a saved checkpoint."
            )
        return {"path": str(path.resolve()), "files": {item.name: _file_sha256(item) for item in files}}
    if path.exists():
        raise ValueError(f"Base model {str(path)!r} is a file; expected a checkpoint folder or a hub id.")
    return {"hub_id": str(base_model)}


def warm_start_key(
    base_model: str | Path | None,
    *,
    steps: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    num_train_samples: int,
    image_size: int,
    family: str,
) -> dict[str, Any]:
    """Everything that determines the warm-started weights (hashed by `key_hash` into the cache folder name)."""
    return {
        "version": WARM_START_VERSION,
        "base_model": base_model_identity(base_model, family=family, seed=seed),
        "steps": steps,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "lr_scheduler": LR_SCHEDULER,
        "warmup_ratio": WARMUP_RATIO,
        "seed": seed,
        "num_train_samples": num_train_samples,
        "image_size": image_size,
        "data": "roma.data.synthetic train split, all families",
    }


def key_hash(key: dict[str, Any]) -> str:
    """The 12-hex-digit SHA-256 of a key's canonical JSON."""
    canonical = json.dumps(key, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def is_complete(folder: Path, digest: str) -> bool:
    """Whether ``folder`` is a finished warm start for the key hashed to ``digest`` (its marker names it)."""
    marker = folder / MARKER_FILE
    return marker.is_file() and marker.read_text().strip() == digest


def _check_arguments(
    steps: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    num_train_samples: int | None,
    image_size: int,
    family: str,
) -> None:
    from roma.models.tiny import FAMILIES

    for name, value, minimum in (("steps", steps, 1), ("batch_size", batch_size, 1), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"warm_start: {name} must be an integer >= {minimum}, got {value!r}.")
    if num_train_samples is not None and (
        isinstance(num_train_samples, bool) or not isinstance(num_train_samples, int) or num_train_samples < 1
    ):
        raise ValueError(
            f"warm_start: num_train_samples must be a positive integer or None, got {num_train_samples!r}."
        )
    if not isinstance(learning_rate, (int, float)) or not math.isfinite(learning_rate) or learning_rate <= 0:
        raise ValueError(
            f"warm_start: learning_rate must be a positive finite number, got {learning_rate!r}."
        )
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 32:
        raise ValueError(f"warm_start: image_size must be an integer >= 32 pixels, got {image_size!r}.")
    if family not in FAMILIES:
        raise ValueError(
            f"warm_start: unknown model family {family!r}; expected one of {', '.join(FAMILIES)}."
        )


# ---------------------------------------------------------------------------------------------------------
# The warm start.


def warm_start(
    base_model: str | Path | None = None,
    *,
    cache_dir: str | Path = "runs/warm_start",
    steps: int,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    seed: int = 0,
    num_train_samples: int | None = None,
    image_size: int = 64,
    family: str = "qwen3_vl",
    force: bool = False,
) -> Path:
    """Fine-tune ``base_model`` on the synthetic training split with TRL's `SFTTrainer`; cached.

    Args:
        base_model: a checkpoint folder or hub id; ``None`` builds the ``small`` tiny checkpoint of ``family``
            (1.7 M parameters, patch 8) with ``seed`` first.
        cache_dir: where ``sft-<hash12>`` folders are kept.
        steps: optimiser steps (at ``batch_size``; fp32 on the CPU).
        batch_size: rows per step.
        learning_rate: AdamW peak learning rate (linear warm-up over 5 % of the steps, linear decay to zero).
        seed: seed of the base-model build, the training data, the shuffling and the trainer.
        num_train_samples: rows of the synthetic train split; ``None`` = ``steps * batch_size`` (every row is
            seen once; the split is a pure function of the seed, a shorter one a prefix of a longer one).
        image_size: side of the synthetic images in pixels.
        family: model family built when ``base_model`` is ``None`` (ignored otherwise).
        force: retrain (and replace the cached folder) even when a finished one exists.

    Returns:
        The folder of the warm-started checkpoint: loads with ``AutoModelForImageTextToText.from_pretrained`` and
        ``AutoProcessor.from_pretrained``; ``warm_start.json`` records the arguments, the cache key, the wall
        time and the training loss.

    In a multi-process launch (``WORLD_SIZE`` > 1) the training runs in a separate single-process Python so it
    does not join the launch's process group; call it on the main process first (the other ranks then hit the
    cache), as ``roma.trainer.pipeline`` does.
    """
    _check_arguments(steps, batch_size, learning_rate, seed, num_train_samples, image_size, family)
    num_train_samples = steps * batch_size if num_train_samples is None else num_train_samples
    key = warm_start_key(
        base_model,
        steps=steps,
        batch_size=batch_size,
        learning_rate=float(learning_rate),
        seed=seed,
        num_train_samples=num_train_samples,
        image_size=image_size,
        family=family,
    )
    digest = key_hash(key)
    cache_dir = Path(cache_dir)
    final_dir = cache_dir / f"{CACHE_PREFIX}{digest}"
    if not force and is_complete(final_dir, digest):
        logger.info("warm start: reusing cached checkpoint %s", final_dir)
        return final_dir

    cache_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_temp_folders(cache_dir, final_dir.name)
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        return _warm_start_in_subprocess(
            base_model,
            cache_dir=cache_dir,
            steps=steps,
            batch_size=batch_size,
            learning_rate=learning_rate,
            seed=seed,
            num_train_samples=num_train_samples,
            image_size=image_size,
            family=family,
            force=force,
            expected=final_dir,
        )

    temp_dir = cache_dir / f"{TEMP_PREFIX}{final_dir.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    temp_dir.mkdir()
    try:
        info = _train(
            base_model,
            temp_dir,
            steps=steps,
            batch_size=batch_size,
            learning_rate=float(learning_rate),
            seed=seed,
            num_train_samples=num_train_samples,
            image_size=image_size,
            family=family,
        )
        info["key"] = key
        info["key_hash"] = digest
        (temp_dir / INFO_FILE).write_text(json.dumps(info, indent=2) + "\n")
        (temp_dir / MARKER_FILE).write_text(digest + "\n")
        _move_into_place(temp_dir, final_dir, digest, replace=force)
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)  # gone already after a successful rename
    logger.info(
        "warm start: %d steps in %.1f s, final loss %.4f -> %s",
        steps,
        info["train_wall_time_s"],
        info["final_loss"],
        final_dir,
    )
    return final_dir


def _move_into_place(temp_dir: Path, final_dir: Path, digest: str, *, replace: bool) -> None:
    """Rename the finished ``temp_dir`` to ``final_dir`` (atomic on one file system)."""
    if final_dir.exists():
        if is_complete(final_dir, digest) and not replace:
            return  # another process finished the same key meanwhile: keep its result
        # An unfinished folder under the final name (copied by hand), or a `force` rerun: replace it.
        shutil.rmtree(final_dir)
    try:
        temp_dir.rename(final_dir)
    except OSError:
        # Another process finished the same key between the check and the rename: keep its result.
        if not is_complete(final_dir, digest):
            raise


def _remove_stale_temp_folders(cache_dir: Path, final_name: str) -> None:
    """Delete temporary folders of ``final_name`` left by runs whose process is gone (killed runs)."""
    prefix = f"{TEMP_PREFIX}{final_name}-"
    for folder in cache_dir.glob(f"{prefix}*"):
        pid_text = folder.name[len(prefix) :].split("-")[0]
        if pid_text.isdigit() and not _process_alive(int(pid_text)):
            logger.info("warm start: removing %s, left by a run that did not finish", folder)
            shutil.rmtree(folder, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's live process
        return True
    return True


def _warm_start_in_subprocess(base_model: str | Path | None, *, expected: Path, **kwargs: Any) -> Path:
    """Run `warm_start` in a fresh single-process Python (outside the current distributed launch)."""
    command = [sys.executable, "-m", "roma.trainer.warm_start"]
    if base_model is not None:
        command += ["--base_model", str(base_model)]
    for name, value in kwargs.items():
        if name == "force":
            command += ["--force"] if value else []
        else:
            command += [f"--{name}", str(value)]
    env = {name: value for name, value in os.environ.items() if name not in _DISTRIBUTED_ENV_VARS}
    env = {name: value for name, value in env.items() if not name.startswith("ACCELERATE_")}
    logger.info("warm start: training in a separate process: %s", " ".join(command))
    subprocess.run(command, env=env, check=True)
    digest = expected.name[len(CACHE_PREFIX) :]
    if not is_complete(expected, digest):
        raise RuntimeError(f"The warm-start subprocess finished but {expected} is not a complete checkpoint.")
    return expected


def synthetic_sft_dataset(num_samples: int, *, seed: int = 0, image_size: int = 64) -> Dataset:
    """The synthetic train split as TRL conversational prompt-completion rows: ``prompt``, ``completion``, ``image``."""
    from roma.data.prompts import build_conversation
    from roma.data.synthetic import make_synthetic_dataset

    rows = make_synthetic_dataset("train", num_samples, seed=seed, image_size=image_size)

    def to_prompt_completion(question: str, answer: str) -> dict[str, Any]:
        return {
            "prompt": build_conversation(question),
            "completion": [
                {"role": "assistant", "content": [{"type": "text", "text": completion_text(answer)}]}
            ],
        }

    return rows.map(
        to_prompt_completion,
        input_columns=["question", "answer"],
        remove_columns=[name for name in rows.column_names if name != "image"],
        desc="Warm start: prompt-completion rows",
    )


def _train(
    base_model: str | Path | None,
    out_dir: Path,
    *,
    steps: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    num_train_samples: int,
    image_size: int,
    family: str,
) -> dict[str, Any]:
    """Train into ``out_dir`` (model + processor) and return what ``warm_start.json`` records."""
    started = time.perf_counter()
    from transformers import AutoModelForImageTextToText, AutoProcessor
    from trl import SFTConfig, SFTTrainer

    source = base_model
    if base_model is None:
        from roma.models.tiny import build_tiny_model

        source = build_tiny_model(family, out_dir / "base", size=BASE_MODEL_SIZE, seed=seed)
    try:
        model = AutoModelForImageTextToText.from_pretrained(str(source), dtype="float32")
        processor = AutoProcessor.from_pretrained(str(source))
    except OSError as error:
        raise FileNotFoundError(f"warm_start: cannot load base model {str(source)!r}: {error}") from None
    if base_model is None:
        shutil.rmtree(out_dir / "base")
    train_dataset = synthetic_sft_dataset(num_train_samples, seed=seed, image_size=image_size)

    args = SFTConfig(
        output_dir=str(out_dir),
        max_steps=steps,
        per_device_train_batch_size=batch_size,
        learning_rate=learning_rate,
        lr_scheduler_type=LR_SCHEDULER,
        warmup_steps=math.ceil(WARMUP_RATIO * steps),
        seed=seed,
        use_cpu=True,
        bf16=False,
        # A 1.7 M-parameter model needs no activation memory savings; recomputation would cost ~30 % a step.
        activation_checkpointing=False,
        completion_only_loss=True,
        max_length=None,  # prompts are ~110 tokens; truncation could only cut image tokens
        logging_steps=max(1, min(10, steps // 10)),
        save_strategy="no",
        report_to="none",
        disable_tqdm=False,
    )
    trainer = SFTTrainer(model=model, args=args, train_dataset=train_dataset, processing_class=processor)
    train_started = time.perf_counter()
    output = trainer.train()
    train_wall_time = time.perf_counter() - train_started
    losses = [(entry["step"], entry["loss"]) for entry in trainer.state.log_history if "loss" in entry]
    final_loss = losses[-1][1] if losses else output.training_loss
    if not math.isfinite(final_loss):
        raise RuntimeError(
            f"warm_start: the training loss is {final_loss} after {steps} steps at learning_rate={learning_rate}; "
            "lower the learning rate. Nothing was cached."
        )
    trainer.save_model(str(out_dir))  # the weights and the processor (its processing_class)
    (out_dir / "training_args.bin").unlink(missing_ok=True)  # a pickle nobody needs to load the model
    return {
        "arguments": {
            "base_model": None if base_model is None else str(base_model),
            "steps": steps,
            "batch_size": batch_size,
            "learning_rate": learning_rate,
            "seed": seed,
            "num_train_samples": num_train_samples,
            "image_size": image_size,
            "family": family,
        },
        "train_wall_time_s": round(train_wall_time, 2),
        "total_wall_time_s": round(time.perf_counter() - started, 2),
        "final_loss": final_loss,
        "mean_train_loss": output.training_loss,
        "loss_history": losses,
        "cpu_threads": _torch_threads(),
    }


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


# ---------------------------------------------------------------------------------------------------------
# Command line.


def main(argv: list[str] | None = None) -> int:
    """Warm-start (or reuse) a checkpoint and print its folder (score it with `roma eval --benchmarks
    synthetic_validation`)."""
    parser = argparse.ArgumentParser(
        prog="python -m roma.trainer.warm_start",
        description="Supervised warm start on the synthetic task with TRL's SFTTrainer (cached).",
    )
    parser.add_argument(
        "--base_model", default=None, help="checkpoint folder (default: build the small tiny model)"
    )
    parser.add_argument("--cache_dir", default="runs/warm_start", help="where sft-<hash> folders are kept")
    parser.add_argument("--steps", type=int, required=True, help="optimiser steps")
    parser.add_argument("--batch_size", type=int, default=64, help="rows per step")
    parser.add_argument("--learning_rate", type=float, default=1e-3, help="peak AdamW learning rate")
    parser.add_argument("--seed", type=int, default=0, help="seed of the model build, data and trainer")
    parser.add_argument(
        "--num_train_samples", type=int, default=None, help="train rows (default steps*batch)"
    )
    parser.add_argument("--image_size", type=int, default=64, help="synthetic image side in pixels")
    parser.add_argument("--family", default="qwen3_vl", help="model family built when no base model is given")
    parser.add_argument("--force", action="store_true", help="retrain even when a cached result exists")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        path = warm_start(
            args.base_model,
            cache_dir=args.cache_dir,
            steps=args.steps,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            seed=args.seed,
            num_train_samples=args.num_train_samples,
            image_size=args.image_size,
            family=args.family,
            force=args.force,
        )
    except (ValueError, FileNotFoundError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
