"""Perception and visual reasoning: LogicVista, MMStar, HallusionBench and ChartQA."""

from __future__ import annotations

import re

from roma.evaluation.benchmarks.base import Benchmark, parse_option_list, parse_tag_list
from roma.evaluation.benchmarks.registry import register_benchmark

__all__ = ["ChartQA", "HallusionBench", "LogicVista", "MMStar"]

# A LogicVista gold naming an option by its number (options numbered 1-5 in the image).
_NUMBERED_OPTION_RE = re.compile(r"^\d{1,2}$")


@register_benchmark
class LogicVista(Benchmark):
    name = "logicvista"
    aliases = ("logic_vista",)
    description = "LogicVista (448): logical reasoning; some questions have several correct letters"
    hub_id = "lscpku/LogicVista"
    splits = ("test",)
    # The hub names the image `image`; the GitHub release's dataset.json (an {id: row} mapping, the key read
    # as `_key`) `imagename`.
    id_column = "id|_key"
    required_columns = ("question", "answer", "image|imagename")
    image_columns = ("image", "imagename")
    grading_rule = "logicvista"

    def to_sample(self, row, split, index):
        answer = str(row.get("answer") or "").strip()
        question = str(row.get("question") or "").strip()
        if _NUMBERED_OPTION_RE.match(answer) and question:
            # The release's v1_20 ("Select from 1-5", gold "3"): the options are numbered in the image, so the
            # gold is the chosen option's number and a response must name that number.
            gold, answer_type = answer, "integer"
        else:
            letters = re.findall(r"[A-Za-z]+", answer)
            if not letters or any(len(token) != 1 for token in letters):
                raise self.error(
                    row,
                    split,
                    index,
                    "answer",
                    "is not an option letter, a list of letters or an option number",
                )
            gold, answer_type = ", ".join(sorted({t.upper() for t in letters})), "multi_letter"
        # The paper's breakdown: by reasoning skill (a question may have several).
        skills = parse_tag_list(row.get("skill"))
        return self.make_sample(
            row,
            split,
            index,
            question=question,
            gold=gold,
            answer_type=answer_type,
            tags={"skill": skills} if skills else {},
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
        # The paper's breakdown: by core capability (`category`) and its detailed axis (`l2_category`).
        tags = self.column_tags(row, "category", "l2_category")
        return self.make_sample(
            row,
            split,
            index,
            question=str(row["question"]).strip(),
            gold=gold,
            answer_type="multiple_choice",
            tags=tags,
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
    # HuggingFaceM4's layout has `query` / `label` / `human_or_machine`; lmms-eval's mirror (lmms-lab/ChartQA)
    # `question` / `answer` / `type` ("human_test" / "augmented_test"). Either is read.
    required_columns = ("query|question", "label|answer", "image")
    grading_rule = "chartqa"

    def to_sample(self, row, split, index):
        question_column = "query" if "query" in row else "question"
        label_column = "label" if "label" in row else "answer"
        label = row.get(label_column)
        if isinstance(label, str) and label.strip().startswith("["):
            label = parse_option_list(label) or label
        labels = (
            [str(v).strip() for v in label]
            if isinstance(label, (list, tuple))
            else [str(label or "").strip()]
        )
        gold: str | list[str] = [v for v in labels if v]
        if not gold:
            raise self.error(row, split, index, label_column, "is empty")
        gold = gold[0] if len(gold) == 1 else gold
        # The paper reports the human-written and the machine-generated (augmented) questions apart.
        origin = row.get("human_or_machine", row.get("type"))
        tags = {}
        if origin not in (None, ""):
            text = str(origin).lower()
            tags["source"] = "human" if text in ("0", "human", "human_test") else "augmented"
        return self.make_sample(
            row,
            split,
            index,
            question=str(row[question_column]).strip(),
            gold=gold,
            answer_type="auto",  # the rule supplies the 5 % relative tolerance and reads 57% as 0.57
            tags=tags,
        )
