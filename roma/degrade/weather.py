"""Pure kernels of ImageNet-C's weather corruptions: fog, frost, snow and spatter (water drops or mud).

Split from :mod:`roma.degrade.functional` and written to its conventions: every parameter and random draw is
passed in by :mod:`roma.degrade.corruptions`, the reference is ``imagecorruptions``' implementation computed in
``float32`` with OpenCV, and every function returns a new ``uint8`` array of the input's shape.
"""

from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np

from roma.degrade.functional import gaussian_kernel_1d, motion_blur_values, resize_bicubic, to_uint8

__all__ = [
    "FROST_TEXTURES",
    "clipped_zoom",
    "fog",
    "fog_map_size",
    "frost",
    "frost_texture",
    "frost_texture_folder",
    "frost_texture_shape",
    "plasma_fractal",
    "plasma_fractal_draws",
    "snow",
    "spatter",
]


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
    # OpenCV's INTER_CUBIC, as the reference scales it, but the same bytes on every CPU (cv2.resize's are not).
    resized = resize_bicubic(_frost_photo(index), columns, rows)
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
