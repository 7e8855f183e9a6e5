"""Load a training dataset from the hub, a local file or folder, or the bundled synthetic task.

`load_training_dataset` maps a dataset's own columns (question, image(s), answer) onto the rows TRL's
`GRPOTrainer` expects:

- ``prompt``: a conversational prompt from `roma.data.prompts.build_conversation`, one ``{"type": "image"}``
  placeholder per image;
- ``image`` (one image per row) or ``images`` (a list column, or several image columns);
- ``answer`` (str), ``id`` (str, the source's ``id`` column or the row index) and the requested extra columns,
  which TRL passes to reward functions as keyword arguments.

Images are handled in one place: each image is decoded once at load time by the project's one decoder,
`roma.degrade.convert.load_rgb` (EXIF orientation, then RGB: alpha over white, 16-bit levels scaled), so a
file that loads here also loads in the trainer, and with the pixels evaluation and `roma.degrade` see. The
rows keep the original encoded bytes or file path, which the ``datasets.Image(mode="RGB")`` feature decodes
for training to the same pixels; only an image PIL's own RGB conversion would get wrong (transparent, 16-bit,
float: `roma.degrade.convert.pil_converts_alike`) is stored re-encoded, as a lossless RGB PNG of what
`load_rgb` decoded. Memory stays flat for large datasets. The check runs in `Dataset.map`, which caches it
for file-backed datasets, keyed also by the size and time of each image file read (a file deleted or changed
since fails here, not mid-training). Each gold answer is checked by the grader, and numeric answers of a JSON
or CSV file are read as their text (docs/reliability.md, "Design choices").

`load_data_files` reads local data files (parquet, JSON / JSON lines, CSV / TSV) through the `datasets`
builders; the benchmark adapters of `roma.evaluation` read their local copies with it too.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import datasets
from datasets import Dataset, DatasetDict, Features, Image, List, Value
from datasets.utils.file_utils import xopen
from PIL import Image as PILImage

from roma.degrade.convert import load_rgb, pil_converts_alike
from roma.grading import grade
from roma.rewards import GRADE_COLUMNS, grade_options

logger = logging.getLogger(__name__)

SYNTHETIC_SOURCE = "synthetic"

# Local single-file formats and the `datasets` builder that reads each (TSV: the csv builder, tab-separated).
FILE_BUILDERS = {".parquet": "parquet", ".jsonl": "json", ".json": "json", ".csv": "csv", ".tsv": "csv"}
_BUILDER_OPTIONS: dict[str, dict[str, Any]] = {".tsv": {"sep": "\t"}}

# The column the trainer consumes is decoded through this feature: EXIF transpose, then PIL's RGB conversion,
# which equals load_rgb for every image kept as it is (see _checked_image).
RGB_IMAGE_FEATURE = Image(mode="RGB")

_ERROR_COLUMN = "_roma_load_error"
_MAX_IDS_IN_WARNING = 5


class DatasetLoadingError(ValueError):
    """A dataset cannot be turned into training rows: wrong column mapping, unreadable sample, empty result."""


def load_training_dataset(
    source: str,
    *,
    split: str = "train",
    question_column: str = "question",
    image_column: str | Sequence[str] = "image",
    answer_column: str = "answer",
    extra_columns: Sequence[str] = (),
    skip_bad_samples: bool = False,
    max_samples: int | None = None,
    image_root: str | None = None,
    num_proc: int | None = None,
    system_prompt: str | None = None,
    dataset_config: str | None = None,
) -> Dataset:
    """Load ``source`` and return rows ready for TRL's `GRPOTrainer`.

    Args:
        source: ``"synthetic"`` (the bundled task), a local ``.parquet`` / ``.jsonl`` / ``.json`` / ``.csv``
            file, a folder written by `Dataset.save_to_disk`, an image folder (``datasets`` "imagefolder" with
            a ``metadata.jsonl`` or ``metadata.csv``) or a folder of data files, or a hub dataset id.
        split: Split to read. A single file holds one split, ``"train"``.
        question_column: Column with the question text (literal image markers in it, ``<image>``, ``<image 1>``,
            are removed: the prompt gets structured ``{"type": "image"}`` placeholders instead; roma's
            ``\\boxed{}`` instruction is appended), or a TRL conversational prompt (a list of ``{"role",
            "content"}`` messages), used as is: string contents become text parts and, when it has no
            ``{"type": "image"}`` part, one per image is put before the first user message's text.
        image_column: Column with the image(s): an image column, a list-of-images column, a column of file
            paths (relative paths resolve against ``image_root``, else the file's folder), or several such
            columns as a comma list (``"image_1,image_2"``) or a sequence. Several columns give an ``images``
            list per row that skips empty cells.
        answer_column: Column with the reference answer, read as the text written in the file (a JSON
            number ``3`` is ``"3"``, never ``"3.0"``). Each gold answer is checked against the grader (with
            the ``answer_type`` / ``options`` / ... columns among ``extra_columns``): one no response
            could match (``""``, ``"three"`` as a float) is a bad sample.
        extra_columns: Further columns to keep for the reward functions.
        skip_bad_samples: Skip rows whose image cannot be read (or whose question/answer is missing, or whose
            gold answer cannot be graded) and log
            one warning with their count and first ids, instead of failing on the first one.
        max_samples: Keep only the first ``max_samples`` rows (before images are checked).
        image_root: Folder that relative image paths are resolved against.
        system_prompt: System message put before each prompt (not before a conversational prompt that has one).
        dataset_config: Configuration name of a hub dataset (``datasets.load_dataset(source, name=...)``).
        num_proc: Processes for the image check (`Dataset.map`).

    Returns:
        A `datasets.Dataset` with columns ``id``, ``prompt``, ``image`` or ``images``, ``answer`` and the
        extra columns.

    Raises:
        DatasetLoadingError: a column is missing (the message names the argument to set and lists the
            available columns), a sample is unreadable (naming its index, id and file), or no rows are left.
        FileNotFoundError: ``source`` looks like a local path that does not exist.
        ConnectionError: ``source`` is a hub id and the hub cannot be reached.
    """
    if max_samples is not None and max_samples < 1:
        raise DatasetLoadingError(f"max_samples must be >= 1 or None, got {max_samples}.")
    raw, base_dir = _load_source(source, split, max_samples, answer_column, dataset_config)
    image_columns = _parse_image_columns(image_column)
    extra_columns = [c for c in extra_columns if c not in ("id", "prompt", "image", "images", "answer")]
    _check_columns(
        raw,
        source,
        {
            "--question_column": [question_column],
            "--image_column": image_columns,
            "--answer_column": [answer_column],
            "extra_columns": list(extra_columns),
        },
    )
    if max_samples is not None and max_samples < len(raw):
        raw = raw.select(range(max_samples))
    if len(raw) == 0:
        raise DatasetLoadingError(f"Dataset {source!r} (split {split!r}) has no rows.")

    image_kinds = {
        column: _image_column_kind(raw, column, several=len(image_columns) > 1) for column in image_columns
    }
    multi_image = len(image_columns) > 1 or any(kind.startswith("list") for kind in image_kinds.values())
    # Read encoded bytes / paths, not decoded pixels: the check below decodes each image exactly once.
    for column, kind in image_kinds.items():
        if kind == "image":
            raw = raw.cast_column(column, Image(decode=False))
        elif kind == "list_image":
            raw = raw.cast_column(column, List(Image(decode=False)))

    image_output = "images" if multi_image else "image"
    features = Features(
        {
            "id": Value("string"),
            "prompt": _conversation_feature(),
            image_output: List(RGB_IMAGE_FEATURE) if multi_image else RGB_IMAGE_FEATURE,
            "answer": Value("string"),
            **{column: raw.features[column] for column in extra_columns},
        }
    )
    if skip_bad_samples:
        features[_ERROR_COLUMN] = Value("string")

    rows = raw.map(
        _prepare_row,
        with_indices=True,
        remove_columns=raw.column_names,
        features=features,
        num_proc=num_proc,
        desc="Checking images",
        fn_kwargs={
            "question_column": question_column,
            "image_columns": image_columns,
            "answer_column": answer_column,
            "extra_columns": list(extra_columns),
            "image_output": image_output,
            "has_id_column": "id" in raw.column_names,
            "image_root": Path(image_root).expanduser().resolve() if image_root else base_dir,
            "skip_bad_samples": skip_bad_samples,
            "grade_columns": [column for column in extra_columns if column in GRADE_COLUMNS],
            # Only keys the map's cache: a file-backed dataset's check is reused until an image file it reads
            # is deleted, replaced or touched, so a missing image fails here and not mid-training.
            "image_files_stamp": _image_files_stamp(raw, image_kinds, image_root, base_dir),
            "system_prompt": system_prompt,
        },
    )

    if skip_bad_samples:
        errors = rows[_ERROR_COLUMN]
        bad = [i for i, error in enumerate(errors) if error is not None]
        if bad:
            first = [errors[i] for i in bad[:_MAX_IDS_IN_WARNING]]
            logger.warning(
                "Skipped %d of %d samples of %r that cannot be used (skip_bad_samples=True). First: %s",
                len(bad),
                len(rows),
                source,
                "; ".join(first),
            )
            bad_set = set(bad)
            rows = rows.select([i for i in range(len(rows)) if i not in bad_set])
        rows = rows.remove_columns(_ERROR_COLUMN)
        if len(rows) == 0:
            raise DatasetLoadingError(
                f"No usable samples left in {source!r} (split {split!r}): all {len(bad)} rows were skipped as "
                "unreadable. Check the image column and image_root."
            )
    return rows


def read_dataset(source: str, split: str = "train") -> tuple[Dataset, Path | None]:
    """``source`` (a local file or folder, a hub id, or ``synthetic``) as read, before any column is mapped,
    and the folder relative image paths resolve against (``roma eval --benchmarks PATH`` reads through it)."""
    return _load_source(source, split, None)


def _load_source(
    source: str,
    split: str,
    max_samples: int | None,
    answer_column: str | None = None,
    dataset_config: str | None = None,
) -> tuple[Dataset, Path | None]:
    """Read ``source`` as a `Dataset`; also return the folder that relative image paths resolve against.

    With ``answer_column``, the answers of a single data file come as written (`_answers_as_written`).
    """
    if source == SYNTHETIC_SOURCE:
        from roma.data.synthetic import DEFAULT_NUM_SAMPLES, make_synthetic_dataset, parse_split_range

        # Generated on the fly: make only the rows asked for (a shorter dataset is a prefix of a longer one); a
        # row range ("train[24000:]") starts there.
        try:
            name, start, stop = parse_split_range(split)
        except ValueError as error:
            raise DatasetLoadingError(str(error)) from None
        available = (stop - start) if stop is not None else DEFAULT_NUM_SAMPLES.get(name, 0)
        count = available if max_samples is None else min(max_samples, available)
        try:
            return make_synthetic_dataset(split=name, num_samples=count, start=start), None
        except ValueError as error:  # an unknown split name
            raise DatasetLoadingError(f"Synthetic dataset: {error}") from None

    path = Path(source).expanduser()
    if path.is_file():
        builder = FILE_BUILDERS.get(path.suffix.lower())
        if builder is None:
            raise DatasetLoadingError(
                f"Cannot read {source!r}: unsupported file type {path.suffix!r}; "
                f"use one of {', '.join(FILE_BUILDERS)}, a folder, or a hub dataset id."
            )
        if path.stat().st_size == 0:  # `datasets` drops empty data files and then fails obscurely
            raise DatasetLoadingError(f"Dataset {source!r} is an empty file: it has no rows.")
        if split != "train":
            # A single file is one split; silently reusing it for another split would evaluate on training data.
            raise DatasetLoadingError(
                f"{source!r} is a single file, which holds only the 'train' split; got split={split!r}. "
                "Pass a folder with per-split files or a separate file for this split."
            )
        loaded = load_data_files([path], source=source, split=split)
        if answer_column is not None:
            loaded = _answers_as_written(loaded, path, answer_column)
        return loaded, path.parent.resolve()

    if path.is_dir():
        if (path / "dataset_dict.json").is_file() or (path / "state.json").is_file():
            _check_saved_rows(path, source, split)
            loaded = datasets.load_from_disk(str(path))
            if isinstance(loaded, DatasetDict):
                if split not in loaded:
                    raise DatasetLoadingError(
                        f"{source!r} has no split {split!r}; available splits: {', '.join(loaded)}."
                    )
                loaded = loaded[split]
            return loaded, path.resolve()
        # imagefolder (with metadata.jsonl / metadata.csv) or a folder of parquet/json files.
        return _load_dataset(source, split, str(path), split=split), path.resolve()

    if _looks_like_local_path(source):
        raise FileNotFoundError(f"Dataset path {source!r} does not exist.")
    try:
        return datasets.load_dataset(source, dataset_config, split=split), None
    except ConnectionError as err:
        raise ConnectionError(
            f"Cannot load hub dataset {source!r}: the Hugging Face Hub is not reachable ({err}). Download it "
            "where the hub is reachable (`datasets.load_dataset(...).save_to_disk(DIR)` or `hf download "
            "--repo-type dataset`) and pass the local folder, or use dataset_name=synthetic."
        ) from err


def load_data_files(
    files: Sequence[str | Path], *, source: str, split: str = "train", **options: Any
) -> Dataset:
    """Read local data files of one format (``FILE_BUILDERS``) as one `Dataset`, with the `datasets` builder
    for their suffix; ``options`` go to that builder (``dtype=str`` for CSV / TSV, ``field`` for JSON ...).

    ``source`` and ``split`` only name the data in error messages.
    """
    suffixes = sorted({Path(file).suffix.lower() for file in files})
    if len(suffixes) != 1 or suffixes[0] not in FILE_BUILDERS:
        raise DatasetLoadingError(
            f"Cannot read {source!r}: expected data files of one type among {', '.join(FILE_BUILDERS)}, "
            f"got {', '.join(suffixes) or 'no file'}."
        )
    suffix = suffixes[0]
    return _load_dataset(
        source,
        split,
        FILE_BUILDERS[suffix],
        data_files=[str(file) for file in files],
        split="train",  # the builder's name for the files given; not the dataset's split
        **(_BUILDER_OPTIONS.get(suffix, {}) | options),
    )


def _load_dataset(source: str, split_name: str, /, *args: Any, **kwargs: Any) -> Dataset:
    """`datasets.load_dataset` on local data, with its "no data" and parse errors said plainly."""
    from datasets.exceptions import DatasetGenerationError

    try:
        return datasets.load_dataset(*args, **kwargs)
    except ValueError as err:
        if "corresponds to no data" in str(err):  # datasets' wording for a split without rows
            raise DatasetLoadingError(f"Dataset {source!r} (split {split_name!r}) has no rows.") from err
        raise
    except DatasetGenerationError as err:  # the builder's own wrapper; the parser's error is its cause
        cause = err.__cause__ or err
        files = kwargs.get("data_files") or []
        bad_line = next((found for file in files if (found := _first_bad_json_line(file))), None)
        detail = bad_line or f"{type(cause).__name__}: {cause}"
        raise DatasetLoadingError(f"Cannot parse dataset {source!r}: {detail}.") from err


def _first_bad_json_line(file: str | Path) -> str | None:
    """``"<file> line N is not valid JSON (...)"`` for the first such line of a JSON lines file, else None."""
    if Path(file).suffix.lower() != ".jsonl":
        return None
    with open(file, encoding="utf-8", errors="replace") as stream:
        for number, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                json.loads(line)
            except json.JSONDecodeError as err:
                return f"{file} line {number} is not valid JSON ({err.msg}, column {err.colno})"
    return None


def _check_saved_rows(path: Path, source: str, split: str) -> None:
    """A `save_to_disk` folder of 0 rows makes `datasets.load_from_disk` fail with an IndexError: say so."""
    state = path / split / "state.json" if (path / "dataset_dict.json").is_file() else path / "state.json"
    if state.is_file() and json.loads(state.read_text()).get("_data_files") == []:
        raise DatasetLoadingError(f"Dataset {source!r} (split {split!r}) has no rows.")


def _answers_as_written(dataset: Dataset, path: Path, answer_column: str) -> Dataset:
    """``dataset`` with a numeric ``answer_column`` replaced by the text written in the JSON / CSV file.

    Arrow (JSON) and pandas (CSV) read a column holding ``3`` and ``2.5`` as float64, so ``3`` would become
    ``"3.0"`` and ``12345678901234567`` ``"1.2345678901234568e+16"``; the file is read again with the
    answers kept as text. Cells the builder read as missing stay missing. Parquet keeps its own types.
    """
    feature = dataset.features.get(answer_column)
    if not isinstance(feature, Value) or feature.dtype in ("string", "large_string"):
        return dataset
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        import csv

        with open(path, newline="", encoding="utf-8") as stream:
            rows: Any = list(csv.DictReader(stream, **({"delimiter": "\t"} if suffix == ".tsv" else {})))
    elif suffix in (".json", ".jsonl"):
        text = path.read_text(encoding="utf-8")
        parse = {"parse_float": str, "parse_int": str}
        if suffix == ".jsonl":
            rows = [json.loads(line, **parse) for line in text.splitlines() if line.strip()]
        else:
            rows = json.loads(text, **parse)
    else:
        return dataset
    if isinstance(rows, dict) and isinstance(rows.get(answer_column), list):
        written = rows[answer_column]  # a JSON object of columns
    elif isinstance(rows, list) and all(isinstance(row, dict) for row in rows):
        written = [row.get(answer_column) for row in rows]
    else:
        return dataset
    if len(written) != len(dataset):  # not the shape the builder read: keep its values
        return dataset
    answers = [
        None if read is None or text is None else str(text)
        for read, text in zip(dataset[answer_column], written)
    ]
    return dataset.remove_columns(answer_column).add_column(answer_column, answers)


def _looks_like_local_path(source: str) -> bool:
    """A hub id is ``name`` or ``org/name``; anything else that does not exist is a mistyped local path."""
    return (
        source.startswith((".", "/", "~"))
        or source.count("/") > 1
        or (os.sep != "/" and os.sep in source)
        or Path(source).suffix.lower() in FILE_BUILDERS
    )


def _parse_image_columns(image_column: str | Sequence[str]) -> list[str]:
    columns = image_column.split(",") if isinstance(image_column, str) else list(image_column)
    columns = [c.strip() for c in columns if c.strip()]
    if not columns:
        raise DatasetLoadingError(
            "image_column is empty: name the column(s) holding the images (--image_column)."
        )
    return columns


def _check_columns(dataset: Dataset, source: str, wanted: dict[str, list[str]]) -> None:
    available = dataset.column_names
    problems = []
    for argument, columns in wanted.items():
        missing = [c for c in columns if c not in available]
        if missing:
            problems.append(f"{', '.join(repr(c) for c in missing)} (set {argument})")
    if problems:
        raise DatasetLoadingError(
            f"Dataset {source!r} has no column {'; '.join(problems)}. "
            f"Available columns: {', '.join(available)}."
        )


def _image_column_kind(dataset: Dataset, column: str, *, several: bool) -> str:
    """'image', 'path', 'list_image' or 'list_path' for a column holding images or image file paths.

    One of ``several`` image columns may be empty in every row (Arrow types it ``null``): its cells are all
    absent images, as empty cells of the other columns are.
    """
    feature = dataset.features[column]
    if isinstance(feature, Image):
        return "image"
    if several and isinstance(feature, Value) and feature.dtype == "null":
        return "path"
    if isinstance(feature, Value) and feature.dtype in ("string", "large_string"):
        return "path"
    inner = getattr(feature, "feature", None)
    if isinstance(feature, (List, datasets.LargeList)):
        if isinstance(inner, Image):
            return "list_image"
        if isinstance(inner, Value) and inner.dtype in ("string", "large_string"):
            return "list_path"
    raise DatasetLoadingError(
        f"Column {column!r} holds {feature}, not images or image paths (set --image_column). "
        f"Columns: {', '.join(f'{name}: {type(f).__name__}' for name, f in dataset.features.items())}."
    )


def _conversation_feature() -> Any:
    """Arrow type of a prompt from `build_conversation` (inferred once from a real one)."""
    from roma.data.prompts import build_conversation

    example = build_conversation("?", num_images=1, system="?")
    return Dataset.from_list([{"prompt": example}]).features["prompt"]


class _BadSample(Exception):
    """Raised inside `_prepare_row`; turned into a `DatasetLoadingError` or a skipped row."""


def _prepare_row(
    row: dict[str, Any],
    index: int,
    *,
    question_column: str,
    image_columns: list[str],
    answer_column: str,
    extra_columns: list[str],
    image_output: str,
    has_id_column: bool,
    image_root: Path | None,
    skip_bad_samples: bool,
    grade_columns: list[str],
    image_files_stamp: str | None,  # noqa: ARG001 - keys the map's cache (see load_training_dataset)
    system_prompt: str | None = None,
) -> dict[str, Any]:
    from roma.data.prompts import build_conversation, conversation_as_prompt, strip_image_placeholders

    sample_id = str(row["id"]) if has_id_column and row["id"] is not None else str(index)
    try:
        images = []
        for column in image_columns:
            cell = row[column]
            cells = cell if isinstance(cell, list) else [cell]
            if cell is None and len(image_columns) > 1:
                continue  # several image columns: empty cells are absent images (MMMU-style image_1..image_7)
            images.extend(_checked_image(value, column, image_root) for value in cells)
        if not images:
            raise _BadSample(f"no image in column(s) {', '.join(repr(c) for c in image_columns)}")
        question, answer = row[question_column], row[answer_column]
        if question is None:
            raise _BadSample(f"question column {question_column!r} is empty")
        if isinstance(question, list):  # a TRL conversational prompt: used as is
            try:
                prompt = conversation_as_prompt(question, max(len(images), 1), system=system_prompt)
            except ValueError as err:
                raise _BadSample(f"question column {question_column!r}: {err}") from err
        else:
            question = strip_image_placeholders(question)
            prompt = build_conversation(question, num_images=max(len(images), 1), system=system_prompt)
        if answer is None:
            raise _BadSample(f"answer column {answer_column!r} is empty")
        try:  # what the accuracy reward will do with this gold, before any training step
            grade("", str(answer), **grade_options({column: row[column] for column in grade_columns}))
        except (ValueError, TypeError) as err:
            raise _BadSample(f"gold answer {str(answer)!r} cannot be graded: {err}") from err
        error = None
    except _BadSample as err:
        if not skip_bad_samples:
            raise DatasetLoadingError(
                f"Sample {index} (id {sample_id!r}): {err}. Fix or remove it, or set skip_bad_samples=True."
            ) from err
        images, answer, error = [], "", f"sample {index} (id {sample_id!r}): {err}"
        prompt = build_conversation("", num_images=1, system=system_prompt)

    prepared = {
        "id": sample_id,
        "prompt": prompt,
        image_output: images if image_output == "images" else (images[0] if images else None),
        "answer": str(answer),
        **{column: row[column] for column in extra_columns},
    }
    if skip_bad_samples:
        prepared[_ERROR_COLUMN] = error
    return prepared


def _resolved_image_path(path: str, image_root: Path | None) -> str:
    """A local relative image path against ``image_root`` (else the working folder); URLs and absolute paths as they are."""
    if "://" in path or os.path.isabs(path):
        return path
    return str((image_root or Path.cwd()) / path)


def _image_files_stamp(
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
            path = _resolved_image_path(path, root)
            try:
                status = os.stat(path)
                digest.update(f"{path}\0{status.st_size}\0{status.st_mtime_ns}\n".encode())
            except OSError:
                digest.update(f"{path}\0missing\n".encode())
    return digest.hexdigest()


def _checked_image(value: Any, column: str, image_root: Path | None) -> dict[str, Any]:
    """Return the encoded image ``{"path", "bytes"}`` after decoding it once with `load_rgb`.

    An image whose PIL RGB conversion (the training feature's) would differ from `load_rgb` comes back as
    lossless PNG bytes of the `load_rgb` pixels, so training sees what evaluation and `roma.degrade` see.
    """
    if value is None:
        raise _BadSample(f"no image in column {column!r}")
    reference = {"path": value, "bytes": None} if isinstance(value, str) else dict(value)
    path = reference.get("path")
    if reference.get("bytes") is None:
        if not path:
            raise _BadSample(f"image in column {column!r} has neither bytes nor a path")
        reference["path"] = path = _resolved_image_path(path, image_root)
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
        raise _BadSample(f"image {where} does not exist") from err
    except Exception as err:  # noqa: BLE001 - any decoder failure means the same thing: unusable image
        raise _BadSample(f"cannot read image {where}: {type(err).__name__}: {err}") from err
    if not converts_alike:
        buffer = io.BytesIO()
        rgb.save(buffer, format="PNG")
        reference["bytes"] = buffer.getvalue()
    return reference
