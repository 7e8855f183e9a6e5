"""Benchmark adapters: one small class per benchmark, registered by name.

An adapter knows a benchmark's published schema (its column names differ: ``decoded_image``, ``image``,
``image_path``, ``image_1..7``), where it lives (hub id, config, splits: all overridable, since mirrors
exist), how to turn a row into a prompt (question + options; `roma.data.prompts.build_conversation` adds the
instruction to answer in ``\\boxed{}``) and how its gold answer is written (-> the arguments of
`roma.grading.grade`).

Rows come from ``--data_dir`` when a local copy in the published format is there (parquet, json / jsonl, tsv /
csv, plus image files for path columns), else from the hub through ``datasets.load_dataset``. Every row is
checked when the benchmark loads (gold answer, options, image present), so a malformed row stops the sweep
before any generation, with a message naming the benchmark, sample, field and file. Images themselves are
decoded only when a sample is evaluated.

Registering a new benchmark::

    @register_benchmark
    class MyBench(Benchmark):
        name = "mybench"
        hub_id = "me/MyBench"
        splits = ("test",)
        id_column = "id"
        required_columns = ("id", "question", "image", "answer")

        def to_sample(self, row, split, index):
            return self.make_sample(row, split, index, question=row["question"], gold=row["answer"])
"""

from __future__ import annotations

import ast
import base64
import binascii
import difflib
import hashlib
import io
import json
import math
import re
import string
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from PIL import ExifTags, Image, ImageOps

from roma.data.prompts import strip_image_placeholders
from roma.evaluation.errors import (
    BenchmarkLoadError,
    MalformedSampleError,
    MissingImageError,
    UnknownBenchmarkError,
)

__all__ = [
    "BENCHMARK_REGISTRY",
    "DEFAULT_BENCHMARKS",
    "Benchmark",
    "BenchmarkData",
    "EvalSample",
    "ImageRef",
    "ImageSource",
    "get_benchmark",
    "list_benchmarks",
    "register_benchmark",
]

LETTERS = string.ascii_uppercase
DATA_FILE_SUFFIXES = (".parquet", ".jsonl", ".json", ".tsv", ".csv")
IMAGE_FILE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff")
# The seven benchmarks of the ROMA paper's protocol, in its order.
DEFAULT_BENCHMARKS = ("mathvista", "mathverse", "mathvision", "wemath", "logicvista", "dynamath", "mmmu_pro")

_SINGLE_LETTER_RE = re.compile(r"^\(?([A-Z])\)?[.:]?$")


@dataclass(frozen=True)
class ImageRef:
    """A not-yet-decoded image: row ``row`` of column ``column`` in split ``split`` of the loaded data."""

    split: str
    column: str
    row: int


@dataclass
class EvalSample:
    """One benchmark question, ready to prompt and grade.

    ``images`` holds image *sources* (an :class:`ImageRef`, a resolved file path, bytes or a PIL image);
    `BenchmarkData.load_images` decodes them. ``question`` is the prompt text without the answer-format
    instruction. ``group_id`` ties variants of one seed question (DynaMath) for the worst-case metric.
    """

    benchmark: str
    sample_id: str
    question: str
    gold: str | list[str]
    images: list[Any] = field(default_factory=list)
    image_columns: list[str] = field(default_factory=list)
    answer_type: str = "auto"
    options: list[str] | None = None
    precision: int | None = None
    tolerance: float | None = None
    relative_tolerance: float | None = None
    group_id: str | None = None
    source: str = ""

    def grade_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of `roma.grading.grade` for this sample's gold answer."""
        kwargs: dict[str, Any] = {"answer_type": self.answer_type}
        for name in ("options", "precision", "tolerance", "relative_tolerance"):
            value = getattr(self, name)
            if value is not None:
                kwargs[name] = value
        return kwargs


# ---------------------------------------------------------------------------------------------------- registry
BENCHMARK_REGISTRY: dict[str, type[Benchmark]] = {}


def _normalise_name(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def register_benchmark(cls: type[Benchmark]) -> type[Benchmark]:
    """Class decorator: register a :class:`Benchmark` subclass under ``cls.name`` (and ``cls.aliases``)."""
    if not getattr(cls, "name", ""):
        raise ValueError(f"benchmark class {cls.__name__} needs a non-empty `name`")
    for key in (cls.name, *cls.aliases):
        key = _normalise_name(key)
        if key in BENCHMARK_REGISTRY and BENCHMARK_REGISTRY[key] is not cls:
            raise ValueError(
                f"benchmark name {key!r} is already registered by {BENCHMARK_REGISTRY[key].__name__}"
            )
        BENCHMARK_REGISTRY[key] = cls
    return cls


def list_benchmarks() -> list[str]:
    """Names of the registered benchmarks (aliases left out), sorted."""
    return sorted({cls.name for cls in BENCHMARK_REGISTRY.values()})


def get_benchmark(name: str, **kwargs: Any) -> Benchmark:
    """Instantiate the adapter registered as ``name`` (case, ``-`` and ``_`` do not matter).

    Raises:
        UnknownBenchmarkError: listing the known names and suggesting the closest one.
    """
    key = _normalise_name(name)
    if key not in BENCHMARK_REGISTRY:
        known = list_benchmarks()
        close = difflib.get_close_matches(key, list(BENCHMARK_REGISTRY), n=1, cutoff=0.5)
        hint = f" Did you mean '{BENCHMARK_REGISTRY[close[0]].name}'?" if close else ""
        raise UnknownBenchmarkError(
            f"unknown benchmark '{name}'.{hint} Known benchmarks: {', '.join(known)}."
        )
    return BENCHMARK_REGISTRY[key](**kwargs)


# ------------------------------------------------------------------------------------------------ file reading
def _split_matches(relative_path: str, split: str) -> bool:
    """Whether a data file's path names ``split`` as a whole token (``sample_variant1`` is not ``..variant10``)."""
    pattern = rf"(?<![A-Za-z0-9]){re.escape(split.lower())}(?![A-Za-z0-9])"
    return re.search(pattern, relative_path.lower()) is not None


def _rows_from_json(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        rows = []
        for line_number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise BenchmarkLoadError(f"{path}: line {line_number} is not valid JSON ({error})") from None
        return rows
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as error:
        raise BenchmarkLoadError(f"{path}: not valid JSON ({error})") from None
    if isinstance(payload, Mapping) and isinstance(payload.get("data"), list):
        payload = payload["data"]
    if isinstance(payload, list):
        return [dict(row) for row in payload]
    if isinstance(payload, Mapping) and all(isinstance(value, Mapping) for value in payload.values()):
        # MathVista's original testmini.json: {pid: row}; keep the key for files whose rows lack an id.
        return [{"_key": key, **value} for key, value in payload.items()]
    raise BenchmarkLoadError(f"{path}: expected a list of rows, a {{id: row}} mapping or JSON lines")


def read_data_file(path: Path) -> Any:
    """Read one data file in a published format into a ``datasets.Dataset`` (in memory, no cache files)."""
    import datasets

    try:
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            # Dataset(table) restores the `datasets` features (Image columns) kept in the parquet metadata.
            return datasets.Dataset(pq.read_table(path))
        if path.suffix in (".json", ".jsonl"):
            return datasets.Dataset.from_list(_rows_from_json(path))
        if path.suffix in (".tsv", ".csv"):
            import pandas as pd

            frame = pd.read_csv(
                path, sep="\t" if path.suffix == ".tsv" else ",", dtype=str, keep_default_na=False
            )
            return datasets.Dataset.from_pandas(frame, preserve_index=False)
    except BenchmarkLoadError:
        raise
    except Exception as error:  # pyarrow / pandas errors are long; keep the file and the gist
        raise BenchmarkLoadError(f"cannot read {path}: {type(error).__name__}: {error}") from None
    raise BenchmarkLoadError(f"{path}: unsupported data file type (expected one of {DATA_FILE_SUFFIXES})")


# ----------------------------------------------------------------------------------------------- image sources
def _looks_like_path(value: str) -> bool:
    return len(value) < 1024 and (
        "/" in value or "\\" in value or value.lower().endswith(IMAGE_FILE_SUFFIXES)
    )


def resolve_image_source(value: Any, base_dirs: Sequence[Path], *, what: str) -> Any:
    """Check an image cell at load time; return a source `decode_image` accepts, or ``None`` when absent.

    A relative path is resolved against ``base_dirs`` (the data file's folder and its parents up to the
    benchmark folder). Raises `MissingImageError` (naming ``what``) for a path that exists nowhere.
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
            else [base / value for base in base_dirs]
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


class ImageSource:
    """One image of a sample, not decoded yet: its encoded bytes (or an in-memory image).

    The digest is taken from the encoded bytes, so a cached corrupted view is found without decoding the
    clean image at all; :meth:`load` decodes it (EXIF orientation applied, as ``datasets.Image`` does, then
    RGB) only when it is needed.
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

    def load(self) -> Image.Image:
        """The decoded RGB image; `MissingImageError` (naming the sample) if the bytes are not an image."""
        try:
            image = self._image if self._image is not None else Image.open(io.BytesIO(self._data))
            image.load()
            if image.getexif().get(ExifTags.Base.Orientation) is not None:
                image = ImageOps.exif_transpose(image)
        except Exception as error:
            raise MissingImageError(
                f"{self.what}: cannot decode image ({type(error).__name__}: {error})"
            ) from None
        return image if image.mode == "RGB" else image.convert("RGB")


def decode_image(source: Any, *, what: str) -> Image.Image:
    """Decode an image source (path, bytes, PIL image) to an RGB ``PIL.Image``; `MissingImageError` if it fails."""
    if isinstance(source, Path):
        source = source.read_bytes()
    if isinstance(source, bytes):
        return ImageSource(source, what=what).load()
    if isinstance(source, Image.Image):
        return ImageSource(image=source, what=what).load()
    raise MissingImageError(f"{what}: unsupported image source {type(source).__name__}")


@dataclass
class _LoadedSplit:
    name: str
    dataset: Any  # datasets.Dataset
    source: str  # a file, folder or hub id: named in error messages
    base_dirs: list[Path]


class BenchmarkData(Sequence[EvalSample]):
    """The checked samples of one benchmark; images are decoded on demand by :meth:`load_images`."""

    def __init__(self, benchmark: str, samples: list[EvalSample], splits: Mapping[str, _LoadedSplit]):
        self.benchmark = benchmark
        self.samples = samples
        self._splits = dict(splits)
        self._column_views: dict[tuple[str, str], Any] = {}

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> EvalSample:  # type: ignore[override]
        return self.samples[index]

    def __iter__(self) -> Iterator[EvalSample]:
        return iter(self.samples)

    def image_sources(self, sample: EvalSample) -> list[ImageSource]:
        """The sample's images, in prompt order, as undecoded :class:`ImageSource` objects."""
        sources = []
        for source, column in zip(sample.images, sample.image_columns):
            what = f"{self.benchmark} sample '{sample.sample_id}' (column '{column}', {sample.source})"
            if isinstance(source, ImageRef):
                key = (source.split, source.column)
                if key not in self._column_views:
                    dataset = self._splits[source.split].dataset
                    self._column_views[key] = dataset.data.column(source.column)
                # Straight from Arrow ({"bytes", "path"}): no per-row formatting, no decoding.
                value = self._column_views[key][source.row].as_py()
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
                sources.append(ImageSource(source, what=what))
            elif isinstance(source, Image.Image):
                sources.append(ImageSource(image=source, what=what))
            else:
                raise MissingImageError(f"{what}: unsupported image source {type(source).__name__}")
        return sources

    def load_images(self, sample: EvalSample) -> list[Image.Image]:
        """Decode the sample's images (RGB, in prompt order)."""
        return [source.load() for source in self.image_sources(sample)]


# -------------------------------------------------------------------------------------------------- base class
class Benchmark:
    """Base adapter. Subclasses set the class attributes and implement :meth:`to_sample`.

    Args:
        data_dir: a folder holding local copies, one sub-folder per benchmark named after ``name``, the hub
            repository name or the full hub id (e.g. ``DATA/mathvista`` or ``DATA/AI4Math/MathVista``).
        hub_id, hub_config, splits: override the class defaults (mirrors of a benchmark exist).
    """

    name: ClassVar[str] = ""
    aliases: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = ""
    hub_id: ClassVar[str] = ""
    hub_config: ClassVar[str | None] = None
    splits: ClassVar[tuple[str, ...]] = ("test",)
    id_column: ClassVar[str | None] = "id"
    required_columns: ClassVar[tuple[str, ...]] = ()
    # For a one-image benchmark: the columns to take the image from, first non-null wins.
    image_columns: ClassVar[tuple[str, ...]] = ("image",)

    def __init__(
        self,
        *,
        data_dir: str | Path | None = None,
        hub_id: str | None = None,
        hub_config: str | None = None,
        splits: Sequence[str] | None = None,
    ):
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.hub_id = hub_id or type(self).hub_id
        self.hub_config = hub_config if hub_config is not None else type(self).hub_config
        self.splits = tuple(splits) if splits else type(self).splits

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(hub_id={self.hub_id!r}, config={self.hub_config!r}, splits={self.splits})"
        )

    # ------------------------------------------------------------------------------------------ loading
    def local_dir(self) -> Path | None:
        """The folder under ``data_dir`` holding this benchmark, if any."""
        if self.data_dir is None:
            return None
        candidates = [self.name, *self.aliases]
        if self.hub_id:
            candidates += [self.hub_id, self.hub_id.split("/")[-1]]
        for candidate in candidates:
            for variant in {candidate, candidate.lower(), candidate.replace("_", "-")}:
                path = self.data_dir / variant
                if path.is_dir():
                    return path
        # Case-insensitive match (MathVista vs mathvista on case-sensitive file systems).
        wanted = {_normalise_name(c.split("/")[-1]) for c in candidates}
        if self.data_dir.is_dir():
            for child in sorted(self.data_dir.iterdir()):
                if child.is_dir() and _normalise_name(child.name) in wanted:
                    return child
        return None

    def _local_split(self, root: Path, split: str) -> _LoadedSplit | None:
        import datasets

        files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in DATA_FILE_SUFFIXES)
        files = [p for p in files if not p.name.startswith(".")]
        matching = [p for p in files if _split_matches(str(p.relative_to(root)), split)]
        if not matching and len(self.splits) == 1:
            matching = (
                files  # a single-split benchmark may ship as one file with any name (LogicVista's data.json)
            )
        if not matching:
            return None
        parts = [read_data_file(path) for path in matching]
        try:
            dataset = parts[0] if len(parts) == 1 else datasets.concatenate_datasets(parts)
        except Exception as error:
            raise BenchmarkLoadError(
                f"{self.name}: the files of split '{split}' under {root} have different columns or types "
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
        return _LoadedSplit(split, dataset, source, base_dirs)

    def _hub_split(self, split: str, local_problem: str) -> _LoadedSplit:
        import datasets

        try:
            dataset = datasets.load_dataset(self.hub_id, self.hub_config, split=split)
        except Exception as error:
            config = f" (config '{self.hub_config}')" if self.hub_config else ""
            raise BenchmarkLoadError(
                f"{self.name}: cannot load split '{split}' of {self.hub_id}{config} from the hub "
                f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}). {local_problem}"
            ) from None
        return _LoadedSplit(split, dataset, f"hub {self.hub_id}/{split}", [])

    def load_splits(self) -> dict[str, _LoadedSplit]:
        """Load every split, from ``data_dir`` when a copy is there, else from the hub."""
        root = self.local_dir()
        loaded = {}
        for split in self.splits:
            part = self._local_split(root, split) if root is not None else None
            if part is None:
                if root is not None:
                    problem = f"No data file for split '{split}' under {root}."
                elif self.data_dir is not None:
                    problem = (
                        f"No folder for it under --data_dir {self.data_dir} (expected one of "
                        f"'{self.name}', '{self.hub_id.split('/')[-1]}', '{self.hub_id}')."
                    )
                else:
                    problem = (
                        "Pass --data_dir with a local copy in the published format (parquet / json / tsv)."
                    )
                part = self._hub_split(split, problem)
            missing = [c for c in self.required_columns if c not in part.dataset.column_names]
            if missing:
                raise BenchmarkLoadError(
                    f"{self.name}: {part.source} lacks column(s) {missing} of the {self.hub_id} schema "
                    f"(it has {part.dataset.column_names})"
                )
            loaded[split] = part
        return loaded

    def load(self, max_samples: int | None = None) -> BenchmarkData:
        """Load and check the benchmark; ``max_samples`` keeps the first N kept rows of each split."""
        import datasets

        splits = self.load_splits()
        samples: list[EvalSample] = []
        seen_ids: dict[str, str] = {}
        for split, part in splits.items():
            dataset = part.dataset
            image_feature_columns = [
                name for name, feature in dataset.features.items() if isinstance(feature, datasets.Image)
            ]
            # Read everything but the decoded images; an Image column becomes an ImageRef (or None when null).
            null_masks = {c: dataset.data.column(c).is_null().to_pylist() for c in image_feature_columns}
            rows = dataset.remove_columns(image_feature_columns).to_list() if len(dataset) else []
            kept = 0
            for index, row in enumerate(rows):
                for column, nulls in null_masks.items():
                    row[column] = None if nulls[index] else ImageRef(split, column, index)
                if not self.keep_row(row):
                    continue
                if max_samples is not None and kept >= max_samples:
                    break
                kept += 1
                sample = self.to_sample(row, split, index)
                sample.source = part.source
                sample.images = [
                    resolve_image_source(
                        value,
                        part.base_dirs,
                        what=f"{self.name} sample '{sample.sample_id}' (column '{column}', {part.source})",
                    )
                    for value, column in zip(sample.images, sample.image_columns)
                ]
                for value, column in zip(sample.images, sample.image_columns):
                    if value is None:
                        raise MissingImageError(
                            f"{self.name} sample '{sample.sample_id}' ({part.source}): no image in column "
                            f"'{column}'"
                        )
                self._check_gold(sample)
                if sample.sample_id in seen_ids:
                    raise MalformedSampleError(
                        f"{self.name}: sample id '{sample.sample_id}' appears twice ({seen_ids[sample.sample_id]} "
                        f"and {part.source}); ids must be unique for resumable records"
                    )
                seen_ids[sample.sample_id] = part.source
                samples.append(sample)
        if not samples:
            raise BenchmarkLoadError(
                f"{self.name}: no samples left to evaluate in {[p.source for p in splits.values()]}"
            )
        return BenchmarkData(self.name, samples, splits)

    def _check_gold(self, sample: EvalSample) -> None:
        """Grade an empty response once: `grade` raises on a gold it could never match (non-numeric float...)."""
        from roma.grading import grade

        try:
            grade("", sample.gold, **sample.grade_kwargs())
        except (ValueError, TypeError) as error:
            raise MalformedSampleError(
                f"{self.name} sample '{sample.sample_id}' ({sample.source}): gold answer {sample.gold!r} cannot be "
                f"graded as {sample.answer_type}: {error}"
            ) from None

    # ------------------------------------------------------------------------------------ per-row hooks
    def keep_row(self, row: dict[str, Any]) -> bool:
        """Whether a row belongs to the evaluated subset (MathVerse keeps "Vision Only")."""
        return True

    def to_sample(self, row: dict[str, Any], split: str, index: int) -> EvalSample:
        """Turn one row into an :class:`EvalSample` (raise `MalformedSampleError` for a bad field)."""
        raise NotImplementedError

    # ---------------------------------------------------------------------------------------- helpers
    def sample_id(self, row: Mapping[str, Any], split: str, index: int) -> str:
        """The row's id column as a string, or ``split-index`` for schemas without one."""
        if self.id_column and row.get(self.id_column) not in (None, ""):
            return str(row[self.id_column])
        return f"{split}-{index}"

    def error(
        self, row: Mapping[str, Any], split: str, index: int, column: str, problem: str
    ) -> MalformedSampleError:
        sample = self.sample_id(row, split, index)
        value = row.get(column)
        shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
        return MalformedSampleError(
            f"{self.name} sample '{sample}' (split '{split}', row {index}): field '{column}' = {shown} {problem}"
        )

    def pick_image(
        self, row: Mapping[str, Any], columns: Sequence[str] | None = None
    ) -> tuple[list[Any], list[str]]:
        """The first non-null image among ``columns`` (default ``image_columns``), as (sources, column names)."""
        columns = tuple(columns or self.image_columns)
        for column in columns:
            if column in row and row[column] not in (None, ""):
                return [row[column]], [column]
        return [None], [" / ".join(c for c in columns if c in row) or columns[0]]

    def make_sample(self, row: Mapping[str, Any], split: str, index: int, **fields: Any) -> EvalSample:
        """An :class:`EvalSample` with the row's id and image(s) filled in; ``fields`` sets the rest."""
        images, columns = fields.pop("images", None), fields.pop("image_columns", None)
        if images is None:
            images, columns = self.pick_image(row)
        return EvalSample(
            benchmark=self.name,
            sample_id=fields.pop("sample_id", None) or self.sample_id(row, split, index),
            images=list(images),
            image_columns=list(columns),
            **fields,
        )

    def letter_gold(
        self, row: Mapping[str, Any], split: str, index: int, column: str, num_options: int | None
    ) -> str:
        """A single option letter (``B``, ``(B)``, ``B.``) from ``column``, checked against the option count."""
        value = str(row.get(column) or "").strip()
        match = _SINGLE_LETTER_RE.match(value.upper()) if value else None
        if match is None:
            raise self.error(row, split, index, column, "is not an option letter")
        letter = match.group(1)
        if num_options is not None and LETTERS.index(letter) >= num_options:
            raise self.error(row, split, index, column, f"names an option beyond the {num_options} given")
        return letter


def format_options(options: Sequence[str]) -> str:
    """``A. first\\nB. second``: the usual way of listing options under a question."""
    return "\n".join(f"{LETTERS[i]}. {str(option).strip()}" for i, option in enumerate(options))


def _parse_option_list(value: Any) -> list[str] | None:
    """Options given as a list or a stringified Python list (MMMU); ``None`` if unparseable."""
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    if isinstance(value, str):
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return None
        if isinstance(parsed, (list, tuple)):
            return [str(v) for v in parsed]
    return None


def _parse_float(value: Any) -> float | None:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


# --------------------------------------------------------------------------------------------- the adapters
@register_benchmark
class MathVista(Benchmark):
    name = "mathvista"
    description = "MathVista testmini (1000): math reasoning in visual contexts"
    hub_id = "AI4Math/MathVista"
    splits = ("testmini",)
    id_column = "pid"
    required_columns = ("pid", "question", "answer", "question_type", "answer_type")
    image_columns = ("decoded_image", "image")

    def to_sample(self, row, split, index):
        choices = row.get("choices") or None
        answer = row.get("answer")
        if answer is None or str(answer).strip() == "":
            raise self.error(row, split, index, "answer", "is empty")
        answer = str(answer).strip()
        # `query` is the official prompt: a hint on the answer format, the question and the choices.
        question = str(row.get("query") or "").strip()
        if not question:
            question = str(row["question"]).strip()
            if row.get("unit"):
                question += f" (Unit: {row['unit']})"
            if choices:
                question += "\nChoices:\n" + "\n".join(f"({LETTERS[i]}) {c}" for i, c in enumerate(choices))
        if row["question_type"] == "multi_choice":
            if not choices:
                raise self.error(row, split, index, "choices", "is empty for a multi_choice question")
            stripped = [str(c).strip() for c in choices]
            if answer not in stripped:
                raise self.error(row, split, index, "answer", f"is not one of the choices {stripped}")
            # The gold is the option *text*; grading by letter with the options lets either spelling match.
            gold = LETTERS[stripped.index(answer)]
            return self.make_sample(
                row,
                split,
                index,
                question=question,
                gold=gold,
                answer_type="multiple_choice",
                options=stripped,
            )
        answer_type = row["answer_type"]
        if answer_type == "integer":
            number = _parse_float(answer)
            if number is None:
                raise self.error(row, split, index, "answer", "is not an integer")
            return self.make_sample(
                row, split, index, question=question, gold=str(int(number)), answer_type="integer"
            )
        if answer_type == "float":
            if _parse_float(answer) is None:
                raise self.error(row, split, index, "answer", "is not a number")
            precision = _parse_float(row.get("precision"))
            return self.make_sample(
                row,
                split,
                index,
                question=question,
                gold=answer,
                answer_type="float",
                precision=int(precision) if precision is not None else None,
            )
        if answer_type not in ("text", "list"):
            raise self.error(row, split, index, "answer_type", "is not one of integer / float / text / list")
        return self.make_sample(row, split, index, question=question, gold=answer, answer_type=answer_type)


@register_benchmark
class MathVerse(Benchmark):
    name = "mathverse"
    description = "MathVerse testmini, Vision Only version (788): the problem is drawn in the image"
    hub_id = "AI4Math/MathVerse"
    hub_config = "testmini"
    splits = ("testmini",)
    id_column = "sample_index"
    required_columns = ("sample_index", "problem_version", "question", "answer", "question_type")
    problem_version = "Vision Only"

    def keep_row(self, row):
        return row.get("problem_version") == self.problem_version

    def to_sample(self, row, split, index):
        # `query_cot` is the official chain-of-thought prompt; Vision Only questions live in the image.
        question = str(row.get("query_cot") or row.get("question") or "").strip()
        if not question:
            question = "Answer the question shown in the image."
        answer = str(row.get("answer") or "").strip()
        if not answer:
            raise self.error(row, split, index, "answer", "is empty")
        if row["question_type"] == "multi-choice":
            gold = self.letter_gold(row, split, index, "answer", None)
            return self.make_sample(
                row, split, index, question=question, gold=gold, answer_type="multiple_choice"
            )
        return self.make_sample(row, split, index, question=question, gold=answer, answer_type="math")


@register_benchmark
class MathVision(Benchmark):
    name = "mathvision"
    aliases = ("math_vision", "math_v")
    description = "MATH-Vision testmini (304): competition math with figures"
    hub_id = "MathLLMs/MathVision"
    splits = ("testmini",)
    required_columns = ("id", "question", "options", "answer")
    image_columns = ("decoded_image", "image")

    def to_sample(self, row, split, index):
        question = strip_image_placeholders(row["question"])
        options = _parse_option_list(row.get("options")) or []
        answer = str(row.get("answer") or "").strip()
        if not answer:
            raise self.error(row, split, index, "answer", "is empty")
        if options:
            gold = self.letter_gold(row, split, index, "answer", len(options))
            question += "\nOptions:\n" + format_options(options)
            return self.make_sample(
                row,
                split,
                index,
                question=question,
                gold=gold,
                answer_type="multiple_choice",
                options=options,
            )
        return self.make_sample(row, split, index, question=question, gold=answer, answer_type="math")


_WEMATH_OPTION_RE = re.compile(r"(?:^|;)\s*([A-Z])\s*[.:：]\s*")


@register_benchmark
class WeMath(Benchmark):
    name = "wemath"
    aliases = ("we_math",)
    description = "We-Math testmini (1740): knowledge-concept math, one option string per row"
    hub_id = "We-Math/We-Math"
    splits = ("testmini",)
    id_column = "ID"
    required_columns = ("ID", "question", "option", "answer", "image_path")
    image_columns = ("image_path",)

    def sample_id(self, row, split, index):
        # `ID` repeats across the 1-, 2- and 3-step variants of a problem; `key` tells them apart.
        base = super().sample_id(row, split, index)
        key = row.get("key")
        return f"{base}/{key}" if key not in (None, "") else base

    def to_sample(self, row, split, index):
        option_text = str(row.get("option") or "").strip()
        letters = _WEMATH_OPTION_RE.findall(option_text)
        if not letters:
            raise self.error(row, split, index, "option", "has no 'A. ...; B. ...' options")
        parts = _WEMATH_OPTION_RE.split(option_text)[1:]
        options = [parts[i + 1].strip().rstrip(";").strip() for i in range(0, len(parts), 2)]
        gold = self.letter_gold(row, split, index, "answer", len(options))
        question = f"{str(row['question']).strip()}\nOptions: {option_text}"
        return self.make_sample(
            row, split, index, question=question, gold=gold, answer_type="multiple_choice", options=options
        )


@register_benchmark
class LogicVista(Benchmark):
    name = "logicvista"
    aliases = ("logic_vista",)
    description = "LogicVista (448): logical reasoning; some questions have several correct letters"
    hub_id = "lscpku/LogicVista"
    splits = ("test",)
    required_columns = ("question", "answer", "image")

    def to_sample(self, row, split, index):
        answer = str(row.get("answer") or "").strip()
        letters = re.findall(r"[A-Za-z]+", answer)
        if not letters or any(len(token) != 1 for token in letters):
            raise self.error(row, split, index, "answer", "is not an option letter or a list of letters")
        gold = ", ".join(sorted({t.upper() for t in letters}))
        return self.make_sample(
            row, split, index, question=str(row["question"]).strip(), gold=gold, answer_type="multi_letter"
        )


@register_benchmark
class DynaMath(Benchmark):
    name = "dynamath"
    description = "DynaMath (501 seed questions × 10 variants): average and worst-case accuracy"
    hub_id = "DynaMath/DynaMath_Sample"
    splits = tuple(f"sample_variant{k}" for k in range(1, 11))
    required_columns = ("id", "question", "ground_truth", "answer_type")
    image_columns = ("decoded_image", "image")

    def to_sample(self, row, split, index):
        seed_id = self.sample_id(row, split, index)
        variant = split.removeprefix("sample_")
        answer = str(row.get("ground_truth") or "").strip()
        if not answer:
            raise self.error(row, split, index, "ground_truth", "is empty")
        fields: dict[str, Any] = {
            "sample_id": f"{seed_id}/{variant}",
            "group_id": seed_id,
            "question": str(row["question"]).strip(),
        }
        answer_type = str(row["answer_type"]).strip().lower()
        if answer_type == "multiple choice":
            gold = self.letter_gold(row, split, index, "ground_truth", None)
            return self.make_sample(row, split, index, gold=gold, answer_type="multiple_choice", **fields)
        if answer_type == "float":
            if _parse_float(answer) is None:
                raise self.error(row, split, index, "ground_truth", "is not a number")
            return self.make_sample(
                row, split, index, gold=answer, answer_type="float", tolerance=0.001, **fields
            )
        if answer_type != "text":
            raise self.error(
                row, split, index, "answer_type", "is not one of 'multiple choice' / 'float' / 'text'"
            )
        return self.make_sample(row, split, index, gold=answer, answer_type="text", **fields)


class _MMMUStyle(Benchmark):
    """MMMU and MMMU-Pro: options as a stringified list, up to seven images ``image_1..image_7``."""

    image_columns = tuple(f"image_{k}" for k in range(1, 8))
    required_columns = ("id", "question", "options", "answer", "image_1")

    def images_of(self, row, split, index) -> tuple[list[Any], list[str]]:
        columns = [c for c in self.image_columns if row.get(c) not in (None, "")]
        if not columns:
            raise MissingImageError(
                f"{self.name} sample '{self.sample_id(row, split, index)}' (split '{split}', row {index}): "
                f"no image in any of {list(self.image_columns)}"
            )
        return [row[c] for c in columns], columns

    def multiple_choice(self, row, split, index) -> EvalSample:
        options = _parse_option_list(row.get("options"))
        if not options:
            raise self.error(row, split, index, "options", "is not a (stringified) list of options")
        gold = self.letter_gold(row, split, index, "answer", len(options))
        question = f"{str(row['question']).strip()}\nOptions:\n{format_options(options)}"
        images, columns = self.images_of(row, split, index)
        return self.make_sample(
            row,
            split,
            index,
            question=question,
            gold=gold,
            answer_type="multiple_choice",
            options=options,
            images=images,
            image_columns=columns,
        )


@register_benchmark
class MMMUPro(_MMMUStyle):
    name = "mmmu_pro"
    aliases = ("mmmupro",)
    description = "MMMU-Pro standard, 10 options (1730): multi-discipline, up to 7 images"
    hub_id = "MMMU/MMMU_Pro"
    hub_config = "standard (10 options)"
    splits = ("test",)

    def to_sample(self, row, split, index):
        return self.multiple_choice(row, split, index)


@register_benchmark
class MMMU(_MMMUStyle):
    name = "mmmu"
    description = "MMMU validation (900): multiple choice and open questions, up to 7 images"
    hub_id = "MMMU/MMMU"
    splits = ("validation",)
    required_columns = ("id", "question", "options", "answer", "image_1", "question_type")

    def to_sample(self, row, split, index):
        if row.get("question_type") == "multiple-choice":
            return self.multiple_choice(row, split, index)
        answer: str | list[str] = str(row.get("answer") or "").strip()
        alternatives = _parse_option_list(answer) if answer.startswith("[") else None
        if alternatives:
            answer = alternatives  # open answers are sometimes a list of equivalent spellings: any one counts
        if not answer:
            raise self.error(row, split, index, "answer", "is empty")
        images, columns = self.images_of(row, split, index)
        return self.make_sample(
            row,
            split,
            index,
            question=str(row["question"]).strip(),
            gold=answer,
            answer_type="auto",
            images=images,
            image_columns=columns,
        )


@register_benchmark
class MMStar(Benchmark):
    name = "mmstar"
    description = "MMStar val (1500): vision-indispensable multiple choice, options in the question"
    hub_id = "Lin-Chen/MMStar"
    splits = ("val",)
    id_column = "index"
    required_columns = ("index", "question", "answer", "image")

    def to_sample(self, row, split, index):
        gold = self.letter_gold(row, split, index, "answer", 4)
        return self.make_sample(
            row, split, index, question=str(row["question"]).strip(), gold=gold, answer_type="multiple_choice"
        )


@register_benchmark
class HallusionBench(Benchmark):
    name = "hallusionbench"
    aliases = ("hallusion_bench", "hallusion")
    description = "HallusionBench image split (951): yes/no questions probing visual illusions"
    hub_id = "lmms-lab/HallusionBench"
    splits = ("image",)
    id_column = None
    required_columns = (
        "category",
        "subcategory",
        "set_id",
        "figure_id",
        "question_id",
        "question",
        "gt_answer",
        "image",
    )

    def sample_id(self, row, split, index):
        keys = ("category", "subcategory", "set_id", "figure_id", "question_id")
        if all(row.get(k) not in (None, "") for k in keys):
            return "/".join(str(row[k]) for k in keys)
        return f"{split}-{index}"

    def to_sample(self, row, split, index):
        value = str(row.get("gt_answer")).strip()
        if value not in ("0", "1"):
            raise self.error(row, split, index, "gt_answer", "is not '0' or '1'")
        gold = "yes" if value == "1" else "no"
        return self.make_sample(
            row, split, index, question=str(row["question"]).strip(), gold=gold, answer_type="yes_no"
        )


@register_benchmark
class ChartQA(Benchmark):
    name = "chartqa"
    description = "ChartQA test (2500): relaxed accuracy (numbers within 5 %, else exact text)"
    hub_id = "HuggingFaceM4/ChartQA"
    splits = ("test",)
    id_column = None
    required_columns = ("query", "label", "image")

    def to_sample(self, row, split, index):
        label = row.get("label")
        if isinstance(label, str) and label.strip().startswith("["):
            label = _parse_option_list(label) or label
        labels = (
            [str(v).strip() for v in label]
            if isinstance(label, (list, tuple))
            else [str(label or "").strip()]
        )
        gold: str | list[str] = [v for v in labels if v]
        if not gold:
            raise self.error(row, split, index, "label", "is empty")
        gold = gold[0] if len(gold) == 1 else gold
        return self.make_sample(
            row,
            split,
            index,
            question=str(row["query"]).strip(),
            gold=gold,
            answer_type="auto",
            relative_tolerance=0.05,
        )


@register_benchmark
class Synthetic(Benchmark):
    """The bundled synthetic task (`roma.data.synthetic`), generated in memory: no data to download."""

    name = "synthetic"
    description = "the bundled synthetic task, test split (counting, comparing, ... on rendered scenes)"
    hub_id = ""
    splits = ("test",)
    required_columns = ("id", "question", "image", "answer", "answer_type")
    num_samples: ClassVar[int] = 512  # the generator's test split size
    seed: ClassVar[int] = 0
    # Which split of the generator this benchmark scores (the test split; model selection uses validation).
    synthetic_split: ClassVar[str] = "test"

    def load(self, max_samples: int | None = None) -> BenchmarkData:
        # Generate only what is evaluated: the task is rendered on the fly.
        self._count = self.num_samples if max_samples is None else min(max_samples, self.num_samples)
        return super().load(max_samples)

    def load_splits(self):
        from roma.data.synthetic import make_synthetic_dataset

        count = getattr(self, "_count", self.num_samples)
        split = self.synthetic_split
        dataset = make_synthetic_dataset(split, count, seed=self.seed)
        return {split: _LoadedSplit(split, dataset, f"synthetic {split} split (seed {self.seed})", [])}

    def to_sample(self, row, split, index):
        return self.make_sample(
            row,
            split,
            index,
            question=str(row["question"]),
            gold=str(row["answer"]),
            answer_type=str(row.get("answer_type") or "auto"),
        )


@register_benchmark
class SyntheticValidation(Synthetic):
    """The synthetic task's validation split: for choosing settings without touching the test split."""

    name = "synthetic_validation"
    description = "the bundled synthetic task, validation split (for model selection)"
    splits = ("validation",)
    num_samples: ClassVar[int] = 256
    synthetic_split: ClassVar[str] = "validation"
