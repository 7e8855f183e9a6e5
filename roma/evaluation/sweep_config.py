"""Settings of ``roma eval`` (`SweepConfig`) and the run's identity kept in ``run.json``, which every resume into
``--out`` is checked against (`check_run_file`): the sweep itself is `roma.evaluation.sweep`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roma._paths import OutputFolderError, check_output_folder
from roma._state_files import read_json_file, write_json_atomic
from roma._version import package_version
from roma.evaluation.backends import check_sampling
from roma.evaluation.benchmarks import DEFAULT_BENCHMARKS
from roma.evaluation.config import BenchmarkRunConfig
from roma.evaluation.errors import EvaluationError, RunConfigMismatchError
from roma.evaluation.run_lock import LOCK_FILE
from roma.evaluation.sharding import RECORDS_FILE, SHARD_DIR

__all__ = ["RUN_FILE", "SweepConfig", "check_run_file"]

RUN_FILE = "run.json"
# A run's identity: the settings that decide which samples and golds are scored and what a record holds.
# Resuming under different values would mix two experiments in one records.jsonl (`SweepConfig.identity`).
_IDENTITY_SETTINGS = (
    "model",
    "seed",
    "num_samples_per_prompt",
    "temperature",
    "max_new_tokens",
    "condition_sample",
    "dtype",
    "backend",
    "batch_size",  # a batch's composition and sampling seed follow from it
    "hub_ids",
    "instruction",
    "system_prompt",
    "min_pixels",
    "max_pixels",
    "question_column",  # the column flags choose the questions, images and golds of a local dataset
    "image_column",
    "answer_column",
)


@dataclass
class SweepConfig(BenchmarkRunConfig):
    """Settings of ``roma eval`` (each field is a command-line option of the same name)."""

    model: str = field(metadata={"help": "Checkpoint folder or hub id of the model to evaluate."})
    out: str = field(
        metadata={"help": "Output folder: records.jsonl, run.json, results.json, summary.*, plots/."}
    )
    benchmarks: str = field(
        default=",".join(DEFAULT_BENCHMARKS),
        metadata={"help": "Comma-separated benchmark names; by default the seven of the ROMA protocol."},
    )
    condition_sample: int | None = field(
        default=None,
        metadata={
            "help": "Budget cut: evaluate each corrupted condition on a seeded random subset of N samples per "
            "benchmark (the same subset for every condition; variant groups kept whole; clean keeps every "
            "sample). Recorded in run.json; a resume with another value is refused."
        },
    )
    backend: str = field(
        default="transformers", metadata={"help": "Generation backend: transformers or vllm."}
    )
    num_samples_per_prompt: int = field(
        default=1, metadata={"help": "k of avg@k: responses per prompt (needs --temperature > 0 when k > 1)."}
    )
    temperature: float = field(default=0.0, metadata={"help": "Sampling temperature; 0 is greedy decoding."})
    overwrite: bool = field(
        default=False, metadata={"help": "Discard existing records in --out and start over."}
    )
    device: str = field(
        default="auto",
        metadata={
            "help": "transformers backend device: auto (under a launcher: cuda:LOCAL_RANK), cpu, cuda, cuda:N."
        },
    )
    tensor_parallel_size: int = field(
        default=1,
        metadata={
            "help": "vllm backend: GPUs per engine. Under a launcher, process LOCAL_RANK uses GPUs "
            "LOCAL_RANK*T .. LOCAL_RANK*T+T-1 (one engine per data-parallel group)."
        },
    )
    strict: bool = field(
        default=False,
        metadata={
            "help": "Stop at the first row that cannot be evaluated (a missing or undecodable image, a gold that "
            "cannot be graded), naming it; by default such rows are skipped, counted and listed in skipped.json."
        },
    )
    report: bool = field(
        default=True,
        metadata={
            "help": "Write the reports when the sweep ends (false: records only; `--report_only` later)."
        },
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.condition_sample is not None and self.condition_sample < 1:
            raise EvaluationError(f"condition_sample must be >= 1, got {self.condition_sample}")
        if self.tensor_parallel_size < 1:
            raise EvaluationError(f"tensor_parallel_size must be >= 1, got {self.tensor_parallel_size}")
        if self.tensor_parallel_size > 1 and self.backend != "vllm":
            raise EvaluationError(
                f"tensor_parallel_size={self.tensor_parallel_size} needs --backend vllm (the transformers "
                "backend runs one model per process)"
            )
        check_sampling(self.num_samples_per_prompt, self.temperature)
        try:
            check_output_folder(self.out, option="--out", command="roma eval", is_own_output=_is_run_folder)
        except OutputFolderError as error:
            raise EvaluationError(str(error)) from None

    def identity(self) -> dict[str, Any]:
        """Everything that decides which samples and golds are scored and what a record holds, in one place:
        `run.json` keeps it and every resume into ``--out`` is checked against it.

        ``data_dir`` and ``datasets`` (each local ``--benchmarks`` path) are kept resolved, so the same folder
        named another way is the same run. Settings that only choose *which* records to add (``benchmarks``,
        ``conditions``, ``severities``, ``max_samples``) or where things run (``device``, ``cache_dir``) are not
        part of it.
        """
        from roma.evaluation.benchmarks.local import is_local_dataset, local_dataset_name

        identity = {name: getattr(self, name) for name in _IDENTITY_SETTINGS}
        identity["data_dir"] = (
            None if self.data_dir is None else str(Path(self.data_dir).expanduser().resolve())
        )
        identity["datasets"] = {
            local_dataset_name(name): str(Path(name).expanduser().resolve())
            for name in self.benchmark_names
            if is_local_dataset(name)
        }
        return identity


def _is_run_folder(path: Path) -> bool:
    """A folder a sweep wrote into (resumable): it holds one of the sweep's own files."""
    own_files = (RUN_FILE, RECORDS_FILE, SHARD_DIR, LOCK_FILE, "plan.json")  # plan.PLAN_FILE: plan imports us
    return any((path / name).exists() for name in own_files)


def check_run_file(out: Path, config: SweepConfig, overwrite: bool) -> None:
    """Refuse a resume whose identity (`SweepConfig.identity`) differs from the one in ``out/run.json``, naming
    the field; then write this run's settings and identity there."""
    path = out / RUN_FILE
    identity = config.identity()
    if path.exists() and not overwrite:
        previous = read_json_file(
            path,
            error=RunConfigMismatchError,
            remedy=f"it holds the settings the records in {out} were made with, so the resume cannot be checked: "
            "pass --overwrite to discard the records, or choose another --out",
        )
        if not isinstance(previous, dict):
            raise RunConfigMismatchError(
                f"{path} is not a JSON object of settings; pass --overwrite or choose another --out"
            )
        # Files written before the identity was kept hold the settings at the top level.
        recorded = previous.get("identity", previous)
        for name, value in identity.items():
            if name not in recorded or (recorded is previous and name in ("data_dir", "datasets")):
                continue  # an older file: its data_dir was kept as given
            before = recorded[name]
            if name == "datasets":  # benchmarks may be added: compare the ones both runs name
                shared = sorted(set(before) & set(value))
                name, before, value = next(
                    (
                        (f"datasets[{key!r}]", before[key], value[key])
                        for key in shared
                        if before[key] != value[key]
                    ),
                    (name, None, None),
                )
            if before != value:
                raise RunConfigMismatchError(
                    f"{out} holds records of a run with {name}={before!r}, this one has {name}={value!r}; "
                    "pass --overwrite to discard them or choose another --out"
                )
    payload = dataclasses.asdict(config) | {"identity": identity, "roma_version": package_version()}
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, payload)
