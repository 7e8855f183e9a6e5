"""The robustness sweep: benchmarks × conditions (clean, seen and unseen corruptions × severities).

For each benchmark and condition the samples are cut into fixed batches (sample ``i`` is always in batch
``i // batch_size``), so a resumed sweep generates every batch with the same composition and the same
sampling seed as an uninterrupted one: the records come out identical.

Everything a batch needs before generation (images read from the cache or corrupted and stored, the
processor's inputs) is prepared in one background thread while the previous batch generates; the pipeline
runs across the conditions of a benchmark, so the first batch of a condition is ready when the last batch of
the previous one finishes. Generation releases the GIL (GPU kernels, torch's CPU kernels), and so do PNG
decoding and encoding and the corruptions' array work, so the preparation is hidden behind generation.

Under ``torchrun`` or ``accelerate launch`` each process runs every ``WORLD_SIZE``-th batch of that fixed list
into its own record file, and rank 0 merges them at the end (`roma.evaluation.sharding`). ``roma eval
--plan`` counts the work and projects its wall time before running anything (`roma.evaluation.plan`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roma._lists import comma_list
from roma.degrade import rng_for
from roma.evaluation.backends import GenerationBackend, GenerationRequest, make_backend
from roma.evaluation.benchmarks import (
    BenchmarkData,
    EvalSample,
    SkippedRow,
    import_benchmark_modules,
)
from roma.evaluation.conditions import (
    Condition,
    CorruptedImageCache,
    condition_subset,
    parse_severities,
    resolve_conditions,
)
from roma.evaluation.errors import EvaluationError, MalformedSampleError, MissingImageError
from roma.evaluation.records import RecordKey, SweepRecord
from roma.evaluation.reports import SKIPPED_FILE, write_reports, write_skipped_rows
from roma.evaluation.run_lock import run_lock
from roma.evaluation.sharding import (
    RECORDS_FILE,
    Shard,
    ShardBarrier,
    ShardedRecordStore,
    merge_records,
    remove_records,
    visible_devices,
)
from roma.evaluation.sweep_config import RUN_FILE, SweepConfig, check_run_file
from roma.grading import grade
from roma.numerics import torch_threads

__all__ = ["RECORDS_FILE", "RUN_FILE", "SweepConfig", "prompt_hash", "run_sweep"]

logger = logging.getLogger(__name__)


def prompt_hash(conversation: list[dict[str, Any]]) -> str:
    """A short, model-independent hash of a conversation (text and image placeholders)."""
    return hashlib.sha256(json.dumps(conversation, sort_keys=True).encode()).hexdigest()[:16]


def batch_seed(seed: int, benchmark: str, condition: str, batch_index: int) -> int:
    """The sampling seed of one batch, stable across processes and resumptions."""
    return int(rng_for(seed, "sampling", benchmark, condition, batch_index).integers(2**31))


class _Stopped(Exception):
    """A batch's preparation abandoned because the sweep is ending."""


@dataclass
class _PreparedBatch:
    condition: Condition
    index: int
    samples: list[EvalSample]  # those with readable images, one per request
    requests: list[GenerationRequest]
    inputs: Any  # the backend's prepare_inputs(requests); None for a batch left without samples
    skipped: list[SkippedRow] = field(default_factory=list)  # images that did not decode


# (condition, batch index, samples): one batch still to generate.
_BatchWork = tuple[Condition, int, list[EvalSample]]


# Called after each batch is on disk with the number of records this process has written so far.
RecordsWrittenCallback = Callable[[int], None]


def vllm_visible_devices(devices: Sequence[int], visible: str | None, device_count: int) -> str:
    """``CUDA_VISIBLE_DEVICES`` showing only ``devices`` (indices among the ``visible`` ones, a comma list, or
    all ``device_count`` GPUs when unset)."""
    ids = comma_list(visible) if visible else [str(index) for index in range(device_count)]
    return ",".join(ids[index] for index in devices)


class SweepRunner:
    """Runs a :class:`SweepConfig`; ``backend`` may be given to reuse a loaded model (benchmarks, tests).

    ``on_records_written`` is called after every batch is appended (flushed and fsynced) to the records, with the
    number of records this process has written so far: a caller can report progress, or stop the process
    there (the records on disk are then a resumable prefix). ``loaded``: the benchmarks an earlier sweep of the
    same data settings loaded, by name and sample count, reused and added to (the synthetic test split is rendered
    as it loads: ~2 s for 1,024 images, once per sweep of a condition of the start, `roma.scripts.start_scores`).
    """

    def __init__(
        self,
        config: SweepConfig,
        backend: GenerationBackend | None = None,
        *,
        on_records_written: RecordsWrittenCallback | None = None,
        loaded: dict[tuple[str, int | None], BenchmarkData] | None = None,
    ):
        self.config = config
        self._loaded = {} if loaded is None else loaded
        self.out = Path(config.out)
        self.severities = parse_severities(config.severities)
        self.conditions = resolve_conditions(config.conditions, self.severities)
        overrides = config.hub_overrides()
        unknown_overrides = set(overrides) - set(config.benchmark_names)
        if unknown_overrides:
            raise EvaluationError(
                f"--hub_ids names benchmarks not in --benchmarks: {sorted(unknown_overrides)}"
            )
        # Fail on an unknown benchmark name before loading a model.
        import_benchmark_modules(config.benchmark_module)
        self.benchmarks = config.make_benchmarks()
        self.cache = config.image_cache()
        self._build_conversation = config.conversation_builder()
        self._backend = backend
        self._on_records_written = on_records_written
        self.shard = Shard.from_env()
        self._subsets: dict[str, list[EvalSample]] = {}
        self._written = 0
        self._stopping = threading.Event()
        # {benchmark: {sample id: row}}: samples whose image did not decode when their batch was prepared.
        self._skipped_while_running: dict[str, dict[str, SkippedRow]] = {}

    @property
    def backend(self) -> GenerationBackend:
        """The generation backend: the one given, else loaded by `load_backend` on first use."""
        if self._backend is None:
            self._backend = self.load_backend()
        return self._backend

    def load_backend(self) -> GenerationBackend:
        """Load the model on this process's device (each process of a launch on its own GPU(s)).

        The one change a sweep makes to its environment happens here, where the backend is created: in a
        multi-process vLLM launch, ``CUDA_VISIBLE_DEVICES`` is set to this process's GPU group first (vLLM places
        its engine on the visible GPUs, `vllm_visible_devices`).
        """
        import torch

        device = self.config.device
        if self.shard.distributed and torch.cuda.is_available():
            devices = visible_devices(self.shard, self.config.tensor_parallel_size, torch.cuda.device_count())
            if self.config.backend == "vllm":
                os.environ["CUDA_VISIBLE_DEVICES"] = vllm_visible_devices(
                    devices, os.environ.get("CUDA_VISIBLE_DEVICES"), torch.cuda.device_count()
                )
            device = f"cuda:{devices[0]}" if self.config.device == "auto" else self.config.device
        return make_backend(
            self.config.backend,
            self.config.model,
            max_new_tokens=self.config.max_new_tokens,
            device=device,
            dtype=self.config.dtype,
            tensor_parallel_size=self.config.tensor_parallel_size,
            min_pixels=self.config.min_pixels,
            max_pixels=self.config.max_pixels,
        )

    @contextlib.contextmanager
    def using_image_cache(self, cache: CorruptedImageCache) -> Iterator[None]:
        """Prepare batches with ``cache`` instead of the configured one inside the block (`roma eval --plan`
        times corruption with a cold scratch cache)."""
        configured, self.cache = self.cache, cache
        try:
            yield
        finally:
            self.cache = configured

    def condition_samples(self, data: BenchmarkData, condition: Condition) -> list[EvalSample]:
        """The samples evaluated under ``condition``: all of them, or the ``--condition_sample`` subset."""
        if condition.is_clean or self.config.condition_sample is None:
            return data.samples
        if data.benchmark not in self._subsets:
            self._subsets[data.benchmark] = condition_subset(
                data.samples, self.config.condition_sample, self.config.seed, data.benchmark
            )
        return self._subsets[data.benchmark]

    def conversation(self, sample: EvalSample) -> list[dict[str, Any]]:
        return self._build_conversation(sample.question, len(sample.images))

    def prepare(
        self, data: BenchmarkData, condition: Condition, index: int, samples: list[EvalSample]
    ) -> _PreparedBatch:
        """One batch ready to generate: its images under ``condition`` and the backend's inputs.

        A sample whose image does not decode (one the check at load let through) is left out of the batch and
        listed, as at load; with ``--strict`` it stops the sweep."""
        requests, kept, skipped = [], [], []
        for sample in samples:
            if self._stopping.is_set():  # the sweep is ending (Ctrl-C, an error): this batch is not wanted
                raise _Stopped
            # Undecoded sources: a cache hit is found from the encoded bytes, the clean image never decoded;
            # a miss or the clean condition decodes it once.
            try:
                images = [
                    self.cache.get(source, data.benchmark, sample.sample_id, image_index, condition)
                    for image_index, source in enumerate(data.image_sources(sample))
                ]
            except MissingImageError as error:
                if self.config.strict:
                    raise EvaluationError(f"{error} (--strict: without it the row is skipped)") from None
                skipped.append(
                    SkippedRow(sample.sample_id, sample.split, sample.row, sample.source, str(error))
                )
                continue
            kept.append(sample)
            requests.append(GenerationRequest(self.conversation(sample), images))
        inputs = self.backend.prepare_inputs(requests) if requests else None
        return _PreparedBatch(condition, index, kept, requests, inputs, skipped)

    def _prepared(self, data: BenchmarkData, work: Sequence[_BatchWork]) -> Iterator[_PreparedBatch]:
        """Prepared batches in order, the next one computed in a thread while the caller generates.

        Closed early (an error, Ctrl-C), the thread stops after the image it is on, not after its batch: the
        process ends within moments of the interruption."""
        if not work:
            return
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="roma-eval-prepare")
        try:
            pending = iter(work)
            # One batch ahead: its preparation overlaps the generation of the batch just handed out.
            futures = deque([pool.submit(self.prepare, data, *next(pending))])
            while futures:
                prepared = futures.popleft().result()
                upcoming = next(pending, None)
                if upcoming is not None:
                    futures.append(pool.submit(self.prepare, data, *upcoming))
                yield prepared
        finally:
            self._stopping.set()
            pool.shutdown(wait=True, cancel_futures=True)
            self._stopping.clear()

    def grade_batch(
        self, prepared: _PreparedBatch, condition: Condition, responses: list[list[str]]
    ) -> list[SweepRecord]:
        records = []
        for sample, request, texts in zip(prepared.samples, prepared.requests, responses):
            try:
                grades = [grade(text, sample.gold, **sample.grade_kwargs()) for text in texts]
            except (ValueError, TypeError) as error:
                raise MalformedSampleError(
                    f"{sample.benchmark} sample '{sample.sample_id}' ({sample.source}): gold {sample.gold!r} "
                    f"cannot be graded as {sample.answer_type}: {error}"
                ) from None
            num_correct = sum(g.correct for g in grades)
            records.append(
                SweepRecord(
                    benchmark=sample.benchmark,
                    sample_id=sample.sample_id,
                    condition=condition.name,
                    group=condition.group,
                    corruption=condition.corruption,
                    severity=condition.severity,
                    prompt_hash=prompt_hash(request.conversation),
                    responses=texts,
                    extracted=[g.extracted for g in grades],
                    gold=sample.gold,
                    answer_type=sample.answer_type,
                    correct=num_correct / len(grades),
                    num_correct=num_correct,
                    reasons=[g.reason for g in grades],
                    group_id=sample.group_id,
                    tags=sample.tags or None,
                )
            )
        return records

    def batches(self, data: BenchmarkData, condition: Condition) -> list[_BatchWork]:
        """Every batch of ``condition``, in order: a fixed list, whatever is done already."""
        samples, size = self.condition_samples(data, condition), self.config.batch_size
        return [
            (condition, start // size, list(samples[start : start + size]))
            for start in range(0, len(samples), size)
        ]

    def pending_work(
        self,
        data: BenchmarkData,
        condition: Condition,
        store: ShardedRecordStore,
        first_batch_number: int = 0,
    ) -> list[_BatchWork]:
        """This process's batches of ``condition`` with at least one sample not in ``store``.

        ``first_batch_number``: the position of the condition's first batch in the sweep's batch list, which
        the processes of a launch share out (:meth:`Shard.owns`).
        """
        return [
            (condition, index, samples)
            for condition, index, samples in self.batches(data, condition)
            if self.shard.owns(first_batch_number + index)
            and any((data.benchmark, condition.name, s.sample_id) not in store for s in samples)
        ]

    def run_condition(
        self,
        data: BenchmarkData,
        condition: Condition,
        store: ShardedRecordStore,
        pending: list[_BatchWork],
        prepared_batches: Iterator[_PreparedBatch],
    ) -> None:
        """Generate, grade and store the ``pending`` batches of ``condition``, taken from ``prepared_batches``."""
        from tqdm.auto import tqdm

        samples = [s for work in pending for s in work[2]]
        done = sum((data.benchmark, condition.name, s.sample_id) in store for s in samples)
        with tqdm(
            total=len(samples),
            initial=done,
            desc=f"{data.benchmark} | {condition.name}",
            unit="sample",
            disable=not self.config.progress,
            leave=False,
            dynamic_ncols=True,
        ) as bar:
            for _ in pending:
                prepared = next(prepared_batches)
                assert prepared.condition == condition, "the prepared batches are out of order"
                for row in prepared.skipped:
                    self._skipped_while_running.setdefault(data.benchmark, {}).setdefault(row.sample_id, row)
                if not prepared.requests:
                    continue
                responses = self.backend.generate(
                    prepared.requests,
                    num_samples=self.config.num_samples_per_prompt,
                    temperature=self.config.temperature,
                    seed=batch_seed(self.config.seed, data.benchmark, condition.name, prepared.index),
                    inputs=prepared.inputs,
                )
                written = store.append(self.grade_batch(prepared, condition, responses))
                bar.update(written)
                self._written += written
                if self._on_records_written is not None:
                    self._on_records_written(self._written)

    def run(self) -> dict[str, Any]:
        """Run every benchmark × condition not yet in the records, then write the reports.

        Rank 0 holds ``--out``'s lock throughout (`roma.evaluation.run_lock`): a second sweep into the same
        folder is refused."""
        with run_lock(self.out) if self.shard.is_main else contextlib.nullcontext():
            return self._run()

    def _run(self) -> dict[str, Any]:
        from tqdm.auto import tqdm

        barrier = ShardBarrier(self.shard)
        if self.shard.is_main:
            check_run_file(self.out, self.config, self.config.overwrite)
            if self.config.overwrite:
                remove_records(self.out)
        barrier.wait("run-file")  # no process reads the records before rank 0 has checked or removed them
        store = ShardedRecordStore(self.out, self.shard)
        order: dict[RecordKey, int] = {}  # the one-process order of the records, for the merge
        batch_number = 0
        skipped: dict[str, list[dict[str, Any]]] = {}
        for benchmark in self.benchmarks:
            key = (benchmark.name, self.config.max_samples)
            if key not in self._loaded:
                self._loaded[key] = benchmark.load(self.config.max_samples)
            data = self._loaded[key]
            if data.skipped and self.config.strict:
                raise EvaluationError(
                    f"{benchmark.name}: {len(data.skipped)} row(s) cannot be evaluated (--strict stops here; without "
                    f"it they are skipped and listed in {SKIPPED_FILE}); first: {data.skipped[0].reason}"
                )
            if data.skipped:
                skipped[benchmark.name] = [row.to_json() for row in data.skipped]
                logger.warning(
                    "%s: %d row(s) cannot be evaluated and are skipped (listed in %s): %s",
                    benchmark.name,
                    len(data.skipped),
                    SKIPPED_FILE,
                    data.skipped[0].reason,
                )
            logger.info("%s: %d samples × %d conditions", benchmark.name, len(data), len(self.conditions))
            pending = {}
            for condition in self.conditions:
                pending[condition.name] = self.pending_work(data, condition, store, batch_number)
                batch_number += len(self.batches(data, condition))
                for sample in self.condition_samples(data, condition):
                    order.setdefault((data.benchmark, condition.name, sample.sample_id), len(order))
            work = [batch for condition in self.conditions for batch in pending[condition.name]]
            if work:
                _ = self.backend  # load the model here, not in the preparation thread
            # One pipeline for the whole benchmark: preparation runs ahead across condition boundaries.
            prepared_batches = self._prepared(data, work)
            try:
                for condition in tqdm(
                    self.conditions,
                    desc=f"{benchmark.name} conditions",
                    unit="condition",
                    disable=not self.config.progress,
                    dynamic_ncols=True,
                ):
                    self.run_condition(data, condition, store, pending[condition.name], prepared_batches)
            finally:
                prepared_batches.close()  # an error stops the thread after its current batch
            late = self._skipped_while_running.get(benchmark.name, {})
            if late:
                skipped.setdefault(benchmark.name, []).extend(row.to_json() for row in late.values())
                logger.warning(
                    "%s: %d sample(s) skipped: an image did not decode (listed in %s): %s",
                    benchmark.name,
                    len(late),
                    SKIPPED_FILE,
                    next(iter(late.values())).reason,
                )
        barrier.wait("records")  # every shard's records are on disk
        if not self.shard.is_main:
            return {}
        if self.shard.distributed or store.elsewhere:
            merge_records(self.out, order)
        write_skipped_rows(self.out, skipped)
        if not self.config.report:
            return {}
        return write_reports(self.out)


def run_sweep(
    config: SweepConfig,
    backend: GenerationBackend | None = None,
    *,
    on_records_written: RecordsWrittenCallback | None = None,
    loaded: dict[tuple[str, int | None], BenchmarkData] | None = None,
) -> dict[str, Any]:
    """Run (or resume) a sweep and write its reports; returns the content of ``results.json`` ({} without reports).

    ``backend``, ``on_records_written`` and ``loaded``: see :class:`SweepRunner`.
    """
    with torch_threads(config.cpu_threads) if config.cpu_threads else contextlib.nullcontext():
        return SweepRunner(config, backend, on_records_written=on_records_written, loaded=loaded).run()
