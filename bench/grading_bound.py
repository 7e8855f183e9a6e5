"""What bounding math-verify by a killable worker process costs the normal case.

    python bench/grading_bound.py [--repeats N]

Grades the rows of ``tests/data/grading_agreement.jsonl`` (every benchmark rule, the outputs real models write)
and a set of closed-form math answers two ways in one run, interleaved repeat by repeat so machine load hits both
alike: math-verify in this process (what grading did before it was bounded off the main thread), and in the
worker processes (`roma.grading.math_equivalence`). The per-call result cache is cleared before every pass, so
each pass pays every math-verify call; the workers are started before timing (their start, ~1 s, is paid once
per process). Prints the median seconds per pass of each and the ratio worker / in-process; then the time to
refuse ``(x+1)^{9999}`` against ``x^{9999}+1`` from a worker thread (unbounded before: minutes).
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from pathlib import Path

from roma.grading import _math_verify_worker as in_process
from roma.grading import grade, math_equivalence

AGREEMENT = Path(__file__).parents[1] / "tests" / "data" / "grading_agreement.jsonl"
CLOSED_FORMS = [
    (r"\boxed{2\sqrt{2}}", r"\sqrt{8}"),
    (r"\boxed{\frac{1}{2}}", "0.5"),
    (r"\boxed{0.33}", r"\frac{1}{3}"),
    (r"\boxed{3.46}", r"2\sqrt{3}"),
    (r"\boxed{x^2+2x+1}", "(x+1)^2"),
    (r"\boxed{(1, 2)}", "(1,2)"),
    (r"\boxed{\pi/2}", r"\frac{\pi}{2}"),
    (r"\boxed{e^{i\pi}}", "-1"),
]


def grade_all(rows: list[dict]) -> list[bool]:
    verdicts = [
        grade(row["output"], row["gold"], rule=row["benchmark"], **row["grade_kwargs"]) for row in rows
    ]
    verdicts += [grade(response, gold, answer_type="math") for response, gold in CLOSED_FORMS]
    return [verdict.correct for verdict in verdicts]


def timed_pass(rows: list[dict], in_this_process: bool) -> tuple[float, list[bool]]:
    original = math_equivalence._POOL.call
    if in_this_process:
        math_equivalence._POOL.call = lambda operation, *args: in_process.OPERATIONS[operation](*args)
    math_equivalence._cached_call.cache_clear()
    try:
        start = time.perf_counter()
        verdicts = grade_all(rows)
        return time.perf_counter() - start, verdicts
    finally:
        math_equivalence._POOL.call = original


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rows = [json.loads(line) for line in AGREEMENT.read_text().splitlines() if line.strip()]
    timed_pass(rows, in_this_process=False)  # start the worker, import math-verify here too
    timed_pass(rows, in_this_process=True)
    times: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(args.repeats):
        for here in (True, False):
            seconds, verdicts = timed_pass(rows, here)
            times[here].append(seconds)
            if here:
                reference = verdicts
            else:
                assert verdicts == reference, "the worker's verdicts differ from the in-process ones"
    here, worker = statistics.median(times[True]), statistics.median(times[False])
    calls = len(rows) + len(CLOSED_FORMS)
    print(f"{calls} gradings per pass, median of {args.repeats} passes")
    print(f"  math-verify in this process: {here:.3f} s")
    print(f"  math-verify in workers:      {worker:.3f} s   (ratio worker / in-process: {worker / here:.2f})")

    result: list = []

    def pathological() -> None:
        start = time.perf_counter()
        verdict = grade(r"\boxed{(x+1)^{9999}}", "x^{9999}+1", answer_type="math")
        result.append((time.perf_counter() - start, verdict))

    thread = threading.Thread(target=pathological, daemon=True)
    thread.start()
    thread.join()
    seconds, verdict = result[0]
    print(
        f"(x+1)^{{9999}} vs x^{{9999}}+1 from a worker thread: {seconds:.1f} s, correct={verdict.correct} ({verdict.reason})"
    )


if __name__ == "__main__":
    main()
