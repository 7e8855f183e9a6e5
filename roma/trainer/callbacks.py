"""Trainer callbacks (transformers' `TrainerCallback` protocol) used by roma's training stages."""

from __future__ import annotations

from transformers import TrainerCallback


class StopAtTargetAccuracy(TrainerCallback):
    """Stop training at the first evaluation whose ``metric`` reaches ``target`` (transformers'
    `EarlyStoppingCallback` stops when a metric stops improving; this one when it is good enough).

    The supervised warm start uses it so that RL starts from a model of a known accuracy: how far a fixed number
    of steps gets is chaotic, a target is not. ``stopped_at`` is the step it stopped at (None: never reached)."""

    def __init__(self, target: float, metric: str = "eval_answer_accuracy"):
        self.target = target
        self.metric = metric
        self.stopped_at: int | None = None

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        value = (metrics or {}).get(self.metric)
        if value is None:
            raise KeyError(
                f"StopAtTargetAccuracy: the evaluation reported no {self.metric!r} (got {sorted(metrics or {})})."
            )
        if value >= self.target and self.stopped_at is None:
            self.stopped_at = state.global_step
            control.should_training_stop = True
        return control
