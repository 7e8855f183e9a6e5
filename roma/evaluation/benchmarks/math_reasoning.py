"""Math reasoning in visual contexts: MathVista, MathVerse, MATH-Vision, We-Math and DynaMath."""

from __future__ import annotations

from typing import Any, ClassVar

from roma.data.prompts import strip_image_placeholders
from roma.evaluation.benchmarks.base import (
    LETTERS,
    Benchmark,
    parse_float,
    parse_option_list,
    parse_tag_list,
)
from roma.evaluation.benchmarks.registry import register_benchmark
from roma.evaluation.benchmarks.sources import data_files, split_matches

__all__ = ["DynaMath", "MathVerse", "MathVerseAllVersions", "MathVision", "MathVista", "WeMath"]


@register_benchmark
class MathVista(Benchmark):
    name = "mathvista"
    description = "MathVista testmini (1000): math reasoning in visual contexts"
    hub_id = "AI4Math/MathVista"
    splits = ("testmini",)
    # VLMEvalKit's MathVista_MINI.tsv has no `pid` (its id is `index`) and the image inline as base64.
    id_column = "pid|index"
    required_columns = ("pid|index", "question", "answer", "question_type", "answer_type")
    image_columns = ("decoded_image", "image")
    grading_rule = "mathvista"

    def to_sample(self, row, split, index):
        sample = self._to_sample(row, split, index)
        # The paper's breakdown: by task and by skill (a question has several skills). The hub keeps them
        # in `metadata`, VLMEvalKit's TSV in columns of their own (`skills` as a stringified list).
        metadata = row.get("metadata") if isinstance(row.get("metadata"), dict) else {}
        task = metadata.get("task") or row.get("task")
        skills = parse_tag_list(metadata.get("skills") or row.get("skills"))
        if task:
            sample.tags["task"] = str(task)
        if skills:
            sample.tags["skill"] = skills
        return sample

    def _to_sample(self, row, split, index):
        choices = row.get("choices")
        if isinstance(choices, str) and choices.strip() in ("", "nan", "None"):
            choices = None
        if choices is not None and not isinstance(choices, str) and len(choices) == 0:
            choices = None
        if choices is not None:
            parsed = parse_option_list(choices)
            if parsed is None:
                raise self.error(row, split, index, "choices", "is not a list of choices")
            choices = parsed or None
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
    grading_rule = "mathverse"
    # The problem versions evaluated; the official metric reports accuracy per version.
    problem_versions: tuple[str, ...] = ("Vision Only",)

    def keep_row(self, row):
        return row.get("problem_version") in self.problem_versions

    def to_sample(self, row, split, index):
        # `query_cot` is the official chain-of-thought prompt; Vision Only questions live in the image.
        question = str(row.get("query_cot") or row.get("question") or "").strip()
        if not question:
            question = "Answer the question shown in the image."
        answer = str(row.get("answer") or "").strip()
        if not answer:
            raise self.error(row, split, index, "answer", "is empty")
        tags = {"problem_version": str(row["problem_version"])}
        if row["question_type"] == "multi-choice":
            gold = self.letter_gold(row, split, index, "answer", None)
            return self.make_sample(
                row, split, index, question=question, gold=gold, answer_type="multiple_choice", tags=tags
            )
        return self.make_sample(
            row, split, index, question=question, gold=answer, answer_type="math", tags=tags
        )


@register_benchmark
class MathVerseAllVersions(MathVerse):
    name = "mathverse_all"
    description = "MathVerse testmini, all five problem versions (3940): accuracy per version"
    problem_versions = (
        "Text Dominant",
        "Text Lite",
        "Vision Intensive",
        "Vision Dominant",
        "Vision Only",
    )


@register_benchmark
class MathVision(Benchmark):
    name = "mathvision"
    aliases = ("math_vision", "math_v")
    description = "MATH-Vision testmini (304): competition math with figures"
    hub_id = "MathLLMs/MathVision"
    splits = ("testmini",)
    required_columns = ("id", "question", "options", "answer")
    image_columns = ("decoded_image", "image")
    grading_rule = "mathvision"

    def to_sample(self, row, split, index):
        # MATH-Vision writes ``<image1>`` into its questions; the prompt carries structured image placeholders.
        question = strip_image_placeholders(row["question"])
        options = parse_option_list(row.get("options"))
        if options is None:
            raise self.error(row, split, index, "options", "is not a list of options")
        answer = str(row.get("answer") or "").strip()
        if not answer:
            raise self.error(row, split, index, "answer", "is empty")
        # The paper reports accuracy per subject and per difficulty level (1-5).
        tags = self.column_tags(row, "subject", "level")
        if options:
            return self.multiple_choice_sample(row, split, index, question, options, tags=tags)
        return self.make_sample(
            row, split, index, question=question, gold=answer, answer_type="math", tags=tags
        )


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
    grading_rule = "wemath"

    def sample_id(self, row, split, index):
        # `ID` repeats across the 1-, 2- and 3-step variants of a problem; `key` tells them apart.
        base = super().sample_id(row, split, index)
        key = row.get("key")
        return f"{base}/{key}" if key not in (None, "") else base

    def to_sample(self, row, split, index):
        option_text = str(row.get("option") or "").strip()
        options = parse_option_list(option_text) if option_text and not option_text.startswith("[") else None
        if not options:
            raise self.error(row, split, index, "option", "has no 'A. ...; B. ...' options")
        gold = self.letter_gold(row, split, index, "answer", len(options))
        question = f"{str(row['question']).strip()}\nOptions: {option_text}"
        # `key` places the row in its problem: "1steps", or "2steps_1", "2steps_2", "2steps_multi" (3 alike).
        # The four-dimensional metric (`roma.evaluation.official_metrics`) joins a problem's rows by `ID`.
        key = str(row.get("key") or "").strip()
        tags = {"problem": str(row["ID"]), "step": key, "steps": key.partition("_")[0]} if key else {}
        return self.make_sample(
            row,
            split,
            index,
            question=question,
            gold=gold,
            answer_type="multiple_choice",
            options=options,
            tags=tags,
        )


@register_benchmark
class DynaMath(Benchmark):
    """DynaMath: each seed question in ten variants (``sample_variant1..10`` splits on the hub).

    lmms-eval's mirror holds all variants in one ``test`` split: when the local copy has no variant files
    but a ``test`` one, that split is read, the variant taken from a ``variant`` column, else from the order
    of a seed question's rows (its k-th row is variant k).
    """

    name = "dynamath"
    description = "DynaMath (501 seed questions × 10 variants): average and worst-case accuracy"
    hub_id = "DynaMath/DynaMath_Sample"
    splits = tuple(f"sample_variant{k}" for k in range(1, 11))
    required_columns = ("id", "question", "ground_truth", "answer_type")
    image_columns = ("decoded_image", "image")
    grading_rule = "dynamath"
    single_split: ClassVar[str] = "test"

    def load_splits(self):
        root = self.local_dir()
        if (
            root is not None
            and self.splits == type(self).splits
            and not any(
                split_matches(str(p.relative_to(root)), s) for p in data_files(root) for s in self.splits
            )
        ):
            self.splits = (self.single_split,)
        self._variants_seen: dict[str, int] = {}
        return super().load_splits()

    def to_sample(self, row, split, index):
        seed_id = self.sample_id(row, split, index)
        if split.startswith("sample_variant"):
            variant = split.removeprefix("sample_")
        elif row.get("variant") not in (None, ""):
            variant = f"variant{row['variant']}"
        else:
            count = self._variants_seen.get(seed_id, 0) + 1
            self._variants_seen[seed_id] = count
            variant = f"variant{count}"
        answer = str(row.get("ground_truth") or "").strip()
        if not answer:
            raise self.error(row, split, index, "ground_truth", "is empty")
        fields: dict[str, Any] = {
            "sample_id": f"{seed_id}/{variant}",
            "group_id": seed_id,
            "question": str(row["question"]).strip(),
            # The paper's breakdown: by subject and by knowledge level.
            "tags": self.column_tags(row, "subject", "knowledge_level"),
        }
        answer_type = str(row["answer_type"]).strip().lower()
        if answer_type == "multiple choice":
            gold = self.letter_gold(row, split, index, "ground_truth", None)
            return self.make_sample(row, split, index, gold=gold, answer_type="multiple_choice", **fields)
        if answer_type == "float":
            if parse_float(answer) is None:
                raise self.error(row, split, index, "ground_truth", "is not a number")
            # The rule supplies DynaMath's 0.001 absolute tolerance.
            return self.make_sample(row, split, index, gold=answer, answer_type="float", **fields)
        if answer_type != "text":
            raise self.error(
                row, split, index, "answer_type", "is not one of 'multiple choice' / 'float' / 'text'"
            )
        return self.make_sample(row, split, index, gold=answer, answer_type="text", **fields)
