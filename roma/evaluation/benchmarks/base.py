"""The benchmark adapter base class, its samples and the loaded data.

An adapter knows a benchmark's published schema (its column names differ: ``decoded_image``, ``image``,
``image_path``, ``image_1..7``), where it lives (hub id, config, splits: all overridable, since mirrors
exist), how to turn a row into a prompt (question + options; `roma.data.prompts.build_conversation` adds the
instruction to answer in ``\\boxed{}``) and how its gold answer is written (-> the arguments of
`roma.grading.grade`).

Rows come from ``--data_dir`` when a local copy in the published format is there, else from the hub
(`roma.evaluation.benchmarks.sources`). Every row is checked when the benchmark loads (gold answer, options,
image present). A malformed row is skipped, not fatal: published copies hold a few (LogicVista's v1_382 has
neither question nor answer), and one of them must not stop a sweep. `BenchmarkData.skipped` lists each with the benchmark, sample, field
and file at fault; the sweep writes them to ``skipped.json`` and the reports. Each image is checked at load at
a fraction of a full decode (`ImageSource.check`: a truncated JPEG is a skipped row then, not a stop minutes
into the sweep); the pixels are decoded only when a sample is evaluated.
"""

from __future__ import annotations

import dataclasses
import math
import re
import string
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from PIL import Image

from roma.evaluation.benchmarks.sources import (
    ImageRef,
    LoadedSplit,
    find_local_dir,
    hub_split,
    image_source,
    local_split,
    resolve_image_source,
)
from roma.evaluation.errors import BenchmarkLoadError, MalformedSampleError, MissingImageError
from roma.evaluation.images import ImageSource
from roma.grading import GRADE_ARGUMENTS, MalformedOptionsError, grade, grade_arguments, normalize_options

__all__ = [
    "LETTERS",
    "Benchmark",
    "BenchmarkData",
    "EvalSample",
    "SkippedRow",
    "format_options",
    "parse_float",
    "parse_option_list",
    "parse_tag_list",
]

LETTERS = string.ascii_uppercase

_SINGLE_LETTER_RE = re.compile(r"^\(?([A-Z])\)?[.:]?$")


@dataclass
class EvalSample:
    """One benchmark question, ready to prompt and grade.

    ``images`` holds image *sources* (an :class:`ImageRef`, a resolved file path, bytes or a PIL image);
    `BenchmarkData.load_images` decodes them. ``question`` is the prompt text without the answer-format
    instruction. ``group_id`` ties variants of one seed question (DynaMath) for the worst-case metric.
    ``rule`` names the benchmark's scoring rule (`roma.grading.BENCHMARK_RULES`). ``tags`` are the row's
    categories the benchmark's official metric breaks accuracy down by (MathVista's ``task`` and ``skills``,
    MathVerse's ``problem_version``...; see `roma.evaluation.official_metrics`).
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
    split: str = ""
    row: int = -1
    rule: str | None = None
    tags: dict[str, Any] = field(default_factory=dict)

    def grade_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of `roma.grading.grade` for this sample's gold answer.

        The question goes along always: ``grade`` reads options from it only when the row has no options
        column (DynaMath, MathVerse, LogicVista list them in the question text).
        """
        return grade_arguments({name: getattr(self, name) for name in GRADE_ARGUMENTS}, GRADE_ARGUMENTS)


@dataclass(frozen=True)
class SkippedRow:
    """A row left out of the evaluation because a field of it cannot be used (the reason says which)."""

    sample_id: str
    split: str
    row: int
    source: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class BenchmarkData(Sequence[EvalSample]):
    """The checked samples of one benchmark; images are decoded on demand by :meth:`load_images`.

    ``skipped``: the rows that could not be evaluated, each with the reason.
    """

    def __init__(
        self,
        benchmark: str,
        samples: list[EvalSample],
        splits: Mapping[str, LoadedSplit],
        skipped: Sequence[SkippedRow] = (),
    ):
        self.benchmark = benchmark
        self.samples = samples
        self.skipped = list(skipped)
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
            view = None
            if isinstance(source, ImageRef):
                key = (source.split, source.column)
                if key not in self._column_views:
                    self._column_views[key] = self._splits[source.split].dataset.data.column(source.column)
                view = self._column_views[key]
            sources.append(image_source(source, view, what=what))
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
    # The id column; "a|b": the first one a row fills (layouts name the same field differently).
    id_column: ClassVar[str | None] = "id"
    # Columns a split must have; "a|b": either.
    required_columns: ClassVar[tuple[str, ...]] = ()
    # For a one-image benchmark: the columns to take the image from, first non-null wins.
    image_columns: ClassVar[tuple[str, ...]] = ("image",)
    # The benchmark's own scoring rule (a name in `roma.grading.BENCHMARK_RULES`), passed to every `grade` call.
    grading_rule: ClassVar[str | None] = None

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
        return find_local_dir(self.data_dir, candidates)

    def load_splits(self) -> dict[str, LoadedSplit]:
        """Load every split, from ``data_dir`` when a copy is there, else from the hub."""
        root = self.local_dir()
        loaded = {}
        for split in self.splits:
            part = (
                local_split(self.name, root, split, single_split=len(self.splits) == 1)
                if root is not None
                else None
            )
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
                part = hub_split(self.name, self.hub_id, self.hub_config, split, problem)
            names = part.dataset.column_names
            missing = [c for c in self.required_columns if not any(a in names for a in c.split("|"))]
            if missing:
                raise BenchmarkLoadError(
                    f"{self.name}: {part.source} lacks column(s) {missing} of the {self.hub_id} schema "
                    f"(it has {part.dataset.column_names})"
                )
            loaded[split] = part
        return loaded

    def load(self, max_samples: int | None = None) -> BenchmarkData:
        """Load and check the benchmark; ``max_samples`` keeps the first N usable rows of each split.

        A row that fails its checks is skipped and listed in `BenchmarkData.skipped`.

        Raises:
            BenchmarkLoadError: no usable row is left (the message gives the first reasons).
        """
        import datasets

        splits = self.load_splits()
        samples: list[EvalSample] = []
        skipped: list[SkippedRow] = []
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
                try:
                    sample = self._checked_sample(row, split, index, part, seen_ids)
                except (MalformedSampleError, MissingImageError) as error:
                    sample_id = self.sample_id(row, split, index)
                    skipped.append(SkippedRow(sample_id, split, index, part.source, str(error)))
                    continue
                kept += 1
                seen_ids[sample.sample_id] = part.source
                samples.append(sample)
        if not samples:
            reasons = "; ".join(s.reason for s in skipped[:3])
            more = f" (and {len(skipped) - 3} more)" if len(skipped) > 3 else ""
            raise BenchmarkLoadError(
                f"{self.name}: no samples left to evaluate in {[p.source for p in splits.values()]}"
                + (f": every row was skipped: {reasons}{more}" if skipped else "")
            )
        return BenchmarkData(self.name, samples, splits, skipped)

    def _checked_sample(
        self, row: dict[str, Any], split: str, index: int, part: LoadedSplit, seen_ids: Mapping[str, str]
    ) -> EvalSample:
        """The row's sample with its image sources resolved and its gold checked; raises for a bad row."""
        sample = self.to_sample(row, split, index)
        sample.source, sample.split, sample.row = part.source, split, index
        sample.images = [
            resolve_image_source(
                value,
                part.base_dirs,
                what=f"{self.name} sample '{sample.sample_id}' (column '{column}', {part.source})",
            )
            for value, column in zip(sample.images, sample.image_columns)
        ]
        for value, column in zip(sample.images, sample.image_columns):
            what = f"{self.name} sample '{sample.sample_id}' (column '{column}', {part.source})"
            if value is None:
                raise MissingImageError(
                    f"{self.name} sample '{sample.sample_id}' ({part.source}): no image in column '{column}'"
                )
            view = part.dataset.data.column(value.column) if isinstance(value, ImageRef) else None
            image_source(value, view, what=what).check()  # undecodable = missing: a skipped row, now
        self._check_gold(sample)
        if sample.sample_id in seen_ids:
            raise MalformedSampleError(
                f"{self.name}: sample id '{sample.sample_id}' appears twice ({seen_ids[sample.sample_id]} "
                f"and {part.source}); ids must be unique for resumable records"
            )
        return sample

    def _check_gold(self, sample: EvalSample) -> None:
        """Grade an empty response once: `grade` raises on a gold it could never match (non-numeric float...)."""
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
        """The row's id column as a string (the first non-empty of ``"a|b"``), else ``split-index``."""
        for column in (self.id_column or "").split("|"):
            if column and row.get(column) not in (None, ""):
                return str(row[column])
        return f"{split}-{index}"

    @staticmethod
    def column_tags(row: Mapping[str, Any], *columns: str) -> dict[str, str]:
        """``{column: value}`` for each of ``columns`` the row fills: breakdown tags of the official metric."""
        return {column: str(row[column]) for column in columns if row.get(column) not in (None, "")}

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
        fields.setdefault("rule", self.grading_rule)
        return EvalSample(
            benchmark=self.name,
            sample_id=fields.pop("sample_id", None) or self.sample_id(row, split, index),
            images=list(images),
            image_columns=list(columns),
            **fields,
        )

    def multiple_choice_sample(
        self, row: Mapping[str, Any], split: str, index: int, question: str, options: list[str], **fields: Any
    ) -> EvalSample:
        """A multiple-choice sample: the gold letter from ``answer`` (checked against the option count), the
        options listed under ``question`` (``A. ...``); ``fields`` as for :meth:`make_sample`."""
        gold = self.letter_gold(row, split, index, "answer", len(options))
        return self.make_sample(
            row,
            split,
            index,
            question=f"{question}\nOptions:\n{format_options(options)}",
            gold=gold,
            answer_type="multiple_choice",
            options=options,
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


def parse_option_list(value: Any) -> list[str] | None:
    """Options given as a list, a stringified Python list (MMMU) or an ``"A. x; B. y"`` string (WeMath);
    ``None`` when the value is none of these (`roma.grading.normalize_options` reads them all)."""
    try:
        return normalize_options(value)
    except MalformedOptionsError:
        return None


def parse_tag_list(value: Any) -> list[str]:
    """Category labels given as a list, a stringified list (VLMEvalKit) or one plain string; ``[]`` if none."""
    if isinstance(value, str) and value.strip() and not value.strip().startswith("["):
        return [value.strip()]
    return [label for label in parse_option_list(value) or [] if label]


def parse_float(value: Any) -> float | None:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


# --------------------------------------------------------------------------------------------- the adapters
