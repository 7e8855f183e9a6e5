"""roma: ROMA for TRL, robust multimodal RL post-training against visual degradation.

The trainer pulls in TRL and transformers (~12 s to import), so it is loaded lazily:
``import roma.degrade`` stays light, ``from roma import RomaGRPOTrainer`` loads TRL.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "RomaConfig": "roma.trainer.config",
    "RomaGRPOTrainer": "roma.trainer.trainer",
    "DegradationSampler": "roma.degrade",
    "corrupt": "roma.degrade",
}

__all__ = ["DegradationSampler", "RomaConfig", "RomaGRPOTrainer", "__version__", "corrupt"]

if TYPE_CHECKING:  # pragma: no cover
    from roma.degrade import DegradationSampler, corrupt
    from roma.trainer.config import RomaConfig
    from roma.trainer.trainer import RomaGRPOTrainer


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'roma' has no attribute {name!r}")
