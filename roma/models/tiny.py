"""Tiny, randomly initialised vision-language checkpoints with a real processor, built offline: Qwen3-VL /
Qwen2.5-VL / Qwen2-VL (``QWEN_FAMILIES``, at two sizes) and LLaVA / LLaVA-NeXT / Gemma 3 / Idefics3 / SmolVLM /
Gemma 4 / LFM2-VL / InternVL (``OTHER_FAMILIES``, ``tiny`` only: the families ROMA supports besides Qwen-VL, see `roma.trainer.layouts`).

The checkpoints are the stock transformers architectures at toy sizes, saved with ``save_pretrained``, so
``AutoModelForImageTextToText.from_pretrained(path)`` and ``AutoProcessor.from_pretrained(path)`` load them
exactly like a hub checkpoint. Nothing is downloaded and nothing needs training:

* the tokenizer (`roma.models.tokenizer`) is the stock ``Qwen2Tokenizer`` over a byte-level BPE with the 256 byte
  symbols and no merges (token id ``i`` is byte ``i``), plus the family's special tokens and a Qwen-style chat
  template;
* the processor and config are the family's stock ones (`roma.models.qwen` for Qwen-VL,
  `roma.models.other_families` for the others), configured with the model's sizes.

This module is the factory (`build_processor`, `build_config`, `build_tiny_model`, ``roma tiny-model``); the
``roma-tiny/...`` names are resolved by `roma.models.resolve`.

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
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from roma._lazy import lazy_getattr
from roma._paths import OutputFolderError, check_output_folder
from roma.models.families import FAMILIES, OTHER_FAMILIES, QWEN_FAMILIES, SIZES
from roma.models.other_families import OTHER_BUILDERS, check_other_size
from roma.models.qwen import MODEL_SPECS, TinyModelSpec, build_qwen_config, build_qwen_processor, get_spec
from roma.models.tokenizer import (
    CHAT_TEMPLATE,
    EOS_TOKEN,
    FAMILY_TOKENS,
    PAD_TOKEN,
    SPECIAL_TOKENS,
    VISION_TOKENS,
    FamilyTokens,
    build_tokenizer,
    chat_template_for,
    vision_token_ids,
    vocab_size_for,
)

if TYPE_CHECKING:  # pragma: no cover
    from transformers import PreTrainedConfig, ProcessorMixin, Qwen2Tokenizer

__all__ = [
    "build_config",
    "build_processor",
    "build_tiny_model",
    "main",
    # Moved to roma.models.families / tokenizer / qwen / resolve; importable from here for one release.
    "CHAT_TEMPLATE",
    "EOS_TOKEN",
    "FAMILIES",
    "FAMILY_TOKENS",
    "MODEL_SPECS",
    "OTHER_FAMILIES",
    "PAD_TOKEN",
    "QWEN_FAMILIES",
    "SIZES",
    "SPECIAL_TOKENS",
    "VISION_TOKENS",
    "FamilyTokens",
    "TinyModelSpec",
    "build_tokenizer",
    "chat_template_for",
    "get_spec",
    "vision_token_ids",
    "vocab_size_for",
]

# roma.models.resolve imports this module (the factory it builds with), so its names (TINY_MODEL_PREFIX,
# resolve_model; importable from here for one release) are re-exported lazily, by name, not by an import.
__getattr__ = lazy_getattr(
    __name__, {"resolve_model": "roma.models.resolve", "TINY_MODEL_PREFIX": "roma.models.resolve"}
)


def build_processor(family: str = "qwen3_vl", size: str = "tiny") -> ProcessorMixin:
    """The stock processor for ``family`` at ``size``: tokenizer, image (and, Qwen-VL, video) processors."""
    if family in OTHER_FAMILIES:
        check_other_size(family, size)
        return OTHER_BUILDERS[family][0]()
    return build_qwen_processor(family, size)


def build_config(
    family: str = "qwen3_vl", size: str = "tiny", *, tokenizer: Qwen2Tokenizer | None = None
) -> PreTrainedConfig:
    """The model config for ``family`` at ``size``, with token ids taken from the tokenizer."""
    if family in OTHER_FAMILIES:
        check_other_size(family, size)
        return OTHER_BUILDERS[family][1](tokenizer if tokenizer is not None else build_tokenizer(family))
    return build_qwen_config(family, size, tokenizer=tokenizer)


_SEEDED_INITIALISATION = threading.Lock()


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
    # fork_rng: seed the initialisation without disturbing the caller's global RNG. The lock: that RNG is one per
    # process, so two threads building at once (a study's parallel stages resolving the same roma-tiny name) would
    # each draw part of the other's numbers and save weights no seed gives.
    with _SEEDED_INITIALISATION, torch.random.fork_rng(devices=[]):
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


def main(argv: list[str] | None = None) -> int:
    """``roma tiny-model``: build a tiny checkpoint and print where it went."""
    parser = argparse.ArgumentParser(
        prog="roma tiny-model",
        description=(
            "Build a tiny, randomly initialised vision-language checkpoint of any family roma trains "
            f"({', '.join(FAMILIES)}) with its real processor (offline)."
        ),
    )
    parser.add_argument("--family", choices=FAMILIES, default="qwen3_vl", help="model family")
    parser.add_argument("--out", required=True, type=Path, help="folder to save the checkpoint to")
    parser.add_argument(
        "--size",
        choices=SIZES,
        default="tiny",
        help="tiny: ~120k-235k parameters, for tests (every family); small: 1.72M parameters, patch 8, for the CPU "
        "recipe (Qwen-VL families only)",
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
