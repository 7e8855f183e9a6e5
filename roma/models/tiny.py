"""Tiny, randomly initialised vision-language checkpoints with a real processor, built offline: Qwen3-VL /
Qwen2.5-VL / Qwen2-VL (``QWEN_FAMILIES``, at two sizes) and LLaVA / LLaVA-NeXT / Gemma 3 / Idefics3 / SmolVLM /
Gemma 4 / LFM2-VL / InternVL (``OTHER_FAMILIES``, ``tiny`` only: the families ROMA supports besides Qwen-VL, see `roma.trainer.layouts`).

The checkpoints are the stock transformers architectures at toy sizes, saved with ``save_pretrained``, so
``AutoModelForImageTextToText.from_pretrained(path)`` and ``AutoProcessor.from_pretrained(path)`` load them
exactly like a hub checkpoint. Nothing is downloaded and nothing needs training:

* the tokenizer is the stock ``Qwen2Tokenizer`` over a byte-level BPE with the 256 byte symbols and no
  merges (token id ``i`` is byte ``i``), plus the Qwen-VL special tokens and a Qwen-style chat template;
* the processor is the stock ``Qwen3VLProcessor`` / ``Qwen2_5_VLProcessor`` / ``Qwen2VLProcessor`` with the
  stock ``Qwen2VLImageProcessor`` and video processor, configured with the model's patch and merge sizes.

``FAMILIES`` lists every family built here, all of which ``RomaGRPOTrainer`` supports; Qwen2-VL shares
Qwen2.5-VL's sizes (patch 14) with its plain vision transformer. The other families use the same byte-level
tokenizer with their own image tokens (``FAMILY_TOKENS``) and the same Qwen-style chat template with their image
placeholder (``chat_template_for``); text models 64 wide with 2 layers, vision towers of one layer on 32×32 tiles
of 16-pixel patches (~135k-150k parameters; Gemma 4, LFM2-VL and InternVL: 8-pixel patches, ~120k-135k).

Sizes (see ``MODEL_SPECS``):

* ``tiny`` (Qwen3-VL 234,720 parameters, patch 16; Qwen2.5-VL 175,328, patch 14): for tests. A 64×64
  image becomes a [1, 4, 4] patch grid, i.e. 4 image tokens; any image gets 4 to 16 image tokens.
* ``small`` (Qwen3-VL 1,714,496 parameters, patch 8; Qwen2.5-VL 1,405,888 with the same sizes): the model
  measured to learn the bundled synthetic task on a CPU in minutes. A 64×64 image becomes a [1, 8, 8] grid,
  i.e. 16 image tokens; any image gets 4 to 64.

Embeddings are tied (like Qwen3-VL-2B/4B); the vocabulary (270 tokens) is padded to 272 embedding rows.

Command line: ``roma tiny-model --family qwen3_vl --out DIR [--size tiny|small] [--seed 0]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from roma._paths import OutputFolderError, check_output_folder
from roma._publish import move_into_place
from roma.cache import cache_root

if TYPE_CHECKING:  # pragma: no cover
    from transformers import PreTrainedConfig, ProcessorMixin, Qwen2Tokenizer

# The Qwen-VL families: a patch grid per image (``image_grid_thw``); built at both sizes.
QWEN_FAMILIES: tuple[str, ...] = ("qwen3_vl", "qwen2_5_vl", "qwen2_vl")
# The other families TRL's GRPOTrainer trains and ROMA supports (see roma.trainer.layouts); ``tiny`` size only.
OTHER_FAMILIES: tuple[str, ...] = (
    "llava",
    "llava_next",
    "gemma3",
    "idefics3",
    "smolvlm",
    "gemma4",
    "lfm2_vl",
    "internvl",
)
FAMILIES: tuple[str, ...] = QWEN_FAMILIES + OTHER_FAMILIES
SIZES: tuple[str, ...] = ("tiny", "small")

# Qwen-VL special tokens, in the order Qwen assigns them ids after the ordinary vocabulary.
SPECIAL_TOKENS: tuple[str, ...] = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
# A randomly initialised model samples these as often as any byte; in a completion they derail Qwen-VL's
# M-RoPE position ids (the model takes them for the start of an image). Pass them as
# `generation_kwargs={"suppress_tokens": ...}` when rolling out an untrained tiny model.
VISION_TOKENS: tuple[str, ...] = (
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
PAD_TOKEN = "<|endoftext|>"
EOS_TOKEN = "<|im_end|>"

# A Qwen-style chat template. Like Qwen3-VL's (and unlike Qwen2.5-VL's) it adds no default system message:
# with one token per byte, "You are a helpful assistant." would cost 28 tokens on every prompt.
CHAT_TEMPLATE = (
    "{%- set image_count = namespace(value=0) -%}"
    "{%- set video_count = namespace(value=0) -%}"
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' -}}"
    "{%- if message['content'] is string -%}"
    "{{- message['content'] -}}"
    "{%- elif message['content'] is not none -%}"
    "{%- for content in message['content'] -%}"
    # A part's "type" decides; only untyped parts are recognised by their keys (Arrow gives every part
    # of a column the union of all keys, so a text part may carry "image": None).
    "{%- set part_type = content.get('type') -%}"
    "{%- if part_type is none -%}"
    "{%- set part_type = 'image' if ('image' in content or 'image_url' in content)"
    " else ('video' if 'video' in content else 'text') -%}"
    "{%- endif -%}"
    "{%- if part_type == 'image' or part_type == 'image_url' -%}"
    "{%- set image_count.value = image_count.value + 1 -%}"
    "{%- if add_vision_id -%}{{- 'Picture ' + image_count.value | string + ': ' -}}{%- endif -%}"
    "{{- '<|vision_start|><|image_pad|><|vision_end|>' -}}"
    "{%- elif part_type == 'video' -%}"
    "{%- set video_count.value = video_count.value + 1 -%}"
    "{%- if add_vision_id -%}{{- 'Video ' + video_count.value | string + ': ' -}}{%- endif -%}"
    "{{- '<|vision_start|><|video_pad|><|vision_end|>' -}}"
    "{%- elif content.get('text') is not none -%}"
    "{{- content['text'] -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- endif -%}"
    "{{- '<|im_end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{{- '<|im_start|>assistant\\n' -}}"
    "{%- endif -%}"
)


@dataclass(frozen=True)
class TinyModelSpec:
    """Architecture sizes of one tiny checkpoint (both families share the fields they have in common)."""

    text_hidden_size: int = dataclasses.field(metadata={"help": "Width of the language model."})
    text_intermediate_size: int = dataclasses.field(metadata={"help": "Width of the language MLP."})
    text_num_layers: int = dataclasses.field(metadata={"help": "Decoder layers."})
    text_num_heads: int = dataclasses.field(metadata={"help": "Query heads."})
    text_num_kv_heads: int = dataclasses.field(
        metadata={"help": "Key/value heads (grouped-query attention)."}
    )
    text_head_dim: int = dataclasses.field(metadata={"help": "Per-head width; Qwen2.5-VL derives it."})
    mrope_section: tuple[int, int, int] = dataclasses.field(
        metadata={
            "help": "M-RoPE split (temporal, height, width) of the rotary frequencies; sums to head_dim/2."
        }
    )
    vision_depth: int = dataclasses.field(metadata={"help": "Vision transformer blocks."})
    vision_hidden_size: int = dataclasses.field(metadata={"help": "Width of the vision tower."})
    vision_intermediate_size: int = dataclasses.field(metadata={"help": "Width of the vision MLP."})
    vision_num_heads: int = dataclasses.field(metadata={"help": "Vision attention heads."})
    patch_size: int = dataclasses.field(metadata={"help": "Side of a square image patch in pixels."})
    min_pixels: int = dataclasses.field(metadata={"help": "The image processor upsizes smaller images."})
    max_pixels: int = dataclasses.field(metadata={"help": "The image processor downsizes larger images."})
    merge_size: int = dataclasses.field(default=2, metadata={"help": "merge×merge patches form one token."})
    temporal_patch_size: int = dataclasses.field(default=2, metadata={"help": "Frames per temporal patch."})
    num_position_embeddings: int = dataclasses.field(
        default=64, metadata={"help": "Qwen3-VL: learned vision position grid (a perfect square)."}
    )
    deepstack_visual_indexes: tuple[int, ...] = dataclasses.field(
        default=(0, 1), metadata={"help": "Qwen3-VL: vision blocks whose features are injected into the LM."}
    )
    window_size: int = dataclasses.field(
        default=112,
        metadata={"help": "Qwen2.5-VL: windowed-attention side in pixels (multiple of patch×merge)."},
    )
    fullatt_block_indexes: tuple[int, ...] = dataclasses.field(
        default=(1,), metadata={"help": "Qwen2.5-VL: vision blocks with full instead of windowed attention."}
    )

    @property
    def factor(self) -> int:
        """Image sides are rounded to multiples of this many pixels (one merged token)."""
        return self.patch_size * self.merge_size


def _tiny_spec(patch_size: int) -> TinyModelSpec:
    factor = patch_size * 2
    return TinyModelSpec(
        text_hidden_size=64,
        text_intermediate_size=128,
        text_num_layers=2,
        text_num_heads=4,
        text_num_kv_heads=2,
        text_head_dim=16,
        mrope_section=(4, 2, 2) if patch_size == 16 else (2, 3, 3),
        vision_depth=2,
        vision_hidden_size=32,
        vision_intermediate_size=64,
        vision_num_heads=2,
        patch_size=patch_size,
        # 64×64 images stay 2×2 merged tokens; photos are capped at 4×4 merged tokens to keep tests fast.
        min_pixels=4 * factor * factor,
        max_pixels=16 * factor * factor,
        num_position_embeddings=64,
        window_size=4 * factor,
    )


def _small_spec() -> TinyModelSpec:
    # The 1.72 M-parameter model measured to learn the synthetic task on a CPU (NOTES_TRL_QWENVL.md).
    return TinyModelSpec(
        text_hidden_size=128,
        text_intermediate_size=320,
        text_num_layers=4,
        text_num_heads=4,
        text_num_kv_heads=2,
        text_head_dim=32,
        mrope_section=(6, 5, 5),
        vision_depth=3,
        vision_hidden_size=96,
        vision_intermediate_size=384,
        vision_num_heads=4,
        patch_size=8,
        # 64×64 images give an [8, 8] patch grid (16 tokens); larger ones are capped at 64 tokens.
        min_pixels=4 * 16 * 16,
        max_pixels=64 * 16 * 16,
        num_position_embeddings=256,
        window_size=64,
    )


MODEL_SPECS: dict[tuple[str, str], TinyModelSpec] = {
    ("qwen3_vl", "tiny"): _tiny_spec(patch_size=16),
    ("qwen2_5_vl", "tiny"): _tiny_spec(patch_size=14),
    ("qwen3_vl", "small"): _small_spec(),
    ("qwen2_5_vl", "small"): _small_spec(),
    ("qwen2_vl", "tiny"): _tiny_spec(patch_size=14),
    ("qwen2_vl", "small"): _small_spec(),
}


def get_spec(family: str, size: str) -> TinyModelSpec:
    """The architecture sizes for ``family`` at ``size``, with a clear error for unknown names."""
    if family not in FAMILIES:
        raise ValueError(f"Unknown model family {family!r}; expected one of {', '.join(FAMILIES)}.")
    if size not in SIZES:
        raise ValueError(f"Unknown model size {size!r}; expected one of {', '.join(SIZES)}.")
    if family not in QWEN_FAMILIES:
        raise ValueError(
            f"Model family {family!r} has no size table: only the Qwen-VL families ({', '.join(QWEN_FAMILIES)}) "
            f"come in sizes; build_tiny_model({family!r}, out_dir) builds its tiny checkpoint."
        )
    return MODEL_SPECS[(family, size)]


@dataclass(frozen=True)
class FamilyTokens:
    """The special tokens of one family's tiny tokenizer and what its chat template emits for an image part."""

    special_tokens: tuple[str, ...] = dataclasses.field(
        metadata={"help": "Special tokens, given ids 256, 257, ... in this order."}
    )
    image_placeholder: str = dataclasses.field(
        metadata={"help": "What the chat template writes for an image part; the processor expands it."}
    )
    vision_tokens: tuple[str, ...] = dataclasses.field(
        metadata={"help": "Image tokens an untrained model must not sample (see VISION_TOKENS)."}
    )
    named: tuple[tuple[str, str], ...] = dataclasses.field(
        default=(),
        metadata={
            "help": "Tokens the processor reads as tokenizer attributes, e.g. ('image_token', '<image>')."
        },
    )


# LFM2-VL's tile tokens, for grids of at most 4 tiles (the tiny image processor's max_tiles).
_LFM2_VL_TILE_TOKENS = tuple(
    f"<|img_row_{row}_col_{col}|>" for row in range(1, 5) for col in range(1, 5) if row * col <= 4
)
# Every non-Qwen family keeps the Qwen-style turn tokens (and the same chat template), plus its own image tokens.
_TURN_TOKENS = (PAD_TOKEN, "<|im_start|>", EOS_TOKEN)
FAMILY_TOKENS: dict[str, FamilyTokens] = {
    **dict.fromkeys(
        QWEN_FAMILIES,
        FamilyTokens(SPECIAL_TOKENS, "<|vision_start|><|image_pad|><|vision_end|>", VISION_TOKENS),
    ),
    # LLaVA / LLaVA-NeXT: one "<image>" per image, expanded by the processor to the image's feature count.
    **dict.fromkeys(
        ("llava", "llava_next"),
        FamilyTokens((*_TURN_TOKENS, "<image>"), "<image>", ("<image>",), (("image_token", "<image>"),)),
    ),
    # Gemma 3: the chat template writes <start_of_image>; the processor expands it to
    # "\n\n<start_of_image>" + mm_tokens_per_image × "<image_soft_token>" + "<end_of_image>\n\n".
    "gemma3": FamilyTokens(
        (*_TURN_TOKENS, "<start_of_image>", "<end_of_image>", "<image_soft_token>"),
        "<start_of_image>",
        ("<start_of_image>", "<end_of_image>", "<image_soft_token>"),
        (
            ("boi_token", "<start_of_image>"),
            ("eoi_token", "<end_of_image>"),
            ("image_token", "<image_soft_token>"),
        ),
    ),
    # Idefics3 and SmolVLM (the same image tokens): "<image>" becomes, per tile,
    # <fake_token_around_image><row_i_col_j><image>×image_seq_len, then the global image (<global-img>); the tiny
    # image processor cuts at most 2 × 2 tiles.
    **dict.fromkeys(
        ("idefics3", "smolvlm"),
        FamilyTokens(
            (
                *_TURN_TOKENS,
                "<fake_token_around_image>",
                "<image>",
                "<end_of_utterance>",
                "<global-img>",
                *(f"<row_{i}_col_{j}>" for i in (1, 2) for j in (1, 2)),
            ),
            "<image>",
            ("<fake_token_around_image>", "<image>", "<global-img>"),
            (("image_token", "<image>"),),
        ),
    ),
    # Gemma 4: the chat template writes <|image|>; the processor expands it to <|image> + one <|image|> per soft
    # token (the image's real patches, at most max_soft_tokens) + <image|>. Its processor reads the audio tokens too
    # (and refuses a tokenizer without them) and adds <|video|>.
    "gemma4": FamilyTokens(
        (
            *_TURN_TOKENS,
            "<|image>",
            "<image|>",
            "<|image|>",
            "<|video|>",
            "<|audio>",
            "<audio|>",
            "<|audio|>",
        ),
        "<|image|>",
        ("<|image>", "<image|>", "<|image|>", "<|video|>", "<|audio>", "<audio|>", "<|audio|>"),
        (
            ("boi_token", "<|image>"),
            ("eoi_token", "<image|>"),
            ("image_token", "<|image|>"),
            ("boa_token", "<|audio>"),
            ("eoa_token", "<audio|>"),
            ("audio_token", "<|audio|>"),
        ),
    ),
    # LFM2-VL: "<image>" becomes <|image_start|>, per tile <|img_row_R_col_C|> + its tokens, then <|img_thumbnail|>
    # + the thumbnail's tokens (a small image: its tokens only), <|image_end|>; at most 4 tiles.
    "lfm2_vl": FamilyTokens(
        (
            *_TURN_TOKENS,
            "<image>",
            "<|image_start|>",
            "<|image_end|>",
            "<|img_thumbnail|>",
            *_LFM2_VL_TILE_TOKENS,
        ),
        "<image>",
        ("<image>", "<|image_start|>", "<|image_end|>", "<|img_thumbnail|>", *_LFM2_VL_TILE_TOKENS),
        (
            ("image_token", "<image>"),
            ("image_start_token", "<|image_start|>"),
            ("image_end_token", "<|image_end|>"),
            ("image_thumbnail_token", "<|img_thumbnail|>"),
        ),
    ),
    # InternVL: the chat template writes <IMG_CONTEXT>; the processor expands it to <img> + image_seq_length ×
    # <IMG_CONTEXT> per tile + </img>.
    "internvl": FamilyTokens(
        (*_TURN_TOKENS, "<img>", "</img>", "<IMG_CONTEXT>", "<video>"),
        "<IMG_CONTEXT>",
        ("<img>", "</img>", "<IMG_CONTEXT>", "<video>"),
        (
            ("start_image_token", "<img>"),
            ("end_image_token", "</img>"),
            ("context_image_token", "<IMG_CONTEXT>"),
            ("video_token", "<video>"),
        ),
    ),
}


def chat_template_for(family: str) -> str:
    """The Qwen-style chat template with ``family``'s image placeholder (``CHAT_TEMPLATE`` for Qwen-VL)."""
    placeholder = FAMILY_TOKENS[family].image_placeholder
    return CHAT_TEMPLATE.replace("'<|vision_start|><|image_pad|><|vision_end|>'", repr(placeholder))


def build_tokenizer(family: str = "qwen3_vl") -> Qwen2Tokenizer:
    """The stock ``Qwen2Tokenizer`` over the 256 byte symbols (no merges) plus ``family``'s special tokens
    (`FAMILY_TOKENS`; the Qwen-VL ones by default).

    Token id ``i < 256`` is byte ``i``; every string round-trips. pad = ``<|endoftext|>``,
    eos = ``<|im_end|>``; the chat template is attached.
    """
    from transformers import Qwen2Tokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    if family not in FAMILY_TOKENS:
        raise ValueError(f"Unknown model family {family!r}; expected one of {', '.join(FAMILIES)}.")
    tokens = FAMILY_TOKENS[family]
    special_tokens = tokens.special_tokens
    byte_symbols = bytes_to_unicode()  # byte value -> printable unicode symbol (GPT-2 byte-level BPE)
    vocab = {byte_symbols[byte]: byte for byte in range(256)}
    # Listing the special tokens in the vocabulary fixes their ids in Qwen's order (256, 257, ...); the
    # constructor then registers them as special (never split, skipped when decoding).
    vocab |= {token: 256 + index for index, token in enumerate(special_tokens)}
    extra = [t for t in special_tokens if t not in (EOS_TOKEN, PAD_TOKEN)]
    named = dict(tokens.named)
    tokenizer = Qwen2Tokenizer(
        vocab=vocab,
        merges=[],
        unk_token=None,
        eos_token=EOS_TOKEN,
        pad_token=PAD_TOKEN,
        # Named tokens become attributes (tokenizer.image_token, tokenizer.boi_token_id, ...) processors read.
        extra_special_tokens=named or extra,
        model_max_length=32768,
    )
    unnamed = [t for t in extra if t not in named.values()]
    if named and unnamed:  # already in the vocabulary: this only registers them as special (never split)
        tokenizer.add_tokens(unnamed, special_tokens=True)
    tokenizer.chat_template = chat_template_for(family)
    ids = tokenizer.convert_tokens_to_ids(list(special_tokens))
    if ids != list(range(256, 256 + len(special_tokens))) or len(tokenizer) != 256 + len(special_tokens):
        raise RuntimeError(f"Unexpected special-token ids {ids}: transformers changed how tokens are added.")
    return tokenizer


def vocab_size_for(tokenizer_length: int, multiple: int = 16) -> int:
    """Embedding rows for a tokenizer of ``tokenizer_length`` tokens, rounded up to ``multiple``."""
    return -(-tokenizer_length // multiple) * multiple


def build_processor(family: str = "qwen3_vl", size: str = "tiny") -> ProcessorMixin:
    """The stock Qwen-VL processor for ``family`` at ``size``: tokenizer, image and video processors."""
    if family in OTHER_FAMILIES:
        _check_other_size(family, size)
        return _OTHER_BUILDERS[family][0]()
    from transformers import (
        Qwen2_5_VLProcessor,
        Qwen2VLImageProcessor,
        Qwen2VLProcessor,
        Qwen2VLVideoProcessor,
        Qwen3VLProcessor,
        Qwen3VLVideoProcessor,
    )
    from transformers.image_utils import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD

    spec = get_spec(family, size)
    # Qwen3-VL normalises with mean = std = 0.5; Qwen2-VL / Qwen2.5-VL keep the CLIP statistics.
    mean, std = (
        ([0.5] * 3, [0.5] * 3) if family == "qwen3_vl" else (list(OPENAI_CLIP_MEAN), list(OPENAI_CLIP_STD))
    )
    vision_kwargs = {
        "patch_size": spec.patch_size,
        "merge_size": spec.merge_size,
        "temporal_patch_size": spec.temporal_patch_size,
        "image_mean": mean,
        "image_std": std,
    }
    image_processor = Qwen2VLImageProcessor(
        size={"shortest_edge": spec.min_pixels, "longest_edge": spec.max_pixels}, **vision_kwargs
    )
    # Video sizes count pixels over all frames of a clip.
    video_size = {"shortest_edge": spec.min_pixels, "longest_edge": 8 * spec.max_pixels}
    tokenizer = build_tokenizer()
    if family == "qwen3_vl":
        video_processor = Qwen3VLVideoProcessor(size=video_size, **vision_kwargs)
        return Qwen3VLProcessor(
            image_processor=image_processor,
            tokenizer=tokenizer,
            video_processor=video_processor,
            chat_template=CHAT_TEMPLATE,
        )
    video_processor = Qwen2VLVideoProcessor(size=video_size, **vision_kwargs)
    processor_class = Qwen2VLProcessor if family == "qwen2_vl" else Qwen2_5_VLProcessor
    return processor_class(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=video_processor,
        chat_template=CHAT_TEMPLATE,
    )


def build_config(
    family: str = "qwen3_vl", size: str = "tiny", *, tokenizer: Qwen2Tokenizer | None = None
) -> PreTrainedConfig:
    """The model config for ``family`` at ``size``, with token ids taken from the tokenizer."""
    if family in OTHER_FAMILIES:
        _check_other_size(family, size)
        return _OTHER_BUILDERS[family][1](tokenizer if tokenizer is not None else build_tokenizer(family))
    from transformers import Qwen2_5_VLConfig, Qwen2VLConfig, Qwen3VLConfig

    spec = get_spec(family, size)
    tokenizer = tokenizer if tokenizer is not None else build_tokenizer()
    token_id = tokenizer.convert_tokens_to_ids
    token_ids = {
        "image_token_id": token_id("<|image_pad|>"),
        "video_token_id": token_id("<|video_pad|>"),
        "vision_start_token_id": token_id("<|vision_start|>"),
        "vision_end_token_id": token_id("<|vision_end|>"),
    }
    if sum(spec.mrope_section) * 2 != spec.text_head_dim:
        raise ValueError(
            f"mrope_section {spec.mrope_section} must sum to head_dim/2 = {spec.text_head_dim // 2}."
        )
    text_config = {
        "vocab_size": vocab_size_for(len(tokenizer)),
        "hidden_size": spec.text_hidden_size,
        "intermediate_size": spec.text_intermediate_size,
        "num_hidden_layers": spec.text_num_layers,
        "num_attention_heads": spec.text_num_heads,
        "num_key_value_heads": spec.text_num_kv_heads,
        "max_position_embeddings": 4096,
        "pad_token_id": token_id(PAD_TOKEN),
        # As in the real checkpoints; trainers align the config with the tokenizer and warn when they differ.
        "bos_token_id": token_id(PAD_TOKEN),
        "eos_token_id": token_id(EOS_TOKEN),
    }
    vision_config = {
        "depth": spec.vision_depth,
        "hidden_size": spec.vision_hidden_size,
        "intermediate_size": spec.vision_intermediate_size,
        "num_heads": spec.vision_num_heads,
        "patch_size": spec.patch_size,
        "spatial_merge_size": spec.merge_size,
        "temporal_patch_size": spec.temporal_patch_size,
        "out_hidden_size": spec.text_hidden_size,
    }
    if family == "qwen3_vl":
        text_config |= {
            "head_dim": spec.text_head_dim,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 5_000_000.0,
                "mrope_section": list(spec.mrope_section),
                "mrope_interleaved": True,
            },
        }
        vision_config |= {
            "num_position_embeddings": spec.num_position_embeddings,
            "deepstack_visual_indexes": list(spec.deepstack_visual_indexes),
        }
        return Qwen3VLConfig(
            text_config=text_config, vision_config=vision_config, tie_word_embeddings=True, **token_ids
        )
    if spec.text_hidden_size != spec.text_num_heads * spec.text_head_dim:
        raise ValueError(
            "Qwen2-VL / Qwen2.5-VL derive head_dim = hidden_size / num_attention_heads; the spec disagrees."
        )
    text_config |= {
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 1_000_000.0,
            "mrope_section": list(spec.mrope_section),
        },
    }
    if family == "qwen2_vl":
        # Qwen2-VL's vision transformer: embed_dim wide, MLP embed_dim × mlp_ratio, merged into hidden_size.
        vision_config = {
            "depth": spec.vision_depth,
            "embed_dim": spec.vision_hidden_size,
            "hidden_size": spec.text_hidden_size,
            "mlp_ratio": spec.vision_intermediate_size // spec.vision_hidden_size,
            "num_heads": spec.vision_num_heads,
            "patch_size": spec.patch_size,
            "spatial_merge_size": spec.merge_size,
            "temporal_patch_size": spec.temporal_patch_size,
        }
        return Qwen2VLConfig(
            text_config=text_config, vision_config=vision_config, tie_word_embeddings=True, **token_ids
        )
    vision_config |= {
        "window_size": spec.window_size,
        "fullatt_block_indexes": list(spec.fullatt_block_indexes),
    }
    return Qwen2_5_VLConfig(
        text_config=text_config, vision_config=vision_config, tie_word_embeddings=True, **token_ids
    )


def build_tiny_model(
    family: str = "qwen3_vl",
    out_dir: str | Path | None = None,
    *,
    size: str = "tiny",
    seed: int = 0,
) -> Path:
    """Build a randomly initialised ``family`` checkpoint at ``size`` and save it, processor included, to ``out_dir``.

    The weights are a deterministic function of ``seed`` (the global torch RNG is left untouched). Returns
    ``out_dir`` as a ``Path``; load it with ``AutoModelForImageTextToText.from_pretrained`` and
    ``AutoProcessor.from_pretrained``.
    """
    if out_dir is None:
        raise ValueError("build_tiny_model needs out_dir, the folder to save the checkpoint to.")
    import torch
    from transformers import AutoModelForImageTextToText, GenerationConfig

    out_dir = Path(out_dir)
    processor = build_processor(family, size)
    tokenizer = processor.tokenizer
    config = build_config(family, size, tokenizer=tokenizer)
    # fork_rng: seed the initialisation without disturbing the caller's global RNG.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = AutoModelForImageTextToText.from_config(config, dtype=torch.float32)
        if family == "gemma3":
            # transformers initialises Gemma 3's image projection to zeros: every image would embed as zeros, so
            # no image (clean or degraded) could change the output of the untrained model.
            projector = model.model.multi_modal_projector.mm_input_projection_weight
            torch.nn.init.normal_(projector.data, std=config.text_config.initializer_range)
    pad_id = tokenizer.convert_tokens_to_ids(PAD_TOKEN)
    eos_id = tokenizer.convert_tokens_to_ids(EOS_TOKEN)
    model.generation_config = GenerationConfig(
        eos_token_id=[eos_id, pad_id], pad_token_id=pad_id, bos_token_id=pad_id, do_sample=False
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    return out_dir


# --- the other families TRL's GRPOTrainer trains: tiny size only, text models of the same toy width --------------
# Each is the stock transformers architecture and processor; the vision towers see 32×32 tiles of 16-pixel patches
# (Gemma 4, LFM2-VL, InternVL: 8-pixel patches).
_TINY_TEXT = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=4096,
)
_TINY_VISION = dict(
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=1,
    num_attention_heads=2,
    image_size=32,
    patch_size=16,
)
# Gemma 4, LFM2-VL and InternVL: 8-pixel patches (image_size, where the tower has one, is given apart).
_TINY_VISION_PATCH8 = {key: value for key, value in _TINY_VISION.items() if key != "image_size"}
_TINY_VISION_PATCH8["patch_size"] = 8
# LLaVA-NeXT tiles an image at the best of these resolutions (plus a 32×32 overview): 64×64 gives 4 + 1 tiles.
_LLAVA_NEXT_PINPOINTS = [[32, 32], [32, 64], [64, 32], [64, 64]]


def _check_other_size(family: str, size: str) -> None:
    if size != "tiny":
        raise ValueError(f"Model family {family!r} is built at size 'tiny' only (got {size!r}).")


def _token_ids(tokenizer) -> dict[str, int]:
    return {
        "pad_token_id": tokenizer.convert_tokens_to_ids(PAD_TOKEN),
        "bos_token_id": tokenizer.convert_tokens_to_ids(PAD_TOKEN),
        "eos_token_id": tokenizer.convert_tokens_to_ids(EOS_TOKEN),
    }


def _qwen2_text_config(tokenizer):
    from transformers import Qwen2Config

    return Qwen2Config(vocab_size=vocab_size_for(len(tokenizer)), **_TINY_TEXT, **_token_ids(tokenizer))


def _llava_processor(family: str):
    """LLaVA (a CLIP image processor: one 32×32 crop per image) or LLaVA-NeXT (the image tiled at the best of
    ``_LLAVA_NEXT_PINPOINTS``, plus an overview)."""
    from transformers import CLIPImageProcessor, LlavaNextImageProcessor, LlavaNextProcessor, LlavaProcessor

    sizes = {"size": {"shortest_edge": 32}, "crop_size": {"height": 32, "width": 32}}
    if family == "llava_next":
        processor_class = LlavaNextProcessor
        image_processor = LlavaNextImageProcessor(**sizes, image_grid_pinpoints=_LLAVA_NEXT_PINPOINTS)
    else:
        processor_class, image_processor = LlavaProcessor, CLIPImageProcessor(**sizes)
    return processor_class(
        image_processor=image_processor,
        tokenizer=build_tokenizer(family),
        patch_size=16,
        vision_feature_select_strategy="default",  # CLIP's class token is dropped: (32 / 16)² = 4 tokens per tile
        num_additional_image_tokens=1,
        chat_template=chat_template_for(family),
    )


def _llava_config(tokenizer, family: str):
    from transformers import CLIPVisionConfig, LlavaConfig, LlavaNextConfig

    extra = {"image_grid_pinpoints": _LLAVA_NEXT_PINPOINTS} if family == "llava_next" else {}
    return (LlavaNextConfig if family == "llava_next" else LlavaConfig)(
        vision_config=CLIPVisionConfig(**_TINY_VISION),
        text_config=_qwen2_text_config(tokenizer),
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
        vision_feature_select_strategy="default",
        vision_feature_layer=-1,
        **extra,
    )


def _gemma3_processor():
    from transformers import Gemma3ImageProcessor, Gemma3Processor

    return Gemma3Processor(
        image_processor=Gemma3ImageProcessor(
            size={"height": 32, "width": 32}, image_mean=[0.5] * 3, image_std=[0.5] * 3
        ),
        tokenizer=build_tokenizer("gemma3"),
        image_seq_length=4,  # (32 / 16)² patches pooled to 2 × 2 tokens
        chat_template=chat_template_for("gemma3"),
    )


def _gemma3_config(tokenizer):
    from transformers import Gemma3Config, Gemma3TextConfig, SiglipVisionConfig

    token_id = tokenizer.convert_tokens_to_ids
    return Gemma3Config(
        text_config=Gemma3TextConfig(
            vocab_size=vocab_size_for(len(tokenizer)),
            **_TINY_TEXT,
            head_dim=16,
            query_pre_attn_scalar=16,
            sliding_window=64,
            **_token_ids(tokenizer),
        ),
        vision_config=SiglipVisionConfig(**_TINY_VISION),
        mm_tokens_per_image=4,
        boi_token_index=token_id("<start_of_image>"),
        eoi_token_index=token_id("<end_of_image>"),
        image_token_index=token_id("<image_soft_token>"),
    )


def _idefics3_processor(family: str = "idefics3"):
    """Idefics3, or SmolVLM (Idefics3's image processing and prompt expansion, plus a video processor; its
    processor needs the ``num2words`` package)."""
    from transformers import (
        Idefics3ImageProcessor,
        Idefics3Processor,
        SmolVLMImageProcessor,
        SmolVLMProcessor,
        SmolVLMVideoProcessor,
    )

    # Images are fitted into 64 pixels, cut into 32-pixel tiles (up to 2 × 2) plus the global image.
    sizes = {"size": {"longest_edge": 64}, "max_image_size": {"longest_edge": 32}}
    if family == "smolvlm":
        processor_class, image_processor_class = SmolVLMProcessor, SmolVLMImageProcessor
        extra = {"video_processor": SmolVLMVideoProcessor(**sizes)}
    else:
        processor_class, image_processor_class, extra = Idefics3Processor, Idefics3ImageProcessor, {}
    return processor_class(
        image_processor=image_processor_class(**sizes, do_image_splitting=True),
        tokenizer=build_tokenizer(family),
        image_seq_len=1,  # (32 / 16)² patches, pixel-shuffled by scale_factor 2: one token per tile
        chat_template=chat_template_for(family),
        **extra,
    )


def _idefics3_config(tokenizer, family: str = "idefics3"):
    from transformers import (
        Idefics3Config,
        Idefics3VisionConfig,
        LlamaConfig,
        SmolVLMConfig,
        SmolVLMVisionConfig,
    )

    config_class, vision_config_class = (
        (SmolVLMConfig, SmolVLMVisionConfig)
        if family == "smolvlm"
        else (Idefics3Config, Idefics3VisionConfig)
    )
    return config_class(
        vision_config=vision_config_class(**_TINY_VISION),
        text_config=LlamaConfig(
            vocab_size=vocab_size_for(len(tokenizer)), **_TINY_TEXT, **_token_ids(tokenizer)
        ),
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
        scale_factor=2,
        **_token_ids(tokenizer),
    )


def _gemma4_processor():
    """Gemma 4: images resized (aspect kept) to at most 280 patches of 8 pixels, pooled 2 × 2 into at most 70 soft
    tokens; pixel_values and image_position_ids are padded to 280 patches per image (position -1). (A pooling kernel
    of 1 is broken in transformers 5.24: the vision tower then keeps the padding patches instead of the real ones.)"""
    from transformers import (
        Gemma4AudioFeatureExtractor,
        Gemma4ImageProcessor,
        Gemma4Processor,
        Gemma4VideoProcessor,
    )

    # 70 soft tokens: the fewest Gemma 4's processors allow.
    vision = {"max_soft_tokens": 70, "pooling_kernel_size": 2, "patch_size": 8}
    return Gemma4Processor(
        feature_extractor=Gemma4AudioFeatureExtractor(),
        image_processor=Gemma4ImageProcessor(**vision),
        tokenizer=build_tokenizer("gemma4"),
        video_processor=Gemma4VideoProcessor(**vision),
        image_seq_length=70,
        chat_template=chat_template_for("gemma4"),
    )


def _gemma4_config(tokenizer):
    from transformers import Gemma4Config, Gemma4TextConfig, Gemma4VisionConfig

    token_id = tokenizer.convert_tokens_to_ids
    vocab_size = vocab_size_for(len(tokenizer))
    return Gemma4Config(
        text_config=Gemma4TextConfig(
            vocab_size=vocab_size,
            **_TINY_TEXT,
            head_dim=16,
            global_head_dim=16,
            sliding_window=64,
            layer_types=["sliding_attention", "full_attention"],  # Gemma 4 wants full attention last
            vocab_size_per_layer_input=vocab_size,
            hidden_size_per_layer_input=8,
            **_token_ids(tokenizer),
        ),
        vision_config=Gemma4VisionConfig(
            **_TINY_VISION_PATCH8,
            num_key_value_heads=2,
            head_dim=16,
            pooling_kernel_size=2,
            position_embedding_size=64,
        ),
        audio_config=None,
        boi_token_id=token_id("<|image>"),
        eoi_token_id=token_id("<image|>"),
        image_token_id=token_id("<|image|>"),
        video_token_id=token_id("<|video|>"),
        boa_token_id=token_id("<|audio>"),
        eoa_token_index=token_id("<audio|>"),
        audio_token_id=token_id("<|audio|>"),
    )


def _lfm2_vl_processor():
    """LFM2-VL: an image of at most 16 tokens (64 × 64 pixels: 8-pixel patches, 2 × 2 downsampled) is resized whole;
    a larger one (96 × 64) is cut into 32-pixel tiles (2 to 4) plus a thumbnail. Tiles are patch sequences padded to
    64 patches (pixel_attention_mask), with their patch grids in spatial_shapes."""
    from transformers import Lfm2VlImageProcessor, Lfm2VlProcessor

    return Lfm2VlProcessor(
        image_processor=Lfm2VlImageProcessor(
            encoder_patch_size=8,
            downsample_factor=2,
            tile_size=32,
            min_tiles=2,
            max_tiles=4,
            min_image_tokens=4,
            max_image_tokens=16,
            max_pixels_tolerance=1.0,
        ),
        tokenizer=build_tokenizer("lfm2_vl"),
        chat_template=chat_template_for("lfm2_vl"),
    )


def _lfm2_vl_config(tokenizer):
    from transformers import Lfm2Config, Lfm2VlConfig, Siglip2VisionConfig

    text = {key: value for key, value in _TINY_TEXT.items() if key != "max_position_embeddings"}
    return Lfm2VlConfig(
        vision_config=Siglip2VisionConfig(**_TINY_VISION_PATCH8, num_patches=64),
        text_config=Lfm2Config(
            vocab_size=vocab_size_for(len(tokenizer)),
            **text,
            max_position_embeddings=4096,
            layer_types=["conv", "full_attention"],
            block_auto_adjust_ff_dim=False,
            **_token_ids(tokenizer),
        ),
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
        projector_hidden_size=64,
        downsample_factor=2,
    )


def _internvl_processor():
    """InternVL: an image is cut into 32-pixel tiles (1 to 4, at the grid closest to its aspect ratio) plus a 32-pixel
    thumbnail when there are several (crop_to_patches); pixel_values has one entry per tile."""
    from transformers import GotOcr2ImageProcessor, InternVLProcessor, InternVLVideoProcessor

    sizes = {"size": {"height": 32, "width": 32}}
    return InternVLProcessor(
        image_processor=GotOcr2ImageProcessor(**sizes, crop_to_patches=True, min_patches=1, max_patches=4),
        tokenizer=build_tokenizer("internvl"),
        video_processor=InternVLVideoProcessor(**sizes),
        image_seq_length=4,  # (32 / 8)² patches, pixel-shuffled by downsample_ratio 0.5: 4 tokens per tile
        chat_template=chat_template_for("internvl"),
    )


def _internvl_config(tokenizer):
    from transformers import InternVLConfig, InternVLVisionConfig

    return InternVLConfig(
        vision_config=InternVLVisionConfig(**_TINY_VISION_PATCH8, image_size=32),
        text_config=_qwen2_text_config(tokenizer),
        image_token_id=tokenizer.convert_tokens_to_ids("<IMG_CONTEXT>"),
        image_seq_length=4,
        downsample_ratio=0.5,
    )


_OTHER_BUILDERS = {
    "llava": (functools.partial(_llava_processor, "llava"), functools.partial(_llava_config, family="llava")),
    "llava_next": (
        functools.partial(_llava_processor, "llava_next"),
        functools.partial(_llava_config, family="llava_next"),
    ),
    "gemma3": (_gemma3_processor, _gemma3_config),
    "idefics3": (_idefics3_processor, _idefics3_config),
    "smolvlm": (
        functools.partial(_idefics3_processor, "smolvlm"),
        functools.partial(_idefics3_config, family="smolvlm"),
    ),
    "gemma4": (_gemma4_processor, _gemma4_config),
    "lfm2_vl": (_lfm2_vl_processor, _lfm2_vl_config),
    "internvl": (_internvl_processor, _internvl_config),
}


TINY_MODEL_PREFIX = "roma-tiny/"


def vision_token_ids(family: str = "qwen3_vl") -> list[int]:
    """Ids of the image special tokens in ``family``'s tiny tokenizer (``VISION_TOKENS`` for Qwen-VL), which an
    untrained model must not sample into a completion."""
    tokens = FAMILY_TOKENS[family]
    return [256 + tokens.special_tokens.index(token) for token in tokens.vision_tokens]


def resolve_model(name_or_path: str, cache_dir: str | Path | None = None) -> str:
    """Turn ``roma-tiny/FAMILY-SIZE[-seedN]`` (e.g. ``roma-tiny/qwen3_vl-small``) into a built checkpoint folder.

    Recipes and ``roma eval`` accept this name wherever a hub id or a local path goes, so the embedded default
    needs no hub. The checkpoint is built once under ``cache_dir`` (default: roma's cache root,
    `roma.cache.cache_root`)``/models`` and reused. Any other name is returned unchanged.
    """
    if not str(name_or_path).startswith(TINY_MODEL_PREFIX):
        return str(name_or_path)
    spec = str(name_or_path)[len(TINY_MODEL_PREFIX) :]
    parts = spec.split("-")
    seed = 0
    if len(parts) == 3 and parts[2].startswith("seed") and parts[2][4:].isdigit():
        seed = int(parts[2][4:])
        parts = parts[:2]
    if len(parts) != 2 or parts[0] not in FAMILIES or parts[1] not in SIZES:
        raise ValueError(
            f"Unknown tiny model {name_or_path!r}: expected {TINY_MODEL_PREFIX}FAMILY-SIZE[-seedN] with FAMILY in "
            f"{FAMILIES} and SIZE in {SIZES}, e.g. {TINY_MODEL_PREFIX}qwen3_vl-small."
        )
    root = Path(cache_dir or cache_root()) / "models"
    out_dir = root / f"{parts[0]}-{parts[1]}-seed{seed}"
    if not _is_built(out_dir):
        root.mkdir(parents=True, exist_ok=True)
        # A private folder per build: concurrent builders never write into, or delete, one another's files.
        tmp_dir = Path(tempfile.mkdtemp(prefix=f".tmp-{out_dir.name}-{os.getpid()}-", dir=root))
        try:
            build_tiny_model(parts[0], tmp_dir, size=parts[1], seed=seed)
            move_into_place(tmp_dir, out_dir, _is_built)
        finally:
            shutil.rmtree(tmp_dir, ignore_errors=True)  # gone already after a successful rename
    return str(out_dir)


def _is_built(folder: Path) -> bool:
    # save_pretrained writes config.json first: only the processor's files, written last, show a whole build.
    return (folder / "config.json").is_file() and (folder / "processor_config.json").is_file()


def main(argv: list[str] | None = None) -> int:
    """``roma tiny-model``: build a tiny checkpoint and print where it went."""
    parser = argparse.ArgumentParser(
        prog="roma tiny-model",
        description="Build a tiny, randomly initialised Qwen-VL checkpoint with a real processor (offline).",
    )
    parser.add_argument("--family", choices=FAMILIES, default="qwen3_vl", help="model family")
    parser.add_argument("--out", required=True, type=Path, help="folder to save the checkpoint to")
    parser.add_argument(
        "--size",
        choices=SIZES,
        default="tiny",
        help="tiny: ~230k parameters for tests; small: 1.72M parameters, patch 8, for the CPU recipe",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random initialisation")
    args = parser.parse_args(argv)
    try:  # an earlier checkpoint is rebuilt in place; any other folder or a file is refused
        check_output_folder(
            args.out,
            option="--out",
            command="roma tiny-model",
            is_own_output=lambda path: (path / "config.json").is_file(),
        )
    except OutputFolderError as err:
        parser.error(str(err))
    path = build_tiny_model(args.family, args.out, size=args.size, seed=args.seed)
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(path)
    print(f"wrote {config.model_type} ({args.size}, seed {args.seed}) to {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
