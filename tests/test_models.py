"""Tiny Qwen-VL checkpoints: build, save, load through the Auto classes, template, forward and generate."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from transformers import AutoConfig, AutoModelForImageTextToText, AutoProcessor

from roma.cli import SUBCOMMANDS
from roma.cli import main as roma_main
from roma.models import build_config, build_processor, build_tiny_model, build_tokenizer
from roma.models.tiny import CHAT_TEMPLATE, SPECIAL_TOKENS

FAMILY_CLASSES = {
    "qwen3_vl": ("Qwen3VLForConditionalGeneration", "Qwen3VLProcessor", 16, 0.5),
    "qwen2_5_vl": ("Qwen2_5_VLForConditionalGeneration", "Qwen2_5_VLProcessor", 14, 0.48145466),
    "qwen2_vl": ("Qwen2VLForConditionalGeneration", "Qwen2VLProcessor", 14, 0.48145466),
}


def test_every_qwen_family_is_checked_here():
    from roma.models.tiny import QWEN_FAMILIES

    # The other families are built, trained and checked in tests/test_families.py.
    assert set(FAMILY_CLASSES) == set(QWEN_FAMILIES)


@pytest.fixture(scope="module")
def tiny_paths(tiny_qwen3_vl_path, tiny_qwen2_5_vl_path, tmp_path_factory):
    qwen2_vl = build_tiny_model("qwen2_vl", tmp_path_factory.mktemp("tiny_qwen2_vl"), size="tiny", seed=0)
    return {"qwen3_vl": tiny_qwen3_vl_path, "qwen2_5_vl": tiny_qwen2_5_vl_path, "qwen2_vl": qwen2_vl}


@pytest.fixture(scope="module")
def loaded(tiny_paths):
    """family -> (model, processor), loaded once through the Auto classes."""
    return {
        family: (
            AutoModelForImageTextToText.from_pretrained(path).eval(),
            AutoProcessor.from_pretrained(path),
        )
        for family, path in tiny_paths.items()
    }


def _image(color: str, size: tuple[int, int] = (64, 64)) -> Image.Image:
    return Image.new("RGB", size, color)


# --- tokenizer and chat template ---------------------------------------------------------------------------


def test_tokenizer_is_byte_level_with_qwen_special_tokens():
    tokenizer = build_tokenizer()
    assert type(tokenizer).__name__ == "Qwen2Tokenizer"
    assert len(tokenizer) == 256 + len(SPECIAL_TOKENS)
    # Token i is byte i, for ASCII and multi-byte UTF-8 alike.
    text = "Héllo, 3×4 = 12 😀"
    ids = tokenizer(text).input_ids
    assert ids == list(text.encode("utf-8"))
    assert tokenizer.decode(ids) == text
    assert tokenizer.convert_tokens_to_ids(["<|endoftext|>", "<|im_start|>", "<|im_end|>"]) == [256, 257, 258]
    assert tokenizer.pad_token == "<|endoftext|>"
    assert tokenizer.eos_token == "<|im_end|>"
    # Special tokens are single tokens, never split into bytes, and skipped when asked.
    ids = tokenizer("a<|vision_start|><|image_pad|><|vision_end|>b").input_ids
    assert ids == [97, 265, 268, 266, 98]
    assert tokenizer.decode(ids, skip_special_tokens=True) == "ab"


def test_chat_template_renders_qwen_format():
    tokenizer = build_tokenizer()
    messages = [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": [
                {"type": "image"},
                {"type": "image", "image": _image("red"), "text": None},
                {"image": _image("red")},  # untyped parts are recognised by their keys
                {"type": "text", "text": "Same colour?", "image": None},  # Arrow unions the keys of parts
            ],
        },
        {"role": "assistant", "content": [{"type": "text", "text": "\\boxed{B}"}]},
        {"role": "user", "content": "Sure?"},
    ]
    vision = "<|vision_start|><|image_pad|><|vision_end|>"
    expected = (
        "<|im_start|>system\nBe brief.<|im_end|>\n"
        f"<|im_start|>user\n{vision * 3}Same colour?<|im_end|>\n"
        "<|im_start|>assistant\n\\boxed{B}<|im_end|>\n"
        "<|im_start|>user\nSure?<|im_end|>\n"
    )
    assert tokenizer.apply_chat_template(messages, tokenize=False) == expected
    with_prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert with_prompt == expected + "<|im_start|>assistant\n"
    assert tokenizer.chat_template == CHAT_TEMPLATE


@pytest.mark.parametrize("family", list(FAMILY_CLASSES))
def test_processor_chat_template_matches_tokenizer(loaded, family):
    _, processor = loaded[family]
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "How many?"}]}]
    text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert text == (
        "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>How many?<|im_end|>\n<|im_start|>assistant\n"
    )


# --- build, save, load --------------------------------------------------------------------------------------


@pytest.mark.parametrize("family", list(FAMILY_CLASSES))
def test_checkpoint_loads_through_auto_classes(loaded, tiny_paths, family):
    model_class, processor_class, patch_size, mean = FAMILY_CLASSES[family]
    model, processor = loaded[family]
    assert type(model).__name__ == model_class
    assert type(processor).__name__ == processor_class
    assert type(processor.tokenizer).__name__ == "Qwen2Tokenizer"
    assert type(processor.image_processor).__name__ == "Qwen2VLImageProcessor"
    assert processor.video_processor is not None
    image_processor = processor.image_processor
    assert (image_processor.patch_size, image_processor.merge_size) == (patch_size, 2)
    assert image_processor.image_mean[0] == pytest.approx(mean)
    config = AutoConfig.from_pretrained(tiny_paths[family])
    assert config.model_type == family
    assert config.vision_config.patch_size == patch_size
    assert config.text_config.vocab_size >= len(processor.tokenizer)
    token_ids = processor.tokenizer.convert_tokens_to_ids(
        ["<|image_pad|>", "<|vision_start|>", "<|vision_end|>"]
    )
    assert [config.image_token_id, config.vision_start_token_id, config.vision_end_token_id] == token_ids
    num_parameters = sum(p.numel() for p in model.parameters())
    assert 100_000 < num_parameters < 300_000
    assert model.generation_config.eos_token_id[0] == processor.tokenizer.eos_token_id


@pytest.mark.parametrize("family", list(FAMILY_CLASSES))
@pytest.mark.parametrize("size", [(64, 64), (100, 60), (300, 200)])
def test_image_token_count_is_grid_over_merge_squared(loaded, family, size):
    _, processor = loaded[family]
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "?"}]}]
    text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    inputs = processor(text=[text], images=[_image("blue", size)], return_tensors="pt")
    t, h, w = inputs["image_grid_thw"][0].tolist()
    merge = processor.image_processor.merge_size
    num_image_tokens = int((inputs["input_ids"] == processor.image_token_id).sum())
    assert num_image_tokens == t * h * w // merge**2
    assert inputs["pixel_values"].shape[0] == t * h * w
    # The image processor fits every image within min/max pixels (in tokens: 4..16 for the tiny models).
    assert 4 <= num_image_tokens <= 16
    # mm_token_type_ids marks exactly the image tokens (TRL's second pass needs it).
    assert torch.equal(inputs["mm_token_type_ids"] == 1, inputs["input_ids"] == processor.image_token_id)


@pytest.mark.parametrize("family", list(FAMILY_CLASSES))
@pytest.mark.parametrize("num_images", [1, 2])
def test_forward_and_generate_with_images(loaded, family, num_images):
    model, processor = loaded[family]
    images = [_image("red"), _image("green", (96, 64))][:num_images]
    messages = [
        {
            "role": "user",
            "content": [
                *({"type": "image", "image": image} for image in images),
                {"type": "text", "text": "Q?"},
            ],
        }
    ]
    inputs = processor.apply_chat_template(
        messages, add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt"
    )
    assert inputs["image_grid_thw"].shape == (num_images, 3)
    with torch.no_grad():
        logits = model(**inputs).logits
    assert logits.shape == (1, inputs["input_ids"].shape[1], model.config.text_config.vocab_size)
    assert torch.isfinite(logits).all()
    with torch.no_grad():
        output = model.generate(**inputs, max_new_tokens=6, do_sample=False)
    new_tokens = output[0, inputs["input_ids"].shape[1] :]
    assert 1 <= len(new_tokens) <= 6
    assert isinstance(processor.decode(new_tokens, skip_special_tokens=True), str)


def test_batched_generate_with_left_padding(loaded, tiny_qwen3_vl_path):
    model, _ = loaded["qwen3_vl"]
    processor = AutoProcessor.from_pretrained(tiny_qwen3_vl_path, padding_side="left")
    assert processor.tokenizer.padding_side == "left"
    texts = [
        processor.apply_chat_template(
            [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}],
            tokenize=False,
            add_generation_prompt=True,
        )
        for question in ("Short?", "A much longer question?")
    ]
    inputs = processor(text=texts, images=[_image("red"), _image("blue")], padding=True, return_tensors="pt")
    assert (inputs["attention_mask"][0] == 0).any()  # the short prompt is padded on the left
    with torch.no_grad():
        output = model.generate(**inputs, max_new_tokens=4, do_sample=False)
    assert output.shape[0] == 2


# --- determinism, sizes, CLI, errors ----------------------------------------------------------------------


def test_weights_are_deterministic_from_seed_and_leave_global_rng_alone(tmp_path):
    state = torch.get_rng_state()
    first = load_file(build_tiny_model("qwen2_5_vl", tmp_path / "a", seed=3) / "model.safetensors")
    assert torch.equal(torch.get_rng_state(), state)
    again = load_file(build_tiny_model("qwen2_5_vl", tmp_path / "b", seed=3) / "model.safetensors")
    other = load_file(build_tiny_model("qwen2_5_vl", tmp_path / "c", seed=4) / "model.safetensors")
    assert first.keys() == again.keys() == other.keys()
    assert all(torch.equal(first[name], again[name]) for name in first)
    assert not all(torch.equal(first[name], other[name]) for name in first)


def test_two_threads_building_at_once_get_the_weights_of_their_seeds(tmp_path, monkeypatch):
    """The initialisation's RNG is the process's one: two threads building at once (a study's two job threads
    resolving the same roma-tiny name from an empty cache) must not draw from it in turn. Each thread pauses right
    after seeding, where the other would seed and draw in between."""
    import threading
    import time

    alone = load_file(build_tiny_model("qwen2_5_vl", tmp_path / "alone", seed=3) / "model.safetensors")
    seed = torch.manual_seed
    monkeypatch.setattr(torch, "manual_seed", lambda value: (seed(value), time.sleep(0.2))[0])
    folders = [tmp_path / "first", tmp_path / "second"]
    threads = [
        threading.Thread(target=build_tiny_model, args=("qwen2_5_vl", folder), kwargs={"seed": 3})
        for folder in folders
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for folder in folders:
        built = load_file(folder / "model.safetensors")
        assert all(torch.equal(alone[name], built[name]) for name in alone)


def test_small_qwen3_vl_matches_the_measured_recipe_model():
    from transformers import Qwen3VLForConditionalGeneration

    config = build_config("qwen3_vl", "small")
    assert config.vision_config.patch_size == 8
    assert config.text_config.hidden_size == 128
    assert config.text_config.rope_parameters["mrope_section"] == [6, 5, 5]
    with torch.device("meta"):
        model = Qwen3VLForConditionalGeneration(config)
    assert sum(p.numel() for p in model.parameters()) == pytest.approx(1.72e6, rel=0.01)
    processor = build_processor("qwen3_vl", "small")
    inputs = processor.image_processor(images=[_image("red")], return_tensors="pt")
    assert inputs["image_grid_thw"].tolist() == [[1, 8, 8]]  # 16 image tokens for a 64×64 image


def test_cli_builds_a_loadable_checkpoint(tmp_path, capsys):
    out = tmp_path / "cli_model"
    assert (
        roma_main(
            ["tiny-model", "--family", "qwen2_5_vl", "--out", str(out), "--size", "small", "--seed", "1"]
        )
        == 0
    )
    assert str(out) in capsys.readouterr().out
    config = AutoConfig.from_pretrained(out)
    assert (config.model_type, config.vision_config.patch_size) == ("qwen2_5_vl", 8)
    assert type(AutoProcessor.from_pretrained(out)).__name__ == "Qwen2_5_VLProcessor"


def test_unknown_family_or_size_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="Unknown model family 'mllama'"):
        build_tiny_model("mllama", tmp_path)
    with pytest.raises(ValueError, match="Unknown model size 'huge'"):
        build_processor("qwen3_vl", "huge")
    with pytest.raises(ValueError, match="'llava' is built at size 'tiny' only"):
        build_tiny_model("llava", tmp_path, size="small")
    with pytest.raises(SystemExit):
        roma_main(["tiny-model", "--family", "mllama", "--out", str(tmp_path)])


def test_roma_tiny_names_build_once_and_are_reused(tmp_path):
    from roma.models.tiny import resolve_model

    path = resolve_model("roma-tiny/qwen3_vl-tiny-seed3", cache_dir=tmp_path)
    assert path.endswith("qwen3_vl-tiny-seed3")
    weights = next(Path(path).glob("*.safetensors"))
    mtime = weights.stat().st_mtime_ns
    assert resolve_model("roma-tiny/qwen3_vl-tiny-seed3", cache_dir=tmp_path) == path
    assert weights.stat().st_mtime_ns == mtime  # reused, not rebuilt
    assert not list(tmp_path.glob("models/*.tmp*"))  # built in a temporary folder, then moved into place
    assert resolve_model("Qwen/Qwen3-VL-4B-Instruct", cache_dir=tmp_path) == "Qwen/Qwen3-VL-4B-Instruct"
    with pytest.raises(ValueError, match="Unknown tiny model 'roma-tiny/mllama-tiny'"):
        resolve_model("roma-tiny/mllama-tiny", cache_dir=tmp_path)


def test_cli_dispatcher_lists_commands_and_suggests_the_closest(capsys):
    assert roma_main(["--help"]) == 0
    assert "tiny-model" in capsys.readouterr().out
    assert roma_main(["evl"]) == 2
    assert "Did you mean 'eval'?" in capsys.readouterr().err


@pytest.mark.parametrize(
    "module",
    ["roma.scripts.study", *(module for module, _ in SUBCOMMANDS.values())],
)
def test_every_command_line_prints_its_help(module, capsys):
    # argparse %-formats each option's help: a literal "%" in a dataclass field's help text (e.g. "5 % of the
    # steps") made `--help` crash with a TypeError instead of printing.
    import importlib

    main = importlib.import_module(module).main
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "usage:" in capsys.readouterr().out
