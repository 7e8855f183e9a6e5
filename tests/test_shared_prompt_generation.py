"""Shared-prompt generation (`roma.trainer.shared_prompt_generation`) against the plain ``generate`` call: the same
tokens, with the vision tower and the prefill run on the distinct prompts only, on tiny Qwen3-VL, Qwen2.5-VL and
Qwen2-VL models and a GRPO-shaped batch (two prompts of different lengths, left-padded, their copies interleaved)."""

from __future__ import annotations

import pytest
import torch
from test_shared_prompt import two_prompts
from test_trainer import config, even_length, image_dataset
from transformers import AutoModelForImageTextToText, AutoProcessor

from roma import RomaGRPOTrainer
from roma.models.tiny import build_tiny_model, vision_token_ids
from roma.trainer import shared_prompt_generation as module
from roma.trainer.shared_prompt_generation import shared_prompt_generation

ORDER = [0, 1, 0, 1, 1, 0]  # row -> prompt
# Sampling as GRPO rolls out (temperature 1, no truncation); an untrained model would sample vision tokens.
SAMPLING = dict(
    do_sample=True, temperature=1.0, top_k=0, top_p=1.0, max_new_tokens=8, suppress_tokens=vision_token_ids()
)


def _generation_batch(processor, order: list[int]) -> dict:
    prompts = two_prompts(processor)
    per_image = torch.split(prompts["pixel_values"], prompts["image_grid_thw"].prod(-1).tolist())
    rows = torch.tensor(order)
    batch = {key: prompts[key][rows] for key in ("input_ids", "attention_mask", "image_grid_thw")}
    batch["pixel_values"] = torch.cat([per_image[i] for i in order])
    if "mm_token_type_ids" in prompts:
        batch["mm_token_type_ids"] = prompts["mm_token_type_ids"][rows]
    return batch


class _Rows:
    """Counts what the vision tower and the language model see: patches per vision call, rows per LM call."""

    def __init__(self, model):
        self.patches: list[int] = []
        self.lm_rows: list[int] = []
        backbone = model.model
        self._handles = [
            backbone.visual.register_forward_pre_hook(lambda m, args: self.patches.append(args[0].size(0))),
            backbone.language_model.register_forward_pre_hook(self._language_model, with_kwargs=True),
        ]

    def _language_model(self, module, args, kwargs):
        self.lm_rows.append(kwargs["inputs_embeds"].size(0))

    def remove(self):
        for handle in self._handles:
            handle.remove()


def _sample(model, batch, seed: int = 0):
    rows = _Rows(model)
    torch.manual_seed(seed)
    try:
        with torch.no_grad():
            tokens = model.generate(**batch, **SAMPLING)
    finally:
        rows.remove()
    return tokens, rows


@pytest.mark.parametrize("family", ["qwen3_vl", "qwen2_5_vl", "qwen2_vl"])
def test_shared_prompt_generation_draws_the_plain_calls_tokens_from_the_distinct_prompts(
    family, request, tmp_path
):
    built = {"qwen3_vl": "tiny_qwen3_vl_path", "qwen2_5_vl": "tiny_qwen2_5_vl_path"}  # session fixtures
    path = (
        request.getfixturevalue(built[family])
        if family in built
        else build_tiny_model(family, tmp_path, size="tiny", seed=0)
    )
    processor = AutoProcessor.from_pretrained(path)
    model = AutoModelForImageTextToText.from_pretrained(path, dtype=torch.float32)
    model.train()  # TRL generates with the model in training mode
    batch = _generation_batch(processor, ORDER)
    patches_per_image = batch["image_grid_thw"].prod(-1)
    for seed in (0, 1):
        plain, plain_rows = _sample(model, batch, seed)
        with shared_prompt_generation(model, [1] * len(ORDER)):
            shared, shared_rows = _sample(model, batch, seed)
        assert torch.equal(shared, plain)
        assert plain.size(1) > batch["input_ids"].size(1) + 4  # tokens were sampled, not only EOS
        assert plain_rows.patches == [int(patches_per_image.sum())]
        assert shared_rows.patches == [int(patches_per_image[:2].sum())]  # the two distinct images
        assert plain_rows.lm_rows[0] == 6 and shared_rows.lm_rows[0] == 2  # the prefill
        assert shared_rows.lm_rows[1:] == plain_rows.lm_rows[1:] == [6] * (len(plain_rows.lm_rows) - 1)
    for name in ("generate", "_prefill", "_prepare_multimodal_encoder_kwargs_for_generation"):
        assert name not in vars(model)  # the class's methods again


def test_rows_with_other_pixels_are_another_prompt_and_text_only_calls_are_plain(tiny_qwen3_vl_path):
    processor = AutoProcessor.from_pretrained(tiny_qwen3_vl_path)
    model = AutoModelForImageTextToText.from_pretrained(tiny_qwen3_vl_path, dtype=torch.float32).eval()
    batch = _generation_batch(processor, ORDER)
    starts = torch.cat([torch.zeros(1, dtype=torch.long), batch["image_grid_thw"].prod(-1).cumsum(0)])
    batch["pixel_values"][starts[2], 0] += 1e-3  # row 2: prompt 0's tokens, another image (a degraded view)
    plain, _ = _sample(model, batch)
    with shared_prompt_generation(model, [1] * len(ORDER)):
        shared, rows = _sample(model, batch)
    assert torch.equal(shared, plain)
    assert rows.lm_rows[0] == 3
    with shared_prompt_generation(model, None):  # no image counts (a text-only batch): the plain call
        _, rows = _sample(model, batch)
    assert rows.lm_rows[0] == 6


def test_the_trainers_rollouts_run_each_prompt_once(tiny_qwen3_vl_path, tmp_path, monkeypatch):
    """RomaGRPOTrainer's rollouts go through shared-prompt generation (where TRL's must be drawn: the samples
    equal GRPOTrainer's, `tests/test_trainer.py::test_roma_with_zero_weights_is_exactly_grpo`) unless switched
    off."""
    prefills: list[int] = []
    plain_prefill = module._SharedPromptPlan.prefill

    def counted(plan, *args, **kwargs):
        prefills.append(len(plan.first_rows))
        return plain_prefill(plan, *args, **kwargs)

    monkeypatch.setattr(module._SharedPromptPlan, "prefill", counted)
    for shared in (True, False):
        prefills.clear()
        trainer = RomaGRPOTrainer(
            model=str(tiny_qwen3_vl_path),
            reward_funcs=even_length,
            args=config(tmp_path, max_steps=1, roma_shared_prompt_forward=shared),
            train_dataset=image_dataset(),
        )
        trainer.train()
        assert prefills == ([1] if shared else [])  # one rollout: 4 rows, 1 distinct prompt
