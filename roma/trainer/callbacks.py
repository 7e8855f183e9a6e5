"""Trainer callbacks (transformers' `TrainerCallback` protocol) used by roma's training stages."""

from __future__ import annotations

import collections
from collections.abc import Callable
from concurrent.futures import Future

from tqdm.auto import tqdm
from transformers import TrainerCallback


class StopAtTargetInBackground(TrainerCallback):
    """Validate a copy of the weights every ``eval_steps`` (and after the last step) while training goes on, and stop
    training at the first validation, in step order, whose accuracy reaches ``target``; `restore` then puts that
    step's weights back into the model (training ran a few steps past it while the validation ran).

    transformers' `EarlyStoppingCallback` stops when a metric stops improving; this one when it is good enough:
    the supervised warm start uses it so that RL starts from a model of a known accuracy (how far a fixed number
    of steps gets is chaotic, a target is not). Why in the background: an in-loop evaluation (`Trainer.evaluate`)
    holds training up, about a quarter of the warm start's time on one core while a second core sat idle. The
    checkpoint is the same either way: the weights of the step whose validation reached the target.

    ``submit(weights)`` starts one validation of a state dict and returns a future of its accuracy (the warm start
    runs them one at a time in a second process, `roma.scripts.warm_start_validation`). ``history`` lists the
    (step, accuracy) pairs validated (``metric`` names it in the log), ``stopped_at`` the step that reached the
    target (None: none did).

    ``in_step``: training waits for each validation before its next step. For a training that uses every core:
    beside it, the validation's threads and the training's slow each other down several times over (OpenMP
    threads spin while they wait for a descheduled peer), so taking turns is quicker. The checkpoint is the same."""

    def __init__(
        self,
        target: float,
        eval_steps: int,
        submit: Callable[[dict], Future],
        metric: str = "answer_accuracy",
        *,
        in_step: bool = False,
    ):
        self.target = target
        self.eval_steps = eval_steps
        self.submit = submit
        self.metric = metric
        self.in_step = in_step
        self.history: list[tuple[int, float]] = []
        self.stopped_at: int | None = None
        self._pending: collections.deque[tuple[int, Future]] = collections.deque()
        self._snapshots: dict[int, dict] = {}

    def on_step_end(self, args, state, control, model=None, **kwargs):
        step = state.global_step
        if self.stopped_at is None and (step % self.eval_steps == 0 or step >= state.max_steps):
            weights = {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}
            self._snapshots[step] = weights
            self._pending.append((step, self.submit(weights)))
        self._collect(state, wait=self.in_step)
        if self.stopped_at is not None:
            control.should_training_stop = True
        return control

    def on_train_end(self, args, state, control, **kwargs):
        # The validations still running: the last one may be the first to reach the target.
        self._collect(state, wait=True)

    def restore(self, model) -> None:
        """Load the weights of the step that reached the target into ``model`` (nothing when none did)."""
        if self.stopped_at is not None:
            model.load_state_dict(self._snapshots[self.stopped_at])

    def _collect(self, state, *, wait: bool) -> None:
        """Record the finished validations in step order (``wait``: all of them) until one reaches the target:
        in ``history``, in the trainer's ``log_history`` (as an in-loop evaluation's ``eval_<metric>``) and on the
        console, as transformers' progress callback writes a log."""
        while self._pending and self.stopped_at is None:
            step, future = self._pending[0]
            if not (wait or future.done()):
                return
            try:
                accuracy = float(future.result())
            except Exception as error:
                raise RuntimeError(
                    f"StopAtTargetInBackground: the validation of step {step} failed: {error}"
                ) from error
            self._pending.popleft()
            self.history.append((step, accuracy))
            state.log_history.append({f"eval_{self.metric}": accuracy, "step": step})
            tqdm.write(f"validation at step {step}: {self.metric} {accuracy:.4f} (target {self.target:.4f})")
            if accuracy >= self.target:
                self.stopped_at = step
            else:
                del self._snapshots[step]
        if self.stopped_at is not None:
            for _, future in self._pending:  # later steps: not needed any more
                future.cancel()
            self._pending.clear()
