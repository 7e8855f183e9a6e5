"""The bundled synthetic visual reasoning task: procedurally generated, deterministic, fast.

Three task families, all multiple choice (a letter, ``answer_type`` ``"multiple_choice"``), whose answers live in
fine detail on a textured background (a random pale colour, a smooth colour field and pixel noise, so JPEG's
blocks and quantisation have something to mangle). Every patch of the image carries the cue, which is what a
~1.7 M-parameter Qwen3-VL can learn on a CPU in minutes (shapes at a few fixed places, bar heights or counts were
not learned in that budget: ``docs/method.md``, "The synthetic task"):

* ``grating_orientation``: "Which way do the fine stripes run? A: horizontal, B: vertical, C: rising diagonal,
  D: falling diagonal." A sine grating (period 3-5 px, amplitude 4-30 grey levels) over the whole image.
* ``pattern_kind``: "Is the fine pattern stripes or a checkerboard? A: stripes, B: checks." The same grating, or
  the product of two crossed ones (a checkerboard of the same period and energy).
* ``stripe_color``: "What colour are the thin stripes? A: red, B: green, C: blue." Anti-aliased stripes 1.25-2 px
  wide every 4-6 px, 20-80 % opaque, over the whole image; blurred or downsampled they leave only a tint, which the
  random background colour confounds.

Blur (σ 3 px) and 4× downsampling erase a 3-6 px period; JPEG at quality 15 quantises it coarsely (and colour
detail more coarsely still); additive noise hides the faint gratings; lost contrast weakens them. What each
corruption costs the warm-started model is measured in ``docs/method.md``.

Every row holds the scene description (JSON) from which both the image (`render_scene`) and the answer
(`answer_for_scene`) are derived. Generation uses its own ``numpy`` generator per (seed, split), never the
global RNG, so a dataset is a pure function of its arguments and a shorter one is a prefix of a longer one.

Splits are disjoint by construction: a scene belongs to the split picked by a hash of its canonical JSON
(``SPLIT_BUCKETS``), and each split rejects scenes hashed to another, so no train scene ever appears in
validation or test, whatever the seeds and sizes. Each split also draws from its own seed stream. Within a split,
a row range (``train[24000:28096]``, the `datasets` slice syntax; `parse_split_range`) is a documented disjoint
part: the RL recipe trains on the train rows after the ones its supervised warm start read.

Command line: ``roma synthetic --out DIR [--split train --num_samples N --seed S]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from roma._paths import OutputFolderError, check_output_folder

if TYPE_CHECKING:  # pragma: no cover
    from datasets import Dataset, DatasetDict

# Textured background (why: flat white let JPEG through untouched): a pale base colour per image, a smooth random
# colour field over TEXTURE_FIELD_CELLS² control points, and per-pixel Gaussian noise, all seeded by the scene.
BACKGROUND_RANGE = (150, 230)
TEXTURE_FIELD_CELLS = 4
TEXTURE_FIELD_STD = 14.0
TEXTURE_NOISE_STD = 8.0

# A fine sine grating over the image: its orientation is the answer. Every patch carries the cue (learnable at
# this model size), and at a period of a few pixels blur, downsampling, JPEG's coarse quantisation of high
# frequencies, noise and lost contrast all erase it.
GRATING_PERIOD_RANGE = (3.0, 5.0)  # pixels per cycle
GRATING_AMPLITUDE_RANGE = (4.0, 30.0)  # grey levels added to the background; the faintest hide in its noise
# pattern_kind: the same fine grating, or a checkerboard of the same period and energy (two crossed gratings
# multiplied), over the whole image.
PATTERN_KINDS = {"A": "stripes", "B": "checks"}
GRATING_ORIENTATIONS = {"A": "horizontal", "B": "vertical", "C": "rising diagonal", "D": "falling diagonal"}
# Direction (in image coordinates, y down) across which the grating varies: horizontal stripes vary along y.
GRATING_NORMALS = {
    "horizontal": (0.0, 1.0),
    "vertical": (1.0, 0.0),
    "rising diagonal": (0.7071067811865476, 0.7071067811865476),  # stripes like "/"
    "falling diagonal": (0.7071067811865476, -0.7071067811865476),  # stripes like "\\"
}
# Thin coloured stripes over the whole image: their colour is the answer. Blurred or downsampled they merge into a
# tint that the random background tint confounds; JPEG subsamples and coarsely quantises colour detail.
STRIPE_PERIOD_RANGE = (4.0, 6.0)
STRIPE_WIDTH_RANGE = (1.25, 2.0)
STRIPE_OPACITY_RANGE = (0.2, 0.8)
STRIPE_COLORS: dict[str, tuple[int, int, int]] = {
    "red": (210, 40, 40),
    "green": (40, 160, 60),
    "blue": (50, 80, 210),
}
STRIPE_CHOICES = {"A": "red", "B": "green", "C": "blue"}

# Bump whenever the same arguments generate different rows (families, knobs, rendering): cached warm starts
# trained on the old task stop matching (`roma.scripts.warm_start.warm_start_key`).
SYNTHETIC_TASK_VERSION = 2

SPLITS: tuple[str, ...] = ("train", "validation", "test")
# A scene goes to the split owning ``hash(scene) % NUM_BUCKETS``.
NUM_BUCKETS = 10
SPLIT_BUCKETS: dict[str, frozenset[int]] = {
    "train": frozenset(range(8)),
    "validation": frozenset({8}),
    "test": frozenset({9}),
}
# 2,048 test images put the 95 % interval of an accuracy near ±2 points (a paired before/after change: tighter),
# so a 3-point change is resolved; a longer split is a prefix-extension of a shorter one (same first rows).
DEFAULT_NUM_SAMPLES: dict[str, int] = {"train": 4096, "validation": 1024, "test": 2048}
_SPLIT_STREAMS = {"train": 0, "validation": 1, "test": 2}
_REFERENCE_SIZE = 64
_MAX_TRIES = 1000


# ---------------------------------------------------------------------------------------------------------
# Scene sampling: random parameters only. Rendering and answers are pure functions of the scene.


def _sample_background(rng: np.random.Generator) -> dict[str, Any]:
    """A textured background: a random pale base colour, a smooth colour field and per-pixel noise (seeded)."""
    return {
        "background": [int(v) for v in rng.integers(BACKGROUND_RANGE[0], BACKGROUND_RANGE[1] + 1, size=3)],
        "texture_seed": int(rng.integers(2**31)),
    }


def _sample_grating_scene(rng: np.random.Generator, image_size: int) -> dict[str, Any]:
    return {
        "family": "grating_orientation",
        "image_size": image_size,
        "orientation": str(rng.choice(list(GRATING_ORIENTATIONS.values()))),
        "period": round(float(rng.uniform(*GRATING_PERIOD_RANGE)) * image_size / _REFERENCE_SIZE, 3),
        "amplitude": round(float(rng.uniform(*GRATING_AMPLITUDE_RANGE)), 2),
        "phase": round(float(rng.uniform(0, 2 * np.pi)), 4),
        **_sample_background(rng),
    }


def _sample_pattern_scene(rng: np.random.Generator, image_size: int) -> dict[str, Any]:
    scene = _sample_grating_scene(rng, image_size)
    return scene | {"family": "pattern_kind", "kind": str(rng.choice(list(PATTERN_KINDS.values())))}


def _sample_stripe_scene(rng: np.random.Generator, image_size: int) -> dict[str, Any]:
    scale = image_size / _REFERENCE_SIZE
    return {
        "family": "stripe_color",
        "image_size": image_size,
        "color": str(rng.choice(list(STRIPE_CHOICES.values()))),
        "vertical": bool(rng.random() < 0.5),
        "period": round(float(rng.uniform(*STRIPE_PERIOD_RANGE)) * scale, 3),
        "width": round(float(rng.uniform(*STRIPE_WIDTH_RANGE)) * scale, 3),
        "offset": round(float(rng.uniform(0, 1)), 4),
        "opacity": round(float(rng.uniform(*STRIPE_OPACITY_RANGE)), 3),
        **_sample_background(rng),
    }


# ---------------------------------------------------------------------------------------------------------
# Pure functions of a scene.


def _as_scene(scene: dict[str, Any] | str) -> dict[str, Any]:
    if isinstance(scene, str):
        try:
            scene = json.loads(scene)
        except json.JSONDecodeError as err:
            raise ValueError(f"Scene is not valid JSON: {err}") from err
    if not isinstance(scene, dict) or scene.get("family") not in FAMILIES:
        family = scene.get("family") if isinstance(scene, dict) else type(scene).__name__
        raise ValueError(f"Unknown scene family {family!r}; expected one of {', '.join(FAMILIES)}.")
    return scene


def _render_background(scene: dict[str, Any]) -> np.ndarray:
    """The textured background as float RGB in [0, 255]: base colour + smooth colour field + pixel noise."""
    size = scene["image_size"]
    rng = np.random.default_rng(scene["texture_seed"])
    coarse = rng.normal(0.0, TEXTURE_FIELD_STD, size=(TEXTURE_FIELD_CELLS, TEXTURE_FIELD_CELLS, 3))
    # Bilinear upsampling of the coarse field (separable, exact and cheap in numpy).
    grid = np.linspace(0, TEXTURE_FIELD_CELLS - 1, size)
    low = np.floor(grid).astype(int).clip(0, TEXTURE_FIELD_CELLS - 2)
    frac = grid - low
    rows = coarse[low] * (1 - frac)[:, None, None] + coarse[low + 1] * frac[:, None, None]
    field = rows[:, low] * (1 - frac)[None, :, None] + rows[:, low + 1] * frac[None, :, None]
    noise = rng.normal(0.0, TEXTURE_NOISE_STD, size=(size, size, 3))
    return np.asarray(scene["background"], dtype=np.float64) + field + noise


def _paint(canvas: np.ndarray, coverage: np.ndarray, color: tuple[int, int, int]) -> None:
    """Composite ``color`` over ``canvas`` with per-pixel opacity ``coverage`` (in place)."""
    canvas *= 1.0 - coverage[..., None]
    canvas += coverage[..., None] * np.asarray(color, dtype=np.float64)


def _draw_grating(canvas: np.ndarray, scene: dict[str, Any]) -> None:
    size = scene["image_size"]
    y, x = np.mgrid[0:size, 0:size] + 0.5  # pixel centres
    nx, ny = GRATING_NORMALS[scene["orientation"]]
    wave = np.sin(2 * np.pi * (x * nx + y * ny) / scene["period"] + scene["phase"])
    if scene.get("kind") == "checks":  # pattern_kind: times the crossed grating; √2 keeps the stripes' energy
        wave = np.sqrt(2) * wave * np.sin(2 * np.pi * (x * ny - y * nx) / scene["period"] + scene["phase"])
    canvas += scene["amplitude"] * wave[..., None]


def _draw_stripes(canvas: np.ndarray, scene: dict[str, Any]) -> None:
    size, period, width = scene["image_size"], scene["period"], scene["width"]
    # Exact area coverage of each pixel column (or row) by stripes [k·period + offset·period, ... + width): the
    # stripes are anti-aliased without supersampling.
    edges = np.arange(size + 1, dtype=np.float64)

    def covered_up_to(t: np.ndarray) -> np.ndarray:  # stripe length in [0, t)
        shifted = t - scene["offset"] * period
        whole = np.floor(shifted / period)
        return whole * width + np.clip(shifted - whole * period, 0.0, width)

    line = np.diff(covered_up_to(edges))  # coverage of pixel i, in [0, 1]
    coverage = np.broadcast_to(line[None, :] if scene["vertical"] else line[:, None], (size, size))
    _paint(canvas, scene["opacity"] * coverage, STRIPE_COLORS[scene["color"]])


def render_scene(scene: dict[str, Any] | str) -> Image.Image:
    """Draw a scene (a dict or its JSON) as an RGB image of ``scene["image_size"]`` pixels a side."""
    scene = _as_scene(scene)
    canvas = _render_background(scene)
    _RENDERERS[scene["family"]](canvas, scene)
    return Image.fromarray(np.clip(np.rint(canvas), 0, 255).astype(np.uint8), mode="RGB")


def _options(choices: dict[str, str]) -> str:
    return ", ".join(f"{letter}: {name}" for letter, name in choices.items())


def question_for_scene(scene: dict[str, Any] | str) -> str:
    """The question asked about a scene (every family is multiple choice, answered with a letter)."""
    scene = _as_scene(scene)
    if scene["family"] == "grating_orientation":
        return f"Which way do the fine stripes run? {_options(GRATING_ORIENTATIONS)}."
    if scene["family"] == "pattern_kind":
        return f"Is the fine pattern stripes or a checkerboard? {_options(PATTERN_KINDS)}."
    return f"What colour are the thin stripes? {_options(STRIPE_CHOICES)}."


def _letter(choices: dict[str, str], value: str) -> str:
    return next(letter for letter, name in choices.items() if name == value)


def answer_for_scene(scene: dict[str, Any] | str) -> str:
    """The reference answer of a scene: the letter of the right option."""
    scene = _as_scene(scene)
    if scene["family"] == "grating_orientation":
        return _letter(GRATING_ORIENTATIONS, scene["orientation"])
    if scene["family"] == "pattern_kind":
        return _letter(PATTERN_KINDS, scene["kind"])
    return _letter(STRIPE_CHOICES, scene["color"])


def scene_to_json(scene: dict[str, Any]) -> str:
    """Canonical JSON of a scene (sorted keys, no spaces): equal scenes give equal strings."""
    return json.dumps(scene, sort_keys=True, separators=(",", ":"))


def scene_bucket(scene_json: str) -> int:
    """The split bucket of a scene, from a hash of its canonical JSON (stable across runs and machines)."""
    digest = hashlib.sha256(scene_json.encode()).digest()
    return int.from_bytes(digest[:8], "little") % NUM_BUCKETS


FAMILIES: dict[str, Callable[[np.random.Generator, int], dict[str, Any] | None]] = {
    "pattern_kind": _sample_pattern_scene,
    "grating_orientation": _sample_grating_scene,
    "stripe_color": _sample_stripe_scene,
}
ANSWER_TYPES: dict[str, str] = dict.fromkeys(FAMILIES, "multiple_choice")
_RENDERERS: dict[str, Callable[[np.ndarray, dict[str, Any]], None]] = {
    "pattern_kind": _draw_grating,
    "grating_orientation": _draw_grating,
    "stripe_color": _draw_stripes,
}


# ---------------------------------------------------------------------------------------------------------
# Datasets.


def _check_arguments(
    split: str, num_samples: int, seed: int, families: Sequence[str], image_size: int
) -> None:
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}; expected one of {', '.join(SPLITS)}.")
    if not isinstance(num_samples, int) or num_samples < 0:
        raise ValueError(f"num_samples must be a non-negative integer, got {num_samples!r}.")
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
    unknown = [name for name in families if name not in FAMILIES]
    if unknown or not families:
        raise ValueError(f"Unknown task families {unknown or families!r}; choose from {', '.join(FAMILIES)}.")
    if image_size < 32:
        raise ValueError(f"image_size must be at least 32 pixels, got {image_size}.")


def generate_scenes(
    split: str,
    num_samples: int,
    *,
    seed: int = 0,
    families: Sequence[str] | None = None,
    image_size: int = 64,
    start: int = 0,
) -> list[dict[str, Any]]:
    """The scene descriptions of rows ``start`` to ``start + num_samples`` of a split (what
    `make_synthetic_dataset` renders), without images. The rows before ``start`` are drawn and dropped (~60 µs
    each), so row i is the same scene whatever range it is read in."""
    families = list(FAMILIES) if families is None else list(families)
    _check_arguments(split, num_samples, seed, families, image_size)
    if isinstance(start, bool) or not isinstance(start, int) or start < 0:
        raise ValueError(f"start must be a non-negative integer, got {start!r}.")
    rng = np.random.default_rng([seed, _SPLIT_STREAMS[split]])
    buckets = SPLIT_BUCKETS[split]
    scenes = []
    for index in range(start + num_samples):
        family = families[int(rng.integers(len(families)))]
        for _ in range(_MAX_TRIES):
            scene = FAMILIES[family](rng, image_size)
            if scene is not None and scene_bucket(scene_to_json(scene)) in buckets:
                break
        else:  # pragma: no cover - needs a pathological configuration
            raise RuntimeError(
                f"Could not draw a {family!r} scene for {split}-{index} in {_MAX_TRIES} tries."
            )
        if index >= start:
            scenes.append(scene)
    return scenes


def parse_split_range(split: str) -> tuple[str, int, int | None]:
    """``"train"`` -> ("train", 0, None); ``"train[24000:28096]"`` / ``"train[24000:]"`` -> (name, start, stop):
    the `datasets` slice syntax over row indices (no percentages, no negative indices)."""
    match = re.fullmatch(r"\s*(\w+)\s*(?:\[\s*(\d*)\s*:\s*(\d*)\s*\])?\s*", split)
    if match is None:
        raise ValueError(
            f"Cannot read split {split!r}: expected a split name, optionally with a row range such as "
            "'train[24000:28096]' or 'train[24000:]'."
        )
    name, start_text, stop_text = match.groups()
    start = int(start_text) if start_text else 0
    stop = int(stop_text) if stop_text else None
    if stop is not None and stop <= start:
        raise ValueError(f"Split {split!r} selects no rows: the range's end must be after its start.")
    return name, start, stop


def synthetic_features() -> Any:
    """The `datasets.Features` of the synthetic task."""
    from datasets import Features, Value
    from datasets import Image as ImageFeature

    return Features(
        {
            "id": Value("string"),
            "question": Value("string"),
            "image": ImageFeature(mode="RGB"),
            "answer": Value("string"),
            "answer_type": Value("string"),
            "family": Value("string"),
            "scene": Value("string"),
        }
    )


def make_synthetic_dataset(
    split: str = "train",
    num_samples: int | None = None,
    *,
    seed: int = 0,
    families: Sequence[str] | None = None,
    image_size: int = 64,
    start: int = 0,
) -> Dataset:
    """Generate ``num_samples`` rows of ``split`` (``DEFAULT_NUM_SAMPLES[split]`` when ``None``) from row ``start``
    on (ids keep their row index: ``start=24000`` gives "train-024000" first).

    Columns: ``id`` ("train-000123"), ``question``, ``image`` (a ``datasets.Image``, RGB, ``image_size``
    a side), ``answer`` (a digit or a letter), ``answer_type`` ("integer" / "multiple_choice"), ``family``
    and ``scene`` (canonical JSON; `render_scene` and `answer_for_scene` re-derive image and answer).
    ``families`` (default: all of ``FAMILIES``) are drawn uniformly at random per row.
    """
    from datasets import Dataset

    if split in SPLITS and num_samples is None:
        num_samples = DEFAULT_NUM_SAMPLES[split]
    scenes = generate_scenes(
        split, num_samples, seed=seed, families=families, image_size=image_size, start=start
    )
    width = max(6, len(str(max(start + num_samples - 1, 0))))
    columns: dict[str, list[Any]] = {name: [] for name in synthetic_features()}
    for index, scene in enumerate(scenes, start=start):
        columns["id"].append(f"{split}-{index:0{width}d}")
        columns["question"].append(question_for_scene(scene))
        columns["image"].append(render_scene(scene))
        columns["answer"].append(answer_for_scene(scene))
        columns["answer_type"].append(ANSWER_TYPES[scene["family"]])
        columns["family"].append(scene["family"])
        columns["scene"].append(scene_to_json(scene))
    return Dataset.from_dict(columns, features=synthetic_features(), split=split)


def make_synthetic_splits(
    num_samples: dict[str, int] | None = None,
    *,
    seed: int = 0,
    families: Sequence[str] | None = None,
    image_size: int = 64,
) -> DatasetDict:
    """All three splits as a `DatasetDict` (sizes default to ``DEFAULT_NUM_SAMPLES``)."""
    from datasets import DatasetDict

    sizes = dict(DEFAULT_NUM_SAMPLES) | (num_samples or {})
    return DatasetDict(
        {
            split: make_synthetic_dataset(
                split, sizes[split], seed=seed, families=families, image_size=image_size
            )
            for split in SPLITS
        }
    )


def main(argv: list[str] | None = None) -> int:
    """``roma synthetic``: write the synthetic task to disk with ``save_to_disk``."""
    parser = argparse.ArgumentParser(
        prog="roma synthetic",
        description="Write the bundled synthetic visual reasoning task (Dataset.save_to_disk format).",
    )
    parser.add_argument("--out", required=True, type=Path, help="folder to write")
    parser.add_argument(
        "--split",
        choices=[*SPLITS, "all"],
        default="train",
        help="split to write; 'all' writes a DatasetDict with the three splits",
    )
    parser.add_argument(
        "--num_samples",
        type=int,
        default=None,
        help=f"rows per split (default: {', '.join(f'{k} {v}' for k, v in DEFAULT_NUM_SAMPLES.items())})",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the generator")
    parser.add_argument("--image_size", type=int, default=64, help="image side in pixels")
    parser.add_argument(
        "--families", nargs="+", choices=list(FAMILIES), default=None, help="task families (default: all)"
    )
    args = parser.parse_args(argv)
    if args.num_samples is not None and args.num_samples < 1:
        parser.error(f"--num_samples must be >= 1, got {args.num_samples}")
    try:  # an earlier dataset folder is replaced; any other folder or a file is refused
        check_output_folder(
            args.out, option="--out", command="roma synthetic", is_own_output=_is_saved_dataset
        )
    except OutputFolderError as err:
        parser.error(str(err))
    options = {"seed": args.seed, "families": args.families, "image_size": args.image_size}
    try:
        if args.split == "all":
            sizes = None if args.num_samples is None else dict.fromkeys(SPLITS, args.num_samples)
            data: Any = make_synthetic_splits(sizes, **options)
        else:
            data = make_synthetic_dataset(args.split, args.num_samples, **options)
    except ValueError as err:
        parser.error(str(err))
    if args.out.is_dir():
        # save_to_disk would leave an earlier DatasetDict's dataset_dict.json next to a new Dataset's files.
        shutil.rmtree(args.out)
    data.save_to_disk(str(args.out))
    print(f"wrote {data} to {args.out}")
    return 0


def _is_saved_dataset(path: Path) -> bool:
    return (path / "dataset_dict.json").is_file() or (path / "state.json").is_file()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
