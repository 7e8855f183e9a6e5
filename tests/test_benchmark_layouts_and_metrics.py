"""Issue 12: benchmark adapters on the data as published (malformed rows, other layouts), each benchmark's
grading rule reached through its adapter, and each benchmark's official metric in the reports."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from fixtures_benchmarks import (
    MALFORMED_IDS,
    MALFORMED_ROWS,
    WRITERS,
    add_malformed_row,
    write_all_benchmarks,
    write_chartqa_lmms_eval,
    write_dynamath_lmms_eval,
    write_logicvista_release,
    write_mathvista_vlmevalkit,
)

from roma.evaluation.benchmarks import EvalSample, get_benchmark
from roma.evaluation.official_metrics import official_figures, tag_breakdown, wemath_four_dimensional
from roma.evaluation.records import SweepRecord
from roma.evaluation.reports import summarize, write_reports, write_skipped_rows
from roma.grading import grade


def boxed(answer: str) -> str:
    return f"Let me think step by step. \\boxed{{{answer}}}"


# ----------------------------------------------------------------------------------- item 5: malformed rows
@pytest.mark.parametrize("name", sorted(MALFORMED_ROWS))
def test_one_malformed_row_is_skipped_and_listed_the_rest_is_scored(tmp_path, name):
    WRITERS[name](tmp_path)
    clean_ids = sorted(s.sample_id for s in get_benchmark(name, data_dir=tmp_path).load())
    add_malformed_row(tmp_path, name)
    data = get_benchmark(name, data_dir=tmp_path).load()
    assert sorted(s.sample_id for s in data) == clean_ids
    (skipped,) = data.skipped
    assert skipped.sample_id == MALFORMED_IDS[name]
    assert MALFORMED_ROWS[name][1] in skipped.reason and f"{name} sample" in skipped.reason


def test_logicvista_release_grades_its_numbered_option_gold_and_skips_only_the_empty_row(tmp_path):
    """Issue 22 item 5: v1_20 ("Select from 1-5", gold "3") is graded as the option number it names; only
    v1_382 (empty question and answer: truly unscorable) is skipped, with the reason."""
    write_logicvista_release(tmp_path)
    data = get_benchmark("logicvista", data_dir=tmp_path).load()
    assert [s.sample_id for s in data] == ["v1_1", "v1_2", "v1_20"]
    assert [s.sample_id for s in data.skipped] == ["v1_382"]
    assert "field 'answer' = ''" in data.skipped[0].reason
    # `imagename` is a file in images/: found and decoded.
    assert data.load_images(data[1])[0].size == (48, 40)
    assert grade(boxed("D, A"), data[1].gold, **data[1].grade_kwargs()).correct
    assert data[0].tags == {"skill": ["deductive"]}
    numbered = data[2]
    assert (numbered.gold, numbered.answer_type, numbered.rule) == ("3", "integer", "logicvista")
    for response, correct in [
        (boxed("3"), True),
        ("The answer is 3.", True),
        (boxed("Option 3"), True),
        (boxed("Statement (3)"), True),
        (boxed("Option 4"), False),
        (boxed("2"), False),
        (boxed("C"), False),  # the options are numbered: a letter names none of them
    ]:
        assert grade(response, numbered.gold, **numbered.grade_kwargs()).correct is correct, response


# ------------------------------------------------------------------------------ item 6: published layouts
def test_vlmevalkit_mathvista_tsv_without_pid(tmp_path):
    write_mathvista_vlmevalkit(tmp_path)
    data = get_benchmark("mathvista", data_dir=tmp_path).load()
    assert [s.sample_id for s in data] == ["1", "2", "3"]
    choice, count, length = data
    assert (choice.gold, choice.options, choice.answer_type) == ("B", ["a", "b", "c"], "multiple_choice")
    assert grade(boxed("b"), choice.gold, **choice.grade_kwargs()).correct
    assert grade(boxed("7"), count.gold, **count.grade_kwargs()).correct
    assert length.precision == 1 and grade(boxed("2.46"), length.gold, **length.grade_kwargs()).correct
    assert "(Unit: cm)" in length.question
    assert count.tags == {
        "task": "math word problem",
        "skill": ["arithmetic reasoning", "numeric commonsense"],
    }
    assert data.load_images(choice)[0].size == (48, 40)  # base64 in the TSV


def test_lmms_eval_dynamath_single_test_split(tmp_path):
    write_dynamath_lmms_eval(tmp_path)
    data = get_benchmark("dynamath", data_dir=tmp_path).load()
    assert [s.sample_id for s in data] == [f"{seed}/variant{v}" for v in range(1, 4) for seed in ("1", "2")]
    assert {s.group_id for s in data} == {"1", "2"}
    first = data[0]
    # Options only in the question: "no" selects (B) under DynaMath's rule (variant 1's gold is B).
    assert first.gold == "B" and grade(boxed("no"), first.gold, **first.grade_kwargs()).correct
    intercept = data[1]  # 0.250 within DynaMath's 0.001
    assert grade(boxed("0.2505"), intercept.gold, **intercept.grade_kwargs()).correct
    assert not grade(boxed("0.252"), intercept.gold, **intercept.grade_kwargs()).correct


def test_lmms_eval_chartqa_mirror_and_relaxed_accuracy(tmp_path):
    write_chartqa_lmms_eval(tmp_path)
    data = get_benchmark("chartqa", data_dir=tmp_path).load()
    share, country = data
    assert (share.gold, share.tags, country.tags) == ("0.57", {"source": "human"}, {"source": "augmented"})
    # ChartQA's relaxed accuracy reads 57% as 0.57 (item 4's reproduction, through the adapter).
    assert grade(boxed("57\\%"), share.gold, **share.grade_kwargs()).correct
    assert grade(boxed("chad"), country.gold, **country.grade_kwargs()).correct


# --------------------------------------------------------------- items 1-4 through the adapters' rules
def test_each_adapter_passes_its_rule_and_question(tmp_path):
    root = write_all_benchmarks(tmp_path)
    rules = {
        "mathvista": "mathvista",
        "mathverse": "mathverse",
        "mathvision": "mathvision",
        "wemath": "wemath",
        "logicvista": "logicvista",
        "dynamath": "dynamath",
        "mmmu_pro": "mmmu_pro",
        "chartqa": "chartqa",
        "mmstar": None,
    }
    for name, rule in rules.items():
        sample = get_benchmark(name, data_dir=root).load()[0]
        kwargs = sample.grade_kwargs()
        assert kwargs.get("rule") == rule and kwargs["question"] == sample.question, name
    synthetic = get_benchmark("synthetic").load(max_samples=1)[0]
    assert synthetic.grade_kwargs()["rule"] == "synthetic"


def test_mathvision_compares_values_rounded_to_two_decimals_through_its_adapter(tmp_path):
    WRITERS["mathvision"](tmp_path)
    open_question = get_benchmark("mathvision", data_dir=tmp_path).load()[1]  # gold \frac{3}{4}
    assert grade(boxed("0.75"), open_question.gold, **open_question.grade_kwargs()).correct
    one_third = EvalSample("mathvision", "x", "q", "\\frac{1}{3}", answer_type="math", rule="mathvision")
    assert grade(boxed("0.33"), one_third.gold, **one_third.grade_kwargs()).correct


def test_mathverse_all_evaluates_every_problem_version_tagged(tmp_path):
    WRITERS["mathverse"](tmp_path)
    assert [s.tags for s in get_benchmark("mathverse", data_dir=tmp_path).load()] == [
        {"problem_version": "Vision Only"}
    ] * 2
    every = get_benchmark("mathverse_all", data_dir=tmp_path).load()
    assert [s.tags["problem_version"] for s in every] == ["Vision Only", "Vision Only", "Text Dominant"]


def test_logicvista_and_mathverse_options_from_the_question(tmp_path):
    WRITERS["logicvista"](tmp_path)
    lv1 = get_benchmark("logicvista", data_dir=tmp_path).load()[0]  # gold "A, C"
    assert grade(boxed("c, a"), lv1.gold, **lv1.grade_kwargs()).correct
    assert grade("I choose A and C because B is wrong.", lv1.gold, **lv1.grade_kwargs()).correct
    mathverse = EvalSample(
        "mathverse", "x", "Find x.\nChoices:\nA:2\nB:4", "B", answer_type="multiple_choice", rule="mathverse"
    )
    assert grade(boxed("4"), mathverse.gold, **mathverse.grade_kwargs()).correct


# ------------------------------------------------------------------------------ item 7: official metrics
def record(sample_id: str, correct: float, condition: str = "clean", **tags) -> SweepRecord:
    group = "clean" if condition == "clean" else "seen"
    return SweepRecord(
        benchmark="b", sample_id=sample_id, condition=condition, group=group, correct=correct, tags=tags
    )


def wemath_problem(
    problem: str, steps: int, subs: list[int], multi: int, condition="clean"
) -> list[SweepRecord]:
    rows = [
        record(f"{problem}/{steps}steps_{k}", c, condition, problem=problem, step=f"{steps}steps_{k}")
        for k, c in enumerate(subs, 1)
    ]
    return rows + [record(f"{problem}/m", multi, condition, problem=problem, step=f"{steps}steps_multi")]


def test_wemath_four_dimensional_metric_against_hand_counts():
    records = [
        *wemath_problem("1", 2, [1, 1], 1),  # CM strict and loose
        *wemath_problem("2", 2, [1, 0], 1),  # RM strict, CM loose
        *wemath_problem("3", 2, [0, 0], 1),  # RM strict and loose
        *wemath_problem("4", 3, [1, 1, 1], 0),  # IG
        *wemath_problem("5", 3, [1, 0, 1], 0),  # IK
        record("6/1steps", 1, problem="6", step="1steps"),  # one-step: not in the four dimensions
        record("7/2steps_1", 1, problem="7", step="2steps_1"),  # incomplete problem: left out
    ]
    figures = wemath_four_dimensional(records)
    values = {name: figure["accuracy"] for name, figure in figures.items()}
    assert values == {
        "IK": 20.0,
        "IG": 20.0,
        "CM (strict)": 20.0,
        "CM (loose)": 40.0,
        "RM (strict)": pytest.approx(100 * 2 / 3),  # over CM + RM = 3
        "RM (loose)": pytest.approx(100 * 1 / 3),
        # (5 - 0.5·1 - 2 - 1) / 5 and (5 - 0.5·1 - 1 - 1) / 5
        "score (strict)": 30.0,
        "score (loose)": 50.0,
    }
    assert figures["score (strict)"]["n"] == 5


def test_tag_breakdown_counts_a_list_tag_under_each_value():
    records = [
        record("1", 1.0, task="geometry", skill=["algebraic", "geometry"]),
        record("2", 0.0, task="geometry", skill=["algebraic"]),
        record("3", 0.5, task="statistics"),
        record("4", 1.0, problem="9", step="2steps_1"),  # join tags are no category
    ]
    assert tag_breakdown(records) == {
        "skill: algebraic": {"accuracy": 50.0, "n": 2},
        "skill: geometry": {"accuracy": 100.0, "n": 1},
        "task: geometry": {"accuracy": 50.0, "n": 2},
        "task: statistics": {"accuracy": 50.0, "n": 1},
    }
    assert official_figures([record("1", 1.0)]) == {}


def test_summary_reports_official_figures_under_every_condition_and_the_skipped_rows(tmp_path):
    records = [
        record("1", 1.0, "clean", problem_version="Vision Only"),
        record("2", 1.0, "clean", problem_version="Text Lite"),
        record("1", 0.0, "blur@1", problem_version="Vision Only"),
        record("2", 1.0, "blur@1", problem_version="Text Lite"),
        record("1", 0.0, "blur@3", problem_version="Vision Only"),
        record("2", 0.0, "blur@3", problem_version="Text Lite"),
    ]
    official = summarize(records)["benchmarks"]["b"]["official"]
    assert official["conditions"]["blur@1"]["problem_version: Text Lite"] == {"accuracy": 100.0, "n": 1}
    text_lite = official["figures"]["problem_version: Text Lite"]
    assert (text_lite["clean"], text_lite["seen"], text_lite["seen_drop"]) == (100.0, 50.0, 50.0)
    # The reports: results.json and summary.md carry the figures and the skipped rows.
    (tmp_path / "records.jsonl").write_text("".join(json.dumps(r.to_json()) + "\n" for r in records))
    write_skipped_rows(
        tmp_path,
        {"b": [{"sample_id": "v1_382", "split": "test", "row": 3, "source": "f", "reason": "empty gold"}]},
    )
    results = write_reports(tmp_path, plots=False)
    assert results["skipped"]["b"]["count"] == 1
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["skipped"]["b"]["rows"][0]["sample_id"] == "v1_382"
    assert "problem_version: Text Lite" in saved["benchmarks"]["b"]["official"]["figures"]
    summary = (tmp_path / "summary.md").read_text()
    assert (
        "## b: official metric" in summary and "| problem_version: Text Lite | 1 | 100.0 | 50.0 |" in summary
    )
    assert "## Rows not scored (1)" in summary and "`v1_382`: empty gold" in summary


# --------------------------------------------------- done when: a sweep over every benchmark, one bad row each
def test_sweep_over_every_benchmark_with_one_malformed_row_each(tiny_qwen3_vl_path, tmp_path):
    from roma.evaluation.backends import TransformersBackend
    from roma.evaluation.records import read_records
    from roma.evaluation.sweep import SweepConfig, run_sweep

    names = sorted(MALFORMED_ROWS)
    root = write_all_benchmarks(tmp_path / "data", names)
    for name in names:
        add_malformed_row(root, name)
    out = tmp_path / "run"
    config = SweepConfig(
        model=str(tiny_qwen3_vl_path),
        out=str(out),
        benchmarks=",".join(names),
        conditions="clean",
        data_dir=str(root),
        batch_size=8,
        max_new_tokens=4,
        cache_dir=str(tmp_path / "cache"),
        progress=False,
        device="cpu",
        dtype="float32",
    )
    backend = TransformersBackend(tiny_qwen3_vl_path, max_new_tokens=4, device="cpu", dtype="float32")
    results = run_sweep(config, backend)
    records = read_records(out / "records.jsonl")
    # Every benchmark is scored, its malformed row is not.
    assert {r.benchmark for r in records} == set(names) == set(results["benchmarks"])
    scored = {(r.benchmark, r.group_id or r.sample_id) for r in records}  # DynaMath: the seed question
    assert not any((name, MALFORMED_IDS[name]) in scored for name in names)
    # Every other row once: each fixture's usable rows (DynaMath: 2 seed questions × 10 variants).
    usable = dict.fromkeys(names, 2) | {"mathvista": 3, "mmmu": 3, "wemath": 3, "dynamath": 20}
    assert Counter(r.benchmark for r in records) == usable
    assert {name: entry["count"] for name, entry in results["skipped"].items()} == dict.fromkeys(names, 1)
    for name in names:
        (row,) = results["skipped"][name]["rows"]
        assert row["sample_id"] == MALFORMED_IDS[name] and MALFORMED_ROWS[name][1] in row["reason"]
    summary = (out / "summary.md").read_text()
    assert f"## Rows not scored ({len(names)})" in summary
    # The official metrics sit next to accuracy: MathVista per task and skill, DynaMath per subject (and its
    # worst case), MMMU-Pro per setting, We-Math's four dimensions over its two-step problem.
    mathvista = results["benchmarks"]["mathvista"]["official"]
    assert mathvista["conditions"]["clean"]["task: math word problem"]["n"] == 2
    assert "skill: logical reasoning" in mathvista["figures"]
    assert {"IK", "IG", "score (strict)"} <= set(results["benchmarks"]["wemath"]["official"]["figures"])
    assert "subject: algebra" in results["benchmarks"]["dynamath"]["official"]["figures"]
    assert "setting: standard (10 options)" in results["benchmarks"]["mmmu_pro"]["official"]["figures"]
    assert "worst_case" in results["benchmarks"]["dynamath"]
    assert json.loads((out / "skipped.json").read_text())["logicvista"][0]["sample_id"] == "v1_382"
    assert Path(out / "results.json").is_file()
