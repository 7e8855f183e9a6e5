"""The GRPO log-prob pass with each group's prompt run once: the same numbers as TRL's pass, fewer tokens.

TRL's `_get_per_token_logps_and_entropies` runs the model over prompt + completion for every completion, so a
group of G completions runs its (shared) prompt G times, forward and backward. When the prompt is most of the
sequence (a Qwen-VL prompt is image tokens plus a question; a completion may be a few tokens), that repetition
is most of the step. Here the distinct prompts run once, their key/value cache is indexed out to the
completions that share them (an indexing op, so the gradient of every completion flows back into its prompt's
single forward), and the completions run against that cache:

    prefill:      unique prompts, tokens [0, P - 1), with their images          -> cache (U rows)
    continuation: every row, tokens [P - 1, P + T) against cache[owner[row]]    -> log-probs of the T completion tokens

The last prompt token opens the continuation so that its hidden state, which predicts the first completion
token, goes through TRL's fused LM head with the completion positions (one head, TRL's temperature and
chunking). Positions are the model's own multimodal RoPE indices of the full sequences (`compute_3d_position_ids`),
sliced, so every token sits where TRL's pass puts it. `tests/test_shared_prompt.py` checks log-probs, entropies
and parameter gradients against TRL's pass.

Used where it is exact and supported: one process (DDP and DeepSpeed expect one forward per backward), Qwen-VL
families (their `compute_3d_position_ids`), prompts with images in `pixel_values` / `image_grid_thw`, no gradient
checkpointing (which turns the cache off in training), no MoE auxiliary loss, and at least one prompt shared by two
rows. Anything else returns None and the caller runs TRL's
pass.
"""

from __future__ import annotations

from typing import Any

import torch


def image_indices_of_rows(num_images: list[int], rows: list[int]) -> list[int]:
    """Indices of the images of ``rows`` (in row order), from each row's image count."""
    starts = [0]
    for count in num_images:
        starts.append(starts[-1] + count)
    return [image for row in rows for image in range(starts[row], starts[row + 1])]


def shared_prompt_owners(
    prompt_ids: torch.Tensor,
    prompt_mask: torch.Tensor,
    pixel_values: torch.Tensor,
    image_grid_thw: torch.Tensor,
    num_images: list[int],
) -> tuple[list[int], torch.Tensor]:
    """Rows with equal prompt tokens, mask and image pixels share a prompt: ``(first_rows, owner)`` where
    ``first_rows`` lists one row per distinct prompt and ``owner[row]`` is the index into ``first_rows`` of its
    prompt. Pixels are compared exactly (a degraded or differently resized image is another prompt), on their own
    device: only the token ids (small) go to the host, to group the candidates."""
    per_image = torch.split(pixel_values, image_grid_thw.prod(dim=-1).tolist())
    first_rows: list[int] = []
    owner: list[int] = []
    candidates: dict[bytes, list[int]] = {}  # token key -> indices into first_rows
    for row in range(prompt_ids.size(0)):
        key = prompt_ids[row].cpu().numpy().tobytes() + prompt_mask[row].cpu().numpy().tobytes()
        images = [per_image[i] for i in image_indices_of_rows(num_images, [row])]
        for index in candidates.setdefault(key, []):
            other = [per_image[i] for i in image_indices_of_rows(num_images, [first_rows[index]])]
            if len(other) == len(images) and all(map(torch.equal, other, images)):
                break
        else:
            index = len(first_rows)
            first_rows.append(row)
            candidates[key].append(index)
        owner.append(index)
    return first_rows, torch.tensor(owner, dtype=torch.long, device=prompt_ids.device)


def patch_indices_of_rows(
    image_grid_thw: torch.Tensor, num_images: list[int], rows: list[int]
) -> torch.Tensor:
    """Indices into `pixel_values` of the patches of the images of ``rows`` (in row order)."""
    rows_per_image = image_grid_thw.prod(dim=-1)
    image_starts = torch.cat([rows_per_image.new_zeros(1), rows_per_image.cumsum(0)]).tolist()
    pieces = [
        torch.arange(image_starts[image], image_starts[image + 1])
        for image in image_indices_of_rows(num_images, rows)
    ]
    return torch.cat(pieces).to(image_grid_thw.device)


def supports_shared_prompt(model: Any) -> bool:
    """Whether ``model`` (unwrapped, PEFT's base model) exposes the multimodal RoPE indices this pass needs."""
    backbone = getattr(model, "model", None)
    return callable(getattr(backbone, "compute_3d_position_ids", None))


def shared_prompt_logps_and_entropies(
    model: Any,
    backbone: Any,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    logits_to_keep: int,
    *,
    pixel_values: torch.Tensor,
    image_grid_thw: torch.Tensor,
    num_images: list[int],
    mm_token_type_ids: torch.Tensor | None,
    compute_entropy: bool,
    autocast: Any,
) -> tuple[torch.Tensor, torch.Tensor | None] | None:
    """Per-token log-probs (and entropies) of the last ``logits_to_keep`` tokens of ``input_ids``, as TRL's
    `_get_per_token_logps_and_entropies` computes them, with each distinct prompt run once; None when no prompt
    is shared (nothing to save: the caller runs TRL's pass).

    ``model`` is the trainer's model (wrapped as it is for the loss: DDP, DeepSpeed, PEFT; it carries TRL's fused
    LM head), ``backbone`` the unwrapped model's multimodal backbone (``.model``, for the RoPE indices only).
    """
    prompt_length = input_ids.size(1) - logits_to_keep
    first_rows, owner = shared_prompt_owners(
        input_ids[:, :prompt_length],
        attention_mask[:, :prompt_length],
        pixel_values,
        image_grid_thw,
        num_images,
    )
    if len(first_rows) == input_ids.size(0) or prompt_length < 2:
        return None
    # The model's own multimodal RoPE positions of the full sequences (what TRL's pass computes inside the model),
    # sliced below: the prefill and the continuation put every token where a full forward puts it.
    with torch.no_grad():
        position_ids = backbone.compute_3d_position_ids(
            input_ids=input_ids,
            inputs_embeds=None,
            image_grid_thw=image_grid_thw,
            video_grid_thw=None,
            attention_mask=attention_mask,
            cache=None,
            mm_token_type_ids=mm_token_type_ids,
        )
    backbone.rope_deltas = None  # computed for the full batch; generation recomputes its own at prefill
    if position_ids is None:
        return None
    first = torch.tensor(first_rows, device=input_ids.device)
    prefill_kwargs: dict[str, Any] = {
        "input_ids": input_ids[first, : prompt_length - 1],
        "attention_mask": attention_mask[first, : prompt_length - 1],
        "position_ids": position_ids[:, first, : prompt_length - 1],
        "pixel_values": pixel_values[patch_indices_of_rows(image_grid_thw, num_images, first_rows)],
        "image_grid_thw": image_grid_thw[image_indices_of_rows(num_images, first_rows)],
        "use_cache": True,
        "logits_to_keep": 1,  # the prefill's logits are not used; keep their cost to one position
    }
    if mm_token_type_ids is not None:
        prefill_kwargs["mm_token_type_ids"] = mm_token_type_ids[first, : prompt_length - 1]
    # Positions are given, so labels are pre-shifted: position p's label is token p + 1. The continuation's last
    # position has no next token.
    continuation_ids = input_ids[:, prompt_length - 1 :]
    shift_labels = input_ids[:, prompt_length:].masked_fill(attention_mask[:, prompt_length:] == 0, -100)
    shift_labels = torch.cat([shift_labels, shift_labels.new_full((shift_labels.size(0), 1), -100)], dim=1)
    with autocast():
        prefill = model(**prefill_kwargs)
        cache = prefill.cache
        cache.batch_select_indices(
            owner
        )  # indexing: each completion's gradient flows back to its prompt's rows
        outputs = model(
            input_ids=continuation_ids,
            attention_mask=attention_mask,
            position_ids=position_ids[:, :, prompt_length - 1 :],
            cache=cache,
            shift_labels=shift_labels,
            fused_lm_head=True,
        )
    logps = outputs.log_probs[:, :logits_to_keep]
    entropies = outputs.entropy[:, :logits_to_keep] if compute_entropy else None
    return logps, entropies


# Arguments of TRL's log-prob pass for image layouts other than Qwen-VL's (patches + grid): not shared here.
_OTHER_LAYOUT_ARGUMENTS = (
    "pixel_attention_mask",
    "spatial_shapes",
    "num_tiles",
    "image_sizes",
    "token_type_ids",
    "image_position_ids",
)


def unwrap_base_model(accelerator: Any, model: Any) -> Any:
    """``model`` without its DDP / DeepSpeed wrappers and, under PEFT, the base model (whose modules hold the
    LoRA layers)."""
    unwrapped = accelerator.unwrap_model(model)
    return unwrapped.get_base_model() if hasattr(unwrapped, "get_base_model") else unwrapped


def shared_prompt_pass(
    arguments: dict[str, Any], enabled: bool, accelerator: Any
) -> tuple[torch.Tensor, torch.Tensor | None, None] | None:
    """TRL's `_get_per_token_logps_and_entropies(**arguments)` result, ``(logps, entropies, None)``, through
    `shared_prompt_logps_and_entropies` where it applies (see the module docstring); None where it is not
    ``enabled`` or does not apply, and TRL's pass must run."""
    if not enabled or accelerator.num_processes > 1:
        # Two forwards before one backward: DDP syncs gradients per forward and would wait on the other ranks.
        return None
    unwrapped = unwrap_base_model(accelerator, arguments["model"])
    if arguments.get("compute_aux_loss") or any(
        arguments.get(name) is not None for name in _OTHER_LAYOUT_ARGUMENTS
    ):
        return None
    if any(arguments.get(name) is None for name in ("pixel_values", "image_grid_thw", "num_images")):
        return None
    if getattr(unwrapped, "is_activation_checkpointing", False) or not supports_shared_prompt(unwrapped):
        return None
    result = shared_prompt_logps_and_entropies(
        arguments["model"],
        unwrapped.model,
        arguments["input_ids"],
        arguments["attention_mask"],
        arguments["logits_to_keep"],
        pixel_values=arguments["pixel_values"],
        image_grid_thw=arguments["image_grid_thw"],
        num_images=arguments["num_images"],
        mm_token_type_ids=arguments.get("mm_token_type_ids"),
        compute_entropy=bool(arguments.get("compute_entropy")),
        autocast=accelerator.autocast,
    )
    return None if result is None else (*result, None)
