"""The sweep's PNG plots: accuracy against severity per corruption group, and clean / seen / unseen bars per
benchmark (one run or several, `roma compare`), both with their 95 % intervals.

matplotlib is imported only when a figure is drawn (`_figure`), so importing this module stays light.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from roma.degrade.registry import SEEN, UNSEEN
from roma.evaluation.conditions import CLEAN

__all__ = [
    "CORRUPTED_GROUPS",
    "LINE_COLOURS",
    "LINE_MARKERS",
    "line_styles",
    "plot_group_bars",
    "plot_severity_curves",
]

# The groups a corrupted condition belongs to, in the order panels and tables show them.
CORRUPTED_GROUPS = (SEEN, UNSEEN, "other")


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

    present = {c["group"] for c in entry["corruptions"].values()}
    # A group roma does not know (records written by a newer version, or by hand) gets a panel of its own.
    groups = [g for g in CORRUPTED_GROUPS if g in present] + sorted(present - set(CORRUPTED_GROUPS), key=str)
    figure = _figure(5.2 * len(groups) + 1.0, 5.0)
    axes_list = figure.subplots(1, len(groups), sharey=True, squeeze=False)[0]
    clean = entry.get("clean")
    for axes, group in zip(axes_list, groups):
        corruptions = sorted((name, c) for name, c in entry["corruptions"].items() if c["group"] == group)
        severities_used: set[float] = set()
        for (corruption, c), (colour, marker) in zip(corruptions, line_styles(len(corruptions))):
            xs = [float(s) for s in c["severities"]]
            ys = list(c["severities"].values())
            intervals = [c.get("ci95", {}).get(s) for s in c["severities"]]
            severities_used.update(xs)
            if clean is not None:
                xs, ys, intervals = [0.0, *xs], [clean, *ys], [entry.get("clean_ci95"), *intervals]
            # 95 % intervals as error bars (none where a figure has no interval, e.g. older results.json).
            errors = [
                [y - i[0] if i else 0.0 for y, i in zip(ys, intervals)],
                [i[1] - y if i else 0.0 for y, i in zip(ys, intervals)],
            ]
            axes.errorbar(
                xs,
                ys,
                yerr=errors,
                marker=marker,
                markersize=4,
                capsize=2,
                elinewidth=0.8,
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
    groups = (CLEAN, SEEN, UNSEEN)
    bars = [(run, group) for run in series for group in groups]
    figure = _figure(max(6.0, 0.35 * len(names) * len(bars) + 2.0), 4.2)
    axes = figure.add_subplot()
    colours = {CLEAN: "#4c72b0", SEEN: "#dd8452", UNSEEN: "#c44e52"}
    width = 0.8 / len(bars)
    positions = np.arange(len(names))
    hatches = ["", "//", "..", "xx", "\\\\", "++"]
    for i, (run, group) in enumerate(bars):
        values = [series[run].get(name, {}).get(group) for name in names]
        heights = [np.nan if v is None else v for v in values]
        intervals = [series[run].get(name, {}).get(f"{group}_ci95") for name in names]
        errors = [
            [h - i[0] if i and v is not None else 0.0 for h, i, v in zip(heights, intervals, values)],
            [i[1] - h if i and v is not None else 0.0 for h, i, v in zip(heights, intervals, values)],
        ]
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
            yerr=errors,  # 95 % intervals
            error_kw={"elinewidth": 0.8, "capsize": 2, "ecolor": "0.2"},
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
