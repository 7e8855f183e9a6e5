"""Tiny vision-language checkpoints of every family roma trains, built offline (``roma tiny-model``).

transformers loads only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from roma._lazy import lazy_getattr

_LAZY = {
    "FAMILIES": "roma.models.families",
    "SIZES": "roma.models.families",
    "MODEL_SPECS": "roma.models.qwen",
    "TinyModelSpec": "roma.models.qwen",
    "get_spec": "roma.models.qwen",
    "build_config": "roma.models.tiny",
    "build_processor": "roma.models.tiny",
    "build_tiny_model": "roma.models.tiny",
    "build_tokenizer": "roma.models.tokenizer",
    "resolve_model": "roma.models.resolve",
    "set_pixel_range": "roma.models.processing",
}

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
    from roma.models.families import FAMILIES, SIZES
    from roma.models.processing import set_pixel_range
    from roma.models.qwen import MODEL_SPECS, TinyModelSpec, get_spec
    from roma.models.resolve import resolve_model
    from roma.models.tiny import build_config, build_processor, build_tiny_model
    from roma.models.tokenizer import build_tokenizer

__getattr__ = lazy_getattr(__name__, _LAZY)
