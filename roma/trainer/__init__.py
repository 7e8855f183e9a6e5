"""ROMA on TRL: `RomaConfig`, `RomaGRPOTrainer` and the pure loss functions in `roma.trainer.losses`."""

from roma.trainer.config import RomaConfig
from roma.trainer.trainer import RomaGRPOTrainer

__all__ = ["RomaConfig", "RomaGRPOTrainer"]
