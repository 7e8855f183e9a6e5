"""Option texts of a multiple-choice question: from an options column, or parsed out of the question text.

MathVista, MMMU-Pro and WeMath give their options in a column (a list, a stringified list, an
``"A. x; B. y"`` string); DynaMath, MathVerse, LogicVista and MMStar only list them inside the question
(``"(A) yes (B) no"``, ``"Choices:\\nA:2\\nB:4"``). Either way ``grade`` gets the option texts in letter
order, so ``\\boxed{no}`` can be matched to option B.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping, Sequence

__all__ = ["MAX_OPTIONS_CHARS", "MalformedOptionsError", "normalize_options", "options_from_question"]

MAX_OPTIONS_CHARS = 20_000
"""An options string longer than this is not parsed: ten options never need it, and Python's parser
exhausts memory or recursion on some long strings (``"[" + "-" * 100000 + "1]"``)."""


class MalformedOptionsError(ValueError):
    """An options value that is neither a list of option texts nor an ``"A. ...; B. ..."`` string.

    A benchmark loader catches it to skip (and report) the row; ``grade`` lets it through with the
    offending value in the message.
    """


_OPTION_PREFIX_RE = re.compile(r"^\(?([A-Z])[.:)]\s*")
_OPTIONS_STRING_RE = re.compile(r"(?:^|;)\s*\(?([A-Z])[.:)]\s*")

# Where options start inside a question, by layout (each a letter marker; the text runs to the next one).
_QUESTION_OPTION_MARKERS = (
    re.compile(r"(?<![\w(])\(([A-Z])\)\s*"),  # "(A) yes (B) no", "Choices:\n(A) 2\n(B) 4"
    re.compile(r"(?m)^[ \t]*([A-Z])\s*[.:：)]\s*"),  # "A. x\nB. y", "Choices:\nA:2\nB:4"
    re.compile(r"(?<![\w(])([A-Z]):\s+"),  # "Which bar is taller? A: left, B: right."
)


def normalize_options(options: Sequence[str] | str | None) -> list[str]:
    """Option texts in letter order, with any ``"A. "`` prefix removed.

    Accepts a list, a stringified list (MMMU-Pro ``"['1', '2']"``) or one ``"A. x; B. y"`` string (WeMath).
    Raises ``MalformedOptionsError`` for a string that is neither (``"[{[]}]"``, an unparseable list, one
    longer than ``MAX_OPTIONS_CHARS``).
    """
    if options is None:
        return []
    if isinstance(options, str):
        return _options_from_string(options)
    if isinstance(options, Mapping) or not isinstance(options, Iterable):
        # Any other iterable passes: a parquet column hands over a numpy array of option texts.
        raise MalformedOptionsError(
            f"options must be a list of option texts or a string, got {type(options).__name__}"
        )
    texts = []
    for index, option in enumerate(options):
        text = str(option).strip()
        prefix = _OPTION_PREFIX_RE.match(text)
        # Drop "B. " only when it is this option's own letter, so an option that is itself "A. 5" stays.
        if prefix and prefix.group(1) == chr(ord("A") + index):
            text = text[prefix.end() :]
        texts.append(text)
    return texts


def options_from_question(question: str | None) -> list[str]:
    """The option texts listed in a question, in letter order; ``[]`` when it lists none.

    A layout counts when its markers run ``A, B, C...`` from ``A`` with at least two options; of several
    runs, the one with the most options (the last on a tie: the choices follow the question) wins. Each
    option's text runs to the next marker, the last one's to the end of its line.
    """
    if question is None:
        return []
    if not isinstance(question, str):
        raise TypeError(f"question must be the question text (a str), got {type(question).__name__}")
    best: list[str] = []
    for marker_re in _QUESTION_OPTION_MARKERS:
        for run in _letter_runs(list(marker_re.finditer(question))):
            if len(run) >= 2 and len(run) >= len(best):
                best = _option_texts(question, run)
    return best


def _options_from_string(options: str) -> list[str]:
    text = options.strip()
    if not text:
        return []
    if len(text) > MAX_OPTIONS_CHARS:
        raise MalformedOptionsError(
            f"options string of {len(text)} characters (more than {MAX_OPTIONS_CHARS}): {text[:40]!r}..."
        )
    if text.startswith("["):
        try:
            parsed = ast.literal_eval(text)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as error:
            raise MalformedOptionsError(
                f"options string {text[:80]!r} looks like a list but does not parse ({type(error).__name__})"
            ) from None
        if not isinstance(parsed, list | tuple):
            raise MalformedOptionsError(f"options string {text[:80]!r} is not a list")
        return normalize_options([str(option) for option in parsed])
    pieces = _OPTIONS_STRING_RE.split(text)
    # split gives ["", "A", "x", "B", "y", ...] when the string is lettered
    if len(pieces) >= 3 and pieces[0].strip() == "":
        return [piece.strip() for piece in pieces[2::2]]
    raise MalformedOptionsError(f"options string {text[:80]!r} is neither a list nor 'A. ...; B. ...'")


def _letter_runs(markers: list[re.Match[str]]) -> list[list[re.Match[str]]]:
    """Markers grouped into runs lettered A, B, C... in order; a marker out of sequence is skipped."""
    runs: list[list[re.Match[str]]] = []
    for marker in markers:
        letter = marker.group(1)
        if letter == "A":
            runs.append([marker])
        elif runs and ord(letter) == ord(runs[-1][-1].group(1)) + 1:
            runs[-1].append(marker)
    return runs


def _option_texts(question: str, run: list[re.Match[str]]) -> list[str]:
    texts = []
    for marker, following in zip(run, [*run[1:], None]):
        end = following.start() if following else _line_end(question, marker.end())
        texts.append(question[marker.end() : end].strip().rstrip(",;").strip())
    return texts


def _line_end(text: str, start: int) -> int:
    newline = text.find("\n", start)
    return len(text) if newline < 0 else newline
