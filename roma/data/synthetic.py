"""The bundled synthetic visual reasoning task: procedurally generated, deterministic, fast.

Two task families whose answers live in image detail that blur and low resolution destroy, at sizes a
~1.7 M-parameter Qwen3-VL learns on a CPU in minutes (calibration: ``docs/method.md``, "The embedded default on
a CPU"):

* ``count_shapes``: "How many red shapes are there?" 0-5 red circles / squares / triangles (4-6 px
  half-size at 64×64) among 0-3 shapes of other colours (at least one shape per image). Answer: a digit (``answer_type`` ``"integer"``).
  Measured: 0.83-0.87 clean after ~12 CPU minutes (chance 0.17); blur σ3 costs ~23 points, 4× down/up ~14.
* ``taller_bar``: "Which bar is taller? A: left, B: right." Two bars at fixed positions whose heights differ
  by 3-10 px. Answer: a letter (``answer_type`` ``"multiple_choice"``). Expected ~0.85-0.90 clean; a 4×
  down/up resample makes the smallest gaps sub-pixel.

Every row holds the scene description (JSON) from which both the image (`render_scene`) and the answer
(`answer_for_scene`) are derived. Generation uses its own ``numpy`` generator per (seed, split), never the
global RNG, so a dataset is a pure function of its arguments and a shorter one is a prefix of a longer one.

Splits are disjoint by construction: a scene belongs to the split picked by a hash of its canonical JSON
(``SPLIT_BUCKETS``), and each split rejects scenes hashed to another, so no train scene ever appears in
validation or test, whatever the seeds and sizes. Each split also draws from its own seed stream.

Command line: ``roma synthetic --out DIR [--split train --num_samples N --seed S]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, ImageDraw

from roma._paths import OutputFolderError, check_output_folder

if TYPE_CHECKING:  # pragma: no cover
    from datasets import Dataset, DatasetDict

# Named colours: saturated, pairwise far apart, and never equal to the background, so every pixel of a
# shape has exactly its colour (PIL draws without anti-aliasing).
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (30, 160, 50),
    "blue": (40, 70, 220),
    "yellow": (230, 190, 20),
    "purple": (140, 50, 170),
}
BACKGROUND: tuple[int, int, int] = (255, 255, 255)
SHAPE_KINDS: tuple[str, ...] = ("circle", "square", "triangle")

# Difficulty knobs, in pixels of a 64×64 image (scaled with the image size).
COUNT_TARGET_COLORS: tuple[str, ...] = ("red",)
COUNT_MAX_TARGETS = 5
COUNT_MAX_DISTRACTORS = 3
COUNT_HALF_SIZE_RANGE = (4, 6)
COUNT_MIN_GAP = 2  # background pixels between shapes' bounding boxes, so they never touch
BAR_GAP_RANGE = (3, 10)  # height difference between the bars
BAR_HEIGHT_RANGE = (12, 48)
BAR_WIDTH_RANGE = (8, 12)
BAR_CENTERS = (20, 44)  # fixed positions: random ones are not learnable at this model size
BAR_BASELINE = 56

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
DEFAULT_NUM_SAMPLES: dict[str, int] = {"train": 4096, "validation": 256, "test": 2048}
_SPLIT_STREAMS = {"train": 0, "validation": 1, "test": 2}
_REFERENCE_SIZE = 64
_MAX_TRIES = 1000

BAR_CHOICES = {"A": "left", "B": "right"}


def _scaled(value: float, image_size: int) -> int:
    return max(1, round(value * image_size / _REFERENCE_SIZE))


# ---------------------------------------------------------------------------------------------------------
# Scene sampling: random parameters only. Rendering and answers are pure functions of the scene.


def _boxes_apart(a: tuple[int, int, int, int], b: tuple[int, int, int, int], gap: int) -> bool:
    """Whether boxes (x0, y0, x1, y1), inclusive, have at least ``gap`` background pixels between them."""
    return a[2] + gap < b[0] or b[2] + gap < a[0] or a[3] + gap < b[1] or b[3] + gap < a[1]


def _sample_count_scene(rng: np.random.Generator, image_size: int) -> dict[str, Any] | None:
    """A ``count_shapes`` scene, or ``None`` when the shapes did not fit (the caller draws again)."""
    target = str(rng.choice(COUNT_TARGET_COLORS))
    others = [name for name in COLORS if name != target]
    num_targets = int(rng.integers(0, COUNT_MAX_TARGETS + 1))
    # At least one shape in every image: the blank image is a single scene, which the hash split would put in
    # one split only, skewing the answer "0" in the others.
    num_distractors = int(rng.integers(int(num_targets == 0), COUNT_MAX_DISTRACTORS + 1))
    colors = [target] * num_targets + [str(rng.choice(others)) for _ in range(num_distractors)]
    low, high = (_scaled(v, image_size) for v in COUNT_HALF_SIZE_RANGE)
    gap = _scaled(COUNT_MIN_GAP, image_size)
    shapes: list[dict[str, Any]] = []
    boxes: list[tuple[int, int, int, int]] = []
    for color in colors:
        half = int(rng.integers(low, high + 1))
        kind = str(rng.choice(SHAPE_KINDS))
        for _ in range(100):
            cx, cy = (int(v) for v in rng.integers(half + 1, image_size - half - 1, size=2))
            box = (cx - half, cy - half, cx + half, cy + half)
            if all(_boxes_apart(box, other, gap) for other in boxes):
                break
        else:
            return None
        boxes.append(box)
        shapes.append({"kind": kind, "color": color, "cx": cx, "cy": cy, "half_size": half})
    # Shuffle draw order so targets are not always drawn first.
    order = rng.permutation(len(shapes))
    return {
        "family": "count_shapes",
        "image_size": image_size,
        "target_color": target,
        "shapes": [shapes[i] for i in order],
    }


def _sample_bar_scene(rng: np.random.Generator, image_size: int) -> dict[str, Any]:
    gap = int(rng.integers(BAR_GAP_RANGE[0], BAR_GAP_RANGE[1] + 1))
    shorter = int(rng.integers(BAR_HEIGHT_RANGE[0], BAR_HEIGHT_RANGE[1] - gap + 1))
    heights = [shorter, shorter + gap]
    if rng.random() < 0.5:
        heights.reverse()
    bars = []
    for center, height in zip(BAR_CENTERS, heights):
        width = int(rng.integers(BAR_WIDTH_RANGE[0], BAR_WIDTH_RANGE[1] + 1))
        x0 = _scaled(center, image_size) - _scaled(width, image_size) // 2
        bars.append(
            {
                "x0": x0,
                "x1": x0 + _scaled(width, image_size) - 1,
                "height": _scaled(height, image_size),
                "color": str(rng.choice(list(COLORS))),
            }
        )
    if bars[0]["height"] == bars[1]["height"]:  # only possible after scaling to a tiny image
        bars[int(heights[1] > heights[0])]["height"] += 1
    return {
        "family": "taller_bar",
        "image_size": image_size,
        "baseline": _scaled(BAR_BASELINE, image_size),
        "bars": bars,
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


def _draw_count(draw: ImageDraw.ImageDraw, scene: dict[str, Any]) -> None:
    for shape in scene["shapes"]:
        cx, cy, half = shape["cx"], shape["cy"], shape["half_size"]
        fill = COLORS[shape["color"]]
        if shape["kind"] == "circle":
            draw.ellipse((cx - half, cy - half, cx + half, cy + half), fill=fill)
        elif shape["kind"] == "square":
            draw.rectangle((cx - half, cy - half, cx + half, cy + half), fill=fill)
        elif shape["kind"] == "triangle":
            draw.polygon([(cx, cy - half), (cx - half, cy + half), (cx + half, cy + half)], fill=fill)
        else:
            raise ValueError(
                f"Unknown shape kind {shape['kind']!r}; expected one of {', '.join(SHAPE_KINDS)}."
            )


def _draw_bars(draw: ImageDraw.ImageDraw, scene: dict[str, Any]) -> None:
    baseline = scene["baseline"]
    for bar in scene["bars"]:
        # Rows baseline-height+1 .. baseline inclusive: exactly `height` pixels tall.
        draw.rectangle(
            (bar["x0"], baseline - bar["height"] + 1, bar["x1"], baseline), fill=COLORS[bar["color"]]
        )


def render_scene(scene: dict[str, Any] | str) -> Image.Image:
    """Draw a scene (a dict or its JSON) as an RGB image of ``scene["image_size"]`` pixels a side."""
    scene = _as_scene(scene)
    size = scene["image_size"]
    image = Image.new("RGB", (size, size), BACKGROUND)
    _RENDERERS[scene["family"]](ImageDraw.Draw(image), scene)
    return image


def question_for_scene(scene: dict[str, Any] | str) -> str:
    """The question asked about a scene."""
    scene = _as_scene(scene)
    if scene["family"] == "count_shapes":
        return f"How many {scene['target_color']} shapes are there?"
    options = ", ".join(f"{letter}: {side}" for letter, side in BAR_CHOICES.items())
    return f"Which bar is taller? {options}."


def answer_for_scene(scene: dict[str, Any] | str) -> str:
    """The reference answer of a scene: a digit for ``count_shapes``, a letter for ``taller_bar``."""
    scene = _as_scene(scene)
    if scene["family"] == "count_shapes":
        return str(sum(shape["color"] == scene["target_color"] for shape in scene["shapes"]))
    left, right = (bar["height"] for bar in scene["bars"])
    if left == right:
        raise ValueError("Bar scene has two bars of equal height: the question has no answer.")
    return "A" if left > right else "B"


def scene_to_json(scene: dict[str, Any]) -> str:
    """Canonical JSON of a scene (sorted keys, no spaces): equal scenes give equal strings."""
    return json.dumps(scene, sort_keys=True, separators=(",", ":"))


def scene_bucket(scene_json: str) -> int:
    """The split bucket of a scene, from a hash of its canonical JSON (stable across runs and machines)."""
    digest = hashlib.sha256(scene_json.encode()).digest()
    return int.from_bytes(digest[:8], "little") % NUM_BUCKETS


FAMILIES: dict[str, Callable[[np.random.Generator, int], dict[str, Any] | None]] = {
    "count_shapes": _sample_count_scene,
    "taller_bar": _sample_bar_scene,
}
ANSWER_TYPES: dict[str, str] = {"count_shapes": "integer", "taller_bar": "multiple_choice"}
_RENDERERS: dict[str, Callable[[ImageDraw.ImageDraw, dict[str, Any]], None]] = {
    "count_shapes": _draw_count,
    "taller_bar": _draw_bars,
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
) -> list[dict[str, Any]]:
    """The scene descriptions of a split (what `make_synthetic_dataset` renders), without images."""
    families = list(FAMILIES) if families is None else list(families)
    _check_arguments(split, num_samples, seed, families, image_size)
    rng = np.random.default_rng([seed, _SPLIT_STREAMS[split]])
    buckets = SPLIT_BUCKETS[split]
    scenes = []
    for index in range(num_samples):
        family = families[int(rng.integers(len(families)))]
        for _ in range(_MAX_TRIES):
            scene = FAMILIES[family](rng, image_size)
            if scene is not None and scene_bucket(scene_to_json(scene)) in buckets:
                break
        else:  # pragma: no cover - needs a pathological configuration
            raise RuntimeError(
                f"Could not draw a {family!r} scene for {split}-{index} in {_MAX_TRIES} tries."
            )
        scenes.append(scene)
    return scenes


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
) -> Dataset:
    """Generate ``num_samples`` rows of ``split`` (``DEFAULT_NUM_SAMPLES[split]`` when ``None``).

    Columns: ``id`` ("train-000123"), ``question``, ``image`` (a ``datasets.Image``, RGB, ``image_size``
    a side), ``answer`` (a digit or a letter), ``answer_type`` ("integer" / "multiple_choice"), ``family``
    and ``scene`` (canonical JSON; `render_scene` and `answer_for_scene` re-derive image and answer).
    ``families`` (default: all of ``FAMILIES``) are drawn uniformly at random per row.
    """
    from datasets import Dataset

    if split in SPLITS and num_samples is None:
        num_samples = DEFAULT_NUM_SAMPLES[split]
    scenes = generate_scenes(split, num_samples, seed=seed, families=families, image_size=image_size)
    width = max(6, len(str(max(num_samples - 1, 0))))
    columns: dict[str, list[Any]] = {name: [] for name in synthetic_features()}
    for index, scene in enumerate(scenes):
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
