"""How roma writes numbers and tables for people: accuracies in points (``51.2``, ``+3.4``, ``−2.0``), with
intervals (``58.1 [56.3, 59.9]``), ratios, GitHub markdown tables, and results rounded for ``results.json``.

The one formatting module of the evaluation: the sweep's reports, ``roma compare``, ``roma probe``, ``roma train``
and the study's report all use it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "RESULT_DIGITS",
    "format_points",
    "format_points_interval",
    "format_ratio",
    "markdown_table",
    "round_floats",
]

RESULT_DIGITS = 6  # decimals kept in results.json (accuracies are in percent)


def format_points(value: float | None, *, signed: bool = False, digits: int = 1) -> str:
    """``51.2``, ``+3.4`` / ``−2.0`` (signed), ``–`` for a missing figure."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if round(value, digits) == 0:
        value = 0.0  # no "−0.0"
    text = f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"
    return text.replace("-", "−")


def format_points_interval(
    value: float | None, interval: Sequence[float] | None, *, signed: bool = False, negate: bool = False
) -> str:
    """``58.1 [56.3, 59.9]`` (percent points; ``negate`` flips a drop into a change, interval included)."""
    if value is None:
        return format_points(None)
    if negate:
        value = -value
        interval = None if interval is None else (-interval[1], -interval[0])
    text = format_points(value, signed=signed)
    if interval is None:
        return text
    return (
        f"{text} [{format_points(interval[0], signed=signed)}, {format_points(interval[1], signed=signed)}]"
    )


def format_ratio(value: float | None) -> str:
    """A robustness ratio (group / clean accuracy) with three decimals, ``–`` when missing."""
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
