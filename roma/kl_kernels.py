"""Full-vocabulary quantities from final hidden states, without materialising [tokens × vocabulary] logits.

One implementation shared by the trainer's ``full`` KL estimator (`roma.trainer.losses`) and ``roma probe``
(`roma.evaluation.probe`): both wrap TRL's chunked kernels (``trl.kernels``, an internal API: TRL is pinned),
imported when first used so that importing this module costs nothing.
"""

from __future__ import annotations

import importlib

import torch

__all__ = ["KL_DIRECTIONS", "full_vocabulary_kl", "token_logps_from_hidden"]

KL_DIRECTIONS = ("clean_to_degraded", "degraded_to_clean")
# Vocabulary tile of TRL's chunked log-prob kernel (TRL uses the same for its fused LM head).
_VOCAB_CHUNK = 32768


def _trl_kernel(module: str, name: str):
    """``module.name`` from TRL's internal kernels, or an ImportError saying what needs it and which TRL fits."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as error:
        raise ImportError(
            f"roma: {module}.{name}, TRL's internal chunked kernel behind the 'full' KL estimator and roma probe, "
            f"cannot be imported ({error}); this roma release supports trl 1.16.x (see constraints.txt). The "
            "sampled-token estimators (roma_kl_estimator='k3', 'k1', 'k2') do not need it."
        ) from error


def full_vocabulary_kl(
    degraded_hidden: torch.Tensor,
    clean_hidden: torch.Tensor,
    lm_head_weight: torch.Tensor,
    lm_head_bias: torch.Tensor | None = None,
    direction: str = "clean_to_degraded",
    temperature: float = 1.0,
) -> torch.Tensor:
    """Exact per-token KL over the vocabulary from final hidden states, never materialising [N, V] logits.

    Uses TRL's chunked divergence kernel (``trl.kernels.chunked_divergence``, an internal API: TRL is pinned),
    which projects [4096 tokens × 32768 vocabulary] tiles at a time with an online log-sum-exp, in Triton on GPU
    and in PyTorch on CPU. The gradient flows to ``degraded_hidden`` (and the LM head) only: the clean side is
    the stop-gradient target.

    Args:
        degraded_hidden: [N, H] final hidden states under the degraded view, at the positions predicting each token.
        clean_hidden: [N, H] the same positions under the clean image.
        lm_head_weight: [V, H]; lm_head_bias: [V] or None.
        direction: ``clean_to_degraded`` = KL(π_clean ‖ π_degraded), ``degraded_to_clean`` the reverse.
        temperature: the logits are divided by it, as in TRL's log-prob pass.
    Returns:
        [N] per-token KL in fp32.
    """
    ChunkedDivergenceFunction = _trl_kernel("trl.kernels.chunked_divergence", "ChunkedDivergenceFunction")
    if direction not in KL_DIRECTIONS:
        raise ValueError(f"full_vocabulary_kl: direction {direction!r} is not one of {KL_DIRECTIONS}.")
    if degraded_hidden.shape != clean_hidden.shape:
        raise ValueError(
            f"full_vocabulary_kl: hidden state shapes differ: degraded {tuple(degraded_hidden.shape)} vs clean "
            f"{tuple(clean_hidden.shape)}."
        )
    if degraded_hidden.shape[0] == 0:
        return degraded_hidden.new_zeros(0, dtype=torch.float32)
    # beta = 0: KL(teacher ‖ student); beta = 1: KL(student ‖ teacher). The student (degraded) gets the gradient.
    beta = 0.0 if direction == "clean_to_degraded" else 1.0
    divergence, _entropy = ChunkedDivergenceFunction.apply(
        degraded_hidden,
        lm_head_weight,
        lm_head_bias,
        clean_hidden.detach(),
        lm_head_weight.detach(),
        None if lm_head_bias is None else lm_head_bias.detach(),
        beta,
        temperature,
    )
    return divergence


def token_logps_from_hidden(
    hidden: torch.Tensor,
    lm_head_weight: torch.Tensor,
    lm_head_bias: torch.Tensor | None,
    tokens: torch.Tensor,
    temperature: float = 1.0,
) -> torch.Tensor:
    """log π(token) per position from final hidden states [N, H], never materialising [N, V] logits.

    TRL's chunked log-prob kernel (``trl.kernels.chunked_logprob``, internal: TRL is pinned), vocabulary tiles
    of 32768; differentiable in ``hidden`` and the LM head. Returns [N] in fp32.
    """
    ChunkedLogProbFunction = _trl_kernel("trl.kernels.chunked_logprob", "ChunkedLogProbFunction")
    return ChunkedLogProbFunction.apply(
        hidden, lm_head_weight, lm_head_bias, tokens, temperature, _VOCAB_CHUNK, None, 1.0, ()
    )[0]
