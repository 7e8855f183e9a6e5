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
import importlib
import re
from collections.abc import Callable, Sequence
from typing import Any

from roma.grading import GRADE_COLUMNS, MalformedOptionsError, boxed_spans, grade, grade_arguments

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

# Columns forwarded from the dataset to ``grade`` when present: `roma.grading.GRADE_COLUMNS` (re-exported here for
# one release, as is `grade_options`, now `roma.grading.grade_arguments`); ``answer`` (or ``solution``) is required.
grade_options = grade_arguments
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
    """The registered reward function called ``name``, or, for a dotted import path (``my_pkg.rewards.fn``, as
    TRL's scripts take), that function of that module; an unknown name lists the known ones, a bad path says
    which part failed."""
    if "." in str(name):
        return _import_reward_function(str(name))
    try:
        return REWARD_FUNCTIONS[name]
    except KeyError:
        known = sorted(REWARD_FUNCTIONS)
        close = difflib.get_close_matches(str(name), known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise KeyError(f"unknown reward function {name!r}; known: {', '.join(known)}.{hint}") from None


def _import_reward_function(path: str) -> RewardFunction:
    module_path, _, attribute = path.rpartition(".")
    try:
        module = importlib.import_module(module_path)
    except ImportError as error:
        raise ValueError(
            f"reward function {path!r}: cannot import module {module_path!r} ({type(error).__name__}: {error}); "
            "a dotted reward_funcs entry is 'package.module.function', importable from where training runs."
        ) from None
    function = getattr(module, attribute, None)
    if function is None:
        raise ValueError(f"reward function {path!r}: module {module_path!r} has no attribute {attribute!r}.")
    if not callable(function):
        raise ValueError(
            f"reward function {path!r} is a {type(function).__name__}, not a function "
            "fn(completions, **kwargs) -> list[float | None]."
        )
    return function


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
        options = grade_arguments({name: values[index] for name, values in columns.items()})
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


def _column(kwargs: dict[str, Any], name: str, size: int) -> list[Any]:
    values = kwargs[name]
    if not isinstance(values, list | tuple) or len(values) != size:
        length = len(values) if isinstance(values, list | tuple) else type(values).__name__
        raise ValueError(
            f"column {name!r} must be a list with one entry per completion ({size}), got {length}"
        )
    return list(values)
