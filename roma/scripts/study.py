"""A reproducible small-scale study on the bundled synthetic task: ROMA against GRPO, NoisyRollout and augmentation.

The study is a sequence of ordinary roma commands (``roma warm-start``, ``roma train``, ``roma eval``, ``roma
compare``), run as subprocesses, ``--jobs`` at a time where one does not need another's result, and printed as they
run, so the exact commands land in the report:

1. warm start: supervised fine-tuning (TRL ``SFTTrainer``) of a small Qwen3-VL on the synthetic training split, the
   recipe's (the runs' ``roma train`` finds it cached), alone: every later stage starts from it; with
   ``--warm_start_per_seed`` one per seed (``warm_start_seed`` = the seed), ``jobs`` at a time, each seed's runs
   starting from its own, so that the intervals over seeds cover the warm start as well as RL;
2. selection: a few ROMA settings (K, λ, μ) from that checkpoint, scored on the **validation** split only (on
   the first ``selection_seeds`` seeds, each from its own warm start with ``--warm_start_per_seed``: the mean wins);
3. runs from the same checkpoint, same steps and data: GRPO and the selected ROMA on every seed (5 by default),
   NoisyRollout-style and augmentation on the first ``baseline_seeds`` (3), the ROMA ablations (no correctness
   gate, mean instead of worst case over views, no auxiliary PG) on the first ``ablation_seeds`` (1); the runs that
   do not depend on the selection (GRPO, the two baselines, the warm start's own evaluation) run beside it;
4. evaluation of every run, and of the warm start, on the 2,048 images of the synthetic **test** split per condition:
   clean, seen and unseen corruptions;
5. ``roma compare`` per run and ``--group-by method`` (means over seeds, differences with 95 % intervals over
   test images and seeds), and the report (``--report``; the README's is ``docs/results/synthetic_study.md``): each
   claim with its interval and whether it is established, what each corruption costs the warm start, per-condition
   and per-seed tables, commands, wall time.

Resumable by stage: a run with a ``run_summary.json``, or an evaluation with a ``results.json``, is reused if its
stage record (``study_stage.json``: the settings it was made with) matches this study's, and refused by name if not;
a ROMA run whose training is the selected setting's selection run on its seed (``selection_steps`` unset: as long as
the RL runs) links to that run instead of training again. ``--quick`` checks the pipeline end to end in under a minute
(tiny model, a few steps, one seed, in ``runs/study_quick``); its numbers mean nothing.
"""

from __future__ import annotations

import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roma._state_files import read_json_file, write_json_atomic
from roma.cli import main as roma_main
from roma.evaluation.compare import seed_of
from roma.evaluation.reports import RESULTS_FILE
from roma.models.tokenizer import vision_token_ids
from roma.numerics import available_cpu_cores, non_intel_cpu_vendor, pin_cpu_numerics
from roma.scripts.study_config import StudyConfig
from roma.scripts.study_report import WARM_START_METHOD, corruption_costs, recipe_settings, write_report

# Every stage is a `roma` subcommand run as `python -m roma.cli COMMAND ...`: no file of the repository is run.
ROMA_COMMAND = [sys.executable, "-m", "roma.cli"]
# Written into a run's or an evaluation's folder when its stage finishes: the settings it was made with, so a study
# resumed into a folder that holds another study's results refuses them instead of reporting them as its own.
STAGE_RECORD = "study_stage.json"


class StudyError(RuntimeError):
    """A stage failed, or a finished stage's result was made with other settings; `main` prints it in one line."""


def say(line: str) -> None:
    """Print one progress line in a single write: the study's threads print at once, and `print` writes the text and
    its newline separately, so two lines could run together."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


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
        self._parallel = 1  # runs in flight (train_and_evaluate sets it)
        # The recipe as its YAML reads, once for every stage (its eval_cpu_threads: part of the float sums).
        self.recipe = recipe_settings(config.base_config)
        # Log names of the stages this invocation ran and reused (list.append is atomic across the job threads).
        self.stages_run: list[str] = []
        self.stages_reused: list[str] = []
        # Each training (its overrides but the output folder) -> the first run that has it (`train`).
        self._trained: dict[str, str] = {}
        self._invocation_recorded = False

    # ------------------------------------------------------------------ running commands
    def _record(self, argv: list[str], commands: list[str] | None = None) -> str:
        """Keep a stage's command for the report (also when its result is reused: the report lists them all)."""
        command = " ".join(shlex.quote(a) for a in argv)
        (self.commands if commands is None else commands).append(command.replace(sys.executable, "python"))
        return command

    def _run(self, argv: list[str], log_name: str, commands: list[str] | None = None) -> None:
        say(f"$ {self._record(argv, commands)}")
        self.stages_run.append(log_name)
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
        if self._parallel > 1:  # share the cores between the runs in flight instead of oversubscribing them
            # The cores this process may use (its CPU affinity: a container's or taskset's share), not the machine's.
            env["OMP_NUM_THREADS"] = str(max(1, available_cpu_cores() // self._parallel))
        with open(self.out / f"{log_name}.log", "w") as log:
            result = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
        if result.returncode != 0:
            tail = (self.out / f"{log_name}.log").read_text()[-3000:]
            raise StudyError(f"study stage '{log_name}' failed (exit {result.returncode}):\n{tail}")

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
            **({"warm_start_sft_steps": config.warm_start_steps} if config.warm_start_steps else {}),
            "warm_start_cache_dir": config.warm_start_cache_dir
            if not config.quick
            else str(self.out / "warm_start"),
            "max_steps": config.rl_steps,
            "seed": seed,
            "roma_seed": seed,
            **({"warm_start_seed": seed} if config.warm_start_per_seed else {}),
            "eval_benchmarks": "none",  # every run is scored by the study's own evaluation stage
            "report_to": "none",
            "disable_tqdm": "true",
        }
        if config.rl_batch_size:
            overrides["per_device_train_batch_size"] = config.rl_batch_size
            # As many RL rows as the run reads, so that no step revisits a prompt (the recipe's are for its batch).
            prompts = config.rl_steps * config.rl_batch_size // self.recipe["num_generations"]
            overrides["max_train_samples"] = max(prompts, self.recipe.get("max_train_samples") or 0)
        if config.quick:
            # An untrained tiny model samples vision special tokens, which Qwen-VL cannot take in a completion.
            overrides["generation_kwargs"] = {"suppress_tokens": vision_token_ids()}
            overrides["max_train_samples"] = 32
            overrides["logging_steps"] = 1  # a learning curve of its 2 steps
        return overrides

    def roma_overrides(self, k: int, lam: float, mu: float) -> dict[str, Any]:
        return {"trainer": "roma", "roma_num_views": k, "roma_kl_coef": lam, "roma_aux_coef": mu}

    def selection_runs(self) -> list[tuple[RunSpec, int]]:
        """Each setting of the grid on the first ``selection_seeds`` seeds, grouped by setting (on one seed a run is
        named after its setting alone)."""
        seeds = self.config.seed_list[: self.config.selection_seeds]
        runs = []
        for k, lam, mu in self.config.selection_grid:
            overrides = self.roma_overrides(k, lam, mu)
            if self.config.selection_steps:
                overrides["max_steps"] = self.config.selection_steps
            setting = f"select-K{k}-l{lam:g}-m{mu:g}"
            for seed in seeds:
                name = setting if len(seeds) == 1 else f"{setting}-seed{seed}"
                runs.append((RunSpec(name, overrides, split="validation", group=setting), seed))
        return runs

    def train(self, run: RunSpec, seed: int, commands: list[str] | None = None) -> Path:
        path = self.out / "runs" / run.name
        overrides = {**self.common_overrides(seed), **run.overrides}
        argv = self._train_args({**overrides, "output_dir": str(path)})
        # A run whose training is one the study already has (the selected setting's selection run on that seed,
        # when the selection trains as long as the RL runs) is that run: linked, not trained again.
        training = json.dumps(overrides, sort_keys=True)
        # What the result depends on: the overrides, not where the warm-start cache lives (its key names the start).
        settings = {key: value for key, value in overrides.items() if key != "warm_start_cache_dir"}
        same = self._trained.get(training)  # only finished runs are there
        if same is not None and same != run.name and (path.is_symlink() or not path.exists()):
            if not path.is_symlink():
                path.symlink_to(same, target_is_directory=True)
            say(f"[link] {run.name} -> {same}")
            (self.commands if commands is None else commands).append(
                f"ln -s {shlex.quote(same)} {shlex.quote(str(path))}  # the same training as {same}"
            )
            self.stages_reused.append(f"train-{run.name}")
        elif (path / "run_summary.json").is_file():
            _check_stage_record(path, settings)
            say(f"[reuse] {run.name}")
            self._record(argv, commands)
            self.stages_reused.append(f"train-{run.name}")
        else:
            self._run(argv, f"train-{run.name}", commands)
            _write_stage_record(path, settings)
        self._trained.setdefault(training, run.name)
        return path

    def evaluate(self, run: RunSpec, checkpoint: Path, commands: list[str] | None = None) -> dict[str, Any]:
        config = self.config
        path = self.out / f"eval-{run.split}" / run.name
        results_file = path / RESULTS_FILE
        benchmark = "synthetic" if run.split == "test" else "synthetic_validation"
        samples = config.eval_samples if run.split == "test" else config.validation_samples
        argv = [
            *ROMA_COMMAND, "eval", "--model", str(checkpoint), "--benchmarks", benchmark,
            "--conditions", config.eval_conditions, "--severities", config.eval_severities,
            "--max_samples", str(samples), "--batch_size", "64", "--max_new_tokens", "24",
            "--out", str(path), "--progress", "false",
        ]  # fmt: skip
        if self.recipe.get("eval_cpu_threads"):
            argv += ["--cpu_threads", str(self.recipe["eval_cpu_threads"])]
        # The command but where it writes, and the model as what it is: a run's own settings (its stage record)
        # or a warm start's folder name (its cache key's hash).
        settings = dict(zip(argv[len(ROMA_COMMAND) + 1 :: 2], argv[len(ROMA_COMMAND) + 2 :: 2]))
        del settings["--out"], settings["--progress"]
        trained = Path(checkpoint) / STAGE_RECORD
        settings["--model"] = _read_stage_record(trained) if trained.is_file() else Path(checkpoint).name
        if results_file.is_file():
            _check_stage_record(path, settings)
            self._record(argv, commands)
            self.stages_reused.append(f"eval-{run.split}-{run.name}")
        else:
            self._run(argv, f"eval-{run.split}-{run.name}", commands)
            _write_stage_record(path, settings)
        return json.loads(results_file.read_text())

    @property
    def warm_start_seeds(self) -> list[int]:
        """The seeds whose runs start from a warm start of their own (``warm_start_per_seed``), else the first."""
        seeds = self.config.seed_list
        return seeds if self.config.warm_start_per_seed else seeds[:1]

    def reference_runs(self) -> list[tuple[RunSpec, int]]:
        """The warm start(s) scored without RL: one run, or one per seed named after it (paired with its runs)."""
        group = "warm start (no RL)"
        if not self.config.warm_start_per_seed:
            return [(RunSpec(WARM_START_METHOD, {}, group=group), self.config.seed_list[0])]
        return [
            (RunSpec(f"{WARM_START_METHOD}-seed{seed}", {}, group=group), seed)
            for seed in self.warm_start_seeds
        ]

    def warm_starts(self) -> dict[int, Path]:
        """Stage 1, alone: every warm start, ``jobs`` at a time (each pins its own thread); seed -> checkpoint."""
        seeds = self.warm_start_seeds
        commands: dict[int, list[str]] = {seed: [] for seed in seeds}
        self._parallel = min(self.config.jobs, len(seeds))
        try:
            with ThreadPoolExecutor(max_workers=self._parallel) as pool:
                starts = dict(zip(seeds, pool.map(lambda seed: self.warm_start(seed, commands[seed]), seeds)))
        finally:
            self._parallel = 1
        for seed in seeds:  # in seed order, whichever finished first
            self.commands += commands[seed]
        return starts

    def warm_start(self, seed: int | None = None, commands: list[str] | None = None) -> Path:
        """The recipe's warm start for the runs of ``seed`` (default: the first; ``roma warm-start`` with the settings
        ``roma train`` derives from the recipe and the study's overrides, so each run finds it cached); returns the
        start checkpoint."""
        from roma.models.resolve import resolve_model
        from roma.scripts.train import parse_args
        from roma.scripts.warm_start import cache_folder, command_line, is_complete, key_hash, warm_start_key

        # The cache key holds the CPU kernels' pins, which every stage's `roma` sets: the same ones here.
        pin_cpu_numerics()
        seed = self.config.seed_list[0] if seed is None else seed
        argv = self._train_args(self.common_overrides(seed))
        script_args, _, model_args = parse_args(argv[len(ROMA_COMMAND) + 1 :])
        base_model = resolve_model(model_args.model_name_or_path)
        warm_start_config = script_args.warm_start_config()
        if warm_start_config is None:  # warm_start_steps 0: RL starts from the model itself
            return Path(base_model)
        cache_dir = Path(script_args.warm_start_cache_dir)
        key = warm_start_key(base_model, warm_start_config)
        folder, digest = cache_folder(cache_dir, key), key_hash(key)
        # The model's name, as `roma train` has it: `roma warm-start` resolves it to the same folder.
        warm_start_args = command_line(model_args.model_name_or_path, warm_start_config, cache_dir, False)
        argv = [*ROMA_COMMAND, "warm-start", *warm_start_args]
        log_name = "warm-start" + (f"-seed{seed}" if self.config.warm_start_per_seed else "")
        if is_complete(folder, digest):
            say(f"[reuse] {log_name}")
            self._record(argv, commands)
            self.stages_reused.append(log_name)
            return folder
        self._run(argv, log_name, commands)
        if not is_complete(folder, digest):
            raise StudyError(
                f"study: the warm-start stage ended without writing {folder}, where the runs look."
            )
        return folder

    def _variant_runs(self, variants: dict[str, dict[str, Any]], count: int) -> list[tuple[RunSpec, int]]:
        """Each variant (name: overrides) on the first ``count`` seeds; none without ``other_methods``."""
        if not self.config.other_methods:
            return []
        seeds = self.config.seed_list[:count]
        return [
            (RunSpec(f"{name}-seed{seed}", overrides, group=name), seed)
            for name, overrides in variants.items()
            for seed in seeds
        ]

    def baseline_runs(self) -> tuple[list[tuple[RunSpec, int]], list[tuple[RunSpec, int]]]:
        """GRPO on every seed, and NoisyRollout-style and augmentation: the runs that do not need the selection."""
        seeds = self.config.seed_list
        rollout_baselines = {
            "noisy_rollout": {"trainer": "roma", "roma_rollout_degradation": "noisy_rollout", "roma_kl_coef": 0,
                              "roma_aux_coef": 0},
            "augmentation": {"trainer": "roma", "roma_rollout_degradation": "augmentation", "roma_kl_coef": 0,
                             "roma_aux_coef": 0},
        }  # fmt: skip
        grpo = [(RunSpec(f"grpo-seed{seed}", {"trainer": "grpo"}, group="grpo"), seed) for seed in seeds]
        return grpo, self._variant_runs(rollout_baselines, self.config.baseline_seeds)

    def selected_runs(
        self, selected: dict[str, Any]
    ) -> tuple[list[tuple[RunSpec, int]], list[tuple[RunSpec, int]]]:
        """The selected ROMA on every seed, and its ablations on the first ``ablation_seeds``."""
        roma = [(RunSpec(f"roma-seed{seed}", selected, group="roma"), seed) for seed in self.config.seed_list]
        ablations = {  # no-aux first: the best ablation on one seed at 90d5d9f (+3.1 seen), the one to settle
            "roma-no-aux": {**selected, "roma_aux_coef": 0},
            "roma-no-gate": {**selected, "roma_correctness_gate": "false"},
            "roma-mean-views": {**selected, "roma_kl_reduction": "mean"},
        }
        return roma, self._variant_runs(ablations, self.config.ablation_seeds)

    def _train_then_evaluate(self, run: RunSpec, seed: int, commands: list[str]) -> dict[str, Any]:
        return self.evaluate(run, self.train(run, seed, commands), commands)

    def train_and_evaluate(self, starts: dict[int, Path]) -> dict[str, Any]:
        """Stages 2 to 4, ``jobs`` at a time (each pins its own threads: a run's numbers do not depend on what runs
        beside it): the selection runs first, GRPO, the warm starts' evaluations (``starts``: `warm_starts`) and the
        rollout baselines beside them, then the selected ROMA and its ablations. Returns the selection's scores and
        setting, the runs in the report's order, the ablation runs and every run's figures."""
        selection = self.selection_runs()
        grpo, rollout_baselines = self.baseline_runs()
        references = self.reference_runs()
        commands: dict[str, list[str]] = {reference.name: [] for reference, _ in references}
        self._parallel = self.config.jobs
        with ThreadPoolExecutor(max_workers=self.config.jobs) as pool:

            def submit(runs: list[tuple[RunSpec, int]]) -> dict[str, Future]:
                commands.update({run.name: [] for run, _ in runs})
                return {
                    run.name: pool.submit(self._train_then_evaluate, run, seed, commands[run.name])
                    for run, seed in runs
                }

            try:
                futures = submit(selection) | submit(grpo)
                for reference, seed in references:
                    futures[reference.name] = pool.submit(
                        self.evaluate, reference, starts[seed], commands[reference.name]
                    )
                futures |= submit(rollout_baselines)
                scores: dict[str, list[float]] = {}  # setting -> its validation score per seed, in seed order
                for run, _ in selection:
                    figures = futures[run.name].result()["benchmarks"]["synthetic_validation"]
                    scores.setdefault(run.group, []).append(_robust_score(figures))
                means = [statistics.mean(per_seed) for per_seed in scores.values()]
                setting = self.config.selection_grid[means.index(max(means))]
                roma, ablations = self.selected_runs(self.roma_overrides(*setting))
                futures |= submit(roma + ablations)
                figures = {name: future.result() for name, future in futures.items()}
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)  # the stages in flight finish; no other starts
                raise
            finally:
                self._parallel = 1
        runs = grpo + roma + rollout_baselines + ablations
        report_order = [*selection, *runs, *references]  # each run's training, then its evaluation
        for run, _ in report_order:
            self.commands += commands[run.name]
        return {
            "scores": scores,
            "setting": setting,
            "runs": runs,
            "references": [reference.name for reference, _ in references],
            "ablations": ablations,
            "rollout_baselines": rollout_baselines,
            "figures": figures,
        }

    def run(self) -> Path:
        started = time.perf_counter()
        try:
            return self._run_stages(started)
        except BaseException as error:
            # An invocation that ends early (a failed or refused stage, Ctrl-C) spent its time and kept its finished
            # stages: recorded too, so the study's total wall time counts it.
            if not self._invocation_recorded:
                ended = "interrupted" if isinstance(error, KeyboardInterrupt) else "failed"
                self.record_invocation(time.perf_counter() - started, ended=ended)
            raise

    def _run_stages(self, started: float) -> Path:
        config = self.config
        done = self.train_and_evaluate(self.warm_starts())
        runs, results, (k, lam, mu) = done["runs"], done["figures"], done["setting"]
        summaries = {
            run.name: json.loads((self.out / "runs" / run.name / "run_summary.json").read_text())
            for run, _ in runs
        }
        names = [run.name for run, _ in runs] + done["references"]

        # 5. Comparisons (per run, and by method over seeds) and the report.
        compare_dir = self.out / "compare"
        test_dirs = [str(self.out / "eval-test" / n) for n in names]
        self._run(
            [*ROMA_COMMAND, "compare", *test_dirs, "--names", ",".join(names), "--out", str(compare_dir)],
            "compare",
        )
        self._run(
            [*ROMA_COMMAND, "compare", *test_dirs, "--names", ",".join(names), "--group-by", "method",
             "--out", str(compare_dir)],
            "compare-methods",
        )  # fmt: skip
        # The ablations against ROMA and the rollout baselines against GRPO on the seeds each ran: paired.
        against_roma = self.compare_on_shared_seeds(
            "roma", [run.name for run, _ in done["ablations"]], "ablations"
        )
        against_grpo = self.compare_on_shared_seeds(
            "grpo", [r.name for r, _ in done["rollout_baselines"]], "baselines"
        )
        report = write_report(
            Path(config.report),
            config=config,
            selection=done["scores"],
            selected={"roma_num_views": k, "roma_kl_coef": lam, "roma_aux_coef": mu},
            grouped=json.loads((compare_dir / "compare_methods.json").read_text()),
            warm_start_costs=corruption_costs(self.out / "eval-test" / done["references"][0]),
            per_condition={name: results[name]["benchmarks"]["synthetic"] for name in names},
            log_histories={name: s.get("log_history", []) for name, s in summaries.items()},
            commands=self.commands,
            invocations=self.record_invocation(time.perf_counter() - started),
            compare_dir=compare_dir,
            ablations=against_roma,
            baselines=against_grpo,
        )
        print(f"\nReport: {report}")
        return report

    def record_invocation(self, wall_time_s: float, ended: str = "report") -> list[dict[str, Any]]:
        """Add this invocation (wall time, stages run and reused, how it ``ended``: ``report``, ``failed`` or
        ``interrupted``) to ``invocations.json`` in the study's folder and return every invocation recorded there:
        a resumed study's stages ran in earlier ones."""
        path = self.out / "invocations.json"
        invocations = json.loads(path.read_text()) if path.is_file() else []
        invocations.append(
            {
                "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "ended": ended,
                "wall_time_s": round(wall_time_s, 1),
                "stages_run": len(self.stages_run),
                "stages_reused": len(self.stages_reused),
            }
        )
        write_json_atomic(path, invocations)
        self._invocation_recorded = True
        return invocations

    def compare_on_shared_seeds(self, reference: str, names: list[str], stage: str) -> dict[str, Any] | None:
        """Each run in ``names`` against ``reference``'s runs of the same seeds (`roma compare --group-by method`,
        whose first method is the reference), so every difference is paired by seed; None without runs."""
        if not names:
            return None
        seeds = sorted({seed_of(name) for name in names})
        paired = [f"{reference}-seed{seed}" for seed in seeds] + names
        out_dir = self.out / f"compare-{stage}"
        self._run(
            [*ROMA_COMMAND, "compare", *(str(self.out / "eval-test" / n) for n in paired),
             "--names", ",".join(paired), "--group-by", "method", "--out", str(out_dir)],
            f"compare-{stage}",
        )  # fmt: skip
        return json.loads((out_dir / "compare_methods.json").read_text())


def _recorded_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """A stage's settings as its record holds them: with the CPU's vendor where that decides the kernels (a study
    folder resumed on another machine)."""
    return settings | non_intel_cpu_vendor()


def _write_stage_record(folder: Path, settings: dict[str, Any]) -> None:
    # A kill mid-write leaves the old file or none.
    write_json_atomic(folder / STAGE_RECORD, _recorded_settings(settings))


def _read_stage_record(path: Path) -> Any:
    return read_json_file(
        path,
        error=StudyError,
        remedy="delete that stage's folder to run it again, or give this study another --out_dir",
    )


def _check_stage_record(folder: Path, settings: dict[str, Any]) -> None:
    """Refuse a finished stage's result made with other settings than this study's (a result from before stage
    records were written has none, and is taken as it is)."""
    record = folder / STAGE_RECORD
    if not record.is_file():
        return
    recorded, settings = _read_stage_record(record), _recorded_settings(settings)
    if recorded == settings:
        return
    differ = sorted(
        key for key in recorded.keys() | settings.keys() if recorded.get(key) != settings.get(key)
    )
    details = "; ".join(f"{key}: {recorded.get(key)!r} there, {settings.get(key)!r} now" for key in differ)
    raise StudyError(
        f"study: {folder} was made with other settings than this study's ({details}); resume it with the "
        "settings it was started with, or give this study another --out_dir."
    )


def _run_in_process(argv: list[str]) -> None:
    status = roma_main(argv[len(ROMA_COMMAND) :])  # [python, -m, roma.cli, COMMAND, ...]
    if status:
        raise StudyError(f"study stage failed: {' '.join(argv)} (exit {status})")


def _robust_score(figures: dict[str, Any]) -> float:
    """Validation criterion: mean of the seen and unseen accuracies (clean when no corruption was scored)."""
    values = [figures[g] for g in ("seen", "unseen") if figures.get(g) is not None]
    return statistics.mean(values) if values else figures["clean"]


def main(argv: list[str] | None = None) -> int:
    pin_cpu_numerics()  # before torch's first computation (roma.numerics)
    from transformers import HfArgumentParser  # only the command line needs it

    parser = HfArgumentParser(StudyConfig)
    try:
        (config,) = parser.parse_args_into_dataclasses(args=argv)
    except (ValueError, FileNotFoundError) as error:  # StudyConfig's checks
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        Study(config).run()
    except StudyError as error:  # every finished stage is kept: a rerun resumes from them
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
