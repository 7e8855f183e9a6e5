"""The warm start's validation in a second process, beside its training (`roma.scripts.warm_start`).

`BackgroundValidation` starts one spawned Python that loads the base checkpoint once and builds an evaluation-only
``trl.SFTTrainer`` on the validation rows with the warm start's own settings (`roma.scripts.warm_start._sft_config`:
batch size, metric, thread count); each `BackgroundValidation.submit` sends a copy of the weights (safetensors
bytes) and returns a future of `VALIDATION_METRIC`. It is the same evaluation `Trainer.evaluate` ran inside the
training loop before, on the same weights, rows and thread count, so it gives the same accuracy to the bit; only
the training no longer waits for it. The CPU kernel variables (`roma.numerics`) reach the child through its
environment.
"""

from __future__ import annotations

import multiprocessing
import signal
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from roma.scripts.warm_start import WarmStartConfig

ACCURACY_KEY = (
    "eval_answer_accuracy"  # `completion_exact_match`'s answer_accuracy, as `Trainer.evaluate` names it
)

# The child's evaluation-only trainer, built once by `_load_validator` (a process-global: the executor's
# initializer has nowhere else to put it).
_VALIDATOR: Any = None


class BackgroundValidation:
    """A one-process pool that scores weight snapshots on the warm start's validation rows, one at a time.

    ``source``: the checkpoint the warm start loaded (its architecture and processor); ``work_dir``: the child
    trainer's output folder (it writes nothing there). Use as a context manager, or call `close`."""

    def __init__(self, source: str | Path, config: WarmStartConfig, work_dir: str | Path):
        self._pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),  # no fork of a process that holds torch threads
            initializer=_load_validator,
            initargs=(str(source), asdict(config), str(work_dir)),
        )

    def submit(self, weights: dict) -> Future:
        """Validate the state dict ``weights``; a future of its accuracy (a fraction)."""
        from safetensors.torch import save

        return self._pool.submit(_validation_accuracy, save(weights))

    def close(self, *, wait: bool = True) -> None:
        """Stop the child: after the validation it runs (``wait``), or without waiting (an interrupted run)."""
        self._pool.shutdown(wait=wait, cancel_futures=True)

    def __enter__(self) -> BackgroundValidation:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        self.close(wait=kind is None)


def _load_validator(source: str, config_fields: dict[str, Any], work_dir: str) -> None:
    """In the child: load the model and processor and build the evaluation-only trainer."""
    global _VALIDATOR
    # A Ctrl-C reaches the whole process group: the training process ends this one (`close`), without a
    # KeyboardInterrupt traceback from here.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor
    from trl import SFTTrainer

    from roma.scripts.warm_start import WarmStartConfig, _sft_config, _validation_arguments

    config = WarmStartConfig(**config_fields)
    if config.cpu_threads is not None:
        torch.set_num_threads(config.cpu_threads)  # the thread count is part of the float sums
    model = AutoModelForImageTextToText.from_pretrained(source, dtype="float32")
    processor = AutoProcessor.from_pretrained(source)
    args = _sft_config(Path(work_dir), config)
    args.disable_tqdm = True  # the training process reports each validation
    evaluation = _validation_arguments(config)
    # SFTTrainer requires training rows; it gets the validation rows, and is only ever asked to evaluate.
    _VALIDATOR = SFTTrainer(
        model=model,
        args=args,
        processing_class=processor,
        train_dataset=evaluation["eval_dataset"],
        **evaluation,
    )


def _validation_accuracy(weights: bytes) -> float:
    """In the child: load ``weights`` (safetensors bytes) and return the validation answer accuracy."""
    from safetensors.torch import load

    _VALIDATOR.model.load_state_dict(load(weights))
    return float(_VALIDATOR.evaluate()[ACCURACY_KEY])
