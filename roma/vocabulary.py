"""Renamed `roma.kl_kernels` (it holds the full-vocabulary KL kernels); this name keeps working for one release."""

from __future__ import annotations

from roma.kl_kernels import KL_DIRECTIONS, full_vocabulary_kl, token_logps_from_hidden

__all__ = ["KL_DIRECTIONS", "full_vocabulary_kl", "token_logps_from_hidden"]
