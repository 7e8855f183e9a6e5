"""An image of a benchmark sample before decoding: what the benchmarks hand out and the condition cache takes.

It sits below both (`roma.evaluation.benchmarks` makes them, `roma.evaluation.conditions` caches their
corrupted views), so neither imports the other for it.
"""

from __future__ import annotations

import hashlib
import io

from PIL import Image

from roma.degrade.convert import load_rgb
from roma.degrade.errors import InvalidImageError
from roma.evaluation.errors import MissingImageError

__all__ = ["ImageSource"]


class ImageSource:
    """One image of a sample, not decoded yet: its encoded bytes (or an in-memory image).

    The digest is taken from the encoded bytes, so a cached corrupted view is found without decoding the
    clean image at all; :meth:`load` decodes it with the project's one decoder (`roma.degrade.convert.load_rgb`:
    EXIF orientation, then RGB, alpha over white, 16-bit scaled) only when it is needed.
    """

    __slots__ = ("_data", "_image", "what")

    def __init__(self, data: bytes | None = None, image: Image.Image | None = None, *, what: str = "image"):
        if (data is None) == (image is None):
            raise ValueError("ImageSource needs exactly one of data (encoded bytes) or image")
        self._data, self._image, self.what = data, image, what

    def digest(self) -> str:
        """SHA-1 of the encoded bytes, or of the pixels for an in-memory image."""
        if self._data is not None:
            return hashlib.sha1(self._data).hexdigest()
        image = self._image
        digest = hashlib.sha1(f"{image.mode}:{image.size}".encode())
        digest.update(image.tobytes())
        return digest.hexdigest()

    def size(self) -> tuple[int, int]:
        """(width, height), read from the encoded header (no pixel decoding) or the in-memory image."""
        if self._image is not None:
            return self._image.size
        with Image.open(io.BytesIO(self._data)) as opened:
            return opened.size

    def load(self) -> Image.Image:
        """The decoded RGB image; `MissingImageError` (naming the sample) if the bytes are not an image."""
        try:
            return load_rgb(self._image if self._image is not None else self._data)
        except InvalidImageError as error:
            raise MissingImageError(f"{self.what}: {error}") from None
