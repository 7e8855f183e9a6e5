"""Answer extraction and grading, shared by the training rewards and the benchmark evaluation.

``extract_answer`` finds the final answer in a response (last ``\\boxed{}``, then "Answer:" lines, option
letters, the last number); ``grade`` checks it against a gold answer under a benchmark's rule (option
letters, letter sets, integers, floats with precision or tolerance, yes/no, text, math equivalence).
"""

from __future__ import annotations

from roma.grading.extraction import (
    EXTRACTION_METHODS,
    Extraction,
    boxed_spans,
    clean_answer,
    extract_answer,
    find_boxed,
    parse_letter_set,
    parse_option_letter,
)
from roma.grading.grader import ANSWER_TYPES, Grade, grade, normalize_answer_type, normalize_options
from roma.grading.math_equivalence import math_equivalent
from roma.grading.numbers import parse_number

__all__ = [
    "ANSWER_TYPES",
    "EXTRACTION_METHODS",
    "Extraction",
    "Grade",
    "boxed_spans",
    "clean_answer",
    "extract_answer",
    "find_boxed",
    "grade",
    "math_equivalent",
    "normalize_answer_type",
    "normalize_options",
    "parse_letter_set",
    "parse_number",
    "parse_option_letter",
]
