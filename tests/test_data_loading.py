"""`roma.data.loading.load_training_dataset` on every kind of source, and its errors."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
from datasets import Dataset, DatasetDict, Features, Image, List, Value
from PIL import Image as PILImage

from roma.data.loading import DatasetLoadingError, load_training_dataset
from roma.data.prompts import (
    build_conversation,
    check_image_placeholders,
    message_images,
    prompt_key,
    replace_message_images,
    row_images,
    strip_image_placeholders,
)


def _png(path: Path, size=(12, 8), color=(200, 30, 30), mode="RGB") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    PILImage.new(mode, size, color if mode == "RGB" else 128).save(path)
    return path


def _png_bytes(size=(12, 8), color=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def _image_placeholders(prompt: list[dict]) -> int:
    return sum(
        part["type"] == "image" for message in prompt for part in message["content"] if isinstance(part, dict)
    )


def _text_of(prompt: list[dict]) -> str:
    return " ".join(
        part["text"]
        for message in prompt
        if isinstance(message["content"], list)
        for part in message["content"]
        if part["type"] == "text"
    )


def test_parquet_rows_are_ready_for_grpo(tmp_path):
    # Grey and RGBA sources come out RGB; an EXIF "rotate 90" JPEG comes out transposed (20x10 -> 10x20).
    exif = PILImage.Exif()
    exif[0x0112] = 6
    rotated = io.BytesIO()
    PILImage.new("RGB", (20, 10), (0, 0, 255)).save(rotated, format="JPEG", exif=exif)
    grey = io.BytesIO()
    PILImage.new("L", (6, 6), 90).save(grey, format="PNG")
    rgba = io.BytesIO()
    PILImage.new("RGBA", (5, 7), (10, 20, 30, 0)).save(rgba, format="PNG")
    source = Dataset.from_dict(
        {
            "question": ["<image>How many?", "What colour?", "Which side?"],
            "image": [{"bytes": b.getvalue(), "path": None} for b in (rotated, grey, rgba)],
            "answer": [3, 4, 5],
            "difficulty": ["easy", "hard", "easy"],
        },
        features=Features(
            {
                "question": Value("string"),
                "image": Image(),
                "answer": Value("int64"),
                "difficulty": Value("string"),
            }
        ),
    )
    path = tmp_path / "train.parquet"
    source.to_parquet(str(path))

    rows = load_training_dataset(str(path), extra_columns=["difficulty"])

    assert set(rows.column_names) == {"id", "prompt", "image", "answer", "difficulty"}
    assert rows["id"] == ["0", "1", "2"]
    assert rows["answer"] == ["3", "4", "5"]
    assert rows["difficulty"] == ["easy", "hard", "easy"]
    images = rows["image"]
    assert [image.mode for image in images] == ["RGB", "RGB", "RGB"]
    assert [image.size for image in images] == [(10, 20), (6, 6), (5, 7)]
    assert images[1].getpixel((0, 0)) == (90, 90, 90)
    first = rows[0]["prompt"]
    assert _image_placeholders(first) == 1
    assert "How many?" in _text_of(first) and "<image>" not in _text_of(first)
    # The same conversation `build_conversation` makes (Arrow adds a None "text" to image parts).
    expected = build_conversation("How many?", num_images=1)
    assert [m["role"] for m in first] == [m["role"] for m in expected]


def test_max_samples_keeps_the_first_rows(tmp_path):
    path = tmp_path / "train.parquet"
    Dataset.from_dict(
        {"question": [f"q{i}" for i in range(5)], "image": [_png_bytes()] * 5, "answer": list("abcde")},
        features=Features({"question": Value("string"), "image": Image(), "answer": Value("string")}),
    ).to_parquet(str(path))
    rows = load_training_dataset(str(path), max_samples=2)
    assert rows["answer"] == ["a", "b"]


def test_jsonl_with_relative_image_paths(tmp_path):
    data_dir = tmp_path / "data"
    _png(data_dir / "images" / "a.png", size=(4, 3))
    _png(data_dir / "images" / "b.png", size=(7, 5), mode="L")
    path = _write_jsonl(
        data_dir / "train.jsonl",
        [
            {"id": "qa", "question": "Q a", "image": "images/a.png", "answer": "1", "answer_type": "integer"},
            {
                "id": "qb",
                "question": "Q b",
                "image": "images/b.png",
                "answer": "B",
                "answer_type": "multiple_choice",
            },
        ],
    )
    rows = load_training_dataset(str(path), extra_columns=["answer_type"])
    assert rows["id"] == ["qa", "qb"]
    assert rows["answer_type"] == ["integer", "multiple_choice"]
    assert [(image.size, image.mode) for image in rows["image"]] == [((4, 3), "RGB"), ((7, 5), "RGB")]


def test_jsonl_paths_resolve_against_image_root(tmp_path):
    _png(tmp_path / "pictures" / "a.png", size=(9, 9))
    path = _write_jsonl(tmp_path / "train.jsonl", [{"question": "Q", "image": "a.png", "answer": "1"}])
    with pytest.raises(DatasetLoadingError, match="does not exist"):
        load_training_dataset(str(path))  # resolved against the file's folder by default
    rows = load_training_dataset(str(path), image_root=str(tmp_path / "pictures"))
    assert rows[0]["image"].size == (9, 9)


def test_save_to_disk_folder_and_splits(tmp_path):
    features = Features({"question": Value("string"), "picture": Image(), "solution": Value("string")})
    splits = DatasetDict(
        {
            split: Dataset.from_dict(
                {"question": [f"{split} q"], "picture": [_png_bytes(size=(3 + i, 3))], "solution": [split]},
                features=features,
            )
            for i, split in enumerate(["train", "test"])
        }
    )
    splits.save_to_disk(str(tmp_path / "saved"))

    rows = load_training_dataset(
        str(tmp_path / "saved"), split="test", image_column="picture", answer_column="solution"
    )
    assert rows["answer"] == ["test"]
    assert rows[0]["image"].size == (4, 3)
    with pytest.raises(DatasetLoadingError, match=r"no split 'validation'; available splits: train, test"):
        load_training_dataset(str(tmp_path / "saved"), split="validation", image_column="picture")


def test_imagefolder_with_metadata(tmp_path):
    folder = tmp_path / "folder"
    _png(folder / "x.png", size=(5, 5))
    _png(folder / "y.png", size=(6, 6))
    _write_jsonl(
        folder / "metadata.jsonl",
        [
            {"file_name": "x.png", "question": "Q x", "answer": "5"},
            {"file_name": "y.png", "question": "Q y", "answer": "6"},
        ],
    )
    rows = load_training_dataset(str(folder))
    by_answer = {row["answer"]: row["image"].size for row in rows}
    assert by_answer == {"5": (5, 5), "6": (6, 6)}


def test_synthetic_source():
    rows = load_training_dataset("synthetic", max_samples=6, extra_columns=["answer_type"])
    assert len(rows) == 6
    assert rows[0]["id"] == "train-000000"
    assert rows[0]["image"].mode == "RGB" and rows[0]["image"].size == (64, 64)
    assert set(rows["answer_type"]) <= {"integer", "multiple_choice"}
    assert all(_image_placeholders(prompt) == 1 for prompt in rows["prompt"])


def test_list_image_column_gives_images(tmp_path):
    path = tmp_path / "multi.parquet"
    Dataset.from_dict(
        {
            "problem": ["<image 1><image 2>Compare.", "One picture."],
            "images": [[_png_bytes(size=(2, 2)), _png_bytes(size=(3, 3))], [_png_bytes(size=(4, 4))]],
            "answer": ["A", "B"],
        },
        features=Features({"problem": Value("string"), "images": List(Image()), "answer": Value("string")}),
    ).to_parquet(str(path))
    rows = load_training_dataset(str(path), question_column="problem", image_column="images")
    assert "image" not in rows.column_names
    assert [[image.size for image in images] for images in rows["images"]] == [[(2, 2), (3, 3)], [(4, 4)]]
    assert [_image_placeholders(prompt) for prompt in rows["prompt"]] == [2, 1]
    assert _text_of(rows["prompt"][0]).startswith("Compare.")  # numbered markers are removed too


def test_several_image_columns_skip_empty_cells(tmp_path):
    _png(tmp_path / "a.png", size=(2, 2))
    _png(tmp_path / "b.png", size=(3, 3))
    path = _write_jsonl(
        tmp_path / "train.jsonl",
        [
            {"question": "two", "image_1": "a.png", "image_2": "b.png", "answer": "1"},
            {"question": "one", "image_1": "b.png", "image_2": None, "answer": "2"},
        ],
    )
    rows = load_training_dataset(str(path), image_column="image_1, image_2")
    assert [[image.size for image in images] for images in rows["images"]] == [[(2, 2), (3, 3)], [(3, 3)]]
    assert [_image_placeholders(prompt) for prompt in rows["prompt"]] == [2, 1]


def test_wrong_column_names_the_argument_and_lists_columns(tmp_path):
    _png(tmp_path / "a.png")
    path = _write_jsonl(tmp_path / "train.jsonl", [{"question": "Q", "image": "a.png", "answer": "1"}])
    with pytest.raises(DatasetLoadingError) as error:
        load_training_dataset(str(path), question_column="problem", image_column="image,image_2")
    message = str(error.value)
    assert "'problem' (set --question_column)" in message
    assert "'image_2' (set --image_column)" in message
    assert "Available columns: question, image, answer." in message


def test_column_without_images_is_rejected(tmp_path):
    path = _write_jsonl(tmp_path / "train.jsonl", [{"question": "Q", "image": 3, "answer": "1"}])
    with pytest.raises(DatasetLoadingError, match=r"Column 'image' holds .*not images or image paths"):
        load_training_dataset(str(path))


def test_corrupt_image_names_sample_and_file(tmp_path):
    _png(tmp_path / "good.png")
    jpeg = io.BytesIO()
    PILImage.new("RGB", (64, 64), (1, 2, 3)).save(jpeg, format="JPEG")
    (tmp_path / "truncated.jpg").write_bytes(jpeg.getvalue()[: len(jpeg.getvalue()) // 2])
    path = _write_jsonl(
        tmp_path / "train.jsonl",
        [
            {"id": "ok", "question": "Q", "image": "good.png", "answer": "1"},
            {"id": "broken", "question": "Q", "image": "truncated.jpg", "answer": "2"},
        ],
    )
    with pytest.raises(DatasetLoadingError) as error:
        load_training_dataset(str(path))
    message = str(error.value)
    assert "Sample 1 (id 'broken')" in message
    assert str(tmp_path / "truncated.jpg") in message
    assert "skip_bad_samples" in message


def test_missing_image_file_names_sample_and_file(tmp_path):
    path = _write_jsonl(tmp_path / "train.jsonl", [{"question": "Q", "image": "nowhere.png", "answer": "1"}])
    with pytest.raises(
        DatasetLoadingError, match=r"Sample 0 \(id '0'\): image file '.*nowhere\.png' does not exist"
    ):
        load_training_dataset(str(path))


def test_skip_bad_samples_skips_and_warns_once(tmp_path, caplog):
    _png(tmp_path / "good.png")
    (tmp_path / "garbage.png").write_bytes(b"not an image")
    rows_in = [
        {"id": "g1", "question": "Q", "image": "good.png", "answer": "1"},
        {"id": "bad1", "question": "Q", "image": "garbage.png", "answer": "2"},
        {"id": "g2", "question": "Q", "image": "good.png", "answer": "3"},
        {"id": "bad2", "question": "Q", "image": "missing.png", "answer": "4"},
        {"id": "bad3", "question": "Q", "image": "good.png", "answer": None},
    ]
    path = _write_jsonl(tmp_path / "train.jsonl", rows_in)
    with caplog.at_level(logging.WARNING, logger="roma.data.loading"):
        rows = load_training_dataset(str(path), skip_bad_samples=True)
    assert rows["id"] == ["g1", "g2"]
    assert rows["answer"] == ["1", "3"]
    assert "_roma_load_error" not in rows.column_names
    warnings = [record.getMessage() for record in caplog.records if record.name == "roma.data.loading"]
    assert len(warnings) == 1
    assert "Skipped 3 of 5 samples" in warnings[0]
    assert all(f"id '{sample_id}'" in warnings[0] for sample_id in ("bad1", "bad2", "bad3"))


def test_all_rows_skipped_is_an_error(tmp_path):
    path = _write_jsonl(tmp_path / "train.jsonl", [{"question": "Q", "image": "missing.png", "answer": "1"}])
    with pytest.raises(DatasetLoadingError, match="No usable samples left"):
        load_training_dataset(str(path), skip_bad_samples=True)


def test_empty_dataset_is_an_error(tmp_path):
    empty = Dataset.from_dict(
        {"question": [], "image": [], "answer": []},
        features=Features({"question": Value("string"), "image": Image(), "answer": Value("string")}),
    )
    path = tmp_path / "empty.parquet"
    empty.to_parquet(str(path))
    with pytest.raises(DatasetLoadingError, match="has no rows"):
        load_training_dataset(str(path))
    empty_jsonl = tmp_path / "empty.jsonl"
    empty_jsonl.write_text("")
    with pytest.raises(DatasetLoadingError, match="has no rows"):
        load_training_dataset(str(empty_jsonl))


def test_single_file_holds_only_train(tmp_path):
    _png(tmp_path / "a.png")
    path = _write_jsonl(tmp_path / "train.jsonl", [{"question": "Q", "image": "a.png", "answer": "1"}])
    with pytest.raises(DatasetLoadingError, match="single file, which holds only the 'train' split"):
        load_training_dataset(str(path), split="test")


def test_missing_local_path_and_offline_hub(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_training_dataset(str(tmp_path / "nothing.jsonl"))
    # conftest sets HF_HUB_OFFLINE=1: a hub id fails fast with a message saying what to do.
    with pytest.raises(ConnectionError, match="Hub is not reachable.*save_to_disk"):
        load_training_dataset("some-org/some-dataset")


def test_only_images_pil_would_convert_wrongly_are_stored_re_encoded(tmp_path):
    _png(tmp_path / "plain.png")
    PILImage.new("I;16", (12, 8), 40000).save(tmp_path / "deep.png")
    source = _write_jsonl(
        tmp_path / "train.jsonl",
        [
            {"question": "q", "image": "plain.png", "answer": "1"},
            {"question": "q", "image": "deep.png", "answer": "2"},
        ],
    )
    rows = load_training_dataset(str(source))
    encoded = rows.cast_column("image", Image(decode=False))["image"]
    assert encoded[0] == {"bytes": None, "path": str(tmp_path / "plain.png")}  # kept as the file, not copied
    assert encoded[1]["path"] == str(tmp_path / "deep.png") and encoded[1]["bytes"].startswith(b"\x89PNG")
    # 40000 of 65535 is 156 of 255 (PIL's own RGB conversion clips it to white).
    assert rows[1]["image"].getpixel((0, 0)) == (156, 156, 156)


def test_tsv_files_are_read_by_the_csv_builder(tmp_path):
    _png(tmp_path / "a.png")
    (tmp_path / "train.tsv").write_text("question\timage\tanswer\nHow many?\ta.png\t3\n")
    rows = load_training_dataset(str(tmp_path / "train.tsv"))
    assert (rows[0]["answer"], rows[0]["image"].size) == ("3", (12, 8))


# --------------------------------------------------------------------------------- the prompt/image contract
def test_image_markers_are_stripped_in_every_spelling():
    assert strip_image_placeholders("<image>How many?") == "How many?"
    assert strip_image_placeholders("<image 1> <IMAGE2>Compare <image> them. ") == "Compare them."
    assert strip_image_placeholders("an <img> tag stays") == "an <img> tag stays"


def test_message_images_are_read_and_replaced_in_order():
    prompt = build_conversation("Compare.", 2)
    prompt[0]["content"][0]["image"] = "first"
    prompt[0]["content"][1]["image"] = "second"
    assert message_images(prompt) == ["first", "second"]
    replaced = replace_message_images(prompt, ["x", "y"])
    assert message_images(replaced) == ["x", "y"] and message_images(prompt) == ["first", "second"]
    assert message_images("a plain-text prompt") == []


def test_row_images_reads_either_column():
    assert row_images({"image": "a"}) == ["a"]
    assert row_images({"images": ["a", "b"]}) == ["a", "b"]
    assert row_images({"images": []}) is None and row_images({"image": None}) is None


def test_a_row_with_fewer_images_than_placeholders_is_named():
    rows = [
        {"id": "ok", "prompt": build_conversation("?", 1), "image": PILImage.new("RGB", (2, 2))},
        {"id": "lost-7", "prompt": build_conversation("?", 2), "images": [PILImage.new("RGB", (2, 2))]},
    ]
    with pytest.raises(ValueError, match=r"sample lost-7 has 2 image placeholder\(s\).* but 1 image"):
        check_image_placeholders(rows)
    check_image_placeholders(rows[:1])


def test_prompt_key_is_the_id_else_a_hash_of_prompt_and_image_bytes():
    prompt = build_conversation("?", 1)
    assert prompt_key({"id": 17, "prompt": prompt}) == "17"
    red = {"prompt": prompt, "image": PILImage.new("RGB", (2, 2), (255, 0, 0))}
    blue = {"prompt": prompt, "image": PILImage.new("RGB", (2, 2), (0, 0, 255))}
    assert prompt_key(red) == prompt_key(dict(red)) != prompt_key(blue)
