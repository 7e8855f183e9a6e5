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

    def check(self) -> None:
        """Raise `MissingImageError` (naming the sample) if the encoded bytes do not decode, at a fraction of a
        full decode: a JPEG is decoded at its smallest scale (``draft``: 1/8, every entropy-coded byte read, so a
        truncated file fails), a PNG's chunks are read to their end with their checksums (``verify``), any other
        format is decoded whole. An in-memory image has nothing to check."""
        if self._data is None:
            return
        try:
            with Image.open(io.BytesIO(self._data)) as opened:
                if opened.format == "JPEG":
                    opened.draft("RGB", (1, 1))
                    opened.load()
                elif opened.format == "PNG":
                    opened.verify()
                else:
                    opened.load()
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
            raise MissingImageError(
                f"{self.what}: cannot decode image: {type(error).__name__}: {error}"
            ) from None

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
