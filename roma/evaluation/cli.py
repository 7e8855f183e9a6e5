"""``roma eval``: run or resume a robustness sweep and write its reports.

    roma eval --model PATH --benchmarks mathvista,mathverse --conditions clean,seen,unseen --severities 1,3,5 \\
        --out results/RUN [--data_dir DIR] [--max_samples N] [--batch_size B] [--backend transformers|vllm] \\
        [--num_samples_per_prompt k --temperature T] [--seed 0] [--cache_dir DIR] [--overwrite]

``roma eval --config FILE.yaml [--option value ...]`` reads the options from a YAML file (keys are the option
names; the command line overrides them), e.g. ``eval/configs/seven_benchmarks.yaml``. ``roma eval
--list_benchmarks [--benchmark_module my_pkg.my_bench]`` lists the registered benchmark adapters (installed
plugins and the modules given included); ``roma eval --report_only --out RUN`` rebuilds the reports of a run from
its records. ``roma eval --plan ...`` (the sweep's options) prints the
work items, the image cache it needs and a projected wall time from a calibration batch, and runs nothing.
Under ``torchrun`` / ``accelerate launch`` each process runs one shard (`roma.evaluation.sharding`).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import yaml

from roma._messages import with_suggestions
from roma.degrade import DegradationError
from roma.evaluation.benchmarks import (
    BENCHMARK_REGISTRY,
    DEFAULT_BENCHMARKS,
    import_benchmark_modules,
    list_benchmarks,
)
from roma.evaluation.config import describe_negated_flags
from roma.evaluation.errors import EvaluationError
from roma.evaluation.plan import format_plan, run_plan
from roma.evaluation.reports import write_reports
from roma.evaluation.sharding import Shard, finished_keys
from roma.evaluation.sweep import run_sweep
from roma.evaluation.sweep_config import SweepConfig

__all__ = ["build_parser", "main"]


def build_parser():  # -> transformers.HfArgumentParser
    """The parser of ``roma eval``: one option per :class:`~roma.evaluation.sweep_config.SweepConfig` field."""
    from transformers import HfArgumentParser  # not on the --list_benchmarks / --report_only paths

    parser = HfArgumentParser(
        SweepConfig,
        prog="roma eval",
        description="Robustness sweep: benchmarks × clean / seen / unseen corruptions × severities. Resumable: "
        "rerun the same command to continue an interrupted sweep.",
    )
    parser.add_argument(
        "--config",
        default=None,
        help="YAML file of options (keys: the option names); options on the command line override it.",
    )
    parser.add_argument(
        "--list_benchmarks", action="store_true", help="List the registered benchmarks and exit."
    )
    parser.add_argument(
        "--report_only", action="store_true", help="Only rebuild the reports of --out from its records."
    )
    parser.add_argument(
        "--plan",
        action="store_true",
        help="Print the work items, the image cache size and a projected wall time (from a calibration batch "
        "on the model and device); run nothing. Saved as plan.json in --out.",
    )
    return describe_negated_flags(parser)


def read_config_file(path: str) -> dict:
    """The options of a ``--config`` YAML file, checked against the :class:`SweepConfig` fields."""
    try:
        values = yaml.safe_load(Path(path).read_text())
    except OSError as error:
        raise EvaluationError(f"--config {path}: cannot read it ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise EvaluationError(f"--config {path}: not valid YAML ({error})") from None
    if not isinstance(values, dict):
        raise EvaluationError(f"--config {path}: expected a mapping of option names to values")
    known = [f.name for f in dataclasses.fields(SweepConfig)]
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise EvaluationError(
            f"--config {path}: unknown option(s) {with_suggestions(unknown, known)} (see roma eval --help)"
        )
    # A YAML list (benchmarks: [a, b]) means the same as the comma-separated option.
    return {key: ",".join(map(str, v)) if isinstance(v, list) else v for key, v in values.items()}


def parse_config(argv: list[str]):  # -> (SweepConfig, argparse.Namespace)
    """The :class:`SweepConfig` of a ``roma eval`` command line (``--config`` file first, then the options) and
    the namespace of the options that are not sweep settings (``--plan``, ...)."""
    parser = build_parser()
    config_path = argparse.ArgumentParser(add_help=False)
    config_path.add_argument("--config")
    path = config_path.parse_known_args(argv)[0].config
    if path is not None:
        # The file's values become the defaults, so the model and out it names satisfy the required options.
        values = read_config_file(path)
        parser.set_defaults(**values)
        for action in parser._actions:
            if action.dest in values:
                action.required = False
    return parser.parse_args_into_dataclasses(args=argv)


def _list_benchmarks(argv: list[str]) -> str:
    known = argparse.ArgumentParser(prog="roma eval --list_benchmarks", add_help=False)
    known.add_argument("--benchmark_module")
    import_benchmark_modules(known.parse_known_args(argv)[0].benchmark_module)
    classes = {cls.name: cls for cls in BENCHMARK_REGISTRY.values()}  # by name: aliases left out
    width = max(map(len, list_benchmarks()))
    lines = ["benchmarks (* = default):"]
    for name in list_benchmarks():
        cls = classes[name]
        source = (
            f"{cls.hub_id} [{', '.join(cls.splits) if len(cls.splits) < 3 else f'{len(cls.splits)} splits'}]"
            if cls.hub_id
            else "built in"
        )
        lines.append(
            f"  {'*' if name in DEFAULT_BENCHMARKS else ' '} {name:<{width}}  {cls.description}  ({source})"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--list_benchmarks" in argv:
        try:
            print(_list_benchmarks(argv))
        except EvaluationError as error:
            print(f"roma eval: error: {error}", file=sys.stderr)
            return 2
        return 0
    if "--report_only" in argv:
        known = argparse.ArgumentParser(prog="roma eval --report_only", add_help=False)
        known.add_argument("--out")
        out = known.parse_known_args(argv)[0].out
        if out is None:
            print("roma eval: error: --report_only needs --out RUN", file=sys.stderr)
            return 2
        try:
            write_reports(out)
        except EvaluationError as error:
            print(f"roma eval: error: {error}", file=sys.stderr)
            return 2
        print((Path(out) / "summary.md").read_text())
        return 0

    try:
        config, options = parse_config(argv)
    except EvaluationError as error:  # a bad --config file, or raised by SweepConfig.__post_init__
        print(f"roma eval: error: {error}", file=sys.stderr)
        return 2
    except ValueError as error:  # HfArgumentParser: arguments it did not use
        build_parser().error(str(error))
    try:
        if options.plan:
            if Shard.from_env().distributed:
                raise EvaluationError(
                    "--plan runs in one process (it projects data-parallel launches itself): run it without "
                    "torchrun / accelerate launch"
                )

            print(format_plan(run_plan(config)))
            return 0
        results = run_sweep(config)
    except KeyboardInterrupt:
        kept = len(finished_keys(config.out))
        print(
            f"interrupted: {kept} records kept in {config.out}; rerun the same command to resume",
            file=sys.stderr,
        )
        return 130  # roma.cli.INTERRUPTED: 128 + SIGINT, as a shell reports a process Ctrl-C ended
    except (EvaluationError, DegradationError) as error:
        print(f"roma eval: error: {error}", file=sys.stderr)
        return 2
    if not Shard.from_env().is_main:
        return 0  # rank 0 merges the shards and writes the reports
    if config.report:
        summary = Path(config.out) / "summary.md"
        print(summary.read_text().split("\n## ")[0])
        skipped = {name: entry["count"] for name, entry in results.get("skipped", {}).items()}
        if skipped:
            counts = ", ".join(f"{name} {count}" for name, count in skipped.items())
            print(f"rows not scored (listed in summary.md and results.json): {counts}")
        print(f"reports: {Path(config.out).resolve()} (results.json, summary.csv, summary.md, plots/)")
    else:
        print(
            f"records: {Path(config.out).resolve() / 'records.jsonl'} (reports: roma eval --report_only --out ...)"
        )
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
