"""The sweep's JSONL record file: one line per (benchmark, condition, sample), safe to kill and resume.

Each batch is appended in a single write, then flushed and fsynced, so after a crash the file holds whole
batches plus at most one line cut short. Opening the file again drops that partial line (it is recomputed),
so a resumed sweep ends with exactly the records of an uninterrupted one: none lost, none twice.

A line is one `SweepRecord`: the sweep writes them, the reports read them. Lines written by older versions
(without ``group``, ``corruption``, ``severity`` or the per-response lists) still read: every field but the key
and ``correct`` has a default.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roma.evaluation.errors import EvaluationError

__all__ = ["RecordKey", "RecordStore", "SweepRecord", "read_records"]

logger = logging.getLogger(__name__)

RecordKey = tuple[str, str, str]


@dataclass(kw_only=True)
class SweepRecord:
    """One graded (benchmark, condition, sample): a line of ``records.jsonl``; fields in the line's key order."""

    benchmark: str
    sample_id: str
    condition: str
    # clean / seen / unseen / other; None in records written before the field existed.
    group: str | None = None
    corruption: str | None = None
    severity: float | None = None
    prompt_hash: str | None = None
    responses: list[str] = field(default_factory=list)
    extracted: list[str | None] = field(default_factory=list)  # the answer graded in each response
    gold: Any = None
    answer_type: str | None = None
    correct: float  # fraction of the responses graded correct (avg@k)
    num_correct: int | None = None
    reasons: list[str] = field(default_factory=list)  # the grader's reason per response
    group_id: str | None = None  # variant group (DynaMath's seed question), for the worst case
    # The row's categories the official metric breaks accuracy down by (roma.evaluation.official_metrics).
    tags: dict[str, Any] | None = None

    @property
    def key(self) -> RecordKey:
        """(benchmark, condition, sample id): what makes a record unique."""
        return (self.benchmark, self.condition, self.sample_id)

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the line (``group_id`` and ``tags`` only when the benchmark has them)."""
        data = dataclasses.asdict(self)
        for name in ("group_id", "tags"):
            if data[name] is None:
                del data[name]
        return data

    @classmethod
    def from_json(cls, data: Any) -> SweepRecord:
        """A record from a parsed line; keys this version does not know are ignored (newer writers)."""
        if not isinstance(data, dict):
            raise TypeError(f"expected a JSON object, got {type(data).__name__}")
        missing = [name for name in ("benchmark", "sample_id", "condition", "correct") if name not in data]
        if missing:
            raise KeyError(f"missing {', '.join(missing)}")
        for name in ("benchmark", "sample_id", "condition"):
            if not isinstance(data[name], str):
                raise TypeError(f"{name} must be a string, got {data[name]!r}")
        correct = data["correct"]
        if isinstance(correct, bool) or not isinstance(correct, int | float) or not 0 <= correct <= 1:
            raise ValueError(f"correct must be a number in [0, 1], got {correct!r}")
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{name: value for name, value in data.items() if name in known})


def _parse_lines(path: Path, data: bytes) -> Iterator[SweepRecord]:
    for number, line in enumerate(data.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            record = SweepRecord.from_json(json.loads(line))
        except (ValueError, KeyError, TypeError) as error:  # JSONDecodeError, UnicodeDecodeError: ValueErrors
            raise EvaluationError(
                f"{path}: line {number} is not a sweep record ({type(error).__name__}: {error}); the file was edited "
                "or written by something else: fix or delete that line, or rerun with --overwrite"
            ) from None
        yield record


def read_records(path: str | Path) -> list[SweepRecord]:
    """Every complete record of a JSONL file (a trailing partial line is ignored), first occurrence per key."""
    path = Path(path)
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        data = data[: data.rfind(b"\n") + 1]
    unique: dict[RecordKey, SweepRecord] = {}
    for record in _parse_lines(path, data):
        unique.setdefault(record.key, record)
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
        self._records: dict[RecordKey, SweepRecord] = {}
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
            self._records.setdefault(record.key, record)

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, key: object) -> bool:
        return key in self._records

    def records(self) -> list[SweepRecord]:
        """All records, in file order."""
        return list(self._records.values())

    def append(self, records: Iterable[SweepRecord]) -> int:
        """Append the records whose key is new, in one write + flush + fsync; return how many were written."""
        new = []
        for record in records:
            if record.key not in self._records:
                self._records[record.key] = record
                new.append(record)
        if new:
            payload = "".join(json.dumps(r.to_json(), ensure_ascii=False) + "\n" for r in new).encode()
            with open(self.path, "ab") as stream:
                stream.write(payload)
                stream.flush()
                os.fsync(stream.fileno())
        return len(new)
