"""The sweep's JSONL record file: one line per (benchmark, condition, sample), safe to kill and resume.

Each batch is appended in a single write, then flushed and fsynced, so after a crash the file holds whole
batches plus at most one line cut short. Opening the file again drops that partial line (it is recomputed),
so a resumed sweep ends with exactly the records of an uninterrupted one: none lost, none twice.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from roma.evaluation.errors import EvaluationError

__all__ = ["RecordStore", "read_records", "record_key"]

logger = logging.getLogger(__name__)

RecordKey = tuple[str, str, str]


def record_key(record: dict[str, Any]) -> RecordKey:
    """(benchmark, condition, sample id): what makes a record unique."""
    return (record["benchmark"], record["condition"], record["sample_id"])


def _parse_lines(path: Path, data: bytes) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(data.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            record_key(record)
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as error:
            raise EvaluationError(
                f"{path}: line {number} is not a sweep record ({type(error).__name__}: {error}); the file was edited "
                "or written by something else: fix or delete that line, or rerun with --overwrite"
            ) from None
        yield record


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """Every complete record of a JSONL file (a trailing partial line is ignored), first occurrence per key."""
    path = Path(path)
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        data = data[: data.rfind(b"\n") + 1]
    unique: dict[RecordKey, dict[str, Any]] = {}
    for record in _parse_lines(path, data):
        unique.setdefault(record_key(record), record)
    return list(unique.values())


class RecordStore:
    """Append-only JSONL store keyed by (benchmark, condition, sample id).

    Args:
        path: the JSONL file; created if absent.
        overwrite: start from an empty file instead of resuming.
    """

    def __init__(self, path: str | Path, *, overwrite: bool = False):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if overwrite and self.path.exists():
            self.path.unlink()
        self._records: dict[RecordKey, dict[str, Any]] = {}
        if self.path.exists():
            self._recover()

    def _recover(self) -> None:
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            # A batch write cut short by a kill: drop the partial line; its sample is evaluated again.
            keep = data.rfind(b"\n") + 1
            logger.warning(
                "%s: dropping a partial last line (%d bytes) left by an interrupted run",
                self.path,
                len(data) - keep,
            )
            with open(self.path, "r+b") as stream:
                stream.truncate(keep)
                stream.flush()
                os.fsync(stream.fileno())
            data = data[:keep]
        for record in _parse_lines(self.path, data):
            self._records.setdefault(record_key(record), record)

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, key: object) -> bool:
        return key in self._records

    def records(self) -> list[dict[str, Any]]:
        """All records, in file order."""
        return list(self._records.values())

    def append(self, records: Iterable[dict[str, Any]]) -> int:
        """Append the records whose key is new, in one write + flush + fsync; return how many were written."""
        new = []
        for record in records:
            key = record_key(record)
            if key not in self._records:
                self._records[key] = record
                new.append(record)
        if new:
            payload = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in new).encode()
            with open(self.path, "ab") as stream:
                stream.write(payload)
                stream.flush()
                os.fsync(stream.fileno())
        return len(new)
