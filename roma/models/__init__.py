"""Tiny Qwen-VL checkpoints built offline (``roma tiny-model``); transformers loads only when used."""

from __future__ import annotations

from typing import TYPE_CHECKING

from roma._lazy import lazy_getattr

_LAZY = {
    name: "roma.models.tiny"
    for name in (
        "FAMILIES",
        "SIZES",
        "MODEL_SPECS",
        "TinyModelSpec",
        "build_config",
        "build_processor",
        "build_tiny_model",
        "build_tokenizer",
        "get_spec",
        "resolve_model",
    )
}

_LAZY["set_pixel_range"] = "roma.models.processing"

__all__ = [
    "FAMILIES",
    "MODEL_SPECS",
    "SIZES",
    "TinyModelSpec",
    "build_config",
    "build_processor",
    "build_tiny_model",
    "build_tokenizer",
    "get_spec",
    "resolve_model",
    "set_pixel_range",
]

if TYPE_CHECKING:  # pragma: no cover
    from roma.models.processing import set_pixel_range
    from roma.models.tiny import (
        FAMILIES,
        MODEL_SPECS,
        SIZES,
        TinyModelSpec,
        build_config,
        build_processor,
        build_tiny_model,
        build_tokenizer,
        get_spec,
        resolve_model,
    )

__getattr__ = lazy_getattr(__name__, _LAZY)
