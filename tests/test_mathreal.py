"""Issue 22 item 4: MathReal (real phone photos of maths problems) from its release's layout, graded by rule,
reported per photo degradation, and its real-photo drop next to the synthetic drops in ``roma compare``."""

from __future__ import annotations

import json

import pytest
import torch
from fixtures_benchmarks import MATHREAL_GOLD_TEXTS, write_mathreal

from roma.cli import main as roma_main
from roma.evaluation.benchmarks import get_benchmark
from roma.evaluation.compare import compare_markdown, compare_runs
from roma.evaluation.real_photos import real_photo_drops
from roma.evaluation.records import SweepRecord
from roma.evaluation.reports import summarize
from roma.grading import grade


def boxed(answer: str) -> str:
    return f"Reading the photo, step by step. \\boxed{{{answer}}}"


@pytest.fixture
def data_dir(tmp_path):
    write_mathreal(tmp_path)
    return tmp_path


def test_mathreal_loads_the_release_layout(data_dir):
    data = get_benchmark("mathreal", data_dir=data_dir).load()
    assert [s.sample_id for s in data] == ["1", "2", "3", "4"] and not data.skipped
    # ImgReal ("real/0001.jpg") is relative to the release's img/ folder; the photo is decoded.
    assert data[0].images[0] == data_dir / "MathReal" / "img" / "real" / "0001.jpg"
    assert data.load_images(data[0])[0].size == (48, 40)
    # Vision only, as the paper's main setting: the question is in the photo, not in the prompt.
    assert "QuestionEN" not in data[0].question and "photo" in data[0].question
    assert [(s.answer_type, s.rule) for s in data] == [
        ("multi_part", "mathreal"),
        ("multi_part", "mathreal"),
        ("multiple_choice", "mathreal"),
        ("multi_part", "mathreal"),
    ]
    assert data[0].gold == ["The volume of the cuboid is 60 cm³.", "60cm^3"]  # English and Chinese golds
    assert data[2].options == ["Thumb", "Index finger", "Middle finger", "Ring finger"]
    assert data[1].tags == {
        "category": "Plane Geometry",
        "question_type": "FillInTheBlank",
        "difficulty": "Medium",
        "stage": "Middle",
        "image_quality": ["blur", "shadow coverage"],
        "image_quality_level": "2",
        "perspective": ["in-plane tilt"],
        "interference": ["none"],
        "clean_rendition": "yes",
    }
    assert data[2].tags["perspective"] == ["rotation", "in-plane tilt"]  # "Clockwise90°" is a rotation
    assert data[0].tags["image_quality"] == ["none"] and data[0].tags["image_quality_level"] == "0"
    # The clean renditions: only the rows that have one, the clean image, no photo-degradation tags.
    clean = get_benchmark("mathreal_clean", data_dir=data_dir).load()
    assert [s.sample_id for s in clean] == ["1", "2"]
    assert clean[0].images[0] == data_dir / "MathReal" / "img" / "clean" / "0001.png"
    assert "image_quality" not in clean[0].tags and clean[0].tags["category"] == "Solid Geometry"


def test_mathreal_rows_in_every_published_answer_form_are_graded_not_dropped(data_dir):
    """The release writes a multiple-choice gold as "C", "A. 1 meter" or "ABD" (several options): none is
    dropped; only a row with no answer in either language is skipped, and named."""
    path = data_dir / "MathReal" / "json" / "testmini.json"
    rows = json.loads(path.read_text())
    extra = [(5, "A. 1 meter"), (6, "ABD"), (7, ""), (8, "E")]
    for idx, answer in extra:
        rows.append({**rows[2], "idx": idx, "AnswerEN": answer, "AnswerCN": answer})
    path.write_text(json.dumps(rows, ensure_ascii=False))
    data = get_benchmark("mathreal", data_dir=data_dir).load()
    by_id = {s.sample_id: s for s in data}
    assert sorted(by_id) == ["1", "2", "3", "4", "5", "6", "8"]
    # A gold letter beyond the options read from the question (a misread layout): graded by letter alone.
    assert (by_id["8"].gold, by_id["8"].options) == ("E", None)
    assert grade(boxed("E"), by_id["8"].gold, **by_id["8"].grade_kwargs()).correct
    assert [s.sample_id for s in data.skipped] == ["7"] and "'AnswerEN' = ''" in data.skipped[0].reason
    assert (by_id["5"].gold, by_id["5"].answer_type) == ("A", "multiple_choice")
    assert (by_id["6"].gold, by_id["6"].answer_type) == ("A, B, D", "multi_letter")
    assert grade(boxed("A, B, D"), by_id["6"].gold, **by_id["6"].grade_kwargs()).correct
    assert not grade(boxed("A, B"), by_id["6"].gold, **by_id["6"].grade_kwargs()).correct


def test_mathreal_grading_is_strict_over_sub_answers(data_dir):
    data = {s.sample_id: s for s in get_benchmark("mathreal", data_dir=data_dir).load()}
    for sample_id, answer in MATHREAL_GOLD_TEXTS.items():
        sample = data[sample_id]
        assert grade(boxed(answer), sample.gold, **sample.grade_kwargs()).correct, sample_id
    kwargs = data["2"].grade_kwargs()
    # One box per blank, or all in one box; units and unit spellings (cm², cm^2) do not matter.
    assert grade(r"\boxed{6 cm^2}, \boxed{6\text{ cm}^2} and \boxed{7 cm²}", data["2"].gold, **kwargs).correct
    assert not grade(boxed("6; 7; 6"), data["2"].gold, **kwargs).correct  # order matters
    assert not grade(boxed("6; 6"), data["2"].gold, **kwargs).correct  # a blank missing: no credit
    assert not grade(boxed("6; 6; 7; 8"), data["2"].gold, **kwargs).correct
    # A sentence is compared by the value it states; sub-question markers split the parts.
    assert grade(boxed("V = 60"), data["1"].gold, **data["1"].grade_kwargs()).correct
    assert grade(boxed("(1) a = 4 (2) Q(-4, 1)"), data["4"].gold, **data["4"].grade_kwargs()).correct
    assert grade("So the volume is 60.\nAnswer: 60 cm^3", data["1"].gold, **data["1"].grade_kwargs()).correct
    assert not grade(boxed("a=4; Q(4,-1)"), data["4"].gold, **data["4"].grade_kwargs()).correct
    # Multiple choice: the letter, or the option's text.
    assert grade(boxed("Middle finger"), data["3"].gold, **data["3"].grade_kwargs()).correct
    assert not grade(boxed("B"), data["3"].gold, **data["3"].grade_kwargs()).correct


def _records(data_dir, outcomes: dict[tuple[str, str], dict[str, float]]) -> list[SweepRecord]:
    """Records of ``{(benchmark, condition): {sample_id: correct}}`` with the samples' tags and groups."""
    samples = {
        name: {s.sample_id: s for s in get_benchmark(name, data_dir=data_dir).load()}
        for name in ("mathreal", "mathreal_clean")
    }
    groups = {"clean": "clean", "gaussian_blur@3": "seen", "motion_blur@3": "unseen"}
    return [
        SweepRecord(
            benchmark=benchmark,
            sample_id=sample_id,
            condition=condition,
            group=groups[condition],
            corruption=None if condition == "clean" else condition.split("@")[0],
            severity=None if condition == "clean" else 3.0,
            correct=correct,
            tags=samples[benchmark][sample_id].tags,
        )
        for (benchmark, condition), cells in outcomes.items()
        for sample_id, correct in cells.items()
    ]


def test_mathreal_accuracy_per_photo_degradation_and_the_real_photo_drop_in_compare(data_dir):
    # Real photos: the two questions with a clean rendition, 1 right and 2 wrong; 3 right, 4 wrong.
    # Clean renditions: both right clean, one under the seen corruption, none under the unseen one.
    outcomes = {
        ("mathreal", "clean"): {"1": 1.0, "2": 0.0, "3": 1.0, "4": 0.0},
        ("mathreal_clean", "clean"): {"1": 1.0, "2": 1.0},
        ("mathreal_clean", "gaussian_blur@3"): {"1": 1.0, "2": 0.0},
        ("mathreal_clean", "motion_blur@3"): {"1": 0.0, "2": 0.0},
    }
    results = summarize(_records(data_dir, outcomes))
    real = results["benchmarks"]["mathreal"]
    assert real["clean"] == 50.0
    cells = real["official"]["conditions"]["clean"]
    assert cells["image_quality: blur"] == {"accuracy": pytest.approx(100 / 3), "n": 3}
    assert cells["image_quality: none"] == {"accuracy": 100.0, "n": 1}
    assert cells["image_quality_level: 3"] == {"accuracy": 0.0, "n": 1}
    assert cells["category: Logical Reasoning"] == {"accuracy": 100.0, "n": 1}
    assert cells["clean_rendition: yes"] == {"accuracy": 50.0, "n": 2}
    drops = real_photo_drops(results)
    assert drops == {
        "clean_image": 100.0,
        "real_photo": 50.0,
        "n": 2,
        "real_drop_ci95": None,
        "real_drop": 50.0,
        "seen_drop": 50.0,
        "unseen_drop": 100.0,
    }
    # With the records: the same figures, paired sample by sample, with an interval.
    records = _records(data_dir, outcomes)
    paired = real_photo_drops(results, records)
    assert (paired["clean_image"], paired["real_photo"], paired["n"], paired["real_drop"]) == (
        100.0,
        50.0,
        2,
        50.0,
    )
    low, high = paired["real_drop_ci95"]
    assert low < 50.0 < high
    # A cut that kept other questions of each benchmark (--max_samples): only the questions both scored count.
    cut = [r for r in records if not (r.benchmark == "mathreal" and r.sample_id == "1")]
    assert real_photo_drops(summarize(cut), cut) | {"real_drop_ci95": None} == {
        "clean_image": 100.0,
        "real_photo": 0.0,
        "n": 1,
        "real_drop_ci95": None,
        "real_drop": 100.0,
        "seen_drop": 50.0,
        "unseen_drop": 100.0,
    }
    # Two runs side by side: the second reads the photos perfectly.
    better = dict(outcomes) | {("mathreal", "clean"): {"1": 1.0, "2": 1.0, "3": 1.0, "4": 1.0}}
    comparison = compare_runs({"grpo": results, "roma": summarize(_records(data_dir, better))})
    assert comparison["real_photos"]["roma"]["real_drop"] == 0.0
    text = compare_markdown(comparison)
    assert "## Real photos against synthetic corruptions (MathReal)" in text
    assert "| grpo | 2 | 100.0 | 50.0 | +50.0 | +50.0 | +100.0 |" in text
    assert "| roma | 2 | 100.0 | 100.0 | +0.0 | +50.0 | +100.0 |" in text
    with_records = compare_runs(
        {"grpo": results, "roma": summarize(_records(data_dir, better))},
        {"grpo": records, "roma": _records(data_dir, better)},
    )
    assert with_records["real_photos"]["grpo"]["real_drop_ci95"] == paired["real_drop_ci95"]
    assert "| grpo | 2 | 100.0 | 50.0 | +50.0 [" in compare_markdown(with_records)
    # Without both benchmarks there is nothing to pair: no section.
    only_real = summarize([r for r in _records(data_dir, outcomes) if r.benchmark == "mathreal"])
    assert real_photo_drops(only_real) is None
    assert "Real photos" not in compare_markdown(compare_runs({"a": only_real}))


def test_roma_eval_mathreal_end_to_end_scores_per_category(tiny_qwen3_vl_path, data_dir, tmp_path, capsys):
    torch.set_num_threads(1)
    # One row without an answer in either language: skipped, and counted per benchmark in every report.
    path = data_dir / "MathReal" / "json" / "testmini.json"
    rows = json.loads(path.read_text())
    path.write_text(json.dumps([*rows, {**rows[3], "idx": 9, "AnswerEN": "", "AnswerCN": None}]))
    out = tmp_path / "run"
    options = {
        "model": tiny_qwen3_vl_path,
        "out": out,
        "benchmarks": "mathreal,mathreal_clean",
        "conditions": "clean,gaussian_blur,motion_blur",
        "severities": 3,
        "data_dir": data_dir,
        "batch_size": 4,
        "max_new_tokens": 4,
        "cache_dir": tmp_path / "cache",
        "device": "cpu",
        "dtype": "float32",
        "progress": "false",
    }
    args = ["eval", *(item for key, value in options.items() for item in (f"--{key}", str(value)))]
    assert roma_main(args) == 0
    assert "rows not scored (listed in summary.md and results.json): mathreal 1" in capsys.readouterr().out
    results = json.loads((out / "results.json").read_text())
    assert results["skipped"]["mathreal"]["count"] == 1 and "mathreal_clean" not in results["skipped"]
    assert results["skipped"]["mathreal"]["rows"][0]["sample_id"] == "9"
    assert results["benchmarks"]["mathreal"]["n"] == 4 and results["benchmarks"]["mathreal_clean"]["n"] == 2
    figures = results["benchmarks"]["mathreal"]["official"]["conditions"]["clean"]
    assert figures["image_quality: blur"]["n"] == 3 and figures["image_quality_level: 0"]["n"] == 1
    assert figures["clean_rendition: yes"]["n"] == 2 and figures["category: Plane Geometry"]["n"] == 1
    summary = (out / "summary.md").read_text()
    assert "## mathreal: official metric" in summary and "## Rows not scored (1)" in summary
    assert roma_main(["compare", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "## Real photos against synthetic corruptions (MathReal)" in printed
    drops = real_photo_drops(results)
    assert drops is not None and drops["n"] == 2 and drops["seen_drop"] is not None
