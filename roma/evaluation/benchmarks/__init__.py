"""Benchmark adapters: one small class per benchmark, registered by name.

- `~roma.evaluation.benchmarks.base`: the :class:`Benchmark` base class, :class:`EvalSample`,
  :class:`BenchmarkData`;
- `~roma.evaluation.benchmarks.registry`: :func:`register_benchmark`, :func:`get_benchmark`,
  :func:`list_benchmarks`, and the plugins (``roma.benchmarks`` entry points, ``--benchmark_module``);
- `~roma.evaluation.benchmarks.sources`: local files (through the `datasets` builders), the hub, image cells;
- one module per family: `math_reasoning` (MathVista, MathVerse, MATH-Vision, We-Math, DynaMath),
  `multi_discipline` (MMMU, MMMU-Pro), `visual_reasoning` (LogicVista, MMStar, HallusionBench, ChartQA),
  `mathreal` (MathReal's real photos and its clean renditions), `synthetic` (the bundled task).

Registering a new benchmark (see ``docs/extending.md`` for doing it from your own package)::

    @register_benchmark
    class MyBench(Benchmark):
        name = "mybench"
        hub_id = "me/MyBench"
        splits = ("test",)
        id_column = "id"
        required_columns = ("id", "question", "image", "answer")

        def to_sample(self, row, split, index):
            return self.make_sample(row, split, index, question=row["question"], gold=row["answer"])
"""

from __future__ import annotations

# The built-in adapters register themselves on import.
from roma.evaluation.benchmarks import (  # noqa: F401
    math_reasoning,
    mathreal,
    multi_discipline,
    synthetic,
    visual_reasoning,
)
from roma.evaluation.benchmarks.base import (
    LETTERS,
    Benchmark,
    BenchmarkData,
    EvalSample,
    SkippedRow,
    format_options,
)
from roma.evaluation.benchmarks.registry import (
    BENCHMARK_REGISTRY,
    DEFAULT_BENCHMARKS,
    ENTRY_POINT_GROUP,
    benchmark_class,
    get_benchmark,
    import_benchmark_modules,
    list_benchmarks,
    load_benchmark_plugins,
    register_benchmark,
)
from roma.evaluation.benchmarks.sources import (
    ImageRef,
    LoadedSplit,
    read_data_file,
    resolve_image_source,
    split_matches,
)
from roma.evaluation.images import ImageSource

__all__ = [
    "BENCHMARK_REGISTRY",
    "DEFAULT_BENCHMARKS",
    "ENTRY_POINT_GROUP",
    "LETTERS",
    "Benchmark",
    "BenchmarkData",
    "EvalSample",
    "ImageRef",
    "ImageSource",
    "LoadedSplit",
    "SkippedRow",
    "benchmark_class",
    "format_options",
    "get_benchmark",
    "import_benchmark_modules",
    "list_benchmarks",
    "load_benchmark_plugins",
    "read_data_file",
    "register_benchmark",
    "resolve_image_source",
    "split_matches",
]
