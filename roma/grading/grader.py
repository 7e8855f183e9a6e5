"""Rule-based grading of one response against its gold answer, per benchmark answer type.

Cheap comparisons (letters, numbers, normalised text) run first; math-verify is called only when both
sides are symbolic, so grading a thousand letter or numeric answers takes milliseconds. The rules follow
the benchmarks' own scoring (``docs/grading.md``), including the two cases off-the-shelf graders
get wrong: ``\\boxed{B. 8/11}`` against gold ``B``, and MathVista's precision rounding.
``grade(..., rule="<benchmark>")`` applies a benchmark's own number comparison (``roma.grading.rules``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from roma.grading.extraction import (
    MAX_ANSWER_CHARS,
    Extraction,
    clean_answer,
    extract_answer,
    last_line,
    looks_like_words,
    normalize_text,
    parse_letter_set,
    parse_option_letter,
)
from roma.grading.math_equivalence import math_equivalent, math_value
from roma.grading.multipart import part_values, response_parts, split_parts
from roma.grading.numbers import numbers_equal, parse_number
from roma.grading.option_letters import gold_option_letter, predicted_option_letter
from roma.grading.options import normalize_options, options_from_question
from roma.grading.rules import GradingRule, get_grading_rule

__all__ = [
    "ANSWER_TYPES",
    "GRADE_ARGUMENTS",
    "GRADE_COLUMNS",
    "Grade",
    "grade",
    "grade_arguments",
    "normalize_answer_type",
]

# The one list of `grade`'s keyword arguments a dataset row or a benchmark sample carries. A training dataset's
# columns of these names (all but ``rule``, a benchmark's) reach the accuracy reward and the check of each gold
# answer at load time; `EvalSample.grade_kwargs` passes a benchmark sample's.
GRADE_ARGUMENTS = (
    "answer_type",
    "options",
    "precision",
    "tolerance",
    "relative_tolerance",
    "question",
    "rule",
)
GRADE_COLUMNS = tuple(name for name in GRADE_ARGUMENTS if name != "rule")

ANSWER_TYPES = (
    "auto",
    "multiple_choice",
    "multi_letter",
    "integer",
    "float",
    "list",
    "yes_no",
    "text",
    "math",
    "multi_part",
)
"""The answer types ``grade`` understands (benchmark spellings are mapped by ``normalize_answer_type``)."""

_ANSWER_TYPE_ALIASES = {
    "multi_choice": "multiple_choice",
    "multichoice": "multiple_choice",
    "choice": "multiple_choice",
    "letter": "multiple_choice",
    "mc": "multiple_choice",
    "multi_letters": "multi_letter",
    "multiple_letters": "multi_letter",
    "letters": "multi_letter",
    "int": "integer",
    "number": "float",
    "numeric": "float",
    "free_form": "auto",
    "open": "auto",
    "yesno": "yes_no",
    "yes/no": "yes_no",
    "boolean": "yes_no",
    "string": "text",
}

_YES = frozenset({"yes", "y", "true", "1", "correct"})
_NO = frozenset({"no", "n", "false", "0", "incorrect"})
_YES_NO_WORD_RE = re.compile(r"\b(yes|no)\b", re.IGNORECASE)
_LETTER_LIST_GOLD_RE = re.compile(r"^[A-Z](?:\s*[,;]\s*[A-Z])+$")
_NAMED_NUMBER_RE = re.compile(
    r"^(?:option|choice|statement|answer|number|no\.)\s*\(?(\d+)\)?$", re.IGNORECASE
)


@dataclass(frozen=True)
class Grade:
    """The verdict on one response: whether it is correct, what was extracted, the gold, and why."""

    correct: bool
    extracted: str | None
    gold: str
    reason: str


@dataclass(frozen=True)
class _NumberRule:
    """How two numbers are compared: ``grade``'s explicit arguments, completed by a benchmark rule."""

    precision: int | None = None
    tolerance: float | None = None
    relative_tolerance: float | None = None
    percent_as_fraction: bool = False

    @property
    def exact(self) -> bool:
        return self.precision is None and self.tolerance is None and self.relative_tolerance is None

    def completed_by(self, rule: GradingRule | None) -> _NumberRule:
        """These settings, with the ones left unset taken from ``rule``."""
        if rule is None:
            return self
        return _NumberRule(
            self.precision if self.precision is not None else rule.precision,
            self.tolerance if self.tolerance is not None else rule.tolerance,
            self.relative_tolerance if self.relative_tolerance is not None else rule.relative_tolerance,
            rule.percent_as_fraction,
        )


def grade(
    response: str,
    gold: Any,
    *,
    answer_type: str = "auto",
    options: Sequence[str] | str | None = None,
    precision: float | None = None,
    tolerance: float | None = None,
    relative_tolerance: float | None = None,
    question: str | None = None,
    rule: str | GradingRule | None = None,
) -> Grade:
    """Grade ``response`` against ``gold``.

    Args:
        response: the model's full response text; its answer is found by ``extract_answer``.
        gold: the gold answer (a str, a number, or a list of acceptable answers, as ChartQA's ``label``).
        answer_type: one of ``ANSWER_TYPES`` or a benchmark spelling of one (``multi_choice``,
            ``free_form``, ``multiple choice``...). ``auto`` picks from the gold and the options.
        options: the option texts, in letter order (a list, a stringified list as MMMU-Pro's, or WeMath's
            ``"A. ...; B. ..."`` string). An extracted letter and an extracted option text both map to a
            letter, and so does a gold given as option text (MathVista).
        precision: decimals both numbers are rounded to (MathVista's ``precision`` column).
        tolerance: absolute tolerance for numbers (DynaMath: 0.001).
        relative_tolerance: relative tolerance for numbers (ChartQA relaxed accuracy: 0.05).
        question: the question text. When there is no ``options`` column (DynaMath, MathVerse,
            LogicVista), a multiple-choice question's options are parsed from it (``"(A) yes (B) no"``,
            ``"Choices:\\nA:2\\nB:4"``), so an answer naming an option's text is matched to its letter.
        rule: a benchmark's scoring rule (a name in ``BENCHMARK_RULES`` or a ``GradingRule``): it
            supplies the precision / tolerances the arguments leave unset, and how percentages read.

    Returns:
        ``Grade(correct, extracted, gold, reason)``. math-verify failures, timeouts and refused inputs
        (``refusal_reason``) become ``correct=False`` with the reason; only malformed arguments (an empty
        gold, an unknown answer type or rule, a non-numeric gold for a numeric type, a malformed options
        string: ``MalformedOptionsError``) raise ``ValueError``/``TypeError``.

    Time: every call is bounded on any thread. Extraction is linear in the response length; sympy only
    sees answers that ``refusal_reason`` lets through (short, shallow, no astronomically large powers).
    """
    if not isinstance(response, str):
        raise TypeError(f"grade expects the response text as a str, got {type(response).__name__}")
    golds = _gold_strings(gold)
    resolved_type = normalize_answer_type(answer_type)
    option_texts = normalize_options(options)
    question_options = [] if option_texts else options_from_question(question)
    explicit = _NumberRule(_precision_digits(precision), tolerance, relative_tolerance)
    numbers = explicit.completed_by(get_grading_rule(rule) if rule is not None else None)
    extraction = extract_answer(response)
    first: Grade | None = None
    for gold_text in golds:
        verdict = _grade_one(
            extraction, response, gold_text, resolved_type, option_texts, question_options, explicit, numbers
        )
        if verdict.correct:
            return verdict
        first = first or verdict
    assert first is not None  # golds is never empty
    if len(golds) > 1:
        return Grade(False, first.extracted, " | ".join(golds), f"no gold matched; first: {first.reason}")
    return first


def grade_arguments(values: Mapping[str, Any], names: Sequence[str] = GRADE_COLUMNS) -> dict[str, Any]:
    """The keyword arguments of `grade` in ``values`` (a dataset row, a sample's fields): its entries named in
    ``names`` that are set, ``None`` and a float NaN (how a parquet column stores "no precision for this row")
    meaning unset."""
    return {name: values[name] for name in names if name in values and not _unset(values[name])}


def _unset(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def normalize_answer_type(answer_type: str) -> str:
    """Map a benchmark's spelling (``multi_choice``, ``multiple choice``, ``free-form``) to ``ANSWER_TYPES``."""
    if not isinstance(answer_type, str):
        raise TypeError(f"answer_type must be a str, got {type(answer_type).__name__}")
    key = re.sub(r"[\s-]+", "_", answer_type.strip().lower())
    key = _ANSWER_TYPE_ALIASES.get(key, key)
    if key not in ANSWER_TYPES:
        raise ValueError(f"unknown answer_type {answer_type!r}; known: {', '.join(ANSWER_TYPES)}")
    return key


def _gold_strings(gold: Any) -> list[str]:
    values = list(gold) if isinstance(gold, list | tuple) else [gold]
    if not values:
        raise ValueError("gold answer is an empty list")
    strings = []
    for value in values:
        if value is None:
            raise ValueError("gold answer is None")
        if isinstance(value, bool):
            value = "yes" if value else "no"
        if not isinstance(value, str | int | float):
            raise TypeError(f"gold answer must be a str or a number, got {type(value).__name__}: {value!r}")
        text = str(value).strip()
        if not text:
            raise ValueError("gold answer is an empty string")
        strings.append(text)
    return strings


def _precision_digits(precision: float | None) -> int | None:
    if precision is None:
        return None
    if precision != precision or precision < 0 or precision != int(precision):  # NaN, negative, 1.5
        raise ValueError(f"precision must be a non-negative whole number of decimals, got {precision!r}")
    return int(precision)


def _grade_one(
    extraction: Extraction,
    response: str,
    gold: str,
    answer_type: str,
    options: list[str],
    question_options: list[str],
    explicit: _NumberRule,
    numbers: _NumberRule,
) -> Grade:
    if answer_type == "auto":
        answer_type = _resolve_auto(gold, options, explicit)
    if answer_type == "yes_no":
        return _grade_yes_no(extraction, response, gold)
    if answer_type == "multi_letter":
        return _grade_multi_letter(extraction, response, gold)
    if answer_type == "multi_part":
        return _grade_multi_part(response, gold, numbers)
    if answer_type == "multiple_choice":
        return _grade_multiple_choice(extraction.answer, gold, options or _usable(question_options, gold))
    if answer_type in ("integer", "float"):
        _numeric_gold(gold, answer_type)  # a gold no answer could match raises even for an empty response
    if extraction.answer is None:
        return Grade(False, None, gold, "no answer found")
    predicted = extraction.answer
    if answer_type in ("integer", "float"):
        return _grade_number(predicted, gold, answer_type, numbers)
    if answer_type == "list":
        return _grade_list(predicted, gold, numbers)
    if answer_type == "text":
        return _grade_text(predicted, gold, replace(numbers, precision=None))
    return _grade_math(predicted, gold, numbers)


def _usable(question_options: list[str], gold: str) -> list[str]:
    """Options parsed from the question, unless the gold letter lies beyond them (a layout misread)."""
    letter = parse_option_letter(gold)
    if letter is not None and ord(letter) - ord("A") >= len(question_options):
        return []
    return question_options


def _resolve_auto(gold: str, options: list[str], explicit: _NumberRule) -> str:
    precision, tolerance, relative_tolerance = (
        explicit.precision,
        explicit.tolerance,
        explicit.relative_tolerance,
    )
    if options or (parse_option_letter(gold) is not None and len(clean_answer(gold)) <= 4):
        return "multiple_choice"
    if _LETTER_LIST_GOLD_RE.match(gold):
        return "multi_letter"
    if gold.lower().rstrip(".") in ("yes", "no"):
        return "yes_no"
    if parse_number(clean_answer(gold)) is not None:
        return "float"
    if precision is not None or tolerance is not None or relative_tolerance is not None:
        return "text"  # ChartQA: a non-numeric label is compared as text
    if looks_like_words(gold):
        return "text"
    return "math"


# --- multiple choice -------------------------------------------------------------------------------------


def _grade_multiple_choice(predicted: str | None, gold: str, options: list[str]) -> Grade:
    gold_letter, gold_how = gold_option_letter(gold, options)
    if gold_letter is not None and options and ord(gold_letter) - ord("A") >= len(options):
        raise ValueError(f"gold letter {gold_letter} is not one of the {len(options)} options {options}")
    if predicted is None:
        return Grade(False, None, gold, "no answer found")
    if gold_letter is None:
        # A gold that is neither a letter nor one of the options: compare the predicted option's text.
        letter = predicted_option_letter(predicted, options)[0]
        text = (
            options[ord(letter) - ord("A")] if letter and ord(letter) - ord("A") < len(options) else predicted
        )
        verdict = _grade_math(text, gold, _NumberRule())
        return Grade(verdict.correct, predicted, gold, f"gold is not an option letter; {verdict.reason}")
    predicted_letter, predicted_how = predicted_option_letter(predicted, options)
    if predicted_letter is None:
        return Grade(False, predicted, gold, f"no option letter in {predicted!r}")
    if options and ord(predicted_letter) - ord("A") >= len(options):
        return Grade(
            False, predicted, gold, f"letter {predicted_letter} is not one of the {len(options)} options"
        )
    correct = predicted_letter == gold_letter
    relation = "==" if correct else "!="
    return Grade(
        correct, predicted, gold, f"{predicted_how}{predicted_letter} {relation} gold {gold_how}{gold_letter}"
    )


# --- several parts (MathReal) ----------------------------------------------------------------------------


def _grade_multi_part(response: str, gold: str, numbers: _NumberRule) -> Grade:
    """Strict credit: the response gives as many sub-answers as the gold, each equal to the gold's in order
    (as a whole, or by the value a sentence or equation states: ``137 m`` for "the height is 137 m")."""
    gold_parts = split_parts(gold)
    if not gold_parts:
        raise ValueError(f"answer_type 'multi_part' needs a gold with at least one sub-answer, got {gold!r}")
    parts = response_parts(response)
    if not parts:
        return Grade(False, None, gold, "no answer found")
    predicted = "; ".join(parts)
    if len(parts) != len(gold_parts):
        return Grade(False, predicted, gold, f"{len(parts)} sub-answers != gold {len(gold_parts)}")
    for position, (part, gold_part) in enumerate(zip(parts, gold_parts), start=1):
        if not any(
            _grade_math(clean_answer(value), gold_value, numbers).correct
            for gold_value in part_values(gold_part)
            for value in part_values(part)
        ):
            return Grade(False, predicted, gold, f"sub-answer {position}: {part!r} != gold {gold_part!r}")
    return Grade(True, predicted, gold, f"all {len(gold_parts)} sub-answers equal, in order")


# --- multiple letters, yes/no ----------------------------------------------------------------------------


def _grade_multi_letter(extraction: Extraction, response: str, gold: str) -> Grade:
    gold_letters = parse_letter_set(gold)
    if gold_letters is None:
        raise ValueError(f"answer_type 'multi_letter' needs a gold made of option letters, got {gold!r}")
    predicted = extraction.answer
    letters = parse_letter_set(predicted) if predicted is not None else None
    if letters is None and extraction.method in ("last_number", "none"):
        # A bare "A, C" last line is not an option_letter extraction (that finds one letter): read it here.
        final_line = last_line(response)
        letters = parse_letter_set(final_line) if len(final_line) <= MAX_ANSWER_CHARS else None
        predicted = clean_answer(final_line) if letters else predicted
    if letters is None:
        reason = "no answer found" if predicted is None else f"no option letters in {predicted!r}"
        return Grade(False, predicted, gold, reason)
    correct = letters == gold_letters
    relation = "==" if correct else "!="
    return Grade(
        correct, predicted, gold, f"letters {_spell(letters)} {relation} gold {_spell(gold_letters)}"
    )


def _grade_yes_no(extraction: Extraction, response: str, gold: str) -> Grade:
    gold_word = _yes_no(gold)
    if gold_word is None:
        raise ValueError(f"answer_type 'yes_no' needs a yes/no (or 1/0, true/false) gold, got {gold!r}")
    predicted = extraction.answer if extraction.method in ("boxed", "answer_line") else None
    word = _yes_no(predicted) if predicted is not None else None
    if word is None:
        # HallusionBench answers are often bare sentences: the leading yes/no, else the last one said.
        words = _YES_NO_WORD_RE.findall(response)
        leading = _YES_NO_WORD_RE.match(response.strip().lstrip("*"))
        found = leading.group(1) if leading else (words[-1] if words else None)
        if found is None:
            return Grade(False, predicted, gold, "no yes/no answer found")
        word = found.lower()
        predicted = predicted or found
    correct = word == gold_word
    relation = "==" if correct else "!="
    return Grade(correct, predicted, gold, f"{word} {relation} gold {gold_word}")


def _yes_no(text: str) -> str | None:
    normalized = normalize_text(text)
    first_word = normalized.split(maxsplit=1)[0].strip(".,!:;") if normalized else ""
    if first_word in _YES:
        return "yes"
    if first_word in _NO:
        return "no"
    return None


# --- numbers, lists, text, math --------------------------------------------------------------------------


def _numeric_gold(gold: str, answer_type: str) -> float:
    value = parse_number(clean_answer(gold))
    if value is None:
        value = math_value(clean_answer(gold))  # a closed form such as \frac{\sqrt{3}}{2}
    if value is None:
        raise ValueError(f"answer_type {answer_type!r} needs a numeric gold, got {gold!r}")
    return value


def _grade_number(predicted: str, gold: str, answer_type: str, numbers: _NumberRule) -> Grade:
    gold_value = _numeric_gold(gold, answer_type)
    predicted_value = parse_number(predicted)
    if predicted_value is None and answer_type == "integer" and (named := _NAMED_NUMBER_RE.match(predicted)):
        predicted_value = float(named.group(1))  # "Option 3": options numbered 1-5 (LogicVista's v1_20)
    if predicted_value is None and answer_type == "float" and numbers.exact:
        # No rounding or tolerance asked for: exact symbolic equality (\frac{1}{\sqrt{2}} vs 0.5\sqrt{2}).
        return _grade_math(predicted, gold, numbers)
    if predicted_value is None:
        predicted_value = math_value(predicted)
    if predicted_value is None:
        return Grade(False, predicted, gold, f"{predicted!r} is not a number")
    if answer_type == "integer":
        # MathVista: str(int(float(x))) on both sides.
        predicted_int, gold_int = str(int(predicted_value)), str(int(gold_value))
        correct = predicted_int == gold_int
        relation = "==" if correct else "!="
        return Grade(correct, predicted, gold, f"integer {predicted_int} {relation} gold {gold_int}")
    return _number_verdict(predicted, gold, predicted_value, gold_value, numbers)


def _number_verdict(
    predicted: str, gold: str, predicted_value: float, gold_value: float, numbers: _NumberRule
) -> Grade:
    """Compare two numbers under ``numbers``; under ChartQA's rule a percentage also reads as a fraction."""
    first: Grade | None = None
    for predicted_reading in _readings(predicted, predicted_value, numbers):
        for gold_reading in _readings(gold, gold_value, numbers):
            correct, rule = numbers_equal(
                predicted_reading,
                gold_reading,
                precision=numbers.precision,
                tolerance=numbers.tolerance,
                relative_tolerance=numbers.relative_tolerance,
            )
            relation = "==" if correct else "!="
            verdict = Grade(
                correct, predicted, gold, f"{predicted_reading:g} {relation} gold {gold_reading:g} ({rule})"
            )
            if correct:
                return verdict
            first = first or verdict
    assert first is not None
    return first


def _readings(text: str, value: float, numbers: _NumberRule) -> list[float]:
    """``57%`` is 57, and also 0.57 when the rule reads percentages as fractions (ChartQA)."""
    if numbers.percent_as_fraction and clean_answer(text).endswith("%"):
        return [value, value / 100]
    return [value]


def _grade_list(predicted: str, gold: str, numbers: _NumberRule) -> Grade:
    predicted_items, gold_items = _list_items(predicted), _list_items(gold)
    if len(predicted_items) != len(gold_items):
        return Grade(False, predicted, gold, f"{len(predicted_items)} items != gold {len(gold_items)} items")
    for position, (item, gold_item) in enumerate(zip(predicted_items, gold_items)):
        item_value, gold_value = parse_number(item), parse_number(gold_item)
        if item_value is not None and gold_value is not None:
            same = _number_verdict(item, gold_item, item_value, gold_value, numbers).correct
        else:
            same = normalize_text(item, True) == normalize_text(gold_item, True)
        if not same:
            return Grade(False, predicted, gold, f"item {position + 1}: {item!r} != gold {gold_item!r}")
    return Grade(True, predicted, gold, f"all {len(gold_items)} items equal, in order")


def _list_items(text: str) -> list[str]:
    stripped = clean_answer(text).strip().strip("[]()").strip()
    return [clean_answer(item) for item in stripped.split(",")] if stripped else []


def _grade_text(predicted: str, gold: str, numbers: _NumberRule) -> Grade:
    predicted_value, gold_value = parse_number(predicted), parse_number(clean_answer(gold))
    if predicted_value is not None and gold_value is not None:
        return _number_verdict(predicted, gold, predicted_value, gold_value, numbers)
    correct = normalize_text(predicted) == normalize_text(gold)
    relation = "==" if correct else "!="
    return Grade(correct, predicted, gold, f"normalised text {relation} gold")


def _grade_math(predicted: str, gold: str, numbers: _NumberRule) -> Grade:
    gold_clean = clean_answer(gold)
    if normalize_text(predicted, True) == normalize_text(gold_clean, True):
        return Grade(True, predicted, gold, "same normalised text")
    predicted_value, gold_value = parse_number(predicted), parse_number(gold_clean)
    if not numbers.exact and (predicted_value is None) != (gold_value is None):
        # Rounded comparison of a decimal with a closed form (MathVision: 0.33 vs \frac{1}{3}, 3.46 vs 2\sqrt{3}).
        predicted_value = predicted_value if predicted_value is not None else math_value(predicted)
        gold_value = gold_value if gold_value is not None else math_value(gold_clean)
    if predicted_value is not None and gold_value is not None:
        return _number_verdict(predicted, gold, predicted_value, gold_value, numbers)
    if looks_like_words(predicted) and looks_like_words(gold_clean):
        # math-verify reads words as products of symbols ("red" == "der"): words compare as text only.
        return Grade(False, predicted, gold, "normalised text != gold")
    correct, reason = math_equivalent(gold_clean, predicted)
    return Grade(correct, predicted, gold, reason)


def _spell(letters: frozenset[str]) -> str:
    return "{" + ",".join(sorted(letters)) + "}"
