"""Pure corruption kernels on ``uint8`` H×W×3 RGB arrays.

Each function here takes every parameter explicitly (no severity tables, no random generator): random
draws are sampled by the caller (:mod:`roma.degrade.corruptions`) and passed in, the albumentations split of
"sample the parameters" from "apply them". The kernels follow the ImageNet-C reference implementation
(Hendrycks & Dietterich 2019, as ported to arbitrary image sizes by ``imagecorruptions``) but compute in
``uint8``/``float32`` with OpenCV instead of ``float64`` scikit-image / SciPy, and round to the nearest
grey level where the reference truncates (the reference's ``np.uint8(x)`` darkens every image by half a
grey level on average). Where an OpenCV border or coordinate convention differs from the reference's, the
matching one is chosen explicitly and noted.

albumentations' functional kernel is called where its output is bit-identical to the kernel here
(``low_resolution``: its ``downscale``). Where it is not, the kernel stays hand-written (checked on every severity):
its Gaussian blur reflects the border (ImageNet-C replicates it) and builds PIL's 3.5σ kernel in float64; its JPEG
``image_compression`` hands RGB to OpenCV as BGR, swapping the chroma weights of red and blue; its ``defocus``
disk differs from the reference's at radii 4, 8 and 10; the other corruptions have no albumentations or albucore
kernel that computes the ImageNet-C operation.

All functions return a new ``uint8`` array of the input's shape and never modify their input.
The kernels of the weather corruptions (fog, frost, snow, spatter) are in :mod:`roma.degrade.weather`, those of
the capture distortions in :mod:`roma.degrade.capture`.
"""

from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image

__all__ = [
    "brightness",
    "contrast",
    "defocus_blur",
    "disk_kernel",
    "elastic_transform",
    "gaussian_blur",
    "gaussian_noise",
    "impulse_noise",
    "jpeg_compression",
    "low_resolution",
    "motion_blur",
    "motion_blur_taps",
    "pixelate",
    "poisson_counts",
    "poisson_quantile_tables",
    "resize_bicubic",
    "shot_noise",
    "speckle_noise",
    "to_uint8",
    "zoom_blur",
]


def to_uint8(values: np.ndarray) -> np.ndarray:
    """Round float grey levels to the nearest integer and clip to [0, 255]."""
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def gaussian_kernel_radius(sigma: float, truncate: float) -> int:
    """Kernel radius SciPy's ``gaussian_filter`` uses: ``int(truncate * sigma + 0.5)``."""
    return int(truncate * sigma + 0.5)


# --------------------------------------------------------------------------------------------- blur
@lru_cache(maxsize=64)
def gaussian_kernel_1d(sigma: float, truncate: float = 4.0) -> np.ndarray:
    """Normalised 1-D Gaussian of radius ``int(truncate·σ + 0.5)``, as a ``float32`` column (cached)."""
    radius = gaussian_kernel_radius(sigma, truncate)
    kernel = cv2.getGaussianKernel(2 * radius + 1, sigma, ktype=cv2.CV_32F)
    kernel.flags.writeable = False
    return kernel


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur with standard deviation ``sigma`` pixels.

    ImageNet-C calls ``skimage.filters.gaussian`` (``truncate=4``, ``mode="nearest"``), i.e. a kernel of
    radius ``int(4σ + 0.5)`` with edge replication. The same separable filter runs here with
    ``cv2.sepFilter2D`` and ``BORDER_REPLICATE`` on ``uint8`` directly (the kernel albumentations uses, but
    with ImageNet-C's 4σ support instead of PIL's 3.5σ: 49 instead of 43 taps at σ = 6).
    """
    kernel = gaussian_kernel_1d(float(sigma))
    return cv2.sepFilter2D(image, -1, kernel, kernel, borderType=cv2.BORDER_REPLICATE)


@lru_cache(maxsize=64)
def disk_kernel(radius: float, alias_blur: float) -> np.ndarray:
    """ImageNet-C's anti-aliased disk: a normalised disk of ``radius`` smoothed by a small Gaussian.

    The reference uses a 17×17 support (3×3 smoothing) up to radius 8 and ``2·radius + 1`` (5×5 smoothing)
    beyond; a fractional radius (interpolated severity) uses ``ceil(radius)`` for the support.
    """
    if radius <= 8:
        half, smoothing = 8, 3
    else:
        half, smoothing = math.ceil(radius), 5
    coords = np.arange(-half, half + 1, dtype=np.float32)
    xx, yy = np.meshgrid(coords, coords)
    disk = (xx**2 + yy**2 <= radius**2).astype(np.float32)
    disk /= disk.sum()
    kernel = cv2.GaussianBlur(disk, (smoothing, smoothing), sigmaX=alias_blur)
    kernel.flags.writeable = False  # cached and shared: nobody may edit it
    return kernel


def defocus_blur(image: np.ndarray, radius: float, alias_blur: float) -> np.ndarray:
    """Convolve with the anti-aliased disk (reference: ``cv2.filter2D`` with its default reflect-101 border)."""
    kernel = disk_kernel(float(radius), float(alias_blur))
    # float32 in and out: OpenCV's uint8 path for large float kernels is slower than converting.
    blurred = cv2.filter2D(image.astype(np.float32), -1, kernel, borderType=cv2.BORDER_REFLECT_101)
    return to_uint8(blurred)


@lru_cache(maxsize=256)
def motion_blur_taps(
    radius: int, sigma: float, angle: float
) -> tuple[tuple[tuple[int, int], ...], np.ndarray]:
    """The ``(dy, dx)`` shifts and weights of the reference's line-shaped motion blur.

    The reference sums ``width = 2·radius + 1`` copies of the image, copy ``i`` shifted by
    ``(-ceil(i·sin θ - 0.5), -ceil(i·cos θ - 0.5))`` with edge replication and weighted by a half Gaussian
    ``exp(-i² / 2σ²)`` normalised to sum 1. Taps that land on the same shift are merged.
    """
    width = 2 * radius + 1
    weights = np.exp(-(np.arange(width, dtype=np.float64) ** 2) / (2 * sigma**2))
    weights /= weights.sum()
    sin_t, cos_t = math.sin(math.radians(angle)), math.cos(math.radians(angle))
    merged: dict[tuple[int, int], float] = {}
    for i in range(width):
        shift = (-math.ceil(i * sin_t - 0.5), -math.ceil(i * cos_t - 0.5))
        merged[shift] = merged.get(shift, 0.0) + float(weights[i])
    shifts = tuple(merged)
    tap_weights = np.array([merged[s] for s in shifts], dtype=np.float32)
    tap_weights.flags.writeable = False
    return shifts, tap_weights


def motion_blur(image: np.ndarray, radius: int, sigma: float, angle: float) -> np.ndarray:
    """Linear motion blur of ``2·radius + 1`` taps along ``angle`` degrees (reference ``_motion_blur``).

    Shifted copies replicate the edge pixels, as the reference's ``shift`` does. The reference stops adding
    taps once a shift reaches the image size (so tiny images come out darker); here such taps still count,
    clamped to the edge, so the weights always sum to 1.
    """
    return to_uint8(motion_blur_values(image, radius, sigma, angle))


def motion_blur_values(values: np.ndarray, radius: int, sigma: float, angle: float) -> np.ndarray:
    """:func:`motion_blur` of a ``uint8`` or ``float32`` array (any channels), unrounded, as ``float32``."""
    shifts, weights = motion_blur_taps(int(radius), float(sigma), float(angle))
    height, width = values.shape[:2]
    pad_y = max(abs(dy) for dy, _ in shifts)
    pad_x = max(abs(dx) for _, dx in shifts)
    padded = cv2.copyMakeBorder(values, pad_y, pad_y, pad_x, pad_x, cv2.BORDER_REPLICATE)
    accumulator = np.zeros(values.shape, dtype=np.float32)
    for (dy, dx), weight in zip(shifts, weights):
        # out(y, x) += w · in(y - dy, x - dx), read from the replicate-padded copy
        window = padded[pad_y - dy : pad_y - dy + height, pad_x - dx : pad_x - dx + width]
        cv2.scaleAdd(window.astype(np.float32), float(weight), accumulator, dst=accumulator)
    return accumulator


def zoom_blur(image: np.ndarray, zoom_factors: np.ndarray) -> np.ndarray:
    """Average of the image and its centre zooms by each factor (reference ``zoom_blur``).

    The reference crops ``ceil(n / z)`` pixels around the centre and enlarges them with
    ``scipy.ndimage.zoom(order=1)``, whose output pixel ``o`` samples input ``o·(n_in - 1)/(n_out - 1)``
    (corner-aligned, unlike ``cv2.resize``), then keeps the top-left ``n`` pixels. One ``cv2.warpAffine``
    per factor with exactly that mapping does the crop, zoom and trim at once.
    """
    height, width = image.shape[:2]
    accumulator = image.astype(np.float32)
    for zoom in zoom_factors:
        matrix = np.zeros((2, 3), dtype=np.float64)
        for axis, size in ((0, width), (1, height)):
            crop = math.ceil(size / zoom)
            start = (size - crop) // 2
            zoomed = round(crop * zoom)
            matrix[axis, axis] = (crop - 1) / (zoomed - 1) if zoomed > 1 else 0.0
            matrix[axis, 2] = start
        layer = cv2.warpAffine(
            image,
            matrix,
            (width, height),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        )
        accumulator += layer
    return to_uint8(accumulator / (len(zoom_factors) + 1))


# ------------------------------------------------------------------------------------ compression
def jpeg_compression(image: np.ndarray, quality: int) -> np.ndarray:
    """Encode as baseline JPEG at ``quality`` (4:2:0 chroma subsampling) and decode.

    ImageNet-C saves with PIL; OpenCV links the same libjpeg-turbo and gives identical bytes, and is faster.
    """
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".jpg", bgr, (cv2.IMWRITE_JPEG_QUALITY, int(quality)))
    if not ok:  # pragma: no cover - libjpeg only fails on impossible sizes
        raise RuntimeError(f"JPEG encoding failed for an image of shape {image.shape}")
    return cv2.imdecode(encoded, _IMREAD_RGB) if _IMREAD_RGB is not None else _decode_bgr_as_rgb(encoded)


# OpenCV >= 4.10 decodes straight to RGB, saving a colour conversion per call.
_IMREAD_RGB = getattr(cv2, "IMREAD_COLOR_RGB", None)


def _decode_bgr_as_rgb(encoded: np.ndarray) -> np.ndarray:  # pragma: no cover - older OpenCV
    return cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def low_resolution(image: np.ndarray, factor: float) -> np.ndarray:
    """Downsample by ``factor`` (area averaging, anti-aliased) and resample back with bilinear interpolation.

    Not part of ImageNet-C. Equivalent to ``albumentations.Downscale(scale_range=(1/factor, 1/factor),
    interpolation_pair={"downscale": cv2.INTER_AREA, "upscale": cv2.INTER_LINEAR})`` except that the small
    size is rounded and kept at least one pixel, so 1×500 images work.
    """
    height, width = image.shape[:2]
    scale = 1.0 / factor
    if round(width * scale) >= 1 and round(height * scale) >= 1:
        # albumentations' own kernel (bit-identical, pinned by tests/goldens.json). Given a scale (not a size),
        # OpenCV takes its fast block-average path for integer factors; the small size is round(size / factor).
        # When the factor does not divide the size, that path's blocks drift by up to factor/3 pixel across the
        # image, so a fractional factor just above an integer one can score a slightly higher PSNR.
        return _albumentations_pixel().downscale(image, scale, cv2.INTER_AREA, cv2.INTER_LINEAR)
    # Smaller than one pixel at that scale: albumentations' Downscale would ask OpenCV for an empty image.
    down = cv2.resize(
        image, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA
    )
    return cv2.resize(down, (width, height), interpolation=cv2.INTER_LINEAR)


# OpenCV's bicubic (a = -0.75) on uint8 as its portable scalar code defines it (weights from float32 arithmetic,
# quantised to 1/2048, integer sums, one rounding), so the same bytes on every CPU. Why not cv2.resize(...,
# INTER_CUBIC): its SIMD code rounds differently from that definition and leaves each row's last few values (fewer
# than one vector: a different few on an AVX2 and on an AVX-512 CPU) to the scalar code, so its output depends on
# the CPU (one level at a few pixels of every frost photo; `bench/cross_cpu.py`).
_CUBIC_A = np.float32(-0.75)
_CUBIC_BITS = 11  # OpenCV's INTER_RESIZE_COEF_BITS: weights in units of 1/2048


def _cubic_taps(source: int, target: int) -> tuple[np.ndarray, np.ndarray]:
    """For each of ``target`` output samples: the 4 source indices it reads (clamped: replicated border) and
    their fixed-point weights, as OpenCV's ``resize`` sets them up for ``INTER_CUBIC`` (float32 arithmetic)."""
    scale = 1.0 / (target / source)  # OpenCV's scale_x = 1 / inv_scale_x, in double
    position = ((np.arange(target, dtype=np.float64) + 0.5) * scale - 0.5).astype(np.float32)
    start = np.floor(position)
    x = (position - start).astype(np.float32)
    one, a = np.float32(1), _CUBIC_A
    w0 = ((a * (x + one) - np.float32(5) * a) * (x + one) + np.float32(8) * a) * (x + one) - np.float32(4) * a
    w1 = ((a + np.float32(2)) * x - (a + np.float32(3))) * x * x + one
    w2 = ((a + np.float32(2)) * (one - x) - (a + np.float32(3))) * (one - x) * (one - x) + one
    w3 = one - w0 - w1 - w2
    weights = np.rint(np.stack([w0, w1, w2, w3], axis=1) * np.float32(1 << _CUBIC_BITS)).astype(np.int64)
    indices = np.clip(start.astype(np.int64)[:, None] + np.arange(-1, 3), 0, source - 1)
    return indices, weights


def resize_bicubic(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """OpenCV's ``INTER_CUBIC`` resize of a uint8 H×W or H×W×C image to ``width × height``, in integer arithmetic:
    the same on every CPU (``cv2.resize``'s vectorised code differs from it by one level at a few % of pixels)."""
    trailing = (1,) * (image.ndim - 2)
    column_index, column_weight = _cubic_taps(image.shape[1], width)
    row_index, row_weight = _cubic_taps(image.shape[0], height)
    values = image.astype(np.int64)
    rows = sum(
        values[:, column_index[:, k]] * column_weight[:, k].reshape(1, -1, *trailing) for k in range(4)
    )
    total = sum(rows[row_index[:, k]] * row_weight[:, k].reshape(-1, 1, *trailing) for k in range(4))
    return np.clip((total + (1 << (2 * _CUBIC_BITS - 1))) >> (2 * _CUBIC_BITS), 0, 255).astype(np.uint8)


@lru_cache(maxsize=1)
def _albumentations_pixel():
    """``albumentations.augmentations.pixel.functional``, imported on first use (about a second) and without
    albumentations' update check, which would call the network on import."""
    import os

    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    from albumentations.augmentations.pixel import functional

    return functional


def pixelate(image: np.ndarray, scale: float) -> np.ndarray:
    """Box-downsample to ``int(size·scale)`` (at least 1) and nearest-upsample back, with PIL as ImageNet-C."""
    height, width = image.shape[:2]
    small = (max(1, int(width * scale)), max(1, int(height * scale)))
    pil = Image.fromarray(image, "RGB").resize(small, Image.Resampling.BOX)
    # OpenCV's INTER_NEAREST_EXACT samples where PIL's NEAREST does (pixel centres), into a fresh array
    # without PIL's copy out; tests/test_degrade.py checks the two agree on every size and scale it tries.
    return cv2.resize(np.asarray(pil), (width, height), interpolation=cv2.INTER_NEAREST_EXACT)


# ------------------------------------------------------------------------------------------- noise
def gaussian_noise(image: np.ndarray, standard_normal: np.ndarray, scale: float) -> np.ndarray:
    """Add ``scale · standard_normal`` (in units of the full range [0, 1]) and clip."""
    return to_uint8(image.astype(np.float32) + standard_normal * np.float32(255.0 * scale))


@lru_cache(maxsize=32)
def poisson_quantile_tables(photons: float, buckets: int = 1024) -> tuple[np.ndarray, np.ndarray, int]:
    """CDF and guide tables for inverse-transform Poisson sampling at the 256 rates ``v/255 · photons``.

    Returns ``(cdf, guide, width)``: ``cdf[v·width + k] = P(K <= k)`` for rate ``v/255 · photons`` (the
    last column forced to 1; the tail beyond ``photons + 12√photons + 12`` has probability < 1e-20), and
    ``guide[v·buckets + i]`` = the smallest ``k`` with ``cdf >= i / buckets`` (Chen & Asau's guide table).
    """
    rates = np.arange(256, dtype=np.float64) * (photons / 255.0)
    width = int(photons + 12.0 * math.sqrt(photons) + 12.0) + 1
    ratios = rates[:, None] / np.arange(1, width, dtype=np.float64)[None, :]  # pmf(k) = pmf(k-1)·λ/k
    pmf = np.exp(-rates)[:, None] * np.concatenate([np.ones((256, 1)), np.cumprod(ratios, axis=1)], axis=1)
    cdf = np.cumsum(pmf, axis=1)
    cdf[:, -1] = 1.0
    thresholds = np.arange(buckets, dtype=np.float64) / buckets
    guide = np.stack([np.searchsorted(row, thresholds, side="left") for row in cdf]).astype(np.int32)
    for table in (cdf, guide):
        table.flags.writeable = False
    return cdf.ravel(), guide.ravel(), width


def poisson_counts(image: np.ndarray, uniform: np.ndarray, photons: float) -> np.ndarray:
    """Poisson(``v/255 · photons``) counts for each ``uint8`` value ``v``, by exact inverse transform.

    The count for a value is the smallest ``k`` with ``P(K <= k) >= u`` for its ``uniform`` draw (U[0, 1)
    float64, one per value), found from the guide table and a few vectorised steps.
    """
    buckets = 1024
    cdf, guide, width = poisson_quantile_tables(float(photons), buckets)
    levels = image.astype(np.int32).ravel()
    flat_uniform = uniform.ravel()
    counts = guide[levels * buckets + (flat_uniform * buckets).astype(np.int32)]
    rows = levels * width
    pending = np.flatnonzero(cdf[rows + counts] < flat_uniform)
    while pending.size:  # each step moves the still-too-small counts up by one
        counts[pending] += 1
        pending = pending[cdf[rows[pending] + counts[pending]] < flat_uniform[pending]]
    return counts.reshape(image.shape)


def shot_noise(image: np.ndarray, uniform: np.ndarray, photons: float) -> np.ndarray:
    """Poisson noise: each value ``v`` becomes ``Poisson(v/255 · photons) / photons · 255``.

    Same law as the reference's ``np.random.poisson``, about half the cost: the rate takes only 256 values,
    so the counts come from :func:`poisson_counts`' precomputed inverse CDFs.
    """
    counts = poisson_counts(image, uniform, photons)
    return to_uint8(counts.astype(np.float32) * np.float32(255.0 / photons))


def impulse_noise(image: np.ndarray, uniform: np.ndarray, amount: float) -> np.ndarray:
    """Salt and pepper on each channel value independently (``skimage.util.random_noise(mode="s&p")``).

    ``uniform`` holds one U[0, 1) draw per value: below ``amount/2`` it becomes 0 (pepper), in
    ``[amount/2, amount)`` it becomes 255 (salt); each has probability ``amount/2`` as in scikit-image.
    """
    out = image.copy()
    out[uniform < amount] = 255
    out[uniform < amount / 2] = 0
    return out


def speckle_noise(image: np.ndarray, standard_normal: np.ndarray, scale: float) -> np.ndarray:
    """Multiplicative noise ``x + x · scale · N(0, 1)``."""
    values = image.astype(np.float32)
    return to_uint8(values + values * standard_normal * np.float32(scale))


# ---------------------------------------------------------------------------------------- photometric
def contrast(image: np.ndarray, factor: float) -> np.ndarray:
    """Scale each channel's deviation from its mean by ``factor`` (one lookup table per channel)."""
    means = np.array(cv2.mean(image)[:3], dtype=np.float64)
    levels = np.arange(256, dtype=np.float64)[:, None]
    table = to_uint8((levels - means) * factor + means)  # 256 × 3
    return cv2.LUT(image, table.reshape(256, 1, 3))


def brightness(image: np.ndarray, shift: float) -> np.ndarray:
    """Add ``shift`` to the HSV value channel (clipped to 1), keeping hue and saturation.

    With hue and saturation fixed, HSV→RGB is linear in V, so raising V from ``v = max(r, g, b)`` to
    ``v' = min(v + shift, 1)`` multiplies every channel by ``v'/v``; black (v = 0, saturation 0) becomes
    grey ``v' = shift``. That is what the reference's ``rgb2hsv``/``hsv2rgb`` round trip computes.
    """
    value = np.arange(256, dtype=np.float64) / 255.0
    new_value = np.minimum(value + shift, 1.0)
    gain = np.divide(new_value, value, out=np.zeros_like(value), where=value > 0).astype(np.float32)
    offset = np.where(value > 0, 0.0, new_value * 255.0).astype(np.float32)
    v_max = image.max(axis=2)
    return to_uint8(image * gain[v_max][..., None] + offset[v_max][..., None])


# ------------------------------------------------------------------------------------------ geometric
def elastic_transform(
    image: np.ndarray, uniform_dy: np.ndarray, uniform_dx: np.ndarray, alpha: float
) -> np.ndarray:
    """Smooth random displacement field (the ``imagecorruptions`` size-generic ImageNet-C variant).

    ``uniform_dx``/``uniform_dy`` are U[-1, 1) draws per pixel. Each is scaled by ``0.005·H``, smoothed by a
    Gaussian of σ = 1 % of the image size per axis (``truncate=3``, reflect border), multiplied by
    ``alpha`` and used as a bilinear sampling offset with reflected borders (SciPy ``mode="reflect"`` is
    OpenCV's ``BORDER_REFLECT``).
    """
    height, width = image.shape[:2]
    max_shift = np.float32(0.005 * height)
    sigma_y, sigma_x = 0.01 * height, 0.01 * width
    ksize = (2 * gaussian_kernel_radius(sigma_x, 3.0) + 1, 2 * gaussian_kernel_radius(sigma_y, 3.0) + 1)

    def smooth(field: np.ndarray) -> np.ndarray:
        field = field.astype(np.float32) * max_shift
        blurred = cv2.GaussianBlur(
            field, ksize, sigmaX=sigma_x, sigmaY=sigma_y, borderType=cv2.BORDER_REFLECT
        )
        return blurred * np.float32(alpha)

    grid_y, grid_x = np.indices((height, width), dtype=np.float32)
    map_x = grid_x + smooth(uniform_dx)
    map_y = grid_y + smooth(uniform_dy)
    return cv2.remap(image, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


# ------------------------------------------------------------------------------- the rest of ImageNet-C
# (its weather corruptions are in roma.degrade.weather, the capture distortions in roma.degrade.capture)
@lru_cache(maxsize=32)
def _glass_layout(height: int, width: int, max_delta: int) -> tuple[np.ndarray, ...]:
    """Per-size tables of :func:`glass_shuffle_sources` (cached, read-only).

    Per offset code ``(dy + d) · 2d + (dx + d)``: the step to the neighbour among the visited pixels and in
    the image. Per visited pixel: its flat index in the image, and where its row of ``takes_new`` starts;
    ``takes_new`` says per (row, code) whether the neighbour is visited before this pixel (a later row, or the
    same row further right) and visited at all (inside the window). A row is one of the (d + 1)³ ways a pixel
    can sit near the window's bottom, left and right edges (the only edges an earlier neighbour can lie past).
    """
    span = 2 * max_delta
    rows, cols = height - span, width - span
    dy, dx = np.divmod(np.arange(span * span, dtype=np.int32), span)
    dy, dx = dy - max_delta, dx - max_delta
    before = (dy > 0) | ((dy == 0) & (dx > 0))
    # Distance to the bottom, left and right edges, capped at max_delta (at or beyond it nothing is cut off).
    to_bottom = np.minimum(np.arange(rows)[::-1], max_delta)[:, None]
    to_left = np.minimum(np.arange(cols), max_delta)[None, :]
    to_right = np.minimum(np.arange(cols)[::-1], max_delta)[None, :]
    situation = ((to_bottom * (max_delta + 1) + to_left) * (max_delta + 1) + to_right).astype(np.int32)
    bottom, rest = np.divmod(np.arange((max_delta + 1) ** 3), (max_delta + 1) ** 2)
    left, right = np.divmod(rest, max_delta + 1)
    takes_new = (
        before[None, :]
        & (dy[None, :] <= bottom[:, None])
        & (dx[None, :] >= -left[:, None])
        & (dx[None, :] <= right[:, None])
    ).astype(np.uint8)
    row_start = (situation * (span * span)).ravel()
    pixels = (
        np.arange(max_delta + 1, max_delta + 1 + rows, dtype=np.int32)[:, None] * width
        + np.arange(max_delta + 1, max_delta + 1 + cols, dtype=np.int32)[None, :]
    ).ravel()
    tables = (
        (dy * cols + dx).astype(np.int32),
        (dy * width + dx).astype(np.int32),
        takes_new.ravel(),
        row_start,
        pixels,
    )
    for table in tables:
        table.flags.writeable = False
    return tables


def glass_shuffle_sources(height: int, width: int, max_delta: int, offset_codes: np.ndarray) -> np.ndarray:
    """Flat source index of every pixel after ImageNet-C's glass-blur "swaps", vectorised.

    The reference visits the pixels ``(h, w)`` with ``max_delta < h <= height - max_delta`` (same for ``w``)
    in descending raster order, ``iterations`` times, and runs ``x[h, w], x[h + dy, w + dx] = x[h + dy, w + dx],
    x[h, w]`` on H×W×3 arrays, where both right-hand sides are *views*: the statement copies the neighbour
    into ``(h, w)`` and leaves the neighbour unchanged (a copy, not a swap; the reference's output repeats
    pixels). So a pixel takes its neighbour's value as it is at that moment: the neighbour's own new value if
    the loop visited it earlier in the pass, its value before the pass otherwise. Following those links
    (a few steps on average: about half of the offsets point to an earlier pixel) gives each pixel's source
    for the whole pass, the same as the sequential loop, bit for bit.

    ``offset_codes``: ``iterations × (height - 2·max_delta) × (width - 2·max_delta)`` integers, one per visited
    pixel in ascending order, each ``(dy + max_delta) · 2·max_delta + (dx + max_delta)`` for the offset
    ``dy, dx`` in ``[-max_delta, max_delta)`` the reference draws there.
    """
    sources = np.arange(height * width, dtype=np.int32)
    span = 2 * max_delta
    rows, cols = height - span, width - span
    if rows <= 0 or cols <= 0:
        return sources
    visited_step, image_step, takes_new_table, row_start, pixels = _glass_layout(height, width, max_delta)
    visited = np.arange(rows * cols, dtype=np.int32)
    window = sources.reshape(height, width)[
        max_delta + 1 : max_delta + 1 + rows, max_delta + 1 : max_delta + 1 + cols
    ]
    identity = True  # sources still maps every pixel to itself (before the first pass)
    for codes in offset_codes.reshape(-1, rows * cols):
        if codes.dtype != np.uint8:
            codes = codes.astype(np.uint8) if span * span <= 256 else codes.astype(np.intp)
        # uint8 tables taken, then viewed as bool: NumPy's nonzero and compress are several times faster on
        # bool than on uint8 or with boolean indexing
        takes_new = np.take(takes_new_table, row_start + codes)
        neighbour = visited + np.take(visited_step, codes)  # meaningful where takes_new
        node = visited.copy()
        chasing = np.flatnonzero(takes_new.view(bool))
        while chasing.size:  # each step follows the link to the pixel the neighbour copied from
            link = np.take(neighbour, np.take(node, chasing))
            node[chasing] = link
            chasing = np.compress(np.take(takes_new, link).view(bool), chasing)
        # The pixel at the end of a chain copied its neighbour's value from before the pass.
        chain_end_sources = np.take(pixels + np.take(image_step, codes), node)
        if not identity:
            chain_end_sources = np.take(sources, chain_end_sources)
        window[...] = chain_end_sources.reshape(rows, cols)
        identity = False
    return sources


def glass_blur(image: np.ndarray, sigma: float, max_delta: int, offset_codes: np.ndarray) -> np.ndarray:
    """Gaussian blur, ImageNet-C's local pixel shuffle (:func:`glass_shuffle_sources`), Gaussian blur again.

    The reference truncates the first blur to ``uint8`` (``np.uint8(x · 255)``); it is rounded here, as every
    kernel in this module rounds where the reference truncates, so outputs are on average half a grey level
    brighter and differ from the reference by at most one level. The shuffle is the reference's exactly.
    """
    height, width = image.shape[:2]
    blurred = gaussian_blur(image, sigma)
    sources = glass_shuffle_sources(height, width, int(max_delta), offset_codes)
    # Gathered as one uint32 per RGBA pixel: several times faster than rows of an (H·W) × 3 array.
    packed = cv2.cvtColor(blurred, cv2.COLOR_RGB2RGBA).view(np.uint32).reshape(-1)
    shuffled = cv2.cvtColor(
        np.take(packed, sources).view(np.uint8).reshape(height, width, 4), cv2.COLOR_RGBA2RGB
    )
    return gaussian_blur(shuffled, sigma)


def saturate(image: np.ndarray, factor: float, shift: float) -> np.ndarray:
    """Scale the HSV saturation by ``factor``, add ``shift`` and clip to [0, 1], keeping hue and value.

    OpenCV's float HSV conversion (hue in degrees) in place of scikit-image's float64 one. A grey pixel has
    hue 0 in both, so the reference's severities 4 and 5 (``shift`` > 0) turn greys reddish, and so does this.
    """
    hsv = cv2.cvtColor(image.astype(np.float32) * np.float32(1 / 255), cv2.COLOR_RGB2HSV)
    saturation = hsv[..., 1]
    np.clip(saturation * np.float32(factor) + np.float32(shift), 0.0, 1.0, out=saturation)
    return to_uint8(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB) * np.float32(255))
