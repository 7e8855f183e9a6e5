"""``roma-tiny/FAMILY-SIZE[-seedN]`` model names: resolved to a tiny checkpoint built once in roma's cache.

The resolver the trainer, ``roma train`` and ``roma eval`` call wherever a model id goes; the checkpoints come from
the factory, `roma.models.tiny` (called through its module, so a test can stand in for the build).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from roma._publish import move_into_place
from roma.cache import cache_root
from roma.models import tiny
from roma.models.families import FAMILIES, SIZES

__all__ = ["TINY_MODEL_PREFIX", "resolve_model"]

TINY_MODEL_PREFIX = "roma-tiny/"


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
            tiny.build_tiny_model(parts[0], tmp_dir, size=parts[1], seed=seed)
            move_into_place(tmp_dir, out_dir, _is_built)
        finally:
            shutil.rmtree(tmp_dir, ignore_errors=True)  # gone already after a successful rename
    return str(out_dir)


def _is_built(folder: Path) -> bool:
    # save_pretrained writes config.json first: only the processor's files, written last, show a whole build.
    return (folder / "config.json").is_file() and (folder / "processor_config.json").is_file()
