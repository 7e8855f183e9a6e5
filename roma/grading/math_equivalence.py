"""math-verify, callable from any thread, bounded in time and never raising.

math-verify bounds its parse and verify calls with ``signal.alarm``, which Python only allows in the main
thread: in a worker thread (a thread-pool evaluator, a reward computed off the main thread) nothing stops
sympy, and ``(x+1)^{9999}`` against ``x^{9999}+1`` ran for minutes. So every math-verify call runs in a worker
process (`_math_verify_worker`, a small pool shared by the threads of this process) under a clock kept by the
caller: past ``MATH_VERIFY_TIMEOUT_SECONDS`` the worker is killed and the answer is "not equivalent" with the
reason. That bound holds on every thread by construction, not by a signal. Before a call leaves this process,
``refusal_reason`` refuses the inputs whose cost is plainly unbounded, deterministically and without a worker:
answers longer than ``MAX_MATH_VERIFY_CHARS``, brace nesting deeper than ``MAX_BRACE_DEPTH``, a numeric
exponent or factorial argument above ``MAX_EXACT_EXPONENT`` (towers such as ``2^{3^{4}}`` are evaluated with
that cap). Any failure, including math-verify's ``TimeoutException`` (a ``BaseException``), becomes
"not equivalent" with the reason. Where no worker process can be started at all, the calls run in this process
as before (bounded by ``refusal_reason`` and, on the main thread, by math-verify's signal timeout), with one
warning.
"""

from __future__ import annotations

import atexit
import json
import logging
import math
import os
import queue
import re
import subprocess
import sys
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from roma.grading import _math_verify_worker
from roma.numerics import available_cpu_cores

__all__ = [
    "MAX_BRACE_DEPTH",
    "MAX_EXACT_EXPONENT",
    "MAX_MATH_VERIFY_CHARS",
    "MATH_VERIFY_TIMEOUT_SECONDS",
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

MATH_VERIFY_TIMEOUT_SECONDS = _math_verify_worker.MATH_VERIFY_TIMEOUT_SECONDS
"""The longest one math-verify call may take, on any thread: the worker running it is killed past it."""

WORKER_START_SECONDS = 120
"""How long a new worker may take to import math-verify (a loaded machine), before it is given up."""

MAX_WORKERS = max(1, min(4, available_cpu_cores()))
"""Worker processes at most (the cores this process may use: a container or `taskset` may give it fewer than the
machine has); further threads wait for one to be free."""

logger = logging.getLogger(__name__)


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
    """Whether math-verify finds ``predicted`` equivalent to ``gold``; ``(equal, reason)``, never raises.

    Bounded by ``MATH_VERIFY_TIMEOUT_SECONDS`` on every thread (see the module docstring)."""
    for side, answer in (("gold", gold), ("answer", predicted)):
        refusal = refusal_reason(answer)
        if refusal is not None:
            return False, f"{side} {refusal}: math-verify skipped"
    return _cached_call("equivalent", gold, predicted)


def math_value(answer: str) -> float | None:
    """The numeric value of a closed-form answer (``\\frac{\\sqrt{3}}{2}`` -> 0.866...), else ``None``."""
    if refusal_reason(answer) is not None:
        return None
    return _cached_call("value", answer)


@lru_cache(maxsize=4096)
def _cached_call(operation: str, *arguments: str) -> Any:
    """The same gold is graded against many responses (and a closed-form gold valued for each): one call each."""
    result = _POOL.call(operation, *arguments)
    if operation == "equivalent":
        return tuple(result)
    return result


class _TimedOut(Exception):
    pass


class _Worker:
    """One worker process running `_math_verify_worker.serve`, its answers read by a thread into a queue."""

    def __init__(self) -> None:
        # `python -m` with this roma first on the path: the worker imports the same code, wherever roma is.
        roma_root = str(Path(__file__).resolve().parents[2])
        path = os.pathsep.join(filter(None, [roma_root, os.environ.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            [sys.executable, "-u", "-m", _math_verify_worker.__name__],
            env={**os.environ, "PYTHONPATH": path},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
        )
        self.answers: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, name="roma-math-verify-reader", daemon=True).start()
        if self._answer(WORKER_START_SECONDS) != "ready":
            self.kill()
            raise OSError("the math-verify worker process did not start")

    def _read(self) -> None:
        for line in self.process.stdout:
            self.answers.put(line)
        self.answers.put(None)  # the process ended

    def _answer(self, timeout: float) -> Any:
        try:
            line = self.answers.get(timeout=timeout)
        except queue.Empty:
            raise _TimedOut from None
        if line is None:
            raise OSError("the math-verify worker process ended")
        return json.loads(line)

    def call(self, operation: str, arguments: tuple[str, ...], timeout: float) -> Any:
        self.process.stdin.write(json.dumps([operation, *arguments]) + "\n")
        self.process.stdin.flush()
        return self._answer(timeout)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def close(self) -> None:
        try:
            self.process.stdin.close()  # the worker's loop ends at the end of its input
            self.process.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            self.kill()


class _WorkerPool:
    """Up to ``MAX_WORKERS`` worker processes, shared by the threads of this process; a worker that overruns its
    call is killed and replaced on the next call."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._idle: list[_Worker] = []
        self._started = 0
        self._unavailable: str | None = None  # why no worker could be started: calls then run here

    def call(self, operation: str, *arguments: str) -> Any:
        worker = self._acquire()
        if worker is None:
            return _math_verify_worker.OPERATIONS[operation](*arguments)
        healthy = False
        try:
            result = worker.call(operation, arguments, MATH_VERIFY_TIMEOUT_SECONDS)
            healthy = True
            return result
        except _TimedOut:
            worker.kill()
            reason = f"math-verify stopped after {MATH_VERIFY_TIMEOUT_SECONDS} s (worker process killed)"
        except (OSError, ValueError) as error:  # the worker died (out of memory...) or wrote garbage
            worker.kill()
            reason = f"math-verify failed: worker process: {error}"
        finally:
            self._release(worker if healthy else None)
        return (False, reason) if operation == "equivalent" else None

    def _acquire(self) -> _Worker | None:
        with self._lock:
            while not self._idle and self._started >= MAX_WORKERS and self._unavailable is None:
                self._lock.wait()
            if self._unavailable is not None:
                return None
            if self._idle:
                return self._idle.pop()
            self._started += 1
        try:
            return _Worker()
        except OSError as error:
            with self._lock:
                self._started -= 1
                if self._started == 0 and self._unavailable is None:
                    self._unavailable = str(error)
                    logger.warning(
                        "math-verify runs in this process: no worker process could be started (%s); off the "
                        "main thread only the input checks bound its time",
                        error,
                    )
                self._lock.notify_all()
            return None

    def _release(self, worker: _Worker | None) -> None:
        with self._lock:
            if worker is None:
                self._started -= 1
            else:
                self._idle.append(worker)
            self._lock.notify()

    def close(self) -> None:
        with self._lock:
            workers, self._idle = self._idle, []
            self._started -= len(workers)
        for worker in workers:
            worker.close()

    def forget(self) -> None:
        """In a forked child: the parent's workers are the parent's; start afresh."""
        self.__init__()


_POOL = _WorkerPool()
atexit.register(_POOL.close)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_POOL.forget)
