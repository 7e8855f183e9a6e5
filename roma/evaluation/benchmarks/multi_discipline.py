"""Multi-discipline college-level questions with up to seven images: MMMU and MMMU-Pro."""

from __future__ import annotations

from typing import Any

from roma.evaluation.benchmarks.base import Benchmark, EvalSample, parse_option_list
from roma.evaluation.benchmarks.registry import register_benchmark
from roma.evaluation.errors import MissingImageError

__all__ = ["MMMU", "MMMUPro"]


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
        options = parse_option_list(row.get("options"))
        if not options:
            raise self.error(row, split, index, "options", "is not a (stringified) list of options")
        images, columns = self.images_of(row, split, index)
        return self.multiple_choice_sample(
            row,
            split,
            index,
            str(row["question"]).strip(),
            options,
            images=images,
            image_columns=columns,
            tags=self.column_tags(row, "subject"),  # both papers also report accuracy per subject
        )


@register_benchmark
class MMMUPro(_MMMUStyle):
    name = "mmmu_pro"
    aliases = ("mmmupro",)
    description = "MMMU-Pro standard, 10 options (1730): multi-discipline, up to 7 images"
    hub_id = "MMMU/MMMU_Pro"
    hub_config = "standard (10 options)"
    splits = ("test",)
    grading_rule = "mmmu_pro"

    def to_sample(self, row, split, index):
        sample = self.multiple_choice(row, split, index)
        # The paper reports each setting (standard 10 / standard 4 options / vision) apart: the hub config.
        sample.tags["setting"] = self.hub_config or "standard (10 options)"
        return sample


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
        alternatives = parse_option_list(answer) if answer.startswith("[") else None
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
            tags=self.column_tags(row, "subject"),
        )
