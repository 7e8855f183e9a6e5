"""``roma compare RUN_A RUN_B ... [--out DIR]``: sweep runs side by side, with deltas against the first.

Typical use: ``roma compare results/grpo results/roma`` prints, per benchmark, clean / seen / unseen accuracy
of each run and the difference to the first run (the baseline) in points, with a *paired* 95 % interval: the
runs score the same samples under the same conditions, so the difference is bootstrapped over samples, each
resampled sample carrying its outcomes in both runs and every condition of the group. With ``--out`` it also
writes ``compare.md``, ``compare.csv``, ``compare.json`` and ``compare.png``. Runs that scored MathReal's real
photos and clean renditions (``mathreal``, ``mathreal_clean``) also get the real-photo drop next to the synthetic
drops (`roma.evaluation.real_photos`). Each run is read from its records
(so a sweep still running compares as far as it got), or from its ``results.json`` (then without intervals).

With several runs per method (seeds), ``roma compare grpo-seed*/ roma-seed*/ --group-by method`` groups the runs
by method (the folder name without its ``-seed<N>`` suffix), reports each method's mean over its runs, and the
difference of each method to the first with an interval over both the test samples and the seeds
(`roma.evaluation.stats.seeds_and_samples_interval`).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

from roma.evaluation.errors import EvaluationError
from roma.evaluation.formatting import format_points, format_points_interval, markdown_table
from roma.evaluation.plots import plot_group_bars
from roma.evaluation.real_photos import real_photo_drops
from roma.evaluation.records import SweepRecord
from roma.evaluation.reports import condition_interval, load_run, mean_of_conditions, outcome_table
from roma.evaluation.stats import (
    bootstrap_interval,
    paired_difference_interval,
    seeds_and_samples_interval,
)

__all__ = [
    "COMPARED_FIGURES",
    "compare_runs",
    "compare_markdown",
    "compare_methods",
    "method_of",
    "methods_markdown",
    "plot_methods",
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
    comparison = {"baseline": baseline, "runs": {n: runs[n].get("run", {}) for n in names}, "rows": rows}
    real_photos = {n: real_photo_drops(runs[n], records.get(n)) for n in names}
    if any(real_photos.values()):
        comparison["real_photos"] = real_photos
    return comparison


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
    return intro + markdown_table(header, body) + "\n" + _real_photos_markdown(comparison.get("real_photos"))


def _real_photos_markdown(real_photos: dict[str, dict[str, Any] | None] | None) -> str:
    """The real-photo drop beside the synthetic drops per run (`roma.evaluation.real_photos`); "" without."""
    if not real_photos:
        return ""
    header = ["run", "questions", "clean image", "real photo", "real-photo drop", "seen drop", "unseen drop"]
    body = [
        [name, str(entry.get("n") or "–")]
        + [format_points(entry.get(k)) for k in ("clean_image", "real_photo")]
        + [format_points_interval(entry.get("real_drop"), entry.get("real_drop_ci95"), signed=True)]
        + [format_points(entry.get(k), signed=True) for k in ("seen_drop", "unseen_drop")]
        for name, entry in real_photos.items()
        if entry
    ]
    intro = (
        "\n## Real photos against synthetic corruptions (MathReal)\n\nThe same questions as a clean image "
        "(`mathreal_clean`) and as a real phone photo (`mathreal`), under the clean condition; drops in points "
        "from the clean image: to the real photo (with a paired 95 % interval where the records are there), and "
        "to the mean over the seen / unseen corruption conditions of the clean image.\n\n"
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


# A run folder named after its method and seed: grpo-seed0, roma_seed12, roma.seed3.
_SEED_SUFFIX = re.compile(r"[-_.]?seed[-_]?\d+$")


def method_of(run_name: str) -> str:
    """The method a run belongs to: its name without a trailing seed suffix (``roma-seed3`` → ``roma``)."""
    return _SEED_SUFFIX.sub("", run_name) or run_name


def seed_of(run_name: str) -> int | None:
    """The seed in a run's name (``roma-seed3`` → 3), None without a seed suffix."""
    match = _SEED_SUFFIX.search(run_name)
    return int(re.sub(r"\D", "", match.group())) if match and run_name != match.group() else None


def pair_by_seed(baseline: list[str], other: list[str]) -> tuple[list[str], list[str]] | None:
    """Both methods' runs ordered by seed when they ran the same seeds, once each (runs of one seed share the
    start, the RL data order and the sampling draws: their difference is paired); None otherwise."""
    seeds = [{seed_of(name): name for name in runs} for runs in (baseline, other)]
    if None in seeds[0] or any(len(s) != len(r) for s, r in zip(seeds, (baseline, other))):
        return None
    if set(seeds[0]) != set(seeds[1]):
        return None
    order = sorted(seeds[0])
    return [seeds[0][k] for k in order], [seeds[1][k] for k in order]


def compare_methods(records: dict[str, list[SweepRecord] | None]) -> dict[str, Any]:
    """Runs grouped by method (`method_of` their names): per benchmark and figure, each method's mean over its
    runs with a 95 % interval, and its difference to the first method with a 95 % interval over both the samples
    (shared by every run) and the seeds (`seeds_and_samples_interval`). Conditions and samples are those every
    run scored. Every run needs its records (``records.jsonl``)."""
    missing = [name for name, rows in records.items() if not rows]
    if missing:
        raise EvaluationError(
            f"--group-by method needs each run's records.jsonl (per-sample outcomes); missing for: "
            f"{', '.join(missing)}"
        )
    methods: dict[str, list[str]] = {}
    for name in records:
        methods.setdefault(method_of(name), []).append(name)
    baseline = next(iter(methods))
    by_run = {
        name: {b: _by_condition(rows, b) for b in {r.benchmark for r in rows}}  # type: ignore[union-attr]
        for name, rows in records.items()
    }
    benchmarks = list(dict.fromkeys(r.benchmark for rows in records.values() for r in rows))  # type: ignore[union-attr]
    rows_out: list[dict[str, Any]] = []
    for benchmark in benchmarks:
        if any(benchmark not in tables for tables in by_run.values()):
            continue  # not scored by every run: nothing to pair
        cells = [by_run[name][benchmark] for name in records]
        conditions = sorted(set.intersection(*(set(cell) for cell in cells)))
        shared = sorted(
            set.intersection(*({r.sample_id for c in conditions for r in cell[c]} for cell in cells))
        )
        row: dict[str, Any] = {"benchmark": benchmark, "samples": len(shared), "methods": {}}
        for figure in COMPARED_FIGURES:
            group = [c for c in conditions if (cells[0][c][0].group or "other") == figure]
            if not group or len(shared) < 2:
                continue
            tables = {name: outcome_table(by_run[name][benchmark], group, shared) for name in records}
            for method, names in methods.items():
                entry = row["methods"].setdefault(method, {"runs": names, "delta": {}, "delta_ci95": {}})
                value, low, high = seeds_and_samples_interval([tables[n] for n in names])
                entry[figure] = 100.0 * value
                entry[f"{figure}_ci95"] = [100.0 * low, 100.0 * high]
                entry[f"{figure}_per_run"] = [100.0 * mean_of_conditions(tables[n]) for n in names]
                if method != baseline:
                    paired = pair_by_seed(methods[baseline], names)
                    first, second = paired or (methods[baseline], names)
                    change, low, high = seeds_and_samples_interval(
                        [tables[n] for n in first], [tables[n] for n in second], paired_runs=bool(paired)
                    )
                    entry["paired_by_seed"] = bool(paired)
                    entry["delta"][figure] = 100.0 * change
                    entry["delta_ci95"][figure] = [100.0 * low, 100.0 * high]
        if row["methods"]:
            rows_out.append(row)
    if not rows_out:
        raise EvaluationError("the runs share no benchmark, condition and samples to compare")
    return {"baseline": baseline, "methods": methods, "rows": rows_out}


def methods_markdown(comparison: dict[str, Any]) -> str:
    """One table: per benchmark and method, the number of runs, each figure (mean over runs) and its Δ."""
    baseline = comparison["baseline"]
    header = ["benchmark", "method", "runs", *COMPARED_FIGURES, *(f"Δ{f}" for f in COMPARED_FIGURES)]
    body = []
    for row in comparison["rows"]:
        for method, entry in row["methods"].items():
            cells = [row["benchmark"], method, str(len(entry["runs"]))]
            cells += [format_points_interval(entry.get(f), entry.get(f"{f}_ci95")) for f in COMPARED_FIGURES]
            cells += [
                "–"
                if method == baseline
                else format_points_interval(entry["delta"].get(f), entry["delta_ci95"].get(f), signed=True)
                for f in COMPARED_FIGURES
            ]
            body.append(cells)
    intro = (
        f"# Comparison by method (baseline: {baseline})\n\nAccuracy in %: the mean over a method's runs (seeds), "
        "95 % intervals in brackets; Δ = method − baseline in points. Intervals are a two-level bootstrap: the "
        "test samples (shared by every run, so differences are paired) and each method's runs (the seed-to-seed "
        "spread; where a method ran the baseline's seeds, once each, the runs are paired by seed too: the same "
        "seed is drawn for both). A Δ whose interval excludes 0 is resolved at that level; with 3-5 seeds the "
        "seed level is estimated from few values.\n\n"
        + "; ".join(f"{m}: {', '.join(names)}" for m, names in comparison["methods"].items())
        + "\n\n"
    )
    return intro + markdown_table(header, body) + "\n"


def plot_methods(grouped: dict[str, Any], path: Path) -> Path:
    """Grouped bars: clean / seen / unseen accuracy per method (mean over its runs) with 95 % interval error
    bars, for the first benchmark of a `compare_methods` result."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    entries = grouped["rows"][0]["methods"]
    methods = list(entries)
    groups = [g for g in ("clean", "seen", "unseen") if any(e.get(g) is not None for e in entries.values())]
    width = 0.8 / len(groups)
    figure, axis = plt.subplots(figsize=(max(6.0, 1.1 * len(methods) + 2), 4.2), dpi=120)
    for offset, group in enumerate(groups):
        means = [entries[m].get(group) or 0.0 for m in methods]
        intervals = [entries[m].get(f"{group}_ci95") or [v, v] for m, v in zip(methods, means)]
        errors = [[v - i[0] for v, i in zip(means, intervals)], [i[1] - v for v, i in zip(means, intervals)]]
        positions = [i + (offset - (len(groups) - 1) / 2) * width for i in range(len(methods))]
        axis.bar(positions, means, width, yerr=errors, capsize=3, label=group)
    axis.set_xticks(range(len(methods)))
    axis.set_xticklabels([f"{m} ({len(entries[m]['runs'])})" for m in methods], rotation=25, ha="right")
    axis.set_ylabel("accuracy (%)")
    lowest = min((entries[m][g] for m in methods for g in groups if entries[m].get(g) is not None), default=0)
    axis.set_ylim(max(0.0, lowest - 10), None)
    axis.set_title(
        f"{grouped['rows'][0]['benchmark']}: mean over seeds, 95 % intervals over samples and seeds"
    )
    axis.legend(ncol=len(groups))
    axis.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


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
    parser.add_argument(
        "--group-by",
        "--group_by",
        dest="group_by",
        choices=["run", "method"],
        default="run",
        help="run: every run on its own (default); method: runs named <method>-seed<N> grouped, each method's "
        "mean over its seeds compared to the first method's, intervals over samples and seeds",
    )
    args = parser.parse_args(argv)
    try:
        names = _unique_names(args.runs, args.names.split(",") if args.names else None)
        # Each run's records are read once: for its figures and for the paired intervals.
        loaded = {name: load_run(path) for name, path in zip(names, args.runs)}
        runs = {name: results for name, (results, _) in loaded.items()}
        if args.group_by == "method":
            grouped = compare_methods({name: records for name, (_, records) in loaded.items()})
        else:
            comparison = compare_runs(runs, {name: records for name, (_, records) in loaded.items()})
    except EvaluationError as error:
        print(f"roma compare: error: {error}", file=sys.stderr)
        return 2
    if args.group_by == "method":
        text = methods_markdown(grouped)
        if args.out is not None:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / "compare_methods.json").write_text(json.dumps(grouped, indent=2) + "\n")
            plot_methods(grouped, args.out / "compare_methods.png")
            text += "\n![comparison by method](compare_methods.png)\n"
            (args.out / "compare_methods.md").write_text(text)
        print(text)
        return 0
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
