"""Evaluation conditions (clean, or one corruption at one severity) and the lossless cache of corrupted images.

A corrupted image is a pure function of (seed, benchmark, sample id, image index, corruption, severity) and
the clean image: its randomness comes from `roma.degrade.rng_for` on those keys, so every model and every
run sees the same bytes. The cache stores each one once, losslessly, as a raw ``.npy`` array (height × width
× 3, uint8) named by a hash of those keys and of the clean image's encoded bytes (so an edited dataset never
reuses a stale file, and a cache hit needs no decoding of the clean image).

Why raw arrays and not PNG: at 448×448 a PNG costs ~11 ms to write even at ``compress_level=1`` and ~5 ms to
read, an ``.npy`` well under 1 ms either way, and the sweep reads the cache once per image per model. The
price is disk: an ``.npy`` is the raw pixel count × 3 bytes, 1–3× a fast PNG (noise barely compresses, blur
does).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
from PIL import Image

from roma._lists import comma_list
from roma._messages import shown
from roma._paths import safe_path_component
from roma.cache import cache_root, prune
from roma.degrade import (
    MAX_SEVERITY,
    MIN_SEVERITY,
    SEEN,
    UNSEEN,
    corrupt,
    list_corruptions,
    resolve_corruptions,
    rng_for,
)
from roma.evaluation.errors import EvaluationError
from roma.evaluation.images import ImageSource

# An evaluation sample (roma.evaluation.benchmarks.EvalSample): anything with ``sample_id`` and ``group_id``.
Sample = TypeVar("Sample")

__all__ = [
    "CLEAN",
    "Condition",
    "CorruptedImageCache",
    "condition_subset",
    "default_cache_dir",
    "parse_severities",
    "resolve_conditions",
]

CLEAN = "clean"
# Bump when the cache layout or key changes, so old files are never read under a new meaning.
# 3: clean images decoded by roma.degrade.convert.load_rgb (transparent and 16-bit images decode differently);
# 2: raw .npy arrays; 1: PNG.
_CACHE_VERSION = 3


@dataclass(frozen=True)
class Condition:
    """One evaluation condition: ``clean`` or ``corruption`` at ``severity``.

    ``group`` is ``clean``, ``seen`` (a training corruption), ``unseen`` (evaluation only) or ``other`` (a
    registered corruption in neither built-in group); reports average within a group.
    """

    name: str
    corruption: str | None = None
    severity: int | float | None = None
    group: str = CLEAN

    @property
    def is_clean(self) -> bool:
        return self.corruption is None

    @classmethod
    def corrupted(cls, corruption: str, severity: int | float, group: str) -> Condition:
        return cls(f"{corruption}@{severity:g}", corruption, severity, group)


def parse_severities(value: str | Sequence[int | float]) -> list[int | float]:
    """``"1,3,5"`` -> ``[1, 3, 5]``; each in [1, 5] (fractions kept for continuous corruptions)."""
    items = comma_list(value)
    severities: list[int | float] = []
    for item in items:
        try:
            number = float(str(item).strip())
        except ValueError:
            raise EvaluationError(
                f"severity {shown(item)} is not a number (expected e.g. --severities 1,3,5)"
            ) from None
        if not MIN_SEVERITY <= number <= MAX_SEVERITY:
            raise EvaluationError(
                f"severity {shown(item)} is outside [{MIN_SEVERITY}, {MAX_SEVERITY}] (ImageNet-C levels)"
            )
        severity = int(number) if number.is_integer() else number
        if severity not in severities:
            severities.append(severity)
    if not severities:
        raise EvaluationError("no severity given (expected e.g. --severities 1,3,5)")
    return severities


def resolve_conditions(spec: str | Sequence[str], severities: Sequence[int | float]) -> list[Condition]:
    """Expand ``clean``, group names (``seen``, ``unseen``, ``imagenet_c``, ``weather``, ``capture``, ``all``) and
    corruption names into conditions (a corruption in neither seen nor unseen reports in the group ``other``).

    Order: as given, each corruption at every severity in order; duplicates dropped. Unknown names raise
    `roma.degrade`'s error, which lists the known ones.
    """

    items = comma_list(spec)
    if not items:
        raise EvaluationError("no condition given (expected e.g. --conditions clean,seen,unseen)")
    seen, unseen = set(list_corruptions(SEEN)), set(list_corruptions(UNSEEN))
    conditions: dict[str, Condition] = {}
    for item in items:
        if item == CLEAN:
            conditions.setdefault(CLEAN, Condition(CLEAN))
            continue
        for corruption in resolve_corruptions(item):
            group = SEEN if corruption in seen else UNSEEN if corruption in unseen else "other"
            for severity in severities:
                condition = Condition.corrupted(corruption, severity, group)
                conditions.setdefault(condition.name, condition)
    return list(conditions.values())


def default_cache_dir() -> Path:
    """``eval_images/`` under roma's cache root (``$ROMA_CACHE``, `roma.cache.cache_root`): shared across runs
    and models."""
    return cache_root() / "eval_images"


class CorruptedImageCache:
    """Corrupted images, computed once and stored losslessly (raw ``.npy`` RGB arrays) under ``root``.

    Args:
        root: the cache folder (created on first write).
        seed: the sweep's seed: part of the key and of the corruption's RNG key.
        max_bytes: size cap of ``root``; None for none. Past it, the least recently used files are deleted
            (`roma.cache.prune`; a hit refreshes a file's time). Checked on the first write and then after
            every tenth of the cap (at most 256 MiB) written, so the folder exceeds the cap by at most that.
    """

    def __init__(self, root: str | Path, seed: int = 0, max_bytes: int | None = None):
        self.root = Path(root)
        self.seed = int(seed)
        self.hits = 0
        self.misses = 0
        self.max_bytes = max_bytes
        self._check_every = max(1, min(max_bytes // 10, 256 * 1024**2)) if max_bytes is not None else 0
        self._written_since_check = self._check_every  # the first write checks
        self._made_dirs: set[Path] = set()

    def key(self, benchmark: str, sample_id: str, image_index: int, condition: Condition, digest: str) -> str:
        payload = [
            _CACHE_VERSION,
            self.seed,
            benchmark,
            sample_id,
            image_index,
            condition.corruption,
            condition.severity,
            digest,
        ]
        return hashlib.sha256(json.dumps(payload).encode()).hexdigest()

    def path(self, benchmark: str, condition: Condition, key: str) -> Path:
        return (
            self.root
            / safe_path_component(benchmark)
            / safe_path_component(f"{condition.corruption}")
            / f"s{condition.severity:g}"
            / key[:2]
            / f"{key}.npy"
        )

    def get(
        self,
        image: ImageSource | Image.Image,
        benchmark: str,
        sample_id: str,
        image_index: int,
        condition: Condition,
    ) -> Image.Image:
        """The view of ``image`` under ``condition``: the decoded clean image for ``clean``, else the corrupted one.

        ``image`` is best an undecoded `ImageSource`: on a cache hit the clean image is then never decoded.
        """
        source = image if isinstance(image, ImageSource) else ImageSource(image=image)
        if condition.is_clean:
            return source.load()

        key = self.key(benchmark, sample_id, image_index, condition, source.digest())
        path = self.path(benchmark, condition, key)
        try:
            pixels = np.load(path, allow_pickle=False)
            if pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] == 3:
                self.hits += 1
                if self.max_bytes is not None:
                    _refresh(path)  # recently used: evicted last
                return Image.fromarray(pixels)
            # Anything else was not written by this cache: recompute and overwrite it.
        except FileNotFoundError:
            pass  # not computed yet (one failed open costs less than a stat before every open)
        except (OSError, ValueError, EOFError):
            pass  # a file cut short by a crash: recompute and overwrite it
        self.misses += 1
        rng = rng_for(self.seed, benchmark, sample_id, image_index, condition.corruption, condition.severity)
        corrupted = corrupt(source.load(), condition.corruption, condition.severity, rng)
        if corrupted.mode != "RGB":
            corrupted = corrupted.convert("RGB")  # what a cache hit returns
        if path.parent not in self._made_dirs:  # one mkdir per folder, not per image
            path.parent.mkdir(parents=True, exist_ok=True)
            self._made_dirs.add(path.parent)
        # Write then rename: a reader (another sweep sharing the cache) never sees half a file.
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".npy.tmp")
        try:
            with os.fdopen(handle, "wb") as stream:
                np.save(stream, np.asarray(corrupted), allow_pickle=False)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        if self.max_bytes is not None:
            self._written_since_check += path.stat().st_size
            if self._written_since_check >= self._check_every:
                self._written_since_check = 0
                prune(self.root, self.max_bytes)
        return corrupted


def _refresh(path: Path) -> None:
    # Pruned by another process meanwhile, or a read-only cache: the read already succeeded either way.
    with contextlib.suppress(OSError):
        os.utime(path)


def condition_subset(samples: Sequence[Sample], size: int, seed: int, benchmark: str) -> list[Sample]:
    """A seeded random subset of at least ``size`` samples (``--condition_sample``), in their original order.

    Variant groups (``group_id``, DynaMath) are kept whole, so the worst-case metric still sees every variant
    of a chosen seed question; the subset can thus exceed ``size`` by less than one group. It depends on
    ``seed``, ``benchmark`` and the samples only: every corrupted condition, every model, every process and
    every resumption evaluates the same subset.
    """
    if size < 1:
        raise EvaluationError(f"condition_sample must be >= 1, got {size}")
    if size >= len(samples):
        return list(samples)
    units: dict[str, list[int]] = {}
    for position, sample in enumerate(samples):
        unit = f"group:{sample.group_id}" if sample.group_id is not None else f"sample:{sample.sample_id}"
        units.setdefault(unit, []).append(position)
    names = sorted(units)
    chosen: list[int] = []
    for index in rng_for(seed, "condition_sample", benchmark).permutation(len(names)):
        if len(chosen) >= size:
            break
        chosen.extend(units[names[index]])
    return [samples[position] for position in sorted(chosen)]
