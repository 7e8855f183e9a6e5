"""ROMA against the GRPO baseline in one command: ``roma train --config tiny_cpu --compare_with_grpo true``.

Both runs start from the same (warm-started) checkpoint with the same seed, RL data and settings; only the
trainer differs (``trl.GRPOTrainer``, then `roma.RomaGRPOTrainer`). The start checkpoint is evaluated once and
shared. The table (:func:`format_comparison`) gives, per condition, accuracy before RL, after GRPO and after
ROMA, and ROMA − GRPO with a 95 % interval paired over the same test images
(`roma.evaluation.compare.condition_changes`; the seen and unseen means by the paired bootstrap of
`roma.evaluation.compare.paired_delta_interval`). One seed: the interval is over test images only, not over
training seeds (the study, ``recipes/study_synthetic.py``, has both).
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import multiprocessing
import os
import shutil
import signal
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from accelerate import PartialState

from roma._state_files import write_json_atomic
from roma.evaluation.compare import condition_changes, paired_delta_interval
from roma.evaluation.formatting import format_points, format_points_interval
from roma.evaluation.records import SweepRecord, read_records
from roma.evaluation.sweep import RECORDS_FILE
from roma.scripts.start_scores import SharedStartScore

logger = logging.getLogger(__name__)

COMPARED_TRAINERS = (
    "grpo",
    "roma",
)  # the baseline first: its run scores (side by side: merges) the shared start
CLAIMS_DIR = "start_claims"  # side by side: which of the start's conditions a process has taken
GROUP_ROWS = ("seen", "unseen")


def run_comparison(
    script_args: Any, training_args: Any, model_args: Any, run: Callable[..., dict[str, Any]]
) -> dict[str, Any]:
    """Train GRPO and ROMA from the same start into ``output_dir/grpo`` and ``output_dir/roma`` with ``run`` (the
    single-run path, `roma.scripts.train.run`, passed in so that this module does not import its caller), print
    and return the comparison (also written to ``output_dir/comparison.json``).

    With ``script_args.compare_jobs`` 2 (one process, CPU or GPU) the ROMA run starts in a second process as soon
    as the GRPO run has the warm-started start checkpoint, and both train at once; its output goes to
    ``output_dir/roma/train.log``. Each process, once its run is trained and scored, scores the start's conditions
    the other has not taken (`roma.scripts.start_scores.SharedStartScore`): the GRPO process merges them into the
    shared score, which both runs then read. The ROMA summary is printed when both are done."""

    output_dir = Path(training_args.output_dir)
    side_by_side = script_args.compare_jobs > 1
    if side_by_side and PartialState().num_processes > 1:
        logger.warning("compare_jobs=2 needs a single process: GRPO and ROMA run one after the other.")
        side_by_side = False

    def arguments(trainer: str) -> tuple[Any, Any]:
        run_args = copy.deepcopy(training_args)
        run_args.output_dir = str(output_dir / trainer)
        return dataclasses.replace(script_args, trainer=trainer, compare_with_grpo=False), run_args

    baseline, method = COMPARED_TRAINERS
    before_dir = output_dir / baseline / "eval_before"
    if side_by_side:
        summaries = _run_side_by_side(run, arguments, model_args, output_dir, before_dir)
        print(format_summary(summaries[method]))
    else:
        summaries = {baseline: run(*arguments(baseline), model_args)}
        summaries[method] = run(*arguments(method), model_args, before_dir=before_dir)
    comparison = {
        "seed": training_args.seed,
        "start_checkpoint": summaries[method]["start_checkpoint"],
        "wall_time_s": {name: summary["wall_time_s"] for name, summary in summaries.items()},
        "rows": None,
    }
    folders = {"before": before_dir, **{name: output_dir / name / "eval_after" for name in COMPARED_TRAINERS}}
    if all((folder / RECORDS_FILE).is_file() for folder in folders.values()):
        records = {name: read_records(folder / RECORDS_FILE) for name, folder in folders.items()}
        comparison["rows"] = comparison_rows(records["before"], records["grpo"], records["roma"])
    write_json_atomic(output_dir / "comparison.json", comparison)  # the one writer of roma's JSON files
    print(format_comparison(comparison))
    return comparison


def _run_side_by_side(
    run: Callable[..., dict[str, Any]],
    arguments: Callable[[str], tuple[Any, Any]],
    model_args: Any,
    output_dir: Path,
    before_dir: Path,
) -> dict[str, dict[str, Any]]:
    """GRPO in this process, ROMA in a second one from the moment the start exists; both help score the start."""
    baseline, method = COMPARED_TRAINERS
    summaries: dict[str, dict[str, Any]] = {}
    log_file = output_dir / method / "train.log"
    claims = output_dir / CLAIMS_DIR
    shutil.rmtree(claims, ignore_errors=True)  # this invocation's: an earlier one's are not claims now
    context = multiprocessing.get_context("spawn")
    done_helping, scored = context.Event(), context.Event()
    with ProcessPoolExecutor(
        max_workers=1, mp_context=context, initializer=_share_events, initargs=(done_helping, scored)
    ) as pool:
        second: list[Future] = []

        def start_second() -> None:
            print(f"{method}: training in a second process beside {baseline} (log: {log_file})", flush=True)
            second.append(
                pool.submit(
                    _run_logged,
                    run,
                    log_file,
                    claims,
                    *arguments(method),
                    model_args,
                    before_dir=before_dir,
                )
            )

        shared = SharedStartScore(
            claims, done_helping, scored, assembles=True, peer_gone=lambda: not second or second[0].done()
        )
        try:
            summaries[baseline] = run(
                *arguments(baseline),
                model_args,
                before_dir=before_dir,
                shared_start=shared,
                on_start_ready=start_second,
            )
            summaries[method] = second[0].result()
        except BaseException:
            # A failed first run, or a Ctrl-C that reached this process only (kill -INT), would leave the
            # second run training (or waiting for a score that never comes) and the pool's exit waiting for
            # it: it is interrupted too.
            for child in multiprocessing.active_children():
                os.kill(child.pid, signal.SIGINT)
            raise
    shutil.rmtree(claims, ignore_errors=True)
    return summaries


# In the second process of a side-by-side comparison: the events of the start's shared scoring (set by the
# executor's initializer: a multiprocessing Event reaches a child only when the child is created).
_EVENTS: tuple[Any, Any] | None = None


def _share_events(done_helping: Any, scored: Any) -> None:
    global _EVENTS
    _EVENTS = (done_helping, scored)


def _run_logged(
    run: Callable[..., dict[str, Any]], log_file: Path, claims: Path, *args: Any, **kwargs: Any
) -> dict[str, Any]:
    """``run(*args, **kwargs)`` in the second process of a side-by-side comparison, its stdout and stderr (the
    progress bars and the trainer's log lines, which would interleave with the first run's) in ``log_file``; it
    helps score the start once its own run is scored (`roma.scripts.start_scores.SharedStartScore`)."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    parent = os.getppid()
    shared = SharedStartScore(claims, *_EVENTS, assembles=False, peer_gone=lambda: os.getppid() != parent)
    with open(log_file, "w") as log:
        os.dup2(log.fileno(), 1)  # the descriptors, not only sys.stdout: C libraries and child processes too
        os.dup2(log.fileno(), 2)
        return run(*args, shared_start=shared, **kwargs)


def comparison_rows(
    before: list[SweepRecord], grpo: list[SweepRecord], roma: list[SweepRecord]
) -> list[dict[str, Any]]:
    """Per (benchmark, condition), then per benchmark the seen and unseen means: accuracy before, after GRPO and
    after ROMA (percent), and ROMA − GRPO with its paired 95 % interval."""
    start = {(r["benchmark"], r["condition"]): r["before"] for r in condition_changes(before, grpo)}
    rows = [
        {
            "benchmark": row["benchmark"],
            "condition": row["condition"],
            "n": row["n"],
            "before": start.get((row["benchmark"], row["condition"])),
            "grpo": row["before"],
            "roma": row["after"],
            "roma_minus_grpo": row["change"],
            "roma_minus_grpo_ci95": row["change_ci95"],
        }
        for row in condition_changes(grpo, roma)
    ]
    groups = {(r.benchmark, r.condition): r.group for r in grpo}
    for benchmark in dict.fromkeys(row["benchmark"] for row in rows):
        for group in GROUP_ROWS:
            members = [
                r
                for r in rows
                if r["benchmark"] == benchmark and groups.get((benchmark, r["condition"])) == group
            ]
            if len(members) < 2:  # one condition is its own row already
                continue
            means = {f: float(np.mean([m[f] for m in members])) for f in ("before", "grpo", "roma")}
            rows.append(
                {
                    "benchmark": benchmark,
                    "condition": f"{group} (mean of {len(members)})",
                    "n": min(m["n"] for m in members),
                    **means,
                    "roma_minus_grpo": means["roma"] - means["grpo"],
                    "roma_minus_grpo_ci95": paired_delta_interval(grpo, roma, benchmark, group),
                }
            )
    return rows


def format_comparison(comparison: dict[str, Any]) -> str:
    seconds = comparison["wall_time_s"]
    lines = [
        "",
        f"GRPO and ROMA from the same start (seed {comparison['seed']}): GRPO {seconds['grpo']:.0f} s, "
        f"ROMA {seconds['roma']:.0f} s.",
    ]
    rows = comparison["rows"]
    if not rows:
        lines.append("No evaluation (eval_benchmarks is none): nothing to compare.")
        return "\n".join(lines)
    lines.append(
        f"Accuracy (%) before RL, after GRPO, after ROMA; ROMA − GRPO with a 95 % interval paired over the same "
        f"{rows[0]['n']} test images (one seed)"
    )
    lines.append(
        f"  {'benchmark':<10} {'condition':<22} {'before':>7} {'GRPO':>7} {'ROMA':>7} {'ROMA − GRPO':>20}"
    )
    for row in rows:
        lines.append(
            f"  {row['benchmark']:<10} {row['condition']:<22} {format_points(row['before']):>7} "
            f"{format_points(row['grpo']):>7} {format_points(row['roma']):>7} "
            f"{format_points_interval(row['roma_minus_grpo'], row['roma_minus_grpo_ci95'], signed=True):>20}"
        )
    return "\n".join(lines)


def format_summary(summary: dict[str, Any]) -> str:
    lines = [
        "",
        f"Finished {summary['trainer']} training: {summary['train_steps']} steps in {summary['wall_time_s']:.0f} s.",
    ]
    rows = summary.get("accuracy")
    if rows:
        lines.append(
            f"Accuracy (%, 95 % interval; the change is paired over the same {rows[0]['n']} samples)"
        )
        lines.append(f"  {'benchmark':<10} {'condition':<22} {'before':>19} {'after':>19} {'change':>20}")
        for row in rows:
            lines.append(
                f"  {row['benchmark']:<10} {row['condition']:<22} "
                f"{format_points_interval(row['before'], row['before_ci95']):>19} "
                f"{format_points_interval(row['after'], row['after_ci95']):>19} "
                f"{format_points_interval(row['change'], row['change_ci95'], signed=True):>20}"
            )
    lines.append(f"Checkpoint (model and processor): {summary['checkpoint']}")
    return "\n".join(lines)
