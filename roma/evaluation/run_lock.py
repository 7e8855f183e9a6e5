"""One sweep at a time per ``--out`` folder: an exclusive lock on ``--out/eval.lock`` for the sweep's duration.

Two ``roma eval`` commands writing the same folder would each generate every pending batch and append it
(each only checks the records present when it started), doubling the work and the file. The second one is
refused instead, with the process holding the lock named. The lock is an OS advisory lock (``flock``) on an
open file, so the operating system drops it when its process ends in any way, SIGKILL included: a rerun after
a crash is never blocked by a lock left behind. In a data-parallel launch rank 0 holds it for the whole launch.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from roma.evaluation.errors import EvaluationError

__all__ = ["LOCK_FILE", "RunLockedError", "run_lock"]

LOCK_FILE = "eval.lock"


class RunLockedError(EvaluationError):
    """Another process is running a sweep into the same ``--out`` folder."""


@contextlib.contextmanager
def run_lock(out: str | Path) -> Iterator[None]:
    """Hold the lock of ``out`` (created if absent) inside the ``with`` block; raise `RunLockedError` if another
    process holds it. Where ``fcntl`` is missing (Windows) nothing is locked."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / LOCK_FILE
    with open(path, "a+") as stream:
        try:
            fcntl.flock(stream.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            stream.seek(0)
            holder = stream.read().strip() or "unknown"
            raise RunLockedError(
                f"another roma eval is writing {out} (lock {path} held by {holder}); wait for it to finish, "
                "or choose another --out"
            ) from None
        try:
            stream.seek(0)
            stream.truncate()
            holder = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "since": time.strftime("%Y-%m-%dT%H:%M:%S"),
            }
            stream.write(json.dumps(holder) + "\n")
            stream.flush()
            yield
        finally:
            fcntl.flock(stream.fileno(), fcntl.LOCK_UN)
