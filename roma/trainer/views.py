"""ROMA's degraded views of a training batch, with no TRL in sight: keys, preparation, pixel values, forward inputs.

`RomaGRPOTrainer` (`roma.trainer.trainer`) calls these from its TRL hooks; everything here is a function of its
arguments (a dataset row, a `DegradationSampler`, the family's `ViewLayout`, TRL's batch dict), so it is tested
without TRL (`tests/test_views.py`):

- `view_cache_key`, `training_view_id`, `aux_view_indices`: which views a row gets at a step, and which of them
  its auxiliary policy-gradient term uses;
- `prompts_with_images`, `prepare_views`: the K views of each prompt, degraded and run through the family's image
  processor (in the trainer's background thread while TRL generates);
- `degraded_pixel_values`: the prepared views per sample, each layout checked against the clean one, on a device;
- `views_forward_inputs`, `clean_forward_kwargs`: the teacher-forced forward inputs of (view, row) pairs and of
  the clean rows;
- `rollout_view_id`, `with_degraded_images`, `noisy_rollout_prompts`: the rows and prompts the two rollout baselines (``roma_rollout_degradation``
  ``noisy_rollout`` and ``augmentation``) roll out on, one view per prompt and step drawn by the same sampler.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from roma.data.prompts import images_digest, message_images, replace_message_images, row_images
from roma.degrade import DegradationRecord, DegradationSampler, rng_for
from roma.trainer.layouts import PER_TOKEN_KEYS, ViewLayout

__all__ = [
    "PreparedViews",
    "aux_view_indices",
    "clean_forward_kwargs",
    "degraded_pixel_values",
    "noisy_rollout_prompts",
    "prepare_views",
    "prompts_with_images",
    "rollout_view_id",
    "training_view_id",
    "view_cache_key",
    "views_forward_inputs",
    "with_degraded_images",
]

# view key -> (CPU pixel values [K, ...], the K records, the K processed image inputs)
PreparedViews = dict[str, tuple[torch.Tensor, list[DegradationRecord], list[dict[str, torch.Tensor]]]]


def view_cache_key(example: dict[str, Any], key: str) -> str:
    """The key a row's prepared views are shared under within a batch: its prompt key, plus a digest of its images
    when the key is a user ``id``.

    Rows that share an ``id`` but carry different images (a dataset with repeated ids) thus get views of their
    own images, never one another's; the corruption drawn still depends only on the ``id`` (`training_view_id`).
    """
    return key if example.get("id") is None else f"{key}#{images_digest(example)}"


def training_view_id(key: str, step: int) -> str:
    """The sample id of a prompt's ROMA views at a training step.

    With the trainer's sampler, ``DegradationSampler(roma_corruptions, (roma_severity_min, roma_severity_max),
    roma_seed)``, ``sampler.sample(row_images(row), training_view_id(prompt_key(row), step), view)`` returns the
    view the trainer used (before the image processor).
    """
    return f"{key}@step{step}"


def rollout_view_id(purpose: str, key: str, step: int) -> str:
    """The sample id of a prompt's degraded row for a rollout baseline (``purpose``: its mode) at a step."""
    return f"{purpose}/{key}@step{step}"


def aux_view_indices(seed: int, keys: list[str], step: int, start: int, num_views: int) -> list[int]:
    """One uniformly drawn view per completion for the auxiliary PG term, keyed like the views themselves
    (``start``: the global index of the first row, the process's offset in the generation batch)."""
    return [int(rng_for(seed, "aux", key, step, start + i).integers(num_views)) for i, key in enumerate(keys)]


def prompts_with_images(
    inputs: list[dict[str, Any]], keys: list[str], view_keys: list[str]
) -> dict[str, tuple[str, list]]:
    """``view key -> (prompt key, images)`` for the rows of ``inputs`` that carry images, each view key once."""
    per_prompt: dict[str, tuple[str, list]] = {}
    for example, key, view_key in zip(inputs, keys, view_keys, strict=True):
        images = row_images(example)
        if images and view_key not in per_prompt:
            per_prompt[view_key] = (key, images)
    return per_prompt


def prepare_views(
    per_prompt: dict[str, tuple[str, list]],
    step: int,
    image_processor,
    sampler: DegradationSampler,
    layout: ViewLayout,
    num_views: int,
) -> PreparedViews:
    """Per view key (see `view_cache_key`): its K views as CPU pixel values [K, ...] (the prompt's pixel values
    as the family's image processor lays them out), their records and image inputs (layout, to check), from
    ``per_prompt[view_key] = (prompt key, images)``.

    A pure function of (images, key, step): the same views whichever thread or process prepares them.
    """
    prepared = {}
    for view_key, (key, images) in per_prompt.items():
        pixel_values, records, processed_views = [], [], []
        for view in range(num_views):
            # One corruption (type, severity) per view, applied to every image of the prompt.
            degraded, record = sampler.sample(images, training_view_id(key, step), view)
            processed = layout.process(image_processor, degraded)
            pixel_values.append(processed["pixel_values"])
            records.append(record)
            processed_views.append(processed)
        prepared[view_key] = (torch.stack(pixel_values), records, processed_views)
    return prepared


def degraded_pixel_values(
    keys: list[str],
    output: dict[str, Any],
    prepared: PreparedViews,
    layout: ViewLayout,
    num_views: int,
    device: torch.device | str,
) -> tuple[list, list, torch.Tensor]:
    """The prepared views of each sample (``keys``: its view key), layouts checked against the clean ones of TRL's
    batch ``output``, on ``device``.

    Returns (per-sample view pixel values [K, ...] or None, per-sample view names, has-image mask [B]).
    """
    local = len(keys)
    none_names = [None] * num_views
    if not prepared:
        # No image in this batch: no ROMA terms.
        return [None] * local, [none_names] * local, torch.zeros(local, dtype=torch.bool)
    missing = [key for key in ("num_images", *layout.keys) if output.get(key) is None]
    if missing:
        raise RuntimeError(
            f"roma: the batch has images but TRL's inputs carry no {missing}; the degraded views cannot be scored "
            "(the ROMA terms would be silently zero)."
        )

    on_device: dict[str, tuple[torch.Tensor, list[str]]] = {}
    views: list[torch.Tensor | None] = []
    names: list[list[str | None]] = []
    for row, key in enumerate(keys):
        if key not in prepared:
            views.append(None)
            names.append(none_names)
            continue
        if key not in on_device:
            pixel_values, records, processed_views = prepared[key]
            clean = layout.clean_rows(output, row)
            for record, processed in zip(records, processed_views, strict=True):
                mismatch = layout.mismatch(processed, clean)
                if mismatch is not None:
                    raise ValueError(
                        f"roma: corruption '{record.name}' (severity {record.severity}) changed the image layout "
                        f"of sample '{key}' ({mismatch}): a degraded view must keep each image's width and "
                        "height, so that the prompt's image tokens are unchanged."
                    )
            on_device[key] = (pixel_values.to(device), [r.name for r in records])
        pixel_values, view_names = on_device[key]
        views.append(pixel_values)
        names.append(view_names)
    has_image = torch.tensor([v is not None for v in views], dtype=torch.bool)
    return views, names, has_image


def views_forward_inputs(inputs: dict[str, Any], pairs: list[tuple[int, int]], layout: ViewLayout):
    """input ids, attention mask and forward kwargs scoring each (view, row) pair: row's completion on view k."""
    rows = [row for _, row in pairs]
    forward_kwargs: dict[str, Any] = layout.batch(
        inputs, rows, [inputs["roma_pixel_values"][row][k] for k, row in pairs]
    )
    forward_kwargs["pixel_values"] = forward_kwargs["pixel_values"].to(inputs["pixel_values"].dtype)
    forward_kwargs["num_images"] = [inputs["num_images"][row] for row in rows]
    if inputs.get("num_tiles") is not None:
        # Tile-indexed pixel values (InternVL, LFM2-VL): TRL slices them by each prompt's tile count.
        forward_kwargs["num_tiles"] = [inputs["num_tiles"][row] for row in rows]
    for key in PER_TOKEN_KEYS:
        if inputs.get(key) is not None:
            forward_kwargs[key] = inputs[key][rows]
    input_ids = torch.cat([inputs["prompt_ids"][rows], inputs["completion_ids"][rows]], dim=1)
    attention_mask = torch.cat([inputs["prompt_mask"][rows], inputs["completion_mask"][rows]], dim=1)
    return input_ids, attention_mask, forward_kwargs


def clean_forward_kwargs(inputs: dict[str, Any], rows: list[int], layout: ViewLayout) -> dict[str, Any]:
    """The forward kwargs of the clean prompts of ``rows`` (their image inputs and per-token inputs)."""
    clean_kwargs: dict[str, Any] = layout.batch(inputs, rows)
    for key in PER_TOKEN_KEYS:
        if inputs.get(key) is not None:
            clean_kwargs[key] = inputs[key][rows]
    return clean_kwargs


def with_degraded_images(
    example: dict[str, Any],
    sampler: DegradationSampler,
    sample_id: str,
    severity: Callable[[float], float] | None = None,
) -> dict[str, Any]:
    """A copy of a dataset row whose image(s) carry one degraded view: view 0 of ``sample_id`` drawn by
    ``sampler`` (`DegradationSampler.apply`), its severity passed through ``severity`` when given (the noisy
    rollout's annealing). A row without images is returned as is."""
    images = row_images(example)
    if not images:
        return example
    record = sampler.sample_params(sample_id, 0)
    if severity is not None:
        record = DegradationRecord(record.name, severity(record.severity))
    degraded = sampler.apply(images, sample_id, record)
    key = "images" if "images" in example else "image"
    return {**example, key: degraded if key == "images" else degraded[0]}


def noisy_rollout_prompts(
    prompts: list,
    rows: list[dict[str, Any]],
    group_size: int,
    fraction: float,
    start: int,
    degrade: Callable[[dict[str, Any]], dict[str, Any]],
) -> list:
    """The NoisyRollout-style baseline's prompts: those of the first ``fraction`` of each group of ``group_size``
    (at least one; ``start``: the global index of the first prompt) carry the images of ``degrade(row)``."""
    noisy_per_group = max(1, round(fraction * group_size))
    noisy_prompts = []
    for i, (prompt, example) in enumerate(zip(prompts, rows, strict=True)):
        images = message_images(prompt)
        if images and (start + i) % group_size < noisy_per_group:
            prompt = replace_message_images(prompt, row_images(degrade(example)))
        noisy_prompts.append(prompt)
    return noisy_prompts
