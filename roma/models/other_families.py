"""The tiny checkpoints of the families TRL's GRPOTrainer trains besides Qwen-VL (``OTHER_FAMILIES``: LLaVA,
LLaVA-NeXT, Gemma 3, Idefics3, SmolVLM, Gemma 4, LFM2-VL, InternVL), ``tiny`` size only: each the stock transformers
architecture and processor, text models 64 wide with 2 layers, vision towers of one layer on 32×32 tiles of
16-pixel patches (Gemma 4, LFM2-VL, InternVL: 8-pixel patches). `OTHER_BUILDERS` maps a family to its
(processor builder, config builder).
"""

from __future__ import annotations

import functools

from roma.models.tokenizer import EOS_TOKEN, PAD_TOKEN, build_tokenizer, chat_template_for, vocab_size_for

__all__ = ["OTHER_BUILDERS", "check_other_size"]

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


def check_other_size(family: str, size: str) -> None:
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


OTHER_BUILDERS = {
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
