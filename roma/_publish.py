"""Publishing a folder built under a temporary name, so that concurrent builders of one cache entry never race.

Every cache of built folders (tiny models, warm starts) writes into a private temporary folder and renames it
into place: a reader sees no folder or a whole one, and a builder that loses the race keeps the winner's result
instead of deleting it under a reader.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

__all__ = ["move_into_place"]


def move_into_place(
    temp_dir: Path, final_dir: Path, is_complete: Callable[[Path], bool], *, replace: bool = False
) -> None:
    """Rename the finished ``temp_dir`` to ``final_dir`` (atomic on one file system).

    A complete ``final_dir`` (another process finished the same entry first) is kept unless ``replace``; an
    incomplete one (left by hand or by an older, non-atomic build) is replaced. ``temp_dir`` is left in place
    when it is not used: the caller deletes it.
    """
    if final_dir.exists():
        if is_complete(final_dir) and not replace:
            return
        shutil.rmtree(final_dir)
    try:
        temp_dir.rename(final_dir)
    except OSError:
        # Another process finished the same entry between the check and the rename: keep its result.
        if not is_complete(final_dir):
            raise
