"""Answer extraction: find the final answer in a model response.

The order follows the RL-for-MLLM literature (see ``docs/grading.md``): the LAST complete
``\\boxed{...}`` (or ``\\fbox{...}``) with brace matching; then an ``<answer>...</answer>`` tag or an
"Answer: X" / "the answer is X" line; then a final option letter in its usual spellings; then the last
number. Everything here is regular expressions and a brace scanner: no sympy, so it is cheap enough to
run on every completion of every training step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from roma.grading.numbers import is_unit, strip_unit

__all__ = [
    "EXTRACTION_METHODS",
    "MAX_ANSWER_CHARS",
    "Extraction",
    "boxed_spans",
    "clean_answer",
    "extract_answer",
    "find_boxed",
    "last_line",
    "looks_like_words",
    "normalize_text",
    "parse_letter_set",
    "parse_option_letter",
]

EXTRACTION_METHODS = ("boxed", "answer_line", "option_letter", "last_number", "none")

MAX_ANSWER_CHARS = 1000
"""A candidate answer (a box's content, an answer line) longer than this is not an answer: no benchmark's
final answer is that long, and cleaning a pathological one (thousands of nested boxes) would cost
quadratic time."""


@dataclass(frozen=True)
class Extraction:
    """The answer found in a response and how it was found.

    ``answer`` is cleaned (no ``\\text{}``, ``$``, trailing period, degree sign or unit after a number);
    ``method`` is one of ``EXTRACTION_METHODS`` and is ``"none"`` exactly when ``answer`` is ``None``.
    """

    answer: str | None
    method: str


_BOX_START_RE = re.compile(r"\\(?:boxed|fbox)\s*\{")
_BRACE_TOKEN_RE = re.compile(r"\\.|[{}]", re.DOTALL)  # an escaped character, or a brace
# Commands whose braced argument is the visible text: unwrapped by ``clean_answer``.
_WRAPPER_COMMAND_RE = re.compile(
    r"\\(?:boxed|fbox|mbox|text|textbf|textit|textrm|textnormal|mathrm|mathbf|mathit|bf|emph)\s*\{"
)
_DEGREE_RE = re.compile(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|\\circ|\\degree|°")
_LATEX_SPACING_RE = re.compile(r"\\[!,;:]|\\(?:left|right)(?![a-zA-Z])")
# Spacing that separates words ("12\mathrm{~cm}", "4\pi\quad cm"): becomes a plain space.
_LATEX_WORD_SPACE_RE = re.compile(r"~|\\q?quad(?![a-zA-Z])")
# A unit written as text at the end of an answer: "4\pi \text{ cm}^2", "12 \mathrm{~cm}".
_TEXT_UNIT_TAIL_RE = re.compile(
    r"\\(?:text|textrm|mathrm|mbox)\s*\{(?P<unit>[^{}]*)\}(?:\^\s*\{?\s*[23]\s*\}?)?\s*$"
)
# What a value written before a text unit contains: a digit or a LaTeX command (4\pi, \sqrt{2}).
_VALUE_BEFORE_UNIT_RE = re.compile(r"\d|\\[a-zA-Z]")

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
# A letter (or letters) the response says it chooses: "I choose B because option A is wrong" names B.
_CHOSEN_LETTERS_RE = re.compile(
    r"\b(?i:choose|chose|choosing|select|selected|selecting|pick|picked|go\s+with|going\s+with)\s+"
    r"(?i:(?:the\s+)?(?:options?|choices?|answers?)\s+)?"
    r"(?P<letters>\(?[A-Z]\)?(?:\s*(?:,|&|\band\b)\s*\(?[A-Z]\)?)*)(?![A-Za-z])"
)
_LOWERCASE_LETTER_TOKEN_RE = re.compile(r"^[(\[]?[a-z][)\]]?[.:]?$")
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
    closing_of = _closing_braces(text)  # one pass: thousands of unclosed boxes stay linear
    position = 0
    while True:
        match = _BOX_START_RE.search(text, position)
        if match is None:
            return spans
        closing = closing_of.get(match.end() - 1)
        if closing is None:
            position = match.end()
            continue
        spans.append((match.start(), match.end(), closing + 1))
        position = closing + 1


def _closing_braces(text: str) -> dict[int, int]:
    """Index of the ``}`` closing each closed ``{``, escaped braces skipped (as ``_matching_brace``)."""
    closing_of: dict[int, int] = {}
    open_braces: list[int] = []
    for token in _BRACE_TOKEN_RE.finditer(text):
        if token.group() == "{":
            open_braces.append(token.start())
        elif token.group() == "}" and open_braces:
            closing_of[open_braces.pop()] = token.start()
    return closing_of


def clean_answer(text: str) -> str:
    """Normalise an extracted answer's surface form; its meaning is unchanged.

    Unwraps ``\\text{}``, ``\\mathrm{}``, ``\\textbf{}`` and nested boxes; strips ``$`` / ``\\( \\)`` /
    ``\\[ \\]`` delimiters, markdown emphasis, trailing periods and commas, degree signs and LaTeX spacing;
    writes ``\\dfrac``/``\\tfrac`` as ``\\frac``; drops a unit: any unit word after a number (``5 cm`` ->
    ``5``, ``2m`` -> ``2``), and after a symbolic value only a unit written as text
    (``4\\pi \\text{ cm}^2`` -> ``4\\pi``), never a bare letter (``2x``, ``4\\pi m`` stay as they are).
    """
    cleaned = _LATEX_WORD_SPACE_RE.sub(" ", _strip_text_unit(text))
    cleaned = _unwrap_commands(cleaned)
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


_WORDS_RE = re.compile(r"^[A-Za-z][A-Za-z\s'.-]*$")


def normalize_text(text: str, remove_spaces: bool = False) -> str:
    """How answers compare as text: `clean_answer`, lower case, no trailing ``.``/``!``, whitespace collapsed
    (or removed with ``remove_spaces``)."""
    normalized = clean_answer(text).lower().rstrip(".!")
    return "".join(normalized.split()) if remove_spaces else " ".join(normalized.split())


def looks_like_words(text: str) -> bool:
    """Plain words (``New York``, ``triangle``), not a formula; a single letter is a variable, not a word."""
    return len(text) > 1 and bool(_WORDS_RE.match(text))


def _strip_text_unit(text: str) -> str:
    """Drop a trailing ``\\text{unit}`` / ``\\mathrm{unit}`` (with a power) after a value.

    A unit written as text is what separates ``4\\pi \\text{ cm}^2`` (a value and its unit) from ``4\\pi m``
    (maybe a product with a variable ``m``), so only the text form is dropped after a symbolic value. The
    part before must look like a value (a digit or a LaTeX command): ``\\text{Option } \\text{A}`` keeps
    its ``A``.
    """
    match = _TEXT_UNIT_TAIL_RE.search(text)
    if match is None:
        return text
    before = text[: match.start()]
    unit = _LATEX_WORD_SPACE_RE.sub(" ", _LATEX_SPACING_RE.sub(" ", match.group("unit"))).strip()
    if unit and is_unit(unit) and _VALUE_BEFORE_UNIT_RE.search(_unwrap_commands(before)):
        return before
    return text


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

    ``A, C``, ``C,A``, ``A and C``, ``(A)(C)``, ``AC``, ``B``, ``B. 8/11`` and single lower-case letters
    (``d``, ``a, c``) are understood; anything with a token that is not a letter run (``A, 5``) is ``None``.
    """
    candidate = clean_answer(text).replace(")(", ") (").replace("][", "] [")
    tokens = [token for token in _LETTER_SET_SPLIT_RE.split(candidate) if token]
    if tokens and all(_LOWERCASE_LETTER_TOKEN_RE.match(token) for token in tokens):
        tokens = [token.upper() for token in tokens]  # "\boxed{d}", "a, c": letters written in lower case
    letters: set[str] = set()
    for token in tokens:
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
    ``Extraction(None, "none")`` when nothing is found. A candidate longer than ``MAX_ANSWER_CHARS`` is
    skipped, so the cost stays linear in the response length whatever the response holds.
    """
    if not isinstance(text, str):
        raise TypeError(f"extract_answer expects the response text as a str, got {type(text).__name__}")
    boxes = find_boxed(text)
    boxed = clean_answer(boxes[-1]) if boxes and len(boxes[-1]) <= MAX_ANSWER_CHARS else ""
    if boxed:
        return Extraction(boxed, "boxed")
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
    tags = [tag for tag in _ANSWER_TAG_RE.findall(text) if len(tag) <= MAX_ANSWER_CHARS]
    if tags and clean_answer(tags[-1]):
        return clean_answer(tags[-1])
    matches = [*_ANSWER_COLON_RE.finditer(text), *_ANSWER_IS_RE.finditer(text)]
    if not matches:
        return None
    last = max(matches, key=lambda match: match.start())
    answer = _clean_candidate(last.group("answer"))
    if not answer:
        # "Answer:" alone on its line: the answer is on the next non-empty line.
        following = text[last.end() :].strip().splitlines()
        answer = _clean_candidate(following[0]) if following else ""
    return answer or None


def _clean_candidate(text: str) -> str:
    """``clean_answer(text)``, or ``""`` for a candidate too long to be an answer (``MAX_ANSWER_CHARS``)."""
    return clean_answer(text) if len(text) <= MAX_ANSWER_CHARS else ""


def last_line(text: str) -> str:
    """The last non-empty line of ``text`` without markdown heading marks, ``""`` if there is none."""
    lines = [line.strip().strip("#").strip() for line in text.strip().splitlines()]
    lines = [line for line in lines if line]
    return lines[-1] if lines else ""


def _final_option_letter(text: str) -> str | None:
    """Option letters on the last non-empty line: the whole line (``(B)``), the letters it says it chooses
    (``I choose B because option A is wrong``: ``B``; ``I select A and C``), else the last letter named in it
    (``so option C is correct``)."""
    final_line = last_line(text)
    if not final_line:
        return None
    letter = parse_option_letter(final_line) if len(final_line) <= MAX_ANSWER_CHARS else None
    if letter:
        return letter
    chosen = list(_CHOSEN_LETTERS_RE.finditer(final_line))
    if chosen:
        return clean_answer(chosen[-1].group("letters"))
    found = list(_LETTER_IN_LINE_RE.finditer(final_line))
    if not found:
        return None
    return next(group for group in found[-1].groups() if group)
