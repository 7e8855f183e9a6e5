"""math-verify, callable from any thread, bounded in time and never raising.

math-verify bounds its parse and verify calls with ``signal.alarm``, which Python only allows in the main
thread: in a worker thread (a thread-pool evaluator, a reward computed off the main thread) it raises
``ValueError``, and with the timeout switched off (``None``, as here off the main thread) nothing stops
sympy. A short answer can still take forever: ``9^{9^{9^{9}}}`` makes sympy build an integer of
hundreds of millions of digits. So before sympy sees an answer, ``refusal_reason`` refuses the inputs
whose cost is unbounded, deterministically and on every thread: answers longer than
``MAX_MATH_VERIFY_CHARS``, brace nesting deeper than ``MAX_BRACE_DEPTH``, a numeric exponent or
factorial argument above ``MAX_EXACT_EXPONENT`` (towers such as ``2^{3^{4}}`` are evaluated with that
cap). The main thread keeps math-verify's signal timeout as a second guard. Any failure, including
math-verify's ``TimeoutException`` (a ``BaseException``), becomes "not equivalent" with the reason.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from typing import Any

__all__ = [
    "MAX_BRACE_DEPTH",
    "MAX_EXACT_EXPONENT",
    "MAX_MATH_VERIFY_CHARS",
    "math_equivalent",
    "math_value",
    "refusal_reason",
]

MAX_MATH_VERIFY_CHARS = 400
"""Answers longer than this are not handed to math-verify (sympy simplification grows quickly with length, and off the main thread nothing else bounds it)."""

MAX_BRACE_DEPTH = 12
"""Deeper ``{}`` nesting is not a benchmark answer, and sympy's recursive conversion grows with it."""

MAX_EXACT_EXPONENT = 10_000
"""The largest numeric exponent (or factorial argument) handed to sympy, which evaluates integer powers
exactly: ``9^{10000}`` has 9,543 digits (milliseconds), ``9^{387420489}`` would have 370 million."""

_EXPONENT_RE = re.compile(r"(\^|\*\*)\s*")
_FACTORIAL_RE = re.compile(r"(\d+)\s*!")
_NUMERIC_EXPONENT_RE = re.compile(r"^[\d.\s{}()^+\-*/]*$")
# Operators that keep an exponent numeric: dropped before the check, bounded as products.
_NUMERIC_OPERATOR_RE = re.compile(r"\\(?:cdot|times|div|frac|dfrac|tfrac|left|right)(?![a-zA-Z])")

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


def refusal_reason(answer: str) -> str | None:
    """Why ``answer`` must not reach sympy (its cost has no bound), else ``None``. Pure string checks."""
    if len(answer) > MAX_MATH_VERIFY_CHARS:
        return f"answer longer than {MAX_MATH_VERIFY_CHARS} characters"
    depth = deepest = 0
    for character in answer:
        depth += {"{": 1, "}": -1}.get(character, 0)
        deepest = max(deepest, depth)
    if deepest > MAX_BRACE_DEPTH:
        return f"braces nested {deepest} deep (more than {MAX_BRACE_DEPTH})"
    for match in _FACTORIAL_RE.finditer(answer):
        if int(match.group(1)) > MAX_EXACT_EXPONENT:
            return f"factorial of {match.group(1)} (more than {MAX_EXACT_EXPONENT})"
    for match in _EXPONENT_RE.finditer(answer):
        exponent = _NUMERIC_OPERATOR_RE.sub(" ", _exponent_text(answer, match.end()))
        if _NUMERIC_EXPONENT_RE.match(exponent) and _numeric_value_bound(exponent) > MAX_EXACT_EXPONENT:
            return f"exponent {exponent[:40]!r} above {MAX_EXACT_EXPONENT}"
    return None


def _exponent_text(text: str, start: int) -> str:
    """The exponent starting at ``start``: a braced group's content, else a number or one character."""
    if start < len(text) and text[start] == "{":
        depth = 0
        for index in range(start, len(text)):
            depth += {"{": 1, "}": -1}.get(text[index], 0)
            if depth == 0:
                return text[start + 1 : index]
        return text[start + 1 :]
    number = re.match(r"\d+(?:\.\d+)?", text[start:])
    return number.group() if number else text[start : start + 1]


def _numeric_value_bound(expression: str) -> float:
    """An upper bound on the magnitude of a numeric exponent built of numbers, ``+ - * /`` and ``^``.

    Within one ``^`` level the product of its numbers (each at least 2) bounds any sum or product of them;
    the levels are combined from the top down with ``log10``, so no big number is built here: ``12`` is
    12, ``3^{4}`` is 81, ``9^{9^{9}}`` is over the cap (``inf``).
    """
    levels = re.split(r"\^|\*\*", expression.replace("{", " ").replace("}", " "))
    value = 0.0
    for level in reversed(levels):
        base = math.prod(max(float(number), 2.0) for number in re.findall(r"\d+(?:\.\d+)?", level))
        if value == 0.0:
            value = base
        elif base <= 1:
            value = 1.0
        elif value * math.log10(base) > math.log10(MAX_EXACT_EXPONENT) + 1:
            return math.inf
        else:
            value = base**value
    return value


def math_equivalent(gold: str, predicted: str) -> tuple[bool, str]:
    """Whether math-verify finds ``predicted`` equivalent to ``gold``; ``(equal, reason)``, never raises."""
    for side, answer in (("gold", gold), ("answer", predicted)):
        refusal = refusal_reason(answer)
        if refusal is not None:
            return False, f"{side} {refusal}: math-verify skipped"
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
    if refusal_reason(answer) is not None:
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
    here by ``refusal_reason`` instead. Every other math-verify message passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Timeout is disabled")


_warning_quieted = False


def _quiet_timeout_warning() -> None:
    global _warning_quieted
    if not _warning_quieted:
        for name in ("math_verify.parser", "math_verify.grader"):
            logging.getLogger(name).addFilter(_DropTimeoutDisabledWarning())
        _warning_quieted = True
