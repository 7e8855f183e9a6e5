"""Answer extraction: find the final answer in a model response.

The order follows the RL-for-MLLM literature (see ``/work/shared/BENCHMARKS.md``): the LAST complete
``\\boxed{...}`` (or ``\\fbox{...}``) with brace matching; then an ``<answer>...</answer>`` tag or an
"Answer: X" / "the answer is X" line; then a final option letter in its usual spellings; then the last
number. Everything here is regular expressions and a brace scanner: no sympy, so it is cheap enough to
run on every completion of every training step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from roma.grading.numbers import strip_unit

__all__ = [
    "EXTRACTION_METHODS",
    "Extraction",
    "boxed_spans",
    "clean_answer",
    "extract_answer",
    "find_boxed",
    "parse_letter_set",
    "parse_option_letter",
]

EXTRACTION_METHODS = ("boxed", "answer_line", "option_letter", "last_number", "none")


@dataclass(frozen=True)
class Extraction:
    """The answer found in a response and how it was found.

    ``answer`` is cleaned (no ``\\text{}``, ``$``, trailing period, degree sign or unit after a number);
    ``method`` is one of ``EXTRACTION_METHODS`` and is ``"none"`` exactly when ``answer`` is ``None``.
    """

    answer: str | None
    method: str


_BOX_START_RE = re.compile(r"\\(?:boxed|fbox)\s*\{")
# Commands whose braced argument is the visible text: unwrapped by ``clean_answer``.
_WRAPPER_COMMAND_RE = re.compile(
    r"\\(?:boxed|fbox|mbox|text|textbf|textit|textrm|textnormal|mathrm|mathbf|mathit|bf|emph)\s*\{"
)
_DEGREE_RE = re.compile(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|\\circ|\\degree|°")
_LATEX_SPACING_RE = re.compile(r"\\[!,;:]|\\(?:left|right)(?![a-zA-Z])")

_ANSWER_TAG_RE = re.compile(r"<answer>(.*?)</answer>", re.IGNORECASE | re.DOTALL)
_ANSWER_COLON_RE = re.compile(
    r"\b(?:final\s+answer|answer)\**\s*(?:is\s*)?\**\s*[:：]\**[ \t]*(?P<answer>[^\n]*)", re.IGNORECASE
)
_ANSWER_IS_RE = re.compile(
    r"\b(?:answer|option|choice)s?\**\s+(?:is|are|should\s+be|would\s+be|will\s+be)\b[ \t]*(?P<answer>[^\n]*)",
    re.IGNORECASE,
)

_LETTER_ONLY_RE = re.compile(r"^[(\[]?([A-Z])[)\]]?[.:]?$")
_LETTER_WITH_TEXT_RE = re.compile(r"^(?:[(\[]([A-Z])[)\]]|([A-Z])[.:)])\s*(\S.*)$", re.DOTALL)
_LETTER_PREFIX_RE = re.compile(
    r"^(?:the\s+)?(?:correct\s+|final\s+|best\s+)?(?:answer|option|choice)\s*(?:is\s*)?[:：]?\s*(.+)$",
    re.IGNORECASE | re.DOTALL,
)
# Letters inside a sentence ("so (B) is correct", "option C"), searched on the last line only.
_LETTER_IN_LINE_RE = re.compile(
    r"\(([A-Z])\)|\b(?i:option|choice)\s*\(?([A-Z])\)?(?![A-Za-z])|\*\*([A-Z])\*\*"
)
_LETTER_TOKEN_RE = re.compile(r"^[(\[]?([A-Z]+)[)\]]?[.:]?$")
_LETTER_SET_SPLIT_RE = re.compile(r"\s*(?:,|;|/|&|\band\b|\s)\s*", re.IGNORECASE)

_LAST_NUMBER_RE = re.compile(r"(?:(?<![\w)\]}])-)?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:/\d+(?:\.\d+)?)?")


def find_boxed(text: str) -> list[str]:
    """Return the contents of every complete ``\\boxed{...}`` / ``\\fbox{...}`` in order of appearance.

    Braces are matched (``\\boxed{\\frac{1}{2}}`` gives ``\\frac{1}{2}``); escaped braces ``\\{ \\}`` do not
    count. An unclosed box (a truncated generation) is skipped. A box nested in another is part of the
    outer box's content (``clean_answer`` unwraps it).
    """
    return [text[content_start : end - 1] for _, content_start, end in boxed_spans(text)]


def boxed_spans(text: str) -> list[tuple[int, int, int]]:
    """``(start, content_start, end)`` of every complete box: ``text[start:end]`` is ``\\boxed{...}``."""
    spans = []
    position = 0
    while True:
        match = _BOX_START_RE.search(text, position)
        if match is None:
            return spans
        closing = _matching_brace(text, match.end() - 1)
        if closing is None:
            position = match.end()
            continue
        spans.append((match.start(), match.end(), closing + 1))
        position = closing + 1


def clean_answer(text: str) -> str:
    """Normalise an extracted answer's surface form; its meaning is unchanged.

    Unwraps ``\\text{}``, ``\\mathrm{}``, ``\\textbf{}`` and nested boxes; strips ``$`` / ``\\( \\)`` /
    ``\\[ \\]`` delimiters, markdown emphasis, trailing periods and commas, degree signs and LaTeX spacing;
    writes ``\\dfrac``/``\\tfrac`` as ``\\frac``; drops a unit after a number (``5 cm`` -> ``5``).
    """
    cleaned = _unwrap_commands(text)
    cleaned = (
        cleaned.replace("\\dfrac", "\\frac")
        .replace("\\tfrac", "\\frac")
        .replace("\\ ", " ")
        .replace("\\%", "%")
    )
    cleaned = _DEGREE_RE.sub("", _LATEX_SPACING_RE.sub("", cleaned)).replace("\\$", "").replace("$", "")
    previous = None
    while cleaned != previous:
        previous = cleaned
        cleaned = cleaned.strip().strip("*`").strip()
        for opening, closing in (("\\(", "\\)"), ("\\[", "\\]")):
            if cleaned.startswith(opening) and cleaned.endswith(closing):
                cleaned = cleaned[len(opening) : len(cleaned) - len(closing)]
        cleaned = cleaned.rstrip(".,;").strip()
    return strip_unit(" ".join(cleaned.split()))


def parse_option_letter(text: str) -> str | None:
    """Return the option letter an answer names, in its usual spellings, else ``None``.

    ``B``, ``(B)``, ``[B]``, ``B.``, ``B:``, ``B)``, ``B. 8/11``, ``(B) 8/11``, ``\\text{B}``, ``**B**``,
    ``Option B``, ``the answer is (B)``. A capitalised word (``A triangle``) is not a letter.
    """
    candidate = clean_answer(text)
    prefixed = _LETTER_PREFIX_RE.match(candidate)
    if prefixed:
        candidate = clean_answer(prefixed.group(1))
    match = _LETTER_ONLY_RE.match(candidate)
    if match:
        return match.group(1)
    match = _LETTER_WITH_TEXT_RE.match(candidate)
    if match:
        return match.group(1) or match.group(2)
    return None


def parse_letter_set(text: str) -> frozenset[str] | None:
    """Return the set of option letters an answer names (LogicVista), else ``None``.

    ``A, C``, ``C,A``, ``A and C``, ``(A)(C)``, ``AC``, ``B`` and ``B. 8/11`` are understood; anything with
    a token that is not a letter run (``A, 5``) is ``None``.
    """
    candidate = clean_answer(text).replace(")(", ") (").replace("][", "] [")
    letters: set[str] = set()
    for token in _LETTER_SET_SPLIT_RE.split(candidate):
        if not token:
            continue
        match = _LETTER_TOKEN_RE.match(token)
        # A run of letters is a set only when written in order ("ACD"); "NONE" is a word.
        if match is None or list(match.group(1)) != sorted(set(match.group(1))):
            letters = set()
            break
        letters.update(match.group(1))
    if letters:
        return frozenset(letters)
    single = parse_option_letter(text)  # "B. 8/11", "the answer is (B)"
    return frozenset(single) if single is not None else None


def extract_answer(text: str) -> Extraction:
    """Find the final answer in ``text``.

    Tries, in order: the last complete ``\\boxed{}``/``\\fbox{}`` (method ``"boxed"``); the last
    ``<answer>`` tag, "Answer: X" or "the answer is X" line (``"answer_line"``); an option letter on the
    last line (``"option_letter"``); the last number (``"last_number"``). Returns
    ``Extraction(None, "none")`` when nothing is found.
    """
    if not isinstance(text, str):
        raise TypeError(f"extract_answer expects the response text as a str, got {type(text).__name__}")
    boxes = [clean_answer(content) for content in find_boxed(text)]
    if boxes and boxes[-1]:
        return Extraction(boxes[-1], "boxed")
    line_answer = _answer_line(text)
    if line_answer:
        return Extraction(line_answer, "answer_line")
    letter = _final_option_letter(text)
    if letter:
        return Extraction(letter, "option_letter")
    numbers = _LAST_NUMBER_RE.findall(text)
    if numbers:
        return Extraction(numbers[-1].replace(",", ""), "last_number")
    return Extraction(None, "none")


def _matching_brace(text: str, open_index: int) -> int | None:
    """Index of the ``}`` closing the ``{`` at ``open_index``, skipping escaped braces; ``None`` if unclosed."""
    depth = 0
    index = open_index
    while index < len(text):
        character = text[index]
        if character == "\\":
            index += 2  # an escaped character (\{, \}, \\) never opens or closes a group
            continue
        if character == "{":
            depth += 1
        elif character == "}":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return None


def _unwrap_commands(text: str) -> str:
    """Replace every ``\\text{X}``-like wrapper (nested too) by ``X``; an unclosed one is left as is."""
    position = 0
    while True:
        match = _WRAPPER_COMMAND_RE.search(text, position)
        if match is None:
            return text
        end = _matching_brace(text, match.end() - 1)
        if end is None:
            position = match.end()
            continue
        text = text[: match.start()] + text[match.end() : end] + text[end + 1 :]
        position = match.start()


def _answer_line(text: str) -> str | None:
    """The answer given by the last ``<answer>`` tag or "Answer:" / "the answer is" phrase, cleaned."""
    tags = _ANSWER_TAG_RE.findall(text)
    if tags and clean_answer(tags[-1]):
        return clean_answer(tags[-1])
    matches = [*_ANSWER_COLON_RE.finditer(text), *_ANSWER_IS_RE.finditer(text)]
    if not matches:
        return None
    last = max(matches, key=lambda match: match.start())
    answer = clean_answer(last.group("answer"))
    if not answer:
        # "Answer:" alone on its line: the answer is on the next non-empty line.
        following = text[last.end() :].strip().splitlines()
        answer = clean_answer(following[0]) if following else ""
    return answer or None


def _final_option_letter(text: str) -> str | None:
    """An option letter on the last non-empty line: the whole line (``(B)``), or named in it (``option B``)."""
    lines = [line.strip().strip("#").strip() for line in text.strip().splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return None
    last_line = lines[-1]
    letter = parse_option_letter(last_line)
    if letter:
        return letter
    found = list(_LETTER_IN_LINE_RE.finditer(last_line))
    if not found:
        return None
    return next(group for group in found[-1].groups() if group)
