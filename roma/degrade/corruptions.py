"""Built-in corruptions: ImageNet-C severity tables plus the random draws each one needs.

Each corruption is registered with its five-row parameter table (severity 1..5) and receives the row of the
requested severity; it draws its randomness from the ``numpy.random.Generator`` it is given (never the global
NumPy state), then calls the pure kernel in :mod:`roma.degrade.functional`. Tables are those of the ImageNet-C
reference (``make_imagenet_c.py``, Hendrycks & Dietterich 2019) in its size-generic ``imagecorruptions`` form;
``low_resolution`` is not in ImageNet-C and its table is ours (see below). ``get_corruption(name).severities``
reads a table back. The six ImageNet-C corruptions registered last (``glass_blur``, ``snow``, ``frost``,
``fog``, ``spatter``, ``saturate``) and the capture distortions (``rotation``, ``perspective_warp``,
``uneven_illumination``, ``resampling``) join neither ``seen`` nor ``unseen``, which stay the sets every
documented result was measured on; they are named by the listed groups ``imagenet_c``, ``weather`` and
``capture`` (bottom of this module).

Fractional severities: every built-in corruption accepts any real severity in [1, 5]; its numeric
parameters are interpolated linearly between the two neighbouring rows (integer parameters such as the
JPEG quality or the motion-blur radius are rounded). Integer severities use the table rows exactly.
"""

from __future__ import annotations

import numpy as np

from roma.degrade import capture, weather
from roma.degrade import functional as F
from roma.degrade.registry import (
    CAPTURE,
    IMAGENET_C,
    SEEN,
    UNSEEN,
    WEATHER,
    define_listed_group,
    get_corruption,
    register_corruption,
)

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
    "glass_blur": lambda row: f"σ {row[0]:.2g}, δ {round(row[1])}, ×{round(row[2])}",
    "snow": lambda row: f"flakes ≥ {row[3]:.2g}, zoom {row[2]:.2g}",
    "frost": lambda row: f"frost ×{row[1]:.2g}",
    "fog": lambda row: f"fog ×{row[0]:.2g}",
    "spatter": lambda row: "mud" if round(row[5]) else f"water ×{row[4]:.2g}",
    "saturate": lambda row: f"S ×{row[0]:.2g} +{row[1]:.2g}",
    "rotation": lambda degrees: f"±{degrees:.3g}°",
    "perspective_warp": lambda shift: f"corners ±{100 * shift:.3g}%",
    "uneven_illumination": lambda depth: f"shadow −{100 * depth:.3g}%",
    "resampling": lambda factor: f"down-up 1/{factor:.3g}",
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


# ------------------------------------------------------------------- the rest of ImageNet-C (no group)
# (sigma, max_delta, iterations): Gaussian sigma, the largest neighbour offset, shuffle passes.
@register_corruption("glass_blur", severities=((0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)))
def glass_blur(image: np.ndarray, row: tuple[float, float, float], rng: np.random.Generator) -> np.ndarray:
    """Frosted glass: blur, move every pixel to a random neighbour's value (reference order), blur again."""
    sigma, max_delta, iterations = float(row[0]), round(row[1]), round(row[2])
    height, width = image.shape[:2]
    span = 2 * max_delta
    shape = (iterations, max(0, height - span), max(0, width - span))
    # One draw per visited pixel and pass: the offset pair (dy, dx), uniform over [-max_delta, max_delta)².
    return F.glass_blur(image, sigma, max_delta, uniform_bytes_below(rng, span * span, shape))


def uniform_bytes_below(rng: np.random.Generator, bound: int, shape: tuple[int, ...]) -> np.ndarray:
    """``uint8`` draws uniform over ``0..bound - 1`` (``bound`` <= 256) from raw random bytes: masked when
    ``bound`` is a power of two, else by rejection of the bytes >= the largest multiple of ``bound``
    (several times faster than ``Generator.integers`` for ``uint8``)."""
    count = int(np.prod(shape))
    if bound & (bound - 1) == 0:
        return (np.frombuffer(rng.bytes(count), np.uint8) & np.uint8(bound - 1)).reshape(shape)
    limit = 256 - 256 % bound
    kept = np.empty(0, np.uint8)
    while kept.size < count:  # each byte is kept with probability limit / 256 >= 1/2
        fresh = np.frombuffer(rng.bytes(2 * (count - kept.size) + 64), np.uint8)
        kept = np.concatenate([kept, fresh[fresh < limit]])
    return (kept[:count] % np.uint8(bound)).reshape(shape)


# (mean, std, zoom, threshold, motion-blur radius, motion-blur sigma, image weight)
@register_corruption(
    "snow",
    severities=(
        (0.1, 0.3, 3, 0.5, 10, 4, 0.8),
        (0.2, 0.3, 2, 0.5, 12, 4, 0.7),
        (0.55, 0.3, 4, 0.9, 12, 8, 0.7),
        (0.55, 0.3, 4.5, 0.85, 12, 8, 0.65),
        (0.55, 0.3, 2.5, 0.85, 12, 12, 0.55),
    ),
)
def snow(image: np.ndarray, row: tuple[float, ...], rng: np.random.Generator) -> np.ndarray:
    """Snowflakes falling at a random angle in [-135°, -45°) over a whitened image."""
    noise = rng.standard_normal(image.shape[:2], dtype=np.float32)
    angle = float(rng.uniform(-135.0, -45.0))  # drawn after the layer, as the reference does
    params = (*row[:4], round(row[4]), *row[5:])
    return weather.snow(image, noise, angle, params)  # type: ignore[arg-type]


# (image weight, frost weight)
@register_corruption("frost", severities=((1, 0.4), (0.8, 0.6), (0.7, 0.7), (0.65, 0.7), (0.6, 0.75)))
def frost(image: np.ndarray, row: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    """One of the six ImageNet-C frost photos (from the installed imagecorruptions package), randomly
    cropped, blended over the image."""
    height, width = image.shape[:2]
    index = int(rng.integers(len(weather.FROST_TEXTURES)))
    rows, columns = weather.frost_texture_shape(index, height, width)
    top = int(rng.integers(0, rows - height))
    left = int(rng.integers(0, columns - width))
    return weather.frost(image, index, top, left, float(row[0]), float(row[1]))


# (amount, wibble decay): fog strength and how fast the plasma map's detail fades with scale.
@register_corruption("fog", severities=((1.5, 2), (2.0, 2), (2.5, 1.7), (2.5, 1.5), (3.0, 1.4)))
def fog(image: np.ndarray, row: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    """A random plasma-fractal haze added and the image's range compressed under it."""
    amount, decay = row
    map_size = weather.fog_map_size(*image.shape[:2])
    draws = rng.random(weather.plasma_fractal_draws(map_size), dtype=np.float32)
    fractal = weather.plasma_fractal(draws, map_size, float(decay))
    return weather.fog(image, fractal, float(amount))


# (mean, std, blur sigma, threshold, intensity (water) or mask blur sigma (mud), mud)
@register_corruption(
    "spatter",
    severities=(
        (0.65, 0.3, 4, 0.69, 0.6, 0),
        (0.65, 0.3, 3, 0.68, 0.6, 0),
        (0.65, 0.3, 2, 0.68, 0.5, 0),
        (0.65, 0.3, 1, 0.65, 1.5, 1),
        (0.67, 0.4, 1, 0.65, 1.5, 1),
    ),
)
def spatter(image: np.ndarray, row: tuple[float, ...], rng: np.random.Generator) -> np.ndarray:
    """Water drops (severities 1-3) or mud (4-5) on the lens; a fractional severity between 3 and 4 takes the
    mud branch from 3.5 on."""
    noise = rng.standard_normal(image.shape[:2], dtype=np.float32)
    return weather.spatter(image, noise, row)  # type: ignore[arg-type]


# (saturation factor, saturation shift): severities 1-2 wash colours out, 3-5 oversaturate.
@register_corruption("saturate", severities=((0.3, 0), (0.1, 0), (2, 0), (5, 0.1), (20, 0.2)))
def saturate(image: np.ndarray, row: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    """HSV saturation scaled and shifted."""
    return F.saturate(image, float(row[0]), float(row[1]))


# ------------------------------------------------------------------------- capture distortions (no group)
# Photos of pages and screens. VLM-RobustBench (arXiv 2603.06148) grades its geometric and resampling
# distortions low / mid / high, but the text available when these were written (abstract and introduction)
# gives no parameter values; the five-level tables below are ours, see docs/method.md for the reasoning.
@register_corruption("rotation", severities=(2, 4, 7, 11, 16))
def rotation(image: np.ndarray, degrees: float, rng: np.random.Generator) -> np.ndarray:
    """Rotated by the severity's angle in degrees, clockwise or counter-clockwise at random."""
    sign = 1.0 if rng.random() < 0.5 else -1.0
    return capture.rotation(image, sign * float(degrees))


@register_corruption("perspective_warp", severities=(0.03, 0.05, 0.08, 0.11, 0.15))
def perspective_warp(image: np.ndarray, shift: float, rng: np.random.Generator) -> np.ndarray:
    """Each corner moved by up to ``shift`` × the image size along each axis (uniform, random direction)."""
    return capture.perspective_warp(image, rng.uniform(-1.0, 1.0, size=(4, 2)) * float(shift))


@register_corruption("uneven_illumination", severities=(0.2, 0.35, 0.5, 0.65, 0.8))
def uneven_illumination(image: np.ndarray, depth: float, rng: np.random.Generator) -> np.ndarray:
    """A soft-edged shadow across a random line (direction and position drawn) darkening one side by ``depth``."""
    angle = float(rng.uniform(0.0, 2 * np.pi))
    offset = float(rng.uniform(-0.25, 0.25))
    return capture.uneven_illumination(image, float(depth), angle, offset)


@register_corruption("resampling", severities=(1.5, 2, 2.5, 3, 4))
def resampling(image: np.ndarray, factor: float, rng: np.random.Generator) -> np.ndarray:
    """Shrunk by ``factor`` without anti-aliasing (bilinear) and enlarged back (bicubic)."""
    return capture.resampling(image, float(factor))


# -------------------------------------------------------------------------------------- listed groups
define_listed_group(
    IMAGENET_C,
    [
        "gaussian_noise",
        "shot_noise",
        "impulse_noise",
        "defocus_blur",
        "glass_blur",
        "motion_blur",
        "zoom_blur",
        "snow",
        "frost",
        "fog",
        "brightness",
        "contrast",
        "elastic_transform",
        "pixelate",
        "jpeg_compression",
        "speckle_noise",
        "gaussian_blur",
        "spatter",
        "saturate",
    ],
)
# What covers or fogs the scene. ImageNet-C's paper also files brightness under weather; it stays in unseen and
# out of this group, so that "weather" names what the unseen set lacks.
define_listed_group(WEATHER, ["snow", "frost", "fog", "spatter"])
define_listed_group(CAPTURE, ["rotation", "perspective_warp", "uneven_illumination", "resampling"])
