"""`RomaGRPOTrainer` end to end on tiny, randomly initialised Qwen-VL checkpoints (CPU)."""

from __future__ import annotations

import inspect
import math
import warnings

import numpy as np
import pytest
import torch
from datasets import Dataset
from PIL import Image

from roma import RomaConfig, RomaGRPOTrainer
from roma.data.prompts import build_conversation, prompt_key
from roma.models.tiny import vision_token_ids
from roma.trainer import trainer as trainer_module
from roma.trainer.losses import KL_ESTIMATORS

# An untrained model samples vision special tokens, which Qwen-VL's position ids cannot take in a completion.
UNTRAINED_GENERATION = {"suppress_tokens": vision_token_ids()}
ROMA_METRICS = ("roma/kl_worst", "roma/kl_mean", "roma/aux_loss", "roma/frac_correct", "roma/logp_gap")


def even_length(completions, **kwargs):
    """A reward a random model earns on about half its completions: correct iff the text has even length."""
    return [float(len(c[0]["content"]) % 2 == 0) for c in completions]


def always_right(completions, **kwargs):
    return [1.0] * len(completions)


def always_wrong(completions, **kwargs):
    return [0.0] * len(completions)


def _image(seed: int, size: tuple[int, int] = (64, 64)) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def image_dataset(num_rows: int = 8, sizes: list[tuple[int, int]] | None = None) -> Dataset:
    sizes = sizes or [(64, 64)]
    return Dataset.from_list(
        [
            {
                "id": f"row-{i}",
                "prompt": build_conversation(f"How many shapes are in picture {i}?"),
                "image": _image(i, sizes[i % len(sizes)]),
                "answer": str(i % 3),
            }
            for i in range(num_rows)
        ]
    )


def config(tmp_path, **overrides) -> RomaConfig:
    values = dict(
        output_dir=str(tmp_path / "out"),
        use_cpu=True,
        bf16=False,
        per_device_train_batch_size=4,
        num_generations=4,
        max_completion_length=8,
        max_steps=2,
        learning_rate=1e-2,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        activation_checkpointing=False,
        seed=0,
        dataloader_num_workers=0,
        roma_kl_coef=0.5,
        roma_aux_coef=0.5,
        generation_kwargs=UNTRAINED_GENERATION,
    )
    values.update(overrides)
    return RomaConfig(**values)


def _logged(trainer, key: str) -> list[float]:
    return [entry[key] for entry in trainer.state.log_history if key in entry]


def _parameters(model) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def test_roma_with_zero_weights_is_exactly_grpo(tiny_qwen3_vl_path, tmp_path):
    from trl import GRPOConfig, GRPOTrainer

    dataset = image_dataset()
    shared = dict(
        output_dir=str(tmp_path / "grpo"),
        use_cpu=True,
        bf16=False,
        per_device_train_batch_size=4,
        num_generations=4,
        max_completion_length=8,
        max_steps=2,
        learning_rate=1e-2,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        activation_checkpointing=False,
        seed=0,
        generation_kwargs=UNTRAINED_GENERATION,
    )
    grpo = GRPOTrainer(
        model=str(tiny_qwen3_vl_path),
        reward_funcs=even_length,
        args=GRPOConfig(**shared),
        train_dataset=dataset,
    )
    grpo.train()
    roma = RomaGRPOTrainer(
        model=str(tiny_qwen3_vl_path),
        reward_funcs=even_length,
        args=RomaConfig(
            **shared | {"output_dir": str(tmp_path / "roma")}, roma_kl_coef=0.0, roma_aux_coef=0.0
        ),
        train_dataset=dataset,
    )
    roma.train()
    assert _logged(roma, "loss") == _logged(grpo, "loss")
    assert _logged(roma, "reward") == _logged(grpo, "reward")
    grpo_params, roma_params = _parameters(grpo.model), _parameters(roma.model)
    assert grpo_params.keys() == roma_params.keys()
    for name, value in grpo_params.items():
        assert torch.equal(value, roma_params[name]), name


@pytest.mark.parametrize("family_fixture", ["tiny_qwen3_vl_path", "tiny_qwen2_5_vl_path"])
def test_three_steps_train_the_whole_model_and_log_finite_roma_metrics(family_fixture, request, tmp_path):
    path = request.getfixturevalue(family_fixture)
    trainer = RomaGRPOTrainer(
        model=str(path),
        reward_funcs=even_length,
        args=config(tmp_path, max_steps=3),
        train_dataset=image_dataset(),
    )
    before = _parameters(trainer.model)
    trainer.train()
    after = _parameters(trainer.model)
    changed = {name for name in before if not torch.equal(before[name], after[name])}
    assert any(".visual." in name or name.startswith("model.visual") for name in changed), (
        "vision tower unchanged"
    )
    assert any("language_model" in name for name in changed)
    for key in ROMA_METRICS:
        values = _logged(trainer, key)
        assert len(values) == 3, key
        assert all(math.isfinite(v) for v in values), (key, values)
    per_corruption = [k for entry in trainer.state.log_history for k in entry if k.startswith("roma/kl/")]
    assert set(per_corruption) <= {
        "roma/kl/gaussian_blur",
        "roma/kl/jpeg_compression",
        "roma/kl/low_resolution",
    }
    assert per_corruption, "no per-corruption KL logged"
    assert all(math.isfinite(v) for v in _logged(trainer, "loss"))


def test_roma_terms_change_the_update(tiny_qwen3_vl_path, tmp_path):
    """The ROMA terms reach the parameters: same seed, with and without them, different weights."""
    results = []
    for coef in (0.0, 1.0):
        trainer = RomaGRPOTrainer(
            model=str(tiny_qwen3_vl_path),
            reward_funcs=even_length,
            args=config(tmp_path / str(coef), max_steps=1, roma_kl_coef=coef, roma_aux_coef=coef),
            train_dataset=image_dataset(),
        )
        trainer.train()
        results.append(_parameters(trainer.model))
    assert any(not torch.equal(results[0][n], results[1][n]) for n in results[0])


@pytest.mark.parametrize(
    ("reward", "expected_fraction"),
    [(always_wrong, 0.0), (always_right, 1.0)],
    ids=["all_wrong", "all_right"],
)
def test_all_wrong_and_all_right_groups_stay_finite(reward, expected_fraction, tiny_qwen3_vl_path, tmp_path):
    trainer = RomaGRPOTrainer(
        model=str(tiny_qwen3_vl_path),
        reward_funcs=reward,
        args=config(tmp_path),
        train_dataset=image_dataset(),
    )
    trainer.train()
    assert _logged(trainer, "roma/frac_correct") == [expected_fraction] * 2
    for key in (*ROMA_METRICS, "loss"):
        assert all(math.isfinite(v) for v in _logged(trainer, key)), key
    if expected_fraction == 0.0:
        assert _logged(trainer, "roma/kl_worst") == [0.0, 0.0]


def _one_batch(trainer):
    trainer.model.train()
    trainer.current_gradient_accumulation_steps = trainer.args.gradient_accumulation_steps  # set by train()
    batch = next(iter(trainer.get_train_dataloader()))
    return trainer._prepare_inputs(batch)


def test_empty_and_truncated_completions_give_finite_losses(tiny_qwen3_vl_path, tmp_path):
    trainer = RomaGRPOTrainer(
        model=str(tiny_qwen3_vl_path),
        reward_funcs=always_right,
        args=config(tmp_path, max_completion_length=4, mask_truncated_completions=True),
        train_dataset=image_dataset(),
    )
    inputs = _one_batch(trainer)
    # Random weights never stop within 4 tokens: every completion is cut at the maximum length and masked.
    assert inputs["completion_mask"].sum() == 0
    loss = trainer._compute_loss(trainer.model, inputs)
    assert torch.isfinite(loss)
    # Empty completions: the model stopped at once, only the end-of-turn token is scored.
    eos = trainer.processing_class.tokenizer.convert_tokens_to_ids("<|im_end|>")
    inputs["completion_ids"][:, 0] = eos
    inputs["completion_mask"] = torch.zeros_like(inputs["completion_mask"])
    inputs["completion_mask"][:, 0] = 1
    inputs["roma_num_items"] = inputs["completion_mask"].sum()
    loss = trainer._compute_loss(trainer.model, inputs)
    assert torch.isfinite(loss)
    assert all(math.isfinite(v) for v in trainer._metrics["train"]["roma/kl_worst"])


# Every estimator of the table (k3, the default, trains in the other tests).
@pytest.mark.parametrize("estimator", [name for name in KL_ESTIMATORS if name != "k3"])
@pytest.mark.parametrize("reduction", ["sequence_max", "mean"])
def test_estimators_and_reductions_train(estimator, reduction, tiny_qwen3_vl_path, tmp_path):
    trainer = RomaGRPOTrainer(
        model=str(tiny_qwen3_vl_path),
        reward_funcs=always_right,
        args=config(
            tmp_path, max_steps=1, roma_kl_estimator=estimator, roma_kl_reduction=reduction, roma_num_views=3
        ),
        train_dataset=image_dataset(),
    )
    trainer.train()
    kl = _logged(trainer, "roma/kl_worst")
    assert len(kl) == 1 and math.isfinite(kl[0]) and kl[0] >= (0.0 if estimator != "k1" else -math.inf)


def _completion_log_softmax(trainer, inputs, row: int, pixel_values: torch.Tensor) -> torch.Tensor:
    """log π(·) at the positions predicting row ``row``'s completion, from the model's own full logits [T, V]."""
    offsets = [0, *np.cumsum(inputs["num_images"])]
    logits = trainer.model(
        input_ids=torch.cat([inputs["prompt_ids"], inputs["completion_ids"]], 1)[row : row + 1],
        attention_mask=torch.cat([inputs["prompt_mask"], inputs["completion_mask"]], 1)[row : row + 1],
        pixel_values=pixel_values,
        image_grid_thw=inputs["image_grid_thw"][offsets[row] : offsets[row + 1]],
        mm_token_type_ids=inputs["mm_token_type_ids"][row : row + 1],
    ).logits
    t = inputs["completion_ids"].shape[1]
    return torch.log_softmax(logits[0, -t - 1 : -1], -1)


def test_full_estimator_matches_the_exact_kl_of_the_model(tiny_qwen3_vl_path, tmp_path):
    """The chunked `full` KL and log-probs equal those computed from the model's own full logits under each view."""
    trainer = RomaGRPOTrainer(
        model=str(tiny_qwen3_vl_path),
        reward_funcs=always_right,
        args=config(tmp_path, roma_kl_estimator="full", max_completion_length=6),
        train_dataset=image_dataset(),
    )
    inputs = _one_batch(trainer)
    rows = [0, 1]
    with torch.no_grad():
        logps, kl = trainer._views_logps_and_kl(trainer.model, inputs, rows, clean_target=None)
        for i, row in enumerate(rows):
            clean_pixels = trainer._roma_layout.clean_rows(inputs, row)["pixel_values"]
            log_p_clean = _completion_log_softmax(trainer, inputs, row, clean_pixels)
            for k in range(trainer.args.roma_num_views):
                log_p_view = _completion_log_softmax(
                    trainer, inputs, row, inputs["roma_pixel_values"][row][k]
                )
                expected_kl = (log_p_clean.exp() * (log_p_clean - log_p_view)).sum(-1)
                torch.testing.assert_close(kl[k, i], expected_kl, rtol=1e-4, atol=1e-5)
                expected_logps = log_p_view.gather(-1, inputs["completion_ids"][row].unsqueeze(-1)).squeeze(
                    -1
                )
                torch.testing.assert_close(logps[k, i], expected_logps, rtol=1e-4, atol=1e-4)


def test_views_are_shared_by_a_prompts_completions_and_keep_the_grid(tiny_qwen3_vl_path, tmp_path):
    trainer = RomaGRPOTrainer(
        model=str(tiny_qwen3_vl_path),
        reward_funcs=even_length,
        args=config(tmp_path, roma_num_views=2, shuffle_dataset=False),
        train_dataset=image_dataset(sizes=[(64, 64), (96, 64)]),
    )
    trainer.model.train()
    batch = next(iter(trainer.get_train_dataloader()))
    output = trainer._generate_and_score_completions(batch)
    keys = [prompt_key(x) for x in batch]
    views = output["roma_pixel_values"]
    for i in range(len(batch)):
        for j in range(len(batch)):
            if keys[i] == keys[j]:
                assert torch.equal(views[i], views[j])
                assert output["roma_view_names"][i] == output["roma_view_names"][j]
    assert not torch.equal(views[0][0], views[0][1]) or output["roma_view_names"][0][0] != "gaussian_blur"
    # Each view has exactly the clean pixel-value layout of its sample.
    assert views[0].shape[1] == int(output["image_grid_thw"][0].prod())


def test_training_views_are_the_public_samplers_views(tiny_qwen3_vl_path, tmp_path):
    """What a user reproduces with `DegradationSampler.sample` is exactly what training saw (noise included)."""
    from roma.degrade import DegradationSampler

    corruptions = ["gaussian_noise", "impulse_noise"]  # random pixels: a different generator would show
    trainer = RomaGRPOTrainer(
        model=str(tiny_qwen3_vl_path),
        reward_funcs=even_length,
        args=config(
            tmp_path, roma_num_views=2, roma_seed=3, roma_corruptions=corruptions, shuffle_dataset=False
        ),
        train_dataset=image_dataset(),
    )
    trainer.model.train()
    trainer.state.global_step = 5
    calls = []
    start_views, generate = trainer._start_views, trainer._generate
    trainer._start_views = lambda *a: calls.append("views") or start_views(*a)
    trainer._generate = lambda *a: calls.append("generate") or generate(*a)
    batch = next(iter(trainer.get_train_dataloader()))
    output = trainer._generate_and_score_completions(batch)
    assert calls == ["views", "generate"]  # the views are under way while TRL generates

    sampler = DegradationSampler(corruptions, (1, 5), seed=3)
    image_processor = trainer.processing_class.image_processor
    for row, example in enumerate(batch):
        for view in range(2):
            image, record = sampler.sample(
                example["image"], trainer_module.training_view_id(example["id"], 5), view
            )
            expected = image_processor(images=[image], return_tensors="pt")["pixel_values"]
            assert torch.equal(output["roma_pixel_values"][row][view], expected), (row, view)
            assert output["roma_view_names"][row][view] == record.name


def test_lora_gradient_checkpointing_and_reference_model(tiny_qwen3_vl_path, tmp_path):
    from peft import LoraConfig

    trainer = RomaGRPOTrainer(
        model=str(tiny_qwen3_vl_path),
        reward_funcs=even_length,
        args=config(tmp_path, activation_checkpointing=True, beta=0.1),
        train_dataset=image_dataset(),
        peft_config=LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]),
    )
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters() if p.requires_grad}
    trainer.train()
    assert before and all("lora" in n for n in before)
    after = dict(trainer.model.named_parameters())
    assert any(not torch.equal(before[n], after[n].detach()) for n in before)
    for key in (*ROMA_METRICS, "kl"):
        assert all(math.isfinite(v) for v in _logged(trainer, key)), key


def test_trls_read_of_a_deprecated_property_is_not_reported_and_the_users_own_still_is(
    tiny_qwen3_vl_path, tmp_path
):
    """TRL 1.16 reads `model.is_gradient_checkpointing` (a FutureWarning in this transformers) around each
    generation: the main job printed it, though the user can do nothing about it. Only TRL's read is silenced."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer = RomaGRPOTrainer(
            model=str(tiny_qwen3_vl_path),
            reward_funcs=even_length,
            args=config(tmp_path, max_steps=1),
            train_dataset=image_dataset(),
        )
        trainer.train()
        assert not [w for w in caught if "is_gradient_checkpointing" in str(w.message)]
        assert trainer.model.is_gradient_checkpointing is False  # the user's own read
    assert [w.category for w in caught if "is_gradient_checkpointing" in str(w.message)] == [FutureWarning]


def test_reference_model_from_saved_path_without_peft(tiny_qwen2_5_vl_path, tmp_path):
    trainer = RomaGRPOTrainer(
        model=str(tiny_qwen2_5_vl_path),
        reward_funcs=even_length,
        args=config(tmp_path, beta=0.05, max_steps=1, num_iterations=2),
        train_dataset=image_dataset(),
    )
    trainer.train()
    assert trainer.ref_model is not None
    assert all(math.isfinite(v) for v in _logged(trainer, "kl"))
    assert all(math.isfinite(v) for v in _logged(trainer, "roma/kl_worst"))


def test_multi_image_prompts_and_text_only_rows_in_one_batch(tiny_qwen3_vl_path, tmp_path):
    """Batches of 4 prompts × 2 completions mixing 2-image, 1-image and text-only prompts (TRL 1.16 alone raises
    in the processor on such a batch; the trainer hands it an empty image list for the text-only rows)."""
    rows = []
    for i in range(8):
        num_images = [2, 1, 0, 2][i % 4]
        rows.append(
            {
                "id": f"multi-{i}",
                "prompt": build_conversation(f"Compare the pictures {i}.", num_images=num_images),
                "images": [_image(100 * i + j) for j in range(num_images)],
            }
        )
    trainer = RomaGRPOTrainer(
        model=str(tiny_qwen3_vl_path),
        reward_funcs=always_right,
        args=config(
            tmp_path, max_steps=2, per_device_train_batch_size=8, num_generations=2, shuffle_dataset=False
        ),
        train_dataset=Dataset.from_list(rows),
    )
    inputs = _one_batch(trainer)
    assert sorted(set(inputs["num_images"])) == [0, 1, 2]  # one batch mixes all three kinds
    has_image = [v is not None for v in inputs["roma_pixel_values"]]
    assert has_image == [n > 0 for n in inputs["num_images"]]
    # Every image row is regularised (all correct), text-only rows never.
    assert inputs["roma_mask"].tolist() == has_image
    # Each image row's view log-probs are the model's own on that row alone under that view.
    image_rows = [row for row, has in enumerate(has_image) if has]
    with torch.no_grad():
        logps, _ = trainer._views_logps_and_kl(
            trainer.model, inputs, image_rows, torch.zeros(len(image_rows), inputs["completion_ids"].size(1))
        )
        for i, row in enumerate(image_rows):
            for k in range(trainer.args.roma_num_views):
                log_p = _completion_log_softmax(trainer, inputs, row, inputs["roma_pixel_values"][row][k])
                expected = log_p.gather(-1, inputs["completion_ids"][row].unsqueeze(-1)).squeeze(-1)
                torch.testing.assert_close(logps[k, i], expected, rtol=1e-4, atol=1e-4)
    trainer.train()
    kl = _logged(trainer, "roma/kl_worst")
    assert len(kl) == 2 and all(math.isfinite(v) and v > 0 for v in kl)


def test_a_row_without_its_image_names_the_sample(tiny_qwen3_vl_path, tmp_path):
    rows = [{"id": f"r{i}", "prompt": build_conversation("Q?"), "image": _image(i)} for i in range(4)]
    rows[2]["image"] = None
    trainer = RomaGRPOTrainer(
        model=str(tiny_qwen3_vl_path),
        reward_funcs=even_length,
        args=config(tmp_path, max_steps=1, per_device_train_batch_size=8, num_generations=2),
        train_dataset=Dataset.from_list(rows),
    )
    with pytest.raises(ValueError, match=r"sample r2 has 1 image placeholder\(s\) in its prompt but 0 image"):
        trainer.train()


def test_a_corruption_that_changes_the_size_is_refused(tiny_qwen3_vl_path, tmp_path, clean_registry):
    from roma.degrade import register_corruption

    @register_corruption("test_crop_half")
    def crop_half(image, severity, rng):
        return image[: image.shape[0] // 2]

    trainer = RomaGRPOTrainer(
        model=str(tiny_qwen3_vl_path),
        reward_funcs=even_length,
        args=config(tmp_path, max_steps=1, roma_corruptions=["test_crop_half"]),
        train_dataset=image_dataset(),
    )
    with pytest.raises(ValueError, match="test_crop_half"):
        trainer.train()


def test_unknown_or_missing_correctness_reward_is_a_clear_error(tiny_qwen3_vl_path, tmp_path):
    with pytest.raises(
        ValueError, match=r"roma_correctness_reward='accuracy' is not one of the reward functions"
    ):
        RomaGRPOTrainer(
            model=str(tiny_qwen3_vl_path),
            reward_funcs=[even_length, always_right],
            args=config(tmp_path, roma_correctness_reward="accuracy"),
            train_dataset=image_dataset(),
        )
    with pytest.raises(
        ValueError, match="roma_correctness_reward is not set and there are 2 reward functions"
    ):
        RomaGRPOTrainer(
            model=str(tiny_qwen3_vl_path),
            reward_funcs=[even_length, always_right],
            args=config(tmp_path),
            train_dataset=image_dataset(),
        )
    trainer = RomaGRPOTrainer(
        model=str(tiny_qwen3_vl_path),
        reward_funcs=[even_length, always_right],
        args=config(tmp_path, roma_correctness_reward="always_right"),
        train_dataset=image_dataset(),
    )
    assert trainer._roma_correctness_index == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("roma_kl_estimator", "k4", "roma_kl_estimator='k4' is not valid"),
        ("roma_kl_reduction", "max", "roma_kl_reduction='max' is not valid"),
        ("roma_num_views", 0, "roma_num_views must be >= 1"),
        ("roma_kl_coef", -1.0, "roma_kl_coef must be >= 0"),
        ("roma_severity_max", 6, "roma_severity_min / roma_severity_max"),
    ],
)
def test_config_rejects_invalid_fields(field, value, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        config(tmp_path, **{field: value})


def test_a_plain_grpo_config_is_a_clear_error(tiny_qwen3_vl_path, tmp_path):
    from trl import GRPOConfig

    grpo_config = GRPOConfig(output_dir=str(tmp_path), use_cpu=True, bf16=False, report_to="none")
    with pytest.raises(TypeError, match="RomaGRPOTrainer needs args=RomaConfig"):
        RomaGRPOTrainer(str(tiny_qwen3_vl_path), even_length, grpo_config, image_dataset())


def test_full_estimator_requires_stop_gradient(tmp_path):
    with pytest.raises(ValueError, match="roma_kl_estimator='full' requires roma_stop_grad_clean=True"):
        config(tmp_path, roma_kl_estimator="full", roma_stop_grad_clean=False)


def test_every_config_field_has_help():
    from dataclasses import fields

    for f in fields(RomaConfig):
        if f.name.startswith("roma_"):
            assert f.metadata.get("help"), f.name


def test_trl_hook_signatures_are_the_ones_roma_overrides():
    trainer_module.check_trl_hooks()

    class Moved:
        def _generate_and_score_completions(self, inputs, extra):
            pass

    with pytest.raises(RuntimeError, match="GRPOTrainer._generate_and_score_completions moved"):
        trainer_module.check_trl_hooks(type("Fake", (Moved,), {}))
    # Our overrides keep TRL's signatures too, or pass every argument through unchanged.
    for name, expected in trainer_module.TRL_HOOK_PARAMETERS.items():
        found = tuple(inspect.signature(getattr(RomaGRPOTrainer, name)).parameters)
        assert found in (expected, ("self", "args", "kwargs")), name


@pytest.mark.parametrize("batches", ["images_on_both_ranks", "text_only_on_rank_1"])
def test_two_cpu_ranks_end_with_the_same_parameters(batches, tiny_qwen3_vl_path, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).parent / "scripts" / "distributed_train.py"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).parents[1])}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",  # a free port: a fixed one fails by chance when another process holds it
            "--nproc_per_node",
            "2",
            str(script),
            str(tiny_qwen3_vl_path),
            str(tmp_path),
            *([batches] if batches == "text_only_on_rank_1" else []),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in (0, 1)]
    assert [r["world_size"] for r in ranks] == [2, 2]
    for name, value in ranks[0]["params"].items():
        assert torch.equal(value, ranks[1]["params"][name]), name
    logged = [e for e in ranks[0]["log_history"] if "roma/kl_worst" in e]
    assert len(logged) == 3 and all(math.isfinite(e["roma/kl_worst"]) for e in logged)


# --- issue 15: model families, the aux term's clipped form, the chunked views pass, TRL guards, mixed batches ---


# Every family (Qwen-VL, LLaVA, LLaVA-NeXT, Gemma 3, Idefics3, SmolVLM) and the refused ones: tests/test_families.py.


def _roma_loss_and_gradients(trainer, inputs):
    trainer.model.zero_grad(set_to_none=True)
    with torch.no_grad():
        clean = trainer._get_per_token_logps_and_entropies(
            trainer.model,
            torch.cat([inputs["prompt_ids"], inputs["completion_ids"]], 1),
            torch.cat([inputs["prompt_mask"], inputs["completion_mask"]], 1),
            inputs["completion_ids"].size(1),
            **{k: inputs[k] for k in ("pixel_values", "image_grid_thw", "num_images", "mm_token_type_ids")},
        )[0]
    loss = trainer._roma_loss(trainer.model, inputs, clean)
    loss.backward()
    grads = {n: p.grad.clone() for n, p in trainer.model.named_parameters() if p.grad is not None}
    return loss.detach(), grads


@pytest.mark.parametrize("estimator", ["k3", "full"])
def test_chunked_views_pass_gives_the_same_loss_and_gradients(estimator, tiny_qwen3_vl_path, tmp_path):
    trainer = RomaGRPOTrainer(
        model=str(tiny_qwen3_vl_path),
        reward_funcs=even_length,
        args=config(tmp_path, roma_num_views=3, roma_kl_estimator=estimator, roma_correctness_gate=False),
        train_dataset=image_dataset(),
    )
    inputs = _one_batch(trainer)
    assert inputs["roma_mask"].sum() == 4  # 4 rows × 3 views = 12 view rows
    loss, grads = _roma_loss_and_gradients(trainer, inputs)
    assert loss != 0 and any(g.abs().sum() > 0 for n, g in grads.items() if ".visual." in n)
    for micro_batch in (1, 5):
        trainer.args.roma_views_micro_batch = micro_batch
        chunked_loss, chunked_grads = _roma_loss_and_gradients(trainer, inputs)
        torch.testing.assert_close(chunked_loss, loss, rtol=1e-5, atol=1e-6)
        # A parameter whose output reaches nothing scored (Qwen3-VL's last deepstack merger: the image positions
        # after the last layer) has a zero gradient in one pass and none in another; both are zero.
        for name in grads.keys() | chunked_grads.keys():
            grad, chunked = grads.get(name), chunked_grads.get(name)
            if grad is None or chunked is None:
                assert "deepstack_merger_list" in name and not (grad if chunked is None else chunked).any(), (
                    name
                )
                continue
            torch.testing.assert_close(chunked, grad, rtol=1e-4, atol=1e-6, msg=name)


def test_clipped_aux_term_gives_no_gradient_when_every_token_is_clipped(tiny_qwen3_vl_path, tmp_path):
    """num_iterations = 2 after the policy moved: every aux token outside the clip range -> no aux gradient."""
    trainer = RomaGRPOTrainer(
        model=str(tiny_qwen3_vl_path),
        reward_funcs=even_length,
        args=config(
            tmp_path, roma_kl_coef=0.0, roma_aux_coef=1.0, roma_correctness_gate=False, num_iterations=2
        ),
        train_dataset=image_dataset(num_rows=16),
    )
    inputs = _one_batch(trainer)
    assert "roma_old_aux_logps" in inputs  # TRL keeps old log-probs for num_iterations > 1, and so does ROMA
    advantages = inputs["advantages"] = torch.tensor(
        [1.0, -1.0, 0.5, -0.5]
    )  # both signs (the group's may tie)
    rows = list(range(len(advantages)))
    with torch.no_grad():
        pairs = [(int(inputs["roma_aux_view"][row]), row) for row in rows]
        current = trainer._views_forward(trainer.model, inputs, pairs, hidden=False)
    # The generating policy is at the stored log-probs (the model has not moved since).
    torch.testing.assert_close(
        inputs["roma_old_aux_logps"], current * inputs["roma_mask"].unsqueeze(1), atol=1e-5, rtol=1e-5
    )
    # Old log-probs so far away that r = 2 where A > 0 and r = 0.5 where A < 0: all clipped (ε = 0.2).
    inputs["roma_old_aux_logps"] = current - torch.sign(advantages).unsqueeze(1) * math.log(2.0)
    loss, grads = _roma_loss_and_gradients(trainer, inputs)
    assert loss != 0
    assert all(torch.count_nonzero(g) == 0 for g in grads.values())
    trainer.args.roma_aux_form = "plain"
    _, plain_grads = _roma_loss_and_gradients(trainer, inputs)
    assert any(torch.count_nonzero(g) > 0 for g in plain_grads.values())


def test_a_trl_whose_first_log_prob_pass_is_not_the_clean_one_is_refused(
    tiny_qwen3_vl_path, tmp_path, monkeypatch
):
    from trl import GRPOTrainer

    trainer = RomaGRPOTrainer(
        model=str(tiny_qwen3_vl_path),
        reward_funcs=always_right,
        args=config(tmp_path),
        train_dataset=image_dataset(),
    )
    inputs = _one_batch(trainer)
    original = GRPOTrainer._compute_loss

    def views_first(self, model, inputs):  # a TRL that scores something else before the clean pass
        ids = torch.cat([inputs["prompt_ids"], inputs["completion_ids"]], 1)
        self._get_per_token_logps_and_entropies(
            model,
            ids.flip(0),
            torch.ones_like(ids),
            inputs["completion_ids"].size(1),
            pixel_values=inputs["pixel_values"],
            image_grid_thw=inputs["image_grid_thw"],
            num_images=inputs["num_images"],
            mm_token_type_ids=inputs["mm_token_type_ids"].flip(0),
        )
        return original(self, model, inputs)

    monkeypatch.setattr(GRPOTrainer, "_compute_loss", views_first)
    with pytest.raises(RuntimeError, match="no longer the clean pass"):
        trainer._compute_loss(trainer.model, inputs)


def test_a_trl_whose_generate_result_moved_is_refused(tiny_qwen3_vl_path, tmp_path, monkeypatch):
    from trl import GRPOTrainer

    trainer = RomaGRPOTrainer(
        model=str(tiny_qwen3_vl_path),
        reward_funcs=always_right,
        args=config(tmp_path, roma_rollout_degradation="noisy_rollout", roma_kl_coef=0.0, roma_aux_coef=0.0),
        train_dataset=image_dataset(),
    )
    original = GRPOTrainer._generate
    monkeypatch.setattr(GRPOTrainer, "_generate", lambda self, prompts: original(self, prompts)[:6])
    with pytest.raises(RuntimeError, match="_generate returned 6 items"):
        trainer.train()
