"""Reproducible degraded views: keyed generators and the per-view corruption sampler.

A view is a pure function of ``(seed, sample_id, view_index, image)``: its generator is seeded from a
BLAKE2 hash of the key's ``repr`` (never Python's ``hash()``, which is salted per process), so the same
view comes out in any process, worker, or call order.
"""

from __future__ import annotations

import hashlib
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from roma.degrade.convert import to_rgb_uint8
from roma.degrade.core import _apply, corrupt
from roma.degrade.errors import DegradationError, SeverityError
from roma.degrade.registry import (
    MAX_SEVERITY,
    MIN_SEVERITY,
    SEEN,
    get_corruption,
    resolve_corruptions,
    validate_severity,
)

__all__ = ["DegradationRecord", "DegradationSampler", "rng_for"]

ImageT = TypeVar("ImageT")
KeyPart = Any

_PERSON = b"roma.degrade"  # domain separation: these seeds never collide with another BLAKE2 use


def _normalise_key(part: KeyPart) -> KeyPart:
    """Map a key part to a value whose ``repr`` is stable across processes and NumPy versions.

    NumPy scalars become Python scalars (``np.int64(3)`` keys like ``3``) and integral floats become ints
    (severity ``3.0`` keys like ``3``); anything whose ``repr`` could hold a memory address is refused.
    """
    if isinstance(part, np.generic):
        part = part.item()
    if part is None or isinstance(part, (bool, str, bytes)):
        return part
    if isinstance(part, numbers.Integral):
        return int(part)
    if isinstance(part, numbers.Real):
        value = float(part)
        return int(value) if value.is_integer() else value
    if isinstance(part, (tuple, list)):
        return tuple(_normalise_key(p) for p in part)
    raise DegradationError(
        f"rng_for key parts must be str, int, float, bool, bytes, None or tuples of them, "
        f"got {type(part).__name__}: {part!r}"
    )


def rng_for(*key: KeyPart) -> np.random.Generator:
    """A ``numpy.random.Generator`` determined by ``key`` alone, identical in every process.

    Example: ``rng_for(seed, "mathvista", sample_id, "motion_blur", 3)`` for an evaluation condition.
    ``rng_for(1, "a")`` and ``rng_for((1, "a"))`` differ; ``3``, ``3.0`` and ``np.int64(3)`` key alike.
    """
    material = repr(_normalise_key(key)).encode("utf-8")
    digest = hashlib.blake2b(material, digest_size=16, person=_PERSON).digest()
    return np.random.default_rng(np.random.SeedSequence(int.from_bytes(digest, "little")))


@dataclass(frozen=True)
class DegradationRecord:
    """Which corruption and severity a view got (logged with every view and evaluation record)."""

    name: str
    severity: float


def _check_sample_id(sample_id: object) -> int | str:
    if isinstance(sample_id, np.integer):
        sample_id = int(sample_id)
    if isinstance(sample_id, bool) or not isinstance(sample_id, (int, str)):
        raise DegradationError(
            f"sample_id must be an int or a str, got {type(sample_id).__name__}: {sample_id!r}"
        )
    return sample_id


def _check_view_index(view_index: object) -> int:
    if isinstance(view_index, np.integer):
        view_index = int(view_index)
    if isinstance(view_index, bool) or not isinstance(view_index, int) or view_index < 0:
        raise DegradationError(f"view_index must be a non-negative int, got {view_index!r}")
    return view_index


class DegradationSampler:
    """Draw a corruption and severity per ``(sample_id, view_index)``, reproducibly.

    Args:
        corruptions: a group name, a corruption name, or a list mixing them (default: the seen group).
        severities: how to draw the severity:

            * a tuple ``(lo, hi)`` of ints: uniform integer in [lo, hi] (default ``(1, 5)``);
            * a tuple ``(lo, hi)`` with a float: uniform real in [lo, hi] (every corruption must be continuous);
            * a list (or any other sequence, a ``range`` included) of severities: uniform over that list;
            * a single number: always that severity.
        seed: the run's seed (int or str); different seeds give independent views.

    The corruption is drawn uniformly from the resolved list. ``sample_params`` and ``sample`` draw the
    parameters identically, so the record ``sample`` returns is always ``sample_params``' record.
    """

    def __init__(
        self,
        corruptions: str | Sequence[str] = SEEN,
        severities: tuple[float, float] | Sequence[float] | float = (MIN_SEVERITY, MAX_SEVERITY),
        seed: int | str = 0,
    ) -> None:
        self.corruptions: tuple[str, ...] = tuple(resolve_corruptions(corruptions))
        self.seed = _normalise_key(seed)
        if not isinstance(self.seed, (int, str)) or isinstance(self.seed, bool):
            raise DegradationError(f"seed must be an int or a str, got {seed!r}")
        self._range: tuple[float, float] | None = None
        self._integer_range = False
        self._choices: tuple[float, ...] = ()
        self._set_severities(severities)

    def _set_severities(self, severities: object) -> None:
        def check(value: object) -> float:
            for name in self.corruptions:
                value = validate_severity(value, get_corruption(name))
            return value  # type: ignore[return-value]

        if isinstance(severities, numbers.Real) and not isinstance(severities, bool):
            self._choices = (check(severities),)
        elif isinstance(severities, tuple) and len(severities) == 2:
            lo, hi = severities
            for bound in (lo, hi):
                if isinstance(bound, bool) or not isinstance(bound, numbers.Real):
                    raise SeverityError(f"severity range bounds must be numbers, got {severities!r}")
            if not lo <= hi:
                raise SeverityError(f"severity range (lo, hi) needs lo <= hi, got {severities!r}")
            self._integer_range = isinstance(lo, numbers.Integral) and isinstance(hi, numbers.Integral)
            if not self._integer_range and lo != hi:
                for name in self.corruptions:  # a fractional draw needs every corruption to interpolate
                    if not get_corruption(name).continuous:
                        raise SeverityError(
                            f"severity range {severities!r} draws fractional severities but corruption "
                            f"{name!r} only has integer levels; use an int range or a list"
                        )
            self._range = (check(lo), check(hi))
        elif (
            isinstance(severities, Sequence)
            and not isinstance(severities, (str, bytes))
            and len(severities) > 0
        ):
            self._choices = tuple(check(s) for s in severities)
        else:
            raise SeverityError(
                f"severities must be a (lo, hi) tuple, a non-empty list of severities or one number, got {severities!r}"
            )

    def __repr__(self) -> str:
        if self._range is not None:
            severities = f"({self._range[0]!r}, {self._range[1]!r})" + (
                "" if self._integer_range else " real"
            )
        else:
            severities = repr(list(self._choices))
        return f"DegradationSampler(corruptions={list(self.corruptions)}, severities={severities}, seed={self.seed!r})"

    def _draw(self, rng: np.random.Generator) -> DegradationRecord:
        name = self.corruptions[int(rng.integers(len(self.corruptions)))]
        if self._range is None:
            severity = self._choices[int(rng.integers(len(self._choices)))]
        elif self._integer_range:
            severity = int(rng.integers(int(self._range[0]), int(self._range[1]) + 1))
        else:
            lo, hi = self._range
            severity = float(min(hi, lo + (hi - lo) * rng.random()))
        return DegradationRecord(name=name, severity=float(severity))

    def rng(self, sample_id: int | str, view_index: int) -> np.random.Generator:
        """The generator behind view ``view_index`` of ``sample_id`` (parameters first, then pixels)."""
        return rng_for("roma.view", self.seed, _check_sample_id(sample_id), _check_view_index(view_index))

    def sample_params(self, sample_id: int | str, view_index: int) -> DegradationRecord:
        """The corruption and severity of a view, without touching an image."""
        return self._draw(self.rng(sample_id, view_index))

    def sample(
        self, image: ImageT | list[ImageT], sample_id: int | str, view_index: int
    ) -> tuple[ImageT | list[ImageT], DegradationRecord]:
        """Degrade ``image`` for view ``view_index`` of ``sample_id``; returns ``(view, record)``.

        ``image`` may be a list, the images of one multi-image sample: they all get the view's corruption and
        severity, their pixel noise drawn in order from the view's generator (the first image's view is the one
        ``sample`` gives for it alone); the view is then a list too.
        """
        rng = self.rng(sample_id, view_index)
        record = self._draw(rng)
        corruption = get_corruption(record.name)
        level = validate_severity(record.severity, corruption)
        images = image if isinstance(image, list) else [image]
        views = []
        for one in images:
            rgb, restore = to_rgb_uint8(one)
            views.append(restore(_apply(corruption, level, rgb, rng)))
        return (views if isinstance(image, list) else views[0]), record

    def apply(self, images: list[ImageT], sample_id: int | str, record: DegradationRecord) -> list[ImageT]:
        """Degrade every image of ``sample_id`` with ``record``'s corruption and severity (a record drawn by
        `sample_params`, its severity possibly rescheduled), image ``i``'s pixel noise from its own generator
        ``rng_for(seed, sample_id, i)``: the rollout baselines' degraded rows (`roma.trainer.views`)."""
        sample_id = _check_sample_id(sample_id)
        return [
            corrupt(image, record.name, record.severity, rng_for(self.seed, sample_id, index))
            for index, image in enumerate(images)
        ]
