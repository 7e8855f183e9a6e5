"""Check a local copy of a published benchmark: how many rows load, which are skipped and why, the rows per
breakdown category, and whether each row's own gold answer, boxed, is graded right (the grader agrees with
the gold as the benchmark writes it).

    python bench/check_benchmark_copy.py --data_dir DATA --benchmarks mathreal,mathreal_clean,logicvista
        [--tags image_quality_level,category] [--json PATH]

``DATA`` holds the copies as ``roma eval --data_dir`` reads them (``DATA/MathReal`` = a clone of
github.com/junfeng0288/MathReal, ``DATA/LogicVista`` = ``data/`` of github.com/Yijia-Xiao/LogicVista).
No model runs; images are checked for presence, not decoded.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from roma.evaluation.benchmarks import get_benchmark
from roma.grading import grade


def check(name: str, data_dir: Path, tags: list[str]) -> dict:
    data = get_benchmark(name, data_dir=data_dir).load()
    self_graded = 0
    for sample in data:
        gold = sample.gold if isinstance(sample.gold, str) else sample.gold[0]
        self_graded += grade(f"\\boxed{{{gold}}}", sample.gold, **sample.grade_kwargs()).correct
    per_tag = {
        tag: dict(sorted(Counter(str(s.tags[tag]) for s in data if tag in s.tags).items())) for tag in tags
    }
    return {
        "loaded": len(data),
        "skipped": [{"sample_id": s.sample_id, "reason": s.reason} for s in data.skipped],
        "own_gold_graded_right": self_graded,
        "answer_types": dict(Counter(s.answer_type for s in data)),
        "per_tag": {tag: counts for tag, counts in per_tag.items() if counts},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", type=Path, required=True)
    parser.add_argument("--benchmarks", default="mathreal,mathreal_clean")
    parser.add_argument("--tags", default="image_quality_level,category")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    report = {
        name: check(name, args.data_dir, [t for t in args.tags.split(",") if t])
        for name in args.benchmarks.split(",")
    }
    for name, entry in report.items():
        print(
            f"{name}: {entry['loaded']} rows loaded, {len(entry['skipped'])} skipped, own gold graded right "
            f"{entry['own_gold_graded_right']}/{entry['loaded']}; answer types {entry['answer_types']}"
        )
        for skipped in entry["skipped"]:
            print(f"  skipped {skipped['sample_id']}: {skipped['reason']}")
        for tag, counts in entry["per_tag"].items():
            print(f"  rows per {tag}: {counts}")
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
