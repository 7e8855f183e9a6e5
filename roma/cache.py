"""roma's cache folder: one root, a size cap on the corrupted-image cache, and the ``roma cache`` command.

Everything roma caches lives under one root, ``$ROMA_CACHE`` (default ``~/.cache/roma``):

- ``models/``: tiny checkpoints (every family roma trains) built for ``roma-tiny/...`` names (`roma.models.resolve_model`);
- ``eval_images/``: corrupted benchmark images of ``roma eval`` / ``roma probe``, one raw ``.npy`` per image,
  benchmark / corruption / severity. Capped (``--cache_max_gb``, default :data:`DEFAULT_EVAL_IMAGES_MAX_GB`):
  past the cap, the least recently used files are deleted (a cache hit refreshes a file's time).

    roma cache                      # where the cache is and what it holds
    roma cache clear eval_images    # delete one part (models, eval_images) or everything (all)
    roma cache prune --max_gb 5     # delete least recently used corrupted images down to 5 GB
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CACHE_ENV",
    "DEFAULT_EVAL_IMAGES_MAX_GB",
    "CacheFile",
    "cache_root",
    "folder_size",
    "main",
    "prune",
]

CACHE_ENV = "ROMA_CACHE"
_OLD_CACHE_ENV = "ROMA_CACHE_DIR"  # the eval-image cache's variable before there was one root
DEFAULT_EVAL_IMAGES_MAX_GB = 20.0
PARTS = ("models", "eval_images")
_GB = 1024**3


def cache_root() -> Path:
    """``$ROMA_CACHE``, else ``~/.cache/roma``."""
    root = os.environ.get(CACHE_ENV)
    if not root and os.environ.get(_OLD_CACHE_ENV):
        warnings.warn(
            f"{_OLD_CACHE_ENV} is replaced by {CACHE_ENV} (one root for every roma cache); using "
            f"{_OLD_CACHE_ENV}={os.environ[_OLD_CACHE_ENV]} this time. Set {CACHE_ENV} instead.",
            FutureWarning,
            stacklevel=2,
        )
        root = os.environ[_OLD_CACHE_ENV]
    return Path(root).expanduser() if root else Path.home() / ".cache" / "roma"


@dataclass(frozen=True)
class CacheFile:
    path: Path
    size: int
    last_used: float  # modification time: written, or refreshed by a cache hit


def _files(folder: Path) -> list[CacheFile]:
    found = []
    stack = [folder]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except FileNotFoundError:
            continue  # removed meanwhile (another process clearing or pruning)
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=False):
                    stat = entry.stat(follow_symlinks=False)
                    found.append(CacheFile(Path(entry.path), stat.st_size, stat.st_mtime))
            except FileNotFoundError:
                continue
    return found


def folder_size(folder: Path) -> tuple[int, int]:
    """(bytes, files) under ``folder`` (0, 0 when it does not exist)."""
    files = _files(folder)
    return sum(f.size for f in files), len(files)


def prune(folder: Path, max_bytes: int) -> tuple[int, int]:
    """Delete the least recently used files under ``folder`` until it holds at most ``max_bytes``; returns
    (files deleted, bytes freed). Files another process deletes meanwhile are skipped."""
    if max_bytes < 0:
        raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
    files = _files(folder)
    excess = sum(f.size for f in files) - max_bytes
    deleted = freed = 0
    for file in sorted(files, key=lambda f: (f.last_used, str(f.path))):
        if excess <= 0:
            break
        file.path.unlink(missing_ok=True)  # another process may have pruned it meanwhile
        excess -= file.size
        deleted += 1
        freed += file.size
    return deleted, freed


def _human(size: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{size} B"
        size /= 1024
    raise AssertionError("unreachable")


def _info(root: Path) -> str:
    lines = [f"roma cache: {root}  (set {CACHE_ENV} to move it)"]
    for part in PARTS:
        size, count = folder_size(root / part)
        lines.append(f"  {part + '/':<14} {_human(size):>11}  {count} files")
        if part == "eval_images" and (root / part).is_dir():
            for child in sorted(p for p in (root / part).iterdir() if p.is_dir()):
                size, count = folder_size(child)
                lines.append(f"    {child.name:<12} {_human(size):>11}  {count} files")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="roma cache", description="Show, clear or prune roma's cache folder."
    )
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("info", help="where the cache is and what it holds (the default)")
    clear = commands.add_parser("clear", help="delete a part of the cache, or all of it")
    clear.add_argument("part", choices=[*PARTS, "all"])
    prune_parser = commands.add_parser(
        "prune", help="delete least recently used corrupted images down to a size"
    )
    prune_parser.add_argument("--max_gb", type=float, required=True, help="size to keep eval_images/ under")
    args = parser.parse_args(argv)
    root = cache_root()
    if args.command in (None, "info"):
        print(_info(root))
    elif args.command == "clear":
        for part in PARTS if args.part == "all" else (args.part,):
            size, count = folder_size(root / part)
            shutil.rmtree(root / part, ignore_errors=True)
            print(f"removed {root / part}: {count} files, {_human(size)}")
    else:
        if not math.isfinite(args.max_gb) or args.max_gb < 0:
            parser.error(f"--max_gb must be a finite number of GB >= 0, got {args.max_gb}")
        deleted, freed = prune(root / "eval_images", int(args.max_gb * _GB))
        print(f"pruned {root / 'eval_images'}: {deleted} files, {_human(freed)}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
