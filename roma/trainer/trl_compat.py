"""The TRL 1.16 internals `RomaGRPOTrainer` relies on, pinned in one place: the hooks it overrides (with their
parameters) and the shape of ``GRPOTrainer._generate``'s result. A TRL upgrade that moves one fails loudly at
construction (`check_trl_hooks`) instead of silently training without the ROMA terms.
"""

from __future__ import annotations

import contextlib
import inspect
import warnings
from collections.abc import Iterator

from trl import GRPOTrainer

__all__ = [
    "GENERATE_IMAGES_INDEX",
    "GENERATE_RESULT_LENGTH",
    "TRL_DEPRECATED_READS",
    "TRL_HOOK_PARAMETERS",
    "check_trl_hooks",
    "trls_deprecated_reads_unreported",
]

# The TRL hooks this subclass overrides, with the parameters it relies on. A TRL upgrade that moves one fails
# loudly here instead of silently training without the ROMA terms (pinned: trl 1.16.x).
TRL_HOOK_PARAMETERS: dict[str, tuple[str, ...]] = {
    "_generate_and_score_completions": ("self", "inputs"),
    "_generate": ("self", "prompts"),
    "_generate_single_turn": (
        "self",
        "prompt_ids",
        "images",
        "multimodal_fields",
        "num_generations",
        "has_tool_images",
    ),
    "_calculate_rewards": ("self", "inputs", "prompts", "completions", "completion_ids_list"),
    "_compute_loss": ("self", "model", "inputs"),
    "_get_per_token_logps_and_entropies": (
        "self",
        "model",
        "input_ids",
        "attention_mask",
        "logits_to_keep",
        "batch_size",
        "compute_entropy",
        "compute_aux_loss",
        "pixel_values",
        "image_grid_thw",
        "num_images",
        "pixel_attention_mask",
        "spatial_shapes",
        "num_tiles",
        "image_sizes",
        "token_type_ids",
        "mm_token_type_ids",
        "image_position_ids",
    ),
}

# GRPOTrainer._generate returns (prompt_ids, completion_ids, tool_mask, completions, logprobs, extra_fields,
# images, tool_images) in trl 1.16; the noisy-rollout baseline swaps the images back to the clean ones.
GENERATE_RESULT_LENGTH = 8
GENERATE_IMAGES_INDEX = 6


# Deprecation warnings that TRL 1.16's own code triggers in transformers on every rollout: it reads
# `model.is_gradient_checkpointing` (renamed `is_activation_checkpointing`) around generation. The user's code makes
# no such call and can do nothing about it, so the warning is not shown there; the same read elsewhere still warns.
TRL_DEPRECATED_READS = ("`is_gradient_checkpointing` is deprecated",)


@contextlib.contextmanager
def trls_deprecated_reads_unreported() -> Iterator[None]:
    """Inside the block, the `TRL_DEPRECATED_READS` FutureWarnings are not reported (the filters are restored on
    exit: a process-wide filter would also hide the user's own calls)."""
    with warnings.catch_warnings():
        for message in TRL_DEPRECATED_READS:
            warnings.filterwarnings("ignore", message=message, category=FutureWarning)
        yield


def check_trl_hooks(trainer_class: type = GRPOTrainer) -> None:
    """Raise if a TRL hook ROMA overrides has moved or changed its parameters."""
    for name, expected in TRL_HOOK_PARAMETERS.items():
        hook = getattr(trainer_class, name, None)
        if hook is None:
            raise RuntimeError(
                f"roma: trl.GRPOTrainer has no hook '{name}' any more; RomaGRPOTrainer overrides it. "
                "This roma release supports trl 1.16.x (see constraints.txt)."
            )
        found = tuple(inspect.signature(hook).parameters)
        if found != expected:
            raise RuntimeError(
                f"roma: the TRL hook GRPOTrainer.{name} moved: expected parameters {expected}, found {found}. "
                "This roma release supports trl 1.16.x (see constraints.txt)."
            )
