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


def plasma_fractal_draws(map_size: int) -> int:
    """How many U[0, 1) draws :func:`plasma_fractal` consumes for a ``map_size`` map."""
    count, step = 0, map_size
    while step >= 2:
        count += 3 * (map_size // step) ** 2
        step //= 2
    return count


def plasma_fractal(uniform: np.ndarray, map_size: int, decay: float) -> np.ndarray:
    """ImageNet-C's diamond-square height map (``plasma_fractal``), ``map_size``² in [0, 1], as ``float32``.

    ``uniform`` holds :func:`plasma_fractal_draws` U[0, 1) draws in the order the reference draws
    ``np.random.uniform(-wibble, wibble, shape)``: squares, then the two diamond sets, per level. Each
    becomes ``-wibble + 2·wibble·u``, the reference's own arithmetic, so the same ``float64`` draws give the
    same map bit for bit; ``float32`` draws (what :mod:`roma.degrade.corruptions` passes, for speed) compute
    in ``float32``.
    """
    field = np.empty((map_size, map_size), dtype=np.float32)
    field[0, 0] = 0
    step, wibble, used = map_size, 100.0, 0

    def wibbled_mean(total: np.ndarray) -> np.ndarray:
        nonlocal used
        draws = uniform[used : used + total.size].reshape(total.shape)
        used += total.size
        low, width = draws.dtype.type(-wibble), draws.dtype.type(wibble - -wibble)
        return total / 4 + draws.dtype.type(wibble) * (low + width * draws)

    while step >= 2:
        half = step // 2
        corners = field[0:map_size:step, 0:map_size:step]
        square_sum = corners + np.roll(corners, shift=-1, axis=0)
        square_sum += np.roll(square_sum, shift=-1, axis=1)
        field[half:map_size:step, half:map_size:step] = wibbled_mean(square_sum)
        centres = field[half:map_size:step, half:map_size:step]
        corners = field[0:map_size:step, 0:map_size:step]
        # summed in the reference's order, so float32 rounding matches too
        left_sum = (centres + np.roll(centres, 1, axis=0)) + (corners + np.roll(corners, -1, axis=1))
        field[0:map_size:step, half:map_size:step] = wibbled_mean(left_sum)
        top_sum = (centres + np.roll(centres, 1, axis=1)) + (corners + np.roll(corners, -1, axis=0))
        field[half:map_size:step, 0:map_size:step] = wibbled_mean(top_sum)
        step //= 2
        wibble /= decay
    field -= field.min()
    return field / field.max()


def fog_map_size(height: int, width: int) -> int:
    """The side of the plasma map fog draws: the next power of two of the largest of H, W and 3 channels."""
    largest = max(height, width, 3)
    return 1 << (largest - 1).bit_length()


def fog(image: np.ndarray, fractal: np.ndarray, amount: float) -> np.ndarray:
    """Add ``amount`` × a plasma map (top-left H×W of ``fractal``) to every channel, then rescale so the
    image's brightest value keeps its level: ``(x + amount·map) · max / (max + amount)`` on [0, 1] values."""
    height, width = image.shape[:2]
    peak = float(image.max()) / 255.0
    scale = np.float32(peak / (peak + amount))
    layer = fractal[:height, :width, None].astype(np.float32) * np.float32(255.0 * amount) * scale
    return to_uint8(image.astype(np.float32) * scale + layer)


FROST_TEXTURES = ("frost1.png", "frost2.png", "frost3.png", "frost4.jpg", "frost5.jpg", "frost6.jpg")


def frost_texture_folder():
    """The ``frost/`` folder of the installed ``imagecorruptions`` package (found without importing it, which
    would load numba), or raise :class:`~roma.degrade.errors.CorruptionResourceError` saying how to get it."""
    import importlib.util
    from pathlib import Path

    from roma.degrade.errors import CorruptionResourceError

    spec = importlib.util.find_spec("imagecorruptions")
    folders = [Path(p) / "frost" for p in (spec.submodule_search_locations or [])] if spec else []
    for folder in folders:
        if all((folder / name).is_file() for name in FROST_TEXTURES):
            return folder
    where = (
        f"not all of {', '.join(FROST_TEXTURES)} are in {folders[0]}"
        if folders
        else "the package is not installed"
    )
    raise CorruptionResourceError(
        "the frost corruption overlays the six ImageNet-C frost photos shipped inside the imagecorruptions "
        f"package, and {where}: install it with `pip install imagecorruptions-imaug` (roma's [dev] extra has it)"
    )


@lru_cache(maxsize=len(FROST_TEXTURES))
def _frost_photo(index: int) -> np.ndarray:
    path = frost_texture_folder() / FROST_TEXTURES[index]
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)  # as the reference reads it: alpha dropped
    if bgr is None:
        from roma.degrade.errors import CorruptionResourceError

        raise CorruptionResourceError(
            f"the frost photo {path} could not be decoded; reinstall imagecorruptions-imaug"
        )
    bgr.flags.writeable = False
    return bgr


def frost_texture_shape(index: int, height: int, width: int) -> tuple[int, int]:
    """(rows, columns) of frost photo ``index`` once scaled as the reference scales it for an H×W image:
    1.1 × the photo, enlarged first until it covers the image."""
    photo_height, photo_width = _frost_photo(index).shape[:2]
    scale = max(1.0, height / photo_height, width / photo_width) * 1.1
    return math.ceil(photo_height * scale), math.ceil(photo_width * scale)


@lru_cache(maxsize=8)  # a photo scaled past 1.1x (an image larger than it) can hold tens of MB
def frost_texture(index: int, rows: int, columns: int) -> np.ndarray:
    """Frost photo ``index`` resized (bicubic) to ``rows × columns``, as RGB ``uint8`` (cached)."""
    resized = cv2.resize(_frost_photo(index), (columns, rows), interpolation=cv2.INTER_CUBIC)
    rgb = np.ascontiguousarray(resized[..., ::-1])
    rgb.flags.writeable = False
    return rgb


def frost(
    image: np.ndarray, index: int, top: int, left: int, image_weight: float, frost_weight: float
) -> np.ndarray:
    """``image_weight · image + frost_weight · frost`` with the H×W crop at (top, left) of frost photo
    ``index`` scaled by :func:`frost_texture_shape`."""
    height, width = image.shape[:2]
    texture = frost_texture(index, *frost_texture_shape(index, height, width))
    crop = texture[top : top + height, left : left + width]
    return cv2.addWeighted(image, float(image_weight), crop, float(frost_weight), 0.0)


def _linear_zoom_axis(values: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Resample ``values`` to ``size`` samples along ``axis`` with ``scipy.ndimage.zoom(order=1)``'s
    corner-aligned linear interpolation (sample ``o`` reads ``o · (n - 1) / (size - 1)``)."""
    n = values.shape[axis]
    if n == 1 or size == 1:
        return np.repeat(values.take([0], axis=axis), size, axis=axis)
    coords = np.arange(size, dtype=np.float64) * ((n - 1) / (size - 1))
    low = np.minimum(coords.astype(np.intp), n - 2)
    fraction = (coords - low).astype(np.float32)
    shape = [1] * values.ndim
    shape[axis] = size
    fraction = fraction.reshape(shape)
    before, after = values.take(low, axis=axis), values.take(low + 1, axis=axis)
    return before + (after - before) * fraction


def clipped_zoom(values: np.ndarray, zoom: float) -> np.ndarray:
    """The reference's ``clipped_zoom`` of a 2-D map: crop ``ceil(n / zoom)`` around the centre and enlarge
    it ``zoom`` times (``round(crop · zoom)`` samples, linear, corner-aligned), not trimmed."""
    out = values
    for axis in (0, 1):
        size = values.shape[axis]
        crop = math.ceil(size / zoom)
        start = (size - crop) // 2
        out = _linear_zoom_axis(out.take(np.arange(start, start + crop), axis=axis), round(crop * zoom), axis)
    return out


def snow(
    image: np.ndarray,
    standard_normal: np.ndarray,
    angle: float,
    params: tuple[float, float, float, float, int, float, float],
) -> np.ndarray:
    """ImageNet-C snow: a thresholded, zoomed, motion-blurred noise layer (and its 180° rotation) added to
    an image whitened towards ``1.5 · grey + 0.5``.

    ``standard_normal``: H×W N(0, 1) draws; ``params``: (mean, std, zoom, threshold, blur radius, blur
    sigma, image weight), a row of the reference's table; ``angle``: the flakes' motion in degrees.
    """
    mean, std, zoom, threshold, radius, sigma, keep = params
    height, width = image.shape[:2]
    layer = standard_normal.astype(np.float32) * np.float32(std) + np.float32(mean)
    layer = clipped_zoom(layer, zoom)
    layer[layer < threshold] = 0
    layer = np.clip(layer, 0, 1)
    layer = motion_blur_values(layer, int(radius), float(sigma), float(angle))
    layer = np.rint(layer[:height, :width] * 255) / np.float32(255)  # the reference quantises the layer
    values = image.astype(np.float32) / np.float32(255)
    grey = cv2.cvtColor(values, cv2.COLOR_RGB2GRAY)[..., None]
    values = np.float32(keep) * values + np.float32(1 - keep) * np.maximum(values, grey * 1.5 + 0.5)
    flakes = layer + layer[::-1, ::-1]
    return to_uint8((values + flakes[..., None]) * 255)


_WATER_RGB = np.array([175, 238, 238], dtype=np.float32) / 255  # pale turquoise
_MUD_RGB = np.array([63, 42, 20], dtype=np.float32) / 255  # mud brown
_SPATTER_EDGE_KERNEL = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], dtype=np.float32)


def spatter(
    image: np.ndarray, standard_normal: np.ndarray, params: tuple[float, float, float, float, float, float]
) -> np.ndarray:
    """ImageNet-C spatter: water drops with embossed edges (``mud = 0``) or opaque mud blobs (``mud = 1``).

    ``standard_normal``: H×W N(0, 1) draws; ``params``: (mean, std, blur sigma, threshold, intensity or mud
    blur sigma, mud), a row of the reference's table. The OpenCV steps of the water branch are the
    reference's, on the same ``uint8`` intermediates (it truncates them; so does this kernel, since Canny's
    edges depend on every level). Where no liquid passes the threshold the reference divides by zero and
    returns NaN; here the image comes back unchanged.
    """
    mean, std, sigma, threshold, intensity, mud = params
    liquid = standard_normal.astype(np.float32) * np.float32(std) + np.float32(mean)
    kernel = gaussian_kernel_1d(float(sigma))
    liquid = cv2.sepFilter2D(liquid, -1, kernel, kernel, borderType=cv2.BORDER_REPLICATE)
    liquid[liquid < threshold] = 0
    values = image.astype(np.float32) / np.float32(255)
    if mud < 0.5:
        liquid = (np.clip(liquid, 0, 1) * 255).astype(np.uint8)
        distance = cv2.distanceTransform(255 - cv2.Canny(liquid, 50, 150), cv2.DIST_L2, 5)
        _, distance = cv2.threshold(distance, 20, 20, cv2.THRESH_TRUNC)
        distance = cv2.equalizeHist(cv2.blur(distance, (3, 3)).astype(np.uint8))
        distance = cv2.filter2D(distance, cv2.CV_8U, _SPATTER_EDGE_KERNEL)
        mask = liquid * cv2.blur(distance, (3, 3)).astype(np.float32)
        peak = float(mask.max())
        if peak == 0:
            return image.copy()
        mask *= np.float32(intensity / peak)
        return to_uint8(np.minimum(values + mask[..., None] * _WATER_RGB, 1) * 255)
    mask = (liquid > threshold).astype(np.float32)
    mud_kernel = gaussian_kernel_1d(float(intensity))
    mask = cv2.sepFilter2D(mask, -1, mud_kernel, mud_kernel, borderType=cv2.BORDER_REPLICATE)
    mask[mask < 0.8] = 0
    mask = mask[..., None]
    return to_uint8((values * (1 - mask) + _MUD_RGB * mask) * 255)


# ------------------------------------------------------------------------------------ capture distortions
def rotation(image: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate by ``degrees`` (counter-clockwise) about the centre, keeping the size; the corners uncovered
    by the rotated image repeat its edge pixels, as a page photographed on a like-coloured desk."""
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), float(degrees), 1.0)
    return cv2.warpAffine(
        image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def perspective_warp(image: np.ndarray, corner_shifts: np.ndarray) -> np.ndarray:
    """Map the four corners (top-left, top-right, bottom-right, bottom-left) to themselves plus
    ``corner_shifts`` (4 × 2, as fractions of the width and height) with a homography, keeping the size.

    An image under 2 pixels in a dimension has no perspective to change and comes back as it is.
    """
    height, width = image.shape[:2]
    if height < 2 or width < 2:
        return image.copy()
    corners = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], dtype=np.float32)
    moved = corners + (np.asarray(corner_shifts, dtype=np.float32) * np.float32([width - 1, height - 1]))
    matrix = cv2.getPerspectiveTransform(corners, moved)
    return cv2.warpPerspective(
        image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def uneven_illumination(image: np.ndarray, depth: float, angle: float, offset: float) -> np.ndarray:
    """Darken one side of a line by ``depth`` (a fraction of the light) behind a soft edge: a shadow.

    The line is perpendicular to the direction ``angle`` (radians) at ``offset`` from the centre (in units of
    the longer side); the light falls from 1 to ``1 - depth`` across a logistic edge 8 % of the longer side wide.
    """
    height, width = image.shape[:2]
    longest = np.float32(max(height, width))
    ys = (np.arange(height, dtype=np.float32) - np.float32((height - 1) / 2)) / longest
    xs = (np.arange(width, dtype=np.float32) - np.float32((width - 1) / 2)) / longest
    distance = xs[None, :] * np.float32(math.cos(angle)) + ys[:, None] * np.float32(math.sin(angle))
    shadow = 1 / (1 + np.exp((np.float32(offset) - distance) / np.float32(0.08 / 4)))
    light = 1 - np.float32(depth) * shadow
    return to_uint8(image * light[..., None])


def resampling(image: np.ndarray, factor: float) -> np.ndarray:
    """Shrink by ``factor`` with plain bilinear sampling (no anti-aliasing, so fine detail aliases, as in a
    careless resize) and enlarge back with bicubic interpolation; the small side is at least 1 pixel."""
    height, width = image.shape[:2]
    small = (max(1, round(width / factor)), max(1, round(height / factor)))
    down = cv2.resize(image, small, interpolation=cv2.INTER_LINEAR)
    return cv2.resize(down, (width, height), interpolation=cv2.INTER_CUBIC)
