"""Reports of a sweep: ``results.json``, ``summary.csv``, ``conditions.csv``, ``summary.md`` and PNG plots
(drawn by `roma.evaluation.plots`; numbers written by `roma.evaluation.formatting`).

Everything is computed from ``records.jsonl`` alone (plus ``run.json`` for the header), so a report can be
rebuilt at any time, also from a sweep still running. Accuracies are in percent. For each benchmark:

- per condition: accuracy, sample count and ``ci95`` (95 % interval: Wilson for 0/1 outcomes, else a bootstrap
  over samples);
- ``seen`` / ``unseen``: the mean over that group's corruption × severity conditions, with ``seen_ci95`` /
  ``unseen_ci95`` (bootstrap over samples, each resampled sample carrying all its conditions);
- ``drop``: clean minus the group mean, in points, with a *paired* ``seen_drop_ci95`` (the same samples clean
  and corrupted); ``relative``: group mean / clean (robustness ratio);
- per corruption: accuracy at each severity and the mean over severities;
- ``worst_case`` (benchmarks with variant groups, i.e. DynaMath): per seed question the lowest accuracy over
  its variants (with greedy decoding: 100 only if every variant is right), averaged over seed questions;
- ``official``: the benchmark's own metric under every condition (`roma.evaluation.official_metrics`:
  accuracy per task / skill / problem version..., We-Math's four dimensions), with its clean / seen / unseen
  means;
- ``skipped``: the rows that could not be evaluated (``skipped.json``, written by the sweep), with reasons.

``average`` is the mean over benchmarks of each figure.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from roma._paths import safe_path_component
from roma._state_files import read_json_file, write_json_atomic
from roma.evaluation.conditions import CLEAN
from roma.evaluation.errors import EvaluationError
from roma.evaluation.formatting import (
    RESULT_DIGITS,
    format_points,
    format_points_interval,
    format_ratio,
    markdown_table,
    round_floats,
)
from roma.evaluation.official_metrics import official_figures
from roma.evaluation.plots import (
    CORRUPTED_GROUPS,
    LINE_COLOURS,
    LINE_MARKERS,
    line_styles,
    plot_group_bars,
    plot_severity_curves,
)
from roma.evaluation.records import SweepRecord, read_records
from roma.evaluation.stats import bootstrap_interval, wilson_interval

__all__ = [
    "GROUPS",
    "RESULTS_FILE",
    "SKIPPED_FILE",
    "condition_interval",
    "load_results",
    "load_run",
    "mean_of_conditions",
    "outcome_table",
    "summarize",
    "write_reports",
    "write_skipped_rows",
    # Moved to roma.evaluation.formatting and roma.evaluation.plots; importable from here for one release.
    "LINE_COLOURS",
    "LINE_MARKERS",
    "RESULT_DIGITS",
    "format_points",
    "format_points_interval",
    "format_ratio",
    "line_styles",
    "markdown_table",
    "plot_group_bars",
    "plot_severity_curves",
    "round_floats",
]

GROUPS = (CLEAN, *CORRUPTED_GROUPS)
# The rows each benchmark could not evaluate, as the sweep found them: {benchmark: [SkippedRow.to_json()]}.
SKIPPED_FILE = "skipped.json"
# Written last by `write_reports`: a folder that holds it holds every record and report.
RESULTS_FILE = "results.json"


def _mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def _summary_figures(by_group: dict[str, float | None]) -> dict[str, Any]:
    """clean / seen / unseen (+ other when present) with drops in points and relative robustness."""
    clean = by_group.get("clean")
    figures: dict[str, Any] = {"clean": clean}
    for group in CORRUPTED_GROUPS:
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


def outcome_table(
    by_condition: dict[str, Sequence[SweepRecord]], conditions: Sequence[str], sample_ids: Sequence[str]
) -> np.ndarray:
    """Samples × conditions table of outcomes (``correct``), NaN where a sample was not scored under a condition
    (``--condition_sample`` cuts, a sweep still running)."""
    row = {sample_id: index for index, sample_id in enumerate(sample_ids)}
    table = np.full((len(sample_ids), len(conditions)), np.nan)
    for column, name in enumerate(conditions):
        for record in by_condition.get(name, ()):
            if record.sample_id in row:
                table[row[record.sample_id], column] = record.correct
    return table


def mean_of_conditions(table: np.ndarray) -> float:
    """The group figure: the mean over conditions (columns) of each condition's accuracy (NaN cells skipped)."""
    return float(np.nanmean(np.nanmean(table, axis=0)))


def _points(interval: tuple[float, float, float]) -> list[float] | None:
    """A bootstrap (value, low, high) in fractions as ``[low, high]`` in percent (None when undefined)."""
    _, low, high = interval
    return None if math.isnan(low) or math.isnan(high) else [100.0 * low, 100.0 * high]


def condition_interval(records: Sequence[SweepRecord]) -> list[float] | None:
    """95 % interval of one condition's accuracy, in percent: Wilson for 0/1 outcomes (greedy, k = 1), else a
    bootstrap over samples of the avg@k values."""
    values = [record.correct for record in records]
    if all(value in (0, 1) for value in values):
        low, high = wilson_interval(int(sum(values)), len(values))
        return None if math.isnan(low) else [100.0 * low, 100.0 * high]
    return _points(bootstrap_interval(np.array(values)))


def group_intervals(
    by_condition: dict[str, Sequence[SweepRecord]], groups: dict[str, list[str]]
) -> dict[str, list[float] | None]:
    """``<group>_ci95`` for every group with conditions, and ``<group>_drop_ci95`` (clean − group, paired over
    samples) for the corrupted groups; percent."""
    sample_ids = sorted({record.sample_id for rows in by_condition.values() for record in rows})
    intervals: dict[str, list[float] | None] = {}
    for group, names in groups.items():
        if not names:
            continue
        if len(names) == 1:  # the group is one condition: the same interval as that condition's
            intervals[f"{group}_ci95"] = condition_interval(by_condition[names[0]])
        else:
            table = outcome_table(by_condition, names, sample_ids)
            intervals[f"{group}_ci95"] = _points(bootstrap_interval(table, mean_of_conditions))
        if group != CLEAN and groups.get(CLEAN):
            paired = outcome_table(by_condition, [*groups[CLEAN], *names], sample_ids)
            clean_columns = len(groups[CLEAN])

            def drop(t: np.ndarray, k: int = clean_columns) -> float:
                return mean_of_conditions(t[:, :k]) - mean_of_conditions(t[:, k:])

            intervals[f"{group}_drop_ci95"] = _points(bootstrap_interval(paired, drop))
    return intervals


def _official_summary(official: dict[str, Any]) -> dict[str, Any]:
    """Per official figure: clean / seen / unseen means with drops, plus the figures of every condition."""
    names = list(dict.fromkeys(name for cell in official.values() for name in cell["figures"]))
    figures = {}
    for name in names:
        by_group = {
            g: _mean(
                cell["figures"][name]["accuracy"]
                for cell in official.values()
                if cell["group"] == g
                and name in cell["figures"]
                and cell["figures"][name]["accuracy"] is not None
            )
            for g in GROUPS
        }
        figures[name] = _summary_figures(by_group)
    return {
        "figures": figures,
        "conditions": {condition: cell["figures"] for condition, cell in official.items()},
    }


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
        official: dict[str, Any] = {}
        for name, rows in sorted(by_condition.items(), key=lambda item: (item[0] != CLEAN, item[0])):
            first = rows[0]
            accuracy = 100.0 * _mean(r.correct for r in rows)
            conditions[name] = {
                "accuracy": accuracy,
                "ci95": condition_interval(rows),
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
                entry.setdefault("ci95", {})[f"{first.severity:g}"] = conditions[name]["ci95"]
            figures = official_figures(rows)
            if figures:
                official[name] = {"group": conditions[name]["group"], "figures": figures}
            worst_case = _worst_case(rows)
            if worst_case is not None:
                worst[name] = {
                    "accuracy": worst_case[0],
                    "groups": worst_case[1],
                    "group": conditions[name]["group"],
                }
        for entry in corruptions.values():
            entry["severities"] = dict(sorted(entry["severities"].items(), key=lambda item: float(item[0])))
            entry["ci95"] = {severity: entry["ci95"][severity] for severity in entry["severities"]}
            entry["mean"] = _mean(entry["severities"].values())

        def group_means(table: dict[str, Any]) -> dict[str, float | None]:
            return {g: _mean(c["accuracy"] for c in table.values() if c["group"] == g) for g in GROUPS}

        summary = _summary_figures(group_means(conditions))
        members = {g: [name for name, c in conditions.items() if c["group"] == g] for g in GROUPS}
        benchmarks[benchmark] = {
            **summary,
            **group_intervals(by_condition, members),
            "n": conditions.get(CLEAN, {}).get("n") or max(c["n"] for c in conditions.values()),
            "conditions": conditions,
            "corruptions": corruptions,
        }
        if official:
            benchmarks[benchmark]["official"] = _official_summary(official)
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
# 95 % intervals, in percent: "<figure>_ci95" in results.json, two CSV columns each.
INTERVAL_FIGURES = ("clean", "seen", "unseen", "seen_drop", "unseen_drop")


def _summary_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name, entry in results["benchmarks"].items():
        rows.append(
            {
                "benchmark": name,
                **{k: entry.get(k) for k in SUMMARY_COLUMNS[1:]},
                **{f"{k}_ci95": entry.get(f"{k}_ci95") for k in INTERVAL_FIGURES},
            }
        )
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
        "Accuracy in %, with 95 % intervals in brackets (bootstrap over samples; the changes are paired: the same "
        "samples clean and corrupted). *seen* / *unseen*: mean over that group's corruption × severity "
        "conditions; *− clean*: the change from clean in points (negative: accuracy lost); *rel.*: mean / clean "
        "(relative robustness)."
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
            format_points_interval(row["clean"], row.get("clean_ci95")),
            format_points_interval(row["seen"], row.get("seen_ci95")),
            format_points_interval(row["unseen"], row.get("unseen_ci95")),
            format_points_interval(row["seen_drop"], row.get("seen_drop_ci95"), signed=True, negate=True),
            format_points_interval(row["unseen_drop"], row.get("unseen_drop_ci95"), signed=True, negate=True),
            format_ratio(row["seen_relative"]),
            format_ratio(row["unseen_relative"]),
        ]
        for row in _summary_rows(results)
    ]
    parts.append(markdown_table(header, rows))
    for name, entry in results["benchmarks"].items():
        if entry["corruptions"]:
            parts += _corruption_markdown(name, entry)
    for name, entry in results["benchmarks"].items():
        if "official" in entry:
            parts.append(f"## {name}: official metric (mean over each group's conditions)")
            parts.append(_official_markdown(entry["official"]))
    if results.get("skipped"):
        parts.append(_skipped_markdown(results["skipped"]))
    if plots:
        parts.append("## Plots")
        parts += [f"![{plot.stem}]({plot.relative_to(out).as_posix()})" for plot in plots]
    return "\n\n".join(parts) + "\n"


def _corruption_markdown(name: str, entry: dict[str, Any]) -> list[str]:
    """One benchmark's table of accuracy per corruption and severity (and its worst case over variants)."""
    parts = []
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
    return parts


def _official_markdown(official: dict[str, Any]) -> str:
    clean = official["conditions"].get(CLEAN, {})
    rows = [
        [
            name,
            "" if name not in clean else str(clean[name]["n"]),
            format_points(figure.get("clean")),
            format_points(figure.get("seen")),
            format_points(figure.get("unseen")),
            format_points(None if figure.get("seen_drop") is None else -figure["seen_drop"], signed=True),
            format_points(None if figure.get("unseen_drop") is None else -figure["unseen_drop"], signed=True),
        ]
        for name, figure in official["figures"].items()
    ]
    return markdown_table(
        ["figure", "n (clean)", "clean", "seen", "unseen", "seen − clean", "unseen − clean"], rows
    )


_SKIPPED_ROWS_SHOWN = 20


def _skipped_markdown(skipped: dict[str, Any]) -> str:
    total = sum(entry["count"] for entry in skipped.values())
    lines = [
        f"## Rows not scored ({total})",
        "",
        "Rows that could not be evaluated as published; every other row was scored. All of them, with the "
        f"file each came from, are in results.json and {SKIPPED_FILE}.",
        "",
    ]
    for name, entry in skipped.items():
        lines.append(f"- **{name}**: {entry['count']} row(s)")
        for row in entry["rows"][:_SKIPPED_ROWS_SHOWN]:
            lines.append(f"  - `{row['sample_id']}`: {row['reason']}")
        if entry["count"] > _SKIPPED_ROWS_SHOWN:
            lines.append(f"  - ... and {entry['count'] - _SKIPPED_ROWS_SHOWN} more")
    return "\n".join(lines)


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


def write_skipped_rows(out: str | Path, skipped: dict[str, list[dict[str, Any]]]) -> None:
    """Write the rows each benchmark skipped (``{benchmark: [row, ...]}``) to ``out/skipped.json``."""
    write_json_atomic(Path(out) / SKIPPED_FILE, skipped)


def _read_skipped_rows(out: Path) -> dict[str, Any]:
    """``{benchmark: {"count", "rows"}}`` from ``skipped.json``; empty when the sweep skipped nothing."""
    path = out / SKIPPED_FILE
    if not path.is_file():
        return {}
    skipped = read_json_file(path, error=EvaluationError, remedy="delete it and rerun the sweep (it resumes)")
    return {name: {"count": len(rows), "rows": rows} for name, rows in sorted(skipped.items()) if rows}


def _read_run_file(out: Path) -> dict[str, Any]:
    """The settings in ``out/run.json`` ({} for records written without one)."""
    path = out / "run.json"
    if not path.is_file():
        return {}
    return read_json_file(
        path, error=EvaluationError, remedy="rerun the sweep with --overwrite to rebuild it"
    )


def write_reports(out: str | Path, *, plots: bool = True) -> dict[str, Any]:
    """Write the reports of the sweep in ``out`` from its ``records.jsonl``; return the results dict.

    ``results.json`` is written last: a folder holding it holds every report (a study reuses an evaluation by it, so
    one stopped while plotting is scored again rather than kept without its plots and summary)."""
    out = Path(out)
    records_path = out / "records.jsonl"
    if not records_path.is_file():
        raise EvaluationError(f"{out} holds no records.jsonl: is it the --out folder of a `roma eval` run?")
    records = read_records(records_path)
    run = _read_run_file(out)
    results = round_floats({"run": run, **summarize(records), "skipped": _read_skipped_rows(out)})
    summary_rows = [
        {
            **row,
            **{
                f"{k}_ci95_{end}": (row.get(f"{k}_ci95") or [None, None])[i]
                for k in INTERVAL_FIGURES
                for i, end in enumerate(("low", "high"))
            },
        }
        for row in _summary_rows(results)
    ]
    interval_columns = [f"{k}_ci95_{end}" for k in INTERVAL_FIGURES for end in ("low", "high")]
    _write_csv(out / "summary.csv", (*SUMMARY_COLUMNS, *interval_columns), summary_rows)
    condition_rows = [
        {
            "benchmark": name,
            "condition": condition,
            **cell,
            "ci95_low": (cell.get("ci95") or [None, None])[0],
            "ci95_high": (cell.get("ci95") or [None, None])[1],
        }
        for name, entry in results["benchmarks"].items()
        for condition, cell in entry["conditions"].items()
    ]
    _write_csv(
        out / "conditions.csv",
        (
            "benchmark",
            "condition",
            "group",
            "corruption",
            "severity",
            "accuracy",
            "ci95_low",
            "ci95_high",
            "n",
        ),
        condition_rows,
    )
    written_plots: list[Path] = []
    if plots and results["benchmarks"]:
        for name, entry in results["benchmarks"].items():
            if entry["corruptions"]:
                written_plots.append(
                    # The name comes from records.jsonl: never a path of its own (../ would leave --out).
                    plot_severity_curves(
                        name, entry, out / "plots" / f"severity_{safe_path_component(name)}.png"
                    )
                )
        bars = {**results["benchmarks"], "average": results["average"]}
        written_plots.append(plot_group_bars({"run": bars}, out / "plots" / "clean_seen_unseen.png"))
    (out / "summary.md").write_text(_summary_markdown(results, run, written_plots, out))
    write_json_atomic(out / RESULTS_FILE, results)
    return results


def load_run(run_dir: str | Path) -> tuple[dict[str, Any], list[SweepRecord] | None]:
    """A run's results and its records: the results recomputed from the records when they are there (always
    current), else read from results.json (then without records)."""
    run_dir = Path(run_dir)
    if (run_dir / "records.jsonl").is_file():
        run = _read_run_file(run_dir)
        records = read_records(run_dir / "records.jsonl")
        return {"run": run, **summarize(records), "skipped": _read_skipped_rows(run_dir)}, records
    if (run_dir / RESULTS_FILE).is_file():
        results = read_json_file(
            run_dir / RESULTS_FILE, error=EvaluationError, remedy="rerun `roma eval` with the same options"
        )
        return results, None
    raise EvaluationError(
        f"{run_dir}: neither records.jsonl nor results.json found (not a `roma eval` --out folder)"
    )


def load_results(run_dir: str | Path) -> dict[str, Any]:
    """A run's results (see `load_run`)."""
    return load_run(run_dir)[0]
