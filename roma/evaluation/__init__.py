"""Robustness evaluation: benchmark adapters, the sweep, reports, run comparison and the corruption probe.

- `roma.evaluation.benchmarks`: adapters (``@register_benchmark``), ``get_benchmark``, ``list_benchmarks``;
- `roma.evaluation.sweep`: ``SweepConfig`` and ``run_sweep`` (``roma eval``), resumable JSONL records;
- `roma.evaluation.sharding`: data-parallel sweeps (one shard per launched process, merged by rank 0);
- `roma.evaluation.plan`: ``make_plan`` (``roma eval --plan``): work items, cache size, projected wall time;
- `roma.evaluation.reports`: ``write_reports`` (results.json, summary.csv / .md, plots);
- `roma.evaluation.compare`: ``roma compare RUN_A RUN_B ...``;
- `roma.evaluation.probe`: ``roma probe`` (token KL of the clean answer under each corruption).

Imports are lazy: ``import roma.evaluation`` loads neither transformers nor matplotlib.
"""

from __future__ import annotations

from roma._lazy import lazy_getattr

_LAZY = {
    "Benchmark": "roma.evaluation.benchmarks",
    "BenchmarkData": "roma.evaluation.benchmarks",
    "EvalSample": "roma.evaluation.benchmarks",
    "get_benchmark": "roma.evaluation.benchmarks",
    "list_benchmarks": "roma.evaluation.benchmarks",
    "register_benchmark": "roma.evaluation.benchmarks",
    "Condition": "roma.evaluation.conditions",
    "CorruptedImageCache": "roma.evaluation.conditions",
    "resolve_conditions": "roma.evaluation.conditions",
    "EvaluationError": "roma.evaluation.errors",
    "RecordStore": "roma.evaluation.records",
    "SweepConfig": "roma.evaluation.sweep_config",
    "run_sweep": "roma.evaluation.sweep",
    "Shard": "roma.evaluation.sharding",
    "SweepPlan": "roma.evaluation.plan",
    "make_plan": "roma.evaluation.plan",
    "summarize": "roma.evaluation.reports",
    "write_reports": "roma.evaluation.reports",
    "compare_runs": "roma.evaluation.compare",
    "ProbeConfig": "roma.evaluation.probe",
    "run_probe": "roma.evaluation.probe",
}

__all__ = list(_LAZY)

__getattr__ = lazy_getattr(__name__, _LAZY)
