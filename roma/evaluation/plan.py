"""``roma eval --plan``: what a sweep will run and cost, before running it.

    roma eval --plan --model PATH --out results/RUN [the options of the sweep]

The plan counts the work items (one per benchmark × condition × sample; each is ``num_samples_per_prompt``
generations) and how many of them ``--out`` already holds; sizes the corrupted-image cache the sweep will
fill (every file is a raw ``.npy`` array: its size follows from the clean image's width and height, read from
the encoded header without decoding), and what of it is already cached; then times a calibration batch
per benchmark on the actual model and device: preparing it (reading and corrupting its images, the
processor) and generating it, at the sweep's batch size, sampling settings and generation budget. The sweep
prepares the next batch while the current one generates, so a work item costs the larger of the two; the
projection is that cost times the items still to run, for one process and for data-parallel launches.

Nothing is written to the records or to the image cache (calibration corrupts into a temporary folder);
the plan itself is saved as ``plan.json`` in ``--out``.
"""

from __future__ import annotations

import io
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from roma._state_files import write_json_atomic
from roma.evaluation.backends import GenerationBackend
from roma.evaluation.benchmarks import BenchmarkData
from roma.evaluation.conditions import CorruptedImageCache
from roma.evaluation.sharding import finished_keys
from roma.evaluation.sweep import SweepRunner, batch_seed
from roma.evaluation.sweep_config import SweepConfig

__all__ = ["PLAN_FILE", "SweepPlan", "format_plan", "make_plan", "npy_file_size"]

PLAN_FILE = "plan.json"
# Data-parallel launches the projection is shown for (ideal scaling: the shards are independent).
PROJECTED_PROCESSES = (1, 2, 4, 8)


@dataclass
class ConditionWork:
    """The work items of one benchmark under one condition, and how many ``--out`` already holds."""

    benchmark: str
    condition: str
    group: str
    items: int
    done: int


@dataclass
class CacheNeed:
    """The corrupted-image cache files the sweep reads or writes."""

    directory: str
    files: int = 0
    bytes: int = 0
    cached_files: int = 0
    cached_bytes: int = 0


@dataclass
class BenchmarkTiming:
    """Seconds per work item of one benchmark's calibration batch."""

    samples: int
    prepare_s_per_item: float
    generate_s_per_item: float

    @property
    def s_per_item(self) -> float:
        # Preparation runs in a thread while the previous batch generates: the slower of the two sets the pace.
        return max(self.prepare_s_per_item, self.generate_s_per_item)


@dataclass
class SweepPlan:
    """What ``roma eval`` would run for a :class:`SweepConfig` (see the module docstring)."""

    config: dict[str, Any]
    work: list[ConditionWork]
    cache: CacheNeed
    device: str | None = None
    model_load_s: float | None = None
    timings: dict[str, BenchmarkTiming] = field(default_factory=dict)

    @property
    def items(self) -> int:
        return sum(row.items for row in self.work)

    @property
    def to_run(self) -> int:
        return sum(row.items - row.done for row in self.work)

    def projected_seconds(self, processes: int = 1) -> float | None:
        """Wall time of the remaining work with ``processes`` data-parallel processes (ideal scaling)."""
        if not self.timings:
            return None
        seconds = sum(
            (row.items - row.done) * self.timings[row.benchmark].s_per_item
            for row in self.work
            if row.benchmark in self.timings
        )
        return (self.model_load_s or 0.0) + seconds / processes

    def to_dict(self) -> dict[str, Any]:
        payload = asdict(self)
        for name, timing in self.timings.items():
            payload["timings"][name]["s_per_item"] = timing.s_per_item
        payload["items"], payload["to_run"] = self.items, self.to_run
        payload["projected_s"] = {str(p): self.projected_seconds(p) for p in PROJECTED_PROCESSES}
        return payload


@cache
def npy_file_size(height: int, width: int) -> int:
    """Bytes of the cache's ``.npy`` file of a ``height`` × ``width`` RGB uint8 image (header + pixels)."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "|u1", "fortran_order": False, "shape": (height, width, 3)}
    )
    return len(header.getvalue()) + height * width * 3


def _cache_need(runner: SweepRunner, datasets: Sequence[BenchmarkData]) -> CacheNeed:
    cache = runner.cache
    need = CacheNeed(str(cache.root))
    corrupted = [condition for condition in runner.conditions if not condition.is_clean]
    for data in datasets:
        for condition in corrupted:
            for sample in runner.condition_samples(data, condition):
                for image_index, source in enumerate(data.image_sources(sample)):
                    width, height = source.size()
                    size = npy_file_size(height, width)
                    key = cache.key(data.benchmark, sample.sample_id, image_index, condition, source.digest())
                    need.files += 1
                    need.bytes += size
                    if cache.path(data.benchmark, condition, key).exists():
                        need.cached_files += 1
                        need.cached_bytes += size
    return need


def _calibrate(runner: SweepRunner, datasets: Sequence[BenchmarkData], plan: SweepPlan) -> None:
    """Time one batch per benchmark (after an untimed warm-up batch) on the runner's model and device."""
    config = runner.config
    start = time.perf_counter()
    backend: GenerationBackend = runner.backend
    plan.model_load_s = time.perf_counter() - start
    plan.device = str(getattr(backend, "device", config.backend))
    # The first corrupted condition: its batches pay for corruption as a sweep with a cold cache does.
    condition = next((c for c in runner.conditions if not c.is_clean), runner.conditions[0])
    with (
        tempfile.TemporaryDirectory(prefix="roma-eval-plan-") as scratch,
        runner.using_image_cache(CorruptedImageCache(scratch, seed=config.seed)),
    ):
        for round_index, data in enumerate([datasets[0], *datasets]):
            batches = runner.batches(data, condition)
            if not batches:
                continue
            _, index, samples = batches[0]
            tick = time.perf_counter()
            prepared = runner.prepare(data, condition, index, samples)
            prepare_s = time.perf_counter() - tick
            tick = time.perf_counter()
            backend.generate(
                prepared.requests,
                num_samples=config.num_samples_per_prompt,
                temperature=config.temperature,
                seed=batch_seed(config.seed, data.benchmark, condition.name, index),
                inputs=prepared.inputs,
            )
            generate_s = time.perf_counter() - tick
            if round_index > 0:  # round 0 warms up (lazy initialisation, kernel selection)
                plan.timings[data.benchmark] = BenchmarkTiming(
                    len(samples), prepare_s / len(samples), generate_s / len(samples)
                )


def make_plan(
    config: SweepConfig, backend: GenerationBackend | None = None, *, calibrate: bool = True
) -> SweepPlan:
    """The plan of ``config``'s sweep; ``calibrate=False`` skips loading the model (counts and cache only)."""
    runner = SweepRunner(config, backend)
    out = Path(config.out)
    done = finished_keys(out) if out.is_dir() and not config.overwrite else set()
    datasets = [benchmark.load(config.max_samples) for benchmark in runner.benchmarks]
    work = []
    for data in datasets:
        for condition in runner.conditions:
            samples = runner.condition_samples(data, condition)
            work.append(
                ConditionWork(
                    data.benchmark,
                    condition.name,
                    condition.group,
                    len(samples),
                    sum((data.benchmark, condition.name, s.sample_id) in done for s in samples),
                )
            )
    plan = SweepPlan(asdict(config), work, _cache_need(runner, datasets))
    if calibrate and plan.to_run:
        _calibrate(runner, datasets, plan)
    return plan


def _mib(size: int) -> str:
    return f"{size / 2**30:.2f} GiB" if size >= 2**30 else f"{size / 2**20:.1f} MiB"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours:02d}h {minutes:02d}m"
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"


def format_plan(plan: SweepPlan) -> str:
    """The plan as Markdown: work items per benchmark and condition, cache, calibration and projection."""
    config = plan.config
    benchmarks = list(dict.fromkeys(row.benchmark for row in plan.work))
    conditions = list(dict.fromkeys(row.condition for row in plan.work))
    k = config["num_samples_per_prompt"]
    cut = f", --condition_sample {config['condition_sample']}" if config.get("condition_sample") else ""
    lines = [
        f"# Sweep plan: {len(benchmarks)} benchmarks × {len(conditions)} conditions (severities "
        f"{config['severities']}{cut})",
        "",
        f"{plan.items} work items ({plan.items * k} generations at avg@{k}); {plan.items - plan.to_run} already "
        f"in {config['out']}, {plan.to_run} to run.",
        "",
        "| benchmark | clean | each corrupted condition | work items | done | to run |",
        "| :--- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in benchmarks:
        rows = [row for row in plan.work if row.benchmark == name]
        clean = next((row.items for row in rows if row.group == "clean"), 0)
        corrupted = sorted({row.items for row in rows if row.group != "clean"})
        lines.append(
            f"| {name} | {clean} | {', '.join(map(str, corrupted)) or '–'} | {sum(r.items for r in rows)} | "
            f"{sum(r.done for r in rows)} | {sum(r.items - r.done for r in rows)} |"
        )
    lines += [
        "",
        "| condition | group | work items | done | to run |",
        "| :--- | :--- | ---: | ---: | ---: |",
    ]
    for name in conditions:
        rows = [row for row in plan.work if row.condition == name]
        done = sum(r.done for r in rows)
        lines.append(
            f"| {name} | {rows[0].group} | {sum(r.items for r in rows)} | {done} | "
            f"{sum(r.items for r in rows) - done} |"
        )
    cache = plan.cache
    lines += [
        "",
        f"Corrupted-image cache ({cache.directory}): {cache.files} files, {_mib(cache.bytes)}; "
        f"{cache.cached_files} files ({_mib(cache.cached_bytes)}) already cached, "
        f"{_mib(cache.bytes - cache.cached_bytes)} to write.",
    ]
    if plan.timings:
        lines += [
            "",
            f"Calibration on {plan.device} (batch {config['batch_size']}, avg@{k}, temperature "
            f"{config['temperature']:g}, max {config['max_new_tokens']} new tokens; model load "
            f"{plan.model_load_s:.1f} s):",
            "",
            "| benchmark | prepare s/item | generate s/item | s/item | to run | projected |",
            "| :--- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for name, timing in plan.timings.items():
            to_run = sum(r.items - r.done for r in plan.work if r.benchmark == name)
            lines.append(
                f"| {name} | {timing.prepare_s_per_item:.3f} | {timing.generate_s_per_item:.3f} | "
                f"{timing.s_per_item:.3f} | {to_run} | {_duration(to_run * timing.s_per_item)} |"
            )
        projections = ", ".join(
            f"{p} process{'es' if p > 1 else ''}: {_duration(plan.projected_seconds(p) or 0.0)}"
            for p in PROJECTED_PROCESSES
        )
        lines += [
            "",
            f"Projected wall time: {projections} (data-parallel processes on devices like this one, "
            "ideal scaling, model load included once).",
        ]
    elif plan.to_run:
        lines += ["", "No calibration: no projected wall time."]
    return "\n".join(lines)


def run_plan(config: SweepConfig, backend: GenerationBackend | None = None) -> SweepPlan:
    """Make the plan, save it as ``plan.json`` in ``--out`` and return it."""
    plan = make_plan(config, backend)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / PLAN_FILE, plan.to_dict())
    return plan
