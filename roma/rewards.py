"""TRL reward functions built on ``roma.grading``, in a registry.

Each function has TRL's signature ``fn(completions, **kwargs) -> list[float | None]``: ``completions`` holds
one completion per sample, a string or a conversational list of messages; dataset columns arrive as
keyword lists (``answer=[...]``, or TRL's ``solution=[...]``, and optionally ``answer_type``, ``options``,
``precision``, ``tolerance``, ``relative_tolerance``, ``question``). A function's ``__name__`` is its registry name, because TRL logs rewards by
``__name__`` and ``RomaGRPOTrainer`` finds the correctness reward (``"accuracy"``) by it.

The accuracy reward and the benchmark grader are the same ``roma.grading.grade`` call, so a fix to answer
extraction fixes both.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from roma.grading import MalformedOptionsError, boxed_spans, grade

__all__ = [
    "GRADE_COLUMNS",
    "REWARD_FUNCTIONS",
    "accuracy_reward",
    "completion_text",
    "format_reward",
    "get_reward_function",
    "grade_options",
    "register_reward",
]

RewardFunction = Callable[..., list[float | None]]

REWARD_FUNCTIONS: dict[str, RewardFunction] = {}
"""Registered reward functions by name; add one with ``@register_reward("name")``."""

# Columns forwarded from the dataset to ``grade`` when present; ``answer`` (or ``solution``) is required.
GRADE_COLUMNS = ("answer_type", "options", "precision", "tolerance", "relative_tolerance", "question")
# The gold answer's column: roma's datasets call it ``answer``, TRL's examples ``solution``.
_GOLD_COLUMNS = ("answer", "solution")
# What may follow the single final box: closing math delimiters, emphasis, punctuation, an answer tag.
_FORMAT_TRAILER_CHARACTERS = set("$.*`)]} \t\n")
_BOX_START_RE = re.compile(r"\\(?:boxed|fbox)\b")


def register_reward(name: str) -> Callable[[RewardFunction], RewardFunction]:
    """Decorator registering a reward function under ``name`` and setting its ``__name__`` to ``name``."""
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"reward name must be an identifier-like string (TRL logs it), got {name!r}")

    def decorator(function: RewardFunction) -> RewardFunction:
        if name in REWARD_FUNCTIONS and REWARD_FUNCTIONS[name] is not function:
            raise ValueError(f"a reward function named {name!r} is already registered")
        function.__name__ = name
        function.__qualname__ = name
        REWARD_FUNCTIONS[name] = function
        return function

    return decorator


def get_reward_function(name: str) -> RewardFunction:
    """The registered reward function called ``name``; an unknown name lists the known ones."""
    try:
        return REWARD_FUNCTIONS[name]
    except KeyError:
        known = sorted(REWARD_FUNCTIONS)
        close = difflib.get_close_matches(str(name), known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise KeyError(f"unknown reward function {name!r}; known: {', '.join(known)}.{hint}") from None


def completion_text(completion: Any, index: int = 0) -> str:
    """The text of one TRL completion: a string, or the assistant messages of a conversational one.

    A message's ``content`` may be a string or a list of parts, of which the ``{"type": "text"}`` ones count.
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        completion = [completion]
    if not isinstance(completion, Sequence):
        raise TypeError(
            f"completion {index} must be a string or a list of messages, got {type(completion).__name__}"
        )
    texts = []
    for message in completion:
        if not isinstance(message, dict) or "content" not in message:
            raise TypeError(
                f"completion {index}: each message must be a dict with a 'content' key, got {message!r}"
            )
        if message.get("role", "assistant") != "assistant":
            continue
        content = message["content"]
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, Sequence):
            texts.extend(
                part["text"]
                for part in content
                if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)
            )
        elif content is not None:
            raise TypeError(
                f"completion {index}: message content must be a string or a list of parts, "
                f"got {type(content).__name__}"
            )
    return "\n".join(texts)


@register_reward("accuracy")
def accuracy_reward(completions: list[Any], **kwargs: Any) -> list[float | None]:
    """1.0 when ``roma.grading.grade`` finds the completion's answer correct against ``answer``, else 0.0.

    Needs the dataset column ``answer`` (or TRL's ``solution``); ``answer_type``, ``options``,
    ``precision``, ``tolerance``, ``relative_tolerance`` and ``question`` (options listed in the question
    text) columns are used when present (a ``None`` entry means "not set"). A row whose options do not
    parse raises ``MalformedOptionsError`` naming the row, one whose gold the grader cannot use (``""``,
    ``"three"`` as a float) a ``ValueError`` (``TypeError``) naming the row and the gold.
    """
    gold_column = next((name for name in _GOLD_COLUMNS if name in kwargs), None)
    if gold_column is None:
        received = ", ".join(sorted(kwargs)) or "none"
        raise KeyError(
            "accuracy reward needs the dataset column 'answer' or 'solution' (the gold answer); "
            f"received columns: {received}"
        )
    answers = _column(kwargs, gold_column, len(completions))
    columns = {name: _column(kwargs, name, len(completions)) for name in GRADE_COLUMNS if name in kwargs}
    rewards: list[float | None] = []
    for index, completion in enumerate(completions):
        options = grade_options({name: values[index] for name, values in columns.items()})
        try:
            verdict = grade(completion_text(completion, index), answers[index], **options)
        except MalformedOptionsError as error:
            raise MalformedOptionsError(f"accuracy reward, row {index} of the batch: {error}") from None
        except (ValueError, TypeError) as error:  # a gold the grader cannot use (loading skips those)
            raise type(error)(
                f"accuracy reward, row {index} of the batch: gold {answers[index]!r}: {error}"
            ) from None
        rewards.append(1.0 if verdict.correct else 0.0)
    return rewards


@register_reward("format")
def format_reward(completions: list[Any], **kwargs: Any) -> list[float | None]:
    """1.0 when the completion ends with exactly one non-empty ``\\boxed{...}`` answer, else 0.0.

    Reasoning may come before the box; after it only closing delimiters and punctuation (``$``, ``.``,
    ``\\]``, ``**``). A second box, an empty box or an unclosed box scores 0.
    """
    return [
        1.0 if _has_one_final_box(completion_text(completion, index)) else 0.0
        for index, completion in enumerate(completions)
    ]


def grade_options(row: dict[str, Any]) -> dict[str, Any]:
    """The ``grade`` keyword arguments of one dataset row: its ``GRADE_COLUMNS`` entries that are set.

    Training data loading checks each gold answer with the same arguments the accuracy reward will pass.
    """
    return {name: row[name] for name in GRADE_COLUMNS if name in row and not _unset(row[name])}


def _has_one_final_box(text: str) -> bool:
    spans = boxed_spans(text)
    if len(spans) != 1:
        return False
    _, content_start, end = spans[0]
    if not text[content_start : end - 1].strip():
        return False
    if len(_BOX_START_RE.findall(text)) != 1:
        return False  # a second, unclosed box (or one nested in the first) is not one final answer
    trailer = text[end:].replace("\\]", "").replace("\\)", "").replace("</answer>", "")
    return set(trailer) <= _FORMAT_TRAILER_CHARACTERS


def _unset(value: Any) -> bool:
    """``None`` or a float NaN (how a parquet column stores "no precision for this row")."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _column(kwargs: dict[str, Any], name: str, size: int) -> list[Any]:
    values = kwargs[name]
    if not isinstance(values, list | tuple) or len(values) != size:
        length = len(values) if isinstance(values, list | tuple) else type(values).__name__
        raise ValueError(
            f"column {name!r} must be a list with one entry per completion ({size}), got {length}"
        )
    return list(values)
