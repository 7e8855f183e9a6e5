"""The warm start's supervised rows and its validation metric (`roma.scripts.warm_start` trains with them).

* `synthetic_sft_dataset`: a synthetic split as TRL conversational prompt-completion rows, the completion
  `target_completion` (``\\boxed{ANSWER}``, what `roma.grading` extracts).
* `predicted_tokens` and `completion_exact_match`: `Trainer`'s ``preprocess_logits_for_metrics`` and
  ``compute_metrics`` for the target-stopped warm start (teacher-forced exact match of the whole completion).
* `sft_config` and `validation_arguments`: the ``trl.SFTConfig`` of the warm start (a `WarmStartConfig`'s) and the
  evaluation arguments of its validation; the training process and the validation process
  (`roma.scripts.warm_start_validation`) both build their trainers with them.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from roma.data.prompts import build_conversation
from roma.data.synthetic import (
    answer_for_scene,
    generate_scenes,
    question_for_scene,
    render_scene,
    scene_to_json,
)

if TYPE_CHECKING:  # pragma: no cover
    from datasets import Dataset

# Fixed optimiser details (the tunable ones are arguments). A linear decay to zero after a short warm-up gave the
# best accuracy for a fixed number of steps in the calibration (see `roma.scripts.warm_start.warm_start`).
LR_SCHEDULER = "linear"
WARMUP_RATIO = 0.05
EVAL_BATCH_SIZE = 64
# The metric `completion_exact_match` reports (`Trainer.evaluate` prefixes it: ``eval_answer_accuracy``).
ANSWER_ACCURACY = "answer_accuracy"


def target_completion(answer: str) -> str:
    """The supervised completion for a gold ``answer``: ``\\boxed{ANSWER}`` (what `roma.grading` extracts)."""
    return f"\\boxed{{{answer}}}"


# The old name, kept for one release: `roma.rewards.completion_text` is the text *of* a model's completion.
completion_text = target_completion


def synthetic_sft_dataset(
    num_samples: int, *, seed: int = 0, image_size: int = 64, split: str = "train"
) -> Dataset:
    """A synthetic split as TRL conversational prompt-completion rows: ``prompt``, ``completion``, ``image``.

    The rows are the scenes of `make_synthetic_dataset` (the same images, questions and answers), rendered when a
    batch reads them (`Dataset.with_transform`): a warm start that stops at its target reads ~18,000 of its
    24,000 rows, and rendering and PNG-encoding all of them first took ~25 s. The underlying column is ``scene``,
    which `sft_config` keeps (``remove_unused_columns=False``)."""
    from datasets import Dataset

    scenes = generate_scenes(split, num_samples, seed=seed, image_size=image_size)
    rows = Dataset.from_dict({"scene": [scene_to_json(scene) for scene in scenes]}, split=split)
    return rows.with_transform(_prompt_completion_rows)


def _prompt_completion_rows(batch: dict[str, list[str]]) -> dict[str, list[Any]]:
    """`synthetic_sft_dataset`'s transform: a batch of scene JSONs as prompt, completion and image rows."""
    scenes = [json.loads(scene) for scene in batch["scene"]]
    return {
        "prompt": [build_conversation(question_for_scene(scene)) for scene in scenes],
        "completion": [
            [
                {
                    "role": "assistant",
                    "content": [{"type": "text", "text": target_completion(answer_for_scene(scene))}],
                }
            ]
            for scene in scenes
        ],
        "image": [render_scene(scene) for scene in scenes],
    }


def predicted_tokens(logits: Any, labels: Any) -> Any:
    """The model's greedy token at every position (`Trainer`'s ``preprocess_logits_for_metrics``: keeps the
    evaluation's memory at one id per token instead of a vocabulary of logits)."""
    if isinstance(logits, tuple):  # a model output with more than the logits (e.g. rope deltas)
        logits = logits[0]
    return logits.argmax(dim=-1)


def exact_match_rows(predicted: Any, labels: Any) -> Any:
    """Per row: whether every completion token (label != -100) is the model's greedy prediction at the position
    before it (teacher forcing), and there is one; ``predicted`` and ``labels`` are (rows, tokens) arrays."""
    import numpy as np

    predicted, labels = np.asarray(predicted), np.asarray(labels)
    targets = labels[:, 1:]
    scored = targets != -100
    hits = (predicted[:, :-1] == targets) | ~scored
    return hits.all(axis=1) & scored.any(axis=1)


def completion_exact_match(prediction: Any) -> dict[str, float]:
    """``answer_accuracy``: the fraction of rows `exact_match_rows` counts (`Trainer`'s ``compute_metrics``;
    `VALIDATION_METRIC`)."""
    correct = exact_match_rows(prediction.predictions, prediction.label_ids)
    return {ANSWER_ACCURACY: float(correct.mean()) if len(correct) else 0.0}


def validation_arguments(config: Any) -> dict[str, Any]:
    """`SFTTrainer`'s evaluation arguments for a target-stopped warm start: the validation rows and the
    exact-match metric (`VALIDATION_METRIC`); `roma.scripts.warm_start_validation` evaluates with them."""
    return {
        "eval_dataset": synthetic_sft_dataset(
            config.eval_samples, seed=0, image_size=config.image_size, split="validation"
        ),
        "compute_metrics": completion_exact_match,
        "preprocess_logits_for_metrics": predicted_tokens,
    }


def sft_config(out_dir: Path, config: Any) -> Any:
    """The `trl.SFTConfig` of the warm start (its evaluation settings are the validation's,
    `roma.scripts.warm_start_validation`; the training loop itself never evaluates)."""
    from trl import SFTConfig  # only when training: a cache hit never pays for TRL

    return SFTConfig(
        output_dir=str(out_dir),
        max_steps=config.steps,
        per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        lr_scheduler_type=LR_SCHEDULER,
        warmup_steps=math.ceil(WARMUP_RATIO * config.steps),
        seed=config.seed,
        use_cpu=True,
        bf16=False,
        # A 1.7 M-parameter model needs no activation memory savings; recomputation would cost ~30 % a step.
        activation_checkpointing=False,
        completion_only_loss=True,
        remove_unused_columns=False,  # the rows' one column, ``scene``, is what synthetic_sft_dataset renders
        max_length=None,  # prompts are ~110 tokens; truncation could only cut image tokens
        logging_steps=max(1, min(10, config.steps // 10)),
        save_strategy="no",
        report_to="none",
        disable_tqdm=False,
        eval_strategy="no",
        per_device_eval_batch_size=EVAL_BATCH_SIZE,
    )
