"""`roma.models.rope_index.share_rope_index`: Qwen3-VL's 3-D positions from one row per distinct layout, the same
tensors as transformers' per-row loop, on processor batches (left padding, repeated rows, two images in a row,
text-only rows, prompt + completion rows) and through ``generate``."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import AutoModelForImageTextToText, AutoProcessor

from roma.models.rope_index import share_rope_index


def _image(seed: int, size: int) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def _batch(processor, rows: list[tuple[str, list[Image.Image]]]) -> dict:
    texts, images = [], []
    for text, row_images in rows:
        content = [{"type": "image"} for _ in row_images] + [{"type": "text", "text": text}]
        conversation = [{"role": "user", "content": content}]
        texts.append(processor.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False))
        images.extend(row_images)
    processor.tokenizer.padding_side = "left"
    return dict(processor(text=texts, images=images or None, padding=True, return_tensors="pt"))


@pytest.fixture(scope="module")
def qwen3_vl(tiny_qwen3_vl_path):
    processor = AutoProcessor.from_pretrained(tiny_qwen3_vl_path)
    model = AutoModelForImageTextToText.from_pretrained(tiny_qwen3_vl_path, dtype=torch.float32)
    return processor, model


@contextlib.contextmanager
def _shared_and_counted(model):
    """The model with `share_rope_index` over a counting original: yields the row counts the original was called
    with; the model's own method is back afterwards."""
    inner, calls = model.model, []
    original = type(inner).get_rope_index.__get__(inner)

    def counted(input_ids, *args, **kwargs):
        calls.append(input_ids.shape[0])
        return original(input_ids, *args, **kwargs)

    inner.get_rope_index = counted
    try:
        assert share_rope_index(model)
        yield calls
    finally:
        del inner.get_rope_index


def _original_and_shared(model, batch: dict):
    inner = model.model
    arguments = dict(
        input_ids=batch["input_ids"],
        mm_token_type_ids=batch["mm_token_type_ids"],
        image_grid_thw=batch.get("image_grid_thw"),
        attention_mask=batch["attention_mask"],
    )
    original = type(inner).get_rope_index(inner, **arguments)
    with _shared_and_counted(model) as calls:
        shared = inner.get_rope_index(**arguments)
    return original, shared, calls


def test_positions_and_deltas_are_the_originals_from_one_row_per_layout(qwen3_vl):
    processor, model = qwen3_vl
    small, large = _image(0, 64), _image(1, 96)  # two grids
    rows = [
        ("What colour are the stripes?", [small]),
        (
            "Which way do the fine stripes run? A: horizontal, B: vertical.",
            [_image(2, 64)],
        ),  # longer: padding
        ("What colour are the stripes?", [_image(3, 64)]),  # the first row's layout, other pixels
        ("What colour are the stripes?", [large]),  # the first row's text, another grid
        ("Two pictures: which one is brighter?", [small, large]),
        ("What colour are the stripes?", [small]),
    ]
    batch = _batch(processor, rows)
    (positions, deltas), (shared_positions, shared_deltas), calls = _original_and_shared(model, batch)
    assert torch.equal(positions, shared_positions) and positions.dtype == shared_positions.dtype
    assert torch.equal(deltas, shared_deltas) and deltas.shape == shared_deltas.shape == (6, 1)
    assert calls == [4]  # rows 0, 2 and 5 share a layout (pixels do not count): 4 distinct of 6


def test_prompt_and_completion_rows_text_only_rows_and_a_batch_without_repeats(qwen3_vl):
    processor, model = qwen3_vl
    image = _image(4, 64)
    # Completions of two lengths after one prompt, and a text-only row: as a GRPO group's teacher-forced rows.
    batch = _batch(
        processor, [("Q \\boxed{A}", [image]), ("Q \\boxed{AB}", [image]), ("Q \\boxed{A}", [image])]
    )
    text_only = _batch(processor, [("no image here", []), ("no image here", [])])
    for case in (batch, text_only):
        (positions, deltas), (shared_positions, shared_deltas), calls = _original_and_shared(model, case)
        assert torch.equal(positions, shared_positions) and torch.equal(deltas, shared_deltas)
        assert calls == [2] if case is batch else calls == [1]
    distinct = _batch(processor, [("one", [image]), ("a longer one", [image])])
    _, _, calls = _original_and_shared(model, distinct)
    assert calls == [2]  # nothing shared: the original on the batch as it is


def test_generation_with_shared_positions_is_the_same_and_wrapping_twice_is_once(qwen3_vl):
    processor, model = qwen3_vl
    rows = [("What colour are the stripes?", [_image(seed, 64)]) for seed in range(4)]
    rows.append(("Which way do the fine stripes run? A: horizontal, B: vertical.", [_image(9, 64)]))
    batch = _batch(processor, rows)
    greedy = dict(do_sample=False, max_new_tokens=6)
    with torch.no_grad():
        plain = model.generate(**batch, **greedy)
        with _shared_and_counted(model) as calls:
            assert share_rope_index(model)  # a second time: still one wrapper
            once = model.model.get_rope_index
            assert not isinstance(once.args[0], type(once))
            # generate passes every model input to get_rope_index (pixel values too): still shared
            shared = model.generate(**batch, **greedy)
    assert torch.equal(plain, shared) and calls == [2]


def test_other_models_are_left_as_they_are(tiny_qwen2_5_vl_path):
    model = AutoModelForImageTextToText.from_pretrained(tiny_qwen2_5_vl_path, dtype=torch.float32)
    assert share_rope_index(model) is False and "get_rope_index" not in vars(model.model)
