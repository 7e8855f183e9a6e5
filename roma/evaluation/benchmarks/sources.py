"""Where a benchmark's rows and images come from: a local copy under ``--data_dir``, else the hub.

Local data files (parquet, JSON / JSON lines, CSV / TSV) are read through the `datasets` builders, with
`roma.data.loading.load_data_files`, the reader of training data too. Image cells are checked when the
benchmark loads (:func:`resolve_image_source`: a relative path resolves against the data file's folders, a
TSV cell may be base64) and turned into undecoded :class:`~roma.evaluation.images.ImageSource` objects when a
sample is evaluated (:func:`encoded_image`).
"""

from __future__ import annotations

import base64
import binascii
import csv
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from roma.evaluation.errors import BenchmarkLoadError, MissingImageError
from roma.evaluation.images import ImageSource

__all__ = [
    "DATA_FILE_SUFFIXES",
    "IMAGE_FILE_SUFFIXES",
    "ImageRef",
    "LoadedSplit",
    "data_files",
    "find_local_dir",
    "hub_split",
    "image_source",
    "local_split",
    "normalise_name",
    "read_data_file",
    "resolve_image_source",
    "split_matches",
]

DATA_FILE_SUFFIXES = (".parquet", ".jsonl", ".json", ".tsv", ".csv")
IMAGE_FILE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff")


@dataclass(frozen=True)
class ImageRef:
    """A not-yet-decoded image: row ``row`` of column ``column`` in split ``split`` of the loaded data."""

    split: str
    column: str
    row: int


@dataclass
class LoadedSplit:
    """One split of a benchmark as read, before any row is checked."""

    name: str
    dataset: Any  # datasets.Dataset
    source: str  # a file, folder or hub id: named in error messages
    base_dirs: list[Path]  # the folders relative image paths resolve against


def normalise_name(name: str) -> str:
    """The registry key of a benchmark name: case, ``-``, ``_`` and spaces do not matter.

    Defined here, the lowest module of the package, so that the registry and the local-folder lookup below share
    it without an import circle (``roma.evaluation.benchmarks.registry`` re-exports it).
    """
    return name.strip().lower().replace("-", "_").replace(" ", "_")


# ------------------------------------------------------------------------------------------------ local files
def find_local_dir(data_dir: Path, candidates: Sequence[str]) -> Path | None:
    """The folder under ``data_dir`` named after one of ``candidates`` (exactly, lower-cased, with ``-`` for
    ``_``, then by normalised name so ``MathVista`` matches ``mathvista`` on case-sensitive file systems)."""
    for candidate in candidates:
        for variant in {candidate, candidate.lower(), candidate.replace("_", "-")}:
            path = data_dir / variant
            if path.is_dir():
                return path
    wanted = {normalise_name(c.split("/")[-1]) for c in candidates}
    if data_dir.is_dir():
        for child in sorted(data_dir.iterdir()):
            if child.is_dir() and normalise_name(child.name) in wanted:
                return child
    return None


def split_matches(relative_path: str, split: str) -> bool:
    """Whether a data file's path names ``split`` as a whole token (``sample_variant1`` is not ``..variant10``)."""
    pattern = rf"(?<![A-Za-z0-9]){re.escape(split.lower())}(?![A-Za-z0-9])"
    return re.search(pattern, relative_path.lower()) is not None


def _single_json_object(path: Path) -> dict[str, Any] | None:
    """The file's content when it is one JSON object (not JSON lines, not a list of rows), else ``None``."""
    text = path.read_text(encoding="utf-8")
    if not text.lstrip().startswith("{"):
        return None
    try:
        payload = json.loads(text)
    except json.JSONDecodeError:
        return None  # JSON lines (or broken JSON: the builder names the problem)
    return payload if isinstance(payload, dict) else None


def _text_columns(path: Path, delimiter: str) -> Any:
    """`datasets` features reading every column of a CSV / TSV file as text, as published ("1.50", "NA")."""
    from datasets import Features, Value

    with path.open(encoding="utf-8", newline="") as stream:
        header = next(csv.reader(stream, delimiter=delimiter), [])
    return Features({name: Value("string") for name in header})


def read_data_file(path: Path) -> Any:
    """Read one data file in a published format into a ``datasets.Dataset`` with the `datasets` builders.

    Two JSON shapes the builders do not read as rows are handled here: ``{"data": [rows]}`` (the builder's
    ``field``) and MathVista's original ``{pid: row}`` mapping (each row keeps its key as ``_key``).
    """
    # Function-local: `datasets` is imported only when data is read, not by `roma eval --list_benchmarks`.
    import datasets

    from roma.data.loading import load_data_files

    suffix = path.suffix.lower()
    if suffix not in DATA_FILE_SUFFIXES:
        raise BenchmarkLoadError(f"{path}: unsupported data file type (expected one of {DATA_FILE_SUFFIXES})")
    options: dict[str, Any] = {}
    try:
        if suffix in (".csv", ".tsv"):
            options = {
                "features": _text_columns(path, "\t" if suffix == ".tsv" else ","),
                "keep_default_na": False,
            }
        elif suffix == ".json" and (payload := _single_json_object(path)) is not None:
            if isinstance(payload.get("data"), list):
                options = {"field": "data"}
            elif payload and all(isinstance(value, Mapping) for value in payload.values()):
                return datasets.Dataset.from_list([{"_key": key, **value} for key, value in payload.items()])
            else:
                raise BenchmarkLoadError(
                    f"{path}: expected a list of rows, a {{id: row}} mapping or JSON lines"
                )
        return load_data_files([path], source=str(path), **options)
    except BenchmarkLoadError:
        raise
    except Exception as error:  # pyarrow / pandas errors are long; keep the file and the gist
        raise BenchmarkLoadError(f"cannot read {path}: {type(error).__name__}: {error}") from None


def data_files(root: Path) -> list[Path]:
    """The data files under ``root`` (any depth, hidden files left out), sorted."""
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in DATA_FILE_SUFFIXES)
    return [p for p in files if not p.name.startswith(".")]


def local_split(benchmark: str, root: Path, split: str, *, single_split: bool) -> LoadedSplit | None:
    """Split ``split`` from the data files under ``root`` whose path names it; ``None`` if there is none.

    ``single_split``: a benchmark with one split may ship as one file with any name (LogicVista's data.json).
    """
    import datasets  # function-local: see read_data_file

    files = data_files(root)
    matching = [p for p in files if split_matches(str(p.relative_to(root)), split)]
    if not matching and single_split:
        matching = files
    if not matching:
        return None
    parts = [read_data_file(path) for path in matching]
    try:
        dataset = parts[0] if len(parts) == 1 else datasets.concatenate_datasets(parts)
    except Exception as error:
        raise BenchmarkLoadError(
            f"{benchmark}: the files of split '{split}' under {root} have different columns or types "
            f"({error}): {[str(p) for p in matching]}"
        ) from None
    base_dirs: list[Path] = []
    for path in matching:
        folder = path.parent
        while True:
            if folder not in base_dirs:
                base_dirs.append(folder)
            if folder == root or root not in folder.parents:
                break
            folder = folder.parent
    source = str(matching[0]) if len(matching) == 1 else f"{len(matching)} files under {root}"
    return LoadedSplit(split, dataset, source, base_dirs)


# ------------------------------------------------------------------------------------------------------- hub
def hub_split(
    benchmark: str, hub_id: str, hub_config: str | None, split: str, local_problem: str
) -> LoadedSplit:
    """Split ``split`` of ``hub_id`` through ``datasets.load_dataset``; ``local_problem`` says why not locally."""
    import datasets  # function-local: see read_data_file

    try:
        dataset = datasets.load_dataset(hub_id, hub_config, split=split)
    except Exception as error:
        config = f" (config '{hub_config}')" if hub_config else ""
        raise BenchmarkLoadError(
            f"{benchmark}: cannot load split '{split}' of {hub_id}{config} from the hub "
            f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}). {local_problem}"
        ) from None
    return LoadedSplit(split, dataset, f"hub {hub_id}/{split}", [])


# ---------------------------------------------------------------------------------------------------- images
def _looks_like_path(value: str) -> bool:
    return len(value) < 1024 and (
        "/" in value or "\\" in value or value.lower().endswith(IMAGE_FILE_SUFFIXES)
    )


def resolve_image_source(value: Any, base_dirs: Sequence[Path], *, what: str) -> Any:
    """Check an image cell at load time; return a source :func:`image_source` accepts, ``None`` when absent.

    A relative path is resolved against ``base_dirs`` (the data file's folder and its parents up to the
    benchmark folder) and their ``images/`` folders (LogicVista's release names the file alone). Raises `MissingImageError` (naming ``what``) for a path that exists nowhere.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (ImageRef, Image.Image, bytes)):
        return value
    if isinstance(value, Mapping):
        if value.get("bytes"):
            return value["bytes"]
        if value.get("path"):
            return resolve_image_source(str(value["path"]), base_dirs, what=what)
        return None
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
        candidate = Path(value) if len(value) < 1024 else None
        tried = (
            []
            if candidate is None
            else [candidate]
            if candidate.is_absolute()
            else [base / value for base in base_dirs] + [base / "images" / value for base in base_dirs]
        )
        for path in tried:
            if path.is_file():
                return path
        if not value.lower().endswith(IMAGE_FILE_SUFFIXES):
            try:  # VLMEvalKit-style TSV files inline the image as base64
                return base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                pass
        shown = value if len(value) <= 80 else value[:77] + "..."
        if _looks_like_path(value):
            where = ", ".join(str(path.parent) for path in tried) or "(no local folder: loaded from the hub)"
            raise MissingImageError(f"{what}: image file '{shown}' not found (looked in {where})")
        raise MissingImageError(f"{what}: '{shown}' is neither an image file path nor base64 image data")
    raise MissingImageError(f"{what}: unsupported image value of type {type(value).__name__}")


def image_source(source: Any, column_view: Any, *, what: str) -> ImageSource:
    """The undecoded :class:`ImageSource` of a resolved source (an :class:`ImageRef` read from
    ``column_view``, its split's Arrow column; a file path; bytes; a PIL image)."""
    if isinstance(source, ImageRef):
        # Straight from Arrow ({"bytes", "path"}): no per-row formatting, no decoding.
        value = column_view[source.row].as_py()
        if not value or not (value.get("bytes") or value.get("path")):
            raise MissingImageError(f"{what}: image is null")
        if value.get("bytes"):
            source = value["bytes"]
        else:
            path = Path(value["path"])
            if not path.is_file():
                raise MissingImageError(f"{what}: image file '{path}' not found")
            source = path
    if isinstance(source, Path):
        source = source.read_bytes()
    if isinstance(source, bytes):
        return ImageSource(source, what=what)
    if isinstance(source, Image.Image):
        return ImageSource(image=source, what=what)
    raise MissingImageError(f"{what}: unsupported image source {type(source).__name__}")
