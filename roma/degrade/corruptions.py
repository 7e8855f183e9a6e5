"""Built-in corruptions: ImageNet-C severity tables plus the random draws each one needs.

Each corruption is registered with its five-row parameter table (severity 1..5) and receives the row of the
requested severity; it draws its randomness from the ``numpy.random.Generator`` it is given (never the global
NumPy state), then calls the pure kernel in :mod:`roma.degrade.functional`. Tables are those of the ImageNet-C
reference (``make_imagenet_c.py``, Hendrycks & Dietterich 2019) in its size-generic ``imagecorruptions`` form;
``low_resolution`` is not in ImageNet-C and its table is ours (see below). ``get_corruption(name).severities``
reads a table back.

Fractional severities: every built-in corruption accepts any real severity in [1, 5]; its numeric
parameters are interpolated linearly between the two neighbouring rows (integer parameters such as the
JPEG quality or the motion-blur radius are rounded). Integer severities use the table rows exactly.
"""

from __future__ import annotations

import numpy as np

from roma.degrade import functional as F
from roma.degrade.registry import SEEN, UNSEEN, get_corruption, register_corruption

__all__ = ["parameter_label"]

# How each severity row reads on a contact sheet: the parameter with its symbol or unit.
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
    for a corruption without a label here (a registered plugin) or without a severity table."""
    label = _PARAMETER_LABELS.get(name)
    corruption = get_corruption(name)
    return label(corruption.parameters(severity)) if label and corruption.severities is not None else ""


# ------------------------------------------------------------------------------------------- seen
@register_corruption("gaussian_blur", SEEN, severities=(1, 2, 3, 4, 6))
def gaussian_blur(image: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian blur; sigma in pixels."""
    return F.gaussian_blur(image, float(sigma))


@register_corruption("jpeg_compression", SEEN, severities=(25, 18, 15, 10, 7))
def jpeg_compression(image: np.ndarray, quality: float, rng: np.random.Generator) -> np.ndarray:
    """JPEG round trip at a quality."""
    return F.jpeg_compression(image, round(quality))


# Downsampling factor. Not in ImageNet-C: chosen so that the anti-aliased downsample removes detail at about
# the scale the Gaussian-blur row of the same severity does (sigma ~ factor / 2 .. factor / 1.3).
@register_corruption("low_resolution", SEEN, severities=(2, 3, 4, 6, 8))
def low_resolution(image: np.ndarray, factor: float, rng: np.random.Generator) -> np.ndarray:
    """Downsample by a factor (area) and resample back to the original size (bilinear)."""
    return F.low_resolution(image, float(factor))


# ------------------------------------------------------------------------------------------ unseen
@register_corruption("gaussian_noise", UNSEEN, severities=(0.08, 0.12, 0.18, 0.26, 0.38))
def gaussian_noise(image: np.ndarray, std: float, rng: np.random.Generator) -> np.ndarray:
    """Additive Gaussian noise; standard deviation as a fraction of the range.

    In bands of rows, bit-identical to one whole-image draw (see `_in_row_bands`)."""
    return _in_row_bands(
        image,
        GAUSSIAN_NOISE_BAND_VALUES,
        lambda band: F.gaussian_noise(band, rng.standard_normal(band.shape, dtype=np.float32), float(std)),
    )


# Values per band of rows that gaussian_noise processes at once: ~20 bytes per value (the float32 draw, the
# float32 image, the sum and its rounding), so a band costs ~80 MiB whatever the image size, not 20× the image.
GAUSSIAN_NOISE_BAND_VALUES = 1 << 22

# Values per band of rows that shot_noise processes at once: its kernel holds ~32 bytes per value (a float64
# draw plus int32 indices and counts), so a band costs ~64 MiB whatever the image size, not 32× the image.
SHOT_NOISE_BAND_VALUES = 1 << 21


def _in_row_bands(image: np.ndarray, band_values: int, corrupt_band) -> np.ndarray:
    """``corrupt_band`` applied to bands of about ``band_values`` values (whole rows), into one output.

    A band draws its noise from the generator when it is processed; the generators fill an array in the same
    order as they fill its parts one after another, so the result is bit-identical to one whole-image draw.
    """
    out = np.empty_like(image)
    rows = max(1, band_values // max(1, image[0].size))
    for start in range(0, image.shape[0], rows):
        out[start : start + rows] = corrupt_band(image[start : start + rows])
    return out


@register_corruption("shot_noise", UNSEEN, severities=(60, 25, 12, 5, 3))
def shot_noise(image: np.ndarray, photons: float, rng: np.random.Generator) -> np.ndarray:
    """Poisson (photon) noise; photons at full white.

    Large images are processed in bands of rows. The draws are taken band after band from one stream, which
    ``Generator.random`` fills in the same order as one whole-image draw, so the result is bit-identical to
    the untiled computation for the same generator state.
    """
    return _in_row_bands(
        image,
        SHOT_NOISE_BAND_VALUES,
        lambda band: F.shot_noise(band, rng.random(band.shape), float(photons)),
    )


@register_corruption("impulse_noise", UNSEEN, severities=(0.03, 0.06, 0.09, 0.17, 0.27))
def impulse_noise(image: np.ndarray, amount: float, rng: np.random.Generator) -> np.ndarray:
    """Salt-and-pepper noise; fraction of the channel values replaced."""
    uniform = rng.random(image.shape, dtype=np.float32)
    return F.impulse_noise(image, uniform, float(amount))


@register_corruption("speckle_noise", UNSEEN, severities=(0.15, 0.2, 0.35, 0.45, 0.6))
def speckle_noise(image: np.ndarray, std: float, rng: np.random.Generator) -> np.ndarray:
    """Multiplicative Gaussian noise (ImageNet-C's validation corruption); its standard deviation."""
    noise = rng.standard_normal(image.shape, dtype=np.float32)
    return F.speckle_noise(image, noise, float(std))


@register_corruption("defocus_blur", UNSEEN, severities=((3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5)))
def defocus_blur(image: np.ndarray, row: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    """Anti-aliased disk blur; (disk radius, anti-alias sigma) in pixels."""
    radius, alias_blur = row
    # Rounded so that nearby fractional severities share a cached kernel.
    return F.defocus_blur(image, round(radius, 3), round(alias_blur, 3))


@register_corruption("motion_blur", UNSEEN, severities=((10, 3), (15, 5), (15, 8), (15, 12), (20, 15)))
def motion_blur(image: np.ndarray, row: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    """Linear motion blur at a random angle in [-45°, 45°); (radius, sigma), 2 · radius + 1 taps."""
    radius, sigma = row
    angle = float(rng.uniform(-45.0, 45.0))
    return F.motion_blur(image, round(radius), float(sigma), angle)


# (stop, step) of np.arange(1, stop, step) zoom factors, as the reference writes them.
@register_corruption(
    "zoom_blur", UNSEEN, severities=((1.11, 0.01), (1.16, 0.01), (1.21, 0.02), (1.26, 0.02), (1.31, 0.03))
)
def zoom_blur(image: np.ndarray, row: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    """Average of centre zooms 1, 1 + step, ... below stop."""
    stop, step = row
    return F.zoom_blur(image, np.arange(1, stop, step))


@register_corruption("pixelate", UNSEEN, severities=(0.6, 0.5, 0.4, 0.3, 0.25))
def pixelate(image: np.ndarray, factor: float, rng: np.random.Generator) -> np.ndarray:
    """Box downsample by a resize factor and nearest-neighbour upsample."""
    return F.pixelate(image, float(factor))


@register_corruption("contrast", UNSEEN, severities=(0.4, 0.3, 0.2, 0.1, 0.05))
def contrast(image: np.ndarray, factor: float, rng: np.random.Generator) -> np.ndarray:
    """Contrast reduced to a factor of the deviation from each channel's mean."""
    return F.contrast(image, float(factor))


@register_corruption("brightness", UNSEEN, severities=(0.1, 0.2, 0.3, 0.4, 0.5))
def brightness(image: np.ndarray, shift: float, rng: np.random.Generator) -> np.ndarray:
    """HSV value raised by a shift."""
    return F.brightness(image, float(shift))


@register_corruption(
    "elastic_transform", UNSEEN, severities=(250 * 0.05, 250 * 0.065, 250 * 0.085, 250 * 0.1, 250 * 0.12)
)
def elastic_transform(image: np.ndarray, alpha: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth random displacement field of strength alpha."""
    shape = image.shape[:2]
    # Drawn in the reference's order: x displacement first, then y.
    uniform_dx = rng.uniform(-1.0, 1.0, size=shape)
    uniform_dy = rng.uniform(-1.0, 1.0, size=shape)
    return F.elastic_transform(image, uniform_dy, uniform_dx, float(alpha))
