"""Errors raised by :mod:`roma.degrade`.

Every error is a :class:`DegradationError` (a :class:`ValueError`), so callers can catch one class; the
"this is not an image at all" case is also a :class:`TypeError`.
"""

from __future__ import annotations

__all__ = [
    "CorruptionContractError",
    "CorruptionResourceError",
    "DegradationError",
    "InvalidImageError",
    "NotAnImageError",
    "RegistryError",
    "SeverityError",
    "UnknownCorruptionError",
]


MAX_SHOWN_CHARS = 80


def shown(value: object) -> str:
    """``repr(value)`` cut to ``MAX_SHOWN_CHARS`` with ``...``: an error echoes what it refuses, not a page of it.
    (`roma.degrade` imports nothing of roma; `roma._messages.shown` is the same for the rest of the package.)"""
    try:
        text = repr(value)
    except ValueError:  # an int past Python's digit limit for str()
        text = f"<{type(value).__name__} too long to show>"
    return text if len(text) <= MAX_SHOWN_CHARS else text[: MAX_SHOWN_CHARS - 3] + "..."


class DegradationError(ValueError):
    """Base class of every error raised by :mod:`roma.degrade`."""


class UnknownCorruptionError(DegradationError):
    """A corruption or group name that is not registered."""


class RegistryError(DegradationError):
    """A registration that would make the registry inconsistent (duplicate name, clash with a group)."""


class SeverityError(DegradationError):
    """A severity outside [1, 5], not a number, or fractional for a corruption that only has levels."""


class InvalidImageError(DegradationError):
    """An image of a supported type whose content cannot be used (empty, bad shape, NaN, out of range)."""


class NotAnImageError(DegradationError, TypeError):
    """An object that is neither a ``PIL.Image.Image`` nor a ``numpy.ndarray``."""


class CorruptionContractError(DegradationError):
    """A corruption function that broke its contract (changed the shape or dtype, returned a non-array)."""


class CorruptionResourceError(DegradationError):
    """A file a corruption needs is missing (the frost photos shipped with the ``imagecorruptions`` package)."""
