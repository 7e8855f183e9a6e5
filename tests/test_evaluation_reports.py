"""Reports and run comparison computed from hand-written records, checked against hand-computed figures."""

from __future__ import annotations

import csv
import json

import pytest
from PIL import Image

from roma.evaluation import reports
from roma.evaluation.compare import compare_runs
from roma.evaluation.compare import main as compare_main
from roma.evaluation.errors import EvaluationError
from roma.evaluation.records import RecordStore, SweepRecord
from roma.evaluation.reports import format_points, summarize, write_reports

CONDITIONS = {
    "clean": (None, None, "clean"),
    "gaussian_blur@1": ("gaussian_blur", 1, "seen"),
    "gaussian_blur@3": ("gaussian_blur", 3, "seen"),
    "motion_blur@1": ("motion_blur", 1, "unseen"),
}


def _records(
    benchmark: str, condition: str, correct: list[float], groups: list[str] | None = None
) -> list[SweepRecord]:
    corruption, severity, group = CONDITIONS[condition]
    rows = []
    for i, value in enumerate(correct):
        rows.append(
            SweepRecord(
                benchmark=benchmark,
                sample_id=str(i),
                condition=condition,
                group=group,
                corruption=corruption,
                severity=severity,
                correct=value,
                group_id=groups[i] if groups else None,
            )
        )
    return rows


def make_records(shift: float = 0.0) -> list[SweepRecord]:
    """Benchmark ``a``: clean 75, blur@1 50, blur@3 25 (seen 37.5), motion@1 75 (unseen).
    ``dyn`` (two seed questions × two variants): clean 75 (worst case 50), blur@1 0. ``shift`` adds to ``a``'s blur@3."""
    records = _records("a", "clean", [1, 1, 1, 0])
    records += _records("a", "gaussian_blur@1", [1, 1, 0, 0])
    records += _records("a", "gaussian_blur@3", [1, shift, 0, 0])
    records += _records("a", "motion_blur@1", [1, 1, 1, 0])
    groups = ["g1", "g1", "g2", "g2"]
    records += _records("dyn", "clean", [1, 1, 1, 0], groups)
    records += _records("dyn", "gaussian_blur@1", [0, 0, 0, 0], groups)
    return records


def test_group_intervals_are_paired_over_samples():
    # 200 samples: the same half is right clean and under both blurs, except 20 that blur breaks.
    clean = [1.0] * 100 + [0.0] * 100
    blurred = [0.0] * 20 + [1.0] * 80 + [0.0] * 100
    records = _records("b", "clean", clean)
    records += _records("b", "gaussian_blur@1", blurred) + _records("b", "gaussian_blur@3", blurred)
    b = summarize(records)["benchmarks"]["b"]
    assert (b["clean"], b["seen"], b["seen_drop"]) == (50.0, 40.0, 10.0)
    low, high = b["seen_drop_ci95"]
    # Paired: only the 20 broken samples vary the drop (se of 0.1 over 200 samples is ~2.1 points) ...
    assert 5.0 < low < 10.0 < high < 15.0
    # ... while the separate intervals of clean and seen overlap.
    assert b["seen_ci95"][1] > b["clean_ci95"][0]
    assert b["clean_ci95"][0] < 50.0 < b["clean_ci95"][1]
    assert b["unseen"] is None and "unseen_ci95" not in b


def test_identical_clean_and_corrupted_outcomes_give_a_zero_width_drop_interval():
    outcomes = [1.0, 0.0] * 50
    records = _records("c", "clean", outcomes) + _records("c", "gaussian_blur@1", outcomes)
    assert summarize(records)["benchmarks"]["c"]["seen_drop_ci95"] == [0.0, 0.0]


def test_summary_figures_match_hand_computed_values():
    results = summarize(make_records())
    a = results["benchmarks"]["a"]
    assert (a["clean"], a["seen"], a["unseen"]) == (75.0, 37.5, 75.0)
    assert (a["seen_drop"], a["unseen_drop"]) == (37.5, 0.0)
    assert (a["seen_relative"], a["unseen_relative"]) == (0.5, 1.0)
    assert a["conditions"]["gaussian_blur@3"] == {
        "accuracy": 25.0,
        # Wilson 1/4: centre (0.25 + z²/8) / (1 + z²/4) = 0.37247, half 0.32689
        "ci95": [pytest.approx(4.5587, abs=1e-3), pytest.approx(69.9358, abs=1e-3)],
        "n": 4,
        "group": "seen",
        "corruption": "gaussian_blur",
        "severity": 3,
    }
    assert a["corruptions"]["gaussian_blur"] == {
        "group": "seen",
        "severities": {"1": 50.0, "3": 25.0},
        "ci95": {
            "1": a["conditions"]["gaussian_blur@1"]["ci95"],
            "3": a["conditions"]["gaussian_blur@3"]["ci95"],
        },
        "mean": 37.5,
    }
    assert "worst_case" not in a
    dyn = results["benchmarks"]["dyn"]
    assert (dyn["clean"], dyn["seen"], dyn["unseen"]) == (75.0, 0.0, None)
    assert dyn["worst_case"]["clean"] == 50.0 and dyn["worst_case"]["conditions"]["clean"]["groups"] == 2
    assert dyn["seen_relative"] == 0.0 and dyn["unseen_drop"] is None
    average = results["average"]
    assert (average["clean"], average["seen"], average["unseen"]) == (75.0, 18.75, 75.0)
    assert average["seen_drop"] == 56.25 and average["seen_relative"] == 0.25


def test_avg_at_k_fractions_average_like_samples():
    records = _records("a", "clean", [0.5, 1.0, 0.25, 0.25])
    assert summarize(records)["benchmarks"]["a"]["clean"] == 50.0


def test_format_points():
    assert format_points(3.14159) == "3.1" and format_points(None) == "–"
    assert format_points(-2.04, signed=True) == "−2.0" and format_points(2.0, signed=True) == "+2.0"
    assert format_points(-0.01, signed=True) == "+0.0"  # never "−0.0"


def _write_run(folder, records, model="m"):
    RecordStore(folder / "records.jsonl").append(records)
    (folder / "run.json").write_text(
        json.dumps({"model": model, "seed": 0, "severities": "1,3", "temperature": 0.0})
    )
    return folder


def test_write_reports_files_tables_and_plots(tmp_path):
    _write_run(tmp_path, make_records())
    write_reports(tmp_path)
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["benchmarks"]["a"]["seen"] == 37.5 and results["run"]["model"] == "m"
    with open(tmp_path / "summary.csv") as stream:
        rows = {row["benchmark"]: row for row in csv.DictReader(stream)}
    assert set(rows) == {"a", "dyn", "dyn (worst case)", "average"}
    assert (rows["a"]["clean"], rows["a"]["seen"], rows["a"]["seen_relative"]) == ("75.0", "37.5", "0.5")
    assert rows["dyn"]["unseen"] == "" and rows["dyn (worst case)"]["clean"] == "50.0"
    with open(tmp_path / "conditions.csv") as stream:
        assert len(list(csv.DictReader(stream))) == 6
    markdown = (tmp_path / "summary.md").read_text()
    # Wilson 3/4 = [30.1, 95.4]; seen and its paired change: bootstrap over the 4 samples.
    assert (
        "| a | 4 | 75.0 [30.1, 95.4] | 37.5 [0.0, 75.0] | 75.0 [30.1, 95.4] | −37.5 [−75.0, +0.0] | "
        "+0.0 [+0.0, +0.0] | 0.500 | 1.000 |"
    ) in markdown
    assert "| gaussian_blur | seen | 50.0 | 25.0 | 37.5 | −37.5 |" in markdown
    assert "Worst case over variants (2 seed questions): clean 50.0" in markdown
    for name in ("severity_a.png", "severity_dyn.png", "clean_seen_unseen.png"):
        with Image.open(tmp_path / "plots" / name) as image:
            assert image.format == "PNG" and image.size[0] > 300 and image.size[1] > 200
        assert f"(plots/{name})" in markdown


def test_results_json_is_written_after_every_other_report(tmp_path, monkeypatch):
    # A study reuses an evaluation folder by its results.json: a sweep stopped while plotting must not leave one.
    _write_run(tmp_path, make_records())

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(reports, "plot_group_bars", stopped)
    with pytest.raises(KeyboardInterrupt):
        write_reports(tmp_path)
    assert (tmp_path / "summary.csv").is_file() and not (tmp_path / "results.json").exists()
    monkeypatch.undo()
    write_reports(tmp_path)  # the rerun (`roma eval` resumes from records.jsonl) writes them all
    assert (tmp_path / "summary.md").is_file() and (tmp_path / "plots" / "clean_seen_unseen.png").is_file()
    assert json.loads((tmp_path / "results.json").read_text())["benchmarks"]["a"]["seen"] == 37.5


def test_write_reports_without_records_is_a_clear_error(tmp_path):
    with pytest.raises(EvaluationError, match="holds no records.jsonl"):
        write_reports(tmp_path)


def test_compare_deltas_against_the_first_run(tmp_path, capsys):
    grpo = _write_run(tmp_path / "grpo", make_records(0.0), model="grpo-ckpt")
    roma = _write_run(tmp_path / "roma", make_records(1.0), model="roma-ckpt")
    from roma.evaluation.reports import load_results

    comparison = compare_runs({"grpo": load_results(grpo), "roma": load_results(roma)})
    rows = {row["benchmark"]: row for row in comparison["rows"]}
    # roma's blur@3 on `a` is 50 instead of 25: seen mean 50 vs 37.5.
    assert rows["a"]["runs"]["roma"]["seen"] == 50.0 and rows["a"]["runs"]["roma"]["delta"] == {
        "clean": 0.0,
        "seen": 12.5,
        "unseen": 0.0,
    }
    assert rows["average"]["runs"]["roma"]["delta"]["seen"] == 6.25
    assert "dyn (worst case)" in rows and "delta" not in rows["a"]["runs"]["grpo"]

    out = tmp_path / "cmp"
    assert compare_main([str(grpo), str(roma), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Comparison (baseline: grpo)" in printed and "+12.5" in printed and "grpo-ckpt" in printed
    assert {p.name for p in out.iterdir()} == {"compare.md", "compare.csv", "compare.json", "compare.png"}
    with Image.open(out / "compare.png") as image:
        assert image.format == "PNG"
    assert compare_main([str(grpo), str(tmp_path / "nothing")]) == 2
    assert "not a `roma eval` --out folder" in capsys.readouterr().err


def test_compare_gives_a_paired_interval_that_matches_the_hand_computed_one(tmp_path, capsys):
    # 1000 samples, one seen condition: the baseline solves the first 500; the other run 40 more and 10 fewer.
    baseline = [1.0] * 500 + [0.0] * 500
    other = [0.0] * 10 + [1.0] * 530 + [0.0] * 460
    a = _write_run(
        tmp_path / "a", _records("p", "clean", baseline) + _records("p", "gaussian_blur@1", baseline)
    )
    b = _write_run(tmp_path / "b", _records("p", "clean", baseline) + _records("p", "gaussian_blur@1", other))
    assert compare_main([str(a), str(b), "--out", str(tmp_path / "cmp")]) == 0
    row = json.loads((tmp_path / "cmp" / "compare.json").read_text())["rows"][0]["runs"]["b"]
    assert row["delta"]["seen"] == pytest.approx(3.0)
    # By hand: per-sample differences are +1 (40), -1 (10), 0 (950): mean 0.03,
    # sd = sqrt((40 * 0.97² + 10 * 1.03² + 950 * 0.03²) / 999) = 0.22170, half-width 1.96 * sd / sqrt(1000) = 1.374 pts.
    low, high = row["delta_ci95"]["seen"]
    assert low == pytest.approx(3.0 - 1.374, abs=0.25) and high == pytest.approx(3.0 + 1.374, abs=0.25)
    assert row["delta_ci95"]["clean"] == [
        0.0,
        0.0,
    ]  # identical clean outcomes: no uncertainty in the difference
    assert "+3.0 [+" in capsys.readouterr().out


def test_compare_by_method_pools_seeds_with_an_interval_over_samples_and_seeds(tmp_path, capsys):
    # Two seeds per method on 400 samples, one seen condition. grpo seeds solve the first 200 and 220 samples;
    # roma seeds 260 and 240: means 52.5 and 62.5, Δseen +10.0.
    def outcomes(solved):
        return [1.0] * solved + [0.0] * (400 - solved)

    runs = []
    for name, solved in (("grpo-seed0", 200), ("grpo-seed1", 220), ("roma-seed0", 260), ("roma-seed1", 240)):
        records = _records("p", "clean", outcomes(300)) + _records("p", "gaussian_blur@1", outcomes(solved))
        runs.append(str(_write_run(tmp_path / name, records)))
    assert compare_main([*runs, "--group-by", "method", "--out", str(tmp_path / "cmp")]) == 0
    grouped = json.loads((tmp_path / "cmp" / "compare_methods.json").read_text())
    assert (tmp_path / "cmp" / "compare_methods.png").is_file()  # bars with error bars
    assert grouped["methods"] == {"grpo": ["grpo-seed0", "grpo-seed1"], "roma": ["roma-seed0", "roma-seed1"]}
    roma = grouped["rows"][0]["methods"]["roma"]
    assert roma["seen"] == pytest.approx(62.5) and roma["seen_per_run"] == pytest.approx([65.0, 60.0])
    assert roma["delta"]["seen"] == pytest.approx(10.0)
    low, high = roma["delta_ci95"]["seen"]
    assert 0 < low < 10.0 < high  # resolved; wider than one run pair's paired interval because seeds vary
    assert roma["paired_by_seed"] is True  # both methods ran seeds 0 and 1
    assert roma["delta"]["clean"] == 0.0 and roma["delta_ci95"]["clean"] == [0.0, 0.0]
    assert "| p | roma | 2 |" in capsys.readouterr().out
    # Without per-sample records the runs cannot be paired: a clear error.
    (tmp_path / "grpo-seed0" / "records.jsonl").rename(tmp_path / "grpo-seed0" / "moved.jsonl")
    (tmp_path / "grpo-seed0" / "results.json").write_text(json.dumps({"benchmarks": {}, "average": {}}))
    assert compare_main([*runs, "--group-by", "method"]) == 2
    assert "needs each run's records.jsonl" in capsys.readouterr().err


def test_method_of_strips_only_a_trailing_seed():
    from roma.evaluation.compare import method_of

    assert method_of("roma-seed3") == "roma" and method_of("grpo_seed12") == "grpo"
    assert method_of("roma-no-gate-seed0") == "roma-no-gate" and method_of("warm-start") == "warm-start"
    assert method_of("seed0") == "seed0"


def test_runs_pair_by_seed_only_when_both_methods_ran_the_same_seeds_once():
    from roma.evaluation.compare import pair_by_seed, seed_of

    assert seed_of("roma-seed3") == 3 and seed_of("grpo_seed12") == 12 and seed_of("warm-start") is None
    assert pair_by_seed(["g-seed1", "g-seed0"], ["r-seed0", "r-seed1"]) == (
        ["g-seed0", "g-seed1"],
        ["r-seed0", "r-seed1"],
    )
    assert pair_by_seed(["g-seed0", "g-seed1"], ["r-seed0", "r-seed2"]) is None  # other seeds
    assert pair_by_seed(["g-seed0", "g-seed1"], ["r-seed0"]) is None  # fewer runs
    assert pair_by_seed(["g-seed0", "g_seed0"], ["r-seed0", "r-seed1"]) is None  # a seed twice
    assert pair_by_seed(["warm-start"], ["r-seed0"]) is None


def test_report_only_rebuilds_the_reports_from_records(tmp_path, capsys):
    from roma.cli import main as roma_main

    _write_run(tmp_path, make_records())
    assert roma_main(["eval", "--report_only", "--out", str(tmp_path)]) == 0
    assert "| a | 4 | 75.0 [30.1, 95.4] | 37.5 [0.0, 75.0] |" in capsys.readouterr().out
    assert (tmp_path / "results.json").is_file() and (tmp_path / "plots" / "clean_seen_unseen.png").is_file()
    assert roma_main(["eval", "--report_only", "--out", str(tmp_path / "empty")]) == 2
    assert "holds no records.jsonl" in capsys.readouterr().err
