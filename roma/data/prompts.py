"""Conversational prompts in the shape TRL's `GRPOTrainer` expects for vision-language models.

TRL 1.16 takes a ``prompt`` column of chat messages and fills each ``{"type": "image"}`` placeholder, in
order, from the row's ``image`` (one image) or ``images`` (a list) column; every other column reaches the
reward functions as a keyword argument. All message contents are lists of parts, so a dataset of prompts
has one Arrow type whatever the number of messages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from datasets import Dataset

# Short on purpose: the tiny models read one token per byte. `roma.grading` extracts the last \boxed{}.
DEFAULT_INSTRUCTION = "\nPut the final answer in \\boxed{}."


def build_conversation(
    question: str,
    num_images: int = 1,
    *,
    instruction: str = DEFAULT_INSTRUCTION,
    system: str | None = None,
) -> list[dict[str, Any]]:
    """The TRL conversational prompt for ``question`` about ``num_images`` images.

    ``[{"role": "user", "content": [{"type": "image"}, ..., {"type": "text", "text": question + instruction}]}]``,
    preceded by a system message when ``system`` is given.
    """
    if not isinstance(question, str):
        raise TypeError(f"question must be a string, got {type(question).__name__}.")
    if not isinstance(num_images, int) or num_images < 0:
        raise ValueError(f"num_images must be a non-negative integer, got {num_images!r}.")
    content: list[dict[str, Any]] = [{"type": "image"} for _ in range(num_images)]
    content.append({"type": "text", "text": question + instruction})
    messages = [{"role": "user", "content": content}]
    if system is not None:
        messages.insert(0, {"role": "system", "content": [{"type": "text", "text": system}]})
    return messages


def conversation_as_prompt(
    messages: list[dict[str, Any]], num_images: int, *, system: str | None = None
) -> list[dict[str, Any]]:
    """A TRL conversational prompt in `build_conversation`'s shape, its text unchanged.

    String contents become ``[{"type": "text", "text": ...}]``; a conversation without ``{"type": "image"}``
    parts gets ``num_images`` of them before the first user message's text (TRL's convention); ``system`` is
    put first unless the conversation has a system message. Raises ``ValueError`` naming what is malformed.
    """
    prompt: list[dict[str, Any]] = []
    for position, message in enumerate(messages):
        if not isinstance(message, dict) or "role" not in message or "content" not in message:
            raise ValueError(f"message {position} is not a {{'role', 'content'}} dict: {message!r}")
        content = message["content"]
        if isinstance(content, str):
            parts = [{"type": "text", "text": content}]
        elif isinstance(content, list) and all(isinstance(part, dict) and "type" in part for part in content):
            parts = [{"type": part["type"], "text": part.get("text")} for part in content]
        else:
            raise ValueError(f"message {position} has content {content!r}, not a string or a list of parts")
        prompt.append({"role": str(message["role"]), "content": parts})
    users = [message for message in prompt if message["role"] == "user"]
    if not users:
        raise ValueError("the conversation has no user message")
    placeholders = sum(part["type"] == "image" for message in prompt for part in message["content"])
    if placeholders == 0:
        users[0]["content"][:0] = [{"type": "image", "text": None} for _ in range(num_images)]
    elif placeholders != num_images:
        raise ValueError(f"the conversation has {placeholders} image placeholders for {num_images} images")
    if system is not None and prompt[0]["role"] != "system":
        prompt.insert(0, {"role": "system", "content": [{"type": "text", "text": system}]})
    return prompt


def _images_per_row(dataset: Dataset, image_column: str | None) -> list[int] | int:
    """1 for a single-image column, else the list lengths, read from Arrow without decoding any image."""
    import pyarrow.compute as pc
    from datasets import Image, List, Sequence

    if image_column is None:
        return 0
    if image_column not in dataset.column_names:
        raise ValueError(
            f"Image column {image_column!r} is not in the dataset; columns: {', '.join(dataset.column_names)}."
        )
    feature = dataset.features[image_column]
    if isinstance(feature, Image):
        return 1
    if isinstance(feature, (List, Sequence)) and isinstance(feature.feature, Image):
        lengths = pc.list_value_length(dataset.data.column(image_column)).to_pylist()
        return [length or 0 for length in lengths]
    raise ValueError(f"Column {image_column!r} holds {feature}, not images or lists of images.")


def to_conversational(
    dataset: Dataset,
    *,
    question_column: str = "question",
    image_column: str | None = "image",
    instruction: str = DEFAULT_INSTRUCTION,
    system: str | None = None,
    num_proc: int | None = None,
) -> Dataset:
    """Add a ``prompt`` column built by `build_conversation`; keep every other column.

    The number of image placeholders per row follows ``image_column``: one for an image column, the list
    length for a list-of-images column, none when ``image_column`` is ``None``. Images are never decoded.
    """
    if question_column not in dataset.column_names:
        raise ValueError(
            f"Question column {question_column!r} is not in the dataset; columns: {', '.join(dataset.column_names)}."
        )
    if "prompt" in dataset.column_names:
        raise ValueError("The dataset already has a 'prompt' column; remove or rename it first.")
    images_per_row = _images_per_row(dataset, image_column)

    def add_prompt(question: str, index: int) -> dict[str, Any]:
        if question is None:
            raise ValueError(f"Row {index}: question column {question_column!r} is empty.")
        num_images = images_per_row if isinstance(images_per_row, int) else images_per_row[index]
        return {"prompt": build_conversation(question, num_images, instruction=instruction, system=system)}

    return dataset.map(
        add_prompt,
        input_columns=[question_column],
        with_indices=True,
        num_proc=num_proc,
        desc="Building prompts",
    )
