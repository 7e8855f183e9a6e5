"""The bundled synthetic task as a benchmark: generated in memory, nothing to download."""

from __future__ import annotations

from typing import ClassVar

from roma.data.synthetic import DEFAULT_NUM_SAMPLES, make_synthetic_dataset
from roma.evaluation.benchmarks.base import Benchmark, BenchmarkData
from roma.evaluation.benchmarks.registry import register_benchmark
from roma.evaluation.benchmarks.sources import LoadedSplit

__all__ = ["Synthetic", "SyntheticValidation"]


@register_benchmark
class Synthetic(Benchmark):
    """The bundled synthetic task (`roma.data.synthetic`), generated in memory: no data to download."""

    name = "synthetic"
    description = "the bundled synthetic task, test split (counting, comparing, ... on rendered scenes)"
    hub_id = ""
    splits = ("test",)
    required_columns = ("id", "question", "image", "answer", "answer_type")
    num_samples: ClassVar[int] = DEFAULT_NUM_SAMPLES["test"]  # the generator's test split size
    seed: ClassVar[int] = 0
    # Which split of the generator this benchmark scores (the test split; model selection uses validation).
    synthetic_split: ClassVar[str] = "test"
    grading_rule = "synthetic"

    def load(self, max_samples: int | None = None) -> BenchmarkData:
        # Generate only what is evaluated: the task is rendered on the fly.
        self._count = self.num_samples if max_samples is None else min(max_samples, self.num_samples)
        return super().load(max_samples)

    def load_splits(self):
        count = getattr(self, "_count", self.num_samples)
        split = self.synthetic_split
        dataset = make_synthetic_dataset(split, count, seed=self.seed)
        return {split: LoadedSplit(split, dataset, f"synthetic {split} split (seed {self.seed})", [])}

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
    num_samples: ClassVar[int] = DEFAULT_NUM_SAMPLES["validation"]
    synthetic_split: ClassVar[str] = "validation"
