"""Qwen3-VL's multimodal RoPE positions computed once per distinct row layout (`share_rope_index`).

transformers' ``Qwen3VLModel.get_rope_index`` builds every row's 3-D positions in a Python loop (a group-by over
the row's token types, a tensor per text run and per image): ~1 ms a row, run for every generation batch, every
training forward and every teacher-forced pass. A row's positions depend only on its token types
(``mm_token_type_ids``: text, image, video), its attention mask and the grids of its images, and the rows of a
batch share few such layouts (a sweep's prompts differ in their question by a few templates; a GRPO batch repeats
each prompt). `share_rope_index` replaces the method on one model instance by a wrapper that calls the original on
one row per distinct layout and indexes the positions and deltas out to every row: integer positions, the same
tensors as the original's (`tests/test_rope_index.py` compares them). Batches with videos go to the original.
"""

from __future__ import annotations

import functools
import itertools
from typing import Any

import torch

__all__ = ["share_rope_index"]

_MARK = "_roma_shared_rope_index"  # set on a wrapped method: a second call does not wrap it again


def _image_runs_per_row(types: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """How many images each row holds: runs of image tokens (type 1) among its attended positions (the original
    groups the attended tokens by type; padding, masked out, never splits or joins a run of a real row)."""
    image = (types == 1) & mask.bool()
    previous = torch.zeros_like(image)
    previous[:, 1:] = image[:, :-1]
    return (image & ~previous).sum(dim=1)


def _shared(original: Any, input_ids: torch.Tensor, mm_token_type_ids: torch.Tensor, image_grid_thw=None,
            video_grid_thw=None, attention_mask=None, **ignored) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    # `ignored`: generation passes every model input (pixel values, cache flags); the original ignores them too.
    rows = input_ids.shape[0]
    if video_grid_thw is not None or rows < 2:
        return original(input_ids, mm_token_type_ids, image_grid_thw, video_grid_thw, attention_mask)
    mask = torch.ones_like(input_ids) if attention_mask is None else attention_mask
    counts = _image_runs_per_row(mm_token_type_ids, mask).tolist()
    if sum(counts) != (0 if image_grid_thw is None else len(image_grid_thw)):
        # Not a batch this wrapper understands: the original raises or answers as it always did.
        return original(input_ids, mm_token_type_ids, image_grid_thw, video_grid_thw, attention_mask)
    starts = [0, *itertools.accumulate(counts)]  # row r's images: image_grid_thw[starts[r] : starts[r + 1]]
    types, masks = mm_token_type_ids.cpu().numpy(), mask.cpu().numpy()
    grids = None if image_grid_thw is None else image_grid_thw.cpu().numpy()
    first_of_layout: dict[tuple[bytes, bytes, bytes], int] = {}
    distinct: list[int] = []
    owner = []
    for row in range(rows):
        row_grids = b"" if grids is None else grids[starts[row] : starts[row + 1]].tobytes()
        key = (types[row].tobytes(), masks[row].tobytes(), row_grids)
        if key not in first_of_layout:
            first_of_layout[key] = len(distinct)
            distinct.append(row)
        owner.append(first_of_layout[key])
    if len(distinct) == rows:
        return original(input_ids, mm_token_type_ids, image_grid_thw, video_grid_thw, attention_mask)
    index = torch.tensor(distinct, device=input_ids.device)
    distinct_grids = None
    if image_grid_thw is not None:
        distinct_grids = torch.cat([image_grid_thw[starts[row] : starts[row + 1]] for row in distinct])
    positions, deltas = original(
        input_ids[index],
        mm_token_type_ids[index],
        distinct_grids,
        None,
        None if attention_mask is None else attention_mask[index],
    )
    spread = torch.tensor(owner, device=positions.device)
    return positions[:, spread], deltas[spread.to(deltas.device)]


def share_rope_index(model: Any) -> bool:
    """Wrap ``get_rope_index`` of every Qwen3-VL language-and-vision module in ``model`` (a
    ``Qwen3VLForConditionalGeneration``, a PEFT wrapper of one, or the inner ``Qwen3VLModel``) so that it computes
    each distinct row layout once; True if one was wrapped (now or before). Other models are left as they are."""
    from transformers.models.qwen3_vl.modeling_qwen3_vl import Qwen3VLModel

    wrapped = False
    for module in model.modules():
        if not isinstance(module, Qwen3VLModel):
            continue
        method = module.get_rope_index
        if not getattr(method, _MARK, False):
            shared = functools.partial(_shared, method)
            setattr(shared, _MARK, True)
            module.get_rope_index = shared  # an instance attribute: the class and other instances keep theirs
        wrapped = True
    return wrapped
