"""Settings of the synthetic study (`roma.scripts.study`): one dataclass whose fields are its command-line options,
as TRL pairs a trainer with its config (`grpo_trainer.py`, `grpo_config.py`). Every setting the study reads late is
checked when the config is built, so a bad one is refused before any stage runs."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from roma._lists import comma_list
from roma.configs import recipe_path
from roma.evaluation.config import check_selection


@dataclass
class StudyConfig:
    """Settings of the study (each is a command-line option of the same name)."""

    out_dir: str | None = field(
        default=None,
        metadata={
            "help": "Folder of every run, evaluation and log (default runs/study; with --quick runs/study_quick). "
            "A later invocation with the same folder resumes it, with the same settings only."
        },
    )
    report: str | None = field(
        default=None,
        metadata={
            "help": "The Markdown report written at the end (default: synthetic_study.md in out_dir; the README's "
            "is docs/results/synthetic_study.md)."
        },
    )
    seeds: str = field(
        default="0,1,2,3,4",
        metadata={
            "help": "Seeds of GRPO and ROMA (comma list); the baselines and ablations use the first ones."
        },
    )
    baseline_seeds: int = field(
        default=3,
        metadata={"help": "How many of the seeds NoisyRollout-style and augmentation run on (0: neither)."},
    )
    ablation_seeds: int = field(
        default=1,
        metadata={"help": "How many of the seeds each ROMA ablation runs on (0: no ablations)."},
    )
    other_methods: bool = field(
        default=True,
        metadata={
            "help": "Also run NoisyRollout-style, augmentation and the ROMA ablations; false: GRPO and ROMA only "
            "(the comparison the study is for, in the time of its seeds)."
        },
    )
    jobs: int = field(
        default=1,
        metadata={
            "help": "Runs trained and scored at once (each a process with usable cores / jobs threads); the "
            "selection stage and the report stay sequential."
        },
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
    warm_start_steps: int | None = field(
        default=None,
        metadata={
            "help": "Supervised warm-start steps (default: base_config's; batch and lr: base_config's)."
        },
    )
    warm_start_per_seed: bool = field(
        default=False,
        metadata={
            "help": "Each seed warm-starts its own model (the recipe's warm start with warm_start_seed = the seed: "
            "other training rows, order and draws) and its runs start from it, so the intervals over seeds cover "
            "the warm start too; false: every run starts from one warm start (seed 0), and seeds cover RL only."
        },
    )
    warm_start_cache_dir: str = field(
        default="runs/warm_start",
        metadata={"help": "Warm-start cache, shared with the default training run."},
    )
    rl_steps: int = field(
        default=150,
        metadata={
            "help": "RL steps of every run (the same for all methods; the tiny recipe's, tuned for GRPO)."
        },
    )
    rl_batch_size: int | None = field(
        default=None,
        metadata={
            "help": "Completions per RL step (per_device_train_batch_size = prompts × num_generations; default: "
            "base_config's). 128, 16 prompts × 8, learned from four warm starts on validation (docs/method.md)."
        },
    )
    selection: str = field(
        default="2:0.1:0.1,4:0.1:0.1,2:0.03:0.1,2:0.1:0",
        metadata={
            "help": "ROMA settings tried on the validation split, as K:lambda:mu comma list. The default: the "
            "method's defaults, more views, a weaker KL (at 0.1 the validation runs gave clean accuracy back to "
            "GRPO) and no auxiliary term (the best ablation on one seed at 90d5d9f)."
        },
    )
    selection_steps: int | None = field(
        default=None,
        metadata={
            "help": "RL steps of a selection run (default rl_steps: then the selected setting's selection run on a "
            "seed is the same training as ROMA's run on it, which links to it instead of training again)."
        },
    )
    selection_seeds: int = field(
        default=1,
        metadata={
            "help": "How many of the seeds each selection setting runs on (with warm_start_per_seed, each from "
            "that seed's warm start); a setting's score is its mean over them. One seed's validation score moves "
            "by about as much as the settings differ."
        },
    )
    eval_conditions: str = field(default="clean,seen,unseen", metadata={"help": "Test conditions."})
    eval_severities: str = field(default="3", metadata={"help": "Test severities."})
    eval_samples: int = field(
        default=2048,
        metadata={
            "help": "Test samples per condition (2,048, the whole test split: the same images score every seed, "
            "so more seeds do not narrow ROMA − GRPO's interval below what the images allow; at 1,024 it stayed "
            "near ±1.6 points from 5 to 7 seeds)."
        },
    )
    validation_samples: int = field(
        default=1024, metadata={"help": "Validation samples per condition (the selection stage)."}
    )
    quick: bool = field(
        default=False, metadata={"help": "A few-minute end-to-end check; numbers are meaningless."}
    )

    def __post_init__(self):
        if self.out_dir is None:  # a quick check never lands among a real study's runs
            self.out_dir = "runs/study_quick" if self.quick else "runs/study"
        if self.report is None:  # nor does any study overwrite the committed report unless told to
            self.report = str(Path(self.out_dir) / "synthetic_study.md")
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
            self.selection_seeds = 1
            self.eval_conditions = "clean,seen"
            self.eval_severities = "3"
            self.eval_samples = 8
            self.validation_samples = 8
            self.jobs = 1
        if self.jobs < 1 or self.baseline_seeds < 0 or self.ablation_seeds < 0:
            raise ValueError("study: jobs must be at least 1, baseline_seeds and ablation_seeds at least 0.")
        for name in ("rl_steps", "rl_batch_size", "selection_steps", "eval_samples", "validation_samples"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"study: {name} must be at least 1, got {getattr(self, name)}.")
        # Parsed and checked now, not when the study reaches them (the test conditions: after the selection runs).
        _ = self.selection_grid
        if not 1 <= self.selection_seeds <= len(self.seed_list):
            raise ValueError(
                f"study: selection_seeds must be between 1 and the number of seeds ({len(self.seed_list)}), "
                f"got {self.selection_seeds}."
            )
        try:
            check_selection("synthetic", self.eval_conditions, self.eval_severities)
        except ValueError as error:
            raise ValueError(f"study: eval_conditions / eval_severities: {error}") from None

    @property
    def seed_list(self) -> list[int]:
        seeds = comma_list(self.seeds)
        if not seeds or not all(seed.strip().isdigit() for seed in seeds):
            raise ValueError(
                f"study: seeds must be a comma list of integers >= 0 (e.g. 0,1,2), got {self.seeds!r}."
            )
        repeated = sorted(seed for seed, count in Counter(map(int, seeds)).items() if count > 1)
        if repeated:  # two runs of one name would train into one folder
            raise ValueError(
                f"study: seeds: {', '.join(map(str, repeated))} given more than once in {self.seeds!r}."
            )
        return [int(seed) for seed in seeds]

    @property
    def selection_grid(self) -> list[tuple[int, float, float]]:
        grid = []
        for item in comma_list(self.selection):
            try:
                k, lam, mu = item.split(":")
                grid.append((int(k), float(lam), float(mu)))
            except ValueError:
                raise ValueError(
                    f"study: selection: {item!r} is not K:lambda:mu (e.g. 2:0.1:0.1; K an integer)."
                ) from None
        if not grid:
            raise ValueError("study: selection is empty: give at least one K:lambda:mu.")
        repeated = sorted(f"{k}:{lam:g}:{mu:g}" for (k, lam, mu), count in Counter(grid).items() if count > 1)
        if repeated:  # one setting's runs share a name: its scores would be merged and the pick misaligned
            raise ValueError(
                f"study: selection: {', '.join(repeated)} given more than once in {self.selection!r}."
            )
        return grid
