"""``roma compare RUN_A RUN_B ... [--out DIR]``: sweep runs side by side, with deltas against the first.

Typical use: ``roma compare results/grpo results/roma`` prints, per benchmark, clean / seen / unseen accuracy
of each run and the difference to the first run (the baseline) in points. With ``--out`` it also writes
``compare.md``, ``compare.csv``, ``compare.json`` and ``compare.png``. Each run is read from its records
(so a sweep still running compares as far as it got), or from its ``results.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

from roma.evaluation.errors import EvaluationError
from roma.evaluation.reports import format_points, load_results, markdown_table, plot_group_bars

__all__ = ["COMPARED_FIGURES", "compare_runs", "compare_markdown", "main"]

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


def compare_runs(runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Per benchmark (and ``average``, and DynaMath's worst case), each run's figures and deltas vs the first run.

    ``runs`` maps a run name to its results (`roma.evaluation.reports.load_results`). Benchmarks missing
    from a run show ``None`` there.
    """
    names = list(runs)
    baseline = names[0]
    rows: list[dict[str, Any]] = []

    def add(label: str, entries: dict[str, dict[str, Any] | None]) -> None:
        row: dict[str, Any] = {"benchmark": label, "runs": {}}
        for name in names:
            entry = entries.get(name) or {}
            row["runs"][name] = {f: entry.get(f) for f in COMPARED_FIGURES} | {
                f"{g}_drop": entry.get(f"{g}_drop") for g in ("seen", "unseen")
            }
        base = row["runs"][baseline]
        for name in names[1:]:
            row["runs"][name]["delta"] = {
                f: (row["runs"][name][f] - base[f])
                if row["runs"][name][f] is not None and base[f] is not None
                else None
                for f in COMPARED_FIGURES
            }
        rows.append(row)

    benchmarks = list(dict.fromkeys(b for results in runs.values() for b in results["benchmarks"]))
    for benchmark in benchmarks:
        add(benchmark, {n: runs[n]["benchmarks"].get(benchmark) for n in names})
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
            cells += [format_points(row["runs"][n][figure]) for n in names]
            cells += [format_points(row["runs"][n]["delta"][figure], signed=True) for n in names[1:]]
        body.append(cells)
    models = "; ".join(f"{name}: `{run.get('model', '?')}`" for name, run in comparison["runs"].items())
    intro = (
        f"# Comparison (baseline: {baseline})\n\nAccuracy in %; Δ = run − {baseline}, in points. "
        f"seen / unseen: mean over the group's corruption × severity conditions.\n\n{models}\n\n"
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
        runs = {name: load_results(path) for name, path in zip(names, args.runs)}
        comparison = compare_runs(runs)
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
