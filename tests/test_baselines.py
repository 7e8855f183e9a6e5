"""Rollout-side baselines as trainer modes: NoisyRollout-style and augmentation (RAD-style)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from test_trainer import _logged, config, even_length, image_dataset

from roma import RomaGRPOTrainer
from roma.degrade import corrupt, rng_for


def _baseline(path, tmp_path, mode, **overrides):
    return RomaGRPOTrainer(
        model=str(path),
        reward_funcs=even_length,
        args=config(
            tmp_path,
            roma_rollout_degradation=mode,
            roma_kl_coef=0.0,
            roma_aux_coef=0.0,
            shuffle_dataset=False,
            **overrides,
        ),
        train_dataset=image_dataset(),
    )


def _spy_rollout_images(trainer):
    """Record the images each rollout is generated from (TRL's _tokenize_prompts reads them from the prompts)."""
    seen = []
    original = trainer._tokenize_prompts

    def spy(prompts):
        prompt_ids, images, fields = original(prompts)
        seen.append(images)
        return prompt_ids, images, fields

    trainer._tokenize_prompts = spy
    return seen


def _same(a, b) -> bool:
    return np.array_equal(np.asarray(a), np.asarray(b))


def test_noisy_rollout_degrades_part_of_each_group_and_updates_on_clean(tiny_qwen3_vl_path, tmp_path):
    trainer = _baseline(tiny_qwen3_vl_path, tmp_path, "noisy_rollout", roma_noisy_rollout_fraction=0.5)
    clean_trainer = _baseline(tiny_qwen3_vl_path, tmp_path / "clean", "none")
    trainer.model.train()
    clean_trainer.model.train()
    batch = next(iter(trainer.get_train_dataloader()))
    seen = _spy_rollout_images(trainer)
    output = trainer._generate_and_score_completions(batch)
    rollout_images = seen[0]
    group = trainer.num_generations
    for i, example in enumerate(batch):
        degraded = not _same(rollout_images[i][0], example["image"])
        assert degraded == (i % group < group // 2), i
    # The policy update (pixel values) conditions on the clean image for every completion.
    clean_output = clean_trainer._generate_and_score_completions(batch)
    assert torch.equal(output["pixel_values"], clean_output["pixel_values"])


def test_noisy_rollout_anneals_to_the_lowest_severity(tiny_qwen3_vl_path, tmp_path):
    trainer = _baseline(
        tiny_qwen3_vl_path, tmp_path, "noisy_rollout", roma_severity_min=1, roma_severity_max=5
    )
    example = image_dataset()[0]
    trainer.state.max_steps = 10
    trainer.state.global_step = 10  # the end of training: severity min whatever was drawn
    degraded = trainer._with_degraded_images(example, "noisy_rollout")["image"]
    sample_id = f"noisy_rollout/{example['id']}@step10"
    record = trainer._roma_sampler.sample_params(sample_id, 0)
    expected = corrupt(example["image"], record.name, 1.0, rng_for(trainer.args.roma_seed, sample_id, 0))
    assert _same(degraded, expected)


def test_augmentation_rolls_out_and_updates_on_degraded_images(tiny_qwen3_vl_path, tmp_path):
    trainer = _baseline(tiny_qwen3_vl_path, tmp_path, "augmentation")
    clean_trainer = _baseline(tiny_qwen3_vl_path, tmp_path / "clean", "none")
    trainer.model.train()
    clean_trainer.model.train()
    batch = next(iter(trainer.get_train_dataloader()))
    seen = _spy_rollout_images(trainer)
    output = trainer._generate_and_score_completions(batch)
    assert all(not _same(images[0], example["image"]) for images, example in zip(seen[0], batch, strict=True))
    clean_output = clean_trainer._generate_and_score_completions(batch)
    assert output["pixel_values"].shape == clean_output["pixel_values"].shape
    assert not torch.equal(output["pixel_values"], clean_output["pixel_values"])


@pytest.mark.parametrize("mode", ["noisy_rollout", "augmentation"])
def test_baselines_train(mode, tiny_qwen3_vl_path, tmp_path):
    trainer = _baseline(tiny_qwen3_vl_path, tmp_path, mode)
    trainer.train()
    assert all(math.isfinite(v) for v in _logged(trainer, "loss"))
    assert not _logged(trainer, "roma/kl_worst")  # the ROMA terms are off in a baseline run


def test_invalid_rollout_degradation_is_refused(tmp_path):
    with pytest.raises(ValueError, match="roma_rollout_degradation='noisy' is not valid"):
        config(tmp_path, roma_rollout_degradation="noisy")
    with pytest.raises(ValueError, match="roma_noisy_rollout_fraction must be in"):
        config(tmp_path, roma_noisy_rollout_fraction=0.0)
