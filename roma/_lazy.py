"""Lazy package attributes (PEP 562): the one helper behind every ``roma`` package's light ``__init__``.

A package that re-exports names from heavy submodules (TRL, transformers, datasets) maps each name to the
module defining it and sets ``__getattr__ = lazy_getattr(__name__, EXPORTS)``: ``import roma.data`` stays light,
``roma.data.load_training_dataset`` imports ``roma.data.loading`` on first use. Names for type checkers and
readers stay in an ``if TYPE_CHECKING:`` import block next to the mapping.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["lazy_getattr"]


def lazy_getattr(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports ``exports[name]`` (a module path) on first access."""

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(exports[name]), name)

    return __getattr__
