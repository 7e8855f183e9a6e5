"""Data-parallel sweeps: one shard of the work per process, launched by ``torchrun`` or ``accelerate launch``.

    torchrun --nproc_per_node 8 -m roma.cli eval --model PATH --out results/RUN ...

Each process reads its place from the launcher's environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``) and
takes every ``WORLD_SIZE``-th batch of the sweep's fixed list of batches (benchmark × condition × batch, in
the sweep's order), so the partition depends on the sweep's settings and the world size only. A batch keeps
its composition and its sampling seed whichever process generates it, so the records are those of a
one-process run.

Each process appends to its own record file, ``shards/records.rank<R>.jsonl`` (a one-process run appends to
``records.jsonl`` itself), and, before starting, treats every record already in ``records.jsonl`` or in any
shard file as done: a rerun after a kill, with any number of processes, generates only what is missing. When
every process has finished (a barrier on the launcher's ``torch.distributed`` key-value store: no process
group, so a vLLM engine in the same process is free to set up its own), rank 0 merges all files into one
``records.jsonl`` in the sweep's order, written to a temporary file and renamed, then deletes the shard files.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from roma.evaluation.errors import EvaluationError
from roma.evaluation.records import RecordKey, RecordStore, SweepRecord, read_records

__all__ = [
    "SHARD_DIR",
    "Shard",
    "ShardBarrier",
    "ShardedRecordStore",
    "finished_keys",
    "merge_records",
    "record_files",
    "shard_record_path",
    "visible_devices",
]

logger = logging.getLogger(__name__)

SHARD_DIR = "shards"
RECORDS_FILE = "records.jsonl"
# A slow shard (a resumed sweep may give one process most of the remaining work) must not time out the others.
BARRIER_TIMEOUT = timedelta(days=7)


def _env_int(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise EvaluationError(f"environment variable {name}={value!r} is not an integer") from None


@dataclass(frozen=True)
class Shard:
    """This process's place in a data-parallel sweep: ``rank`` of ``world_size``, on local device ``local_rank``."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    def __post_init__(self) -> None:
        if self.world_size < 1 or not 0 <= self.rank < self.world_size:
            raise EvaluationError(
                f"RANK={self.rank} and WORLD_SIZE={self.world_size} do not describe a process of a launch "
                "(need 0 <= RANK < WORLD_SIZE)"
            )
        if self.local_rank < 0:
            raise EvaluationError(f"LOCAL_RANK={self.local_rank} is negative")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Shard:
        """The launcher's ``RANK`` / ``WORLD_SIZE`` / ``LOCAL_RANK`` (torchrun, accelerate launch); else one process."""
        env = os.environ if env is None else env
        rank = _env_int(env, "RANK", 0)
        return cls(rank, _env_int(env, "WORLD_SIZE", 1), _env_int(env, "LOCAL_RANK", rank))

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def owns(self, batch_number: int) -> bool:
        """Whether this process generates the batch at position ``batch_number`` of the sweep's batch list."""
        return batch_number % self.world_size == self.rank


def visible_devices(shard: Shard, devices_per_process: int, available: int) -> list[int]:
    """The GPU indices of ``shard``'s data-parallel group: ``devices_per_process`` of them per local rank.

    With 8 GPUs and a tensor-parallel size of 2, local ranks 0..3 get [0, 1], [2, 3], [4, 5], [6, 7].
    """
    if devices_per_process < 1:
        raise EvaluationError(f"tensor_parallel_size must be >= 1, got {devices_per_process}")
    first = shard.local_rank * devices_per_process
    if first + devices_per_process > available:
        raise EvaluationError(
            f"local rank {shard.local_rank} needs GPUs {first}..{first + devices_per_process - 1} "
            f"(tensor_parallel_size={devices_per_process}) but {available} are visible: launch at most "
            f"{available // devices_per_process} processes per node"
        )
    return list(range(first, first + devices_per_process))


def shard_record_path(out: str | Path, rank: int) -> Path:
    return Path(out) / SHARD_DIR / f"records.rank{rank:05d}.jsonl"


def record_files(out: str | Path) -> list[Path]:
    """``records.jsonl`` (if present) and every shard's record file in ``out``."""
    out = Path(out)
    merged = [out / RECORDS_FILE] if (out / RECORDS_FILE).exists() else []
    return merged + sorted((out / SHARD_DIR).glob("records.rank*.jsonl"))


def finished_keys(out: str | Path) -> set[RecordKey]:
    """The keys of every complete record in ``out``, merged or still in shard files."""
    return {record.key for path in record_files(out) for record in read_records(path)}


class ShardedRecordStore:
    """The :class:`RecordStore` of one process, aware of the records every other file of the run holds.

    Args:
        out: the run folder.
        shard: this process's place; a one-process run writes to ``records.jsonl`` directly.
    """

    def __init__(self, out: str | Path, shard: Shard):
        out = Path(out)
        path = shard_record_path(out, shard.rank) if shard.distributed else out / RECORDS_FILE
        self.own = RecordStore(path)  # drops a partial last line left by a kill of this shard
        # Read once: no other process writes a key this one owns (the partition is disjoint), and keys
        # written elsewhere after this point are not this process's work anyway.
        self.elsewhere = {
            record.key for other in record_files(out) if other != path for record in read_records(other)
        }

    def __contains__(self, key: object) -> bool:
        return key in self.own or key in self.elsewhere

    def append(self, records: Iterable[SweepRecord]) -> int:
        """Append the records not held anywhere yet to this process's file; return how many were written."""
        return self.own.append(record for record in records if record.key not in self.elsewhere)


def merge_records(out: str | Path, order: Mapping[RecordKey, int]) -> int:
    """Merge ``records.jsonl`` and the shard files into ``records.jsonl``, then delete the shard files.

    Records are sorted by ``order`` (the sweep's order: benchmark, condition, sample); records of keys not
    in ``order`` (conditions of an earlier sweep into the same folder) follow, in file order. The first
    record of a key wins (a key is never in two files unless a merge was killed before its clean-up).
    Returns the number of records.
    """
    out = Path(out)
    shard_files = sorted((out / SHARD_DIR).glob("records.rank*.jsonl"))
    records: dict[RecordKey, SweepRecord] = {}
    for path in record_files(out):
        for record in read_records(path):
            records.setdefault(record.key, record)
    unplaced = len(order)
    ordered = sorted(records.values(), key=lambda record: order.get(record.key, unplaced))
    target = out / RECORDS_FILE
    temporary = target.with_name(target.name + ".merging")
    RecordStore(temporary, overwrite=True).append(ordered)  # one write + fsync
    os.replace(temporary, target)
    for path in shard_files:
        path.unlink()
    if shard_files:
        logger.info("merged %d shard files into %s (%d records)", len(shard_files), target, len(ordered))
    return len(ordered)


def remove_records(out: str | Path) -> None:
    """Delete every record file of ``out`` (``--overwrite``)."""
    for path in record_files(out):
        path.unlink()


class ShardBarrier:
    """A barrier across the processes of one launch, on the launcher's ``torch.distributed`` TCP store.

    torchrun (and ``accelerate launch``, which uses it) serves a key-value store at ``MASTER_ADDR`` :
    ``MASTER_PORT``; other launchers leave it to rank 0 to serve one. No process group is created.
    """

    def __init__(self, shard: Shard, env: Mapping[str, str] | None = None):
        self.shard = shard
        self._store = None
        self._count = 0
        if not shard.distributed:
            return
        env = os.environ if env is None else env
        if "MASTER_PORT" not in env:
            raise EvaluationError(
                f"WORLD_SIZE={shard.world_size} but MASTER_PORT is not set: launch with torchrun or accelerate "
                "launch (or set MASTER_ADDR and MASTER_PORT)"
            )
        from torch.distributed import PrefixStore, TCPStore

        agent_store = env.get("TORCHELASTIC_USE_AGENT_STORE") == "True"
        store = TCPStore(
            env.get("MASTER_ADDR", "127.0.0.1"),
            _env_int(env, "MASTER_PORT", 0),
            shard.world_size,
            is_master=shard.is_main and not agent_store,
            timeout=BARRIER_TIMEOUT,
            wait_for_workers=False,
        )
        # One namespace per launch attempt: a restarted launch must not see the previous attempt's arrivals.
        launch = f"{env.get('TORCHELASTIC_RUN_ID', 'launch')}/{env.get('TORCHELASTIC_RESTART_COUNT', '0')}"
        self._store = PrefixStore(f"roma_eval/{launch}/", store)

    def wait(self, name: str) -> None:
        """Return once every process of the launch has called ``wait`` with this ``name``."""
        if self._store is None:
            return
        self._count += 1
        key = f"{self._count}-{name}"
        if self._store.add(key, 1) == self.shard.world_size:
            self._store.set(f"{key}/open", "1")
        self._store.wait([f"{key}/open"], BARRIER_TIMEOUT)
