"""ROMA on TRL: `RomaConfig`, `RomaGRPOTrainer` and the pure loss functions in `roma.trainer.losses`.

Loaded lazily: importing a submodule that needs no TRL (e.g. a warm-start cache hit) does not pay for TRL.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY = {"RomaConfig": "roma.trainer.config", "RomaGRPOTrainer": "roma.trainer.trainer"}

__all__ = ["RomaConfig", "RomaGRPOTrainer"]

if TYPE_CHECKING:  # pragma: no cover
    from roma.trainer.config import RomaConfig
    from roma.trainer.trainer import RomaGRPOTrainer


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'roma.trainer' has no attribute {name!r}")
