"""How each vision-language family lays out its image inputs, and how ROMA builds, checks and batches its views.

ROMA scores the clean prompt's tokens (image placeholders included) under K degraded views of its images. A view
is the family's own image processor applied to the degraded images; it may replace the clean image inputs only
if it has the same layout (same patch grid, same number of tiles, same image sizes), so that the prompt's image
tokens still match. Corruptions keep each image's width and height (`roma.degrade.corrupt` enforces it), so a
processor whose tiling depends on the image size tiles the view like the clean image; the layout check below is
the guard for user corruptions that break that contract.

Processors lay out image inputs in one of four ways, which are the ways TRL 1.16's
``GRPOTrainer._get_per_token_logps_and_entropies`` slices them (one `ViewLayout` each):

- ``grid`` (Qwen2-VL, Qwen2.5-VL, Qwen3-VL): ``pixel_values`` holds ``prod(image_grid_thw)`` patch rows per
  image, flat over the batch; ``image_grid_thw`` must match;
- ``image`` (LLaVA, Gemma 3; LLaVA-NeXT with ``image_sizes``; Gemma 4 with ``image_position_ids``): ``pixel_values``
  has one entry per image (LLaVA-NeXT: the image's tiles, zero-padded to the batch's most; Gemma 4: its patches,
  padded to the processor's fixed most, at position -1); ``image_sizes`` / ``image_position_ids`` must match;
- ``sample`` (Idefics3, SmolVLM): ``pixel_values`` and ``pixel_attention_mask`` have one entry per prompt, its
  images' tiles zero-padded to the batch's most (the model drops all-zero tiles); ``pixel_attention_mask`` (which
  tiles and pixels are real) must match;
- ``tile`` (InternVL; LFM2-VL with ``pixel_attention_mask`` and ``spatial_shapes``): ``pixel_values`` has one entry per
  tile, flat over the batch, ``num_tiles`` (TRL's, per prompt) counting each prompt's; a batch whose images are
  all one tile carries no ``num_tiles`` (one tile per image). LFM2-VL's tiles are patch sequences padded to the
  processor's fixed most; ``pixel_attention_mask`` (which patches are real) and ``spatial_shapes`` (each tile's
  patch grid) must match.

A view replaces only ``pixel_values``; the layout's other inputs come from the clean batch. Rows of several
prompts (and K views) are batched for one teacher-forced forward by concatenation, zero-padding tile counts.

Per-token inputs (``mm_token_type_ids`` of Qwen-VL, ``token_type_ids`` of Gemma 3) describe the prompt's tokens,
which the views share: they are taken from the clean batch. `FAMILY_LAYOUTS` is the one table of the families
ROMA trains; `register_layout` adds a family of one's own. Families not in it are refused at construction with
the reason (`layout_for`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Literal

import torch

# Per-token forward inputs the views share with the clean prompt (zeros over the completion, as TRL pads them).
PER_TOKEN_KEYS = ("mm_token_type_ids", "token_type_ids")


@dataclass(frozen=True)
class ViewLayout:
    """One layout of a processor's image inputs (see the module docstring).

    A view replaces only ``pixel_values``; the other image inputs (``check_keys``) describe the layout, must come
    out of the image processor unchanged for the view, and are taken from the clean batch.
    """

    name: str
    unit: Literal["grid", "image", "sample", "tile"] = field(
        metadata={
            "help": "What the first dimension of pixel_values counts: patch rows, images, prompts or tiles."
        }
    )
    check_keys: tuple[str, ...] = field(
        default=(),
        metadata={"help": "Image inputs besides pixel_values, which a view must reproduce exactly."},
    )

    @property
    def keys(self) -> tuple[str, ...]:
        return ("pixel_values", *self.check_keys)

    def process(self, image_processor, images: list) -> dict[str, torch.Tensor]:
        """One prompt's (degraded) images through the family's image processor: the inputs of this layout."""
        # A "sample" processor takes a nested list (one inner list per prompt); the others a flat list of images.
        processed = image_processor(images=[images] if self.unit == "sample" else images, return_tensors="pt")
        missing = [key for key in self.keys if key not in processed]
        if missing:
            raise NotImplementedError(
                f"roma: the image processor {type(image_processor).__name__} returned {sorted(processed.keys())}, "
                f"without {missing}, which the {self.name} layout needs to check and batch degraded views."
            )
        return {key: processed[key] for key in self.keys}

    def clean_rows(self, inputs: dict[str, Any], row: int) -> dict[str, torch.Tensor]:
        """The clean image inputs of sample ``row`` of TRL's batch dict, as `process` returns them."""
        if self.unit == "sample":  # one entry per prompt, padded with all-zero tiles to the batch's most
            real = int(inputs["pixel_attention_mask"][row].flatten(1).any(-1).sum())
            return {key: inputs[key][row : row + 1, :real] for key in self.keys}
        if self.unit == "tile":
            # TRL's num_tiles per prompt; absent when every image of the batch is one tile.
            tiles = _offsets(inputs.get("num_tiles") or inputs["num_images"])
            return {key: inputs[key][tiles[row] : tiles[row + 1]] for key in self.keys}
        images = _offsets(inputs["num_images"])
        start, end = images[row], images[row + 1]
        rows = {key: inputs[key][start:end] for key in self.check_keys}
        if self.unit == "grid":
            patches = _offsets(inputs["image_grid_thw"].prod(-1).tolist())
            start, end = patches[start], patches[end]
        return {"pixel_values": inputs["pixel_values"][start:end], **rows}

    def mismatch(self, view: dict[str, torch.Tensor], clean: dict[str, torch.Tensor]) -> str | None:
        """Why ``view`` (from `process`) cannot stand in for ``clean`` (from `clean_rows`), or None if it can."""
        for key in self.check_keys:
            expected = clean[key]
            if view[key].shape != expected.shape or not torch.equal(view[key].to(expected), expected):
                return f"{key} {_summary(expected)} became {_summary(view[key])}"
        view_shape, clean_shape = (
            _unpadded_shape(self, view["pixel_values"]),
            _unpadded_shape(self, clean["pixel_values"]),
        )
        if view_shape != clean_shape:
            return f"pixel_values of shape {clean_shape} became {view_shape}"
        return None

    def batch(
        self, inputs: dict[str, Any], rows: list[int], pixel_values: list[torch.Tensor] | None = None
    ) -> dict[str, torch.Tensor]:
        """The image forward inputs of ``rows`` of TRL's batch dict, for one forward pass: the clean ones, or with
        ``pixel_values[i]`` (a view, from `process`) standing in for row ``rows[i]``'s clean pixel values."""
        parts = [self.clean_rows(inputs, row) for row in rows]
        if pixel_values is not None:
            for part, view in zip(parts, pixel_values, strict=True):
                part["pixel_values"] = view
        return {key: _pad_cat([part[key] for part in parts]) for key in self.keys}


GRID = ViewLayout("grid", "grid", ("image_grid_thw",))
IMAGE = ViewLayout("image", "image")
IMAGE_TILES = ViewLayout("image_tiles", "image", ("image_sizes",))
SAMPLE = ViewLayout("sample", "sample", ("pixel_attention_mask",))
IMAGE_POSITIONS = ViewLayout("image_positions", "image", ("image_position_ids",))
TILE = ViewLayout("tile", "tile")
TILE_PATCHES = ViewLayout("tile_patches", "tile", ("pixel_attention_mask", "spatial_shapes"))

# The one table of the model families ROMA trains: transformers' model_type -> layout. The built-in entries are
# the families tests/test_families.py trains (tiny checkpoints of each, `roma.models.families`); a user adds one
# with `register_layout` (docs/extending.md, "Add a model family").
FAMILY_LAYOUTS: dict[str, ViewLayout] = {
    "qwen2_vl": GRID,
    "qwen2_5_vl": GRID,
    "qwen3_vl": GRID,
    "llava": IMAGE,
    "gemma3": IMAGE,
    "llava_next": IMAGE_TILES,
    "idefics3": SAMPLE,
    "smolvlm": SAMPLE,
    "gemma4": IMAGE_POSITIONS,
    "lfm2_vl": TILE_PATCHES,
    "internvl": TILE,
}

# Families TRL 1.16's GRPOTrainer has code paths for, refused here with the reason: none at present (Gemma 4,
# LFM2-VL and InternVL, refused until their layouts were written and tested, are in FAMILY_LAYOUTS).
REFUSED_FAMILIES: dict[str, str] = {}


# The layouts a family can have, by name: what `register_layout` takes besides a ViewLayout of one's own.
LAYOUTS: dict[str, ViewLayout] = {
    layout.name: layout for layout in (GRID, IMAGE, IMAGE_TILES, SAMPLE, IMAGE_POSITIONS, TILE, TILE_PATCHES)
}


def register_layout(model_type: str, layout: ViewLayout | str, *, replace: bool = False) -> ViewLayout:
    """Let `RomaGRPOTrainer` train the model family ``model_type`` (its ``config.model_type``): its processor lays
    out image inputs as ``layout``, a `ViewLayout` or the name of a built-in one (`LAYOUTS`: ``grid``, ``image``,
    ``image_tiles``, ``sample``, ``image_positions``, ``tile``, ``tile_patches``; see the module docstring).

    As `roma.degrade.register_corruption` and `roma.evaluation.benchmarks.register_benchmark` do for their
    tables, this adds to the one table of families, `FAMILY_LAYOUTS`, from code that runs before the trainer
    is built; no roma file changes (docs/extending.md, "Add a model family"). Returns the registered layout.

    Raises:
        ValueError: ``model_type`` is registered with another layout (pass ``replace=True`` to change it) or
            is refused (`REFUSED_FAMILIES`); ``layout`` names no built-in layout.
        TypeError: ``layout`` is neither a `ViewLayout` nor a name.
    """
    if isinstance(layout, str):
        if layout not in LAYOUTS:
            raise ValueError(
                f"unknown layout {layout!r}: expected a ViewLayout or one of {', '.join(LAYOUTS)}"
            )
        layout = LAYOUTS[layout]
    if not isinstance(layout, ViewLayout):
        raise TypeError(f"register_layout needs a ViewLayout or a layout name, got {type(layout).__name__}")
    if model_type in REFUSED_FAMILIES:
        raise ValueError(f"model type {model_type!r} is refused: {REFUSED_FAMILIES[model_type]}")
    registered = FAMILY_LAYOUTS.get(model_type)
    if registered is not None and registered != layout and not replace:
        raise ValueError(
            f"model type {model_type!r} is registered already with the {registered.name!r} layout; pass "
            "replace=True to register it anew."
        )
    FAMILY_LAYOUTS[model_type] = layout
    return layout


def layout_for(model_type: str, image_processor) -> ViewLayout:
    """The layout of ``model_type``'s image inputs; raises NotImplementedError naming the reason if unsupported."""
    supported = ", ".join(sorted(FAMILY_LAYOUTS))
    hint = (
        f"Supported model types: {supported}; register your own family with "
        'roma.trainer.layouts.register_layout(model_type, layout) (docs/extending.md, "Add a model family"). '
        "Set roma_kl_coef = roma_aux_coef = 0 to train plain GRPO on this model."
    )
    if model_type in REFUSED_FAMILIES:
        raise NotImplementedError(
            f"roma: model type '{model_type}' is not supported: {REFUSED_FAMILIES[model_type]}. {hint}"
        )
    layout = FAMILY_LAYOUTS.get(model_type)
    if layout is None:
        raise NotImplementedError(
            f"roma: model type '{model_type}' is not supported: ROMA scores each degraded view with the clean "
            "prompt's image tokens and needs to know how the family's processor lays out image inputs (patch grid, "
            "tiles, images, prompts) to check and batch the views; roma has no tested layout for "
            f"'{model_type}' (its image processor: {type(image_processor).__name__}). {hint}"
        )
    if getattr(image_processor, "do_pan_and_scan", False):
        raise NotImplementedError(
            f"roma: model type '{model_type}' with do_pan_and_scan=True is not supported: pan-and-scan crops add "
            f"pixel_values entries beyond one per image, which TRL 1.16 does not slice per sample. {hint}"
        )
    return layout


def _offsets(counts: list[int]) -> list[int]:
    """Start offsets of consecutive runs of ``counts`` items, with the total last: [0, c0, c0 + c1, ...]."""
    return [0, *itertools.accumulate(counts)]


def _unpadded_shape(layout: ViewLayout, pixel_values: torch.Tensor) -> tuple[int, ...]:
    """pixel_values' shape, less the tile count a batch pads to its most (LLaVA-NeXT; ``image_sizes`` fix it)."""
    if "image_sizes" in layout.check_keys:
        return (pixel_values.shape[0], *pixel_values.shape[2:])
    return tuple(pixel_values.shape)


def _summary(tensor: torch.Tensor) -> str:
    """A short description of a layout tensor for error messages: its values if small, else its shape."""
    return str(tensor.tolist()) if tensor.numel() <= 12 else f"of shape {tuple(tensor.shape)}"


def _pad_cat(tensors: list[torch.Tensor]) -> torch.Tensor:
    """Concatenate along dim 0, zero-padding the other dims to the largest (a plain cat when all agree)."""
    shapes = {tuple(t.shape[1:]) for t in tensors}
    if len(shapes) == 1:
        return torch.cat(tensors)
    largest = [max(sizes) for sizes in zip(*shapes, strict=True)]
    padded = []
    for tensor in tensors:
        pad: list[int] = []
        for size, target in zip(reversed(tensor.shape[1:]), reversed(largest), strict=True):
            pad += [0, target - size]
        padded.append(torch.nn.functional.pad(tensor, pad))
    return torch.cat(padded)
