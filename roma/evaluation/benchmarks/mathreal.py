"""MathReal (arXiv 2508.06009): K-12 maths problems photographed with phones, the question inside the photo.

The release (github.com/junfeng0288/MathReal; hub ``junfeng0288/MathReal``) is ``testmini`` (480 of the 2,000
questions): ``json/testmini.json``, a list of rows, and the photos in ``img/real/`` (``ImgReal`` =
``"real/0001.jpg"``, relative to ``img/``); 175 rows also have a clean rendition of the same question
(``ImgClean`` = ``"clean/0004.png"``). A row: ``idx``, ``QuestionEN`` / ``QuestionCN``, ``AnswerEN`` /
``AnswerCN``, ``QuestionType`` (``MultipleChoice``, ``FillInTheBlank``, ``ConstructedResponse``), ``Category``
(Plane Geometry, Solid Geometry, Logical Reasoning, Function Graphs, Statistical Charts), ``Difficulty``,
``EducationalStage``, and the photo's real-world degradations, each subcategory rated 0-3 (rotation named):
``ImageQualityDegradation`` (blur, underexposure/overexposure, shadow coverage, glare),
``ImagePerspectiveVariation`` (rotation, in-plane tilt, non-planar capture, background distortion) and
``ContentInterference`` (handwritten questions, reverse side content, question and figure marking, handwritten
answers and working).

The paper's main setting is vision only: the model sees the photo and an instruction, not the question text.
Its scorer is an LLM judge; roma grades by rule (the ``mathreal`` rule, ``answer_type="multi_part"``; see
``docs/grading.md`` for the differences). Two benchmarks are registered:

- ``mathreal``: every row, the real photo;
- ``mathreal_clean``: the rows with a clean rendition, the clean image. Its clean accuracy against the real
  photos of the same questions (``clean_rendition: yes`` under ``mathreal``) is the real-photo drop that
  ``roma compare`` puts next to the synthetic-corruption drops of the same clean images.
"""

from __future__ import annotations

from typing import Any

from roma.evaluation.benchmarks.base import Benchmark
from roma.evaluation.benchmarks.registry import register_benchmark
from roma.evaluation.benchmarks.sources import LoadedSplit
from roma.grading import options_from_question, parse_letter_set

__all__ = ["IMAGE_QUALITY", "PROMPT", "MathReal", "MathRealClean", "degradation_tags"]

# The paper's main setting: the question is read from the photo. roma's prompt adds the \boxed{} instruction.
PROMPT = (
    "Solve the maths problem in the photo. If it has several blanks or sub-questions, answer each of them, "
    "in order, separated by semicolons."
)
IMAGE_QUALITY = "ImageQualityDegradation"
_ROW_TAGS = {
    "category": "Category",
    "question_type": "QuestionType",
    "difficulty": "Difficulty",
    "stage": "EducationalStage",
}
_DEGRADATION_GROUPS = {
    "image_quality": IMAGE_QUALITY,
    "perspective": "ImagePerspectiveVariation",
    "interference": "ContentInterference",
}


def _level(value: Any) -> int:
    """A subcategory's rating as a level: its number, or 0 / 1 for rotation (``Upright`` is none)."""
    if isinstance(value, (int, float)):
        return int(value)
    return 0 if str(value or "").strip().lower() in ("", "upright", "0", "none") else 1


def degradation_tags(row: dict[str, Any]) -> dict[str, Any]:
    """The photo's breakdown tags: per degradation type, the subcategories present (level >= 1; ``none``
    when there are none), and ``image_quality_level``, the highest image-quality rating (0 = a sharp,
    evenly lit photo; 3 = severe)."""
    tags: dict[str, Any] = {}
    for tag, column in _DEGRADATION_GROUPS.items():
        ratings = row.get(column)
        if not isinstance(ratings, dict):
            continue
        present = [name for name, value in ratings.items() if _level(value) >= 1]
        tags[tag] = present or ["none"]
        if column == IMAGE_QUALITY:
            tags["image_quality_level"] = str(max((_level(v) for v in ratings.values()), default=0))
    return tags


@register_benchmark
class MathReal(Benchmark):
    name = "mathreal"
    aliases = ("math_real",)
    description = (
        "MathReal testmini (480): real phone photos of K-12 maths problems; accuracy per photo degradation"
    )
    hub_id = "junfeng0288/MathReal"
    splits = ("testmini",)
    id_column = "idx"
    required_columns = ("idx", "ImgReal", "QuestionEN", "AnswerEN", "QuestionType")
    image_columns = ("ImgReal",)
    grading_rule = "mathreal"
    # Whether the image is the real photo, so its degradation ratings describe it.
    photo_tags = True

    def load_splits(self) -> dict[str, LoadedSplit]:
        splits = super().load_splits()
        root = self.local_dir()
        if root is not None:  # the GitHub release names photos relative to its img/ folder
            for part in splits.values():
                part.base_dirs.extend(d for d in (root / "img",) if d not in part.base_dirs)
        return splits

    def to_sample(self, row, split, index):
        golds = [str(row.get(c) or "").strip() for c in ("AnswerEN", "AnswerCN")]
        golds = list(dict.fromkeys(g for g in golds if g))  # either language's gold is accepted
        if not golds:
            raise self.error(row, split, index, "AnswerEN", "is empty (and so is AnswerCN)")
        question_type = str(row.get("QuestionType") or "").strip()
        answer_type, options = "multi_part", None
        if question_type == "MultipleChoice":
            # Published as "C", "A. 1 meter" (the letter and its option) or "ABD" (several correct options).
            letters = parse_letter_set(golds[0])
            if not letters:
                raise self.error(row, split, index, "AnswerEN", "names no option letter")
            golds = [", ".join(sorted(letters))]
            answer_type = "multiple_choice" if len(letters) == 1 else "multi_letter"
            options = options_from_question(str(row.get("QuestionEN") or "")) or None
            if options and max(ord(letter) - ord("A") for letter in letters) >= len(options):
                options = None  # the options were misread from the question: grade the letters alone
        # The paper's breakdowns: knowledge category (its headline table), question type, difficulty, stage.
        tags = {
            tag: str(row[column]).strip()
            for tag, column in _ROW_TAGS.items()
            if str(row.get(column) or "").strip()
        }
        if self.photo_tags:
            tags |= degradation_tags(row)
            tags["clean_rendition"] = "yes" if row.get("ImgClean") not in (None, "") else "no"
        return self.make_sample(
            row,
            split,
            index,
            question=PROMPT,
            gold=golds if len(golds) > 1 else golds[0],
            answer_type=answer_type,
            options=options,
            tags=tags,
        )


@register_benchmark
class MathRealClean(MathReal):
    name = "mathreal_clean"
    aliases = ()
    description = "MathReal testmini, the 175 questions with a clean rendition: the clean image, for the real-photo drop"
    image_columns = ("ImgClean",)
    photo_tags = False

    def keep_row(self, row: dict[str, Any]) -> bool:
        return row.get("ImgClean") not in (None, "")
