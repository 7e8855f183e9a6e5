"""Answer extraction and grading, shared by the training rewards and the benchmark evaluation.

``extract_answer`` finds the final answer in a response (last ``\\boxed{}``, then "Answer:" lines, option
letters, the last number); ``grade`` checks it against a gold answer by answer type (option letters,
letter sets, integers, floats with precision or tolerance, yes/no, text, math equivalence) and, with
``rule=``, under a benchmark's own scoring rule (``BENCHMARK_RULES``, documented in ``docs/grading.md``).
"""

from __future__ import annotations

from roma.grading.extraction import (
    EXTRACTION_METHODS,
    MAX_ANSWER_CHARS,
    Extraction,
    boxed_spans,
    clean_answer,
    extract_answer,
    find_boxed,
    parse_letter_set,
    parse_option_letter,
)
from roma.grading.grader import (
    ANSWER_TYPES,
    GRADE_ARGUMENTS,
    GRADE_COLUMNS,
    Grade,
    grade,
    grade_arguments,
    normalize_answer_type,
)
from roma.grading.math_equivalence import math_equivalent, refusal_reason
from roma.grading.numbers import parse_number
from roma.grading.options import MalformedOptionsError, normalize_options, options_from_question
from roma.grading.rules import BENCHMARK_RULES, GradingRule, get_grading_rule

__all__ = [
    "ANSWER_TYPES",
    "BENCHMARK_RULES",
    "EXTRACTION_METHODS",
    "GRADE_ARGUMENTS",
    "GRADE_COLUMNS",
    "MAX_ANSWER_CHARS",
    "Extraction",
    "Grade",
    "GradingRule",
    "MalformedOptionsError",
    "boxed_spans",
    "clean_answer",
    "extract_answer",
    "find_boxed",
    "get_grading_rule",
    "grade",
    "grade_arguments",
    "math_equivalent",
    "normalize_answer_type",
    "normalize_options",
    "options_from_question",
    "parse_letter_set",
    "parse_number",
    "parse_option_letter",
    "refusal_reason",
]
