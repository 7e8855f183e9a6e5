"""The tiny checkpoints' tokenizer: the stock ``Qwen2Tokenizer`` over a byte-level BPE with the 256 byte symbols
and no merges (token id ``i`` is byte ``i``), plus each family's special tokens (`FAMILY_TOKENS`) and a Qwen-style
chat template with the family's image placeholder (`chat_template_for`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from roma.models.families import FAMILIES, QWEN_FAMILIES

if TYPE_CHECKING:  # pragma: no cover
    from transformers import Qwen2Tokenizer

__all__ = [
    "CHAT_TEMPLATE",
    "EOS_TOKEN",
    "FAMILY_TOKENS",
    "PAD_TOKEN",
    "SPECIAL_TOKENS",
    "VISION_TOKENS",
    "FamilyTokens",
    "build_tokenizer",
    "chat_template_for",
    "vision_token_ids",
    "vocab_size_for",
]

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


def vision_token_ids(family: str = "qwen3_vl") -> list[int]:
    """Ids of the image special tokens in ``family``'s tiny tokenizer (``VISION_TOKENS`` for Qwen-VL), which an
    untrained model must not sample into a completion."""
    tokens = FAMILY_TOKENS[family]
    return [256 + tokens.special_tokens.index(token) for token in tokens.vision_tokens]
