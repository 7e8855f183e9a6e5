"""Each benchmark's official metric, computed alongside plain accuracy from the records of one condition.

What the benchmarks' own papers report besides overall accuracy:

- a **breakdown** of accuracy by category, from each record's ``tags`` (set by the adapter from the row):
  MathVista per ``task`` and per ``skill``; MathVerse per ``problem_version`` (``mathverse_all`` evaluates
  all five); MATH-Vision per ``subject`` and ``level``; DynaMath per ``subject`` and ``knowledge_level``;
  We-Math per number of ``steps``; LogicVista per ``skill``; MMStar per ``category`` and ``l2_category``;
  ChartQA per ``source`` (human / augmented); MMMU-Pro per ``setting`` and, like MMMU, per ``subject``; MathReal
  per ``category`` and per photo degradation (``image_quality``, ``image_quality_level``, ``perspective``,
  ``interference``). A list-valued tag (MathVista's skills) counts the record under each of its values.
- We-Math's **four-dimensional metric** (:func:`wemath_four_dimensional`), from the ``problem`` and ``step``
  tags that place a row in its multi-step problem.
- DynaMath's **worst-case accuracy** over variants is computed by `roma.evaluation.reports` from the records'
  variant groups.

All figures are percentages. The functions are pure: records in, numbers out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from roma.evaluation.records import SweepRecord

__all__ = ["JOIN_TAGS", "official_figures", "tag_breakdown", "wemath_four_dimensional"]

# Tags that join rows (We-Math's problem id and sub-question key) rather than name a category to report.
JOIN_TAGS = frozenset({"problem", "step"})


def _values(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def tag_breakdown(records: Sequence[SweepRecord]) -> dict[str, dict[str, Any]]:
    """``{"task: geometry problem solving": {"accuracy": %, "n": count}, ...}`` over every category tag."""
    cells: dict[str, list[float]] = defaultdict(list)
    for record in records:
        for key, value in (record.tags or {}).items():
            if key in JOIN_TAGS:
                continue
            for item in _values(value):
                cells[f"{key}: {item}"].append(record.correct)
    return {
        name: {"accuracy": 100.0 * sum(values) / len(values), "n": len(values)}
        for name, values in sorted(cells.items())
    }


def wemath_four_dimensional(records: Sequence[SweepRecord]) -> dict[str, dict[str, Any]]:
    """We-Math's four-dimensional metric over its two- and three-step problems (empty without any).

    A problem is complete when the records hold its one-step sub-questions (``Nsteps_1`` .. ``Nsteps_N``)
    and the composite question (``Nsteps_multi``); incomplete ones (a ``--condition_sample`` cut) are left
    out. A sub-question is solved when most of its responses are right (with greedy decoding: when it is
    right). Following the official ``four_dimensional_metrics.py``:

    - IK (insufficient knowledge): a sub-question wrong, the composite wrong;
    - IG (inadequate generalisation): every sub-question right, the composite wrong;
    - CM (complete mastery): composite right and every sub-question right (strict) / one right (loose);
    - RM (rote memorisation): composite right and a sub-question wrong (strict) / every one wrong (loose);
      its rate is over CM + RM, the other rates over the problems;
    - score = (problems − 0.5·IG − RM − IK) / problems, strict and loose.
    """
    problems: dict[tuple[str, str], dict[str, bool]] = defaultdict(dict)
    for record in records:
        tags = record.tags or {}
        step = str(tags.get("step", ""))
        steps, _, part = step.partition("_")
        if steps not in ("2steps", "3steps") or "problem" not in tags:
            continue
        problems[(steps, str(tags["problem"]))][part] = record.correct > 0.5
    counts = defaultdict(int)
    total = 0
    for (steps, _), parts in problems.items():
        wanted = [str(k) for k in range(1, int(steps[0]) + 1)]
        if "multi" not in parts or any(k not in parts for k in wanted):
            continue
        total += 1
        subs = [parts[k] for k in wanted]
        if parts["multi"]:
            counts["CM (strict)"] += all(subs)
            counts["CM (loose)"] += any(subs)
            counts["RM (strict)"] += not all(subs)
            counts["RM (loose)"] += not any(subs)
        else:
            counts["IG"] += all(subs)
            counts["IK"] += not all(subs)
    if not total:
        return {}

    def share(count: int, of: int) -> dict[str, Any]:
        return {"accuracy": 100.0 * count / of if of else None, "n": count}

    figures = {name: share(counts[name], total) for name in ("IK", "IG")}
    for kind in ("strict", "loose"):
        rote, mastery = counts[f"RM ({kind})"], counts[f"CM ({kind})"]
        figures[f"CM ({kind})"] = share(mastery, total)
        figures[f"RM ({kind})"] = share(rote, rote + mastery)
        score = total - 0.5 * counts["IG"] - rote - counts["IK"]
        figures[f"score ({kind})"] = {"accuracy": 100.0 * score / total, "n": total}
    return figures


def official_figures(records: Sequence[SweepRecord]) -> dict[str, dict[str, Any]]:
    """Every official figure of one benchmark under one condition: ``{name: {"accuracy": %, "n": count}}``.

    ``n`` is the number of records behind a breakdown cell, the count of a We-Math category (for the
    scores: the number of complete problems).
    """
    return {**wemath_four_dimensional(records), **tag_breakdown(records)}
