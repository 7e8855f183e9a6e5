"""Pure kernels of the capture distortions: how a photographed page goes wrong (tilt, perspective, a shadow, a
careless resize), not part of ImageNet-C.

Split from :mod:`roma.degrade.functional` and written to its conventions: every parameter and random draw is
passed in by :mod:`roma.degrade.corruptions`, and every function returns a new ``uint8`` array of the input's shape.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from roma.degrade.functional import resize_bicubic, to_uint8

__all__ = ["perspective_warp", "resampling", "rotation", "uneven_illumination"]


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
    return resize_bicubic(down, width, height)  # OpenCV's INTER_CUBIC, the same on every CPU
