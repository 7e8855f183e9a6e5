"""The project's one image decoder, and the ``uint8`` H×W×3 RGB array corruptions work on.

Every image roma reads goes through :func:`load_rgb` / :func:`to_rgb`: training rows
(`roma.data.loading`), benchmark samples (`roma.evaluation`) and corruptions (:func:`to_rgb_uint8`), so a
file decodes to the same pixels everywhere. For a ``PIL.Image.Image`` in any mode:

* the EXIF orientation is applied first (``PIL.ImageOps.exif_transpose``), so the size is the upright one;
* transparent images (RGBA, LA, PA, premultiplied RGBa / La, P with a transparency key) are composited over
  white, as ``qwen_vl_utils`` does before a Qwen-VL processor sees them;
* 16-bit and 32-bit integer modes (``I;16``, ``I;16B``, ``I;16L``, ``I``) are read as 16-bit levels and
  scaled to 8 bits (``round(v · 255 / 65535)``, so 40000 -> 156; ``I`` is clipped to 0..65535, PIL's mode for
  16-bit PNG / TIFF content);
* ``F`` (32-bit float) is read as 0..255 levels, as PIL's ``convert("F")`` writes them, rounded and clipped;
* ``1`` (bilevel), ``L``, ``P``, ``CMYK``, ``YCbCr`` and the other modes are converted by PIL's own
  ``convert("RGB")``, exactly what ``datasets.Image(mode="RGB")`` does: :func:`pil_converts_alike` tells
  which modes those are.

``numpy.ndarray`` images (for corruptions) are H×W, H×W×1, H×W×3 or H×W×4, dtype ``uint8`` or floating
(values in [0, 1]); :func:`to_rgb_uint8` returns the RGB array and a function mapping a corrupted array back
to the input's shape and dtype. Grey inputs are corrupted as grey RGB and returned as ITU-R 601 luma (what
PIL's ``convert("L")`` computes); a 4th channel is alpha and is returned unchanged; float inputs are
quantised to 8 bits (``round(255·x)``) and come back as exact multiples of 1/255.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from typing import IO, Any

import cv2
import numpy as np
from PIL import Image, ImageOps

from roma.degrade.errors import InvalidImageError, NotAnImageError

__all__ = ["load_rgb", "pil_converts_alike", "to_rgb", "to_rgb_uint8"]

Restore = Callable[[np.ndarray], Any]

_ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}
_EXIF_ORIENTATION_TAG = 0x0112


def to_rgb_uint8(image: object) -> tuple[np.ndarray, Restore]:
    """Return ``(rgb, restore)``: a read-only ``uint8`` H×W×3 array and a function mapping a corrupted
    array of that shape back to the input's type and convention."""
    if isinstance(image, Image.Image):
        return _from_pil(image)
    if isinstance(image, np.ndarray):
        return _from_array(image)
    hint = ""
    if type(image).__module__.split(".")[0] == "torch":
        hint = " (for a C×H×W tensor use tensor.permute(1, 2, 0).numpy())"
    raise NotAnImageError(
        f"expected a PIL.Image.Image or a numpy.ndarray image, got {type(image).__module__}."
        f"{type(image).__qualname__}{hint}"
    )


def _read_only(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view


def _check_size(height: int, width: int, described: str) -> None:
    if height == 0 or width == 0:
        raise InvalidImageError(f"empty image: {described} has zero size ({height}×{width})")


# --------------------------------------------------------------------------------------------- PIL
def load_rgb(source: bytes | str | os.PathLike | IO[bytes] | Image.Image) -> Image.Image:
    """Decode an image file (encoded bytes, a path, a binary stream) or a PIL image to mode ``RGB``.

    Raises:
        InvalidImageError: the data is not an image PIL can read (truncated, unknown format, empty).
    """
    if isinstance(source, Image.Image):
        return to_rgb(source)
    opened = io.BytesIO(source) if isinstance(source, (bytes, bytearray, memoryview)) else source
    try:
        image = Image.open(opened)
        image.load()
    except (OSError, ValueError, SyntaxError) as error:  # PIL's UnidentifiedImageError is an OSError
        raise InvalidImageError(f"cannot decode image: {type(error).__name__}: {error}") from error
    return to_rgb(image)


def to_rgb(image: Image.Image) -> Image.Image:
    """``image`` upright (EXIF orientation applied) and in mode ``RGB``, correct for every PIL mode."""
    _check_size(image.height, image.width, f"PIL image (mode {image.mode})")
    try:
        image.load()
        if image.getexif().get(_EXIF_ORIENTATION_TAG, 1) != 1:
            image = ImageOps.exif_transpose(image)
        if image.mode == "RGB":
            return image
        if pil_converts_alike(image):
            return image.convert("RGB")
        return Image.fromarray(_own_conversion(image), "RGB")
    except InvalidImageError:
        raise
    except (OSError, ValueError) as error:  # truncated files, unsupported conversions
        raise InvalidImageError(
            f"cannot read PIL image (mode {image.mode}, size {image.size}): {error}"
        ) from error


def pil_converts_alike(image: Image.Image) -> bool:
    """Whether PIL's own ``image.convert("RGB")`` (what ``datasets.Image(mode="RGB")`` does) gives the pixels
    :func:`to_rgb` gives; false for transparent, 16/32-bit integer and float images, which PIL gets wrong
    (alpha dropped, 16-bit levels clipped to white)."""
    mode = image.mode
    transparent = mode in _ALPHA_MODES or (mode == "P" and "transparency" in image.info)
    return not (transparent or mode.startswith("I") or mode == "F")


def _from_pil(image: Image.Image) -> tuple[np.ndarray, Restore]:
    return _read_only(np.asarray(to_rgb(image))), _to_pil


def _to_pil(rgb: np.ndarray) -> Image.Image:
    return Image.fromarray(rgb, "RGB")


def _own_conversion(image: Image.Image) -> np.ndarray:
    """The RGB pixels of an image :func:`pil_converts_alike` says PIL would convert wrongly."""
    mode = image.mode
    if mode.startswith("I"):  # I, I;16, I;16B, I;16L, I;16N ...
        levels = np.asarray(image).astype(np.int64)
        grey = ((np.clip(levels, 0, 65535) * 255 + 32767) // 65535).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    if mode == "F":  # PIL's own convention: convert("F") keeps 0..255 levels
        levels = np.asarray(image)
        if not np.isfinite(levels).all():
            raise InvalidImageError("PIL image in mode F contains NaN or infinite values")
        return np.repeat(np.clip(np.rint(levels), 0, 255).astype(np.uint8)[..., None], 3, axis=2)
    rgba = np.asarray(image.convert("RGBA"))
    return _over_white(rgba[..., :3], rgba[..., 3])


def _over_white(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Composite straight-alpha ``rgb`` over a white background with exact integer rounding."""
    a = alpha.astype(np.uint32)[..., None]
    return ((rgb.astype(np.uint32) * a + 255 * (255 - a) + 127) // 255).astype(np.uint8)


# -------------------------------------------------------------------------------------------- numpy
def _float_to_uint8(values: np.ndarray, described: str) -> np.ndarray:
    if not np.isfinite(values).all():
        raise InvalidImageError(f"{described} contains NaN or infinite values")
    low, high = float(values.min()), float(values.max())
    if low < 0.0 or high > 1.0:
        raise InvalidImageError(
            f"{described} must hold values in [0, 1], found [{low:g}, {high:g}]"
            + (" (looks like 0..255 levels: pass a uint8 array)" if high <= 255.0 and low >= 0.0 else "")
        )
    return np.rint(values * 255.0).astype(np.uint8)


def _from_array(array: np.ndarray) -> tuple[np.ndarray, Restore]:
    shape, dtype = array.shape, array.dtype
    described = f"array of shape {shape} and dtype {dtype}"
    if dtype != np.uint8 and not np.issubdtype(dtype, np.floating):
        raise InvalidImageError(
            f"unsupported {described}: use uint8 (0..255) or a float dtype with values in [0, 1]"
        )
    if array.ndim == 3 and shape[0] in (1, 3, 4) and shape[2] not in (1, 3, 4):
        raise InvalidImageError(
            f"{described} looks channel-first (C×H×W); pass H×W×C, e.g. array.transpose(1, 2, 0)"
        )
    if array.ndim not in (2, 3) or (array.ndim == 3 and shape[2] not in (1, 3, 4)):
        raise InvalidImageError(f"unsupported {described}: expected H×W, H×W×1, H×W×3 or H×W×4")
    _check_size(shape[0], shape[1], described)

    levels = array if dtype == np.uint8 else _float_to_uint8(array, described)
    channels = 1 if array.ndim == 2 else shape[2]
    alpha = array[..., 3].copy() if channels == 4 else None

    if channels in (1, 2) or array.ndim == 2:
        grey = levels.reshape(shape[0], shape[1])
        rgb = cv2.cvtColor(np.ascontiguousarray(grey), cv2.COLOR_GRAY2RGB)
    else:
        rgb = np.ascontiguousarray(levels[..., :3])

    def restore(out: np.ndarray) -> np.ndarray:
        if channels == 1:
            result = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY).reshape(shape)
        elif channels == 4:
            result = out
        else:
            result = out if not np.may_share_memory(out, array) else out.copy()
        if dtype != np.uint8:
            result = (result.astype(np.float64) / 255.0).astype(dtype)
        if channels == 4:
            result = np.dstack([result.astype(dtype), alpha])
        return result

    return _read_only(rgb), restore
