"""The training recipes and accelerate configs that ship inside the package (as TRL ships ``trl/scripts``' configs).

``roma/configs/NAME.yaml`` are the recipes of ``roma train --config NAME`` (Qwen3-VL-4B/8B ROMA, Qwen3-VL-4B GRPO,
Qwen2.5-VL-7B ROMA, ``tiny_cpu``); ``roma/configs/accelerate/NAME.yaml`` the accelerate configs of
``roma train --accelerate_config NAME`` (``cpu``, ``single_gpu``, ``multi_gpu``, ``deepspeed_zero2``,
``deepspeed_zero3``). These files are the only copy: in a clone, ``recipes/configs`` and ``recipes/accelerate`` are
links to them, so ``accelerate launch recipes/roma_qwen3vl.py --config recipes/configs/...`` keeps working.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["CONFIG_DIR", "accelerate_config_path", "list_configs", "recipe_path"]

CONFIG_DIR = Path(__file__).resolve().parent
ACCELERATE_DIR = CONFIG_DIR / "accelerate"


def list_configs(folder: Path = CONFIG_DIR) -> list[str]:
    """Names of the packaged YAML files in ``folder`` (without ``.yaml``)."""
    return sorted(path.stem for path in folder.glob("*.yaml"))


def _resolve(name_or_path: str | Path, folder: Path, what: str) -> Path:
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    packaged = folder / f"{Path(str(name_or_path)).stem}.yaml"
    looks_like_name = path.parent == Path(".") and path.suffix in ("", ".yaml", ".yml")
    if looks_like_name and packaged.is_file():
        return packaged
    raise FileNotFoundError(
        f"{what} {str(name_or_path)!r} is neither a file nor a packaged name; packaged: "
        f"{', '.join(list_configs(folder))} (in {folder})."
    )


def recipe_path(name_or_path: str | Path) -> Path:
    """A training recipe: an existing YAML file, else a packaged name such as ``tiny_cpu``."""
    return _resolve(name_or_path, CONFIG_DIR, "Training config")


def accelerate_config_path(name_or_path: str | Path) -> Path:
    """An accelerate config: an existing YAML file, else a packaged name such as ``deepspeed_zero2``."""
    return _resolve(name_or_path, ACCELERATE_DIR, "Accelerate config")
