"""roma: ROMA for TRL, robust multimodal RL post-training against visual degradation.

The trainer pulls in TRL and transformers (~12 s to import), so it is loaded lazily:
``import roma.degrade`` stays light, ``from roma import RomaGRPOTrainer`` loads TRL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from roma._lazy import lazy_getattr

_LAZY = {
    "__version__": "roma._version",
    "RomaConfig": "roma.trainer.config",
    "RomaGRPOTrainer": "roma.trainer.trainer",
    "DegradationSampler": "roma.degrade",
    "corrupt": "roma.degrade",
}

__all__ = ["DegradationSampler", "RomaConfig", "RomaGRPOTrainer", "__version__", "corrupt"]

if TYPE_CHECKING:  # pragma: no cover
    from roma._version import __version__
    from roma.degrade import DegradationSampler, corrupt
    from roma.trainer.config import RomaConfig
    from roma.trainer.trainer import RomaGRPOTrainer

__getattr__ = lazy_getattr(__name__, _LAZY)
