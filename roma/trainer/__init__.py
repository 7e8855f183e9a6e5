"""ROMA on TRL: `RomaConfig`, `RomaGRPOTrainer` and the pure loss functions in `roma.trainer.losses`; the model
families it trains in one table, `FAMILY_LAYOUTS` (`register_layout` adds one).

Loaded lazily: importing a submodule that needs no TRL (e.g. a warm-start cache hit) does not pay for TRL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from roma._lazy import lazy_getattr

_LAZY = {
    "RomaConfig": "roma.trainer.config",
    "RomaGRPOTrainer": "roma.trainer.trainer",
    "FAMILY_LAYOUTS": "roma.trainer.layouts",
    "ViewLayout": "roma.trainer.layouts",
    "register_layout": "roma.trainer.layouts",
}

__all__ = ["FAMILY_LAYOUTS", "RomaConfig", "RomaGRPOTrainer", "ViewLayout", "register_layout"]

if TYPE_CHECKING:  # pragma: no cover
    from roma.trainer.config import RomaConfig
    from roma.trainer.layouts import FAMILY_LAYOUTS, ViewLayout, register_layout
    from roma.trainer.trainer import RomaGRPOTrainer

__getattr__ = lazy_getattr(__name__, _LAZY)
