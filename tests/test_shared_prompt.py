"""The shared-prompt log-prob pass (`roma.trainer.shared_prompt`) against TRL's own pass: same log-probs,
entropies and parameter gradients, on tiny Qwen3-VL and Qwen2.5-VL models, for a GRPO-shaped batch (groups of
completions sharing a left-padded prompt, rows shuffled as TRL shuffles them)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from accelerate import Accelerator
from transformers import AutoModelForImageTextToText, AutoProcessor
from trl import GRPOTrainer
from trl.trainer.utils import add_fused_lm_head

from roma.data.synthetic import make_synthetic_dataset
from roma.trainer.shared_prompt import shared_prompt_owners, shared_prompt_pass

QUESTIONS = ("Is the fine pattern stripes or a checkerboard? A: stripes, B: checks.", "Colour? A: red.")
COMPLETION_LENGTH = 6


def two_prompts(processor) -> dict:
    """Two prompts with different images and question lengths, processed and left-padded as TRL pads them."""
    images = list(make_synthetic_dataset("train", 2, seed=1)["image"])
    texts = [
        processor.apply_chat_template(
            [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}],
            add_generation_prompt=True,
            tokenize=False,
        )
        for question in QUESTIONS
    ]
    processor.tokenizer.padding_side = "left"
    return processor(text=texts, images=images, return_tensors="pt", padding=True)


def _grpo_batch(processor, group_size: int = 3) -> dict:
    """Two prompts (`two_prompts`) x ``group_size`` completions, rows interleaved; completions of different
    lengths (right-padded, as TRL pads them)."""
    prompts = two_prompts(processor)
    order = torch.tensor([0, 1, 0, 1, 1, 0][: 2 * group_size])  # row -> prompt, shuffled
    generator = torch.Generator().manual_seed(0)
    completion_ids = torch.randint(0, 200, (len(order), COMPLETION_LENGTH), generator=generator)
    completion_mask = torch.ones_like(completion_ids)
    completion_mask[1, 4:] = 0
    completion_mask[4, 2:] = 0
    rows_per_image = prompts["image_grid_thw"].prod(-1).tolist()
    per_image = torch.split(prompts["pixel_values"], rows_per_image)
    return {
        "input_ids": torch.cat([prompts["input_ids"][order], completion_ids], dim=1),
        "attention_mask": torch.cat([prompts["attention_mask"][order], completion_mask], dim=1),
        "logits_to_keep": COMPLETION_LENGTH,
        "pixel_values": torch.cat([per_image[i] for i in order.tolist()]),
        "image_grid_thw": prompts["image_grid_thw"][order],
        "num_images": [1] * len(order),
        "mm_token_type_ids": torch.cat(
            [prompts["mm_token_type_ids"][order], torch.zeros_like(completion_ids)], dim=1
        ),
        "completion_mask": completion_mask,
    }


@pytest.mark.parametrize("family_path", ["tiny_qwen3_vl_path", "tiny_qwen2_5_vl_path"])
def test_shared_prompt_pass_equals_trls_pass_in_values_and_gradients(family_path, request):
    path = request.getfixturevalue(family_path)
    processor = AutoProcessor.from_pretrained(path)
    model = AutoModelForImageTextToText.from_pretrained(path, dtype=torch.float32)
    model.train()
    add_fused_lm_head(model, temperature=0.7, outputs=("log_probs", "entropy"))
    accelerator = Accelerator(cpu=True)
    batch = _grpo_batch(processor)
    mask = batch.pop("completion_mask")
    arguments = {"model": model, **batch, "compute_entropy": True}

    def run(pass_fn):
        model.zero_grad()
        logps, entropies, _ = pass_fn()
        # A loss that weighs every token differently, so a gradient routed to the wrong row would show.
        weights = torch.linspace(0.5, 1.5, logps.numel()).view_as(logps)
        (logps * weights * mask).sum().backward()
        grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
        return logps.detach(), entropies.detach(), grads

    trl_self = SimpleNamespace(accelerator=accelerator)
    ref_logps, ref_entropies, ref_grads = run(
        lambda: GRPOTrainer._get_per_token_logps_and_entropies(trl_self, **arguments)
    )
    logps, entropies, grads = run(lambda: shared_prompt_pass(arguments, True, accelerator))
    valid = mask.bool()
    assert torch.allclose(logps[valid], ref_logps[valid], atol=2e-5)
    assert torch.allclose(entropies[valid], ref_entropies[valid], atol=2e-5)
    # A parameter whose output reaches nothing scored has no gradient in one pass and a zero one in the other
    # (Qwen3-VL's last deepstack merger feeds the image positions after the last layer).
    assert any(grad.abs().max() > 0 for name, grad in grads.items() if "visual" in name)
    for name in grads.keys() | ref_grads.keys():
        grad = grads.get(name, torch.zeros(()))
        ref_grad = ref_grads.get(name, torch.zeros(()))
        scale = ref_grad.abs().max().clamp(min=1e-6)
        assert (grad - ref_grad).abs().max() / scale < 1e-4, name


def test_rows_share_a_prompt_only_with_equal_tokens_and_pixels(tiny_qwen3_vl_path):
    processor = AutoProcessor.from_pretrained(tiny_qwen3_vl_path)
    batch = _grpo_batch(processor)
    prompt_length = batch["input_ids"].size(1) - COMPLETION_LENGTH
    prompt_ids, prompt_mask = (
        batch["input_ids"][:, :prompt_length],
        batch["attention_mask"][:, :prompt_length],
    )
    first_rows, owner = shared_prompt_owners(
        prompt_ids, prompt_mask, batch["pixel_values"], batch["image_grid_thw"], batch["num_images"]
    )
    assert first_rows == [0, 1] and owner.tolist() == [0, 1, 0, 1, 1, 0]
    # Same tokens, one pixel changed in row 2's image (a degraded view is another prompt).
    pixel_values = batch["pixel_values"].clone()
    rows = batch["image_grid_thw"].prod(-1)
    pixel_values[int(rows[:2].sum()), 0] += 1e-3
    first_rows, owner = shared_prompt_owners(
        prompt_ids, prompt_mask, pixel_values, batch["image_grid_thw"], batch["num_images"]
    )
    assert first_rows == [0, 1, 2] and owner.tolist() == [0, 1, 2, 1, 1, 0]


def test_trls_pass_runs_where_the_shared_pass_does_not_apply(tiny_qwen3_vl_path):
    processor = AutoProcessor.from_pretrained(tiny_qwen3_vl_path)
    model = AutoModelForImageTextToText.from_pretrained(tiny_qwen3_vl_path)
    add_fused_lm_head(model, outputs=("log_probs", "entropy"))
    accelerator = Accelerator(cpu=True)
    batch = _grpo_batch(processor)
    batch.pop("completion_mask")
    arguments = {"model": model, **batch, "compute_entropy": True}
    assert shared_prompt_pass(arguments, True, accelerator) is not None
    assert shared_prompt_pass(arguments, False, accelerator) is None  # switched off
    assert shared_prompt_pass({**arguments, "compute_aux_loss": True}, True, accelerator) is None  # MoE
    assert shared_prompt_pass({**arguments, "pixel_values": None}, True, accelerator) is None  # text only
    one_group = {key: value for key, value in arguments.items()}
    one_group |= {"input_ids": batch["input_ids"][:2], "attention_mask": batch["attention_mask"][:2]}
    one_group |= {"image_grid_thw": batch["image_grid_thw"][:2], "num_images": [1, 1]}
    rows = int(batch["image_grid_thw"][:2].prod(-1).sum())
    one_group |= {
        "pixel_values": batch["pixel_values"][:rows],
        "mm_token_type_ids": batch["mm_token_type_ids"][:2],
    }
    assert shared_prompt_pass(one_group, True, accelerator) is None  # no prompt shared: nothing to save
    several = SimpleNamespace(
        num_processes=2, unwrap_model=accelerator.unwrap_model, autocast=accelerator.autocast
    )
    assert shared_prompt_pass(arguments, True, several) is None  # DDP: one forward per backward
    model.activation_checkpointing_enable()
    assert shared_prompt_pass(arguments, True, accelerator) is None  # training would turn the cache off
