"""The benchmark registry: built-in adapters, adapters of installed plugins and of modules named on the CLI.

A benchmark is registered by decorating a :class:`~roma.evaluation.benchmarks.base.Benchmark` subclass with
:func:`register_benchmark` (or calling it on the class). From outside roma, either

* install a distribution that declares an entry point in the ``roma.benchmarks`` group, whose value is a
  module (``mybench = my_pkg.bench``, registering on import) or an adapter class
  (``mybench = my_pkg.bench:MyBench``); installed plugins are loaded the first time a name is not found or the
  benchmarks are listed; or
* pass ``--benchmark_module my_pkg.bench`` to ``roma eval`` / ``roma probe``: :func:`import_benchmark_modules`
  imports it before the benchmarks are looked up.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from typing import Any

from roma._lists import comma_list
from roma.evaluation.benchmarks.base import Benchmark
from roma.evaluation.benchmarks.sources import normalise_name
from roma.evaluation.errors import BenchmarkLoadError, UnknownBenchmarkError

__all__ = [
    "BENCHMARK_REGISTRY",
    "DEFAULT_BENCHMARKS",
    "ENTRY_POINT_GROUP",
    "benchmark_class",
    "get_benchmark",
    "import_benchmark_modules",
    "list_benchmarks",
    "load_benchmark_plugins",
    "normalise_name",
    "register_benchmark",
]

# The seven benchmarks of the ROMA paper's protocol, in its order.
DEFAULT_BENCHMARKS = ("mathvista", "mathverse", "mathvision", "wemath", "logicvista", "dynamath", "mmmu_pro")
ENTRY_POINT_GROUP = "roma.benchmarks"

BENCHMARK_REGISTRY: dict[str, type[Benchmark]] = {}
# Entry points already loaded, as (distribution, name, value): each plugin is imported once per process.
_loaded_entry_points: set[tuple[str, str, str]] = set()


def register_benchmark(cls: type[Benchmark]) -> type[Benchmark]:
    """Class decorator: register a :class:`Benchmark` subclass under ``cls.name`` (and ``cls.aliases``)."""
    if not getattr(cls, "name", ""):
        raise ValueError(f"benchmark class {cls.__name__} needs a non-empty `name`")
    for key in (cls.name, *cls.aliases):
        key = normalise_name(key)
        if key in BENCHMARK_REGISTRY and BENCHMARK_REGISTRY[key] is not cls:
            raise ValueError(
                f"benchmark name {key!r} is already registered by {BENCHMARK_REGISTRY[key].__name__}"
            )
        BENCHMARK_REGISTRY[key] = cls
    return cls


def load_benchmark_plugins() -> None:
    """Load the ``roma.benchmarks`` entry points of the installed distributions not loaded yet.

    Raises:
        BenchmarkLoadError: a plugin fails to import, or its entry point names something that is not a module
            or a ``Benchmark`` subclass (the message names the entry point and its distribution).
    """
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        distribution = entry_point.dist.name if entry_point.dist is not None else "?"
        key = (distribution, entry_point.name, entry_point.value)
        if key in _loaded_entry_points:
            continue
        _loaded_entry_points.add(key)
        where = (
            f"benchmark plugin '{entry_point.name} = {entry_point.value}' "
            f"(entry point group '{ENTRY_POINT_GROUP}' of distribution '{distribution}')"
        )
        try:
            loaded = entry_point.load()
        except Exception as error:  # a broken plugin: say which one, not a deep import traceback
            raise BenchmarkLoadError(f"{where} failed to load: {type(error).__name__}: {error}") from error
        if isinstance(loaded, type) and issubclass(loaded, Benchmark):
            register_benchmark(loaded)
        elif not inspect.ismodule(loaded):
            raise BenchmarkLoadError(
                f"{where} names a {type(loaded).__name__}, expected a module or a Benchmark subclass"
            )


def import_benchmark_modules(modules: str | Sequence[str] | None) -> None:
    """Import each module of ``modules`` (a comma list or a sequence) so that it registers its benchmarks.

    Raises:
        BenchmarkLoadError: a module cannot be imported, or importing it registered no benchmark.
    """
    for name in comma_list(modules):
        if not name:
            continue
        first_import = name not in sys.modules
        before = set(BENCHMARK_REGISTRY.values())
        try:
            importlib.import_module(name)
        except Exception as error:
            hint = " (is its folder on PYTHONPATH?)" if isinstance(error, ModuleNotFoundError) else ""
            raise BenchmarkLoadError(
                f"--benchmark_module {name!r} cannot be imported{hint}: {type(error).__name__}: {error}"
            ) from error
        if first_import and set(BENCHMARK_REGISTRY.values()) == before:
            raise BenchmarkLoadError(
                f"--benchmark_module {name!r} was imported but registered no benchmark: decorate a Benchmark "
                "subclass with @roma.evaluation.benchmarks.register_benchmark in it"
            )


def list_benchmarks() -> list[str]:
    """Names of the registered benchmarks (aliases left out), installed plugins included, sorted."""
    load_benchmark_plugins()
    return sorted({cls.name for cls in BENCHMARK_REGISTRY.values()})


def benchmark_class(name: str) -> type[Benchmark]:
    """The adapter class registered as ``name`` (case, ``-`` and ``_`` do not matter), nothing loaded.

    A name not registered yet is looked up in the installed plugins (``roma.benchmarks`` entry points).

    Raises:
        UnknownBenchmarkError: listing the known names and suggesting the closest one.
    """
    key = normalise_name(name)
    if key not in BENCHMARK_REGISTRY:
        load_benchmark_plugins()
    if key not in BENCHMARK_REGISTRY:
        known = list_benchmarks()
        close = difflib.get_close_matches(key, list(BENCHMARK_REGISTRY), n=1, cutoff=0.5)
        hint = f" Did you mean '{BENCHMARK_REGISTRY[close[0]].name}'?" if close else ""
        raise UnknownBenchmarkError(
            f"unknown benchmark '{name}'.{hint} Known benchmarks: {', '.join(known)}."
        )
    return BENCHMARK_REGISTRY[key]


def get_benchmark(name: str, **kwargs: Any) -> Benchmark:
    """Instantiate the adapter registered as ``name`` (`benchmark_class`, which raises on an unknown name)."""
    return benchmark_class(name)(**kwargs)
