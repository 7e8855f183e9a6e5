"""The bundled synthetic task: determinism, disjoint splits, answers re-derived from pixels, degradations."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from datasets import Dataset, Features, Image, List, Value, load_from_disk
from PIL import Image as PILImage
from PIL import ImageFilter
from scipy import ndimage

from roma.cli import main as roma_main
from roma.data import build_conversation, to_conversational
from roma.data.prompts import DEFAULT_INSTRUCTION
from roma.data.synthetic import (
    COLORS,
    FAMILIES,
    SPLIT_BUCKETS,
    answer_for_scene,
    generate_scenes,
    make_synthetic_dataset,
    question_for_scene,
    render_scene,
    scene_bucket,
    scene_to_json,
)

WHITE = np.array([255, 255, 255])


@pytest.fixture(scope="module")
def validation_rows():
    return make_synthetic_dataset("validation", 120, seed=5)


def _raw_rows(dataset: Dataset) -> list[dict]:
    """Rows with the image column as stored PNG bytes (no decoding)."""
    return dataset.cast_column("image", Image(decode=False)).to_list()


def _pixels(image) -> np.ndarray:
    return np.asarray(image.convert("RGB")).astype(int)


def _count_components(image, rgb: tuple[int, int, int]) -> int:
    """Connected blobs whose pixels are exactly ``rgb``: the count of such shapes if none touch."""
    return ndimage.label((_pixels(image) == rgb).all(-1))[1]


def _taller_side_from_pixels(image) -> str:
    """'left' or 'right': the half of the image holding the tallest column of non-white pixels."""
    foreground = (_pixels(image) != WHITE).any(-1)
    column_heights = foreground.sum(0)
    half = foreground.shape[1] // 2
    left, right = column_heights[:half].max(), column_heights[half:].max()
    assert left != right
    return "left" if left > right else "right"


def _answer_from_pixels(row: dict) -> str:
    scene = json.loads(row["scene"])
    if row["family"] == "count_shapes":
        return str(_count_components(row["image"], COLORS[scene["target_color"]]))
    return {"left": "A", "right": "B"}[_taller_side_from_pixels(row["image"])]


# --- shape of the rows ---------------------------------------------------------------------------------------


def test_rows_have_the_documented_columns(synthetic_train_small):
    rows = synthetic_train_small
    assert len(rows) == 48
    assert rows.column_names == ["id", "question", "image", "answer", "answer_type", "family", "scene"]
    assert isinstance(rows.features["image"], Image)
    assert rows["id"][:2] == ["train-000000", "train-000001"]
    assert len(set(rows["id"])) == len(rows)
    assert set(rows["family"]) == set(FAMILIES)
    for row in rows:
        assert row["image"].mode == "RGB" and row["image"].size == (64, 64)
        if row["family"] == "count_shapes":
            assert row["answer"] in {"0", "1", "2", "3", "4", "5"}
            assert row["answer_type"] == "integer"
            assert row["question"] == "How many red shapes are there?"
        else:
            assert row["answer"] in {"A", "B"}
            assert row["answer_type"] == "multiple_choice"
            assert row["question"] == "Which bar is taller? A: left, B: right."


def test_answers_are_right_by_construction(validation_rows):
    # Re-derived from the pixels, independently of the generator's answer function.
    for row in validation_rows:
        assert _answer_from_pixels(row) == row["answer"], row["id"]
        scene = json.loads(row["scene"])
        assert answer_for_scene(scene) == row["answer"]
        assert question_for_scene(row["scene"]) == row["question"]
        assert np.array_equal(_pixels(render_scene(scene)), _pixels(row["image"]))


def test_answer_distribution_covers_every_answer():
    scenes = generate_scenes("train", 1200, seed=1)
    answers = [answer_for_scene(scene) for scene in scenes]
    counts = {answer: answers.count(answer) for answer in set(answers)}
    assert set(counts) == {"0", "1", "2", "3", "4", "5", "A", "B"}
    # Uniform within a family: 100 expected per digit, 300 per letter.
    assert all(60 <= counts[digit] <= 140 for digit in "012345")
    assert all(240 <= counts[letter] <= 360 for letter in "AB")


def test_hand_built_scenes():
    bars = {
        "family": "taller_bar",
        "image_size": 64,
        "baseline": 56,
        "bars": [
            {"x0": 15, "x1": 24, "height": 20, "color": "red"},
            {"x0": 39, "x1": 48, "height": 23, "color": "blue"},
        ],
    }
    assert answer_for_scene(bars) == "B"
    pixels = _pixels(render_scene(bars))
    assert (pixels[:, 15] == COLORS["red"]).all(-1).sum() == 20
    assert (pixels[:, 48] == COLORS["blue"]).all(-1).sum() == 23
    assert (pixels[57:] == WHITE).all()  # nothing below the baseline
    shapes = {
        "family": "count_shapes",
        "image_size": 64,
        "target_color": "green",
        "shapes": [
            {"kind": "square", "color": "green", "cx": 10, "cy": 10, "half_size": 4},
            {"kind": "circle", "color": "red", "cx": 30, "cy": 30, "half_size": 5},
            {"kind": "triangle", "color": "green", "cx": 50, "cy": 50, "half_size": 6},
        ],
    }
    assert answer_for_scene(json.dumps(shapes)) == "2"
    assert (_pixels(render_scene(shapes))[6:15, 6:15] == COLORS["green"]).all()  # a 9×9 square


# --- determinism and splits --------------------------------------------------------------------------------


def test_same_seed_gives_the_same_bytes_and_other_seeds_differ():
    numpy_state, python_state = np.random.get_state(), random.getstate()
    first = _raw_rows(make_synthetic_dataset("train", 30, seed=7))
    assert first == _raw_rows(make_synthetic_dataset("train", 30, seed=7))
    # The global RNGs are never touched.
    assert random.getstate() == python_state
    assert np.array_equal(np.random.get_state()[1], numpy_state[1])
    # A shorter dataset is a prefix of a longer one (ids aside, whose zero padding follows the size).
    assert first[:10] == _raw_rows(make_synthetic_dataset("train", 10, seed=7))
    other = _raw_rows(make_synthetic_dataset("train", 30, seed=8))
    assert sum(a["scene"] == b["scene"] for a, b in zip(first, other)) == 0


def test_splits_are_disjoint():
    scenes = {
        split: {scene_to_json(scene) for scene in generate_scenes(split, count, seed=0)}
        for split, count in (("train", 3000), ("validation", 400), ("test", 400))
    }
    assert not scenes["train"] & scenes["validation"]
    assert not scenes["train"] & scenes["test"]
    assert not scenes["validation"] & scenes["test"]
    # Disjoint by construction: each scene hashes into its own split's buckets, whatever the seed.
    for split in scenes:
        for scene in generate_scenes(split, 50, seed=123):
            assert scene_bucket(scene_to_json(scene)) in SPLIT_BUCKETS[split]


def test_families_and_image_size_options():
    rows = make_synthetic_dataset("test", 20, seed=2, families=["taller_bar"], image_size=96)
    assert set(rows["family"]) == {"taller_bar"}
    for row in rows:
        assert row["image"].size == (96, 96)
        assert _answer_from_pixels(row) == row["answer"]
    rows = make_synthetic_dataset("test", 20, seed=2, families=["count_shapes"], image_size=128)
    for row in rows:
        assert _answer_from_pixels(row) == row["answer"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"split": "dev", "num_samples": 3}, "Unknown split 'dev'"),
        ({"split": "train", "num_samples": -1}, "num_samples must be"),
        ({"split": "train", "num_samples": 3, "seed": -2}, "seed must be"),
        ({"split": "train", "num_samples": 3, "families": ["digits"]}, "Unknown task families"),
        ({"split": "train", "num_samples": 3, "image_size": 16}, "image_size must be"),
    ],
)
def test_bad_arguments_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_synthetic_dataset(**kwargs)


def test_bad_scene_is_a_clear_error():
    with pytest.raises(ValueError, match="Unknown scene family 'pie_chart'"):
        render_scene({"family": "pie_chart"})
    with pytest.raises(ValueError, match="not valid JSON"):
        answer_for_scene("{oops")


# --- what degradations do to it ----------------------------------------------------------------------------


def test_blur_and_low_resolution_destroy_the_detail(validation_rows):
    counting = [row for row in validation_rows if row["family"] == "count_shapes"]
    for name, degrade in {
        "blur σ3": lambda image: image.filter(ImageFilter.GaussianBlur(3)),
        "4× down/up": lambda image: image.resize((16, 16), PILImage.BILINEAR).resize(
            (64, 64), PILImage.BILINEAR
        ),
    }.items():
        for row in validation_rows:
            difference = np.abs(_pixels(degrade(row["image"])) - _pixels(row["image"])).mean()
            assert difference > 1.0, (name, row["id"])
        # Exact shape colours no longer survive: pixel counting fails on most counting images.
        still_right = sum(
            _count_components(degrade(row["image"]), COLORS["red"]) == int(row["answer"]) for row in counting
        )
        assert still_right < 0.4 * len(counting), name


# --- speed, CLI, prompts -----------------------------------------------------------------------------------


def test_cli_writes_a_loadable_dataset(tmp_path, capsys):
    out = tmp_path / "synthetic"
    assert (
        roma_main(
            ["synthetic", "--out", str(out), "--split", "validation", "--num_samples", "12", "--seed", "4"]
        )
        == 0
    )
    assert str(out) in capsys.readouterr().out
    written = load_from_disk(str(out))
    assert _raw_rows(written) == _raw_rows(make_synthetic_dataset("validation", 12, seed=4))
    out_all = tmp_path / "all"
    assert roma_main(["synthetic", "--out", str(out_all), "--split", "all", "--num_samples", "5"]) == 0
    splits = load_from_disk(str(out_all))
    assert {name: len(rows) for name, rows in splits.items()} == {"train": 5, "validation": 5, "test": 5}
    with pytest.raises(SystemExit):
        roma_main(["synthetic", "--out", str(tmp_path / "x"), "--num_samples", "-3"])


def test_build_conversation():
    assert build_conversation("How many?", 2, instruction=" Box it.") == [
        {
            "role": "user",
            "content": [{"type": "image"}, {"type": "image"}, {"type": "text", "text": "How many? Box it."}],
        }
    ]
    with_system = build_conversation("Q", system="Be brief.")
    assert with_system[0] == {"role": "system", "content": [{"type": "text", "text": "Be brief."}]}
    assert with_system[1]["content"][-1]["text"] == "Q" + DEFAULT_INSTRUCTION
    assert "\\boxed{}" in DEFAULT_INSTRUCTION
    with pytest.raises(ValueError, match="num_images"):
        build_conversation("Q", -1)


def test_to_conversational_keeps_columns_and_counts_images(synthetic_train_small):
    rows = to_conversational(synthetic_train_small.select(range(4)))
    assert rows.column_names == [*synthetic_train_small.column_names, "prompt"]
    for row in rows:
        assert row["prompt"] == build_conversation(row["question"], 1)
    image = synthetic_train_small[0]["image"]
    multi = Dataset.from_dict(
        {"question": ["two", "none"], "images": [[image, image], []]},
        features=Features({"question": Value("string"), "images": List(Image())}),
    )
    prompts = to_conversational(multi, image_column="images")["prompt"]
    assert [len(p[0]["content"]) for p in prompts] == [3, 1]
    with pytest.raises(ValueError, match="Question column 'query'"):
        to_conversational(multi, question_column="query")
    with pytest.raises(ValueError, match="already has a 'prompt' column"):
        to_conversational(rows)
