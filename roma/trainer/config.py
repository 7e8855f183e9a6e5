"""`RomaConfig`: TRL's `GRPOConfig` plus the ROMA switches.

Every new field carries ``metadata={"help": ...}`` so `TrlParser` / `HfArgumentParser` build the command line
from it. The paper (arXiv 2605.09262) does not publish K, λ, μ, the KL estimator and direction, the max
granularity or the correctness threshold; each is a switch here with the default the method notes start from
(``docs/method.md`` says what was measured).
"""

from __future__ import annotations

import math
import numbers
import typing
from dataclasses import dataclass, field, fields

import numpy as np
from trl import GRPOConfig

from roma._lists import comma_list
from roma.degrade import MAX_SEVERITY, MIN_SEVERITY, resolve_corruptions
from roma.trainer.losses import (
    FULL_VOCABULARY,
    KL_DIRECTIONS,
    KL_ESTIMATORS,
    KL_REDUCTIONS,
    kl_estimator_help,
)

ROLLOUT_DEGRADATIONS = ("none", "noisy_rollout", "augmentation")
AUX_FORMS = ("clipped", "plain")
# Loss types whose normalisation the ROMA terms mirror (see `roma.trainer.losses.normalise_masked_loss`).
SUPPORTED_LOSS_TYPES = ("dapo", "grpo", "bnpo", "dr_grpo", "cispo", "sapo", "luspo", "vespo")


@dataclass
class RomaConfig(GRPOConfig):
    r"""
    Configuration for [`RomaGRPOTrainer`]: every [`trl.GRPOConfig`] field plus the ROMA terms

        L = L_GRPO(clean) + λ · avg_{i∈S,t} max_k D(ℓ^k_{i,t}, sg(ℓ^c_{i,t})) + μ · avg_{i∈S,t} [−A_i ℓ^{k_i}_{i,t}]

    where S are the completions the correctness reward judges correct. With ``roma_kl_coef = roma_aux_coef = 0``
    the trainer is exactly `GRPOTrainer`.
    """

    # TRL's default (on, as `GRPOConfig` says) sits on transformers' deprecated name, so every plain
    # `GRPOConfig()` warns that `gradient_checkpointing` is deprecated though its user never wrote it. Here the
    # old name is unset unless given (and then it takes effect, with transformers' warning) and the same default
    # lands on the new name (`__post_init__`).
    gradient_checkpointing: bool | None = field(
        default=None,
        metadata={
            "help": "Deprecated name of activation_checkpointing (transformers 5); unset, TRL's default holds: "
            "activation checkpointing on."
        },
    )
    roma_num_views: int = field(
        default=2,
        metadata={
            "help": "K: degraded views of each prompt's image(s), teacher-forced on the clean completions."
        },
    )
    roma_kl_coef: float = field(
        default=0.1,
        metadata={"help": "λ: weight of the worst-case token-level KL between clean and degraded views."},
    )
    roma_aux_coef: float = field(
        default=0.1,
        metadata={"help": "μ: weight of the auxiliary policy gradient on one uniformly drawn degraded view."},
    )
    roma_aux_form: str = field(
        default="clipped",
        metadata={
            "help": "Form of the auxiliary PG term. 'clipped' (default) treats it as TRL treats the GRPO term: "
            "ratio to the old policy's log-probs on the same view, clipped with epsilon / epsilon_high (and delta), "
            "the high-entropy token mask and vLLM's importance-sampling correction; 'plain' is −A·log π on the "
            "view, with none of them (equal to 'clipped' when the policy has not moved since generation).",
            "choices": list(AUX_FORMS),
        },
    )
    roma_views_micro_batch: int | None = field(
        default=None,
        metadata={
            "help": "Rows (view × completion) per forward of the views pass. None: all K·|S| rows in one forward. "
            "A number: forwards of at most that many rows, each recomputed in the backward (activation "
            "checkpointing), so peak memory stays that of one chunk whatever K; same loss and gradients, one "
            "extra forward per chunk."
        },
    )
    roma_kl_estimator: str = field(
        default="k3",
        metadata={
            "help": f"Per-token KL estimator (roma.trainer.losses.KL_ESTIMATORS): {kl_estimator_help()}.",
            "choices": list(KL_ESTIMATORS),
        },
    )
    roma_kl_reduction: str = field(
        default="token_max",
        metadata={
            "help": "Worst case over views: 'token_max' (max over K per token), 'sequence_max' (the view with the "
            "largest mean KL per sequence) or 'mean' (plain mean over views, an ablation).",
            "choices": list(KL_REDUCTIONS),
        },
    )
    roma_kl_direction: str = field(
        default="clean_to_degraded",
        metadata={
            "help": "'clean_to_degraded' is KL(pi(.|clean) || pi(.|degraded)); 'degraded_to_clean' the reverse.",
            "choices": list(KL_DIRECTIONS),
        },
    )
    roma_stop_grad_clean: bool = field(
        default=True,
        metadata={"help": "Stop the KL's gradient through the clean side (the clean policy is the target)."},
    )
    roma_correctness_gate: bool = field(
        default=True,
        metadata={
            "help": "Apply the ROMA terms only to completions judged correct. False is an ablation: every "
            "completion is regularised."
        },
    )
    roma_correctness_reward: str | None = field(
        default=None,
        metadata={
            "help": "Name of the reward function whose value decides correctness (its __name__, as TRL logs it). "
            "Default: the only reward function; required when there are several."
        },
    )
    roma_correctness_threshold: float = field(
        default=1.0,
        metadata={"help": "A completion is correct when its correctness reward is >= this value."},
    )
    roma_corruptions: list[str] = field(
        default_factory=lambda: ["seen"],
        metadata={
            "help": "Training corruptions: group names ('seen', 'unseen', 'imagenet_c', 'weather', 'capture', 'all') "
            "and/or corruption names, checked "
            "when the config is built (register user corruptions before that)."
        },
    )
    roma_severity_min: int = field(
        default=MIN_SEVERITY,
        metadata={"help": f"Lowest severity drawn for a view ({MIN_SEVERITY}..{MAX_SEVERITY})."},
    )
    roma_severity_max: int = field(
        default=MAX_SEVERITY,
        metadata={"help": f"Highest severity drawn for a view ({MIN_SEVERITY}..{MAX_SEVERITY})."},
    )
    roma_seed: int | None = field(
        default=None,
        metadata={
            "help": "Seed of the degraded views (default: `seed`). Views depend only on it, the prompt id, "
            "the training step and the view index."
        },
    )

    roma_base_model: str | None = field(
        default=None,
        metadata={
            "help": "The model the run started from, named as the base model on the model card (TRL leaves it "
            "empty when `model` is a local folder). Default: the `model` name given to the trainer, before a "
            "`roma-tiny/...` name is built into a local folder; `roma train` sets --model_name_or_path."
        },
    )

    roma_shared_prompt_forward: bool = field(
        default=True,
        metadata={
            "help": "Run each group's prompt once and index its key/value cache out to the group's completions: in "
            "generation (roma.trainer.shared_prompt_generation: the vision encoder and the prefill; TRL's samples, "
            "token for token) and in the loss's log-prob pass (roma.trainer.shared_prompt: TRL's log-probs and "
            "gradients; one process without gradient checkpointing); and Qwen3-VL's RoPE positions once per "
            "distinct row layout (roma.models.rope_index: the same positions). Qwen-VL models; elsewhere TRL's "
            "code runs."
        },
    )

    roma_rollout_degradation: str = field(
        default="none",
        metadata={
            "help": "Rollout-side baselines, for comparisons in one framework (usually with roma_kl_coef = "
            "roma_aux_coef = 0): 'none' (ROMA / GRPO: rollouts on clean images); 'noisy_rollout' "
            "(NoisyRollout-style: part of each group is rolled out on a degraded image, the update conditions on "
            "the clean image, the distortion anneals); 'augmentation' (RAD-style: rollouts and update both on "
            "degraded images).",
            "choices": list(ROLLOUT_DEGRADATIONS),
        },
    )
    roma_noisy_rollout_fraction: float = field(
        default=0.5,
        metadata={
            "help": "noisy_rollout: fraction of each group's completions rolled out on the degraded image."
        },
    )
    roma_noisy_rollout_anneal: bool = field(
        default=True,
        metadata={
            "help": "noisy_rollout: anneal the distortion linearly to the lowest severity over training "
            "(severity = min + (drawn - min) * (1 - step / max_steps))."
        },
    )

    def __post_init__(self):
        _check_finite_floats(self)  # before GRPOConfig's own checks, which compare NaN as if it were a number
        _check_roma_integers(self)
        old, new = self.gradient_checkpointing, self.activation_checkpointing
        if old is None and new is None:
            self.activation_checkpointing = True
        elif old is not None and new is not None and bool(old) != bool(new):
            # transformers would keep the new name's value without a word (e.g. a YAML's
            # activation_checkpointing under a command line's --gradient_checkpointing).
            raise ValueError(
                f"gradient_checkpointing={old} and activation_checkpointing={new} disagree; set "
                "activation_checkpointing only (gradient_checkpointing is its deprecated name)."
            )
        super().__post_init__()
        # A YAML scalar, or comma lists (the command line gives ["seen,motion_blur"] for "seen,motion_blur").
        self.roma_corruptions = comma_list(self.roma_corruptions)
        if self.roma_seed is None:
            self.roma_seed = self.seed
        _check_choice("roma_kl_estimator", self.roma_kl_estimator, tuple(KL_ESTIMATORS))
        _check_choice("roma_kl_reduction", self.roma_kl_reduction, KL_REDUCTIONS)
        _check_choice("roma_kl_direction", self.roma_kl_direction, KL_DIRECTIONS)
        _check_choice("roma_aux_form", self.roma_aux_form, AUX_FORMS)
        if self.roma_views_micro_batch is not None and self.roma_views_micro_batch < 1:
            raise ValueError(
                f"roma_views_micro_batch must be >= 1 or None, got {self.roma_views_micro_batch}."
            )
        _check_choice("roma_rollout_degradation", self.roma_rollout_degradation, ROLLOUT_DEGRADATIONS)
        if not 0.0 < self.roma_noisy_rollout_fraction <= 1.0:
            raise ValueError(
                f"roma_noisy_rollout_fraction must be in (0, 1], got {self.roma_noisy_rollout_fraction}."
            )
        if self.roma_num_views < 1:
            raise ValueError(f"roma_num_views must be >= 1, got {self.roma_num_views}.")
        for name in ("roma_kl_coef", "roma_aux_coef"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}.")
        if not MIN_SEVERITY <= self.roma_severity_min <= self.roma_severity_max <= MAX_SEVERITY:
            raise ValueError(
                f"roma_severity_min / roma_severity_max must satisfy {MIN_SEVERITY} <= min <= max <= {MAX_SEVERITY}, got "
                f"{self.roma_severity_min} / {self.roma_severity_max}."
            )
        if not self.roma_corruptions:
            raise ValueError(
                "roma_corruptions is empty: name at least one corruption or group (e.g. 'seen')."
            )
        # Unknown names fail here, before the recipe's evaluation or the model load, naming the closest match.
        resolve_corruptions(self.roma_corruptions)
        if self.roma_kl_estimator == FULL_VOCABULARY and not self.roma_stop_grad_clean:
            # The chunked kernel sends gradient to one side only; an exact two-sided KL would need full logits.
            raise ValueError(
                "roma_kl_estimator='full' requires roma_stop_grad_clean=True (the chunked vocabulary KL "
                "differentiates the degraded side only)."
            )
        if self.roma_enabled and self.loss_type not in SUPPORTED_LOSS_TYPES:
            raise ValueError(
                f"loss_type={self.loss_type!r} is not supported with ROMA terms; use one of {SUPPORTED_LOSS_TYPES}."
            )

    @property
    def roma_enabled(self) -> bool:
        """False when both ROMA weights are zero: the trainer is then exactly `GRPOTrainer`."""
        return self.roma_kl_coef > 0 or self.roma_aux_coef > 0


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not valid; choose one of {', '.join(choices)}.")


def _check_finite_floats(config: RomaConfig) -> None:
    """Refuse NaN / ±inf in any real-valued field (or list of them) whose default is finite: one NaN weight turns
    every parameter NaN at the first step, and the run only dies a step later in sampling. Any real counts
    (``numbers.Real``, NumPy's float32 included), not only Python's ``float``."""
    for config_field in fields(config):
        value = getattr(config, config_field.name)
        values = value if isinstance(value, (list, tuple)) else [value]
        if isinstance(config_field.default, float) and not math.isfinite(config_field.default):
            continue  # a field whose default is itself infinite ("no limit") may be set to inf
        for item in values:
            if isinstance(item, (numbers.Real, np.floating)) and not math.isfinite(item):
                raise ValueError(f"{config_field.name} must be a finite number, got {value!r}.")


def _check_roma_integers(config: RomaConfig) -> None:
    """ROMA's integer fields hold integers: from Python, ``roma_num_views=2.5`` or ``True`` would otherwise pass
    the range checks (``True >= 1``) and fail, or silently mean 1, deep in training."""
    hints = typing.get_type_hints(RomaConfig)  # not Field.type: HfArgumentParser rewrites it in place
    for config_field in fields(RomaConfig):
        hint = hints.get(config_field.name)
        optional = hint == int | None
        if not config_field.name.startswith("roma_") or (hint is not int and not optional):
            continue
        value = getattr(config, config_field.name)
        if value is None and optional:
            continue
        if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
            raise ValueError(f"{config_field.name} must be an integer, got {type(value).__name__} {value!r}.")


def correctness_reward_index(config: RomaConfig, reward_names: list[str]) -> int:
    """The index among the trainer's reward functions (named by ``__name__``, as TRL logs them) of the one that
    decides correctness, ``roma_correctness_reward``; with a single reward function, that one."""
    if config.roma_correctness_reward is None:
        if len(reward_names) == 1:
            return 0
        raise ValueError(
            f"roma_correctness_reward is not set and there are {len(reward_names)} reward functions "
            f"({reward_names}): name the one that decides correctness, e.g. roma_correctness_reward='accuracy'."
        )
    if config.roma_correctness_reward not in reward_names:
        raise ValueError(
            f"roma_correctness_reward={config.roma_correctness_reward!r} is not one of the reward functions "
            f"{reward_names} (names are the functions' __name__, as TRL logs them)."
        )
    return reward_names.index(config.roma_correctness_reward)
