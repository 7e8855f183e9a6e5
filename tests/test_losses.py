"""ROMA loss math against hand-computed values on small tensors."""

from __future__ import annotations

import math

import pytest
import torch

from roma.trainer import losses


def test_k3_matches_hand_computed_values():
    logp_clean = torch.tensor([-1.0, -2.0, -0.5])
    logp_degraded = torch.tensor([-1.0, -1.0, -1.5])
    # r = exp(ld - lc) = [1, e, e^-1]; k3 = r - log r - 1
    expected = torch.tensor([0.0, math.e - 1 - 1, math.exp(-1) + 1 - 1])
    got = losses.sampled_token_kl(logp_degraded, logp_clean, "k3")
    torch.testing.assert_close(got, expected)


def test_k1_k2_match_hand_computed_values():
    logp_clean = torch.tensor([-1.0, -2.0])
    logp_degraded = torch.tensor([-3.0, -1.5])  # log r = [-2, 0.5]
    torch.testing.assert_close(
        losses.sampled_token_kl(logp_degraded, logp_clean, "k1"), torch.tensor([2.0, -0.5])
    )
    torch.testing.assert_close(
        losses.sampled_token_kl(logp_degraded, logp_clean, "k2"), torch.tensor([2.0, 0.125])
    )


def test_reverse_direction_weights_by_ratio():
    logp_clean = torch.tensor([-1.0])
    logp_degraded = torch.tensor([-1.0 + math.log(2.0)])  # r = 2
    r, log_r = 2.0, math.log(2.0)
    assert losses.sampled_token_kl(
        logp_degraded, logp_clean, "k1", "degraded_to_clean"
    ).item() == pytest.approx(r * log_r)
    assert losses.sampled_token_kl(
        logp_degraded, logp_clean, "k2", "degraded_to_clean"
    ).item() == pytest.approx(r * 0.5 * log_r**2)
    assert losses.sampled_token_kl(
        logp_degraded, logp_clean, "k3", "degraded_to_clean"
    ).item() == pytest.approx(r * log_r - r + 1)


@pytest.mark.parametrize("direction", ["clean_to_degraded", "degraded_to_clean"])
def test_k3_is_non_negative(direction):
    generator = torch.Generator().manual_seed(0)
    logp_clean = -torch.rand(1000, generator=generator) * 10
    logp_degraded = -torch.rand(1000, generator=generator) * 10
    kl = losses.sampled_token_kl(logp_degraded, logp_clean, "k3", direction)
    assert torch.all(kl >= 0)
    assert torch.isfinite(kl).all()


def test_k3_estimates_the_true_kl_in_expectation():
    # Tokens sampled from the clean distribution: E[k3] = KL(clean || degraded).
    clean = torch.tensor([0.7, 0.2, 0.1])
    degraded = torch.tensor([0.4, 0.4, 0.2])
    generator = torch.Generator().manual_seed(0)
    tokens = torch.multinomial(clean, 200_000, replacement=True, generator=generator)
    estimate = losses.sampled_token_kl(degraded.log()[tokens], clean.log()[tokens], "k3").mean()
    exact = (clean * (clean / degraded).log()).sum()
    assert estimate.item() == pytest.approx(exact.item(), abs=5e-3)


def test_sampled_token_kl_rejects_unknown_estimator():
    with pytest.raises(ValueError, match="estimator 'k9'"):
        losses.sampled_token_kl(torch.zeros(1), torch.zeros(1), "k9")


@pytest.mark.parametrize("direction", ["clean_to_degraded", "degraded_to_clean"])
def test_full_vocabulary_kl_equals_torch_kl_div(direction):
    generator = torch.Generator().manual_seed(0)
    n, hidden_size, vocab = 7, 5, 11
    weight = torch.randn(vocab, hidden_size, generator=generator)
    bias = torch.randn(vocab, generator=generator)
    degraded_hidden = torch.randn(n, hidden_size, generator=generator)
    clean_hidden = torch.randn(n, hidden_size, generator=generator)
    temperature = 0.7
    got = losses.full_vocabulary_kl(degraded_hidden, clean_hidden, weight, bias, direction, temperature)
    log_p_clean = torch.log_softmax((clean_hidden @ weight.T + bias) / temperature, -1)
    log_p_degraded = torch.log_softmax((degraded_hidden @ weight.T + bias) / temperature, -1)
    if direction == "clean_to_degraded":  # KL(clean || degraded): kl_div(input=log q, target=log p)
        expected = torch.nn.functional.kl_div(
            log_p_degraded, log_p_clean, reduction="none", log_target=True
        ).sum(-1)
    else:
        expected = torch.nn.functional.kl_div(
            log_p_clean, log_p_degraded, reduction="none", log_target=True
        ).sum(-1)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


def test_full_vocabulary_kl_gradient_reaches_degraded_side_only():
    generator = torch.Generator().manual_seed(1)
    weight = torch.randn(9, 4, generator=generator)
    degraded_hidden = torch.randn(3, 4, generator=generator, requires_grad=True)
    clean_hidden = torch.randn(3, 4, generator=generator, requires_grad=True)
    losses.full_vocabulary_kl(degraded_hidden, clean_hidden, weight).sum().backward()
    assert degraded_hidden.grad is not None and degraded_hidden.grad.abs().sum() > 0
    assert clean_hidden.grad is None
    # Gradient check against autograd through the explicit formula.
    reference_hidden = degraded_hidden.detach().clone().requires_grad_(True)
    log_q = torch.log_softmax(reference_hidden @ weight.T, -1)
    log_p = torch.log_softmax(clean_hidden.detach() @ weight.T, -1)
    (log_p.exp() * (log_p - log_q)).sum().backward()
    torch.testing.assert_close(degraded_hidden.grad, reference_hidden.grad, rtol=1e-4, atol=1e-5)


def test_token_max_picks_the_argmax_view_per_token():
    kl = torch.tensor(
        [
            [[0.1, 0.9, 0.3]],
            [[0.5, 0.2, 0.3]],
            [[0.4, 0.1, 0.8]],
        ]
    )  # [K=3, B=1, T=3]
    reduced, view = losses.worst_case_reduction(kl, torch.ones(1, 3), "token_max")
    torch.testing.assert_close(reduced, torch.tensor([[0.5, 0.9, 0.8]]))
    assert view.tolist() == [[1, 0, 2]]


def test_sequence_max_picks_the_view_with_largest_masked_mean():
    kl = torch.tensor([[[1.0, 0.0, 100.0]], [[0.6, 0.6, 0.0]]])  # [K=2, B=1, T=3]
    mask = torch.tensor([[1.0, 1.0, 0.0]])  # the 100 is padding and must not count
    reduced, view = losses.worst_case_reduction(kl, mask, "sequence_max")
    assert view.tolist() == [[1, 1, 1]]
    torch.testing.assert_close(reduced, torch.tensor([[0.6, 0.6, 0.0]]))


def test_mean_reduction():
    kl = torch.tensor([[[1.0, 2.0]], [[3.0, 6.0]]])
    reduced, _ = losses.worst_case_reduction(kl, torch.ones(1, 2), "mean")
    torch.testing.assert_close(reduced, torch.tensor([[2.0, 4.0]]))


def test_select_views_and_auxiliary_policy_gradient():
    per_view = torch.tensor([[[-1.0, -2.0], [-3.0, -4.0]], [[-5.0, -6.0], [-7.0, -8.0]]])  # [K=2, B=2, T=2]
    chosen = losses.select_views(per_view, torch.tensor([1, 0]))
    torch.testing.assert_close(chosen, torch.tensor([[-5.0, -6.0], [-3.0, -4.0]]))
    aux = losses.auxiliary_policy_gradient(chosen, torch.tensor([0.5, -2.0]))
    torch.testing.assert_close(aux, torch.tensor([[2.5, 3.0], [-6.0, -8.0]]))


def _second_iteration_logps():
    """ℓ^k and ℓ^k_old of 2 completions × 2 tokens after one update (num_iterations = 2): r = 1.25 and 0.75."""
    logp = torch.log(torch.tensor([[0.5, 0.3], [0.5, 0.3]])).requires_grad_()
    old = torch.log(torch.full((2, 2), 0.4))
    return logp, old


def test_clipped_auxiliary_policy_gradient_matches_hand_computed_values():
    logp, old = _second_iteration_logps()
    advantages = torch.tensor([1.0, -1.0])
    aux = losses.clipped_auxiliary_policy_gradient(logp, old, advantages, 0.2, 0.2)
    # −min(r·A, clip(r, 0.8, 1.2)·A): A = 1: r = 1.25 -> −1.2 (clipped), r = 0.75 -> −0.75;
    # A = −1: r = 1.25 -> 1.25, r = 0.75 -> 0.8 (clipped).
    torch.testing.assert_close(aux, torch.tensor([[-1.2, -0.75], [1.25, 0.8]]))
    aux.sum().backward()
    # d/dℓ of −r·A is −r·A where unclipped; a clipped token gets no gradient.
    torch.testing.assert_close(logp.grad, torch.tensor([[0.0, -0.75], [1.25, 0.0]]))


def test_clipped_aux_with_every_token_clipped_has_zero_gradient_and_the_plain_form_does_not():
    logp, old = _second_iteration_logps()
    advantages = torch.tensor([1.0, -1.0])
    # Ratios beyond the clip range on the side that clips for each sign of A: r = 1.5 for A > 0, 0.5 for A < 0.
    old = logp.detach() - torch.log(torch.tensor([[1.5, 1.5], [0.5, 0.5]]))
    clipped = losses.clipped_auxiliary_policy_gradient(logp, old, advantages, 0.2, 0.2)
    torch.testing.assert_close(clipped, torch.tensor([[-1.2, -1.2], [0.8, 0.8]]))
    clipped.sum().backward()
    assert torch.equal(logp.grad, torch.zeros(2, 2))
    plain_logp = logp.detach().clone().requires_grad_()
    losses.auxiliary_policy_gradient(plain_logp, advantages).sum().backward()
    torch.testing.assert_close(plain_logp.grad, torch.tensor([[-1.0, -1.0], [1.0, 1.0]]))


def test_clipped_aux_has_the_plain_forms_gradient_when_the_policy_has_not_moved():
    logp, _ = _second_iteration_logps()
    advantages = torch.tensor([0.7, -1.3])
    clipped = losses.clipped_auxiliary_policy_gradient(logp, logp.detach(), advantages, 0.2, 0.28)
    (clipped_grad,) = torch.autograd.grad(clipped.sum(), logp)
    plain = losses.auxiliary_policy_gradient(logp, advantages)
    (plain_grad,) = torch.autograd.grad(plain.sum(), logp)
    torch.testing.assert_close(clipped, torch.tensor([[-0.7, -0.7], [1.3, 1.3]]))  # r = 1: −A
    torch.testing.assert_close(clipped_grad, plain_grad)


def test_clipped_aux_sequence_level_ratio_and_delta():
    logp, old = _second_iteration_logps()
    mask = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    advantages = torch.tensor([1.0, -1.0])
    aux = losses.clipped_auxiliary_policy_gradient(
        logp, old, advantages, 0.2, 0.2, importance_sampling_level="sequence", mask=mask, delta=1.1
    )
    # Row 0: exp(mean(log 1.25, log 0.75)) = sqrt(0.9375) ≈ 0.968 (inside the clip range) -> −0.968 on each token.
    # Row 1: only token 0 counts: r = 1.25, capped at delta = 1.1 -> −min(−1.1, −1.2) = 1.2.
    expected = torch.tensor([[-math.sqrt(0.9375)] * 2, [1.2, 1.2]])
    torch.testing.assert_close(aux, expected)
    with pytest.raises(ValueError, match="needs mask"):
        losses.clipped_auxiliary_policy_gradient(
            logp, old, advantages, 0.2, 0.2, importance_sampling_level="sequence"
        )


def test_correctness_mask_threshold_and_nan():
    rewards = torch.tensor([1.0, 0.0, 0.5, float("nan"), 2.0])
    assert losses.correctness_mask(rewards, 1.0).tolist() == [True, False, False, False, True]
    assert losses.correctness_mask(rewards, 0.5).tolist() == [True, False, True, False, True]


def test_normalisation_matches_hand_computed_values():
    per_token = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])
    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])  # 2 + 3 tokens, row 3 not in S
    # dapo: sum 3 + 15 = 18, over 10 global tokens / 2 processes * 4 accumulation / 2 steps per generation = 10
    got = losses.normalise_masked_loss(
        per_token,
        mask,
        "dapo",
        num_items_in_batch=torch.tensor(10.0),
        num_processes=2,
        gradient_accumulation_steps=4,
        steps_per_generation=2,
    )
    assert got.item() == pytest.approx(18 / 10)
    # grpo: mean over the two sequences in S of (1.5, 5), divided by accumulation 2
    got = losses.normalise_masked_loss(per_token, mask, "grpo", gradient_accumulation_steps=2)
    assert got.item() == pytest.approx((1.5 + 5.0) / 2 / 2)
    assert losses.normalise_masked_loss(per_token, mask, "bnpo").item() == pytest.approx(18 / 5)
    got = losses.normalise_masked_loss(per_token, mask, "dr_grpo", max_completion_length=3)
    assert got.item() == pytest.approx(18 / (2 * 3))
    assert losses.normalise_masked_loss(per_token, mask, "luspo").item() == pytest.approx(18 / 2)
    # evaluation: no accumulation scaling
    got = losses.normalise_masked_loss(per_token, mask, "grpo", gradient_accumulation_steps=2, training=False)
    assert got.item() == pytest.approx((1.5 + 5.0) / 2)


def test_normalisation_of_an_empty_mask_is_an_exact_zero_with_a_graph():
    per_token = torch.ones(2, 3, requires_grad=True)
    for loss_type in ("dapo", "grpo", "bnpo", "dr_grpo", "luspo"):
        loss = losses.normalise_masked_loss(
            per_token, torch.zeros(2, 3), loss_type, num_items_in_batch=0, max_completion_length=3
        )
        assert loss.item() == 0.0 and loss.requires_grad
        (grad,) = torch.autograd.grad(loss, per_token)
        assert torch.all(grad == 0)


def test_incorrect_completions_receive_exactly_zero_gradient():
    # Completion 1 is wrong: neither the KL nor the auxiliary term may move its log-probs.
    logp_clean = torch.tensor([[-1.0, -2.0], [-0.5, -0.7]])
    logp_views = torch.tensor(
        [[[-1.5, -2.5], [-0.9, -2.0]], [[-3.0, -1.0], [-4.0, -0.1]]], requires_grad=True
    )  # [K=2, B=2, T=2]
    correct = losses.correctness_mask(torch.tensor([1.0, 0.0]), 1.0)
    mask = torch.ones(2, 2) * correct.unsqueeze(1)
    kl, _ = losses.worst_case_reduction(losses.sampled_token_kl(logp_views, logp_clean.unsqueeze(0)), mask)
    aux = losses.auxiliary_policy_gradient(
        losses.select_views(logp_views, torch.tensor([0, 1])), torch.tensor([1.0, -1.0])
    )
    total = losses.normalise_masked_loss(kl, mask, "dapo", num_items_in_batch=mask.sum())
    total = total + losses.normalise_masked_loss(aux, mask, "dapo", num_items_in_batch=mask.sum())
    total.backward()
    assert torch.all(logp_views.grad[:, 1] == 0)
    assert logp_views.grad[:, 0].abs().sum() > 0


def test_a_trl_without_its_chunked_kernels_is_a_clear_error(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "trl.kernels.chunked_logprob", None)  # as if TRL moved the module
    hidden = torch.zeros(2, 4)
    with pytest.raises(ImportError, match=r"trl.kernels.chunked_logprob.ChunkedLogProbFunction.*trl 1.16"):
        losses.token_logps_from_hidden(hidden, torch.zeros(8, 4), None, torch.tensor([0, 1]))


def test_the_loss_module_does_not_import_trl():
    import subprocess
    import sys

    code = "import sys, roma.trainer.losses; assert 'trl' not in sys.modules, 'trl imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_estimator_of_the_table_is_a_config_choice_with_help():
    from dataclasses import fields

    from roma.trainer.config import RomaConfig

    field = next(f for f in fields(RomaConfig) if f.name == "roma_kl_estimator")
    assert field.metadata["choices"] == list(losses.KL_ESTIMATORS)
    for name in losses.KL_ESTIMATORS:
        assert f"'{name}':" in field.metadata["help"]
