"""The ROMA metrics the trainer logs (``roma/kl_worst``, ``roma/kl_mean``, ``roma/aux_loss``, ``roma/logp_gap``,
``roma/kl/<corruption>``): token-weighted sums per process, and their running per-corruption means.

No TRL and no process group here: `RomaGRPOTrainer._log_roma_metrics` reduces the sums `local_metric_sums`
returns over the processes and hands the totals to `append_metrics`.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import torch

__all__ = ["KL_METRIC_DECAY", "METRIC_NAMES", "append_metrics", "decay_kl_sums", "local_metric_sums"]

# roma/kl/<corruption> is a token-weighted mean with weights decaying by this factor per step (about the last
# 10 steps), so every corruption is logged every step although each step draws only K views.
KL_METRIC_DECAY = 0.9

# The token-weighted means logged as roma/<name>, in the order of `local_metric_sums`' first result.
METRIC_NAMES = ("kl_worst", "kl_mean", "aux_loss", "logp_gap")


def local_metric_sums(
    stats: dict[str, Any] | None, device: torch.device | str
) -> tuple[torch.Tensor, dict[str, list[float]]]:
    """This process's sums of: worst KL, mean-over-views KL, aux loss, clean − degraded log-prob gap, then the
    token count ([5]); and per corruption ``[KL sum, tokens]``. ``stats`` None (no regularised row): zeros."""
    local = torch.zeros(5, device=device)
    per_corruption: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    if stats is not None:
        mask = stats["mask"].to(stats["worst_kl"].dtype)
        num_views = stats["kl_per_view"].shape[0]
        local = torch.stack(
            [
                (stats["worst_kl"] * mask).sum(),
                (stats["kl_per_view"] * mask).sum() / num_views,
                (stats["aux_per_token"] * mask).sum(),
                (stats["logp_gap"] * mask).sum() / num_views,
                mask.sum(),
            ]
        ).float()
        kl_per_sequence = (stats["kl_per_view"] * mask).sum(-1).tolist()  # [K][S]
        tokens_per_sequence = mask.sum(-1).tolist()
        for s, view_names in enumerate(stats["names"]):
            for k, name in enumerate(view_names):
                per_corruption[name][0] += kl_per_sequence[k][s]
                per_corruption[name][1] += tokens_per_sequence[s]
    return local, dict(per_corruption)


def append_metrics(
    metrics: dict[str, list[float]],
    totals: list[float],
    parts: list[dict[str, list[float]]],
    running: dict[str, list[float]],
) -> None:
    """Append one step's means to ``metrics`` (TRL's ``_metrics[mode]``): ``totals``, the five sums of
    `local_metric_sums` summed over processes; ``parts``, every process's per-corruption sums."""
    tokens = max(totals[4], 1.0)
    for index, name in enumerate(METRIC_NAMES):
        metrics[f"roma/{name}"].append(totals[index] / tokens)
    merged: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for part in parts:
        for name, (kl_sum, count) in part.items():
            merged[name][0] += kl_sum
            merged[name][1] += count
    # Every corruption every step (a step draws only K of them): its decayed token-weighted mean.
    for name, mean in decay_kl_sums(running, merged, KL_METRIC_DECAY).items():
        metrics[f"roma/kl/{name}"].append(mean)


def decay_kl_sums(
    running: dict[str, list[float]], step: dict[str, list[float]], decay: float
) -> dict[str, float]:
    """Fold one step's per-corruption ``[KL sum, tokens]`` into ``running`` (in place): both sums are multiplied
    by ``decay``, then the step's are added. Returns the mean KL of every corruption seen so far (sum / tokens),
    so a corruption not drawn this step still reports its recent value instead of leaving a gap."""
    for name in set(running) | set(step):
        kl_sum, tokens = running.get(name, [0.0, 0.0])
        new_sum, new_tokens = step.get(name, [0.0, 0.0])
        running[name] = [decay * kl_sum + new_sum, decay * tokens + new_tokens]
    return {name: kl_sum / tokens for name, (kl_sum, tokens) in sorted(running.items()) if tokens > 0}
