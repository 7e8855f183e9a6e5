"""The bundled synthetic task: determinism, disjoint splits, answers re-derived from pixels, degradations."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from datasets import Dataset, Features, Image, List, Value, load_from_disk

from roma.cli import main as roma_main
from roma.data import build_conversation, to_conversational
from roma.data.prompts import DEFAULT_INSTRUCTION
from roma.data.synthetic import (
    FAMILIES,
    GRATING_ORIENTATIONS,
    SPLIT_BUCKETS,
    STRIPE_CHOICES,
    STRIPE_COLORS,
    answer_for_scene,
    generate_scenes,
    make_synthetic_dataset,
    parse_split_range,
    question_for_scene,
    render_scene,
    scene_bucket,
    scene_to_json,
)


@pytest.fixture(scope="module")
def validation_rows():
    return make_synthetic_dataset("validation", 120, seed=5)


def _raw_rows(dataset: Dataset) -> list[dict]:
    """Rows with the image column as stored PNG bytes (no decoding)."""
    return dataset.cast_column("image", Image(decode=False)).to_list()


def _pixels(image) -> np.ndarray:
    return np.asarray(image.convert("RGB")).astype(int)


def _foreground(scene: dict) -> np.ndarray:
    """What the scene draws over its background: the image minus the same scene with the cue left out
    (zero-amplitude grating, transparent stripes), as signed integers."""
    return _pixels(render_scene(scene)) - _pixels(render_scene(dict(scene, amplitude=0.0, opacity=0.0)))


def _answer_from_pixels(row: dict) -> str:
    """The answer re-derived from the image's pixels, independently of `answer_for_scene`."""
    scene = json.loads(row["scene"])
    drawn = _foreground(scene)
    if row["family"] in ("grating_orientation", "pattern_kind"):
        # Stripes run along the direction in which the drawn pattern changes least from pixel to pixel; a
        # checkerboard changes along every one of the four.
        grey = drawn.mean(-1)[4:-4, 4:-4].astype(float)
        change = {
            "A": np.abs(np.diff(grey, axis=1)).mean(),  # horizontal stripes: constant along x
            "B": np.abs(np.diff(grey, axis=0)).mean(),  # vertical stripes: constant along y
            "C": np.abs(grey[1:, :-1] - grey[:-1, 1:]).mean(),  # "/": constant from (x + 1, y) to (x, y + 1)
            "D": np.abs(grey[1:, 1:] - grey[:-1, :-1]).mean(),  # "\\": constant from (x, y) to (x + 1, y + 1)
        }
        if row["family"] == "pattern_kind":
            return "A" if min(change.values()) < 0.35 * max(change.values()) else "B"
        return min(change, key=change.get)
    # stripe_color: the stripe colour, among the three, that best explains the change where it is largest.
    pixels = _pixels(row["image"]).reshape(-1, 3)
    strongest = np.abs(drawn).sum(-1).reshape(-1) >= np.percentile(np.abs(drawn).sum(-1), 80)
    mean = pixels[strongest].mean(0) - pixels[~strongest].mean(
        0
    )  # stripe minus gap: points towards the colour
    scores = {
        letter: float(np.dot(mean, np.subtract(STRIPE_COLORS[name], pixels.mean(0))))
        for letter, name in STRIPE_CHOICES.items()
    }
    return max(scores, key=scores.get)


# --- shape of the rows ---------------------------------------------------------------------------------------


def test_rows_have_the_documented_columns(synthetic_train_small):
    rows = synthetic_train_small
    assert len(rows) == 48
    assert rows.column_names == ["id", "question", "image", "answer", "answer_type", "family", "scene"]
    assert isinstance(rows.features["image"], Image)
    assert rows["id"][:2] == ["train-000000", "train-000001"]
    assert len(set(rows["id"])) == len(rows)
    assert set(rows["family"]) == set(FAMILIES)
    questions = {
        "pattern_kind": ("Is the fine pattern stripes or a checkerboard? A: stripes, B: checks.", "AB"),
        "grating_orientation": (
            "Which way do the fine stripes run? A: horizontal, B: vertical, C: rising diagonal, "
            "D: falling diagonal.",
            "ABCD",
        ),
        "stripe_color": ("What colour are the thin stripes? A: red, B: green, C: blue.", "ABC"),
    }
    for row in rows:
        assert row["image"].mode == "RGB" and row["image"].size == (64, 64)
        question, letters = questions[row["family"]]
        assert row["question"] == question and row["answer"] in letters
        assert row["answer_type"] == "multiple_choice"


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
    counts: dict[tuple[str, str], int] = {}
    for scene in scenes:
        key = (scene["family"], answer_for_scene(scene))
        counts[key] = counts.get(key, 0) + 1
    # Uniform over families (400 each expected) and within a family over its letters.
    totals = {family: sum(n for (f, _), n in counts.items() if f == family) for family in FAMILIES}
    assert all(330 <= total <= 470 for total in totals.values()), totals
    for (family, _), count in counts.items():
        expected = totals[family] / {"pattern_kind": 2, "grating_orientation": 4, "stripe_color": 3}[family]
        assert 0.75 * expected <= count <= 1.25 * expected, (family, count)


def test_hand_built_scenes():
    background = {"background": [120, 120, 120], "texture_seed": 3}  # dark enough that nothing clips
    side = {
        "family": "pattern_kind",
        "image_size": 64,
        "orientation": "horizontal",
        "kind": "checks",
        "period": 4.0,
        "amplitude": 20.0,
        "phase": 0.0,
        **background,
    }
    assert answer_for_scene(side) == "B"
    drawn = _foreground(side).mean(-1)
    # √2 · 20 · sin(2π(y + 0.5)/4) · sin(2π(x + 0.5)/4): ±14.1 where both sines are ±0.707, alternating like a
    # chessboard of 2 × 2 px squares.
    assert np.abs(drawn[0::4, 0::4] - 14.1).max() <= 2 and np.abs(drawn[0::4, 2::4] + 14.1).max() <= 2
    assert np.abs(drawn[2::4, 0::4] + 14.1).max() <= 2 and np.abs(drawn[2::4, 2::4] - 14.1).max() <= 2
    pixels = _pixels(render_scene(side))
    # The background is textured: noisy, not flat, and a pure function of the scene.
    assert pixels[:, :10].std() > 3
    assert np.array_equal(pixels, _pixels(render_scene(json.dumps(side))))
    grating = {
        "family": "grating_orientation",
        "image_size": 64,
        "orientation": "vertical",
        "period": 4.0,
        "amplitude": 40.0,
        "phase": 0.0,
        **background,
    }
    assert answer_for_scene(grating) == "B"
    drawn = _foreground(grating).mean(-1)
    # sin(2π(x + 0.5)/4): +28.3 at x = 0, 1 (mod 4) and -28.3 at x = 2, 3, the same down every column.
    assert np.abs(drawn[:, 0] - 28.3).max() <= 2 and np.abs(drawn[:, 2] + 28.3).max() <= 2
    stripes = {
        "family": "stripe_color",
        "image_size": 64,
        "color": "green",
        "vertical": False,
        "period": 4.0,
        "width": 1.5,
        "offset": 0.0,
        "opacity": 1.0,
        **background,
    }
    assert answer_for_scene(stripes) == "B"
    pixels = _pixels(render_scene(stripes))
    # Rows 4k are covered fully, rows 4k + 1 half (anti-aliased), rows 4k + 2 and 4k + 3 not at all.
    assert (pixels[0::4] == STRIPE_COLORS["green"]).all()
    half = (np.array(STRIPE_COLORS["green"]) + _pixels(render_scene(dict(stripes, opacity=0.0)))[1::4]) / 2
    assert np.abs(pixels[1::4] - half).max() <= 1
    assert set(GRATING_ORIENTATIONS) == {"A", "B", "C", "D"}


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


def test_a_row_range_holds_the_same_rows_as_the_whole_split():
    whole = make_synthetic_dataset("train", 14, seed=7)
    part = make_synthetic_dataset("train", 4, seed=7, start=10)
    assert part["id"] == ["train-000010", "train-000011", "train-000012", "train-000013"]
    assert _raw_rows(part) == _raw_rows(whole)[10:]
    assert [scene_to_json(s) for s in generate_scenes("train", 4, seed=7, start=10)] == whole["scene"][10:]


@pytest.mark.parametrize(
    ("split", "expected"),
    [
        ("train", ("train", 0, None)),
        ("train[24000:]", ("train", 24000, None)),
        ("train[24000:28096]", ("train", 24000, 28096)),
        ("validation[:100]", ("validation", 0, 100)),
    ],
)
def test_split_names_take_the_datasets_row_range_syntax(split, expected):
    assert parse_split_range(split) == expected


@pytest.mark.parametrize(
    ("split", "message"),
    [("train[10%:]", "Cannot read split"), ("train[-5:]", "Cannot read split"), ("train[5:5]", "selects no rows")],
)
def test_a_bad_row_range_is_named(split, message):
    with pytest.raises(ValueError, match=message):
        parse_split_range(split)


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
    rows = make_synthetic_dataset("test", 20, seed=2, families=["pattern_kind"], image_size=96)
    assert set(rows["family"]) == {"pattern_kind"}
    for row in rows:
        assert row["image"].size == (96, 96)
        assert _answer_from_pixels(row) == row["answer"]
    rows = make_synthetic_dataset(
        "test", 30, seed=2, families=["grating_orientation", "stripe_color"], image_size=128
    )
    assert set(rows["family"]) == {"grating_orientation", "stripe_color"}
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


def test_blur_and_low_resolution_erase_the_fine_stripes(validation_rows):
    # Every family's cue (what the scene draws over its background) has a period of a few pixels: at
    # severity 3 (blur σ 3 px, 4× down and up) almost nothing of it is left in the corrupted image, measured as the
    # correlation between the cue and what the corruption leaves of it (the same corruption of the bare
    # background subtracted), less the mean tint a blurred stripe pattern leaves. What JPEG and the rest cost the
    # model is measured in docs/method.md.
    from roma.degrade import corrupt

    for family in FAMILIES:
        for row in [row for row in validation_rows if row["family"] == family][:6]:
            scene = json.loads(row["scene"])
            cue = _fine(_foreground(scene))
            bare = dict(scene, amplitude=0.0, opacity=0.0)
            for name in ("gaussian_blur", "low_resolution"):
                left = _pixels(corrupt(render_scene(scene), name, 3, rng=0)) - _pixels(
                    corrupt(render_scene(bare), name, 3, rng=0)
                )
                correlation = np.corrcoef(cue, _fine(left))[0, 1]
                assert correlation < 0.3, (family, name, row["id"], correlation)


def _fine(pattern: np.ndarray) -> np.ndarray:
    """A drawn pattern less each channel's mean (the tint that blurred stripes leave), flattened."""
    pattern = pattern.astype(float)
    return (pattern - pattern.mean((0, 1))).ravel()


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
