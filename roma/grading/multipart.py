"""Answers in several parts (MathReal's blanks and sub-questions): split into sub-answers, each reduced to its value.

MathReal's golds are written as a teacher would: ``"6 cm²; 6 cm²; 7 cm²"``, ``"(1) a = 4; (2) Q(-4, 1)"``,
``"The height of building AB is approximately 137 meters."``. Its official scorer asks an LLM judge to split the
reference into sub-answers (at newlines, semicolons and ``(1)``/``①`` markers), to ignore explanatory text and
variable names, and to give strict credit only when every sub-answer is right. These functions do that splitting
and reduction by rule; `roma.grading.grade` with ``answer_type="multi_part"`` compares the parts in order.
"""

from __future__ import annotations

import re

from roma.grading.extraction import MAX_ANSWER_CHARS, boxed_spans, extract_answer

__all__ = ["part_values", "response_parts", "split_parts"]

# A sub-question marker opening a part: (1), （2）, ①..⑳. Only at a part's start, or after a space: f(1) is no
# marker; and not when an answer is made of circled numbers itself ("cut along lines ②③④").
_MARKER = r"(?:[(（]\d{1,2}[)）]|[\u2460-\u2473])"
_MARKER_RE = re.compile(rf"^\s*{_MARKER}(?![\u2460-\u2473]|\s*$)\s*")
_SEPARATOR_RE = re.compile(rf"[;；\n]|(?<=\s)(?={_MARKER})")
# What introduces a sentence's value: "... is 137 m", "... are: 32, 24", "x = 4", "答案是：3".
_VALUE_INTRO_RE = re.compile(r"\s(?:is|are|equals|was|were)\s+|[=:：]")
_HEDGE_RE = re.compile(r"^(?:approximately|about|around|roughly|equal to|exactly)\s+", re.IGNORECASE)
_BARE_MARKER_RE = re.compile(r"^[(（]\d{1,2}[)）]$")
_MATH_DELIMITERS_RE = re.compile(r"\$|\\[()\[\]]")
_SUPERSCRIPTS = str.maketrans({"²": "^2", "³": "^3", "−": "-", "，": ",", "（": "(", "）": ")"})


def split_parts(text: str) -> list[str]:
    """The sub-answers of ``text``, in order: split at ``;``, newlines and before each ``(1)`` / ``①`` marker;
    markers, ``$`` / ``\\( \\)`` delimiters and trailing punctuation removed; ``²`` written ``^2``; empty parts
    dropped."""
    parts = []
    for piece in _SEPARATOR_RE.split(_MATH_DELIMITERS_RE.sub(" ", text.translate(_SUPERSCRIPTS))):
        piece = _MARKER_RE.sub("", piece).strip().rstrip(".。,，").strip()
        if piece and not _BARE_MARKER_RE.match(piece):  # "(2) ① x ② y": (2) only heads its own parts
            parts.append(" ".join(piece.split()))
    return parts


def part_values(part: str) -> list[str]:
    """What a sub-answer may be compared by: the part itself, then, when it is a sentence or an equation, the
    value after its last "is" / "=" / ":" (the official judge ignores explanatory text and variable names)."""
    values = [part]
    pieces = _VALUE_INTRO_RE.split(part)
    if len(pieces) > 1:
        value = _HEDGE_RE.sub("", pieces[-1].strip()).strip()
        if value and value != part:
            values.append(value)
    return values


def response_parts(response: str) -> list[str]:
    """The sub-answers a response gives: every ``\\boxed{}`` in order (the official extraction joins them with
    ``; ``), each split by :func:`split_parts`; without a box, the answer `extract_answer` finds, split."""
    boxes = [response[start:end] for _, start, end in boxed_spans(response)]
    boxes = [box[: len(box) - 1] for box in boxes if len(box) <= MAX_ANSWER_CHARS]
    if not boxes:
        answer = extract_answer(response).answer
        boxes = [answer] if answer else []
    return [part for box in boxes for part in split_parts(box)]
