"""Intervals of accuracies (roma.evaluation.stats) against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from roma.evaluation.stats import (
    bootstrap_interval,
    format_interval,
    paired_difference_interval,
    wilson_interval,
)


@pytest.mark.parametrize(
    ("successes", "total", "expected"),
    [
        # Wilson score, z = 1.959964: centre (p + z²/2n)/(1 + z²/n), half z·sqrt(p(1-p)/n + z²/4n²)/(1 + z²/n).
        (5, 10, (0.236593, 0.763407)),
        (0, 10, (0.0, 0.277533)),
        (10, 10, (0.722467, 1.0)),
        (150, 256, (0.524764, 0.644570)),
    ],
)
def test_wilson_interval_matches_hand_computed_values(successes, total, expected):
    low, high = wilson_interval(successes, total)
    assert low == pytest.approx(expected[0], abs=1e-6)
    assert high == pytest.approx(expected[1], abs=1e-6)


def test_wilson_interval_refuses_impossible_counts_and_is_nan_without_samples():
    with pytest.raises(ValueError, match="successes <= total"):
        wilson_interval(11, 10)
    assert all(math.isnan(x) for x in wilson_interval(0, 0))


def test_paired_difference_matches_a_hand_computed_case():
    # differences b - a = [0, -1, 1, 1]: mean 0.25, sd sqrt(2.75 / 3) = 0.957427, se 0.478714, half 0.938261
    mean, low, high = paired_difference_interval([1, 1, 0, 0], [1, 0, 1, 1])
    assert mean == pytest.approx(0.25)
    assert low == pytest.approx(0.25 - 0.938261, abs=1e-6)
    assert high == pytest.approx(0.25 + 0.938261, abs=1e-6)


def test_pairing_narrows_the_interval_when_both_runs_fail_the_same_samples():
    rng = np.random.default_rng(0)
    hard = rng.random(1000) < 0.4
    a = ~hard
    b = a.copy()
    b[np.flatnonzero(hard)[:30]] = True  # B also solves 30 of the hard ones
    mean, low, high = paired_difference_interval(a, b)
    assert mean == pytest.approx(0.03)
    assert 0 < low < mean < high < 0.05  # established, although the separate Wilson intervals overlap
    assert wilson_interval(int(b.sum()), 1000)[0] < wilson_interval(int(a.sum()), 1000)[1]


def test_paired_difference_needs_aligned_samples():
    with pytest.raises(ValueError, match="one length"):
        paired_difference_interval([1, 0], [1, 0, 1])


def test_bootstrap_is_seeded_and_agrees_with_the_normal_approximation():
    rng = np.random.default_rng(1)
    outcomes = (rng.random((1000, 3)) < 0.6).astype(float)
    first = bootstrap_interval(outcomes)
    assert first == bootstrap_interval(outcomes)
    point, low, high = first
    assert point == pytest.approx(outcomes.mean())
    # Independent columns: the mean of 3000 cells has se sqrt(p(1-p)/3000).
    se = math.sqrt(point * (1 - point) / 3000)
    assert high - low == pytest.approx(2 * 1.96 * se, rel=0.15)


def test_bootstrap_of_a_paired_difference_keeps_rows_together():
    a = np.array([1, 1, 0, 0] * 50, dtype=float)
    b = a.copy()  # identical runs: every resample gives a difference of exactly zero
    assert bootstrap_interval(np.stack([a, b], axis=1), lambda t: t[:, 1].mean() - t[:, 0].mean()) == (0, 0, 0)


def test_format_interval():
    assert format_interval(0.581, 0.563, 0.599) == "58.1 [56.3, 59.9]"
    assert format_interval(0.02, -0.004, 0.044, signed=True) == "+2.0 [-0.4, +4.4]"
    assert format_interval(0.5, math.nan, math.nan) == "50.0"
