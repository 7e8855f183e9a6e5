"""The start checkpoint's evaluation, kept with its warm start: a later run from the same cached warm start with
the same evaluation settings copies it instead of scoring the same checkpoint again.

`roma.scripts.train.run` scores the checkpoint RL starts from before training. When that checkpoint is a finished
warm start (its ``COMPLETE`` marker, `roma.scripts.warm_start`), the sweep runs into
``<warm start>/evaluations/<settings hash>/`` and the run's ``eval_before`` is a copy of it. The hash covers every
sweep setting except where it writes (the model is the warm start itself) and roma's version; the sweep's own
resume check (``run.json``) guards the folder too, and a scoring killed halfway resumes there. Deleting the warm
start (or ``--force``) deletes its evaluations with it. Any other start checkpoint is scored into ``eval_before``
as before. The main job from a cached warm start: ~3 of its ~8 minutes.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
from pathlib import Path
from typing import Any

from roma._version import __version__
from roma.evaluation.errors import RunConfigMismatchError
from roma.evaluation.reports import RESULTS_FILE
from roma.evaluation.run_lock import LOCK_FILE, RunLockedError
from roma.evaluation.sweep import SweepConfig, run_sweep
from roma.scripts.warm_start import MARKER_FILE, key_hash

__all__ = ["KEPT_DIR", "kept_scores_folder", "score_start"]

logger = logging.getLogger(__name__)

KEPT_DIR = "evaluations"
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


def score_start(config: SweepConfig) -> dict[str, Any]:
    """`run_sweep` for the start checkpoint ``config.model`` into ``config.out``: for a finished warm start, through
    its kept copy (scored there first when missing or partial). Returns the sweep's results."""
    kept = kept_scores_folder(config)
    if kept is None:
        return run_sweep(config)
    finished = (kept / RESULTS_FILE).is_file()  # written last: every record and report is there
    try:
        results = run_sweep(dataclasses.replace(config, out=str(kept), overwrite=False))
    except RunLockedError:  # another run is scoring this warm start right now: this one scores its own copy
        logger.warning("%s is being scored by another run; scoring the start into %s", kept, config.out)
        return run_sweep(config)
    except RunConfigMismatchError as error:
        # The folder is named by the settings' hash, so its run.json can only disagree when damaged (a crash, a
        # hand edit): what it kept cannot be trusted, and scoring it again is what the user would do.
        logger.warning("%s; scoring the start again there", error)
        finished = False
        results = run_sweep(dataclasses.replace(config, out=str(kept), overwrite=True))
    out = Path(config.out)
    if out.exists():  # a run's own folder, rewritten like the sweep's --overwrite would
        shutil.rmtree(out)
    shutil.copytree(kept, out, ignore=shutil.ignore_patterns(LOCK_FILE))
    print(
        f"roma: the start checkpoint's scores {'copied from' if finished else 'kept in'} {kept}", flush=True
    )
    return results
