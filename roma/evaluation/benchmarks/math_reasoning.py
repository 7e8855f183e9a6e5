"""Math reasoning in visual contexts: MathVista, MathVerse, MATH-Vision, We-Math and DynaMath."""

from __future__ import annotations

import re
from typing import Any

from roma.data.prompts import strip_image_placeholders
from roma.evaluation.benchmarks.base import (
    LETTERS,
    Benchmark,
    parse_float,
    parse_option_list,
)
from roma.evaluation.benchmarks.registry import register_benchmark

__all__ = ["DynaMath", "MathVerse", "MathVision", "MathVista", "WeMath"]


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
            number = parse_float(answer)
            if number is None:
                raise self.error(row, split, index, "answer", "is not an integer")
            return self.make_sample(
                row, split, index, question=question, gold=str(int(number)), answer_type="integer"
            )
        if answer_type == "float":
            if parse_float(answer) is None:
                raise self.error(row, split, index, "answer", "is not a number")
            precision = parse_float(row.get("precision"))
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
        # MATH-Vision writes ``<image1>`` into its questions; the prompt carries structured image placeholders.
        question = strip_image_placeholders(row["question"])
        options = parse_option_list(row.get("options")) or []
        answer = str(row.get("answer") or "").strip()
        if not answer:
            raise self.error(row, split, index, "answer", "is empty")
        if options:
            return self.multiple_choice_sample(row, split, index, question, options)
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
            if parse_float(answer) is None:
                raise self.error(row, split, index, "ground_truth", "is not a number")
            return self.make_sample(
                row, split, index, gold=answer, answer_type="float", tolerance=0.001, **fields
            )
        if answer_type != "text":
            raise self.error(
                row, split, index, "answer_type", "is not one of 'multiple choice' / 'float' / 'text'"
            )
        return self.make_sample(row, split, index, gold=answer, answer_type="text", **fields)
