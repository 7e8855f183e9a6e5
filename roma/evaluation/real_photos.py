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

from collections.abc import Mapping
from typing import Any

from roma.evaluation.conditions import CLEAN

__all__ = ["CLEAN_BENCHMARK", "PAIRED_CELL", "REAL_BENCHMARK", "real_photo_drops"]

REAL_BENCHMARK = "mathreal"
CLEAN_BENCHMARK = "mathreal_clean"
# The official-metric cell of `mathreal` holding the photos whose question has a clean rendition.
PAIRED_CELL = "clean_rendition: yes"


def real_photo_drops(results: Mapping[str, Any]) -> dict[str, Any] | None:
    """One run's real-photo drop and synthetic drops, in points (``None`` where a figure is missing); ``None``
    when the run did not score both ``mathreal`` and ``mathreal_clean``.

    ``results``: a run's results (`roma.evaluation.reports.load_run` / ``results.json``).
    """
    benchmarks = results.get("benchmarks") or {}
    real, clean = benchmarks.get(REAL_BENCHMARK), benchmarks.get(CLEAN_BENCHMARK)
    if real is None or clean is None:
        return None
    photos = ((real.get("official") or {}).get("conditions") or {}).get(CLEAN, {}).get(PAIRED_CELL) or {}
    clean_image, real_photo = clean.get(CLEAN), photos.get("accuracy")
    return {
        "clean_image": clean_image,
        "real_photo": real_photo,
        "n": photos.get("n"),
        "real_drop": clean_image - real_photo if clean_image is not None and real_photo is not None else None,
        "seen_drop": clean.get("seen_drop"),
        "unseen_drop": clean.get("unseen_drop"),
    }
