"""The real-photo drop next to the synthetic-corruption drops, from MathReal's paired images.

175 of MathReal's testmini questions come both as a real phone photo (benchmark ``mathreal``) and as a clean
rendition (``mathreal_clean``). On those same questions, under the ``clean`` condition (no synthetic corruption):

- **real-photo drop** = accuracy on the clean renditions − accuracy on the real photos (``mathreal``'s
  ``clean_rendition: yes`` breakdown cell);
- **synthetic drops** = ``mathreal_clean``'s ``seen_drop`` / ``unseen_drop``: accuracy on the clean renditions
  minus the mean over roma's corruption × severity conditions of the same clean images.

Both drops start from the same images of the same questions, so they measure the same thing (what the
degradation costs) for real and for synthetic degradations. Comparing MathReal's degraded photos with its least
degraded ones instead would confound the degradation with the questions (each photo is its own question), and
comparing with another benchmark's clean accuracy would confound it with the benchmark. Run both benchmarks in
one sweep: ``roma eval --benchmarks mathreal,mathreal_clean --conditions clean,seen,unseen``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from roma.evaluation.conditions import CLEAN
from roma.evaluation.records import SweepRecord
from roma.evaluation.stats import paired_difference_interval

__all__ = ["CLEAN_BENCHMARK", "PAIRED_CELL", "REAL_BENCHMARK", "real_photo_drops"]

REAL_BENCHMARK = "mathreal"
CLEAN_BENCHMARK = "mathreal_clean"
# The official-metric cell of `mathreal` holding the photos whose question has a clean rendition.
PAIRED_CELL = "clean_rendition: yes"


def real_photo_drops(
    results: Mapping[str, Any], records: Sequence[SweepRecord] | None = None
) -> dict[str, Any] | None:
    """One run's real-photo drop and synthetic drops, in points (``None`` where a figure is missing); ``None``
    when the run did not score both ``mathreal`` and ``mathreal_clean``.

    ``results``: a run's results (`roma.evaluation.reports.load_run` / ``results.json``). With the run's
    ``records``, the clean image and the real photo are compared on exactly the questions scored clean under
    both benchmarks (a ``--max_samples`` cut may keep different ones), with a paired 95 % interval
    (``real_drop_ci95``); without them, from the results' breakdown cell (then the sets match only when both
    benchmarks were scored whole).
    """
    benchmarks = results.get("benchmarks") or {}
    real, clean = benchmarks.get(REAL_BENCHMARK), benchmarks.get(CLEAN_BENCHMARK)
    if real is None or clean is None:
        return None
    photos = ((real.get("official") or {}).get("conditions") or {}).get(CLEAN, {}).get(PAIRED_CELL) or {}
    figures: dict[str, Any] = {
        "clean_image": clean.get(CLEAN),
        "real_photo": photos.get("accuracy"),
        "n": photos.get("n"),
        "real_drop_ci95": None,
    }
    if records:
        outcomes = {
            name: {r.sample_id: r.correct for r in records if r.benchmark == name and r.condition == CLEAN}
            for name in (REAL_BENCHMARK, CLEAN_BENCHMARK)
        }
        shared = sorted(set(outcomes[REAL_BENCHMARK]) & set(outcomes[CLEAN_BENCHMARK]))
        clean_outcomes = [outcomes[CLEAN_BENCHMARK][s] for s in shared]
        photo_outcomes = [outcomes[REAL_BENCHMARK][s] for s in shared]
        _, low, high = paired_difference_interval(photo_outcomes, clean_outcomes)
        figures = {
            "clean_image": 100.0 * sum(clean_outcomes) / len(shared) if shared else None,
            "real_photo": 100.0 * sum(photo_outcomes) / len(shared) if shared else None,
            "n": len(shared),
            "real_drop_ci95": None if math.isnan(low) else [100.0 * low, 100.0 * high],
        }
    clean_image, real_photo = figures["clean_image"], figures["real_photo"]
    return {
        **figures,
        "real_drop": clean_image - real_photo if clean_image is not None and real_photo is not None else None,
        "seen_drop": clean.get("seen_drop"),
        "unseen_drop": clean.get("unseen_drop"),
    }
