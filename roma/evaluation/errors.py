"""Errors of the evaluation harness: each names the benchmark, sample, field or file at fault.

The command-line entry points catch :class:`EvaluationError` and print its message instead of a traceback.
"""

from __future__ import annotations


class EvaluationError(ValueError):
    """Base class: a problem with the evaluation's input that the user can fix."""


class UnknownBenchmarkError(EvaluationError, KeyError):
    """A benchmark name that no adapter is registered under."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class BenchmarkLoadError(EvaluationError):
    """A benchmark that could be found neither under ``--data_dir`` nor on the hub, or a file it cannot read."""


class MalformedSampleError(EvaluationError):
    """A row whose gold answer, options or another field cannot be used as written."""


class MissingImageError(EvaluationError):
    """A row whose image is absent (null column, missing file, undecodable bytes)."""


class RunConfigMismatchError(EvaluationError):
    """An output folder holding records of a sweep run with different settings."""
