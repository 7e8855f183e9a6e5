"""A reproducible small-scale study on the bundled synthetic task: ROMA against GRPO, NoisyRollout and augmentation.

The study is a sequence of ordinary roma commands (``roma train``, ``roma eval``, ``roma compare``), run one after
the other as subprocesses and printed as they run, so the exact commands land in the report:

1. warm start: supervised fine-tuning (TRL ``SFTTrainer``) of a small Qwen3-VL on the synthetic training split;
2. selection: a few ROMA settings (K, λ, μ) from that checkpoint, scored on the **validation** split only;
3. runs from the same checkpoint, same steps, data and seeds: GRPO and the selected ROMA on every seed,
   NoisyRollout-style, augmentation and the ROMA ablations (no correctness gate, mean instead of worst case,
   no auxiliary PG) on the first seed;
4. evaluation of every run on the synthetic **test** split: clean, seen and unseen corruptions;
5. ``docs/results/synthetic_study.md``: the table (mean ± std over seeds), ablations, plots, commands, wall time.

Resumable by stage: a run whose ``run_summary.json`` exists, or an evaluation whose ``results.json`` exists, is
reused, so an interrupted study continues from its last finished stage. ``--quick`` checks the pipeline end to end
in a few minutes (tiny model, a handful of steps); its numbers mean nothing.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from roma.cli import main as roma_main
from roma.configs import recipe_path
from roma.models.tiny import vision_token_ids

# Every stage is a `roma` subcommand run as `python -m roma.cli COMMAND ...`: no file of the repository is run.
ROMA_COMMAND = [sys.executable, "-m", "roma.cli"]


@dataclass
class StudyConfig:
    """Settings of the study (each is a command-line option of the same name)."""

    out_dir: str = field(default="runs/study", metadata={"help": "Folder of every run, evaluation and log."})
    report: str = field(
        default="docs/results/synthetic_study.md",
        metadata={"help": "The Markdown report written at the end."},
    )
    seeds: str = field(
        default="0,1,2", metadata={"help": "Seeds of GRPO and ROMA (the others use the first)."}
    )
    model: str = field(
        default="roma-tiny/qwen3_vl-small", metadata={"help": "Model warm-started then trained."}
    )
    base_config: str = field(
        default="tiny_cpu",
        metadata={
            "help": "Training recipe every run starts from (`roma train --config`: a packaged name or a YAML "
            "path); the study overrides the rest."
        },
    )
    warm_start_steps: int = field(
        default=800,
        metadata={"help": "Supervised warm-start steps (batch and lr: from base_config)."},
    )
    warm_start_cache_dir: str = field(
        default="runs/warm_start",
        metadata={"help": "Warm-start cache, shared with the default training run."},
    )
    rl_steps: int = field(default=300, metadata={"help": "RL steps of every run (the same for all methods)."})
    selection: str = field(
        default="2:0.1:0.1,2:0.5:0.1,2:0.1:0.5",
        metadata={"help": "ROMA settings tried on the validation split, as K:lambda:mu comma list."},
    )
    selection_steps: int | None = field(
        default=None, metadata={"help": "RL steps of a selection run (rl_steps)."}
    )
    eval_conditions: str = field(default="clean,seen,unseen", metadata={"help": "Test conditions."})
    eval_severities: str = field(default="2,4", metadata={"help": "Test severities."})
    eval_samples: int = field(default=256, metadata={"help": "Test (and validation) samples per condition."})
    quick: bool = field(
        default=False, metadata={"help": "A few-minute end-to-end check; numbers are meaningless."}
    )

    def __post_init__(self):
        try:
            recipe_path(self.base_config)
        except FileNotFoundError as err:
            raise FileNotFoundError(f"study: base_config {self.base_config!r}: {err}") from None
        if self.quick:
            self.model = "roma-tiny/qwen3_vl-tiny"
            self.seeds = self.seeds.split(",")[0]
            self.warm_start_steps = 3
            self.rl_steps = 2
            self.selection = self.selection.split(",")[0]
            self.eval_conditions = "clean,seen"
            self.eval_severities = "3"
            self.eval_samples = 8

    @property
    def seed_list(self) -> list[int]:
        return [int(s) for s in self.seeds.split(",") if s.strip()]

    @property
    def selection_grid(self) -> list[tuple[int, float, float]]:
        grid = []
        for item in self.selection.split(","):
            k, lam, mu = item.split(":")
            grid.append((int(k), float(lam), float(mu)))
        return grid


@dataclass
class RunSpec:
    """One training run: a name, its recipe overrides, and the split it is scored on."""

    name: str
    overrides: dict[str, Any]
    split: str = "test"
    group: str = "main"


class Study:
    def __init__(self, config: StudyConfig):
        self.config = config
        self.out = Path(config.out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        self.commands: list[str] = []
        self.log_path = self.out / "study.log"

    # ------------------------------------------------------------------ running commands
    def _record(self, argv: list[str]) -> str:
        """Keep a stage's command for the report (also when its result is reused: the report lists them all)."""
        command = " ".join(shlex.quote(a) for a in argv)
        self.commands.append(command.replace(sys.executable, "python"))
        return command

    def _run(self, argv: list[str], log_name: str) -> None:
        print(f"$ {self._record(argv)}", flush=True)
        if self.config.quick:
            # --quick runs each stage in this process: the stages are the same calls, without paying ~12 s of
            # imports per stage (the full study runs them as subprocesses, each with its own log).
            return _run_in_process(argv)
        env = {
            **os.environ,
            "NO_ALBUMENTATIONS_UPDATE": "1",
            "HF_HUB_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
        }
        with open(self.out / f"{log_name}.log", "w") as log:
            result = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
        if result.returncode != 0:
            tail = (self.out / f"{log_name}.log").read_text()[-3000:]
            raise RuntimeError(f"study stage '{log_name}' failed (exit {result.returncode}):\n{tail}")

    def _train_args(self, overrides: dict[str, Any]) -> list[str]:
        args = [*ROMA_COMMAND, "train", "--config", self.config.base_config]
        for key, value in overrides.items():
            args += [f"--{key}", json.dumps(value) if isinstance(value, dict) else str(value)]
        return args

    # ------------------------------------------------------------------ stages
    def common_overrides(self, seed: int) -> dict[str, Any]:
        config = self.config
        overrides: dict[str, Any] = {
            "model_name_or_path": config.model,
            "warm_start_sft_steps": config.warm_start_steps,
            "warm_start_cache_dir": config.warm_start_cache_dir
            if not config.quick
            else str(self.out / "warm_start"),
            "max_steps": config.rl_steps,
            "seed": seed,
            "roma_seed": seed,
            "eval_benchmarks": "none",  # every run is scored by the study's own evaluation stage
            "report_to": "none",
            "disable_tqdm": "true",
        }
        if config.quick:
            # An untrained tiny model samples vision special tokens, which Qwen-VL cannot take in a completion.
            overrides["generation_kwargs"] = {"suppress_tokens": vision_token_ids()}
            overrides["max_train_samples"] = 32
        return overrides

    def roma_overrides(self, k: int, lam: float, mu: float) -> dict[str, Any]:
        return {"trainer": "roma", "roma_num_views": k, "roma_kl_coef": lam, "roma_aux_coef": mu}

    def selection_runs(self) -> list[RunSpec]:
        runs = []
        for k, lam, mu in self.config.selection_grid:
            overrides = self.roma_overrides(k, lam, mu)
            if self.config.selection_steps:
                overrides["max_steps"] = self.config.selection_steps
            runs.append(
                RunSpec(f"select-K{k}-l{lam:g}-m{mu:g}", overrides, split="validation", group="selection")
            )
        return runs

    def train(self, run: RunSpec, seed: int) -> Path:
        path = self.out / "runs" / run.name
        argv = self._train_args({**self.common_overrides(seed), **run.overrides, "output_dir": str(path)})
        if (path / "run_summary.json").is_file():
            print(f"[reuse] {run.name}", flush=True)
            self._record(argv)
        else:
            self._run(argv, f"train-{run.name}")
        return path

    def evaluate(self, run: RunSpec, checkpoint: Path) -> dict[str, Any]:
        config = self.config
        path = self.out / f"eval-{run.split}" / run.name
        results_file = path / "results.json"
        benchmark = "synthetic" if run.split == "test" else "synthetic_validation"
        argv = [
            *ROMA_COMMAND, "eval", "--model", str(checkpoint), "--benchmarks", benchmark,
            "--conditions", config.eval_conditions, "--severities", config.eval_severities,
            "--max_samples", str(config.eval_samples), "--batch_size", "64", "--max_new_tokens", "24",
            "--out", str(path), "--progress", "false",
        ]  # fmt: skip
        if results_file.is_file():
            self._record(argv)
        else:
            self._run(argv, f"eval-{run.split}-{run.name}")
        return json.loads(results_file.read_text())

    def run(self) -> Path:
        config = self.config
        started = time.perf_counter()
        seeds = config.seed_list
        first = seeds[0]

        # 2. Selection of K, λ, μ on the validation split (the warm start, stage 1, runs inside the first recipe
        # call and is cached for every later one).
        scores = {}
        for run in self.selection_runs():
            results = self.evaluate(run, self.train(run, first))
            figures = results["benchmarks"]["synthetic_validation"]
            scores[run.name] = _robust_score(figures)
        best = max(scores, key=scores.get)
        k, lam, mu = self.config.selection_grid[[r.name for r in self.selection_runs()].index(best)]
        selected = self.roma_overrides(k, lam, mu)

        # 3. Runs from the same warm-started checkpoint: same steps, data and seeds.
        runs: list[tuple[RunSpec, int]] = []
        for seed in seeds:
            runs.append((RunSpec(f"grpo-seed{seed}", {"trainer": "grpo"}, group="grpo"), seed))
            runs.append((RunSpec(f"roma-seed{seed}", selected, group="roma"), seed))
        baselines = {
            "noisy_rollout": {"trainer": "roma", "roma_rollout_degradation": "noisy_rollout", "roma_kl_coef": 0,
                              "roma_aux_coef": 0},
            "augmentation": {"trainer": "roma", "roma_rollout_degradation": "augmentation", "roma_kl_coef": 0,
                             "roma_aux_coef": 0},
            "roma-no-gate": {**selected, "roma_correctness_gate": "false"},
            "roma-mean-views": {**selected, "roma_kl_reduction": "mean"},
            "roma-no-aux": {**selected, "roma_aux_coef": 0},
        }  # fmt: skip
        for name, overrides in baselines.items():
            runs.append((RunSpec(f"{name}-seed{first}", overrides, group=name), first))

        # 4. Evaluation of every run on the test split, and of the shared warm-started checkpoint as the reference.
        results = {}
        for run, seed in runs:
            results[run.name] = (run, self.evaluate(run, self.train(run, seed)))
        summary = json.loads((self.out / "runs" / runs[0][0].name / "run_summary.json").read_text())
        reference = RunSpec("warm-start", {}, group="warm start (no RL)")
        results = {
            reference.name: (reference, self.evaluate(reference, Path(summary["start_checkpoint"]))),
            **results,
        }

        # 5. Comparison plots and the report.
        names = [name for name in results]
        compare_dir = self.out / "compare"
        self._run(
            [*ROMA_COMMAND, "compare", *[str(self.out / "eval-test" / n) for n in names],
             "--names", ",".join(names), "--out", str(compare_dir)],
            "compare",
        )  # fmt: skip
        report = write_report(
            Path(config.report),
            config=config,
            selection=scores,
            selected={"roma_num_views": k, "roma_kl_coef": lam, "roma_aux_coef": mu},
            results={name: (run.group, figures) for name, (run, figures) in results.items()},
            commands=self.commands,
            wall_time_s=time.perf_counter() - started,
            compare_dir=compare_dir,
        )
        print(f"\nReport: {report}")
        return report


def _run_in_process(argv: list[str]) -> None:
    status = roma_main(argv[len(ROMA_COMMAND) :])  # [python, -m, roma.cli, COMMAND, ...]
    if status:
        raise RuntimeError(f"study stage failed: {' '.join(argv)} (exit {status})")


def _robust_score(figures: dict[str, Any]) -> float:
    """Validation criterion: mean of the seen and unseen accuracies (clean when no corruption was scored)."""
    values = [figures[g] for g in ("seen", "unseen") if figures.get(g) is not None]
    return statistics.mean(values) if values else figures["clean"]


def _mean_std(values: list[float]) -> str:
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}"


def plot_methods(by_group: dict[str, list[dict[str, Any]]], path: Path) -> Path:
    """Grouped bars: clean / seen / unseen accuracy per method, mean over seeds with ±1 std error bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = [
        g
        for g in ("clean", "seen", "unseen")
        if any(r.get(g) is not None for rows in by_group.values() for r in rows)
    ]
    methods = list(by_group)
    width = 0.8 / len(groups)
    figure, axis = plt.subplots(figsize=(max(6.0, 1.1 * len(methods) + 2), 4.2), dpi=120)
    for offset, group in enumerate(groups):
        values = [[r[group] for r in by_group[m] if r.get(group) is not None] for m in methods]
        means = [statistics.mean(v) if v else 0.0 for v in values]
        errors = [statistics.stdev(v) if len(v) > 1 else 0.0 for v in values]
        positions = [i + (offset - (len(groups) - 1) / 2) * width for i in range(len(methods))]
        axis.bar(positions, means, width, yerr=errors, capsize=3, label=group)
    axis.set_xticks(range(len(methods)))
    axis.set_xticklabels(methods, rotation=25, ha="right")
    axis.set_ylabel("accuracy (%)")
    lowest = min(
        (r[g] for rows in by_group.values() for r in rows for g in groups if r.get(g) is not None), default=0
    )
    axis.set_ylim(max(0.0, lowest - 10), None)
    axis.set_title("synthetic test split: mean over seeds (±1 std where several)")
    axis.legend(ncol=len(groups))
    axis.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def write_report(
    path: Path,
    *,
    config: StudyConfig,
    selection: dict[str, float],
    selected: dict[str, Any],
    results: dict[str, tuple[str, dict[str, Any]]],
    commands: list[str],
    wall_time_s: float,
    compare_dir: Path,
) -> Path:
    """The Markdown report: mean ± std over seeds per method, single-seed rows, selection, commands, machine."""
    columns = ("clean", "seen", "unseen", "seen_drop", "unseen_drop")
    path.parent.mkdir(parents=True, exist_ok=True)
    plot = path.with_name(
        path.stem + ".png"
    )  # travels with the report (run folders are not in the repository)
    by_group: dict[str, list[dict[str, Any]]] = {}
    for group, figures in results.values():
        by_group.setdefault(group, []).append(figures["benchmarks"]["synthetic"])
    plot_methods(by_group, plot)
    lines = [
        "# Does ROMA work? A small-scale study on the synthetic task"
        + (" (--quick: numbers are meaningless)" if config.quick else ""),
        "",
        "Accuracy (%) on the synthetic test split; *seen* = mean over the training corruptions (Gaussian blur, JPEG, "
        f"low resolution), *unseen* = mean over the evaluation-only corruptions, severities {config.eval_severities}; "
        "drops are clean − corrupted in points. Mean ± std over seeds where a method ran on several.",
        "",
        "| method | seeds | " + " | ".join(columns) + " |",
        "| --- | --- | " + " | ".join("---" for _ in columns) + " |",
    ]
    for group, rows in by_group.items():
        cells = [_mean_std([r[c] for r in rows if r.get(c) is not None]) for c in columns]
        lines.append(f"| {group} | {len(rows)} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Selected on the validation split: {selected} (score = mean of seen and unseen validation accuracy):",
        "",
        "| setting | validation score |",
        "| --- | --- |",
        *[f"| {name} | {score:.1f} |" for name, score in selection.items()],
        "",
        f"![clean / seen / unseen accuracy per method]({plot.name})",
        "",
        f"Per-run tables and plots: `roma compare` output in `{compare_dir}` and each run's `summary.md`.",
        "",
        "## Setup",
        "",
        f"- Model: `{config.model}` warm-started for {config.warm_start_steps} supervised steps, then "
        f"{config.rl_steps} RL steps per run (recipe defaults: `roma/configs/tiny_cpu.yaml`).",
        f"- Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, "
        f"Python {platform.python_version()}; wall time of this study invocation: {wall_time_s / 60:.1f} min "
        "(stages reused from an earlier invocation are not counted).",
        "",
        "## Commands",
        "",
        "```bash",
        *commands,
        "```",
        "",
        "<details><summary>Study settings</summary>",
        "",
        "```json",
        json.dumps(asdict(config), indent=2),
        "```",
        "</details>",
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    return path


def main(argv: list[str] | None = None) -> int:
    from transformers import HfArgumentParser  # only the command line needs it

    parser = HfArgumentParser(StudyConfig)
    (config,) = parser.parse_args_into_dataclasses(args=argv)
    Study(config).run()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
