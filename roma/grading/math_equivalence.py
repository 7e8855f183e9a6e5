"""math-verify, callable from any thread and never raising.

math-verify bounds its parse and verify calls with ``signal.alarm``, which Python only allows in the main
thread: in a worker thread (a thread-pool evaluator, a reward computed off the main thread) it raises
``ValueError``. The signal timeout is used in the main thread and switched off (``None``) elsewhere; in
that case the answers handed over are length-capped instead, so one pathological completion cannot hang
a worker for long. Any failure, including math-verify's ``TimeoutException`` (a ``BaseException``),
becomes "not equivalent" with the reason.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

__all__ = ["MAX_MATH_VERIFY_CHARS", "math_equivalent", "math_value"]

MAX_MATH_VERIFY_CHARS = 400
"""Answers longer than this are not handed to math-verify (sympy simplification grows quickly with length, and off the main thread nothing else bounds it)."""

MATH_VERIFY_TIMEOUT_SECONDS = 5
"""math-verify's own per-call timeout in the main thread."""


def _timeout() -> int | None:
    return MATH_VERIFY_TIMEOUT_SECONDS if threading.current_thread() is threading.main_thread() else None


def _timeout_exception() -> type[BaseException]:
    """math-verify's timeout error, which derives from ``BaseException`` so ``except Exception`` misses it."""
    from math_verify.errors import TimeoutException

    return TimeoutException


def _parse(answer: str) -> list[Any]:
    from math_verify import parse

    # Wrapped in \boxed so math-verify reads the whole answer as one LaTeX expression; unwrapped,
    # "(1, 2)" would be read as the bare number 2.
    return parse(f"\\boxed{{{answer}}}", parsing_timeout=_timeout())


def math_equivalent(gold: str, predicted: str) -> tuple[bool, str]:
    """Whether math-verify finds ``predicted`` equivalent to ``gold``; ``(equal, reason)``, never raises."""
    if len(gold) > MAX_MATH_VERIFY_CHARS or len(predicted) > MAX_MATH_VERIFY_CHARS:
        return False, f"answer longer than {MAX_MATH_VERIFY_CHARS} characters, math-verify skipped"
    try:
        from math_verify import verify

        _quiet_timeout_warning()
        gold_parsed = _parse(gold)
        predicted_parsed = _parse(predicted)
        if not gold_parsed:
            return False, f"math-verify could not parse gold {gold!r}"
        if not predicted_parsed:
            return False, f"math-verify could not parse {predicted!r}"
        equal = verify(gold_parsed, predicted_parsed, timeout_seconds=_timeout())
    except (Exception, _timeout_exception()) as error:
        return False, f"math-verify failed: {type(error).__name__}: {error}"
    return bool(equal), "math-verify equivalent" if equal else "math-verify not equivalent"


def math_value(answer: str) -> float | None:
    """The numeric value of a closed-form answer (``\\frac{\\sqrt{3}}{2}`` -> 0.866...), else ``None``."""
    if len(answer) > MAX_MATH_VERIFY_CHARS:
        return None
    try:
        _quiet_timeout_warning()
        parsed = _parse(answer)
        if not parsed or not hasattr(parsed[0], "free_symbols") or parsed[0].free_symbols:
            return None
        value = complex(parsed[0].evalf())
    except (Exception, _timeout_exception()):
        return None
    return value.real if value.imag == 0 else None


class _DropTimeoutDisabledWarning(logging.Filter):
    """Drops math-verify's "Timeout is disabled" warning: off the main thread that is intended, and bounded
    here by ``MAX_MATH_VERIFY_CHARS`` instead. Every other math-verify message passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Timeout is disabled")


_warning_quieted = False


def _quiet_timeout_warning() -> None:
    global _warning_quieted
    if not _warning_quieted:
        for name in ("math_verify.parser", "math_verify.grader"):
            logging.getLogger(name).addFilter(_DropTimeoutDisabledWarning())
        _warning_quieted = True
