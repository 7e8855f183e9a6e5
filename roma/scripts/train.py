"""The training script (``roma train``, ``recipes/roma_qwen3vl.py``): model, data, rewards, trainer, evaluation, save.

:func:`main` parses ``(RomaScriptArguments, RomaConfig, ModelConfig)`` with `trl.TrlParser` (YAML plus
command-line overrides) and calls :func:`run`; both are importable, so the study and the tests run it in-process.

    roma train --config tiny_cpu                      # a packaged recipe (roma/configs/), or a YAML path
    roma train --accelerate_config deepspeed_zero2 --config qwen3_vl_4b_roma   # under accelerate launch
    accelerate launch --config_file recipes/accelerate/cpu.yaml recipes/roma_qwen3vl.py \
        --config recipes/configs/tiny_cpu.yaml       # from a clone (recipes/configs links to roma/configs)
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml
from accelerate import PartialState
from transformers import AutoProcessor
from trl import ModelConfig, ScriptArguments, TrlParser, get_peft_config

from roma._lists import comma_list
from roma._messages import with_suggestions
from roma._state_files import write_json_atomic
from roma.cli import INTERRUPTED
from roma.configs import accelerate_config_path, recipe_path
from roma.data.loading import load_training_dataset
from roma.evaluation.compare import condition_changes
from roma.evaluation.config import check_selection
from roma.evaluation.records import read_records
from roma.evaluation.reports import load_results
from roma.evaluation.sweep import RECORDS_FILE, run_sweep
from roma.evaluation.sweep_config import SweepConfig
from roma.models.processing import set_pixel_range
from roma.models.resolve import resolve_model
from roma.numerics import pin_cpu_numerics, torch_threads
from roma.rewards import get_reward_function
from roma.scripts.comparison import format_summary, run_comparison
from roma.scripts.start_scores import SharedStartScore, score_start
from roma.scripts.warm_start import WarmStartConfig, check_rl_rows_unseen, warm_start
from roma.trainer.config import RomaConfig
from roma.trainer.trainer import RomaGRPOTrainer

logger = logging.getLogger(__name__)

TRAINERS = ("roma", "grpo")
# TrlParser rewrites the dataclasses' field types in place while it builds (Optional[X] -> X): two parsers built at once
# (the study's warm-start threads) can read a half-rewritten field and fail in argparse. One parse at a time.
_PARSE_LOCK = threading.Lock()


@dataclass
class RomaScriptArguments(ScriptArguments):
    """Data, rewards and evaluation of a training run (model and trainer settings live in the other two configs).

    A `trl.ScriptArguments` (``dataset_name``, ``dataset_config``, ``dataset_train_split``... as TRL's scripts
    read them), with roma's defaults and its own fields. ``dataset_split``, the name of the training split before
    this class followed TRL, still reads (for one release) into ``dataset_train_split``.
    """

    dataset_name: str = field(
        default="synthetic",
        metadata={
            "help": "Training data: 'synthetic' (bundled task), a hub dataset id, or a local .parquet / .jsonl / "
            "save_to_disk folder / image folder."
        },
    )
    dataset_config: str | None = field(
        default=None,
        metadata={"help": "Configuration name of a hub dataset (datasets.load_dataset(name=...))."},
    )
    dataset_train_split: str = field(default="train", metadata={"help": "Split to train on."})
    dataset_split: str | None = field(
        default=None, metadata={"help": "Deprecated spelling of dataset_train_split (kept for one release)."}
    )
    question_column: str = field(
        default="question",
        metadata={
            "help": "Column holding the question text, or a TRL conversational prompt (e.g. 'prompt'), which is "
            "used as is."
        },
    )
    system_prompt: str | None = field(
        default=None,
        metadata={"help": "System message put before every prompt (as open-r1's system_prompt)."},
    )
    image_column: str = field(
        default="image",
        metadata={
            "help": "Image column: one image, a list of images, or several columns as 'image_1,image_2'."
        },
    )
    answer_column: str = field(default="answer", metadata={"help": "Column holding the gold answer."})
    extra_columns: list[str] = field(
        default_factory=list,
        metadata={"help": "Other columns passed to the reward functions (e.g. answer_type, options)."},
    )
    image_root: str | None = field(
        default=None, metadata={"help": "Folder that relative image paths are resolved against."}
    )
    skip_bad_samples: bool = field(
        default=False,
        metadata={
            "help": "Skip rows whose image cannot be read (counted in one warning) instead of failing."
        },
    )
    max_train_samples: int | None = field(
        default=None, metadata={"help": "Use at most this many training rows."}
    )
    reward_funcs: list[str] = field(
        default_factory=lambda: ["accuracy", "format"],
        metadata={
            "help": "Reward functions: registry names (roma.rewards.REWARD_FUNCTIONS: accuracy, format) or dotted "
            "import paths of your own (my_pkg.rewards.fn), as TRL's scripts take."
        },
    )
    trainer: str = field(
        default="roma",
        metadata={
            "help": "'roma' (RomaGRPOTrainer) or 'grpo' (the baseline: RomaGRPOTrainer with ROMA's weights at 0, "
            "i.e. trl.GRPOTrainer's loss).",
            "choices": TRAINERS,
        },
    )
    compare_with_grpo: bool = field(
        default=False,
        metadata={
            "help": "Also train the GRPO baseline from the same start, seed and data (into output_dir/grpo; ROMA "
            "into output_dir/roma) and print before / GRPO / ROMA per condition with ROMA − GRPO and its paired "
            "95-percent interval (roma.scripts.comparison). Needs trainer=roma."
        },
    )
    compare_jobs: int = field(
        default=1,
        metadata={
            "help": "With compare_with_grpo: 2 trains ROMA in a second process beside GRPO once the shared start "
            "is warm-started (its log: output_dir/roma/train.log), each process scoring part of that start when "
            "its run is done; 1 one after the other. The same numbers either way where rl_cpu_threads and "
            "eval_cpu_threads are set; one process only (not under a multi-process launch)."
        },
    )
    min_pixels: int | None = field(
        default=None,
        metadata={"help": "Smallest image area (pixels) the processor resizes to; default: model's."},
    )
    max_pixels: int | None = field(
        default=None,
        metadata={"help": "Largest image area (pixels) the processor resizes to; default: model's."},
    )
    warm_start_sft_steps: int = field(
        default=0,
        metadata={
            "help": "Supervised steps on the synthetic training split before RL (TRL SFTTrainer; cached and "
            "reused). A from-scratch model earns no reward without them. 0 skips the warm start."
        },
    )
    warm_start_batch_size: int = field(default=64, metadata={"help": "Batch size of the warm start."})
    warm_start_learning_rate: float = field(
        default=1e-3, metadata={"help": "Learning rate of the warm start."}
    )
    warm_start_target_accuracy: float | None = field(
        default=None,
        metadata={
            "help": "Stop the warm start at the first evaluation (every 50 steps, 512 synthetic validation rows) "
            "whose answer accuracy reaches this fraction; warm_start_sft_steps is then the most it trains. None "
            "trains every step."
        },
    )
    warm_start_seed: int = field(
        default=0,
        metadata={
            "help": "Seed of the warm start (fixed, so runs with different RL seeds share one checkpoint)."
        },
    )
    warm_start_cpu_threads: int | None = field(
        default=None,
        metadata={
            "help": "PyTorch threads of the warm start on the CPU (part of its cache key); None: PyTorch's default. "
            "The tiny recipe pins 1, so every machine trains the same warm start."
        },
    )
    warm_start_cache_dir: str = field(
        default="runs/warm_start", metadata={"help": "Where warm-started checkpoints are cached."}
    )
    eval_benchmarks: str | None = field(
        default=None,
        metadata={
            "help": "Benchmarks scored before and after training with the robustness sweep (e.g. 'synthetic'); "
            "None skips it. For large models use `roma eval` on the saved checkpoint instead."
        },
    )
    eval_conditions: str = field(default="clean,seen", metadata={"help": "Conditions of that evaluation."})
    eval_severities: str = field(default="3", metadata={"help": "Severities of that evaluation."})
    eval_num_samples: int | None = field(
        default=200, metadata={"help": "Samples per benchmark in that evaluation."}
    )
    eval_batch_size: int = field(default=64, metadata={"help": "Generation batch size of that evaluation."})
    eval_max_new_tokens: int = field(default=32, metadata={"help": "Generation budget of that evaluation."})
    eval_cpu_threads: int | None = field(
        default=None,
        metadata={
            "help": "PyTorch threads of that evaluation on the CPU (`roma eval --cpu_threads`); None: PyTorch's "
            "default. The count changes float sums, so the tiny recipe pins 1: the same scores on every machine."
        },
    )
    rl_cpu_threads: int | None = field(
        default=None,
        metadata={
            "help": "PyTorch intra-op threads on CPU while the RL trainer runs (torch.set_num_threads); None keeps "
            "PyTorch's default, one per core. On a small model each operation is too short to split: OpenMP "
            "threads then mostly wait on one another, and on a shared CPU one descheduled thread stalls every "
            "operation (the tiny recipe uses 1; bench/rl_throughput.py). The thread count changes float "
            "summation order, so runs compare only at the same value."
        },
    )

    def __post_init__(self):
        if self.dataset_split is not None:
            if self.dataset_train_split not in ("train", self.dataset_split):
                raise ValueError(
                    f"dataset_split={self.dataset_split!r} and dataset_train_split={self.dataset_train_split!r} "
                    "disagree: set dataset_train_split only (dataset_split is its old name)."
                )
            self.dataset_train_split = self.dataset_split
        if self.dataset_streaming:
            raise ValueError(
                "dataset_streaming=True is not supported by roma train: the training rows are checked (images "
                "decoded, gold answers graded) when the dataset loads."
            )
        if self.eval_benchmarks is not None and self.eval_benchmarks.strip().lower() in ("", "none", "null"):
            self.eval_benchmarks = None
        if self.trainer not in TRAINERS:
            raise ValueError(f"trainer={self.trainer!r} is not valid; choose one of {', '.join(TRAINERS)}.")
        if self.compare_with_grpo and self.trainer != "roma":
            raise ValueError("compare_with_grpo trains GRPO beside ROMA: it needs trainer=roma.")
        self.reward_funcs = comma_list(self.reward_funcs)
        if not self.reward_funcs:
            raise ValueError("reward_funcs is empty: name at least one reward function (e.g. accuracy).")
        for name in ("rl_cpu_threads", "eval_cpu_threads", "eval_num_samples"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1 or None, got {getattr(self, name)}.")
        for name in ("eval_batch_size", "eval_max_new_tokens"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}.")
        if self.eval_benchmarks is not None:
            # A typo there would otherwise surface when the start is scored: after the warm start.
            try:
                check_selection(self.eval_benchmarks, self.eval_conditions, self.eval_severities)
            except ValueError as error:
                raise ValueError(f"eval_benchmarks / eval_conditions / eval_severities: {error}") from None
        if self.compare_jobs not in (1, 2):
            raise ValueError(f"compare_jobs must be 1 or 2 (GRPO and ROMA), got {self.compare_jobs}.")
        # The warm start's own checks, and RL rows it never read, when the arguments are read, not after minutes.
        warm_start_config = self.warm_start_config()
        if warm_start_config is not None:
            check_rl_rows_unseen(self.dataset_name, self.dataset_train_split, warm_start_config)

    def warm_start_config(self) -> WarmStartConfig | None:
        """The warm start these arguments ask for (None when ``warm_start_sft_steps`` is 0)."""
        if self.warm_start_sft_steps == 0:
            return None
        return WarmStartConfig(
            steps=self.warm_start_sft_steps,
            batch_size=self.warm_start_batch_size,
            learning_rate=self.warm_start_learning_rate,
            seed=self.warm_start_seed,
            target_accuracy=self.warm_start_target_accuracy,
            cpu_threads=self.warm_start_cpu_threads,
        )


def resolve_reward_functions(names: list[str]) -> list:
    return [get_reward_function(name) for name in names]


def prepare_model(script_args: RomaScriptArguments, training_args: RomaConfig, model_args) -> str:
    """The checkpoint RL starts from: the named model (a ``roma-tiny/...`` name is built offline), warm-started
    on the synthetic task when ``warm_start_sft_steps > 0``."""
    path = resolve_model(model_args.model_name_or_path)
    warm_start_config = script_args.warm_start_config()
    if warm_start_config is not None:  # its rows checked against the RL rows when the arguments were read
        path = str(warm_start(path, warm_start_config, cache_dir=script_args.warm_start_cache_dir))
    return path


def load_processor(path: str, script_args: RomaScriptArguments):
    # Left padding, as TRL loads it: TRL aligns the processor's mm_token_type_ids with its left-padded prompts.
    processor = AutoProcessor.from_pretrained(path, padding_side="left")
    return set_pixel_range(processor, script_args.min_pixels, script_args.max_pixels)


def evaluate(
    path: str, out_dir: Path, script_args: RomaScriptArguments, seed: int, *, start: bool = False
) -> dict[str, Any] | None:
    """Score a saved checkpoint with the robustness sweep; returns the sweep's results (None when disabled).
    ``start``: the checkpoint RL starts from, whose scores a warm start keeps (`roma.scripts.start_scores`)."""
    config = sweep_config(path, out_dir, script_args, seed)
    if config is None:
        return None
    return score_start(config) if start else run_sweep(config)


def sweep_config(path: str, out_dir: Path, script_args: RomaScriptArguments, seed: int) -> SweepConfig | None:
    """The robustness sweep of checkpoint ``path`` into ``out_dir`` (None when the evaluation is disabled)."""
    if not script_args.eval_benchmarks:
        return None
    return SweepConfig(
        model=path,
        out=str(out_dir),
        benchmarks=script_args.eval_benchmarks,
        conditions=script_args.eval_conditions,
        severities=script_args.eval_severities,
        max_samples=script_args.eval_num_samples,
        batch_size=script_args.eval_batch_size,
        max_new_tokens=script_args.eval_max_new_tokens,
        cpu_threads=script_args.eval_cpu_threads,
        seed=seed,
        overwrite=True,
    )


def load_rl_dataset(script_args: RomaScriptArguments) -> Any:
    """The RL rows the script arguments name (`roma.data.loading.load_training_dataset`)."""
    return load_training_dataset(
        script_args.dataset_name,
        split=script_args.dataset_train_split,
        question_column=script_args.question_column,
        image_column=script_args.image_column,
        answer_column=script_args.answer_column,
        extra_columns=script_args.extra_columns,
        skip_bad_samples=script_args.skip_bad_samples,
        max_samples=script_args.max_train_samples,
        image_root=script_args.image_root,
        system_prompt=script_args.system_prompt,
        dataset_config=script_args.dataset_config,
    )


def run(
    script_args: RomaScriptArguments,
    training_args: RomaConfig,
    model_args,
    *,
    before_dir: Path | None = None,
    shared_start: SharedStartScore | None = None,
    on_start_ready: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Train with ROMA (or the GRPO baseline), evaluate before and after, save; returns a summary.

    ``before_dir``: where the start's scores are (`roma.scripts.comparison` shares one evaluation between its two
    runs): read after training, not evaluated before it; with ``shared_start``, this run helps score them there
    once its own checkpoint is scored. ``on_start_ready``: called once the start checkpoint is warm-started."""
    state = PartialState()
    started = time.perf_counter()
    output_dir = Path(training_args.output_dir)

    # 1. Model: resolve (and warm-start) on the main process first, so the others reuse its cache.
    with state.main_process_first():
        start_path = prepare_model(script_args, training_args, model_args)
    processor = load_processor(start_path, script_args)
    if on_start_ready is not None:
        on_start_ready()

    # 2. Data: conversational prompts asking for \boxed{} answers, images decoded and checked once.
    train_dataset = load_rl_dataset(script_args)

    # 3. Evaluation before training, on the main process (the sweep loads the checkpoint itself).
    before = None
    scored_by_caller = before_dir is not None
    if not scored_by_caller:
        before_dir = output_dir / "eval_before"
        if state.is_main_process:
            before = evaluate(start_path, before_dir, script_args, training_args.seed, start=True)
    state.wait_for_everyone()

    # 4. Train: ROMA, or GRPO from the same script and config for the baseline.
    trainer, rl_cpu_threads = train_rl(
        script_args, training_args, model_args, start_path, train_dataset, processor
    )

    # 5. Save the final model and processor.
    trainer.save_model(str(output_dir))
    if trainer.accelerator.is_main_process:
        processor.save_pretrained(str(output_dir))
    trainer.accelerator.wait_for_everyone()

    # 6. Evaluation after training, and a summary a person can read.
    after = None
    if state.is_main_process:
        after = evaluate(str(output_dir), output_dir / "eval_after", script_args, training_args.seed)
        if scored_by_caller:
            if shared_start is not None:
                shared_start.score(sweep_config(start_path, before_dir, script_args, training_args.seed))
            before = load_results(before_dir)
    summary = {
        "trainer": script_args.trainer,
        "start_checkpoint": start_path,
        "checkpoint": str(output_dir.resolve()),
        "train_steps": trainer.state.global_step,
        "rl_cpu_threads": rl_cpu_threads,
        "roma": {k: v for k, v in training_args.to_dict().items() if k.startswith("roma_")},
        "wall_time_s": round(time.perf_counter() - started, 1),
        "accuracy_before": _accuracy_table(before),
        "accuracy_after": _accuracy_table(after),
        "accuracy": accuracy_changes(before_dir, output_dir / "eval_after")
        if before is not None and after is not None
        else None,
        # What the trainer logged every logging_steps (rewards, reward spread, ROMA's terms): the learning curve.
        "log_history": trainer.state.log_history,
    }
    if state.is_main_process:
        write_json_atomic(output_dir / "run_summary.json", summary)  # study.py resumes on its presence
        print(format_summary(summary))
    trainer.accelerator.end_training()
    return summary


def train_rl(
    script_args: RomaScriptArguments,
    training_args: RomaConfig,
    model_args,
    start_path: str,
    train_dataset,
    processor,
) -> tuple[RomaGRPOTrainer, int]:
    """The RL stage of `run`: the trainer after training, and the PyTorch thread count it trained with."""
    set_trainer_arguments(script_args, training_args, model_args)
    with rl_threads(script_args.rl_cpu_threads, training_args):
        trainer = RomaGRPOTrainer(
            model=start_path,
            reward_funcs=resolve_reward_functions(script_args.reward_funcs),
            args=training_args,
            train_dataset=train_dataset,
            processing_class=processor,
            peft_config=get_peft_config(model_args),
        )
        trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
        return trainer, torch.get_num_threads()  # float summation order depends on it: part of the record


def set_trainer_arguments(script_args: RomaScriptArguments, training_args: RomaConfig, model_args) -> None:
    """What the trainer takes from the model arguments and the choice of trainer, set on ``training_args``."""
    training_args.model_init_kwargs = {
        **(training_args.model_init_kwargs or {}),
        "dtype": model_args.dtype,
        **({"attn_implementation": model_args.attn_implementation} if model_args.attn_implementation else {}),
    }
    if script_args.trainer == "roma" and training_args.roma_base_model is None:
        training_args.roma_base_model = model_args.model_name_or_path  # the model card's base model
    if script_args.trainer == "grpo":
        # The baseline: RomaGRPOTrainer with both ROMA weights at 0 is TRL's GRPOTrainer (same loss, same numbers)
        # with each group's prompt run once in the log-prob pass, so both arms train at the same speed.
        training_args.roma_kl_coef = training_args.roma_aux_coef = 0.0


@contextlib.contextmanager
def rl_threads(threads: int | None, training_args: RomaConfig):
    """PyTorch's intra-op thread count set to ``threads`` inside the block when training runs on the CPU (restored
    after it, for the evaluation and any caller in the same process); no change for None or a GPU run."""
    on_cpu = training_args.use_cpu or not torch.cuda.is_available()
    with torch_threads(threads if on_cpu else None):
        yield


def _accuracy_table(results: dict[str, Any] | None) -> dict[str, dict[str, float]] | None:
    """{benchmark: {condition: accuracy}} from a sweep's results (None when there was no evaluation)."""
    if results is None:
        return None
    table: dict[str, dict[str, float]] = {}
    for benchmark, entry in results["benchmarks"].items():
        table[benchmark] = {name: row["accuracy"] for name, row in entry["conditions"].items()}
    return table


def accuracy_changes(before_dir: Path, after_dir: Path) -> list[dict[str, Any]] | None:
    """Per benchmark and condition: accuracy before and after training with 95 % intervals, and the change with
    a paired 95 % interval (the two sweeps score the same samples); None without both evaluations."""
    paths = [Path(folder) / RECORDS_FILE for folder in (before_dir, after_dir)]
    if not all(path.is_file() for path in paths):
        return None
    return condition_changes(read_records(paths[0]), read_records(paths[1]))


def resolve_config_argument(argv: list[str]) -> list[str]:
    """``argv`` with the value of ``--config`` resolved to a file: a path as given, else a packaged recipe name
    (``tiny_cpu`` -> ``roma/configs/tiny_cpu.yaml``; `roma.configs.recipe_path`)."""
    resolved: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg == "--config" or arg.startswith("--config="):
            value = arg.partition("=")[2] if "=" in arg else next(args, None)
            if not value:
                raise SystemExit("roma train: --config needs a recipe name or a YAML path.")
            resolved += ["--config", str(recipe_path(value))]
        else:
            resolved.append(arg)
    return resolved


def accelerate_command(argv: list[str]) -> list[str] | None:
    """The ``accelerate launch`` command line that ``--accelerate_config NAME_OR_PATH`` in ``argv`` asks for
    (this script as ``-m roma.scripts.train`` with the other arguments), or None without that option."""
    rest: list[str] = []
    config = None
    args = iter(argv)
    for arg in args:
        if arg == "--accelerate_config" or arg.startswith("--accelerate_config="):
            config = arg.partition("=")[2] if "=" in arg else next(args, None)
            if not config:
                raise SystemExit("roma train: --accelerate_config needs a packaged name or a YAML path.")
        else:
            rest.append(arg)
    if config is None:
        return None
    launch = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        str(accelerate_config_path(config)),
    ]
    return [*launch, "-m", "roma.scripts.train", *resolve_config_argument(rest)]


def parse_args(argv: list[str] | None = None) -> tuple[RomaScriptArguments, RomaConfig, ModelConfig]:
    """The three dataclasses from ``--config NAME_OR_YAML`` and command-line overrides (``argv``; default
    sys.argv).

    Raises:
        ValueError: an option the dataclasses do not have, in the YAML file or on the command line (named, with
            the closest known option), a YAML file that is not a mapping, or a value the dataclasses refuse
            (their own message).
    """
    argv = resolve_config_argument(list(sys.argv[1:] if argv is None else argv))
    with _PARSE_LOCK:
        parser = TrlParser((RomaScriptArguments, RomaConfig, ModelConfig), prog="roma train")
        *parsed, from_file, from_command_line = parser.parse_args_and_config(
            args=argv, return_remaining_strings=True, separate_remaining_strings=True
        )
    known = [action.dest for action in parser._actions if action.option_strings]
    for where, leftover in (("the --config file", from_file), ("the command line", from_command_line)):
        unknown = [item[2:] for item in leftover if item.startswith("--")] or leftover
        if unknown:
            raise ValueError(f"unknown option(s) in {where}: {with_suggestions(unknown, known)}")
    return tuple(parsed)


def main(argv: list[str] | None = None) -> int:
    """Model -> data -> evaluation before -> ROMA/GRPO training -> save -> evaluation after.

    With ``--accelerate_config NAME_OR_PATH`` (``cpu``, ``multi_gpu``, ``deepspeed_zero2`` ...) the same script
    runs under ``accelerate launch`` with that packaged or given config instead of in this process.
    A bad option or value (in the YAML file or on the command line) is one line on stderr and status 2.
    """
    pin_cpu_numerics()  # before torch's first computation (roma.numerics); a no-op when `roma` already did
    argv = list(sys.argv[1:] if argv is None else argv)
    command = accelerate_command(argv)
    if command is not None:
        return subprocess.run(command, check=False).returncode
    try:
        parsed = parse_args(argv)
    except (
        ValueError,
        OSError,
        yaml.YAMLError,
    ) as error:  # RomaConfig's checks, TrlParser's, the YAML file's
        print(f"roma train: error: {error}", file=sys.stderr)
        return 2
    script_args, training_args, model_args = parsed
    try:
        if script_args.compare_with_grpo:
            run_comparison(script_args, training_args, model_args, run=run)
        else:
            run(script_args, training_args, model_args)
        return 0
    except KeyboardInterrupt:
        pass  # said below, once the interrupted run's frames (and their progress bars) are gone
    # What a rerun reuses: a finished warm start (cached, content-addressed); the unfinished one cleaned up after
    # itself. RL and its evaluations start again unless checkpoints were saved.
    print(
        f"roma train: interrupted; finished warm starts are kept in {script_args.warm_start_cache_dir}, with "
        "their scores (a scoring cut short resumes), and a rerun of the same command reuses them; training and "
        f"the other evaluations in {training_args.output_dir} "
        "start again (save checkpoints with --save_strategy steps and continue with --resume_from_checkpoint).",
        file=sys.stderr,
    )
    return INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
