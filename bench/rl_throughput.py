"""Completions per second of the tiny RL step, GRPO and ROMA (K = 2): the current code against a baseline commit,
measured in one run.

    python bench/rl_throughput.py [--baseline 90d5d9f] [--steps 10] [--warmup 2] [--rounds 2]
        [--completions_per_step 16] [--json PATH]

Both codes train the tiny recipe as ``roma train --config tiny_cpu`` does (each code with its own recipe: its
thread count, its trainer), at the same batch (``--completions_per_step``, default 16: 2 prompts × 8, at most 16
tokens, the 1.7 M-parameter Qwen3-VL), without warm start or evaluation.
The reward marks about half of the completions correct, deterministically from their text (a model without warm
start earns no accuracy reward; half correct is where the recipe's warm start leaves it, and it makes ROMA's
views pass run on the correct half as in a real run).

Each (code, trainer) trains in its own process with that code's ``roma`` first on ``PYTHONPATH``: the baseline is
exported with ``git archive`` into a temporary folder. The runs alternate between the two codes, in rounds, so
both see the same load on a shared CPU; every figure is a median over the timed steps (``--warmup`` first steps of
each run excluded) of all rounds. Target: current ≥ 3 × baseline completions per second for both trainers.

``CPU s/step`` is the process's CPU time per step (all its threads, spinning ones included): where it falls with
the wall time, the work fell; where only the wall time falls, waiting fell.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The commit before the throughput work (issue 23, item 3): "today's" code.
DEFAULT_BASELINE = "90d5d9f"
TRAINERS = ("grpo", "roma")
REWARD_NAME = "bench_half_correct"
_RESULT_PREFIX = "RL_THROUGHPUT_RESULT "


def half_correct(completions, **kwargs):
    """1.0 for about half of the completions, decided by a checksum of their text (deterministic, no grading)."""
    return [float(zlib.crc32(str(completion).encode()) % 2) for completion in completions]


def _child(trainer: str, steps: int, out_dir: str, completions_per_step: int) -> dict:
    """Train ``steps`` steps of the tiny recipe with the ``roma`` on sys.path; per-step wall and CPU seconds."""
    import trl

    from roma.rewards import register_reward
    from roma.scripts.train import parse_args, run

    register_reward(REWARD_NAME)(half_correct)
    wall: list[float] = []
    cpu: list[float] = []
    training_step = trl.GRPOTrainer.training_step

    def timed_training_step(self, *args, **kwargs):  # generation, rewards, loss, backward: one optimizer step
        started, started_cpu = time.perf_counter(), time.process_time()
        result = training_step(self, *args, **kwargs)
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        return result

    trl.GRPOTrainer.training_step = timed_training_step
    argv = [
        "--config",
        "tiny_cpu",
        "--trainer",
        trainer,
        "--warm_start_sft_steps",
        "0",
        "--eval_benchmarks",
        "none",
        "--max_train_samples",
        "512",
        "--max_steps",
        str(steps),
        # The same batch for both codes, whatever each code's recipe says (the recipe went from 2 to 8 prompts).
        "--per_device_train_batch_size",
        str(completions_per_step),
        "--num_generations",
        "8",
        "--output_dir",
        out_dir,
        "--reward_funcs",
        REWARD_NAME,
        "--reward_weights",
        "1.0",
        "--roma_correctness_reward",
        REWARD_NAME,
        "--logging_steps",
        str(steps),
        "--disable_tqdm",
        "true",
    ]
    run(*parse_args(argv))
    import roma

    return {"wall": wall, "cpu": cpu, "roma_file": roma.__file__}


def _export(ref: str, folder: Path) -> str:
    """The ``roma`` package of ``ref`` written under ``folder``; returns the full commit hash."""
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--verify", f"{ref}^{{commit}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", commit, "roma"], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return commit


def _run_child(tree: Path, trainer: str, steps: int, workdir: Path, completions_per_step: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env.update(
        PYTHONPATH=str(tree),
        NO_ALBUMENTATIONS_UPDATE="1",
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
    )
    out_dir = tempfile.mkdtemp(prefix=f"{trainer}-", dir=workdir)
    command = [sys.executable, str(Path(__file__).resolve()), "--child", trainer, "--steps", str(steps)]
    command += ["--out_dir", out_dir, "--completions_per_step", str(completions_per_step)]
    done = subprocess.run(command, env=env, cwd=str(workdir), capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith(_RESULT_PREFIX)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(
            f"the {trainer} run with {tree} failed (exit {done.returncode}):\n{done.stderr[-3000:]}"
        )
    result = json.loads(lines[-1][len(_RESULT_PREFIX) :])
    if not Path(result["roma_file"]).resolve().is_relative_to(tree.resolve()):
        raise RuntimeError(f"the run imported roma from {result['roma_file']}, not from {tree}")
    return result


def measure(args: argparse.Namespace) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="roma-rl-throughput-"))
    old_tree = workdir / "baseline"
    old_tree.mkdir()
    baseline = _export(args.baseline, old_tree)
    codes = {"baseline": old_tree, "current": REPO}
    timed: dict[tuple[str, str], dict[str, list[float]]] = {
        (code, trainer): {"wall": [], "cpu": []} for code in codes for trainer in TRAINERS
    }
    for round_index in range(args.rounds):
        # Alternate which code goes first, so neither always runs in the same slot of the machine's load.
        order = list(codes) if round_index % 2 == 0 else list(reversed(codes))
        for trainer in TRAINERS:
            for code in order:
                result = _run_child(
                    codes[code], trainer, args.warmup + args.steps, workdir, args.completions_per_step
                )
                for key in ("wall", "cpu"):
                    timed[(code, trainer)][key] += result[key][args.warmup :]
                print(
                    f"  round {round_index + 1}: {trainer:<5} {code:<8} "
                    f"median {statistics.median(result['wall'][args.warmup :]):.3f} s/step",
                    flush=True,
                )
    rows = []
    for (code, trainer), times in timed.items():
        step_s = statistics.median(times["wall"])
        rows.append(
            {
                "trainer": trainer if trainer == "grpo" else "roma (K=2)",
                "code": code,
                "step_s": step_s,
                "cpu_s": statistics.median(times["cpu"]),
                "completions_per_s": args.completions_per_step / step_s,
                "steps_timed": len(times["wall"]),
            }
        )
    ratios = {}
    for trainer in TRAINERS:
        old, new = (statistics.median(timed[(code, trainer)]["wall"]) for code in ("baseline", "current"))
        ratios[trainer] = old / new
    return {
        "baseline_commit": baseline,
        "current_commit": _head(),
        "cpu_count": os.cpu_count(),
        "load_average_at_end": os.getloadavg(),
        "rows": rows,
        "ratio_current_to_baseline": ratios,
    }


def _head() -> str:
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(
        ["git", "-C", str(REPO), "status", "--porcelain", "roma"], capture_output=True, text=True
    )
    return head.stdout.strip() + (" (+ uncommitted changes)" if dirty.stdout.strip() else "")


def format_table(results: dict) -> str:
    lines = [
        f"Tiny RL step, {results['cpu_count']} CPU cores (load average at the end "
        f"{results['load_average_at_end'][0]:.1f}); baseline {results['baseline_commit'][:10]}, "
        f"current {results['current_commit'][:10]}",
        f"  {'trainer':<11} {'code':<9} {'completions/s':>14} {'s/step':>8} {'CPU s/step':>11} {'steps':>6}",
    ]
    for row in results["rows"]:
        lines.append(
            f"  {row['trainer']:<11} {row['code']:<9} {row['completions_per_s']:>14.1f} {row['step_s']:>8.3f} "
            f"{row['cpu_s']:>11.3f} {row['steps_timed']:>6}"
        )
    ratios = results["ratio_current_to_baseline"]
    lines.append(
        "Completions per second, current / baseline (same run): "
        + ", ".join(f"{'GRPO' if t == 'grpo' else 'ROMA (K=2)'} {ratios[t]:.2f}x" for t in TRAINERS)
        + " (target >= 3x)"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--baseline", default=DEFAULT_BASELINE, help="Commit (or ref) the current code is compared to."
    )
    parser.add_argument("--steps", type=int, default=10, help="Timed steps per run.")
    parser.add_argument("--warmup", type=int, default=2, help="Untimed first steps of each run.")
    parser.add_argument("--rounds", type=int, default=2, help="Runs of each (code, trainer), interleaved.")
    parser.add_argument(
        "--completions_per_step",
        type=int,
        default=16,
        help="Completions per step (groups of 8), the same for both codes: 16 (2 prompts x 8, the issue's "
        "setting) or 64 (8 x 8, the recipe's since the GRPO tuning).",
    )
    parser.add_argument("--json", help="Also write the results here.")
    parser.add_argument("--child", choices=TRAINERS, help=argparse.SUPPRESS)
    parser.add_argument("--out_dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = _child(args.child, args.steps, args.out_dir, args.completions_per_step)
        print(_RESULT_PREFIX + json.dumps(result), flush=True)
        return
    results = measure(args)
    print(format_table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
