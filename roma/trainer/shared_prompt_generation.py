"""Generation with each distinct prompt encoded and prefilled once: the completions TRL's call draws, bit for bit.

TRL's GRPO rolls a group's G completions out of G copies of its prompt (`GRPOTrainer._generate_single_turn` hands
the repeated prompts to ``model.generate``), so transformers runs the vision tower on every image G times and
prefills every prompt G times before sampling. With completions of a few tokens that prefill is most of the
rollout. Inside `shared_prompt_generation`, that one ``generate`` call runs two of its stages on the distinct
prompts only and indexes their results out to every row:

    vision encoder (`_prepare_multimodal_encoder_kwargs_for_generation`): the distinct prompts' images; the per-image
        embeddings (and Qwen3-VL's deepstack features) indexed out to every row's images
    prefill (`_prefill`): the language model over the distinct prompts; the logits and the key/value cache indexed
        out to the rows (`Cache.batch_select_indices`)

Everything else is transformers' own over all rows: the multimodal RoPE positions and their deltas (computed for
the full batch before the prefill), sampling, stopping, the decode steps, the random stream. Each row's prefill is
the same arithmetic on the same values (rows do not mix in a forward), so the samples are those of the plain call:
`tests/test_shared_prompt_generation.py` compares them token for token on tiny Qwen3-VL, Qwen2.5-VL and Qwen2-VL
models.

Rows share a prompt when their tokens, attention mask and image pixels are equal (`shared_prompt_owners`, as in
the loss's shared-prompt pass). Used for Qwen-VL models (their encoders return one embedding per image) in eval
mode or without dropout; anything else, or a batch without a shared prompt, runs the plain call.
"""

from __future__ import annotations

import copy
import functools
import types
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import torch

from roma.trainer.shared_prompt import (
    image_indices_of_rows,
    patch_indices_of_rows,
    shared_prompt_owners,
    supports_shared_prompt,
)

__all__ = ["shared_prompt_generation"]

# Per-row inputs of the prefill (batch on dim 0; 3-D multimodal positions on dim 1); any other tensor input
# runs the plain prefill.
_ROW_INPUTS = ("attention_mask", "mm_token_type_ids", "position_ids")
_PASSED_THROUGH = ("cache", "use_cache", "logits_to_keep", "cache_position")


@contextmanager
def _instance_override(target: Any, name: str, function: Callable) -> Iterator[None]:
    """``target.name`` replaced by ``function`` bound to ``target`` (an instance attribute), restored on exit."""
    had_own = name in vars(target)
    previous = vars(target).get(name)
    setattr(target, name, types.MethodType(function, target))
    try:
        yield
    finally:
        if had_own:
            setattr(target, name, previous)
        else:
            delattr(target, name)


def _select_images(encoder_output: Any, images: list[int]) -> Any:
    """A shallow copy of one modality's encoder output keeping ``images`` (in that order, repeats allowed)."""
    selected = copy.copy(encoder_output)
    selected.pooler_output = tuple(encoder_output.pooler_output[i] for i in images)
    deepstack = getattr(encoder_output, "deepstack_features", None)
    if deepstack is not None:
        selected.deepstack_features = [tuple(layer[i] for i in images) for layer in deepstack]
    return selected


def _has_per_image_outputs(encoder_output: Any, count: int) -> bool:
    pooled = getattr(encoder_output, "pooler_output", None)
    deepstack = getattr(encoder_output, "deepstack_features", None) or []
    return (
        isinstance(pooled, (tuple, list))
        and len(pooled) == count
        and all(isinstance(layer, (tuple, list)) and len(layer) == count for layer in deepstack)
    )


class _SharedPromptPlan:
    """The rows of one ``generate`` call and their distinct prompts; the two stage overrides that use them."""

    def __init__(self, first_rows: list[int], owner: torch.Tensor, num_images: list[int]):
        self.first_rows, self.owner, self.num_images = first_rows, owner, num_images
        # Image i of the distinct prompts' images -> the images of each row, in row order.
        distinct_num_images = [num_images[row] for row in first_rows]
        self.image_owner = image_indices_of_rows(distinct_num_images, owner.tolist())
        self.distinct_images = image_indices_of_rows(num_images, first_rows)

    def encode(self, model: Any, original: Callable, model_kwargs: dict[str, Any]) -> dict[str, Any]:
        if model_kwargs.get("pixel_values") is None or model_kwargs.get("mm_encoder_outputs"):
            return original(model_kwargs)
        grid = model_kwargs["image_grid_thw"]
        distinct = dict(model_kwargs)
        distinct["pixel_values"] = model_kwargs["pixel_values"][
            patch_indices_of_rows(grid, self.num_images, self.first_rows)
        ]
        distinct["image_grid_thw"] = grid[self.distinct_images]
        result = original(distinct)
        encoded = result.get("mm_encoder_outputs") or {}
        if not _has_per_image_outputs(encoded.get("image"), len(self.distinct_images)):
            raise RuntimeError(
                "roma: shared-prompt generation expects the vision encoder to return one embedding per image "
                f"({type(model).__name__} did not); set roma_shared_prompt_forward=False."
            )
        encoded["image"] = _select_images(encoded["image"], self.image_owner)
        for key in ("pixel_values", "image_grid_thw"):  # whatever transformers kept, for every row
            if key in result:
                result[key] = model_kwargs[key]
        return result

    def prefill(
        self, original: Callable, input_ids: torch.Tensor, generation_config: Any, model_kwargs: dict
    ) -> Any:
        unknown = [
            key
            for key, value in model_kwargs.items()
            if isinstance(value, torch.Tensor) and key not in _ROW_INPUTS + _PASSED_THROUGH
        ]
        cache = model_kwargs.get("cache")
        continuing = cache is not None and cache.get_seq_length() > 0  # a second prefill (assisted decoding)
        if unknown or continuing or input_ids.size(0) != self.owner.numel():
            return original(input_ids, generation_config, model_kwargs)
        first = torch.tensor(self.first_rows, device=input_ids.device)
        distinct = dict(model_kwargs)
        for key in _ROW_INPUTS:
            value = model_kwargs.get(key)
            if value is not None:
                distinct[key] = value[:, first] if key == "position_ids" and value.ndim == 3 else value[first]
        encoded = model_kwargs.get("mm_encoder_outputs")
        if encoded:  # every row's images (`encode`): keep the distinct prompts' own
            distinct["mm_encoder_outputs"] = {
                modality: _select_images(output, self.distinct_images) if modality == "image" else output
                for modality, output in encoded.items()
            }
        outputs = original(input_ids[first], generation_config, distinct)
        owner = self.owner.to(input_ids.device)
        outputs.logits = outputs.logits[owner]
        outputs.cache.batch_select_indices(owner)  # in place: the object transformers goes on decoding with
        return outputs


@contextmanager
def shared_prompt_generation(model: Any, num_images: list[int] | None) -> Iterator[None]:
    """Within the block, ``model.generate`` (``model``: the unwrapped transformers model, PEFT's base model) encodes
    and prefills each distinct prompt of its batch once; ``num_images[row]`` is each row's image count (None: the
    plain call, e.g. for a text-only batch)."""
    if num_images is None:
        yield
        return
    original_generate = model.generate

    def generate(self, *args, **kwargs):
        input_ids = kwargs.get("input_ids", args[0] if args else None)
        attention_mask = kwargs.get("attention_mask")
        pixel_values, grid = kwargs.get("pixel_values"), kwargs.get("image_grid_thw")
        usable = (
            supports_shared_prompt(self)  # Qwen-VL: one embedding per image, multimodal RoPE precomputed
            and input_ids is not None
            and attention_mask is not None
            and pixel_values is not None
            and grid is not None
            and kwargs.get("pixel_values_videos") is None
            and len(num_images) == input_ids.size(0)
            and not (self.training and _has_active_dropout(self))
        )
        if not usable:
            return original_generate(*args, **kwargs)
        first_rows, owner = shared_prompt_owners(input_ids, attention_mask, pixel_values, grid, num_images)
        if len(first_rows) == input_ids.size(0):  # no prompt shared: nothing to save
            return original_generate(*args, **kwargs)
        plan = _SharedPromptPlan(first_rows, owner, num_images)
        encode_all = self._prepare_multimodal_encoder_kwargs_for_generation  # the class's, bound
        prefill_all = self._prefill

        def encode(model_self, model_kwargs):
            return plan.encode(model_self, encode_all, model_kwargs)

        def prefill(model_self, input_ids, generation_config, model_kwargs, is_first_iteration=True):
            plain = functools.partial(prefill_all, is_first_iteration=is_first_iteration)
            return plan.prefill(plain, input_ids, generation_config, model_kwargs)

        with ExitStack() as stack:
            stack.enter_context(
                _instance_override(self, "_prepare_multimodal_encoder_kwargs_for_generation", encode)
            )
            stack.enter_context(_instance_override(self, "_prefill", prefill))
            return original_generate(*args, **kwargs)

    with _instance_override(model, "generate", generate):
        yield


def _has_active_dropout(model: torch.nn.Module) -> bool:
    """Whether a forward in training mode draws random numbers (then fewer rows would draw other numbers)."""
    return any(isinstance(module, torch.nn.Dropout) and module.p > 0 for module in model.modules()) or any(
        getattr(config, name, 0)
        for config in _configs(model)
        for name in ("attention_dropout", "hidden_dropout")
    )


def _configs(model: Any) -> list[Any]:
    config = getattr(model, "config", None)
    subconfigs = [getattr(config, name, None) for name in ("text_config", "vision_config")]
    return [c for c in [config, *subconfigs] if c is not None]
