"""Benchmark adapters on local copies written in each benchmark's published schema (tests/fixtures_benchmarks.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fixtures_benchmarks import GOLD_TEXTS, IMAGE_SIZE, WRITERS, make_image, write_all_benchmarks

from roma.evaluation.benchmarks import (
    DEFAULT_BENCHMARKS,
    Benchmark,
    get_benchmark,
    list_benchmarks,
    register_benchmark,
    split_matches,
)
from roma.evaluation.errors import (
    BenchmarkLoadError,
    UnknownBenchmarkError,
)
from roma.grading import grade


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return write_all_benchmarks(tmp_path_factory.mktemp("benchmarks"))


def test_registry_has_the_protocol_benchmarks_and_more():
    names = list_benchmarks()
    assert set(DEFAULT_BENCHMARKS) <= set(names)
    assert {"synthetic", "mmstar", "hallusionbench", "mmmu", "chartqa"} <= set(names)
    # Case, dashes and aliases all reach the same adapter.
    assert type(get_benchmark("MMMU-Pro")) is type(get_benchmark("mmmu_pro"))
    assert get_benchmark("MathVista", hub_id="mirror/MathVista").hub_id == "mirror/MathVista"


def test_unknown_benchmark_lists_known_names_and_suggests_the_closest():
    with pytest.raises(UnknownBenchmarkError) as info:
        get_benchmark("mathvistaa")
    message = str(info.value)
    assert "unknown benchmark 'mathvistaa'" in message
    assert "Did you mean 'mathvista'?" in message
    assert "logicvista" in message and "dynamath" in message


@pytest.mark.parametrize("name", sorted(GOLD_TEXTS))
def test_each_adapter_loads_its_published_schema_and_grades_its_gold(data_dir, name):
    data = get_benchmark(name, data_dir=data_dir).load()
    assert sorted(s.sample_id for s in data) == sorted(GOLD_TEXTS[name])
    for sample in data:
        images = data.load_images(sample)
        assert images and all(image.mode == "RGB" and image.size == IMAGE_SIZE for image in images)
        assert sample.question.strip()
        kwargs = sample.grade_kwargs()
        right = grade(
            f"Reasoning... so \\boxed{{{GOLD_TEXTS[name][sample.sample_id]}}}", sample.gold, **kwargs
        )
        wrong = grade("\\boxed{Z}", sample.gold, **kwargs)
        assert right.correct, (sample.sample_id, right)
        assert not wrong.correct, (sample.sample_id, wrong)


def test_mathvista_multiple_choice_gold_is_the_option_text_mapped_to_its_letter(data_dir):
    data = get_benchmark("mathvista", data_dir=data_dir).load()
    sample = next(s for s in data if s.sample_id == "1")
    assert (sample.gold, sample.options, sample.answer_type) == ("B", ["3", "4", "5"], "multiple_choice")
    assert grade("\\boxed{B}", sample.gold, **sample.grade_kwargs()).correct
    float_sample = next(s for s in data if s.sample_id == "3")
    assert float_sample.precision == 2
    assert grade(
        "\\boxed{1.4512}", float_sample.gold, **float_sample.grade_kwargs()
    ).correct  # rounds to 1.45
    # The image comes from `decoded_image`, and matches the file that `image` names.
    assert data.load_images(sample)[0].tobytes() == make_image(100).tobytes()


def test_mathverse_keeps_only_vision_only_and_uses_the_cot_prompt(data_dir):
    data = get_benchmark("mathverse", data_dir=data_dir).load()
    assert [s.sample_id for s in data] == ["10", "11"]
    assert all(s.question.startswith("According to the question shown in the image") for s in data)


def test_mathvision_jsonl_with_relative_image_paths_and_placeholder_removed(data_dir):
    data = get_benchmark("mathvision", data_dir=data_dir).load()
    first = data[0]
    assert "<image1>" not in first.question and "E. E" in first.question
    assert (
        first.images[0] == data_dir / "MathVision" / "images" / "1.jpg"
    )  # resolved from data/ to the repo root
    assert data[1].answer_type == "math" and data[1].options is None


def test_wemath_logicvista_dynamath_mmmu_specifics(data_dir):
    wemath = get_benchmark("wemath", data_dir=data_dir).load()
    assert wemath[0].options == ["30°", "45°", "60°", "90°", "No correct answer"]
    logic = get_benchmark("logicvista", data_dir=data_dir).load()
    assert (logic[0].gold, logic[0].answer_type) == ("A, C", "multi_letter")
    assert not grade(
        "\\boxed{A}", logic[0].gold, **logic[0].grade_kwargs()
    ).correct  # the set must match exactly
    dyna = get_benchmark("dynamath", data_dir=data_dir).load()
    assert len(dyna) == 20 and {s.group_id for s in dyna} == {"1", "2"}
    assert dyna[1].rule == "dynamath"  # the rule supplies the 0.001 tolerance
    assert grade("\\boxed{1.5009}", dyna[1].gold, **dyna[1].grade_kwargs()).correct
    pro = get_benchmark("mmmu_pro", data_dir=data_dir).load()
    assert [len(s.images) for s in pro] == [1, 2] and len(pro[0].options) == 10
    assert "J. option 9" in pro[0].question


def test_max_samples_keeps_the_first_rows_of_each_split(data_dir):
    assert [s.sample_id for s in get_benchmark("mathvista", data_dir=data_dir).load(max_samples=2)] == [
        "1",
        "2",
    ]
    dyna = get_benchmark("dynamath", data_dir=data_dir).load(max_samples=1)
    assert [s.sample_id for s in dyna] == [f"1/variant{v}" for v in range(1, 11)]


def test_split_names_match_as_whole_tokens():
    assert split_matches("data/sample_variant1-00000-of-00001.parquet", "sample_variant1")
    assert not split_matches("data/sample_variant10-00000-of-00001.parquet", "sample_variant1")
    assert split_matches("MMStar_val.tsv", "val") and not split_matches("validation.parquet", "val")


def test_a_missing_image_file_names_sample_column_and_file(tmp_path):
    WRITERS["mathvision"](tmp_path)
    (tmp_path / "MathVision" / "images" / "2.jpg").unlink()
    data = get_benchmark("mathvision", data_dir=tmp_path).load()
    # The row is skipped, not fatal; the other row is evaluated.
    assert [s.sample_id for s in data] == ["1"] and [s.sample_id for s in data.skipped] == ["2"]
    message = data.skipped[0].reason
    assert "mathvision sample '2'" in message and "column 'image'" in message
    assert "'images/2.jpg' not found" in message and "testmini.jsonl" in message


def test_a_null_image_names_the_sample(tmp_path):
    folder = tmp_path / "logicvista"
    folder.mkdir()
    (folder / "data.json").write_text(
        json.dumps([{"id": "q9", "question": "Which?", "answer": "A", "image": None}])
    )
    # Its only row skipped, the benchmark has nothing left: the error gives the row's reason.
    with pytest.raises(
        BenchmarkLoadError,
        match=r"every row was skipped: logicvista sample 'q9' .*no image in column 'image'",
    ):
        get_benchmark("logicvista", data_dir=tmp_path).load()


def test_a_malformed_answer_names_sample_field_and_value(tmp_path):
    WRITERS["mathvista"](tmp_path)
    path = next((tmp_path / "MathVista").rglob("*.parquet"))
    import datasets

    dataset = datasets.Dataset.from_parquet(str(path))
    dataset = dataset.map(lambda row: {"answer": "seven" if row["pid"] == "2" else row["answer"]})
    dataset.to_parquet(str(path))
    data = get_benchmark("mathvista", data_dir=tmp_path).load()
    assert [s.sample_id for s in data] == ["1", "3"]
    (skipped,) = data.skipped
    assert (skipped.sample_id, skipped.split, skipped.row) == ("2", "testmini", 1)
    assert re.search(
        r"mathvista sample '2' \(split 'testmini', row 1\): field 'answer' = 'seven' is not an integer",
        skipped.reason,
    )


def test_a_multiple_choice_gold_outside_the_options_is_refused(tmp_path):
    folder = tmp_path / "MMStar"
    folder.mkdir()
    (folder / "val.tsv").write_text("index\tquestion\timage\tanswer\n3\tWhat?\tcat.png\tF\n")
    make_image(1).save(folder / "cat.png")
    with pytest.raises(
        BenchmarkLoadError, match=r"mmstar sample '3' .*field 'answer' = 'F' names an option beyond"
    ):
        get_benchmark("mmstar", data_dir=tmp_path).load()


def test_missing_columns_and_missing_data_are_clear(tmp_path):
    folder = tmp_path / "ChartQA"
    folder.mkdir()
    (folder / "test.json").write_text(json.dumps([{"question": "q", "image": "x.png"}]))
    with pytest.raises(
        BenchmarkLoadError, match=r"chartqa: .*test.json lacks column\(s\) \['label\|answer'\]"
    ):
        get_benchmark("chartqa", data_dir=tmp_path).load()
    # No local copy and no hub: the message says where it looked and what to pass.
    with pytest.raises(
        BenchmarkLoadError,
        match=r"cannot load split 'test' of lscpku/LogicVista .*No folder for it under --data_dir",
    ):
        get_benchmark("logicvista", data_dir=tmp_path).load()


def test_registering_a_new_benchmark_is_one_small_class(tmp_path):
    @register_benchmark
    class TinyVQA(Benchmark):
        name = "tiny_vqa_for_test"
        hub_id = "me/TinyVQA"
        required_columns = ("id", "question", "image", "answer")

        def to_sample(self, row, split, index):
            return self.make_sample(
                row, split, index, question=row["question"], gold=row["answer"], answer_type="integer"
            )

    folder = tmp_path / "TinyVQA"
    folder.mkdir()
    make_image(3).save(folder / "a.png")
    (folder / "test.jsonl").write_text(
        json.dumps({"id": 5, "question": "How many?", "image": "a.png", "answer": "3"}) + "\n"
    )
    data = get_benchmark("tiny_vqa_for_test", data_dir=tmp_path).load()
    assert data[0].sample_id == "5" and data.load_images(data[0])[0].size == IMAGE_SIZE
    with pytest.raises(ValueError, match="already registered"):
        register_benchmark(type("Clash", (Benchmark,), {"name": "mathvista"}))


def test_undecodable_image_bytes_are_skipped_at_load_naming_them(tmp_path):
    import io

    import datasets
    from PIL import Image

    good = io.BytesIO()
    Image.new("RGB", (8, 8)).save(good, format="PNG")
    rows = {
        "index": ["4", "5"],
        "question": ["What?", "What?"],
        "answer": ["A", "A"],
        "image": [{"bytes": b"not an image", "path": None}, {"bytes": good.getvalue(), "path": None}],
    }
    dataset = datasets.Dataset.from_dict(rows).cast_column("image", datasets.Image())
    (tmp_path / "MMStar").mkdir()
    dataset.to_parquet(str(tmp_path / "MMStar" / "val.parquet"))
    data = get_benchmark("mmstar", data_dir=tmp_path).load()  # checked at load, as a missing image is
    assert [sample.sample_id for sample in data] == ["5"]
    (skipped,) = data.skipped
    assert re.search(
        r"mmstar sample '4' \(column 'image', .*val.parquet\): cannot decode image", skipped.reason
    )


def test_hub_id_overrides_parse_and_reach_the_adapter():
    from roma.evaluation.errors import EvaluationError
    from roma.evaluation.sweep import SweepConfig

    config = SweepConfig(
        model="m", out="o", hub_ids="mathvista=me/MathVista-mirror, mmmu_pro=me/Pro:standard (4 options)"
    )
    assert config.hub_overrides() == {
        "mathvista": {"hub_id": "me/MathVista-mirror"},
        "mmmu_pro": {"hub_id": "me/Pro", "hub_config": "standard (4 options)"},
    }
    adapter = get_benchmark("mmmu_pro", **config.hub_overrides()["mmmu_pro"])
    assert (adapter.hub_id, adapter.hub_config) == ("me/Pro", "standard (4 options)")
    with pytest.raises(EvaluationError, match="is not 'name=owner/repo"):
        SweepConfig(model="m", out="o", hub_ids="mathvista").hub_overrides()


def test_json_shapes_the_builders_do_not_read_as_rows_and_csv_cells_stay_text(tmp_path):
    # MathVista's original testmini.json: {pid: row}, image paths relative to the file.
    folder = tmp_path / "MathVista"
    folder.mkdir()
    make_image(5).save(folder / "5.png")
    row = {"question": "How long?", "image": "5.png", "question_type": "free_form", "answer_type": "float"}
    (folder / "testmini.json").write_text(json.dumps({"5": {"pid": "5", "answer": "1.50", **row}}, indent=2))
    data = get_benchmark("mathvista", data_dir=tmp_path).load()
    assert [(s.sample_id, s.gold) for s in data] == [("5", "1.50")]
    # {"data": [rows]}, and a TSV whose answers look like numbers: read as published text.
    (tmp_path / "logicvista").mkdir()
    make_image(6).save(tmp_path / "logicvista" / "q.png")
    rows = [{"id": "q1", "question": "Which?", "answer": "B", "image": "q.png"}]
    (tmp_path / "logicvista" / "data.json").write_text(json.dumps({"data": rows}))
    assert [s.gold for s in get_benchmark("logicvista", data_dir=tmp_path).load()] == ["B"]
    (tmp_path / "ChartQA").mkdir()
    make_image(7).save(tmp_path / "ChartQA" / "c.png")
    (tmp_path / "ChartQA" / "test.tsv").write_text(
        "query\tlabel\timage\nPeak?\t2.50\tc.png\nYear?\tNA\tc.png\n"
    )
    assert [s.gold for s in get_benchmark("chartqa", data_dir=tmp_path).load()] == ["2.50", "NA"]
