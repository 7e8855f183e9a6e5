"""State files (a run's ``run.json``, its ``plan.json`` / ``skipped.json`` / ``results.json``, a training run's
summary): written atomically, read with an error that names the file and what to do.

A file rewritten in place is empty or cut short when the process is killed (or the disk fills) during the write,
and a reader that takes an empty file for "no previous settings" then accepts a resume it should refuse. So a
state file is written to a temporary file in the same folder, flushed to disk (``fsync``) and renamed over the
old one (``os.replace``, atomic on one file system): a reader sees the old content or the new, never half of it.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["read_json_file", "write_json_atomic", "write_text_atomic"]


def write_text_atomic(path: str | Path, text: str) -> None:
    """Replace ``path`` by ``text`` in one step: temporary file in the same folder, fsync, ``os.replace``."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file private (0600): keep the mode of the file replaced, else a plain file's.
        os.chmod(temporary, stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def write_json_atomic(path: str | Path, payload: Any) -> None:
    """``payload`` as indented JSON (`write_text_atomic`)."""
    write_text_atomic(path, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")


def read_json_file(path: str | Path, *, error: type[Exception], remedy: str) -> Any:
    """The JSON content of the state file ``path``; ``error`` naming the file and ``remedy`` when it is empty,
    unreadable or not JSON (never an empty default: that would mean "no previous settings")."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as problem:
        raise error(f"{path} cannot be read ({type(problem).__name__}: {problem}); {remedy}") from None
    if not text.strip():
        raise error(f"{path} is empty (a write cut short by a crash or a full disk?); {remedy}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as problem:
        raise error(f"{path} is not valid JSON ({problem}); {remedy}") from None


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened (Windows)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
