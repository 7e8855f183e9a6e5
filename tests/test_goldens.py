"""Golden fingerprints (tests/goldens.py): a dependency that changes the data, a corruption or the warm start fails
here first, by name, instead of as unexplained accuracy drift on a new machine."""

from __future__ import annotations

import json

import goldens
import numpy as np
import pytest

STORED = json.loads(goldens.GOLDENS.read_text())
WHAT_TO_DO = (
    "A dependency or a code change altered what determines roma's numbers. If intended: regenerate with "
    f"`{goldens.REGENERATE}` in the locked environment, review `git diff tests/goldens.json`, then rerun the main "
    "job and the study and update the documented numbers. If not: check the environment against the lock "
    "(`python scripts/lock.py --check`)."
)


def _moved(stored: dict[str, str], current: dict[str, str]) -> list[str]:
    keys = sorted(set(stored) | set(current))
    return [key for key in keys if stored.get(key) != current.get(key)]


def test_digest_sees_a_one_level_change_and_shape_and_dtype():
    image = goldens.reference_image()
    changed = image.copy()
    changed[50, 60, 1] ^= 1
    digests = {goldens.array_digest(a) for a in (image, changed, image.reshape(-1), image.astype(np.int16))}
    assert len(digests) == 4


def test_synthetic_images_are_unchanged():
    moved = _moved(STORED["synthetic"], goldens.synthetic_fingerprints())
    assert not moved, f"synthetic rows changed: {moved[:10]}. {WHAT_TO_DO}"


def test_every_corruption_at_every_severity_is_unchanged():
    moved = _moved(STORED["corruptions"], goldens.corruption_fingerprints())
    assert not moved, f"corruption outputs changed: {moved}. {WHAT_TO_DO}"


@pytest.mark.slow
def test_tiny_model_and_first_warm_start_losses_are_unchanged():
    model_digest, losses = goldens.model_and_warm_start()
    assert model_digest == STORED["tiny_model"], (
        f"the initial weights of roma-tiny/qwen3_vl-small changed. {WHAT_TO_DO}"
    )
    stored = STORED["warm_start_losses"]
    assert [step for step, _ in losses] == [step for step, _ in stored]
    # Four decimals, with half a unit of slack so a last-bit difference on the rounding boundary is no failure.
    drift = [(step, old, new) for (step, old), (_, new) in zip(stored, losses) if abs(old - new) > 1.5e-4]
    assert not drift, f"warm-start losses (step, golden, now) moved: {drift}. {WHAT_TO_DO}"


@pytest.mark.slow
def test_a_complete_warm_start_ends_where_it_did():
    end = goldens.warm_start_end()
    stored = STORED["warm_start_end"]
    assert (
        end["steps_trained"] == stored["steps_trained"] and end["reached_target"] == stored["reached_target"]
    ), (
        f"the warm start now stops at step {end['steps_trained']} (golden {stored['steps_trained']}). {WHAT_TO_DO}"
    )
    assert end["validation_accuracy"] == stored["validation_accuracy"], (
        f"validation accuracies moved. {WHAT_TO_DO}"
    )
    drift = [
        (step, old, new)
        for (step, old), (_, new) in zip(stored["last_losses"], end["last_losses"])
        if abs(old - new) > 1.5e-4
    ]
    assert not drift, f"the last warm-start losses (step, golden, now) moved: {drift}. {WHAT_TO_DO}"
