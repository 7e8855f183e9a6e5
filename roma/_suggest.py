"""Names a user got wrong, each with the closest known name: the message of an unknown option or key."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["with_suggestions"]


def with_suggestions(names: Iterable[object], known: Iterable[str]) -> str:
    """``'roma_num_veiws' (did you mean 'roma_num_views'?), 'x'``: each name quoted, with the closest of
    ``known`` where one is close (`difflib`)."""
    known = list(known)
    parts = []
    for name in names:
        close = difflib.get_close_matches(str(name), known, n=1)
        parts.append(f"{str(name)!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return ", ".join(parts)
