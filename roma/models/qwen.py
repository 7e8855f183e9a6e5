"""The Qwen-VL families' tiny checkpoints (``QWEN_FAMILIES``, at two sizes): their architecture sizes
(`MODEL_SPECS`), the stock processors and configs.

The processor is the stock ``Qwen3VLProcessor`` / ``Qwen2_5_VLProcessor`` / ``Qwen2VLProcessor`` with the stock
``Qwen2VLImageProcessor`` and video processor, configured with the model's patch and merge sizes. Qwen2-VL shares
Qwen2.5-VL's sizes (patch 14) with its plain vision transformer.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from roma.models.families import FAMILIES, QWEN_FAMILIES, SIZES
from roma.models.tokenizer import CHAT_TEMPLATE, EOS_TOKEN, PAD_TOKEN, build_tokenizer, vocab_size_for

if TYPE_CHECKING:  # pragma: no cover
    from transformers import PreTrainedConfig, ProcessorMixin, Qwen2Tokenizer

__all__ = ["MODEL_SPECS", "TinyModelSpec", "build_qwen_config", "build_qwen_processor", "get_spec"]


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


def build_qwen_processor(family: str = "qwen3_vl", size: str = "tiny") -> ProcessorMixin:
    """The stock Qwen-VL processor for ``family`` at ``size``: tokenizer, image and video processors."""
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


def _qwen_config_parts(spec: TinyModelSpec, tokenizer: Qwen2Tokenizer) -> tuple[dict, dict, dict]:
    """The special-token ids, text config and vision config the three Qwen-VL families share, from ``spec``."""
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
    return token_ids, text_config, vision_config


def build_qwen_config(
    family: str = "qwen3_vl", size: str = "tiny", *, tokenizer: Qwen2Tokenizer | None = None
) -> PreTrainedConfig:
    """The Qwen-VL model config for ``family`` at ``size``, with token ids taken from the tokenizer."""
    from transformers import Qwen2_5_VLConfig, Qwen2VLConfig, Qwen3VLConfig

    spec = get_spec(family, size)
    tokenizer = tokenizer if tokenizer is not None else build_tokenizer()
    token_ids, text_config, vision_config = _qwen_config_parts(spec, tokenizer)
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
