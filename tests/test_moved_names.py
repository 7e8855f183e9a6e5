"""Names moved by the issue-20 refactor still import from where they were, for one release (and are the same
objects as at their new homes)."""

from __future__ import annotations

import importlib

import pytest

MOVED = [
    # (old module, name, new module)
    ("roma.evaluation.reports", "format_points", "roma.evaluation.formatting"),
    ("roma.evaluation.reports", "format_points_interval", "roma.evaluation.formatting"),
    ("roma.evaluation.reports", "markdown_table", "roma.evaluation.formatting"),
    ("roma.evaluation.reports", "round_floats", "roma.evaluation.formatting"),
    ("roma.evaluation.reports", "plot_group_bars", "roma.evaluation.plots"),
    ("roma.evaluation.reports", "plot_severity_curves", "roma.evaluation.plots"),
    ("roma.evaluation.reports", "line_styles", "roma.evaluation.plots"),
    ("roma.evaluation.benchmarks.registry", "normalise_name", "roma.evaluation.benchmarks.sources"),
    ("roma.models.tiny", "resolve_model", "roma.models.resolve"),
    ("roma.models.tiny", "TINY_MODEL_PREFIX", "roma.models.resolve"),
    ("roma.models.tiny", "FAMILIES", "roma.models.families"),
    ("roma.models.tiny", "QWEN_FAMILIES", "roma.models.families"),
    ("roma.models.tiny", "CHAT_TEMPLATE", "roma.models.tokenizer"),
    ("roma.models.tiny", "SPECIAL_TOKENS", "roma.models.tokenizer"),
    ("roma.models.tiny", "build_tokenizer", "roma.models.tokenizer"),
    ("roma.models.tiny", "vision_token_ids", "roma.models.tokenizer"),
    ("roma.models.tiny", "get_spec", "roma.models.qwen"),
    ("roma.models.tiny", "MODEL_SPECS", "roma.models.qwen"),
    ("roma.rewards", "GRADE_COLUMNS", "roma.grading"),
    ("roma.vocabulary", "full_vocabulary_kl", "roma.kl_kernels"),
    ("roma.vocabulary", "token_logps_from_hidden", "roma.kl_kernels"),
    ("roma.scripts.warm_start", "completion_text", "roma.scripts.warm_start_data"),
    ("roma.scripts.warm_start", "target_completion", "roma.scripts.warm_start_data"),
    ("roma.scripts.warm_start", "synthetic_sft_dataset", "roma.scripts.warm_start_data"),
]
TRAINER_MOVED = [
    ("roma.trainer.trainer", "training_view_id", "roma.trainer.views"),
    ("roma.trainer.trainer", "view_cache_key", "roma.trainer.views"),
    ("roma.trainer.trainer", "decay_kl_sums", "roma.trainer.metrics"),
    ("roma.trainer.trainer", "KL_METRIC_DECAY", "roma.trainer.metrics"),
    ("roma.trainer.trainer", "check_trl_hooks", "roma.trainer.trl_compat"),
    ("roma.trainer.trainer", "TRL_HOOK_PARAMETERS", "roma.trainer.trl_compat"),
]


@pytest.mark.parametrize(("old", "name", "new"), MOVED + TRAINER_MOVED)
def test_a_moved_name_imports_from_its_old_module(old, name, new):
    if old.startswith("roma.trainer"):
        pytest.importorskip("trl")
    assert getattr(importlib.import_module(old), name) is getattr(importlib.import_module(new), name)


def test_old_names_that_were_renamed():
    from roma.grading import grade_arguments
    from roma.rewards import grade_options
    from roma.scripts.warm_start import completion_text, target_completion

    assert grade_options is grade_arguments and completion_text is target_completion


def test_the_public_imports_keep_working():
    from roma import DegradationSampler, RomaConfig, RomaGRPOTrainer, corrupt  # noqa: F401
    from roma.evaluation.reports import load_results, summarize, write_reports  # noqa: F401
    from roma.models import build_tiny_model, resolve_model  # noqa: F401
    from roma.trainer import FAMILY_LAYOUTS, RomaConfig, RomaGRPOTrainer, register_layout  # noqa: F401, F811
