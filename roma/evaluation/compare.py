"""``roma compare RUN_A RUN_B ... [--out DIR]``: sweep runs side by side, with deltas against the first.

Typical use: ``roma compare results/grpo results/roma`` prints, per benchmark, clean / seen / unseen accuracy
of each run and the difference to the first run (the baseline) in points, with a *paired* 95 % interval: the
runs score the same samples under the same conditions, so the difference is bootstrapped over samples, each
resampled sample carrying its outcomes in both runs and every condition of the group. With ``--out`` it also
writes ``compare.md``, ``compare.csv``, ``compare.json`` and ``compare.png``. Each run is read from its records
(so a sweep still running compares as far as it got), or from its ``results.json`` (then without intervals).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from roma.evaluation.errors import EvaluationError
from roma.evaluation.records import SweepRecord
from roma.evaluation.reports import (
    condition_interval,
    format_points_interval,
    load_run,
    markdown_table,
    mean_of_conditions,
    outcome_table,
    plot_group_bars,
)
from roma.evaluation.stats import bootstrap_interval, paired_difference_interval

__all__ = [
    "COMPARED_FIGURES",
    "compare_runs",
    "compare_markdown",
    "condition_changes",
    "main",
    "paired_delta_interval",
]

COMPARED_FIGURES = ("clean", "seen", "unseen")


def _unique_names(paths: list[Path], names: list[str] | None) -> list[str]:
    if names:
        if len(names) != len(paths):
            raise EvaluationError(f"--names gives {len(names)} names for {len(paths)} runs")
        return names
    chosen = [path.name or str(path) for path in paths]
    if len(set(chosen)) < len(chosen):  # results/a/run and results/b/run: use the parent too
        chosen = [f"{path.parent.name}/{path.name}" for path in paths]
    return chosen


def _by_condition(records: list[SweepRecord], benchmark: str) -> dict[str, list[SweepRecord]]:
    table: dict[str, list[SweepRecord]] = {}
    for record in records:
        if record.benchmark == benchmark:
            table.setdefault(record.condition, []).append(record)
    return table


def paired_delta_interval(
    baseline: list[SweepRecord], other: list[SweepRecord], benchmark: str, group: str
) -> list[float] | None:
    """95 % interval (percent points) of other − baseline on one benchmark's ``group`` figure, paired over the
    samples both runs scored: a bootstrap over those samples, each carrying its outcome in both runs under every
    condition of the group both runs hold. None when the runs share no such condition."""
    base, comp = _by_condition(baseline, benchmark), _by_condition(other, benchmark)
    conditions = sorted(name for name in set(base) & set(comp) if (base[name][0].group or "other") == group)
    if not conditions:
        return None
    shared = sorted(
        {r.sample_id for name in conditions for r in base[name]}
        & {r.sample_id for name in conditions for r in comp[name]}
    )
    if len(shared) < 2:
        return None
    table = np.hstack([outcome_table(base, conditions, shared), outcome_table(comp, conditions, shared)])
    k = len(conditions)
    _, low, high = bootstrap_interval(
        table, lambda t: mean_of_conditions(t[:, k:]) - mean_of_conditions(t[:, :k])
    )
    return None if np.isnan(low) or np.isnan(high) else [100.0 * low, 100.0 * high]


def condition_changes(baseline: list[SweepRecord], other: list[SweepRecord]) -> list[dict[str, Any]]:
    """Per (benchmark, condition) both runs scored: each run's accuracy with its 95 % interval (Wilson, or
    bootstrap for avg@k) and the paired change other − baseline over the samples both scored, with its 95 %
    interval (normal approximation to the mean per-sample difference); percent. Rows in baseline order."""
    cells: dict[tuple[str, str], list[dict[str, SweepRecord]]] = {}
    for index, records in enumerate((baseline, other)):
        for record in records:
            cell = cells.setdefault((record.benchmark, record.condition), [{}, {}])
            cell[index][record.sample_id] = record
    rows = []
    for (benchmark, condition), (base, comp) in cells.items():
        shared = [sample_id for sample_id in base if sample_id in comp]
        if not shared:
            continue
        change, low, high = paired_difference_interval(
            [base[s].correct for s in shared], [comp[s].correct for s in shared]
        )
        rows.append(
            {
                "benchmark": benchmark,
                "condition": condition,
                "n": len(shared),
                "before": 100.0 * float(np.mean([base[s].correct for s in shared])),
                "before_ci95": condition_interval([base[s] for s in shared]),
                "after": 100.0 * float(np.mean([comp[s].correct for s in shared])),
                "after_ci95": condition_interval([comp[s] for s in shared]),
                "change": 100.0 * change,
                "change_ci95": None if np.isnan(low) else [100.0 * low, 100.0 * high],
            }
        )
    return rows


def compare_runs(
    runs: dict[str, dict[str, Any]], records: dict[str, list[SweepRecord] | None] | None = None
) -> dict[str, Any]:
    """Per benchmark (and ``average``, and DynaMath's worst case), each run's figures and deltas vs the first run.

    ``runs`` maps a run name to its results (`roma.evaluation.reports.load_results`). Benchmarks missing
    from a run show ``None`` there. ``records`` (the runs' sweep records, where available) adds a paired 95 %
    interval to each per-benchmark delta (``delta_ci95``).
    """
    names = list(runs)
    baseline = names[0]
    records = records or {}
    rows: list[dict[str, Any]] = []

    def add(label: str, entries: dict[str, dict[str, Any] | None], benchmark: str | None = None) -> None:
        row: dict[str, Any] = {"benchmark": label, "runs": {}}
        for name in names:
            entry = entries.get(name) or {}
            row["runs"][name] = {f: entry.get(f) for f in COMPARED_FIGURES} | {
                f"{g}_drop": entry.get(f"{g}_drop") for g in ("seen", "unseen")
            }
            row["runs"][name] |= {f"{f}_ci95": entry.get(f"{f}_ci95") for f in COMPARED_FIGURES}
        base = row["runs"][baseline]
        for name in names[1:]:
            row["runs"][name]["delta"] = {
                f: (row["runs"][name][f] - base[f])
                if row["runs"][name][f] is not None and base[f] is not None
                else None
                for f in COMPARED_FIGURES
            }
            pairable = benchmark is not None and records.get(baseline) and records.get(name)
            row["runs"][name]["delta_ci95"] = {
                f: paired_delta_interval(records[baseline], records[name], benchmark, f)
                if pairable and row["runs"][name]["delta"][f] is not None
                else None
                for f in COMPARED_FIGURES
            }
        rows.append(row)

    benchmarks = list(dict.fromkeys(b for results in runs.values() for b in results["benchmarks"]))
    for benchmark in benchmarks:
        add(benchmark, {n: runs[n]["benchmarks"].get(benchmark) for n in names}, benchmark)
        if any("worst_case" in runs[n]["benchmarks"].get(benchmark, {}) for n in names):
            add(
                f"{benchmark} (worst case)",
                {n: runs[n]["benchmarks"].get(benchmark, {}).get("worst_case") for n in names},
            )
    add("average", {n: runs[n].get("average") for n in names})
    return {"baseline": baseline, "runs": {n: runs[n].get("run", {}) for n in names}, "rows": rows}


def compare_markdown(comparison: dict[str, Any]) -> str:
    """One table: per benchmark, each figure for each run, then each later run's delta to the baseline."""
    names = list(comparison["runs"])
    baseline = comparison["baseline"]
    header = ["benchmark"]
    for figure in COMPARED_FIGURES:
        header += [f"{figure} {name}" for name in names]
        header += [f"Δ{figure} {name}" for name in names[1:]]
    body = []
    for row in comparison["rows"]:
        cells = [row["benchmark"] if row["benchmark"] != "average" else "**average**"]
        for figure in COMPARED_FIGURES:
            cells += [
                format_points_interval(row["runs"][n][figure], row["runs"][n].get(f"{figure}_ci95"))
                for n in names
            ]
            cells += [
                format_points_interval(
                    row["runs"][n]["delta"][figure],
                    row["runs"][n].get("delta_ci95", {}).get(figure),
                    signed=True,
                )
                for n in names[1:]
            ]
        body.append(cells)
    models = "; ".join(f"{name}: `{run.get('model', '?')}`" for name, run in comparison["runs"].items())
    intro = (
        f"# Comparison (baseline: {baseline})\n\nAccuracy in %, 95 % intervals in brackets; Δ = run − {baseline}, "
        "in points, with a paired interval (bootstrap over the samples both runs scored; a Δ whose interval "
        "excludes 0 is resolved at that level). seen / unseen: mean over the group's corruption × severity "
        f"conditions.\n\n{models}\n\n"
    )
    return intro + markdown_table(header, body) + "\n"


def _write_csv(path: Path, comparison: dict[str, Any]) -> None:
    names = list(comparison["runs"])
    with open(path, "w", newline="") as stream:
        writer = csv.writer(stream)
        header = [
            "benchmark",
            "run",
            *COMPARED_FIGURES,
            "seen_drop",
            "unseen_drop",
            *(f"delta_{f}" for f in COMPARED_FIGURES),
            *(f"delta_{f}_ci95_{end}" for f in COMPARED_FIGURES for end in ("low", "high")),
        ]
        writer.writerow(header)
        for row in comparison["rows"]:
            for name in names:
                figures = row["runs"][name]
                delta = figures.get("delta", {})
                values = [figures[f] for f in COMPARED_FIGURES] + [
                    figures["seen_drop"],
                    figures["unseen_drop"],
                ]
                values += [delta.get(f) for f in COMPARED_FIGURES]
                intervals = figures.get("delta_ci95", {})
                values += [(intervals.get(f) or [None, None])[i] for f in COMPARED_FIGURES for i in (0, 1)]
                writer.writerow([row["benchmark"], name, *("" if v is None else round(v, 4) for v in values)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="roma compare",
        description="Compare `roma eval` runs side by side: clean / seen / unseen accuracy with deltas to the first run.",
    )
    parser.add_argument(
        "runs", nargs="+", type=Path, help="--out folders of `roma eval` runs; the first is the baseline"
    )
    parser.add_argument(
        "--names", default=None, help="Comma-separated display names, one per run (default: folder names)"
    )
    parser.add_argument("--out", type=Path, default=None, help="Write compare.md / .csv / .json / .png here")
    args = parser.parse_args(argv)
    try:
        names = _unique_names(args.runs, args.names.split(",") if args.names else None)
        # Each run's records are read once: for its figures and for the paired intervals.
        loaded = {name: load_run(path) for name, path in zip(names, args.runs)}
        runs = {name: results for name, (results, _) in loaded.items()}
        comparison = compare_runs(runs, {name: records for name, (_, records) in loaded.items()})
    except EvaluationError as error:
        print(f"roma compare: error: {error}", file=sys.stderr)
        return 2
    text = compare_markdown(comparison)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "compare.json").write_text(json.dumps(comparison, indent=2) + "\n")
        _write_csv(args.out / "compare.csv", comparison)
        series = {name: {**runs[name]["benchmarks"], "average": runs[name]["average"]} for name in names}
        plot_group_bars(series, args.out / "compare.png", title="clean / seen / unseen accuracy per run")
        text += "\n![comparison](compare.png)\n"
        (args.out / "compare.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
