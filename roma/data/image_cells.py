"""The image cells of a training dataset, checked once at load time (`roma.data.loading`): each image decoded by
the project's one decoder, `roma.degrade.convert.load_rgb`, and kept as its encoded bytes or file path (re-encoded
as a lossless PNG only where PIL's own RGB conversion would differ), plus the stamp of the image files a cached
check depends on.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any

from datasets import Dataset
from datasets.utils.file_utils import xopen
from PIL import Image as PILImage

from roma.degrade.convert import load_rgb, pil_converts_alike

__all__ = ["BadSample", "checked_image", "image_files_stamp", "resolved_image_path"]


class BadSample(Exception):
    """Raised while a row is prepared (`roma.data.loading`); turned into a `DatasetLoadingError` or a skipped row."""


def resolved_image_path(path: str, image_root: Path | None) -> str:
    """A local relative image path against ``image_root`` (else the working folder); URLs and absolute paths as they are."""
    if "://" in path or os.path.isabs(path):
        return path
    return str((image_root or Path.cwd()) / path)


def image_files_stamp(
    raw: Dataset, image_kinds: dict[str, str], image_root: str | None, base_dir: Path | None
) -> str | None:
    """A hash of the size and modification time of every local image file ``raw`` refers to.

    None for an in-memory dataset (its check is never cached). Embedded image bytes need no stamp: they are
    part of the dataset's own fingerprint.
    """
    if not raw.cache_files:
        return None
    import pyarrow.compute as pc

    root = Path(image_root).expanduser().resolve() if image_root else base_dir
    table = raw.with_format("arrow")
    digest = hashlib.sha256()
    for column, kind in image_kinds.items():
        cells = table[column]
        if kind.startswith("list"):
            cells = pc.list_flatten(cells)
        if kind.endswith("image"):  # {"bytes", "path"} structs: only path-only images are files
            cells = pc.filter(pc.struct_field(cells, "path"), pc.is_null(pc.struct_field(cells, "bytes")))
        for path in cells.to_pylist():
            if not path or "://" in path:
                continue
            path = resolved_image_path(path, root)
            try:
                status = os.stat(path)
                digest.update(f"{path}\0{status.st_size}\0{status.st_mtime_ns}\n".encode())
            except OSError:
                digest.update(f"{path}\0missing\n".encode())
    return digest.hexdigest()


def checked_image(value: Any, column: str, image_root: Path | None) -> dict[str, Any]:
    """Return the encoded image ``{"path", "bytes"}`` after decoding it once with `load_rgb`.

    An image whose PIL RGB conversion (the training feature's) would differ from `load_rgb` comes back as
    lossless PNG bytes of the `load_rgb` pixels, so training sees what evaluation and `roma.degrade` see.
    """
    if value is None:
        raise BadSample(f"no image in column {column!r}")
    reference = {"path": value, "bytes": None} if isinstance(value, str) else dict(value)
    path = reference.get("path")
    if reference.get("bytes") is None:
        if not path:
            raise BadSample(f"image in column {column!r} has neither bytes nor a path")
        reference["path"] = path = resolved_image_path(path, image_root)
    where = f"file {path!r}" if reference.get("bytes") is None else f"bytes embedded in column {column!r}"
    if path and reference.get("bytes") is not None:
        where += f" (from {path!r})"
    try:
        if reference.get("bytes") is not None:
            encoded = reference["bytes"]
        else:
            with xopen(path, "rb") as stream:  # local paths and URLs alike
                encoded = stream.read()
        with PILImage.open(io.BytesIO(encoded)) as opened:
            converts_alike = pil_converts_alike(opened)
            rgb = load_rgb(opened)
    except FileNotFoundError as err:
        raise BadSample(f"image {where} does not exist") from err
    except Exception as err:  # noqa: BLE001 - any decoder failure means the same thing: unusable image
        raise BadSample(f"cannot read image {where}: {type(err).__name__}: {err}") from err
    if not converts_alike:
        buffer = io.BytesIO()
        rgb.save(buffer, format="PNG")
        reference["bytes"] = buffer.getvalue()
    return reference
