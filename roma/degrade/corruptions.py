"""Built-in corruptions: ImageNet-C severity tables plus the random draws each one needs.

Each corruption looks its parameters up in a five-row table (severity 1..5) and draws its randomness
from the ``numpy.random.Generator`` it is given (never the global NumPy state), then calls the pure kernel
in :mod:`roma.degrade.functional`. Tables are those of the ImageNet-C reference (``make_imagenet_c.py``,
Hendrycks & Dietterich 2019) in its size-generic ``imagecorruptions`` form; ``low_resolution`` is not in
ImageNet-C and its table is ours (see below).

Fractional severities: every built-in corruption accepts any real severity in [1, 5]; its numeric
parameters are interpolated linearly between the two neighbouring rows (integer parameters such as the
JPEG quality or the motion-blur radius are rounded). Integer severities use the table rows exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from roma.degrade import functional as F
from roma.degrade.registry import SEEN, UNSEEN, register_corruption

__all__ = ["SEVERITY_TABLES", "parameter_label", "severity_parameters"]

Row = float | tuple[float, ...]

# name -> five rows, severity 1..5.
SEVERITY_TABLES: dict[str, tuple[Row, ...]] = {
    # seen
    "gaussian_blur": (1, 2, 3, 4, 6),  # sigma, pixels
    "jpeg_compression": (25, 18, 15, 10, 7),  # quality
    # Downsampling factor. Not in ImageNet-C: chosen so that the anti-aliased downsample removes detail
    # at about the scale the Gaussian-blur row of the same severity does (sigma ~ factor / 2 .. factor / 1.3).
    "low_resolution": (2, 3, 4, 6, 8),
    # unseen
    "gaussian_noise": (0.08, 0.12, 0.18, 0.26, 0.38),  # standard deviation, fraction of the range
    "shot_noise": (60, 25, 12, 5, 3),  # photons at full white
    "impulse_noise": (0.03, 0.06, 0.09, 0.17, 0.27),  # fraction of values replaced
    "speckle_noise": (0.15, 0.2, 0.35, 0.45, 0.6),  # multiplicative standard deviation
    "defocus_blur": ((3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5)),  # disk radius, anti-alias sigma
    "motion_blur": ((10, 3), (15, 5), (15, 8), (15, 12), (20, 15)),  # radius, sigma
    # np.arange(1, stop, step) zoom factors, as the reference writes them
    "zoom_blur": ((1.11, 0.01), (1.16, 0.01), (1.21, 0.02), (1.26, 0.02), (1.31, 0.03)),
    "pixelate": (0.6, 0.5, 0.4, 0.3, 0.25),  # resize factor
    "contrast": (0.4, 0.3, 0.2, 0.1, 0.05),  # deviation-from-mean factor
    "brightness": (0.1, 0.2, 0.3, 0.4, 0.5),  # added to HSV value
    "elastic_transform": (250 * 0.05, 250 * 0.065, 250 * 0.085, 250 * 0.1, 250 * 0.12),  # alpha
}


def severity_parameters(table: Sequence[Row], severity: float) -> Row:
    """The table row for an integer severity, or the linear interpolation of its neighbours otherwise."""
    low = int(math.floor(severity))
    fraction = severity - low
    if fraction == 0:
        return table[low - 1]
    a, b = table[low - 1], table[low]
    if isinstance(a, tuple):
        return tuple(x + (y - x) * fraction for x, y in zip(a, b))  # type: ignore[arg-type]
    return a + (b - a) * fraction  # type: ignore[operator]


# How each table row reads on a contact sheet: the parameter with its symbol or unit.
_PARAMETER_LABELS = {
    "gaussian_blur": lambda sigma: f"σ {sigma:.3g} px",
    "jpeg_compression": lambda quality: f"quality {round(quality)}",
    "low_resolution": lambda factor: f"scale 1/{factor:.3g}",
    "gaussian_noise": lambda sigma: f"σ {sigma:.3g}",
    "shot_noise": lambda photons: f"{photons:.3g} photons",
    "impulse_noise": lambda amount: f"{100 * amount:.3g}% s&p",
    "speckle_noise": lambda sigma: f"σ {sigma:.3g} ×",
    "defocus_blur": lambda row: f"r {row[0]:.3g}, σ {row[1]:.2g}",
    "motion_blur": lambda row: f"r {round(row[0])}, σ {row[1]:.3g}",
    "zoom_blur": lambda row: f"zoom 1–{row[0]:.3g}",
    "pixelate": lambda scale: f"scale {scale:.3g}",
    "contrast": lambda factor: f"contrast ×{factor:.3g}",
    "brightness": lambda shift: f"V +{shift:.3g}",
    "elastic_transform": lambda alpha: f"α {alpha:.3g}",
}


def parameter_label(name: str, severity: float) -> str:
    """The parameter ``name`` uses at ``severity``, as a short label (``"σ 3 px"``, ``"quality 15"``); ``""``
    for a corruption without a severity table (a registered plugin)."""
    label = _PARAMETER_LABELS.get(name)
    return label(_params(name, severity)) if label and name in SEVERITY_TABLES else ""


def _params(name: str, severity: float) -> Row:
    return severity_parameters(SEVERITY_TABLES[name], severity)


# ------------------------------------------------------------------------------------------- seen
@register_corruption("gaussian_blur", group=SEEN, continuous=True)
def gaussian_blur(image: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian blur, sigma 1, 2, 3, 4, 6 pixels."""
    return F.gaussian_blur(image, float(_params("gaussian_blur", severity)))


@register_corruption("jpeg_compression", group=SEEN, continuous=True)
def jpeg_compression(image: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    """JPEG round trip at quality 25, 18, 15, 10, 7."""
    return F.jpeg_compression(image, round(_params("jpeg_compression", severity)))


@register_corruption("low_resolution", group=SEEN, continuous=True)
def low_resolution(image: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    """Downsample by 2, 3, 4, 6, 8 (area) and resample back to the original size (bilinear)."""
    return F.low_resolution(image, float(_params("low_resolution", severity)))


# ------------------------------------------------------------------------------------------ unseen
@register_corruption("gaussian_noise", group=UNSEEN, continuous=True)
def gaussian_noise(image: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    """Additive Gaussian noise, standard deviation 0.08 .. 0.38 of the range."""
    noise = rng.standard_normal(image.shape, dtype=np.float32)
    return F.gaussian_noise(image, noise, float(_params("gaussian_noise", severity)))


@register_corruption("shot_noise", group=UNSEEN, continuous=True)
def shot_noise(image: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    """Poisson (photon) noise, 60 .. 3 photons at full white."""
    uniform = rng.random(image.shape)
    return F.shot_noise(image, uniform, float(_params("shot_noise", severity)))


@register_corruption("impulse_noise", group=UNSEEN, continuous=True)
def impulse_noise(image: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    """Salt-and-pepper noise on 3 % .. 27 % of the channel values."""
    uniform = rng.random(image.shape, dtype=np.float32)
    return F.impulse_noise(image, uniform, float(_params("impulse_noise", severity)))


@register_corruption("speckle_noise", group=UNSEEN, continuous=True)
def speckle_noise(image: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    """Multiplicative Gaussian noise (ImageNet-C's validation corruption)."""
    noise = rng.standard_normal(image.shape, dtype=np.float32)
    return F.speckle_noise(image, noise, float(_params("speckle_noise", severity)))


@register_corruption("defocus_blur", group=UNSEEN, continuous=True)
def defocus_blur(image: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    """Anti-aliased disk blur, radius 3 .. 10 pixels."""
    radius, alias_blur = _params("defocus_blur", severity)  # type: ignore[misc]
    # Rounded so that nearby fractional severities share a cached kernel.
    return F.defocus_blur(image, round(radius, 3), round(alias_blur, 3))


@register_corruption("motion_blur", group=UNSEEN, continuous=True)
def motion_blur(image: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    """Linear motion blur at a random angle in [-45°, 45°), 21 .. 41 taps."""
    radius, sigma = _params("motion_blur", severity)  # type: ignore[misc]
    angle = float(rng.uniform(-45.0, 45.0))
    return F.motion_blur(image, round(radius), float(sigma), angle)


@register_corruption("zoom_blur", group=UNSEEN, continuous=True)
def zoom_blur(image: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    """Average of centre zooms up to 1.11 .. 1.31×."""
    stop, step = _params("zoom_blur", severity)  # type: ignore[misc]
    return F.zoom_blur(image, np.arange(1, stop, step))


@register_corruption("pixelate", group=UNSEEN, continuous=True)
def pixelate(image: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    """Box downsample to 60 % .. 25 % and nearest-neighbour upsample."""
    return F.pixelate(image, float(_params("pixelate", severity)))


@register_corruption("contrast", group=UNSEEN, continuous=True)
def contrast(image: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    """Contrast reduced to 40 % .. 5 % around each channel's mean."""
    return F.contrast(image, float(_params("contrast", severity)))


@register_corruption("brightness", group=UNSEEN, continuous=True)
def brightness(image: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    """HSV value raised by 0.1 .. 0.5."""
    return F.brightness(image, float(_params("brightness", severity)))


@register_corruption("elastic_transform", group=UNSEEN, continuous=True)
def elastic_transform(image: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth random displacement field, alpha 12.5 .. 30."""
    shape = image.shape[:2]
    # Drawn in the reference's order: x displacement first, then y.
    uniform_dx = rng.uniform(-1.0, 1.0, size=shape)
    uniform_dy = rng.uniform(-1.0, 1.0, size=shape)
    return F.elastic_transform(image, uniform_dy, uniform_dx, float(_params("elastic_transform", severity)))
