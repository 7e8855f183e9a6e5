"""Supervised warm start on the synthetic task (TRL's `SFTTrainer`), cached by a hash of its settings.

A randomly initialised model earns zero reward on every completion, so RL has nothing to push on. The CPU recipe
therefore starts from a small Qwen3-VL fine-tuned for a few minutes on the synthetic training split
(`roma.data.synthetic`) to answer ``\\boxed{ANSWER}``: far above chance, below its ceiling.

* `warm_start` trains with ``trl.SFTTrainer`` on conversational prompt-completion rows (prompt =
  `roma.data.prompts.build_conversation`, completion = one assistant message ``\\boxed{ANSWER}``, one ``image``
  per row). TRL 1.16 handles such vision rows in ``DataCollatorForVisionLanguageModeling``: it renders prompt and
  prompt + completion with the chat template, tokenises and processes the images per batch, and with
  ``completion_only_loss`` (the default for prompt-completion data) masks the prompt and the image tokens out of
  the labels: the loss is on ``\\boxed{ANSWER}<|im_end|>\\n`` only.
* The result is cached under ``cache_dir/sft-<hash12>``, the hash covering every argument that changes the
  weights (`warm_start_key`). Training writes into a hidden temporary folder that is renamed into place only
  after the model, the processor, ``warm_start.json`` and the ``COMPLETE`` marker are written: a killed run leaves
  a temporary folder that is never read (and is deleted by the next run for the same key), never a half
  checkpoint under the final name. A cache hit only hashes files and reads the marker.
* Its settings are one `WarmStartConfig`, passed as a whole from the training script, the command line and the
  isolated subprocess of a distributed launch.
* With ``target_accuracy`` it stops at the first evaluation (every ``eval_steps``, on ``eval_samples`` synthetic
  validation rows, `VALIDATION_METRIC`, run in a second process while training goes on, or in turns with it where
  both thread counts together exceed the cores: `roma.scripts.warm_start_validation`) that reaches it
  (`roma.trainer.callbacks.StopAtTargetInBackground`): a fixed number of steps lands wherever the CPU's last bits
  send it (issue 23: 68 % or 94 % clean), a target does not, and RL gets a start with room left.

Command line: ``python -m roma.scripts.warm_start --steps 200`` prints the checkpoint path; score it with
``roma eval --model PATH --benchmarks synthetic_validation`` (graded by `roma.grading`, the same code as the RL
reward).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from roma._publish import move_into_place
from roma.data.synthetic import SYNTHETIC_TASK_VERSION
from roma.models.resolve import resolve_model
from roma.models.rope_index import share_rope_index
from roma.models.tiny import FAMILIES, build_tiny_model, get_spec
from roma.numerics import available_cpu_cores, cpu_numerics, pin_cpu_numerics, torch_threads

# The rows and the metric live in warm_start_data; importable from here as before (noqa: re-exported names).
from roma.scripts.warm_start_data import (  # noqa: F401
    ANSWER_ACCURACY,
    LR_SCHEDULER,
    WARMUP_RATIO,
    completion_exact_match,
    completion_text,
    predicted_tokens,
    sft_config,
    synthetic_sft_dataset,
    target_completion,
)

logger = logging.getLogger(__name__)

# Bump when the recipe (data, completion format, optimiser settings) changes what the same arguments produce, so
# old cache entries stop matching.
WARM_START_VERSION = 1
CACHE_PREFIX = "sft-"
TEMP_PREFIX = ".tmp-"
MARKER_FILE = "COMPLETE"
INFO_FILE = "warm_start.json"
BASE_MODEL_SIZE = "small"
# What `target_accuracy` is compared with: on synthetic validation rows (seed 0), the fraction whose completion
# ``\\boxed{ANSWER}<|im_end|>`` the model predicts token for token when fed the gold prefix (greedy decoding's
# answer once the format is learned, in the first ~50 steps); one forward pass, no generation.
VALIDATION_METRIC = "teacher-forced completion exact match, synthetic validation split seed 0"
# Environment variables that make a process part of a torchrun / accelerate launch; the isolated warm-start
# subprocess drops them so it trains alone.
_DISTRIBUTED_ENV_VARS = (
    "RANK",
    "LOCAL_RANK",
    "WORLD_SIZE",
    "LOCAL_WORLD_SIZE",
    "GROUP_RANK",
    "ROLE_RANK",
    "ROLE_WORLD_SIZE",
    "MASTER_ADDR",
    "MASTER_PORT",
    "TORCHELASTIC_RUN_ID",
)


# ---------------------------------------------------------------------------------------------------------
# Settings.


@dataclass
class WarmStartConfig:
    """What a warm start trains: every field but ``family`` (which names the built base model) is in the cache key."""

    steps: int = field(metadata={"help": "Optimiser steps (at batch_size; fp32 on the CPU)."})
    batch_size: int = field(default=64, metadata={"help": "Rows per step."})
    learning_rate: float = field(
        default=1e-3,
        metadata={
            "help": "AdamW peak learning rate (linear warm-up over the first 5 percent of the steps, linear decay to 0)."
        },
    )
    seed: int = field(
        default=0,
        metadata={"help": "Seed of the base-model build, the training data, the shuffling and the trainer."},
    )
    num_train_samples: int | None = field(
        default=None,
        metadata={
            "help": "Rows of the synthetic train split; None = steps * batch_size (every row seen once; the split "
            "is a pure function of the seed, a shorter one a prefix of a longer one)."
        },
    )
    image_size: int = field(default=64, metadata={"help": "Side of the synthetic images in pixels."})
    target_accuracy: float | None = field(
        default=None,
        metadata={
            "help": "Stop at the first evaluation whose validation answer accuracy (0-1) reaches this; None "
            "trains every step. Why: how far a fixed number of steps gets is chaotic (68 or 94 percent clean "
            "for the same settings on two CPUs), a target is not."
        },
    )
    eval_steps: int = field(
        default=50,
        metadata={"help": "Optimiser steps between validation evaluations (with target_accuracy)."},
    )
    eval_samples: int = field(
        default=512,
        metadata={"help": "Rows of the synthetic validation split (seed 0) each evaluation scores."},
    )
    family: str = field(
        default="qwen3_vl",
        metadata={"help": "Model family built when no base model is given (ignored otherwise)."},
    )
    cpu_threads: int | None = field(
        default=None,
        metadata={
            "help": "PyTorch intra-op threads while training on the CPU (torch.set_num_threads); None keeps "
            "PyTorch's default (the machine's cores). A float sum splits across threads, so the count is part "
            "of the result: pinning it gives every machine the same one."
        },
    )

    def __post_init__(self) -> None:
        for name, minimum in (
            ("steps", 1),
            ("batch_size", 1),
            ("seed", 0),
            ("eval_steps", 1),
            ("eval_samples", 1),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(f"warm_start: {name} must be an integer >= {minimum}, got {value!r}.")
        threads = self.cpu_threads
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise ValueError(f"warm_start: cpu_threads must be an integer >= 1 or None, got {threads!r}.")
        samples = self.num_train_samples
        if samples is not None and (isinstance(samples, bool) or not isinstance(samples, int) or samples < 1):
            raise ValueError(
                f"warm_start: num_train_samples must be a positive integer or None, got {samples!r}."
            )
        rate = self.learning_rate
        if (
            isinstance(rate, bool)
            or not isinstance(rate, (int, float))
            or not math.isfinite(rate)
            or rate <= 0
        ):
            raise ValueError(f"warm_start: learning_rate must be a positive finite number, got {rate!r}.")
        self.learning_rate = float(rate)
        if isinstance(self.image_size, bool) or not isinstance(self.image_size, int) or self.image_size < 32:
            raise ValueError(
                f"warm_start: image_size must be an integer >= 32 pixels, got {self.image_size!r}."
            )
        target = self.target_accuracy
        if target is not None:
            if isinstance(target, bool) or not isinstance(target, (int, float)) or not 0 < target <= 1:
                raise ValueError(
                    f"warm_start: target_accuracy must be a fraction in (0, 1] or None, got {target!r}."
                )
            self.target_accuracy = float(target)
        if self.family not in FAMILIES:
            raise ValueError(
                f"warm_start: unknown model family {self.family!r}; expected one of {', '.join(FAMILIES)}."
            )

    @property
    def train_samples(self) -> int:
        """``num_train_samples``, with None resolved to ``steps * batch_size``."""
        return self.steps * self.batch_size if self.num_train_samples is None else self.num_train_samples

    def resolved_arguments(self) -> dict[str, Any]:
        """The fields with ``num_train_samples`` resolved (what ``warm_start.json`` records)."""
        return asdict(self) | {"num_train_samples": self.train_samples}


def check_rl_rows_unseen(dataset_name: str, split: str, config: WarmStartConfig) -> None:
    """Refuse RL on synthetic rows the warm start was fine-tuned on.

    The warm start reads rows ``[0, config.train_samples)`` of the synthetic train split drawn with
    ``config.seed``; the RL data (`roma.data.loading`, seed 0) must start after them, e.g.
    ``dataset_train_split: train[24000:]`` for 1500 steps of 16 rows. (Another warm-start seed draws from another stream.)
    """
    from roma.data.loading import SYNTHETIC_SOURCE
    from roma.data.synthetic import parse_split_range

    if dataset_name != SYNTHETIC_SOURCE or config.seed != 0:
        return
    name, start, _ = parse_split_range(split)
    if name == "train" and start < config.train_samples:
        raise ValueError(
            f"dataset_train_split={split!r} trains RL on synthetic train rows the warm start was fine-tuned on (rows 0 to "
            f"{config.train_samples - 1}); start the RL rows after them: dataset_train_split: "
            f"'train[{config.train_samples}:]'."
        )


# ---------------------------------------------------------------------------------------------------------
# Cache key: pure functions of the settings and the base model's files.


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def base_model_identity(base_model: str | Path | None, *, family: str, seed: int) -> dict[str, Any]:
    """What identifies the starting weights, for the cache key.

    ``None``: the ``small`` tiny checkpoint that `roma.models.tiny.build_tiny_model` builds for ``family`` and
    ``seed`` (its architecture spec is part of the identity, so a changed spec is a new key). A local folder: the
    SHA-256 of every file directly inside it (config, weights, processor files), not its path, so the same
    checkpoint copied or built under another ``ROMA_CACHE`` reuses the cached warm start. Anything else is taken
    as a hub id and identified by the string.
    """
    if base_model is None:
        return {
            "build": "roma.models.tiny",
            "family": family,
            "size": BASE_MODEL_SIZE,
            "seed": seed,
            "spec": repr(get_spec(family, BASE_MODEL_SIZE)),
        }
    path = Path(base_model).expanduser()
    if path.is_dir():
        files = sorted(item for item in path.iterdir() if item.is_file())
        if not any(item.name == "config.json" for item in files):
            raise FileNotFoundError(
                f"Base model folder {str(path)!r} has no config.json: it is not a saved checkpoint."
            )
        return {"files": {item.name: _file_sha256(item) for item in files}}
    if path.exists():
        raise ValueError(f"Base model {str(path)!r} is a file; expected a checkpoint folder or a hub id.")
    return {"hub_id": str(base_model)}


def warm_start_key(base_model: str | Path | None, config: WarmStartConfig) -> dict[str, Any]:
    """Everything that determines the warm-started weights (hashed by `key_hash` into the cache folder name)."""
    return {
        "version": WARM_START_VERSION,
        "base_model": base_model_identity(base_model, family=config.family, seed=config.seed),
        "steps": config.steps,
        "batch_size": config.batch_size,
        "learning_rate": config.learning_rate,
        "lr_scheduler": LR_SCHEDULER,
        "warmup_ratio": WARMUP_RATIO,
        "seed": config.seed,
        "num_train_samples": config.train_samples,
        "image_size": config.image_size,
        "stop": None
        if config.target_accuracy is None
        else {
            "target_accuracy": config.target_accuracy,
            "eval_steps": config.eval_steps,
            "eval_samples": config.eval_samples,
            "metric": VALIDATION_METRIC,
        },
        # The CPU code paths the weights were computed with (roma.numerics): other kernels, other last bits.
        "cpu_numerics": cpu_numerics(),
        "cpu_threads": config.cpu_threads,
        # The task's own version: a changed generator is a new key even with every argument equal.
        "data": {"task": "roma.data.synthetic train split, all families", "version": SYNTHETIC_TASK_VERSION},
    }


def key_hash(key: dict[str, Any]) -> str:
    """The 12-hex-digit SHA-256 of a key's canonical JSON."""
    canonical = json.dumps(key, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def cache_folder(cache_dir: str | Path, key: dict[str, Any]) -> Path:
    """Where the warm start of ``key`` (`warm_start_key`) is kept: ``cache_dir/sft-<key_hash>``."""
    return Path(cache_dir) / f"{CACHE_PREFIX}{key_hash(key)}"


def is_complete(folder: Path, digest: str) -> bool:
    """Whether ``folder`` is a finished warm start for the key hashed to ``digest`` (its marker names it)."""
    marker = folder / MARKER_FILE
    return marker.is_file() and marker.read_text().strip() == digest


# ---------------------------------------------------------------------------------------------------------
# The warm start.


def warm_start(
    base_model: str | Path | None,
    config: WarmStartConfig,
    *,
    cache_dir: str | Path = "runs/warm_start",
    force: bool = False,
) -> Path:
    """Fine-tune ``base_model`` on the synthetic training split with TRL's `SFTTrainer`, as ``config`` says; cached.

    Args:
        base_model: a checkpoint folder or hub id; ``None`` builds the ``small`` tiny checkpoint of
            ``config.family`` (1.7 M parameters, patch 8) with ``config.seed`` first.
        config: the training settings (`WarmStartConfig`).
        cache_dir: where ``sft-<hash12>`` folders are kept.
        force: retrain (and replace the cached folder) even when a finished one exists.

    Returns:
        The folder of the warm-started checkpoint: loads with ``AutoModelForImageTextToText.from_pretrained`` and
        ``AutoProcessor.from_pretrained``; ``warm_start.json`` records the arguments, the cache key, the wall
        time and the training loss.

    In a multi-process launch (``WORLD_SIZE`` > 1) the training runs in a separate single-process Python so it
    does not join the launch's process group; call it on the main process first (the other ranks then hit the
    cache), as ``roma.scripts.train`` does.
    """
    key = warm_start_key(base_model, config)
    digest = key_hash(key)
    cache_dir = Path(cache_dir)
    final_dir = cache_folder(cache_dir, key)
    if not force and is_complete(final_dir, digest):
        logger.info("warm start: reusing cached checkpoint %s", final_dir)
        return final_dir

    cache_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_temp_folders(cache_dir, final_dir.name)
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        return _warm_start_in_subprocess(
            base_model, config, cache_dir=cache_dir, force=force, expected=final_dir
        )

    temp_dir = cache_dir / f"{TEMP_PREFIX}{final_dir.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    temp_dir.mkdir()
    try:
        with torch_threads(config.cpu_threads):
            info = _train(base_model, temp_dir, config)
        info["key"] = key
        info["key_hash"] = digest
        (temp_dir / INFO_FILE).write_text(json.dumps(info, indent=2) + "\n")
        (temp_dir / MARKER_FILE).write_text(digest + "\n")
        move_into_place(temp_dir, final_dir, lambda folder: is_complete(folder, digest), replace=force)
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)  # gone already after a successful rename
    logger.info(
        "warm start: %d steps in %.1f s, final loss %.4f -> %s",
        info["steps_trained"],
        info["train_wall_time_s"],
        info["final_loss"],
        final_dir,
    )
    return final_dir


def _remove_stale_temp_folders(cache_dir: Path, final_name: str) -> None:
    """Delete temporary folders of ``final_name`` left by runs whose process is gone (killed runs)."""
    prefix = f"{TEMP_PREFIX}{final_name}-"
    for folder in cache_dir.glob(f"{prefix}*"):
        pid_text = folder.name[len(prefix) :].split("-")[0]
        if pid_text.isdigit() and not _process_alive(int(pid_text)):
            logger.info("warm start: removing %s, left by a run that did not finish", folder)
            shutil.rmtree(folder, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's live process
        return True
    return True


def command_line(
    base_model: str | Path | None, config: WarmStartConfig, cache_dir: Path, force: bool
) -> list[str]:
    """The arguments of ``python -m roma.scripts.warm_start`` that train ``config`` (what `main` parses back)."""
    arguments = ["--cache_dir", str(cache_dir)]
    if base_model is not None:
        arguments += ["--base_model", str(base_model)]
    for name, value in config.resolved_arguments().items():
        if value is not None:  # None is each optional field's default (a parser cannot read "None")
            arguments += [f"--{name}", str(value)]
    return arguments + (["--force"] if force else [])


def _warm_start_in_subprocess(
    base_model: str | Path | None, config: WarmStartConfig, *, cache_dir: Path, force: bool, expected: Path
) -> Path:
    """Run `warm_start` in a fresh single-process Python (outside the current distributed launch)."""
    command = [
        sys.executable,
        "-m",
        "roma.scripts.warm_start",
        *command_line(base_model, config, cache_dir, force),
    ]
    env = {name: value for name, value in os.environ.items() if name not in _DISTRIBUTED_ENV_VARS}
    env = {name: value for name, value in env.items() if not name.startswith("ACCELERATE_")}
    logger.info("warm start: training in a separate process: %s", " ".join(command))
    subprocess.run(command, env=env, check=True)
    digest = expected.name[len(CACHE_PREFIX) :]
    if not is_complete(expected, digest):
        raise RuntimeError(f"The warm-start subprocess finished but {expected} is not a complete checkpoint.")
    return expected


def _train(base_model: str | Path | None, out_dir: Path, config: WarmStartConfig) -> dict[str, Any]:
    """Train into ``out_dir`` (model + processor) and return what ``warm_start.json`` records."""
    started = time.perf_counter()
    # Imported here: a cache hit (the common case) never pays for torch, transformers and TRL.
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor
    from trl import SFTTrainer

    source = base_model
    if base_model is None:
        source = build_tiny_model(config.family, out_dir / "base", size=BASE_MODEL_SIZE, seed=config.seed)
    try:
        model = AutoModelForImageTextToText.from_pretrained(str(source), dtype="float32")
        processor = AutoProcessor.from_pretrained(str(source))
    except OSError as error:
        raise FileNotFoundError(f"warm_start: cannot load base model {str(source)!r}: {error}") from None
    share_rope_index(model)  # Qwen3-VL: each row layout's positions once per batch (the same tensors)
    train_dataset = synthetic_sft_dataset(
        config.train_samples, seed=config.seed, image_size=config.image_size
    )
    args = sft_config(out_dir, config)
    # Rendering and collating a batch is ~5-10 % of a one-thread step: a DataLoader worker does it on a core the
    # training's threads leave free, beside the step (the same batches, so the same weights to the bit).
    args.dataloader_num_workers = 1 if available_cpu_cores() > torch.get_num_threads() else 0
    trainer = SFTTrainer(model=model, args=args, train_dataset=train_dataset, processing_class=processor)
    stop = in_step = None
    train_started = time.perf_counter()
    if config.target_accuracy is None:
        output = trainer.train()
    else:
        output, stop, in_step = _train_to_target(trainer, model, source, config)
    train_wall_time = time.perf_counter() - train_started
    if base_model is None:
        shutil.rmtree(out_dir / "base")
    steps_trained = trainer.state.global_step if stop is None or stop.stopped_at is None else stop.stopped_at
    losses = [
        (entry["step"], entry["loss"])
        for entry in trainer.state.log_history
        if "loss" in entry and entry["step"] <= steps_trained
    ]
    if stop is not None and stop.stopped_at is None:
        logger.warning(
            "warm start: validation answer accuracy %.3f after all %d steps, below the target %.3f",
            stop.history[-1][1] if stop.history else float("nan"),
            config.steps,
            config.target_accuracy,
        )
    final_loss = losses[-1][1] if losses else output.training_loss
    if not math.isfinite(final_loss):
        raise RuntimeError(
            f"warm_start: the training loss is {final_loss} after {config.steps} steps at "
            f"learning_rate={config.learning_rate}; "
            "lower the learning rate. Nothing was cached."
        )
    trainer.save_model(str(out_dir))  # the weights and the processor (its processing_class)
    (out_dir / "training_args.bin").unlink(missing_ok=True)  # a pickle nobody needs to load the model
    return {
        "arguments": {"base_model": None if base_model is None else str(base_model)}
        | config.resolved_arguments(),
        "train_wall_time_s": round(train_wall_time, 2),
        "total_wall_time_s": round(time.perf_counter() - started, 2),
        "final_loss": final_loss,
        # The mean of the logged losses up to the checkpoint's step (logging_steps divides eval_steps).
        "mean_train_loss": sum(loss for _, loss in losses) / len(losses) if losses else output.training_loss,
        "loss_history": losses,
        "steps_trained": steps_trained,
        "steps_run": trainer.state.global_step,
        "validation_accuracy_history": [] if stop is None else stop.history,
        "reached_target": None if stop is None else stop.stopped_at is not None,
        "validation_in_step": in_step,  # training waited for each validation (the same weights either way)
        "dataloader_workers": args.dataloader_num_workers,  # 0: the rows rendered in the training process
        "cpu_threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }


def _train_to_target(
    trainer: Any, model: Any, source: str | Path, config: WarmStartConfig
) -> tuple[Any, Any, bool]:
    """``trainer.train()`` until the first validation that reaches ``config.target_accuracy``, then ``model`` given
    back that step's weights (not those of the steps run after it); returns the training's output, the stop
    callback (its history) and whether training waited for each validation."""
    import torch

    from roma.scripts.warm_start_validation import BackgroundValidation
    from roma.trainer.callbacks import StopAtTargetInBackground

    # Validated in a second process while training goes on (the same accuracies, without the wait). It runs the
    # training's thread count: where the two would not fit on the cores together (an unpinned count is every
    # core), they take turns.
    in_step = 2 * torch.get_num_threads() > available_cpu_cores()
    with BackgroundValidation(source, config) as validation:
        stop = StopAtTargetInBackground(
            config.target_accuracy,
            config.eval_steps,
            validation.submit,
            metric=ANSWER_ACCURACY,
            in_step=in_step,
        )
        trainer.add_callback(stop)
        output = trainer.train()
    stop.restore(model)
    return output, stop, in_step


# ---------------------------------------------------------------------------------------------------------
# Command line.


@dataclass
class WarmStartCommand:
    """The command line's arguments beside `WarmStartConfig`: what to start from and where the cache is."""

    base_model: str | None = field(
        default=None,
        metadata={
            "help": "Checkpoint folder, or a roma-tiny/FAMILY-SIZE name as everywhere a model goes (default: build "
            "the small tiny model)."
        },
    )
    cache_dir: str = field(default="runs/warm_start", metadata={"help": "Where sft-<hash> folders are kept."})
    force: bool = field(default=False, metadata={"help": "Retrain even when a cached result exists."})


def parse_args(argv: list[str] | None = None) -> tuple[WarmStartConfig, WarmStartCommand]:
    """The settings and the command's arguments from ``argv`` (default sys.argv)."""
    from transformers import HfArgumentParser  # only the command line needs it

    parser = HfArgumentParser(
        (WarmStartConfig, WarmStartCommand),
        prog="roma warm-start",
        description="Supervised warm start on the synthetic task with TRL's SFTTrainer (cached).",
    )
    return tuple(parser.parse_args_into_dataclasses(args=argv))


def main(argv: list[str] | None = None) -> int:
    """Warm-start (or reuse) a checkpoint and print its folder (score it with `roma eval --benchmarks
    synthetic_validation`)."""
    pin_cpu_numerics()  # before torch's first computation (roma.numerics)
    try:
        config, command = parse_args(argv)
    except ValueError as error:  # raised by WarmStartConfig.__post_init__
        print(f"error: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        base_model = None if command.base_model is None else resolve_model(command.base_model)
        path = warm_start(base_model, config, cache_dir=command.cache_dir, force=command.force)
    except (FileNotFoundError, RuntimeError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
