"""The warm start's supervised rows and its validation metric (`roma.scripts.warm_start` trains with them).

* `synthetic_sft_dataset`: a synthetic split as TRL conversational prompt-completion rows, the completion
  `target_completion` (``\\boxed{ANSWER}``, what `roma.grading` extracts).
* `predicted_tokens` and `completion_exact_match`: `Trainer`'s ``preprocess_logits_for_metrics`` and
  ``compute_metrics`` for the target-stopped warm start (teacher-forced exact match of the whole completion).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from roma.data.prompts import build_conversation
from roma.data.synthetic import make_synthetic_dataset

if TYPE_CHECKING:  # pragma: no cover
    from datasets import Dataset


def target_completion(answer: str) -> str:
    """The supervised completion for a gold ``answer``: ``\\boxed{ANSWER}`` (what `roma.grading` extracts)."""
    return f"\\boxed{{{answer}}}"


# The old name, kept for one release: `roma.rewards.completion_text` is the text *of* a model's completion.
completion_text = target_completion


def synthetic_sft_dataset(
    num_samples: int, *, seed: int = 0, image_size: int = 64, split: str = "train"
) -> Dataset:
    """A synthetic split as TRL conversational prompt-completion rows: ``prompt``, ``completion``, ``image``."""
    rows = make_synthetic_dataset(split, num_samples, seed=seed, image_size=image_size)

    def to_prompt_completion(question: str, answer: str) -> dict[str, Any]:
        return {
            "prompt": build_conversation(question),
            "completion": [
                {"role": "assistant", "content": [{"type": "text", "text": target_completion(answer)}]}
            ],
        }

    return rows.map(
        to_prompt_completion,
        input_columns=["question", "answer"],
        remove_columns=[name for name in rows.column_names if name != "image"],
        desc="Warm start: prompt-completion rows",
    )


def predicted_tokens(logits: Any, labels: Any) -> Any:
    """The model's greedy token at every position (`Trainer`'s ``preprocess_logits_for_metrics``: keeps the
    evaluation's memory at one id per token instead of a vocabulary of logits)."""
    if isinstance(logits, tuple):  # a model output with more than the logits (e.g. rope deltas)
        logits = logits[0]
    return logits.argmax(dim=-1)


def completion_exact_match(prediction: Any) -> dict[str, float]:
    """``answer_accuracy``: the fraction of rows whose every completion token (label != -100) is the model's
    greedy prediction at the position before it (teacher forcing; `VALIDATION_METRIC`)."""
    import numpy as np

    predicted, labels = np.asarray(prediction.predictions), np.asarray(prediction.label_ids)
    targets = labels[:, 1:]
    scored = targets != -100
    hits = (predicted[:, :-1] == targets) | ~scored
    correct = hits.all(axis=1) & scored.any(axis=1)
    return {"answer_accuracy": float(correct.mean()) if len(correct) else 0.0}
