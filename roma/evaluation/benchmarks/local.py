"""Your own data as a benchmark: ``roma eval --benchmarks path/to/data.jsonl`` (or .parquet / .csv / .json, a
``save_to_disk`` folder, an image folder), read by the same loader and column flags as training
(`roma.data.loading.read_dataset`; ``--question_column``, ``--image_column``, ``--answer_column``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from roma._lists import comma_list
from roma.evaluation.benchmarks.base import Benchmark, EvalSample
from roma.evaluation.benchmarks.sources import LoadedSplit
from roma.evaluation.errors import BenchmarkLoadError

__all__ = ["LocalDataset", "is_local_dataset", "local_dataset_name"]

DATA_SUFFIXES = (".jsonl", ".json", ".parquet", ".csv", ".tsv")


def is_local_dataset(name: str) -> bool:
    """A ``--benchmarks`` entry naming a data file or folder rather than a registered benchmark."""
    path = Path(name).expanduser()
    return path.exists() or path.suffix.lower() in DATA_SUFFIXES


def local_dataset_name(path: str) -> str:
    """The benchmark name of a local dataset in records and reports: its file name without the suffix, or
    its folder's name."""
    return Path(path).expanduser().name.removesuffix(Path(path).suffix) or str(path)


class LocalDataset(Benchmark):
    """A local dataset with a question, an image and an answer column; named after the file or folder."""

    description = "a local dataset (--benchmarks PATH)"

    def __init__(
        self,
        path: str,
        *,
        question_column: str = "question",
        image_column: str = "image",
        answer_column: str = "answer",
        split: str = "train",
    ):
        super().__init__(splits=(split,))
        self.path = str(path)
        self.name = local_dataset_name(self.path)
        self.question_column, self.answer_column = question_column, answer_column
        self.image_columns = tuple(comma_list(image_column))
        self.id_column = "id"

    def load_splits(self) -> dict[str, LoadedSplit]:
        from roma.data.loading import read_dataset

        (split,) = self.splits
        dataset, base_dir = read_dataset(self.path, split, answer_column=self.answer_column)
        missing = [
            f"{column!r} (set {flag})"
            for flag, columns in (
                ("--question_column", [self.question_column]),
                ("--image_column", list(self.image_columns)),
                ("--answer_column", [self.answer_column]),
            )
            for column in columns
            if column not in dataset.column_names
        ]
        if missing:
            raise BenchmarkLoadError(
                f"{self.path} has no column {'; '.join(missing)}. Available columns: {', '.join(dataset.column_names)}."
            )
        return {split: LoadedSplit(split, dataset, self.path, [base_dir] if base_dir else [Path.cwd()])}

    def to_sample(self, row: dict[str, Any], split: str, index: int) -> EvalSample:
        question = row[self.question_column]
        if isinstance(question, list):  # a TRL conversational prompt: its user text
            question = "\n".join(
                part.get("text") or ""
                for message in question
                if message.get("role") == "user"
                for part in (
                    message["content"]
                    if isinstance(message["content"], list)
                    else [{"text": message["content"]}]
                )
            ).strip()
        if question in (None, "") or row[self.answer_column] in (None, ""):
            empty = self.question_column if question in (None, "") else self.answer_column
            raise self.error(row, split, index, empty, "is empty")
        return self.make_sample(row, split, index, question=str(question), gold=str(row[self.answer_column]))
