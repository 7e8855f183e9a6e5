"""Paths built from user input: names that become file names, and the ``--out`` folders of the commands.

`safe_path_component` turns a name read from data (a benchmark or corruption name in ``records.jsonl``) into
one file-name component, so a crafted name such as ``../../x`` cannot write outside the folder it belongs in.
`check_output_folder` refuses an ``--out`` that is a file, or a folder holding something other than an
earlier output of the same command (``roma synthetic``, ``roma tiny-model``, ``roma eval``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

__all__ = ["OutputFolderError", "check_output_folder", "safe_path_component"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class OutputFolderError(ValueError):
    """An ``--out`` folder the command must not write into (a file, or a folder of something else)."""


def safe_path_component(name: str) -> str:
    """``name`` when it is a plain file name (letters, digits, ``.``, ``_``, ``-``, not starting with ``.``);
    otherwise the name with every other run of characters replaced by ``_`` plus a short hash of the original,
    so two different names never share a path."""
    name = str(name)
    cleaned = _UNSAFE.sub("_", name).lstrip(".")
    if cleaned == name and name:
        return name
    return f"{cleaned[:64]}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def check_output_folder(
    path: str | Path, *, option: str, command: str, is_own_output: Callable[[Path], bool]
) -> None:
    """Raise `OutputFolderError` unless ``path`` is absent, an empty folder, or a folder that
    ``is_own_output`` recognises as an earlier output of ``command`` (which it may then reuse or replace)."""
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise OutputFolderError(f"{option} {path} is an existing file; {command} writes a folder there")
    if path.is_dir() and any(path.iterdir()) and not is_own_output(path):
        raise OutputFolderError(
            f"{option} {path} is a folder that holds other files (not an output of {command}); choose a new "
            "or empty folder"
        )
