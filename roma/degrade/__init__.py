"""roma.degrade: the image-corruption library used by training views, evaluation sweeps and the probe.

A corruption is a pure function of (image, severity, ``numpy.random.Generator``) that keeps the image size.
Severities 1..5 follow the ImageNet-C tables; the ``seen`` group (Gaussian blur, JPEG, low resolution)
degrades training views, the disjoint ``unseen`` group is for evaluation only, ``all`` is everything;
``imagenet_c`` (its 19 corruptions), ``weather`` and ``capture`` (photos of pages and screens) are named sets.

    >>> from roma.degrade import corrupt, DegradationSampler
    >>> blurred = corrupt(image, "gaussian_blur", 3)
    >>> view, record = DegradationSampler("seen", (1, 5), seed=0).sample(image, sample_id=17, view_index=0)
"""

from __future__ import annotations

from roma.degrade import corruptions as _builtin_corruptions  # noqa: F401  (registers the built-ins)
from roma.degrade.core import corrupt
from roma.degrade.errors import (
    CorruptionContractError,
    CorruptionResourceError,
    DegradationError,
    InvalidImageError,
    NotAnImageError,
    RegistryError,
    SeverityError,
    UnknownCorruptionError,
)
from roma.degrade.registry import (
    ALL,
    CAPTURE,
    IMAGENET_C,
    MAX_SEVERITY,
    MIN_SEVERITY,
    SEEN,
    UNSEEN,
    WEATHER,
    get_corruption,
    list_corruptions,
    list_groups,
    register_corruption,
    register_group,
    resolve_corruptions,
)
from roma.degrade.sampling import DegradationRecord, DegradationSampler, rng_for

__all__ = [
    "ALL",
    "CAPTURE",
    "IMAGENET_C",
    "MAX_SEVERITY",
    "MIN_SEVERITY",
    "SEEN",
    "UNSEEN",
    "WEATHER",
    "CorruptionContractError",
    "CorruptionResourceError",
    "DegradationError",
    "DegradationRecord",
    "DegradationSampler",
    "InvalidImageError",
    "NotAnImageError",
    "RegistryError",
    "SeverityError",
    "UnknownCorruptionError",
    "contact_sheet",
    "corrupt",
    "get_corruption",
    "list_corruptions",
    "list_groups",
    "register_corruption",
    "register_group",
    "resolve_corruptions",
    "rng_for",
]


def __getattr__(name: str):  # the contact sheet pulls in PIL drawing and fonts only when used
    if name == "contact_sheet":
        from roma.degrade.sheet import contact_sheet

        return contact_sheet
    raise AttributeError(f"module 'roma.degrade' has no attribute {name!r}")
