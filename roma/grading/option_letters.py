"""Which option of a multiple-choice question a gold answer or a response names: its option text, a letter it
spells, or the one option it is numerically (else math-verify) equivalent to. `roma.grading.grade` compares the
two letters for ``answer_type="multiple_choice"``.
"""

from __future__ import annotations

import re

from roma.grading.extraction import clean_answer, looks_like_words, normalize_text, parse_option_letter
from roma.grading.math_equivalence import math_equivalent
from roma.grading.numbers import numbers_equal, parse_number

__all__ = ["gold_option_letter", "predicted_option_letter"]

_LOWERCASE_LETTER_RE = re.compile(r"^[(\[]?[a-z][)\]]?\.?$")


def gold_option_letter(gold: str, options: list[str]) -> tuple[str | None, str]:
    """The gold's option letter: the option whose text it is (MathVista), else the letter it spells."""
    index = _exact_option_index(gold, options)
    if index is not None:
        return chr(ord("A") + index), f"option text {gold!r} = "
    letter = parse_option_letter(gold)
    if letter is not None:
        return letter, ""
    if options:
        index, _ = _equivalent_option_index(gold, options)
        if index is not None:
            return chr(ord("A") + index), f"{gold!r} = option "
    return None, ""


def predicted_option_letter(predicted: str, options: list[str]) -> tuple[str | None, str]:
    """The option a prediction names: its exact option text, else a spelled letter, else an equivalent text."""
    index = _exact_option_index(predicted, options)
    if index is not None:
        return chr(ord("A") + index), "option text = "
    letter = parse_option_letter(predicted)
    if letter is None and _LOWERCASE_LETTER_RE.match(predicted):
        letter = predicted.strip("()[].").upper()  # "\boxed{b}" where a letter is expected
    if letter is not None:
        return letter, "letter "
    if options:
        index, how = _equivalent_option_index(predicted, options)
        if index is not None:
            return chr(ord("A") + index), f"{how} option "
    return None, ""


def _exact_option_index(text: str, options: list[str]) -> int | None:
    key = normalize_text(text, remove_spaces=True)
    matches = [index for index, option in enumerate(options) if normalize_text(option, True) == key]
    return matches[0] if len(matches) == 1 else None


def _equivalent_option_index(text: str, options: list[str]) -> tuple[int | None, str]:
    """The single option numerically (else math-verify) equivalent to ``text``; ambiguity counts as none."""
    value = parse_number(text)
    if value is not None:
        numeric = [
            index
            for index, option in enumerate(options)
            if (option_value := parse_number(clean_answer(option))) is not None
            and numbers_equal(value, option_value)[0]
        ]
        if len(numeric) == 1:
            return numeric[0], f"{text!r} numerically equal to"
        if numeric:
            return None, ""
    if looks_like_words(text):
        return None, ""
    symbolic = [
        index
        for index, option in enumerate(options)
        if not looks_like_words(clean_answer(option)) and math_equivalent(clean_answer(option), text)[0]
    ]
    if len(symbolic) == 1:
        return symbolic[0], f"{text!r} math-verify equivalent to"
    return None, ""
