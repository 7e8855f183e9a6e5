"""Intervals of accuracies (roma.evaluation.stats) against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from roma.evaluation.reports import mean_of_conditions
from roma.evaluation.stats import (
    bootstrap_interval,
    paired_difference_interval,
    seeds_and_samples_interval,
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
    assert bootstrap_interval(np.stack([a, b], axis=1), lambda t: t[:, 1].mean() - t[:, 0].mean()) == (
        0,
        0,
        0,
    )


def test_seeds_and_samples_interval_over_seeds_matches_a_hand_computed_case():
    # Every sample alike within a run, so resampling samples changes nothing and only the seeds vary: baseline
    # runs both at 0.5, the other method's two runs at 0.6 and 0.8. A resampled mean of two draws from
    # {0.6, 0.8} is 0.6 (1/4), 0.7 (1/2) or 0.8 (1/4): the difference is +0.1 / +0.2 / +0.3, so the 2.5th and
    # 97.5th percentiles are +0.1 and +0.3, and the point estimate is 0.7 - 0.5.
    flat = np.full((10, 2), 0.5)
    value, low, high = seeds_and_samples_interval(
        [flat, flat], [np.full((10, 2), 0.6), np.full((10, 2), 0.8)]
    )
    assert value == pytest.approx(0.2)
    assert low == pytest.approx(0.1) and high == pytest.approx(0.3)


def test_paired_runs_draw_the_same_seeds_for_both_methods():
    # Every sample alike within a run, so only the seeds vary: baseline seeds at 0.5 and 0.7, the other method's
    # at 0.6 and 0.8, +0.1 on each seed. Unpaired, a resample can set the baseline's 0.7 twice against the
    # other's 0.6 twice (1/16 of draws): -0.1 to +0.3. Paired by seed, every resample's difference is +0.1.
    base = [np.full((10, 2), 0.5), np.full((10, 2), 0.7)]
    other = [np.full((10, 2), 0.6), np.full((10, 2), 0.8)]
    assert seeds_and_samples_interval(base, other, paired_runs=True) == pytest.approx((0.1, 0.1, 0.1))
    value, low, high = seeds_and_samples_interval(base, other)
    assert value == pytest.approx(0.1) and low == pytest.approx(-0.1) and high == pytest.approx(0.3)
    with pytest.raises(ValueError, match="same number of runs"):
        seeds_and_samples_interval(base, other[:1], paired_runs=True)


def test_seeds_and_samples_interval_with_one_run_each_is_the_paired_sample_bootstrap():
    rng = np.random.default_rng(1)
    a = (rng.random((200, 3)) < 0.6).astype(float)
    b = (rng.random((200, 3)) < 0.7).astype(float)
    paired = bootstrap_interval(
        np.hstack([a, b]), lambda t: mean_of_conditions(t[:, 3:]) - mean_of_conditions(t[:, :3])
    )
    assert seeds_and_samples_interval([a], [b]) == pytest.approx(paired)
    assert seeds_and_samples_interval([a]) == pytest.approx(bootstrap_interval(a, mean_of_conditions))


def test_seeds_and_samples_interval_widens_with_the_seed_spread_and_checks_shapes():
    rng = np.random.default_rng(2)
    base = [(rng.random((500, 2)) < 0.5).astype(float) for _ in range(3)]
    close = [(rng.random((500, 2)) < 0.55).astype(float) for _ in range(3)]
    spread = [(rng.random((500, 2)) < p).astype(float) for p in (0.35, 0.55, 0.75)]
    _, low_close, high_close = seeds_and_samples_interval(base, close)
    _, low_spread, high_spread = seeds_and_samples_interval(base, spread)
    assert high_spread - low_spread > 2 * (high_close - low_close)
    with pytest.raises(ValueError, match="same 500 samples"):
        seeds_and_samples_interval(base, [np.zeros((400, 2))])
    with pytest.raises(ValueError, match="at least one run"):
        seeds_and_samples_interval([])


def test_seed_level_t_interval_matches_a_hand_computed_student_t():
    from roma.evaluation.stats import seed_level_t_interval

    # differences 1, 2, 3, 6: mean 3, sd sqrt(14/3) = 2.1602; t(0.975, 3) = 3.1824; half = 3.1824 * 2.1602 / 2
    mean, low, high = seed_level_t_interval([1.0, 2.0, 3.0, 6.0])
    assert mean == pytest.approx(3.0)
    assert (low, high) == pytest.approx((3.0 - 3.43737, 3.0 + 3.43737), abs=1e-4)
    # Wider than the normal interval over the same values (1.96 instead of 3.18): few seeds, wide tails.
    assert high - low > 2 * 1.96 * 2.1602 / 2
    assert seed_level_t_interval([2.5])[0] == 2.5 and math.isnan(seed_level_t_interval([2.5])[1])
    assert all(math.isnan(v) for v in seed_level_t_interval([]))
    with pytest.raises(ValueError, match="1-D"):
        seed_level_t_interval([[1.0, 2.0]])
