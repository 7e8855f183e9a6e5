"""Training data: the bundled synthetic task, dataset loading and column mapping, prompt building.

Attributes load lazily so ``import roma.data`` stays light (no ``datasets`` import until needed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from roma._lazy import lazy_getattr

_LAZY = {
    "DEFAULT_INSTRUCTION": "roma.data.prompts",
    "build_conversation": "roma.data.prompts",
    "to_conversational": "roma.data.prompts",
    "make_synthetic_dataset": "roma.data.synthetic",
    "make_synthetic_splits": "roma.data.synthetic",
    "render_scene": "roma.data.synthetic",
    "answer_for_scene": "roma.data.synthetic",
    "question_for_scene": "roma.data.synthetic",
    "load_training_dataset": "roma.data.loading",
    "DatasetLoadingError": "roma.data.loading",
}

__all__ = [
    "DEFAULT_INSTRUCTION",
    "DatasetLoadingError",
    "answer_for_scene",
    "build_conversation",
    "load_training_dataset",
    "make_synthetic_dataset",
    "make_synthetic_splits",
    "question_for_scene",
    "render_scene",
    "to_conversational",
]

if TYPE_CHECKING:  # pragma: no cover
    from roma.data.loading import DatasetLoadingError, load_training_dataset
    from roma.data.prompts import DEFAULT_INSTRUCTION, build_conversation, to_conversational
    from roma.data.synthetic import (
        answer_for_scene,
        make_synthetic_dataset,
        make_synthetic_splits,
        question_for_scene,
        render_scene,
    )

__getattr__ = lazy_getattr(__name__, _LAZY)
