"""Settings shared by the commands that run a model over benchmarks × conditions (``roma eval``, ``roma probe``).

`BenchmarkRunConfig` holds what both need (model, output folder, benchmarks, conditions, data, generation
budget, corruption seed and cache, device); `roma.evaluation.sweep_config.SweepConfig` and
`roma.evaluation.probe.ProbeConfig` extend it and redefine a field only where their default or help differs.
"""

from __future__ import annotations

import argparse
import functools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roma._lists import comma_list
from roma.cache import DEFAULT_EVAL_IMAGES_MAX_GB
from roma.evaluation.errors import EvaluationError

__all__ = ["BenchmarkRunConfig", "check_selection", "describe_negated_flags"]


def check_selection(benchmarks: str, conditions: str, severities: str) -> None:
    """Refuse now what a sweep over these benchmarks, conditions and severities refuses when it starts: an unknown
    benchmark (neither registered nor a local data file or folder), an unknown corruption or group, a severity
    outside [1, 5], a local data file that is not there; each named, with the known ones. Nothing is loaded:
    `roma train` checks the settings of its evaluations when it reads its arguments, not after its warm start."""
    from roma.evaluation.benchmarks import benchmark_class
    from roma.evaluation.benchmarks.local import is_local_dataset
    from roma.evaluation.conditions import parse_severities, resolve_conditions

    resolve_conditions(conditions, parse_severities(severities))
    names = comma_list(benchmarks)
    if not names:
        raise EvaluationError("no benchmark given (expected e.g. synthetic)")
    for name in names:
        if not is_local_dataset(name):
            benchmark_class(name)
        elif not Path(name).expanduser().exists():
            raise EvaluationError(f"benchmark {name!r}: no such data file or folder")


@dataclass
class BenchmarkRunConfig:
    """Model, benchmarks, conditions and generation settings (each field is a command-line option of that name)."""

    model: str = field(metadata={"help": "Checkpoint folder or hub id of the model."})
    out: str = field(metadata={"help": "Output folder."})
    benchmarks: str = field(default="synthetic", metadata={"help": "Comma-separated benchmark names."})
    conditions: str = field(
        default="clean,seen,unseen",
        metadata={
            "help": "Comma-separated conditions: clean, a group (seen, unseen, imagenet_c, weather, capture, all) or "
            "corruption names."
        },
    )
    severities: str = field(default="1,3,5", metadata={"help": "Comma-separated severities in [1, 5]."})
    data_dir: str | None = field(
        default=None,
        metadata={"help": "Folder with local benchmark copies (one sub-folder per benchmark); else the hub."},
    )
    hub_ids: str | None = field(
        default=None,
        metadata={"help": "Override hub ids: 'name=owner/repo[:config],...' (mirrors of a benchmark exist)."},
    )
    benchmark_module: str | None = field(
        default=None,
        metadata={
            "help": "Comma-separated modules to import before the benchmarks are looked up, e.g. "
            "my_pkg.my_bench: a module that registers benchmarks with @register_benchmark (see docs/extending.md)."
        },
    )
    max_samples: int | None = field(
        default=None,
        metadata={"help": "Evaluate only the first N samples of each benchmark split (smoke runs)."},
    )
    batch_size: int = field(default=8, metadata={"help": "Prompts per generation batch."})
    max_new_tokens: int = field(default=1024, metadata={"help": "Generation budget per response."})
    seed: int = field(default=0, metadata={"help": "Seed of the corruptions and of sampling."})
    cache_dir: str | None = field(
        default=None,
        metadata={
            "help": "Cache of corrupted images, shared across runs and models (default: eval_images/ under "
            "$ROMA_CACHE, else ~/.cache/roma)."
        },
    )
    device: str = field(
        default="auto", metadata={"help": "transformers backend device: auto, cpu, cuda, cuda:N."}
    )
    dtype: str = field(default="auto", metadata={"help": "Model dtype: auto, float32, bfloat16, float16."})
    cpu_threads: int | None = field(
        default=None,
        metadata={
            "help": "PyTorch intra-op threads while the sweep runs (torch.set_num_threads); default: PyTorch's, "
            "one per core. A float sum splits across threads, so on the CPU a greedy answer whose two best "
            "tokens tie to the last bit can change with the count: set it (the tiny recipe: 1) to score the "
            "same on every machine."
        },
    )
    cache_max_gb: float | None = field(
        default=DEFAULT_EVAL_IMAGES_MAX_GB,
        metadata={
            "help": "Size cap of the corrupted-image cache in GB; past it the least recently used images are "
            "deleted. None: no cap. `roma cache` shows and clears the cache."
        },
    )
    progress: bool = field(default=True, metadata={"help": "Show tqdm progress bars."})
    min_pixels: int | None = field(
        default=None,
        metadata={
            "help": "Smallest image area (pixels) the processor resizes to, as in training; default: model's."
        },
    )
    max_pixels: int | None = field(
        default=None,
        metadata={
            "help": "Largest image area (pixels) the processor resizes to, as in training; default: model's."
        },
    )
    instruction: str | None = field(
        default=None,
        metadata={
            "help": "Text appended to every question (the prompt template; e.g. a '<think>' format for your "
            "model); default: roma's '\\nPut the final answer in \\boxed{}.'. Grading reads the last \\boxed{} "
            "or final answer either way."
        },
    )
    system_prompt: str | None = field(
        default=None,
        metadata={"help": "System message put before every prompt (as roma train --system_prompt)."},
    )
    question_column: str = field(
        default="question",
        metadata={"help": "Local datasets in --benchmarks: column with the question (as for training)."},
    )
    image_column: str = field(
        default="image", metadata={"help": "Local datasets: column(s) with the image(s)."}
    )
    answer_column: str = field(default="answer", metadata={"help": "Local datasets: column with the answer."})

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise EvaluationError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.max_samples is not None and self.max_samples < 1:
            raise EvaluationError(f"max_samples must be >= 1, got {self.max_samples}")
        if self.cpu_threads is not None and self.cpu_threads < 1:
            raise EvaluationError(f"cpu_threads must be >= 1 (or unset), got {self.cpu_threads}")
        if self.max_new_tokens < 1:
            raise EvaluationError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if self.cache_max_gb is not None and not (
            math.isfinite(self.cache_max_gb) and self.cache_max_gb >= 0
        ):
            raise EvaluationError(
                f"cache_max_gb must be a finite number of GB >= 0 (leave it unset, None, for no cap), "
                f"got {self.cache_max_gb}"
            )

    @property
    def benchmark_names(self) -> list[str]:
        return comma_list(self.benchmarks)

    def conversation_builder(self):
        """`build_conversation` with ``instruction`` and ``system_prompt`` applied: (question, images) -> prompt."""
        from roma.data.prompts import DEFAULT_INSTRUCTION, build_conversation

        instruction = DEFAULT_INSTRUCTION if self.instruction is None else self.instruction
        return functools.partial(build_conversation, instruction=instruction, system=self.system_prompt)

    def image_cache(self):
        """The corrupted-image cache these settings name: ``cache_dir`` (default under ``$ROMA_CACHE``),
        the seed and the size cap."""
        from roma.evaluation.conditions import CorruptedImageCache, default_cache_dir

        max_bytes = None if self.cache_max_gb is None else int(self.cache_max_gb * 1024**3)
        return CorruptedImageCache(self.cache_dir or default_cache_dir(), seed=self.seed, max_bytes=max_bytes)

    def make_benchmarks(self) -> list:
        """The adapters of ``benchmarks``: a registered name (with ``--hub_ids`` overrides), or a local data
        file or folder read with the column flags."""
        from roma.evaluation.benchmarks import get_benchmark
        from roma.evaluation.benchmarks.local import LocalDataset, is_local_dataset

        overrides = self.hub_overrides()
        columns = {
            "question_column": self.question_column,
            "image_column": self.image_column,
            "answer_column": self.answer_column,
        }
        return [
            LocalDataset(name, **columns)
            if is_local_dataset(name)
            else get_benchmark(name, data_dir=self.data_dir, **overrides.get(name, {}))
            for name in self.benchmark_names
        ]

    def hub_overrides(self) -> dict[str, dict[str, str]]:
        """``--hub_ids`` as ``{benchmark: {"hub_id": ..., "hub_config": ...}}``."""
        overrides: dict[str, dict[str, str]] = {}
        for item in comma_list(self.hub_ids):
            name, sep, target = item.partition("=")
            if not sep or not target.strip():
                raise EvaluationError(f"--hub_ids entry {item!r} is not 'name=owner/repo[:config]'")
            hub_id, _, config = target.strip().partition(":")
            overrides[name.strip()] = {"hub_id": hub_id} | ({"hub_config": config} if config else {})
        return overrides


def describe_negated_flags(parser: Any) -> Any:
    """Give each ``--no_X`` switch that ``HfArgumentParser`` derives from a boolean field defaulting to True its
    own help: it copies the field's, so ``--no_progress`` said "Show tqdm progress bars. (default: False)"."""
    positive = {
        action.dest: action.help
        for action in parser._actions
        if action.option_strings and not isinstance(action, argparse._StoreFalseAction)
    }
    for action in parser._actions:
        if isinstance(action, argparse._StoreFalseAction) and action.dest in positive:
            what = (positive[action.dest] or "").strip().rstrip(".")
            meaning = f" ({what[:1].lower()}{what[1:]})" if what else ""
            action.help = f"Turn --{action.dest}{meaning} off."
            action.default = (
                argparse.SUPPRESS
            )  # the --X action sets the default; no misleading "(default: False)"
    return parser
