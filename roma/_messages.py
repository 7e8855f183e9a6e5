"""Pieces of error messages: names a user got wrong with the closest known one, values shown at a bounded length."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["shown", "with_suggestions"]

MAX_SHOWN_CHARS = 80


def shown(value: object, limit: int = MAX_SHOWN_CHARS) -> str:
    """``repr(value)``, cut to ``limit`` characters with ``...`` (an error echoes what it refuses, not a page of it)."""
    try:
        text = repr(value)
    except ValueError:  # an int past Python's digit limit for str()
        text = f"<{type(value).__name__} too long to show>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def with_suggestions(names: Iterable[object], known: Iterable[str]) -> str:
    """``'roma_num_veiws' (did you mean 'roma_num_views'?), 'x'``: each name quoted, with the closest of
    ``known`` where one is close (`difflib`)."""
    known = list(known)
    parts = []
    for name in names:
        close = difflib.get_close_matches(str(name), known, n=1)
        parts.append(f"{str(name)!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return ", ".join(parts)
