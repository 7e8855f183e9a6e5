"""Reports of a sweep: ``results.json``, ``summary.csv``, ``conditions.csv``, ``summary.md`` and PNG plots.

Everything is computed from ``records.jsonl`` alone (plus ``run.json`` for the header), so a report can be
rebuilt at any time, also from a sweep still running. Accuracies are in percent. For each benchmark:

- per condition: accuracy and sample count;
- ``seen`` / ``unseen``: the mean over that group's corruption × severity conditions;
- ``drop``: clean minus the group mean, in points; ``relative``: group mean / clean (robustness ratio);
- per corruption: accuracy at each severity and the mean over severities;
- ``worst_case`` (benchmarks with variant groups, i.e. DynaMath): per seed question the lowest accuracy over
  its variants (with greedy decoding: 100 only if every variant is right), averaged over seed questions.

``average`` is the mean over benchmarks of each figure.
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from roma.evaluation.conditions import CLEAN
from roma.evaluation.errors import EvaluationError
from roma.evaluation.records import SweepRecord, read_records

__all__ = [
    "GROUPS",
    "format_points",
    "load_results",
    "markdown_table",
    "plot_group_bars",
    "plot_severity_curves",
    "summarize",
    "write_reports",
]

GROUPS = ("clean", "seen", "unseen", "other")
_CORRUPTED_GROUPS = ("seen", "unseen", "other")
RESULT_DIGITS = 6  # decimals kept in results.json (accuracies are in percent)


def _mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def _summary_figures(by_group: dict[str, float | None]) -> dict[str, Any]:
    """clean / seen / unseen (+ other when present) with drops in points and relative robustness."""
    clean = by_group.get("clean")
    figures: dict[str, Any] = {"clean": clean}
    for group in _CORRUPTED_GROUPS:
        value = by_group.get(group)
        if value is None and group == "other":
            continue
        figures[group] = value
        figures[f"{group}_drop"] = clean - value if clean is not None and value is not None else None
        figures[f"{group}_relative"] = value / clean if clean and value is not None else None
    return figures


def _worst_case(records: list[SweepRecord]) -> tuple[float, int] | None:
    """Mean over groups of the minimum per-variant accuracy, and the number of groups."""
    groups: dict[str, list[float]] = defaultdict(list)
    for record in records:
        if record.group_id is None:
            return None
        groups[record.group_id].append(record.correct)
    return (100.0 * _mean(min(v) for v in groups.values()), len(groups)) if groups else None


def summarize(records: Sequence[SweepRecord]) -> dict[str, Any]:
    """The report figures from sweep records (see the module docstring); no files touched."""
    cells: dict[str, dict[str, list[SweepRecord]]] = defaultdict(lambda: defaultdict(list))
    for record in records:
        cells[record.benchmark][record.condition].append(record)
    benchmarks: dict[str, Any] = {}
    for benchmark, by_condition in cells.items():
        conditions: dict[str, Any] = {}
        corruptions: dict[str, Any] = {}
        worst: dict[str, Any] = {}
        for name, rows in sorted(by_condition.items(), key=lambda item: (item[0] != CLEAN, item[0])):
            first = rows[0]
            accuracy = 100.0 * _mean(r.correct for r in rows)
            conditions[name] = {
                "accuracy": accuracy,
                "n": len(rows),
                "group": first.group or (CLEAN if name == CLEAN else "other"),
                "corruption": first.corruption,
                "severity": first.severity,
            }
            if first.corruption:
                entry = corruptions.setdefault(
                    first.corruption, {"group": conditions[name]["group"], "severities": {}}
                )
                entry["severities"][f"{first.severity:g}"] = accuracy
            worst_case = _worst_case(rows)
            if worst_case is not None:
                worst[name] = {
                    "accuracy": worst_case[0],
                    "groups": worst_case[1],
                    "group": conditions[name]["group"],
                }
        for entry in corruptions.values():
            entry["severities"] = dict(sorted(entry["severities"].items(), key=lambda item: float(item[0])))
            entry["mean"] = _mean(entry["severities"].values())

        def group_means(table: dict[str, Any]) -> dict[str, float | None]:
            return {g: _mean(c["accuracy"] for c in table.values() if c["group"] == g) for g in GROUPS}

        summary = _summary_figures(group_means(conditions))
        benchmarks[benchmark] = {
            **summary,
            "n": conditions.get(CLEAN, {}).get("n") or max(c["n"] for c in conditions.values()),
            "conditions": conditions,
            "corruptions": corruptions,
        }
        if worst:
            benchmarks[benchmark]["worst_case"] = {
                **_summary_figures(group_means(worst)),
                "conditions": worst,
            }
    average: dict[str, Any] = {}
    if benchmarks:
        # Drops and ratios of the average come from the mean accuracies, not from averaging per-benchmark ratios.
        means = {g: _mean(b[g] for b in benchmarks.values() if b.get(g) is not None) for g in GROUPS}
        average = {**_summary_figures(means), "benchmarks": len(benchmarks)}
    return {"benchmarks": dict(sorted(benchmarks.items())), "average": average}


# ------------------------------------------------------------------------------------------------ formatting
def format_points(value: float | None, *, signed: bool = False, digits: int = 1) -> str:
    """``51.2``, ``+3.4`` / ``−2.0`` (signed), ``–`` for a missing figure."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if round(value, digits) == 0:
        value = 0.0  # no "−0.0"
    text = f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"
    return text.replace("-", "−")


def _format_ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def markdown_table(
    header: Sequence[str], rows: Iterable[Sequence[str]], align_first_left: bool = True
) -> str:
    """A GitHub-flavoured markdown table; first column left-aligned, the others right-aligned."""
    lines = ["| " + " | ".join(header) + " |"]
    lines.append(
        "| "
        + " | ".join(":---" if i == 0 and align_first_left else "---:" for i in range(len(header)))
        + " |"
    )
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


SUMMARY_COLUMNS = (
    "benchmark",
    "n",
    "clean",
    "seen",
    "unseen",
    "seen_drop",
    "unseen_drop",
    "seen_relative",
    "unseen_relative",
)


def _summary_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name, entry in results["benchmarks"].items():
        rows.append({"benchmark": name, **{k: entry.get(k) for k in SUMMARY_COLUMNS[1:]}})
        if "worst_case" in entry:
            rows.append(
                {
                    "benchmark": f"{name} (worst case)",
                    "n": entry["worst_case"]["conditions"].get(CLEAN, {}).get("groups"),
                    **{k: entry["worst_case"].get(k) for k in SUMMARY_COLUMNS[2:]},
                }
            )
    if results["average"]:
        rows.append(
            {"benchmark": "average", "n": None, **{k: results["average"].get(k) for k in SUMMARY_COLUMNS[2:]}}
        )
    return rows


def _summary_markdown(results: dict[str, Any], run: dict[str, Any], plots: list[Path], out: Path) -> str:
    parts = ["# Robustness sweep"]
    if run:
        decoding = (
            "greedy"
            if not run.get("temperature")
            else f"avg@{run.get('num_samples_per_prompt', 1)}, T={run['temperature']}"
        )
        parts.append(
            f"Model `{run.get('model')}`, {decoding}, seed {run.get('seed')}, severities {run.get('severities')}, "
            f"max {run.get('max_new_tokens')} new tokens."
        )
    parts.append(
        "Accuracy in %. *seen* / *unseen*: mean over that group's corruption × severity conditions; *− clean*: the "
        "change from clean in points (negative: accuracy lost); *rel.*: mean / clean (relative robustness)."
    )
    header = [
        "benchmark",
        "n",
        "clean",
        "seen",
        "unseen",
        "seen − clean",
        "unseen − clean",
        "seen rel.",
        "unseen rel.",
    ]
    rows = [
        [
            row["benchmark"] if row["benchmark"] != "average" else "**average**",
            "" if row["n"] is None else str(row["n"]),
            format_points(row["clean"]),
            format_points(row["seen"]),
            format_points(row["unseen"]),
            format_points(None if row["seen_drop"] is None else -row["seen_drop"], signed=True),
            format_points(None if row["unseen_drop"] is None else -row["unseen_drop"], signed=True),
            _format_ratio(row["seen_relative"]),
            _format_ratio(row["unseen_relative"]),
        ]
        for row in _summary_rows(results)
    ]
    parts.append(markdown_table(header, rows))
    for name, entry in results["benchmarks"].items():
        if not entry["corruptions"]:
            continue
        severities = sorted({s for c in entry["corruptions"].values() for s in c["severities"]}, key=float)
        clean = entry.get("clean")
        table_rows = [
            [
                f"{corruption}",
                c["group"],
                *[format_points(c["severities"].get(s)) for s in severities],
                format_points(c["mean"]),
                format_points(None if clean is None or c["mean"] is None else c["mean"] - clean, signed=True),
            ]
            for corruption, c in sorted(
                entry["corruptions"].items(), key=lambda item: (item[1]["group"], item[0])
            )
        ]
        parts.append(f"## {name}: accuracy per corruption and severity (clean {format_points(clean)})")
        parts.append(
            markdown_table(
                ["corruption", "group", *[f"s{s}" for s in severities], "mean", "vs clean"], table_rows
            )
        )
        if "worst_case" in entry:
            worst = entry["worst_case"]
            parts.append(
                f"Worst case over variants ({worst['conditions'].get(CLEAN, next(iter(worst['conditions'].values())))['groups']} "
                f"seed questions): clean {format_points(worst.get('clean'))}, seen {format_points(worst.get('seen'))}, "
                f"unseen {format_points(worst.get('unseen'))}."
            )
    if plots:
        parts.append("## Plots")
        parts += [f"![{plot.stem}]({plot.relative_to(out).as_posix()})" for plot in plots]
    return "\n\n".join(parts) + "\n"


# ---------------------------------------------------------------------------------------------------- plots
def round_floats(value: Any, digits: int = RESULT_DIGITS) -> Any:
    """``value`` with every float rounded to ``digits`` decimals, in nested dicts and lists: float noise such
    as a drop of ``3.55e-15`` points (two means of the same accuracies summed in another order) reads 0.0."""
    if isinstance(value, float):
        return round(value, digits) + 0.0  # + 0.0 turns a rounded -0.0 into 0.0
    if isinstance(value, dict):
        return {key: round_floats(item, digits) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [round_floats(item, digits) for item in value]
    return value


# The severity curves of one panel: up to 16 lines with distinct colours, and distinct markers for the first 11
# (14 corruptions are built in: 3 seen, 11 unseen), so no two lines look alike even in greyscale.
LINE_COLOURS = (
    *("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"),
    *("#17becf", "#000000", "#b8860b", "#000080", "#ff00ff", "#7fff00", "#800000"),
)
LINE_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h")


def line_styles(count: int) -> list[tuple[str, str]]:
    """(colour, marker) of each of ``count`` lines: colours distinct up to 16 lines, then repeating with
    another marker, so (colour, marker) pairs stay distinct far beyond that."""
    return [(LINE_COLOURS[i % len(LINE_COLOURS)], LINE_MARKERS[i % len(LINE_MARKERS)]) for i in range(count)]


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure  # Figure + savefig uses Agg without touching pyplot's global backend

    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def plot_severity_curves(benchmark: str, entry: dict[str, Any], path: Path) -> Path:
    """Accuracy vs severity, one panel per group (seen / unseen), one line per corruption.

    Each line starts at the clean accuracy (severity 0, marked "clean"), so a panel reads as "how fast does
    accuracy fall as the corruption gets stronger".
    """

    groups = [
        g for g in ("seen", "unseen", "other") if any(c["group"] == g for c in entry["corruptions"].values())
    ]
    figure = _figure(5.2 * len(groups) + 1.0, 5.0)
    axes_list = figure.subplots(1, len(groups), sharey=True, squeeze=False)[0]
    clean = entry.get("clean")
    for axes, group in zip(axes_list, groups):
        corruptions = sorted((name, c) for name, c in entry["corruptions"].items() if c["group"] == group)
        severities_used: set[float] = set()
        for (corruption, c), (colour, marker) in zip(corruptions, line_styles(len(corruptions))):
            xs = [float(s) for s in c["severities"]]
            ys = list(c["severities"].values())
            severities_used.update(xs)
            if clean is not None:
                xs, ys = [0.0, *xs], [clean, *ys]
            axes.plot(
                xs,
                ys,
                marker=marker,
                markersize=4,
                color=colour,
                label=corruption,
            )
        if clean is not None:
            axes.axhline(clean, color="0.3", linewidth=1, linestyle=":")
        ticks = ([0.0] if clean is not None else []) + sorted(severities_used)
        axes.set_xticks(ticks, ["clean" if t == 0 else f"{t:g}" for t in ticks])
        axes.set_xlabel("severity")
        axes.set_ylim(0, 100)
        axes.set_title(f"{group} corruptions")
        axes.grid(alpha=0.3)
        axes.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=3)
    axes_list[0].set_ylabel("accuracy (%)")
    clean_text = f" (clean {clean:.1f})" if clean is not None else ""
    figure.suptitle(f"{benchmark}: accuracy vs severity{clean_text}")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return path


def plot_group_bars(
    series: dict[str, dict[str, Any]], path: Path, title: str = "clean / seen / unseen accuracy"
) -> Path:
    """Grouped bars: for each benchmark, clean / seen / unseen accuracy of each run in ``series``.

    ``series`` maps a run name to ``results["benchmarks"]`` (plus ``"average"``); one run gives three bars
    per benchmark, several runs give run × group bars (runs told apart by hatching).
    """
    import numpy as np

    names = list(dict.fromkeys(b for run in series.values() for b in run))
    names = [n for n in names if n != "average"] + (["average"] if "average" in names else [])
    groups = ("clean", "seen", "unseen")
    bars = [(run, group) for run in series for group in groups]
    figure = _figure(max(6.0, 0.35 * len(names) * len(bars) + 2.0), 4.2)
    axes = figure.add_subplot()
    colours = {"clean": "#4c72b0", "seen": "#dd8452", "unseen": "#c44e52"}
    width = 0.8 / len(bars)
    positions = np.arange(len(names))
    hatches = ["", "//", "..", "xx", "\\\\", "++"]
    for i, (run, group) in enumerate(bars):
        values = [series[run].get(name, {}).get(group) for name in names]
        heights = [np.nan if v is None else v for v in values]
        label = group if len(series) == 1 else f"{run}: {group}"
        container = axes.bar(
            positions - 0.4 + width * (i + 0.5),
            heights,
            width,
            label=label,
            color=colours[group],
            hatch=hatches[list(series).index(run) % len(hatches)],
            edgecolor="white",
            linewidth=0.5,
        )
        if len(bars) <= 6:  # numbers on the bars while they still fit
            axes.bar_label(
                container, labels=["" if v is None else f"{v:.1f}" for v in values], fontsize=6, padding=1
            )
    axes.set_xticks(positions, names, rotation=20, ha="right")
    axes.set_ylabel("accuracy (%)")
    axes.set_ylim(0, 105)
    axes.set_title(title)
    axes.grid(axis="y", alpha=0.3)
    axes.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return path


# ------------------------------------------------------------------------------------------------ the files
def _write_csv(path: Path, header: Sequence[str], rows: Iterable[dict[str, Any]]) -> None:
    with open(path, "w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(header))
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {
                    k: (
                        ""
                        if row.get(k) is None
                        else round(row[k], 4)
                        if isinstance(row.get(k), float)
                        else row[k]
                    )
                    for k in header
                }
            )


def write_reports(out: str | Path, *, plots: bool = True) -> dict[str, Any]:
    """Write the reports of the sweep in ``out`` from its ``records.jsonl``; return the results dict."""
    out = Path(out)
    records_path = out / "records.jsonl"
    if not records_path.is_file():
        raise EvaluationError(f"{out} holds no records.jsonl: is it the --out folder of a `roma eval` run?")
    records = read_records(records_path)
    run_path = out / "run.json"
    run = json.loads(run_path.read_text()) if run_path.is_file() else {}
    results = round_floats({"run": run, **summarize(records)})
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    _write_csv(out / "summary.csv", SUMMARY_COLUMNS, _summary_rows(results))
    condition_rows = [
        {"benchmark": name, "condition": condition, **{k: v for k, v in cell.items()}}
        for name, entry in results["benchmarks"].items()
        for condition, cell in entry["conditions"].items()
    ]
    _write_csv(
        out / "conditions.csv",
        ("benchmark", "condition", "group", "corruption", "severity", "accuracy", "n"),
        condition_rows,
    )
    written_plots: list[Path] = []
    if plots and results["benchmarks"]:
        for name, entry in results["benchmarks"].items():
            if entry["corruptions"]:
                written_plots.append(
                    plot_severity_curves(name, entry, out / "plots" / f"severity_{name}.png")
                )
        bars = {**results["benchmarks"], "average": results["average"]}
        written_plots.append(plot_group_bars({"run": bars}, out / "plots" / "clean_seen_unseen.png"))
    (out / "summary.md").write_text(_summary_markdown(results, run, written_plots, out))
    return results


def load_results(run_dir: str | Path) -> dict[str, Any]:
    """A run's results: recomputed from its records when they are there (always current), else results.json."""
    run_dir = Path(run_dir)
    if (run_dir / "records.jsonl").is_file():
        run_path = run_dir / "run.json"
        run = json.loads(run_path.read_text()) if run_path.is_file() else {}
        return {"run": run, **summarize(read_records(run_dir / "records.jsonl"))}
    if (run_dir / "results.json").is_file():
        return json.loads((run_dir / "results.json").read_text())
    raise EvaluationError(
        f"{run_dir}: neither records.jsonl nor results.json found (not a `roma eval` --out folder)"
    )
