"""The warm start's validation in a second process, beside its training (`roma.scripts.warm_start`).

`BackgroundValidation` starts one spawned Python that loads the base checkpoint once and builds an evaluation-only
``trl.SFTTrainer`` on the validation rows with the warm start's own settings (`roma.scripts.warm_start_data.sft_config`:
batch size, metric, thread count); each `BackgroundValidation.submit` sends a copy of the weights (safetensors
bytes) down a pipe and returns a future of `VALIDATION_METRIC`, which a reader thread completes when the answer
comes back. It is the same evaluation `Trainer.evaluate` ran inside the training loop before, on the same weights,
rows and thread count, so it gives the same accuracy to the bit; only the training no longer waits for it. The CPU
kernel variables (`roma.numerics`) reach the child through its environment.

A pipe and a process, not a `ProcessPoolExecutor`: an interrupted warm start ends the child at once (a pool has
no public way to stop a running task) and leaves no semaphore behind for the resource tracker to warn about after
``roma train``'s one-line message.
"""

from __future__ import annotations

import collections
import contextlib
import multiprocessing
import signal
import sys
import tempfile
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any

_STOP = b""  # sent instead of weights: the child exits after the validation it runs


class BackgroundValidation:
    """A second process that scores weight snapshots on the warm start's validation rows, one at a time, in the
    order they are submitted.

    ``source``: the checkpoint the warm start loaded (its architecture and processor); ``config``: its
    `roma.scripts.warm_start.WarmStartConfig` (not imported here: that module imports this one). The child
    trainer's output folder is a temporary one, removed by `close` (Trainer creates it; it must not end up in the
    cached checkpoint). Use as a context manager, or call `close`."""

    def __init__(self, source: str | Path, config: Any):
        context = multiprocessing.get_context("spawn")  # no fork of a process that holds torch threads
        self._connection, child_end = context.Pipe()
        self._work_dir = tempfile.TemporaryDirectory(prefix="roma-warm-start-validation-")
        self._process = context.Process(
            target=_serve,
            args=(child_end, str(source), config, self._work_dir.name),
            name="roma-warm-start-validation",
            daemon=True,
        )
        self._process.start()  # now: it loads the model while training starts
        child_end.close()
        self._waiting: collections.deque[Future] = collections.deque()
        self._ended: RuntimeError | None = None  # set by the reader thread when the child's pipe closes
        self._lock = threading.Lock()
        self._reader = threading.Thread(
            target=self._read_results, name="roma-validation-results", daemon=True
        )
        self._reader.start()

    def submit(self, weights: dict) -> Future:
        """Validate the state dict ``weights``; a future of its accuracy (a fraction)."""
        from safetensors.torch import save

        future: Future = Future()
        with self._lock:
            if self._ended is not None:  # the child is gone: nothing will answer
                future.set_exception(self._ended)
                return future
            self._waiting.append(future)
        with contextlib.suppress(OSError):  # the child died meanwhile: the reader thread fails the future
            self._connection.send_bytes(save(weights))
        return future

    def close(self, *, wait: bool = True) -> None:
        """Stop the child: after the validation it runs (``wait``), or at once (an interrupted warm start)."""
        if wait:
            with contextlib.suppress(OSError):  # it is gone already
                self._connection.send_bytes(_STOP)
        else:
            self._process.terminate()
        self._process.join()
        self._reader.join()
        self._connection.close()
        self._work_dir.cleanup()

    def __enter__(self) -> BackgroundValidation:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        self.close(wait=kind is None)

    def _read_results(self) -> None:
        """In a thread: complete the oldest waiting future with each answer; fail them all if the child ends."""
        while True:
            try:
                ok, value = self._connection.recv()
            except (EOFError, OSError):
                break
            with self._lock:
                future = self._waiting.popleft()
            if not future.set_running_or_notify_cancel():  # cancelled: nobody wants this answer
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(RuntimeError(value))
        self._process.join(timeout=10)  # for its exit code
        ended = RuntimeError(f"the validation process ended (exit code {self._process.exitcode})")
        with self._lock:
            waiting, self._waiting, self._ended = list(self._waiting), collections.deque(), ended
        for future in waiting:
            if future.set_running_or_notify_cancel():
                future.set_exception(ended)


def _serve(connection: Any, source: str, config: Any, work_dir: str) -> None:
    """In the child: load the validator, then answer each weights message with (ok, accuracy or error text)."""
    # A Ctrl-C reaches the whole process group: the training process ends this one (`close`), without a
    # KeyboardInterrupt traceback from here. Its SIGTERM exits through Python's exit path, whose finalizers give
    # the semaphores back (tqdm's lock): killed outright, the resource tracker would warn of a leak.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(0))
    try:
        validator, failure = _load_validator(source, config, work_dir), None
    except Exception as error:  # reported with every request, in the training process
        validator, failure = None, f"cannot load the model from {source}: {type(error).__name__}: {error}"
    while True:
        try:
            message = connection.recv_bytes()
        except EOFError:  # the training process is gone
            return
        if message == _STOP:
            return
        if failure is not None:
            connection.send((False, failure))
            continue
        try:
            connection.send((True, _validation_accuracy(validator, message)))
        except Exception as error:
            connection.send((False, f"{type(error).__name__}: {error}"))


def _load_validator(source: str, config: Any, work_dir: str) -> Any:
    """The evaluation-only trainer: the model and processor of ``source``, the warm start's validation rows."""
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor
    from trl import SFTTrainer

    from roma.scripts.warm_start_data import sft_config, validation_arguments

    if config.cpu_threads is not None:
        torch.set_num_threads(config.cpu_threads)  # the thread count is part of the float sums
    from roma.models.rope_index import share_rope_index

    model = AutoModelForImageTextToText.from_pretrained(source, dtype="float32")
    share_rope_index(model)  # as the training process's model (the same positions, computed once per layout)
    processor = AutoProcessor.from_pretrained(source)
    args = sft_config(Path(work_dir), config)
    args.disable_tqdm = True  # the training process reports each validation
    evaluation = validation_arguments(config)
    # SFTTrainer requires training rows; it gets the validation rows, and is only ever asked to evaluate.
    return SFTTrainer(
        model=model,
        args=args,
        processing_class=processor,
        train_dataset=evaluation["eval_dataset"],
        **evaluation,
    )


def _validation_accuracy(validator: Any, weights: bytes) -> float:
    """Load ``weights`` (safetensors bytes) into the validator's model; its validation answer accuracy.

    One forward a batch: ``validator.evaluate()`` with the logits metric ran two (TRL's fused LM head computes
    the loss without the logits, then `SFTTrainer.compute_loss` recomputes them for the metric; TRL deprecates
    that path), and only the logits count. This is that recomputing forward (the batch but its labels, no cache,
    eval mode, no grad) on the evaluation's own batches, so the accuracy is the same to the bit."""
    import torch
    from safetensors.torch import load

    from roma.scripts.warm_start_data import exact_match_rows, predicted_tokens

    model = validator.model
    model.load_state_dict(load(weights))
    model.eval()
    correct = rows = 0
    with torch.no_grad():
        for batch in validator.get_eval_dataloader():
            inputs = validator._prepare_inputs(batch)
            labels = inputs.pop("labels")
            logits = model(**inputs, use_cache=False).logits
            hits = exact_match_rows(predicted_tokens(logits, labels).numpy(), labels.numpy())
            correct, rows = correct + int(hits.sum()), rows + len(hits)
    return correct / rows if rows else 0.0
