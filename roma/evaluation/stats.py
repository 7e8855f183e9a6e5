"""Uncertainty of accuracies: intervals for one accuracy, for a mean over conditions, and for paired differences.

Accuracies here are means of per-sample 0/1 outcomes. Two evaluations of the same benchmark share their samples
and conditions, so a difference between them is *paired*: its interval comes from per-sample differences and is
much narrower than the two separate intervals suggest (the same hard images are hard for both models).

- `wilson_interval`: one accuracy (binomial, Wilson score; good coverage at small n and near 0 or 1).
- `paired_difference_interval`: B − A on the same samples (normal approximation to the mean of per-sample
  differences; exact enough from a few dozen samples, and computable by hand).
- `bootstrap_interval`: any statistic of a (samples × columns) outcome table, resampling samples (rows) jointly
  so correlations between conditions, and pairing between runs, are kept (percentile bootstrap, seeded).
- `seeds_and_samples_interval`: method B − method A when each ran with several seeds (a two-level bootstrap: the
  samples, shared by every run, and each method's runs are resampled), so the interval covers both the test
  sample and the seed-to-seed spread of training.
- `seed_level_t_interval`: the mean of per-seed paired differences with Student's t over the seeds: a check on the
  bootstrap's seed level, which at 3-5 seeds resamples so few values that it comes out narrow.

All return fractions in [0, 1] (or [−1, 1] for differences); `roma.evaluation.reports` prints percentages.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from statistics import NormalDist

import numpy as np

CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0


def _z(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}.")
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_interval(successes: int, total: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion ``successes / total``; ``(nan, nan)`` when ``total`` is 0."""
    if total < 0 or successes < 0 or successes > total:
        raise ValueError(f"need 0 <= successes <= total, got successes={successes}, total={total}.")
    if total == 0:
        return math.nan, math.nan
    z = _z(confidence)
    p = successes / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def paired_difference_interval(
    a: np.ndarray | list, b: np.ndarray | list, confidence: float = CONFIDENCE
) -> tuple[float, float, float]:
    """(mean difference, low, high) of B − A over samples scored under both (aligned arrays of outcomes).

    The interval is mean ± z · sd / √n of the per-sample differences (sd with n − 1); with fewer than two
    samples it is undefined (nan).
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(
            f"paired outcomes must be two 1-D arrays of one length, got {a.shape} and {b.shape}."
        )
    z = _z(confidence)
    return _mean_interval(b - a, lambda n: z)


def _mean_interval(values: np.ndarray, quantile: Callable[[int], float]) -> tuple[float, float, float]:
    """(mean, low, high) of 1-D ``values``: mean ± quantile(n) · sd / √n (sd with n − 1); nan bounds below two
    values, all nan without any."""
    n = values.size
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = float(values.mean())
    if n < 2:
        return mean, math.nan, math.nan
    half = quantile(n) * float(values.std(ddof=1)) / math.sqrt(n)
    return mean, mean - half, mean + half


def seed_level_t_interval(
    differences: np.ndarray | list, confidence: float = CONFIDENCE
) -> tuple[float, float, float]:
    """(mean, low, high) of per-seed paired differences (method B − A, each seed's figure on the same test samples):
    mean ± t · sd / √n with Student's t at n − 1 degrees of freedom; nan bounds below two seeds.

    Why beside `seeds_and_samples_interval`: its seed level is a bootstrap over the seeds, which from 3-5 values
    cannot show the tails of the seed-to-seed spread (4 values give at most 35 distinct resamples), while t widens
    the interval for the few values it has. Each per-seed difference already holds its test-sample noise, except
    the part every seed shares (the same test images), which the bootstrap covers and this does not.
    """
    from scipy.stats import t as student_t  # imported here: the other intervals do not pay for scipy's import

    values = np.asarray(differences, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"per-seed differences must be a 1-D array, got shape {values.shape}.")
    _z(confidence)  # the same check of ``confidence`` as every interval here
    return _mean_interval(values, lambda n: float(student_t.ppf(0.5 + confidence / 2, n - 1)))


def bootstrap_interval(
    table: np.ndarray,
    statistic: Callable[[np.ndarray], float] | None = None,
    *,
    confidence: float = CONFIDENCE,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float, float]:
    """(statistic, low, high): percentile bootstrap over the rows (samples) of ``table``.

    ``table`` is samples × columns (e.g. one column per condition, or per condition and run); ``statistic`` maps
    a resampled table to a number (default: the mean of all cells). NaN cells (a sample missing from one column)
    are ignored by the default statistic. Seeded, so the same table always gives the same interval.
    """
    table = np.asarray(table, dtype=np.float64)
    if table.ndim == 1:
        table = table[:, None]
    if table.ndim != 2:
        raise ValueError(f"bootstrap_interval needs a samples x columns table, got shape {table.shape}.")
    statistic = statistic or (lambda t: float(np.nanmean(t)))
    n = table.shape[0]
    if n == 0:
        return math.nan, math.nan, math.nan
    rows = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    with warnings.catch_warnings():
        # A resample can leave a column all NaN (a sample cut by --condition_sample): that value is NaN and
        # the percentiles skip it; one filter for the whole loop, not one per statistic call.
        warnings.simplefilter("ignore", RuntimeWarning)
        point = float(statistic(table))
        values = np.array([statistic(table[index]) for index in rows], dtype=np.float64)
    tail = (1 - confidence) / 2 * 100
    low, high = np.nanpercentile(values, [tail, 100 - tail])
    return point, float(low), float(high)


def _resampled_group_figures(tables: list[np.ndarray], rows: np.ndarray) -> np.ndarray:
    """Runs × resamples matrix of each run's group figure (mean over conditions of each condition's accuracy,
    NaN cells skipped) on each resample of the samples; ``rows`` is resamples × n row indices."""
    n = tables[0].shape[0]
    counts = np.stack([np.bincount(index, minlength=n) for index in rows]).astype(np.float64)
    figures = []
    for table in tables:
        scored = ~np.isnan(table)
        with np.errstate(invalid="ignore", divide="ignore"):
            columns = (counts @ np.where(scored, table, 0.0)) / (counts @ scored)
        with warnings.catch_warnings():  # a resample may leave a condition with no scored sample
            warnings.simplefilter("ignore", RuntimeWarning)
            figures.append(np.nanmean(columns, axis=1))
    return np.stack(figures)


def seeds_and_samples_interval(
    baseline: list[np.ndarray],
    other: list[np.ndarray] | None = None,
    *,
    confidence: float = CONFIDENCE,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    paired_runs: bool = False,
) -> tuple[float, float, float]:
    """(value, low, high) of a method's mean group figure over its runs, or of other − baseline between methods.

    Each table is one run's samples × conditions outcomes, rows aligned across every run (the same test samples,
    NaN where a sample was not scored). The value is the mean over a method's runs of each run's group figure
    (`bootstrap_interval`'s mean over conditions of each condition's accuracy). The interval is a two-level
    percentile bootstrap: each resample draws the samples once for all runs (keeping the pairing: the same hard
    images are hard for every model) and, independently per method, as many runs as the method has, with
    replacement (the seed-to-seed spread of training). With one run per method it is the paired sample bootstrap
    of `bootstrap_interval` (same seed, same draws). With few seeds (3-5) the seed level is resampled from few
    values and the interval is somewhat narrow; report the seeds next to it.

    ``paired_runs``: ``baseline[i]`` and ``other[i]`` were trained with the same seed (the same start, RL data
    order and sampling draws), so each resample draws seed indices once for both methods: the seed-to-seed
    spread the two share cancels in the difference, as the shared test images already do.
    """
    methods = [list(baseline)] + ([list(other)] if other is not None else [])
    tables = [np.asarray(t, dtype=np.float64) for runs in methods for t in runs]
    if any(not runs for runs in methods):
        raise ValueError("seeds_and_samples_interval needs at least one run per method.")
    n = tables[0].shape[0]
    if any(t.ndim != 2 or t.shape[0] != n for t in tables):
        raise ValueError(
            f"every run's table must be samples x conditions over the same {n} samples, got "
            f"{[t.shape for t in tables]}."
        )
    if paired_runs and (other is None or len(other) != len(baseline)):
        raise ValueError("paired_runs needs two methods with the same number of runs (one per shared seed).")
    if n == 0:
        return math.nan, math.nan, math.nan
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, n, size=(resamples, n))  # first, as in bootstrap_interval: same seed, same draws
    figures = _resampled_group_figures(tables, rows)
    full = _resampled_group_figures(tables, np.arange(n)[None, :])[:, 0]
    values = np.zeros(resamples)
    point = 0.0
    start = 0
    shared_picks = None
    for sign, runs in zip((1.0, -1.0) if other is None else (-1.0, 1.0), methods):
        count = len(runs)
        block = figures[start : start + count]
        if shared_picks is not None:  # paired runs: the baseline's draw of seeds, reused for the other method
            picks = shared_picks
        else:
            picks = (
                rng.integers(0, count, size=(resamples, count))
                if count > 1
                else np.zeros((resamples, 1), int)
            )
            shared_picks = picks if paired_runs else None
        values += sign * block[picks, np.arange(resamples)[:, None]].mean(axis=1)
        point += sign * float(full[start : start + count].mean())
        start += count
    tail = (1 - confidence) / 2 * 100
    low, high = np.nanpercentile(values, [tail, 100 - tail])
    return point, float(low), float(high)
