"""``corrupt``: apply one registered corruption to any supported image, with every check in one place."""

from __future__ import annotations

import numbers
from typing import TypeVar

import numpy as np

from roma.degrade.convert import to_rgb_uint8
from roma.degrade.errors import CorruptionContractError, DegradationError
from roma.degrade.registry import Corruption, get_corruption, validate_severity

__all__ = ["as_generator", "corrupt"]

ImageT = TypeVar("ImageT")


def as_generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    """A ``Generator`` as given, ``default_rng(seed)`` for a non-negative int seed, ``default_rng(0)`` for None.

    None deliberately means seed 0, not fresh OS entropy: a corruption is reproducible unless the caller
    asks otherwise (pass ``numpy.random.default_rng()`` for a non-reproducible draw).
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng(0)
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool) and int(rng) >= 0:
        return np.random.default_rng(int(rng))
    raise DegradationError(
        f"rng must be a numpy.random.Generator, a non-negative int seed or None, got {type(rng).__name__}: {rng!r}"
        + (
            " (the legacy RandomState / global numpy RNG is not supported)"
            if isinstance(rng, np.random.RandomState)
            else ""
        )
    )


def _apply(
    corruption: Corruption, level: float, rgb: np.ndarray, rng: np.random.Generator | int | None
) -> np.ndarray:
    generator = as_generator(rng)
    try:
        out = corruption(rgb, level, generator)
    except ValueError as error:
        if rgb.flags.writeable or "read-only" not in str(error):
            raise
        raise CorruptionContractError(
            f"corruption {corruption.name!r} wrote into its input image, which is read-only (the caller's image "
            f"is shared); copy it first, e.g. `out = image.copy()`, and edit and return the copy"
        ) from error
    if not isinstance(out, np.ndarray):
        raise CorruptionContractError(
            f"corruption {corruption.name!r} returned {type(out).__name__}, expected a numpy.ndarray"
        )
    if out.shape != rgb.shape or out.dtype != np.uint8:
        raise CorruptionContractError(
            f"corruption {corruption.name!r} changed the image from shape {rgb.shape} dtype uint8 to shape "
            f"{out.shape} dtype {out.dtype}; a corruption must keep both"
        )
    if np.may_share_memory(out, rgb):  # e.g. a user corruption returning its (read-only) input
        out = out.copy()
    return out


def corrupt(
    image: ImageT, name: str, severity: float, rng: np.random.Generator | int | None = None
) -> ImageT:
    """Corrupt ``image`` with the registered corruption ``name`` at ``severity``.

    Args:
        image: a ``PIL.Image.Image`` (any mode) or a ``numpy.ndarray`` (H×W, H×W×1/3/4, ``uint8`` or float in
            [0, 1]); see :mod:`roma.degrade.convert` for the exact conventions.
        name: a registered corruption name (:func:`roma.degrade.list_corruptions`).
        severity: 1..5 (ImageNet-C levels); a fractional value interpolates the parameters for corruptions
            registered ``continuous=True`` (all built-ins) and is refused for the others.
        rng: the randomness source: a ``numpy.random.Generator`` (consumed), an int seed, or None (seed 0).

    Returns:
        The corrupted image, same size and kind as the input (PIL in -> RGB PIL out; array in -> array of the
        input's shape and dtype). The result depends only on (image, name, severity, rng state).
    """
    corruption = get_corruption(name)
    level = validate_severity(severity, corruption)
    generator = as_generator(rng)  # checked before the (possibly costly) image conversion
    rgb, restore = to_rgb_uint8(image)
    return restore(_apply(corruption, level, rgb, generator))
