"""ROMA on every vision-language family it supports: tiny offline checkpoints of each, 2 training steps (CPU)."""

from __future__ import annotations

import math
import re

import pytest
import torch
from test_trainer import _logged, config, image_dataset
from transformers import AutoModelForImageTextToText, AutoProcessor

from roma import RomaGRPOTrainer
from roma.models.tiny import FAMILIES, build_tiny_model, vision_token_ids
from roma.trainer.layouts import FAMILY_LAYOUTS, REFUSED_FAMILIES, layout_for


def always_right(completions, **kwargs):
    """The correctness reward: every completion is correct, so every completion is regularised."""
    return [1.0] * len(completions)


def alternating(completions, **kwargs):
    """A second reward that varies within every group (rows of a group are consecutive), so the advantages, and
    with them the auxiliary PG term, are non-zero whatever an untrained model writes."""
    return [float(i % 2) for i in range(len(completions))]


def _trainer(family: str, tmp_path, **overrides) -> RomaGRPOTrainer:
    """RomaGRPOTrainer on a tiny ``family`` checkpoint, saved and loaded back through the Auto classes."""
    path = build_tiny_model(family, tmp_path / family)
    model = AutoModelForImageTextToText.from_pretrained(path)
    processor = AutoProcessor.from_pretrained(path)
    assert model.config.model_type == family
    values = dict(
        roma_num_views=2,
        roma_correctness_reward="always_right",
        # The plain form, -A · log-prob: the clipped one is exactly zero on-policy when all completions have one length.
        roma_aux_form="plain",
        # An untrained model samples image tokens as often as any byte; in a completion they break the forward.
        generation_kwargs={"suppress_tokens": vision_token_ids(family)},
    )
    values.update(overrides)
    return RomaGRPOTrainer(
        model=model,
        processing_class=processor,
        reward_funcs=[always_right, alternating],
        args=config(tmp_path, **values),
        # Two image sizes: tilings (LLaVA-NeXT, Idefics3, SmolVLM) and grids (Qwen-VL) differ between rows of a batch.
        train_dataset=image_dataset(sizes=[(64, 64), (96, 64)]),
    )


def test_every_family_tiny_builds_has_a_layout():
    assert set(FAMILIES) == set(FAMILY_LAYOUTS)


@pytest.mark.parametrize("family", FAMILIES)
def test_two_roma_steps_on_each_supported_family(family, tmp_path):
    trainer = _trainer(family, tmp_path)
    assert trainer._roma_layout is FAMILY_LAYOUTS[family]
    trainer.train()
    assert _logged(trainer, "roma/frac_correct") == [1.0, 1.0]
    for metric in ("roma/kl_worst", "roma/aux_loss"):
        values = _logged(trainer, metric)
        assert len(values) == 2 and all(math.isfinite(v) and v != 0.0 for v in values), (metric, values)
    assert all(v > 0 for v in _logged(trainer, "roma/kl_worst"))


@pytest.mark.parametrize("family", FAMILIES)
def test_an_identity_view_gives_zero_kl(family, tmp_path, clean_registry):
    """With a corruption that changes nothing the views are the clean inputs: the KL is zero up to rounding, so the
    non-zero KL above comes from the degraded pixels reaching the model (and the rows are aligned)."""
    from roma.degrade import register_corruption

    @register_corruption("test_identity")
    def identity(image, severity, rng):
        return image

    trainer = _trainer(family, tmp_path, roma_corruptions=["test_identity"], max_steps=1)
    trainer.train()
    (kl,) = _logged(trainer, "roma/kl_worst")
    assert abs(kl) < 1e-5, kl


def test_gemma3_pan_and_scan_is_refused_at_construction(tmp_path):
    """A layout ROMA cannot match: pan-and-scan crops are extra pixel_values entries TRL does not slice per sample."""
    path = build_tiny_model("gemma3", tmp_path / "gemma3")
    processor = AutoProcessor.from_pretrained(path)
    processor.image_processor.do_pan_and_scan = True
    with pytest.raises(
        NotImplementedError, match=r"'gemma3' with do_pan_and_scan=True is not supported: pan-and-scan"
    ):
        RomaGRPOTrainer(
            model=str(path),
            processing_class=processor,
            reward_funcs=always_right,
            args=config(tmp_path),
            train_dataset=image_dataset(),
        )


@pytest.mark.parametrize("model_type", [*REFUSED_FAMILIES, "mistral3"])
def test_unsupported_families_are_refused_with_the_reason(model_type):
    reason = REFUSED_FAMILIES.get(model_type, "roma has no tested layout")
    with pytest.raises(
        NotImplementedError, match=rf"model type '{model_type}' is not supported: .*{re.escape(reason[:30])}"
    ):
        layout_for(model_type, image_processor=object())


def test_a_text_only_model_is_refused_at_construction(tmp_path):
    """No image processor at all: refused (before any batch), never a silent zero."""
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    from roma.models.tiny import build_tokenizer

    tokenizer = build_tokenizer()
    tokenizer.save_pretrained(tmp_path / "text")
    model = Qwen2ForCausalLM(
        Qwen2Config(
            vocab_size=272, hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2
        )
    )
    with pytest.raises(ValueError, match="has no image processor"):
        RomaGRPOTrainer(
            model=model,
            processing_class=AutoTokenizer.from_pretrained(tmp_path / "text"),
            reward_funcs=always_right,
            args=config(tmp_path),
            train_dataset=image_dataset(),
        )


@pytest.mark.parametrize("family", FAMILIES)
def test_full_vocabulary_kl_in_micro_batches_on_each_family(family, tmp_path):
    """The full-vocabulary estimator (hidden states of both sides, the clean one built by the layout) and views
    forwarded in chunks of one row (each chunk sliced by TRL with its own image, tile or patch counts)."""
    trainer = _trainer(family, tmp_path, roma_kl_estimator="full", roma_views_micro_batch=1, max_steps=1)
    trainer.train()
    (kl,) = _logged(trainer, "roma/kl_worst")
    assert math.isfinite(kl) and kl > 0, kl


def test_tile_layouts_slice_each_prompts_tiles():
    """Tile-indexed pixel values (InternVL, LFM2-VL): a prompt's rows are its TRL ``num_tiles``; a batch of one tile
    per image carries no ``num_tiles`` (TRL leaves it out), and the image counts stand in."""
    from roma.trainer.layouts import TILE, TILE_PATCHES

    inputs = {
        "pixel_values": torch.arange(7.0).view(7, 1),
        "pixel_attention_mask": torch.ones(7, 1),
        "spatial_shapes": torch.arange(14).view(7, 2),
        "num_images": [1, 2],
        "num_tiles": [5, 2],
    }
    assert TILE.clean_rows(inputs, 1)["pixel_values"].flatten().tolist() == [5.0, 6.0]
    assert TILE_PATCHES.clean_rows(inputs, 0)["spatial_shapes"].shape == (5, 2)
    batched = TILE_PATCHES.batch(inputs, [1, 0])
    assert batched["pixel_values"].flatten().tolist() == [5.0, 6.0, 0.0, 1.0, 2.0, 3.0, 4.0]
    single = {"pixel_values": torch.arange(3.0).view(3, 1), "num_images": [1, 2], "num_tiles": None}
    assert TILE.clean_rows(single, 1)["pixel_values"].flatten().tolist() == [1.0, 2.0]


def test_a_family_registered_from_outside_roma_trains(tiny_qwen3_vl_path, tmp_path, monkeypatch):
    """The one table of families is what the trainer reads: a model type it lacks is refused with a pointer to
    `register_layout`; registered from outside roma (here with a layout of the test's own), it trains ROMA."""
    from roma.trainer import FAMILY_LAYOUTS, ViewLayout, register_layout

    monkeypatch.delitem(FAMILY_LAYOUTS, "qwen3_vl")  # as if roma had never heard of Qwen3-VL (restored after)
    arguments = dict(model=str(tiny_qwen3_vl_path), reward_funcs=always_right, train_dataset=image_dataset())
    with pytest.raises(
        NotImplementedError, match=r"'qwen3_vl' is not supported.*register_layout\(model_type"
    ):
        RomaGRPOTrainer(args=config(tmp_path), **arguments)
    own = register_layout("qwen3_vl", ViewLayout("my_patch_grid", "grid", ("image_grid_thw",)))
    trainer = RomaGRPOTrainer(args=config(tmp_path, roma_num_views=2), **arguments)
    assert trainer._roma_layout is own
    trainer.train()
    kl = _logged(trainer, "roma/kl_worst")
    assert len(kl) == 2 and all(math.isfinite(v) and v > 0 for v in kl)


def test_register_layout_refuses_a_clash_and_an_unknown_layout(monkeypatch):
    from roma.trainer.layouts import GRID, IMAGE, register_layout

    monkeypatch.setattr("roma.trainer.layouts.FAMILY_LAYOUTS", dict(FAMILY_LAYOUTS))
    assert register_layout("my_vlm", "image") is IMAGE
    assert register_layout("my_vlm", IMAGE) is IMAGE  # the same again: no clash
    with pytest.raises(ValueError, match="'my_vlm' is registered already with the 'image' layout"):
        register_layout("my_vlm", GRID)
    assert register_layout("my_vlm", GRID, replace=True) is GRID
    with pytest.raises(
        ValueError, match="unknown layout 'patches': expected a ViewLayout or one of grid, image"
    ):
        register_layout("other_vlm", "patches")
    with pytest.raises(TypeError, match="needs a ViewLayout or a layout name, got int"):
        register_layout("other_vlm", 3)
