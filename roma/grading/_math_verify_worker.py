"""The math-verify calls themselves, and the loop of the worker process that runs them.

`roma.grading.math_equivalence` runs these functions in worker processes it can kill (``python -m
roma.grading._math_verify_worker``; this module imports nothing of roma itself). In the worker they run on the main
thread, where math-verify's own signal timeout works; the parent bounds each call by a clock on every thread and
kills a worker that overruns it (sympy can sit in one C-level big-number operation that no signal interrupts).

Protocol: one JSON line per request on stdin, ``[operation, *arguments]``; one JSON line per answer on stdout.
The worker writes ``"ready"`` once math-verify is imported, and exits at the end of its input (its parent gone).
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from typing import Any

MATH_VERIFY_TIMEOUT_SECONDS = 5
"""math-verify's own timeout per parse / verify call, armed where this runs on a main thread."""


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


def equivalent(gold: str, predicted: str) -> tuple[bool, str]:
    """Whether math-verify finds ``predicted`` equivalent to ``gold``; ``(equal, reason)``, never raises."""
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


def value(answer: str) -> float | None:
    """The real value of a closed-form answer (``\\frac{\\sqrt{3}}{2}`` -> 0.866...), else ``None``."""
    try:
        _quiet_timeout_warning()
        parsed = _parse(answer)
        if not parsed or not hasattr(parsed[0], "free_symbols") or parsed[0].free_symbols:
            return None
        number = complex(parsed[0].evalf())
    except (Exception, _timeout_exception()):
        return None
    return number.real if number.imag == 0 else None


OPERATIONS = {"equivalent": equivalent, "value": value}


class _DropTimeoutDisabledWarning(logging.Filter):
    """Drops math-verify's "Timeout is disabled" warning: off a main thread that is intended (the caller bounds
    the call). Every other math-verify message passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Timeout is disabled")


_warning_quieted = False


def _quiet_timeout_warning() -> None:
    global _warning_quieted
    if not _warning_quieted:
        for name in ("math_verify.parser", "math_verify.grader"):
            logging.getLogger(name).addFilter(_DropTimeoutDisabledWarning())
        _warning_quieted = True


def serve() -> None:
    """The worker's loop: answer requests from stdin until it closes."""
    signal.signal(
        signal.SIGINT, signal.SIG_IGN
    )  # Ctrl-C is the parent's to handle; it ends us by closing stdin
    import math_verify  # noqa: F401 - imported before "ready", so a call's clock does not count the import

    _quiet_timeout_warning()
    out = sys.stdout
    out.write('"ready"\n')
    out.flush()
    for line in sys.stdin:
        operation, *arguments = json.loads(line)
        out.write(json.dumps(OPERATIONS[operation](*arguments)) + "\n")
        out.flush()


if __name__ == "__main__":
    serve()
