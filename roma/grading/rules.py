"""Each benchmark's own scoring rule, by name: ``grade(..., rule="mathvision")``.

A rule fills in what the benchmark's official scorer does on top of roma's extraction: how numbers are
compared (MathVision rounds to 2 decimals, DynaMath allows 0.001, ChartQA 5 % relative and reads ``57%``
as 0.57) and whether options are read from the question text. Arguments given to ``grade`` explicitly
(a row's own ``precision``, say) take precedence over the rule's. ``docs/grading.md`` has the table of
rules, official metrics and roma's deviations; the ``deviations`` field of each rule says the same.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

__all__ = ["BENCHMARK_RULES", "GradingRule", "get_grading_rule"]


@dataclass(frozen=True)
class GradingRule:
    """How one benchmark's official scorer compares an extracted answer with the gold."""

    name: str
    answer_types: tuple[str, ...]
    """The answer types the benchmark's rows are graded as (what its adapter passes to ``grade``)."""
    official_metric: str
    """The benchmark's published scorer, in one line."""
    deviations: str
    """Where roma's verdict can differ from the official scorer's, and why."""
    precision: int | None = None
    """Decimals both numbers are rounded to when the row sets none."""
    tolerance: float | None = None
    """Absolute tolerance for numbers when the row sets none."""
    relative_tolerance: float | None = None
    """Relative tolerance for numbers when the row sets none."""
    percent_as_fraction: bool = False
    """``57%`` also reads as 0.57 (ChartQA's ``_to_float``); it always reads as 57 too."""


BENCHMARK_RULES: dict[str, GradingRule] = {
    rule.name: rule
    for rule in (
        GradingRule(
            name="mathvista",
            answer_types=("multiple_choice", "integer", "float", "text", "list"),
            official_metric=(
                "GPT-4 extracts the answer; multi_choice maps it to the option text; integer: "
                "str(int(float(x))); float: rounded to the row's precision; text/list: exact string"
            ),
            deviations=(
                "rule-based extraction instead of GPT-4; an option letter, its text or an equivalent "
                "value all select the option; list items compare as numbers (1.0 == 1)"
            ),
        ),
        GradingRule(
            name="mathverse",
            answer_types=("multiple_choice", "math"),
            official_metric="GPT-4 extracts the answer, then GPT-4 judges it against the gold (0/1)",
            deviations=(
                "no LLM judge: letters compare as letters, free-form answers by math-verify equivalence "
                "(units and degree signs dropped); options are read from the question to map option text"
            ),
        ),
        GradingRule(
            name="mathvision",
            answer_types=("multiple_choice", "math"),
            official_metric=(
                "last \\boxed{} or 'answer is' phrase; letters compared; values compared after latex2sympy "
                "evaluation rounded to 2 decimals"
            ),
            deviations=(
                "symbolic answers are also accepted by math-verify equivalence (the official scorer "
                "only compares evaluated values); answers sympy cannot evaluate safely are refused"
            ),
            precision=2,
        ),
        GradingRule(
            name="dynamath",
            answer_types=("multiple_choice", "float", "text"),
            official_metric=(
                "JSON 'short answer' extraction; multiple choice by letter; float within 0.001 absolute; "
                "text by exact match; average and worst-case accuracy over the 10 variants"
            ),
            deviations=(
                "answers are found with roma's extraction, not the JSON field; text compares "
                "case-insensitively; options are read from the question to map option text"
            ),
            tolerance=0.001,
        ),
        GradingRule(
            name="wemath",
            answer_types=("multiple_choice",),
            official_metric=(
                "option letter match per sub-question, then the four-dimensional metric (IK, IG, CM, RM) "
                "over one-step and multi-step problems"
            ),
            deviations=(
                "the letter, the option text or an equivalent value selects the option; the "
                "four-dimensional aggregation belongs to the benchmark report, not to grading"
            ),
        ),
        GradingRule(
            name="logicvista",
            answer_types=("multi_letter", "integer"),
            official_metric=(
                "GPT extracts the chosen letters; correct when the set equals the gold set (a question whose "
                "options are numbered in the image, v1_20, by the chosen number)"
            ),
            deviations=(
                "rule-based extraction of the letter set (boxed, answer line, 'I choose ...'); lower-case "
                "letters accepted; options are read from the question; a numbered option is graded as its number"
            ),
        ),
        GradingRule(
            name="mmmu_pro",
            answer_types=("multiple_choice",),
            official_metric=(
                "parse_multi_choice_response: a letter or an option text in the response; a random "
                "option when none is found"
            ),
            deviations=(
                "no random guess: a response naming no option scores 0, so scores are reproducible "
                "(the official score of a non-answering model is about 10 % higher)"
            ),
        ),
        GradingRule(
            name="chartqa",
            answer_types=("auto",),
            official_metric=(
                "relaxed accuracy: numbers within 5 % relative ('57%' read as 0.57), else exact "
                "lower-cased string; best over the labels"
            ),
            deviations=(
                "a percentage also reads as its plain number (41% == 40 within 5 %), since labels use both "
                "conventions; answers are extracted from the response instead of taken whole"
            ),
            relative_tolerance=0.05,
            percent_as_fraction=True,
        ),
        GradingRule(
            name="mathreal",
            answer_types=("multiple_choice", "multi_part"),
            official_metric=(
                "LLM judge (gpt-4.1-nano): extraction of every \\boxed{} (else by the judge), then a 0-1 score "
                "over the reference's sub-answers; strict accuracy (Acc_str) counts a score of 1.0, loose "
                "accuracy (Acc) averages the partial credit; per knowledge category (PG, SG, LR, FG, SC)"
            ),
            deviations=(
                "no LLM judge: sub-answers split by rule (';', newlines, (1) and ① markers) and compared in "
                "order by roma's math equivalence, a sentence by the value after its last 'is' / '=' / ':'; a "
                "gold in English or in Chinese is accepted; units are dropped (a wrong unit is not caught); "
                "strict accuracy only (no partial credit); proofs are not credited by default"
            ),
        ),
        GradingRule(
            name="synthetic",
            answer_types=("integer", "multiple_choice"),
            official_metric="roma's own task: the digit (count) or the option letter (taller bar) must match",
            deviations="none: roma defines the task; options are read from the question",
        ),
    )
}
"""The grading rule of every benchmark roma evaluates, by benchmark name."""


def get_grading_rule(name: str | GradingRule) -> GradingRule:
    """The rule called ``name`` (a ``GradingRule`` passes through); an unknown name lists the known ones."""
    if isinstance(name, GradingRule):
        return name
    if not isinstance(name, str):
        raise TypeError(f"rule must be a benchmark name or a GradingRule, got {type(name).__name__}")
    key = name.strip().lower().replace("-", "_")
    if key in BENCHMARK_RULES:
        return BENCHMARK_RULES[key]
    close = difflib.get_close_matches(key, BENCHMARK_RULES, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"unknown grading rule {name!r}; known: {', '.join(BENCHMARK_RULES)}.{hint}")
