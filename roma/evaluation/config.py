"""Settings shared by the commands that run a model over benchmarks × conditions (``roma eval``, ``roma probe``).

`BenchmarkRunConfig` holds what both need (model, output folder, benchmarks, conditions, data, generation
budget, corruption seed and cache, device); `roma.evaluation.sweep.SweepConfig` and
`roma.evaluation.probe.ProbeConfig` extend it and redefine a field only where their default or help differs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from roma.evaluation.errors import EvaluationError

__all__ = ["BenchmarkRunConfig"]


@dataclass
class BenchmarkRunConfig:
    """Model, benchmarks, conditions and generation settings (each field is a command-line option of that name)."""

    model: str = field(metadata={"help": "Checkpoint folder or hub id of the model."})
    out: str = field(metadata={"help": "Output folder."})
    benchmarks: str = field(default="synthetic", metadata={"help": "Comma-separated benchmark names."})
    conditions: str = field(
        default="clean,seen,unseen",
        metadata={
            "help": "Comma-separated conditions: clean, a group (seen, unseen, all) or corruption names."
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
            "help": "Cache of corrupted images, shared across runs and models (default ~/.cache/roma)."
        },
    )
    device: str = field(
        default="auto", metadata={"help": "transformers backend device: auto, cpu, cuda, cuda:N."}
    )
    dtype: str = field(default="auto", metadata={"help": "Model dtype: auto, float32, bfloat16, float16."})
    progress: bool = field(default=True, metadata={"help": "Show tqdm progress bars."})

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise EvaluationError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.max_samples is not None and self.max_samples < 1:
            raise EvaluationError(f"max_samples must be >= 1, got {self.max_samples}")
        if self.max_new_tokens < 1:
            raise EvaluationError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")

    @property
    def benchmark_names(self) -> list[str]:
        return [name.strip() for name in self.benchmarks.split(",") if name.strip()]

    def hub_overrides(self) -> dict[str, dict[str, str]]:
        """``--hub_ids`` as ``{benchmark: {"hub_id": ..., "hub_config": ...}}``."""
        overrides: dict[str, dict[str, str]] = {}
        for item in (self.hub_ids or "").split(","):
            if not item.strip():
                continue
            name, sep, target = item.partition("=")
            if not sep or not target.strip():
                raise EvaluationError(f"--hub_ids entry {item!r} is not 'name=owner/repo[:config]'")
            hub_id, _, config = target.strip().partition(":")
            overrides[name.strip()] = {"hub_id": hub_id} | ({"hub_config": config} if config else {})
        return overrides
