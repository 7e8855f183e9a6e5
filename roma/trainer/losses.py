"""ROMA loss math as pure functions over tensors; the trainer only wires them in.

Shapes: K views, B completions, T completion tokens, V vocabulary, H hidden size.

    L_ROMA = λ · avg_{i∈S,t} max_k D(ℓ^k_{i,t}, sg(ℓ^c_{i,t}))  +  μ · avg_{i∈S,t} [−A_i ℓ^{k_i}_{i,t}]

ℓ^c are the per-token log-probs of the sampled (clean-rollout) tokens under the clean image, ℓ^k under degraded
view k. The tokens were sampled from the clean policy, so the sampled-token estimators below are the usual
Monte-Carlo KL estimators (Schulman's k1/k2/k3) with r = exp(ℓ^k − ℓ^c); the reverse direction re-weights them
by r (importance sampling from the clean policy).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from roma.kl_kernels import KL_DIRECTIONS, full_vocabulary_kl, token_logps_from_hidden

KL_REDUCTIONS = ("token_max", "sequence_max", "mean")
# The estimator that needs final hidden states and the LM head instead of the sampled tokens' log-probs.
FULL_VOCABULARY = "full"
# exp() of a log-ratio beyond this overflows fp32 in k3; ratios that large mean the views disagree completely.
_MAX_LOG_RATIO = 20.0


def k1(log_ratio: torch.Tensor) -> torch.Tensor:
    """−log r: unbiased, can be negative per token."""
    return -log_ratio


def k2(log_ratio: torch.Tensor) -> torch.Tensor:
    """½ log² r: non-negative, biased."""
    return 0.5 * log_ratio.square()


def k3(log_ratio: torch.Tensor) -> torch.Tensor:
    """r − log r − 1 with r = exp(l_deg − l_clean): non-negative and unbiased."""
    return torch.expm1(log_ratio) - log_ratio  # expm1 keeps precision near r = 1


# Sampled-token estimators of KL(π_clean ‖ π_degraded) from log r = ℓ^k − ℓ^c (tokens drawn from the clean policy).
SAMPLED_TOKEN_ESTIMATORS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {"k3": k3, "k1": k1, "k2": k2}


def sampled_token_kl(
    logp_degraded: torch.Tensor,
    logp_clean: torch.Tensor,
    estimator: str = "k3",
    direction: str = "clean_to_degraded",
) -> torch.Tensor:
    """Per-token KL estimate between the clean and degraded policies from the sampled tokens' log-probs.

    Args:
        logp_degraded: ℓ^k, log π(o_t | degraded view, o_<t), any shape.
        logp_clean: ℓ^c, log π(o_t | clean image, o_<t), same shape. Pass it detached for a stop-gradient.
        estimator: a key of `SAMPLED_TOKEN_ESTIMATORS` (``k1`` −log r, ``k2`` ½ log² r, ``k3`` r − log r − 1),
            with r = exp(ℓ^k − ℓ^c).
        direction: ``clean_to_degraded`` estimates KL(π_clean ‖ π_degraded); ``degraded_to_clean`` estimates
            KL(π_degraded ‖ π_clean) as r · k(1/r) (importance weight r: the tokens come from the clean policy).

    ``k2`` and ``k3`` are non-negative per token; ``k1`` is unbiased but can be negative.
    """
    if estimator not in SAMPLED_TOKEN_ESTIMATORS:
        raise ValueError(
            f"sampled_token_kl: estimator {estimator!r} is not one of {', '.join(SAMPLED_TOKEN_ESTIMATORS)}."
        )
    if direction not in KL_DIRECTIONS:
        raise ValueError(f"sampled_token_kl: direction {direction!r} is not one of {KL_DIRECTIONS}.")
    kl_estimate = SAMPLED_TOKEN_ESTIMATORS[estimator]
    log_ratio = (logp_degraded - logp_clean).clamp(-_MAX_LOG_RATIO, _MAX_LOG_RATIO)  # log r
    if direction == "clean_to_degraded":
        return kl_estimate(log_ratio)
    return log_ratio.exp() * kl_estimate(-log_ratio)


# Every per-token KL estimator, by the name `RomaConfig.roma_kl_estimator` takes: the sampled-token ones map
# log r to a KL estimate; ``full`` is the exact KL over the vocabulary from hidden states (the trainer then runs
# its views pass without logits, see `RomaGRPOTrainer._views_logps_and_kl`).
KL_ESTIMATORS: dict[str, Callable[..., torch.Tensor]] = {
    **SAMPLED_TOKEN_ESTIMATORS,
    FULL_VOCABULARY: full_vocabulary_kl,
}


def kl_estimator_help() -> str:
    """One line per estimator from its docstring's first line (the ``--roma_kl_estimator`` help)."""
    return "; ".join(
        f"'{name}': {fn.__doc__.strip().splitlines()[0].rstrip('.')}" for name, fn in KL_ESTIMATORS.items()
    )


def worst_case_reduction(
    kl_per_view: torch.Tensor, mask: torch.Tensor, mode: str = "token_max"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Reduce per-view token KLs [K, B, T] to one [B, T] map, taking the worst view.

    Args:
        kl_per_view: [K, B, T] per-token KL for each view.
        mask: [B, T] completion mask (1 for scored tokens); used by ``sequence_max`` to rank views.
        mode: ``token_max`` (max over views per token), ``sequence_max`` (per sequence, the view with the largest
            masked mean KL, all its tokens), ``mean`` (plain mean over views).
    Returns:
        (reduced [B, T], chosen view index [B, T]; −1 where ``mode="mean"``).
    """
    if kl_per_view.dim() != 3:
        raise ValueError(f"worst_case_reduction expects [K, B, T], got shape {tuple(kl_per_view.shape)}.")
    if mode == "token_max":
        return kl_per_view.max(dim=0)
    if mode == "sequence_max":
        mask = mask.to(kl_per_view.dtype)
        per_sequence = (kl_per_view * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)  # [K, B]
        view = per_sequence.argmax(dim=0)  # [B]
        chosen = kl_per_view.gather(0, view.view(1, -1, 1).expand(1, *kl_per_view.shape[1:])).squeeze(0)
        return chosen, view.unsqueeze(-1).expand_as(chosen)
    if mode == "mean":
        reduced = kl_per_view.mean(dim=0)
        return reduced, torch.full_like(reduced, -1, dtype=torch.long)
    raise ValueError(f"worst_case_reduction: mode {mode!r} is not one of {KL_REDUCTIONS}.")


def select_views(per_view: torch.Tensor, view_index: torch.Tensor) -> torch.Tensor:
    """Pick, for each completion b, its row of view ``view_index[b]`` from [K, B, T] -> [B, T]."""
    index = view_index.view(1, -1, 1).expand(1, *per_view.shape[1:])
    return per_view.gather(0, index).squeeze(0)


def auxiliary_policy_gradient(logp_view: torch.Tensor, advantages: torch.Tensor) -> torch.Tensor:
    """Per-token auxiliary policy-gradient loss −A_i · ℓ^{k_i}_{i,t} on one degraded view per completion.

    Args:
        logp_view: [B, T] log-probs of the sampled tokens under each completion's drawn view.
        advantages: [B] clean-group advantages (or [B, T]); they carry no gradient.
    """
    if advantages.dim() == 1:
        advantages = advantages.unsqueeze(1)
    return -advantages.detach() * logp_view


def clipped_auxiliary_policy_gradient(
    logp_view: torch.Tensor,
    old_logp_view: torch.Tensor,
    advantages: torch.Tensor,
    epsilon_low: float,
    epsilon_high: float,
    *,
    delta: float | None = None,
    importance_sampling_level: str = "token",
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Per-token auxiliary PG loss in TRL's clipped form: −min(r·A, clip(r, 1 − ε_low, 1 + ε_high)·A).

    r = exp(ℓ^{k_i} − ℓ^{k_i}_old), the ratio of the current to the old (generation-time) policy on the same
    degraded view, per token (``importance_sampling_level="token"``) or as the masked mean log-ratio of the
    sequence (``"sequence"``, needs ``mask``); ``delta`` caps r from above (TRL's two-sided clipping). With
    ``old_logp_view = logp_view.detach()`` (the policy has not moved) r = 1: the value is −A and the gradient
    `auxiliary_policy_gradient`'s.

    Args:
        logp_view: [B, T] log-probs of the sampled tokens under each completion's drawn view (with gradient).
        old_logp_view: [B, T] the same under the policy that generated the batch (no gradient).
        advantages: [B] or [B, T] clean-group advantages.
    """
    if advantages.dim() == 1:
        advantages = advantages.unsqueeze(1)
    advantages = advantages.detach()
    log_ratio = logp_view - old_logp_view.detach()
    if importance_sampling_level == "sequence":
        if mask is None:
            raise ValueError(
                "clipped_auxiliary_policy_gradient: importance_sampling_level='sequence' needs mask."
            )
        mask = mask.to(log_ratio.dtype)
        log_ratio = ((log_ratio * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).unsqueeze(-1)
    elif importance_sampling_level != "token":
        raise ValueError(
            f"clipped_auxiliary_policy_gradient: importance_sampling_level {importance_sampling_level!r} is not "
            "'token' or 'sequence'."
        )
    ratio = torch.exp(log_ratio)
    clipped = torch.clamp(ratio, 1 - epsilon_low, 1 + epsilon_high)
    if delta is not None:
        ratio = torch.clamp(ratio, max=delta)
    per_token = -torch.min(ratio * advantages, clipped * advantages)
    return per_token.expand_as(logp_view) if per_token.shape != logp_view.shape else per_token


def views_full_vocabulary_kl(
    hidden: torch.Tensor,
    clean_hidden: torch.Tensor,
    completion_ids: torch.Tensor,
    lm_head: torch.nn.Module,
    direction: str,
    temperature: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``full`` estimator over K views: from final hidden states [K, S, T, H] of the views and [S, T, H] of
    the clean side, (sampled-token log-probs [K, S, T] of ``completion_ids`` [S, T] per view, exact per-token
    KL over the vocabulary [K, S, T]), both projected through ``lm_head`` in vocabulary chunks."""
    num_views, num_rows = hidden.shape[:2]
    flat_hidden = hidden.reshape(-1, hidden.shape[-1])
    # Sampled-token log-probs of each view from the same hidden states (aux term, log-prob gap), chunked too.
    logps = token_logps_from_hidden(
        flat_hidden,
        lm_head.weight,
        lm_head.bias,
        completion_ids.repeat(num_views, 1).reshape(-1),
        temperature,
    )
    kl = full_vocabulary_kl(
        flat_hidden,
        clean_hidden.reshape(-1, clean_hidden.shape[-1]).repeat(num_views, 1),
        lm_head.weight,
        lm_head.bias,
        direction=direction,
        temperature=temperature,
    )
    return logps.view(num_views, num_rows, -1), kl.view(num_views, num_rows, -1)


def correctness_mask(rewards: torch.Tensor, threshold: float) -> torch.Tensor:
    """Completions whose correctness reward reaches ``threshold``; a missing (NaN) reward is not correct."""
    return torch.nan_to_num(rewards, nan=float("-inf")) >= threshold


def normalise_masked_loss(
    per_token: torch.Tensor,
    mask: torch.Tensor,
    loss_type: str = "dapo",
    *,
    num_items_in_batch: torch.Tensor | float | None = None,
    num_processes: int = 1,
    gradient_accumulation_steps: int = 1,
    steps_per_generation: int = 1,
    max_completion_length: int | None = None,
    training: bool = True,
) -> torch.Tensor:
    """Average a masked per-token loss [B, T] the way TRL's `GRPOTrainer` normalises its loss for ``loss_type``.

    The mask selects the regularised tokens (completion ∧ correct ∧ has image), so every average runs over the
    correct completions S only, as the objective's avg_{i∈S,t} says:

    - ``dapo`` / ``cispo`` / ``vespo``: sum over tokens / (global count of masked tokens in the generation batch,
      ``num_items_in_batch``, per process and per accumulation window), like TRL's DAPO normaliser;
    - ``grpo`` / ``sapo``: mean over masked sequences of each sequence's token mean;
    - ``bnpo``: token mean over the local batch;
    - ``dr_grpo``: sum / (masked sequences × ``max_completion_length``);
    - ``luspo``: per-sequence token sum, mean over masked sequences.

    All but the DAPO family divide by ``gradient_accumulation_steps`` in training, as TRL does (it turns off the
    Trainer's own scaling). A batch with no masked token gives an exact 0 that still carries the graph.
    """
    mask = mask.to(per_token.dtype)
    masked = per_token * mask
    accumulation = gradient_accumulation_steps if training else 1
    tokens_per_sequence = mask.sum(-1)
    sequences = (tokens_per_sequence > 0).to(per_token.dtype).sum().clamp(min=1.0)
    if loss_type in ("dapo", "cispo", "vespo"):
        if num_items_in_batch is None:
            raise ValueError(f"normalise_masked_loss: loss_type {loss_type!r} needs num_items_in_batch.")
        normaliser = torch.as_tensor(num_items_in_batch, dtype=per_token.dtype, device=per_token.device)
        normaliser = normaliser.clamp(min=1.0) / num_processes
        if training:
            normaliser = normaliser * gradient_accumulation_steps / steps_per_generation
        return masked.sum() / normaliser
    if loss_type in ("grpo", "sapo"):
        per_sequence = masked.sum(-1) / tokens_per_sequence.clamp(min=1.0)
        return per_sequence.sum() / sequences / accumulation
    if loss_type == "bnpo":
        return masked.sum() / mask.sum().clamp(min=1.0) / accumulation
    if loss_type == "dr_grpo":
        if max_completion_length is None:
            raise ValueError("normalise_masked_loss: loss_type 'dr_grpo' needs max_completion_length.")
        return masked.sum() / (sequences * max_completion_length) / accumulation
    if loss_type == "luspo":
        return masked.sum(-1).sum() / sequences / accumulation
    raise ValueError(f"normalise_masked_loss: unknown loss_type {loss_type!r}.")


__all__ = [
    "FULL_VOCABULARY",
    "KL_DIRECTIONS",
    "KL_ESTIMATORS",
    "KL_REDUCTIONS",
    "SAMPLED_TOKEN_ESTIMATORS",
    "auxiliary_policy_gradient",
    "clipped_auxiliary_policy_gradient",
    "correctness_mask",
    "full_vocabulary_kl",
    "k1",
    "k2",
    "k3",
    "kl_estimator_help",
    "normalise_masked_loss",
    "sampled_token_kl",
    "select_views",
    "token_logps_from_hidden",
    "views_full_vocabulary_kl",
    "worst_case_reduction",
]
