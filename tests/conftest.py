"""Shared test set-up: offline hubs and quiet albumentations before anything imports them."""

from __future__ import annotations

import os

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("WANDB_MODE", "disabled")

# The kernels the goldens and the documented numbers were computed with, whatever the CPU (roma.numerics).
from roma.numerics import pin_cpu_numerics  # noqa: E402

pin_cpu_numerics()


# --- no verdict by chance ---------------------------------------------------------------------------------
# Property tests draw the same examples on every run and machine (no example database, no clock deadline), so a
# test that passes here passes in CI; a property worth more examples gets them by a larger max_examples.
from hypothesis import settings  # noqa: E402

settings.register_profile("roma", derandomize=True, database=None, deadline=None, print_blob=True)
settings.load_profile("roma")


# --- tiny models and synthetic data (owned by roma/models + roma/data/synthetic) -------------------------
import pytest  # noqa: E402


@pytest.fixture(scope="session")
def tiny_qwen3_vl_path(tmp_path_factory):
    """A tiny random Qwen3-VL checkpoint with its processor (~230k parameters, patch 16), built once."""
    from roma.models.tiny import build_tiny_model

    return build_tiny_model("qwen3_vl", tmp_path_factory.mktemp("tiny_qwen3_vl"), size="tiny", seed=0)


@pytest.fixture(scope="session")
def tiny_qwen2_5_vl_path(tmp_path_factory):
    """A tiny random Qwen2.5-VL checkpoint with its processor (patch 14), built once."""
    from roma.models.tiny import build_tiny_model

    return build_tiny_model("qwen2_5_vl", tmp_path_factory.mktemp("tiny_qwen2_5_vl"), size="tiny", seed=0)


@pytest.fixture(scope="session")
def synthetic_train_small():
    """48 rows of the synthetic task's train split (both families, 64×64 images, seed 0)."""
    from roma.data.synthetic import make_synthetic_dataset

    return make_synthetic_dataset("train", 48, seed=0)


@pytest.fixture
def clean_registry():
    """Restore the corruption registry after a test registers its own corruptions or groups (a registration left
    behind would change what later tests see, depending on their order)."""
    from roma.degrade import registry

    corruptions, groups = dict(registry._CORRUPTIONS), dict(registry._USER_GROUPS)
    yield
    registry._CORRUPTIONS.clear()
    registry._CORRUPTIONS.update(corruptions)
    registry._USER_GROUPS.clear()
    registry._USER_GROUPS.update(groups)


# --- end of tiny models and synthetic data -----------------------------------------------------------------


# --- shared helpers of the test modules (tests/ is on sys.path for them) ----------------------------------
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
