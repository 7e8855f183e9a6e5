"""Conversational prompts in the shape TRL's `GRPOTrainer` expects for vision-language models.

TRL 1.16 takes a ``prompt`` column of chat messages and fills each ``{"type": "image"}`` placeholder, in
order, from the row's ``image`` (one image) or ``images`` (a list) column; every other column reaches the
reward functions as a keyword argument. All message contents are lists of parts, so a dataset of prompts
has one Arrow type whatever the number of messages.

This module also holds the rest of that prompt/image contract, as the trainer and the data loaders read it:
the row's images (`row_images`), the images embedded in messages (`message_images`), the placeholder check
(`check_image_placeholders`), a row's stable id (`prompt_key`) and the literal ``<image>`` markers some datasets
put in their question text (`strip_image_placeholders`).
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
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


# ``<image>``, ``<image 1>``, ``<IMAGE2>``: markers some datasets (Geometry3K, EasyR1-style sets, MathVision) leave
# in the question text. The prompt gets structured ``{"type": "image"}`` parts instead; a leftover marker would
# show the model a stray tag.
IMAGE_PLACEHOLDER = re.compile(r"<image\s*\d*>\s*", re.IGNORECASE)


def strip_image_placeholders(text: str) -> str:
    """``text`` without literal image markers (`IMAGE_PLACEHOLDER`), stripped."""
    return IMAGE_PLACEHOLDER.sub("", str(text)).strip()


def row_images(example: dict[str, Any]) -> list | None:
    """The row's images as TRL reads them: an ``images`` list column or a single ``image`` column."""
    if "images" in example:
        return list(example["images"]) if example["images"] else None
    if example.get("image") is not None:
        return [example["image"]]
    return None


def _image_parts(prompt: Any) -> Iterator[dict[str, Any]]:
    """The ``{"type": "image", ...}`` parts of a conversational prompt, in order (none for a plain-text prompt)."""
    if not isinstance(prompt, list):
        return
    for message in prompt:
        content = message.get("content")
        if isinstance(content, list):
            yield from (part for part in content if isinstance(part, dict) and part.get("type") == "image")


def message_images(prompt: Any) -> list:
    """The images embedded in a conversational prompt's messages, in order (as TRL's _tokenize_prompts reads them)."""
    return [part["image"] for part in _image_parts(prompt) if part.get("image") is not None]


def replace_message_images(prompt: list, images: list) -> list:
    """A copy of ``prompt`` whose embedded images are replaced, in order, by ``images``."""
    remaining = iter(images)
    replaced = []
    for message in prompt:
        content = message.get("content")
        if isinstance(content, list):
            content = [
                {**part, "image": next(remaining)}
                if isinstance(part, dict) and part.get("type") == "image" and part.get("image") is not None
                else part
                for part in content
            ]
        replaced.append({**message, "content": content})
    return replaced


def check_image_placeholders(inputs: list[dict[str, Any]]) -> None:
    """Fail clearly when a row's prompt asks for more images than the row carries (TRL would fail deep inside)."""
    for index, example in enumerate(inputs):
        wanted = sum(1 for _ in _image_parts(example.get("prompt")))
        have = len(row_images(example) or [])
        if wanted > have:
            sample = example.get("id", f"at batch position {index}")
            raise ValueError(
                f"roma: sample {sample} has {wanted} image placeholder(s) in its prompt but {have} image(s) in its "
                "'image'/'images' column: a row without its image. Fix or drop the row (the recipe's "
                "--skip_bad_samples drops unreadable images when the dataset is loaded)."
            )


def prompt_key(example: dict[str, Any]) -> str:
    """A stable id for a dataset row: its ``id`` column, else a hash of its prompt and image bytes.

    The G completions of a prompt share this key, so they share their degraded views on every process.
    """
    if example.get("id") is not None:
        return str(example["id"])
    return images_digest(example, repr(example.get("prompt")))


def images_digest(example: dict[str, Any], prefix: str = "") -> str:
    """A hex digest of ``prefix`` and the row's image bytes: equal exactly when the images are."""
    digest = hashlib.blake2b(prefix.encode(), digest_size=16)
    for image in row_images(example) or []:
        digest.update(_image_fingerprint(image))
    return digest.hexdigest()


def _image_fingerprint(image: Any) -> bytes:
    if hasattr(image, "tobytes"):
        return f"{getattr(image, 'size', '')}{getattr(image, 'mode', '')}".encode() + image.tobytes()
    import torch

    buffer = io.BytesIO()
    torch.save(image, buffer)
    return buffer.getvalue()


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
