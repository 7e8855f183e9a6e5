"""The model families roma builds tiny checkpoints of (`roma.models.tiny`), and their sizes.

Which families ROMA *trains* is a different table, keyed by transformers' ``model_type``:
`roma.trainer.layouts.FAMILY_LAYOUTS` (a user adds one with `roma.trainer.layouts.register_layout`). Every family
below has a layout there (tests/test_families.py trains each).
"""

from __future__ import annotations

__all__ = ["FAMILIES", "OTHER_FAMILIES", "QWEN_FAMILIES", "SIZES"]

# The Qwen-VL families: a patch grid per image (``image_grid_thw``); built at both sizes.
QWEN_FAMILIES: tuple[str, ...] = ("qwen3_vl", "qwen2_5_vl", "qwen2_vl")
# The other families TRL's GRPOTrainer trains and ROMA supports (see roma.trainer.layouts); ``tiny`` size only.
OTHER_FAMILIES: tuple[str, ...] = (
    "llava",
    "llava_next",
    "gemma3",
    "idefics3",
    "smolvlm",
    "gemma4",
    "lfm2_vl",
    "internvl",
)
FAMILIES: tuple[str, ...] = QWEN_FAMILIES + OTHER_FAMILIES
SIZES: tuple[str, ...] = ("tiny", "small")
