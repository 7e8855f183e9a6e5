"""The start checkpoint's evaluation, kept with its warm start: a later run from the same cached warm start with
the same evaluation settings copies it instead of scoring the same checkpoint again.

`roma.scripts.train.run` scores the checkpoint RL starts from before training. When that checkpoint is a finished
warm start (its ``COMPLETE`` marker, `roma.scripts.warm_start`), the sweep runs into
``<warm start>/evaluations/<settings hash>/`` and the run's ``eval_before`` is a copy of it. The hash covers every
sweep setting except where it writes (the model is the warm start itself) and roma's version; the sweep's own
resume check (``run.json``) guards the folder too, and a scoring killed halfway resumes there. Deleting the warm
start (or ``--force``) deletes its evaluations with it. Any other start checkpoint is scored into ``eval_before``
as before. The main job from a cached warm start: ~3 of its ~8 minutes.

In a side-by-side comparison (`roma.scripts.comparison`, ``compare_jobs`` 2) the start is scored last, by
whichever of its two processes is free (:class:`SharedStartScore`): each, once its own run is trained and
scored, takes the start's conditions one at a time (claimed by creating a folder, so no two take the same one)
and scores each as a sweep of its own into ``<start folder>.parts/<condition>/``; the GRPO process then adopts
the parts' records into the start's folder, where the sweep finds them done and merges them in its order: the
records of a one-process scoring (a batch's composition and sampling seed do not depend on which sweep holds
it). The two processes end about together instead of the first scoring the whole start before it trains.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from roma._version import __version__
from roma.evaluation.conditions import parse_severities, resolve_conditions
from roma.evaluation.errors import RunConfigMismatchError
from roma.evaluation.records import RecordStore, read_records
from roma.evaluation.reports import RESULTS_FILE
from roma.evaluation.run_lock import LOCK_FILE, RunLockedError, run_lock
from roma.evaluation.sharding import SHARD_DIR, shard_record_path
from roma.evaluation.sweep import RECORDS_FILE, SweepConfig, SweepRunner, run_sweep
from roma.evaluation.sweep_config import check_run_file
from roma.scripts.warm_start import MARKER_FILE, key_hash

__all__ = ["KEPT_DIR", "PARTS_SUFFIX", "SharedStartScore", "kept_scores_folder", "score_start"]

logger = logging.getLogger(__name__)

KEPT_DIR = "evaluations"
PARTS_SUFFIX = ".parts"  # beside the start's folder: one sweep per condition, by whichever process was free
# Where and how a sweep writes, not what it scores.
_NOT_IN_THE_HASH = ("model", "out", "overwrite", "progress")


def kept_scores_folder(config: SweepConfig) -> Path | None:
    """Where the warm start ``config.model`` keeps its evaluation under ``config``'s settings; None when the model
    is not a finished warm start."""
    model = Path(config.model)
    if not (model / MARKER_FILE).is_file():
        return None
    settings = {k: v for k, v in dataclasses.asdict(config).items() if k not in _NOT_IN_THE_HASH}
    return model / KEPT_DIR / key_hash(settings | {"roma_version": __version__})


def score_start(config: SweepConfig, *, loaded: dict | None = None) -> dict[str, Any]:
    """`run_sweep` for the start checkpoint ``config.model`` into ``config.out``: for a finished warm start, through
    its kept copy (scored there first when missing or partial). Returns the sweep's results. ``loaded``: see
    `roma.evaluation.sweep.SweepRunner` (the test split its caller's sweeps of the same start loaded)."""
    kept = kept_scores_folder(config)
    if kept is None:
        out = Path(config.out)
        if _parts_folder(out).is_dir():  # what overwrite would do, before the parts' records are adopted
            shutil.rmtree(out, ignore_errors=True)
            _adopt_parts(config, out)
            config = dataclasses.replace(config, overwrite=False)
        return _finish_parts(out, run_sweep(config, loaded=loaded))
    finished = (kept / RESULTS_FILE).is_file()  # written last: every record and report is there
    try:
        if not finished:
            with run_lock(kept):  # not into a folder another run is sweeping
                _adopt_parts(config, kept)
        results = run_sweep(dataclasses.replace(config, out=str(kept), overwrite=False), loaded=loaded)
    except RunLockedError:  # another run is scoring this warm start right now: this one scores its own copy
        logger.warning("%s is being scored by another run; scoring the start into %s", kept, config.out)
        return run_sweep(config)
    except RunConfigMismatchError as error:
        # The folder is named by the settings' hash, so its run.json can only disagree when damaged (a crash, a
        # hand edit): what it kept cannot be trusted, and scoring it again is what the user would do.
        logger.warning("%s; scoring the start again there", error)
        finished = False
        results = run_sweep(dataclasses.replace(config, out=str(kept), overwrite=True))
    _finish_parts(kept, results)
    out = Path(config.out)
    if out.exists():  # a run's own folder, rewritten like the sweep's --overwrite would
        shutil.rmtree(out)
    shutil.copytree(kept, out, ignore=shutil.ignore_patterns(LOCK_FILE))
    print(
        f"roma: the start checkpoint's scores {'copied from' if finished else 'kept in'} {kept}", flush=True
    )
    return results


def start_folder(config: SweepConfig) -> Path:
    """Where the start's scores are written first: its kept folder for a finished warm start, else ``config.out``."""
    return kept_scores_folder(config) or Path(config.out)


def part_configs(config: SweepConfig) -> list[SweepConfig]:
    """One sweep per condition of ``config``, in its order, each into ``<start folder>.parts/<condition>/``: records
    only (the whole sweep writes the reports)."""
    parts = _parts_folder(start_folder(config))
    return [
        dataclasses.replace(
            config,
            out=str(parts / condition.name),
            conditions=condition.corruption or condition.name,
            severities=str(condition.severity or config.severities),
            overwrite=False,
            report=False,
            progress=False,
        )
        for condition in resolve_conditions(config.conditions, parse_severities(config.severities))
    ]


def _parts_folder(folder: Path) -> Path:
    return folder.with_name(folder.name + PARTS_SUFFIX)


def _adopt_parts(config: SweepConfig, folder: Path) -> None:
    """Each part's records as a shard file of ``folder``'s sweep, which counts them done and merges them in its
    order (`roma.evaluation.sharding`); a part cut short leaves its missing batches to that sweep, and one made
    with other settings (an earlier invocation's) is left out."""
    for number, part in enumerate(part_configs(config), start=1):
        records = Path(part.out) / RECORDS_FILE
        if not records.is_file():
            continue
        try:
            check_run_file(Path(part.out), part, overwrite=False)
        except RunConfigMismatchError:
            continue
        RecordStore(shard_record_path(folder, number), overwrite=True).append(read_records(records))


def _finish_parts(folder: Path, results: dict[str, Any]) -> dict[str, Any]:
    """The parts are merged (the sweep deleted their shard files): they go too, and the emptied shard folder."""
    shutil.rmtree(_parts_folder(folder), ignore_errors=True)
    with contextlib.suppress(OSError):  # absent, or holding another sweep's files
        (folder / SHARD_DIR).rmdir()
    return results


class SharedStartScore:
    """The start checkpoint scored by both processes of a side-by-side comparison, each once its own run is done.

    ``claims``: a folder for this invocation only (a claim is a subfolder, created by one process). ``done_helping``
    is set by the helper (the second process) when no condition is left to claim; ``scored`` by the assembler (the
    first) once the start's sweep has merged the parts. ``peer_gone`` says whether the other process has ended:
    then the assembler scores whatever its helper left, and the helper raises instead of waiting forever.
    """

    def __init__(
        self,
        claims: Path,
        done_helping: Any,
        scored: Any,
        *,
        assembles: bool,
        peer_gone: Callable[[], bool],
        poll_s: float = 5.0,
    ):
        self.claims, self.done_helping, self.scored = Path(claims), done_helping, scored
        self.assembles, self.peer_gone, self.poll_s = assembles, peer_gone, poll_s
        # The test split, loaded once by this process's sweeps of the start (`run_sweep`'s loaded).
        self.loaded: dict[tuple[str, int | None], Any] = {}

    def score(self, config: SweepConfig | None) -> None:
        """Score the conditions nobody has claimed; then the assembler merges, and the helper waits for that.
        ``config``: the start's sweep (None: no evaluation, nothing to share)."""
        kept = kept_scores_folder(config) if config is not None else None
        if config is not None and not (kept is not None and (kept / RESULTS_FILE).is_file()):
            self.score_unclaimed(config)
        if self.assembles:
            self._wait(self.done_helping)
            if config is not None:
                score_start(config, loaded=self.loaded)
            self.scored.set()
        else:
            self.done_helping.set()
            if not self._wait(self.scored):
                raise RuntimeError("the first run's process ended before it scored the start checkpoint")

    def score_unclaimed(self, config: SweepConfig) -> None:
        """Score each condition of the start no process has claimed yet, and say which this process took."""
        backend = None  # the model, loaded once for the parts this process claims
        parts = part_configs(config)
        taken: list[str] = []
        for part in parts:
            try:
                (self.claims / Path(part.out).name).mkdir(parents=True)
            except FileExistsError:
                continue
            taken.append(Path(part.out).name)
            if backend is None:
                backend = SweepRunner(part).backend
            try:
                run_sweep(part, backend, loaded=self.loaded)
            except RunLockedError:  # another comparison from the same warm start scores this part
                continue
            except RunConfigMismatchError:  # left by an earlier invocation with other settings
                run_sweep(dataclasses.replace(part, overwrite=True), backend, loaded=self.loaded)
        # The part sweeps draw no progress bars (two processes, one terminal): this line says who scored what.
        print(
            f"roma: this process scored {len(taken)} of the start checkpoint's {len(parts)} conditions"
            + (f" ({', '.join(taken)})" if taken else ""),
            flush=True,
        )

    def _wait(self, event: Any) -> bool:
        """Wait for ``event``; False once the process that would set it has ended."""
        while not event.wait(timeout=self.poll_s):
            if self.peer_gone():
                return event.is_set()
        return True
