"""The one parser of comma lists (``--benchmarks mathvista,wemath``, ``roma_corruptions: seen,motion_blur``).

A command-line flag, a YAML scalar and a YAML list all reach a config as a string or a sequence of strings, each
possibly a comma list; `comma_list` flattens them to the names, stripped, empty items dropped.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["comma_list"]


def comma_list(value: str | Iterable[object] | None) -> list[str]:
    """``"a, b,,c"`` -> ``["a", "b", "c"]``; a sequence's items are split too (``["seen,blur", 3]`` ->
    ``["seen", "blur", "3"]``); None -> ``[]``. Order and repeats are kept."""
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    return [part.strip() for item in items for part in str(item).split(",") if part.strip()]
