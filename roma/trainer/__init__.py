"""ROMA on TRL: `RomaConfig`, `RomaGRPOTrainer` and the pure loss functions in `roma.trainer.losses`.

Loaded lazily: importing a submodule that needs no TRL (e.g. a warm-start cache hit) does not pay for TRL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from roma._lazy import lazy_getattr

_LAZY = {"RomaConfig": "roma.trainer.config", "RomaGRPOTrainer": "roma.trainer.trainer"}

__all__ = ["RomaConfig", "RomaGRPOTrainer"]

if TYPE_CHECKING:  # pragma: no cover
    from roma.trainer.config import RomaConfig
    from roma.trainer.trainer import RomaGRPOTrainer

__getattr__ = lazy_getattr(__name__, _LAZY)
