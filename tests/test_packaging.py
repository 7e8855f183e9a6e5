"""What a user installs: the distribution name, the packaged recipes, and the libraries roma declares."""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from pathlib import Path

import pytest
import tomllib

from roma import _version
from roma.configs import CONFIG_DIR, accelerate_config_path, list_configs, recipe_path
from roma.scripts.train import accelerate_command, parse_args

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def _lock_module():
    spec = importlib.util.spec_from_file_location("roma_lock_for_packaging", REPO / "scripts" / "lock.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---- 1. the name --------------------------------------------------------------------------------------------
def test_the_distribution_is_not_pypis_roma_and_every_script_uses_the_same_name():
    name = PYPROJECT["project"]["name"]
    assert name != "roma", "'roma' on PyPI is an unrelated library (3D rotations) that also imports as roma"
    assert name == _version.DISTRIBUTION == _lock_module().PROJECT
    readme = (REPO / "README.md").read_text()
    assert f"pip install {name}" in readme
    assert "3D rotations" in readme  # what happens when both are installed


# ---- 2. recipes that ship -----------------------------------------------------------------------------------
def test_recipes_and_accelerate_configs_ship_in_the_package_and_the_clone_links_to_them():
    assert {"tiny_cpu", "qwen3_vl_4b_roma", "qwen3_vl_4b_grpo"} <= set(list_configs())
    assert recipe_path("tiny_cpu") == CONFIG_DIR / "tiny_cpu.yaml"
    assert accelerate_config_path("deepspeed_zero2") == CONFIG_DIR / "accelerate" / "deepspeed_zero2.yaml"
    # One copy: recipes/configs and recipes/accelerate in a clone are the packaged folders.
    assert (REPO / "recipes" / "configs").resolve() == CONFIG_DIR
    assert (REPO / "recipes" / "accelerate").resolve() == CONFIG_DIR / "accelerate"
    package_data = PYPROJECT["tool"]["setuptools"]["package-data"]["roma"]
    assert {"configs/*.yaml", "configs/accelerate/*.yaml"} <= set(package_data)


def test_roma_train_takes_a_packaged_recipe_name_and_names_the_choices_for_an_unknown_one(tmp_path):
    script_args, training_args, _ = parse_args(["--config", "tiny_cpu", "--output_dir", str(tmp_path)])
    assert script_args.dataset_name == "synthetic" and training_args.roma_num_views == 2
    with pytest.raises(
        FileNotFoundError, match=r"'tiny_gpu' is neither a file nor a packaged name.*tiny_cpu"
    ):
        parse_args(["--config", "tiny_gpu"])


def test_accelerate_config_runs_the_same_script_under_accelerate_launch():
    command = accelerate_command(["--accelerate_config", "cpu", "--config=tiny_cpu", "--max_steps", "2"])
    assert command == [
        sys.executable, "-m", "accelerate.commands.launch",
        "--config_file", str(CONFIG_DIR / "accelerate" / "cpu.yaml"),
        "-m", "roma.scripts.train", "--config", str(CONFIG_DIR / "tiny_cpu.yaml"), "--max_steps", "2",
    ]  # fmt: skip
    assert accelerate_command(["--config", "tiny_cpu"]) is None


# ---- 6. the libraries we declare are the ones we use ----------------------------------------------------------
# Distribution name -> the module it provides, where they differ.
IMPORT_NAMES = {
    "pillow": "PIL",
    "pyyaml": "yaml",
    "opencv-python-headless": "cv2",
    "math-verify": "math_verify",
}
# Declared for a library roma calls rather than for an import of its own.
USED_THROUGH = {"torchvision": "transformers' Qwen-VL image processors (torchvision backend)"}


def _imported_top_level_modules() -> set[str]:
    modules = set()
    for path in (REPO / "roma").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules.add(node.module.split(".")[0])
    return modules


def test_every_runtime_dependency_is_imported_by_roma():
    imported = _imported_top_level_modules()
    unused = []
    for requirement in PYPROJECT["project"]["dependencies"]:
        name = re.split(r"[<>=!~ \[;]", requirement, maxsplit=1)[0].lower()
        if name not in USED_THROUGH and IMPORT_NAMES.get(name, name.replace("-", "_")) not in imported:
            unused.append(name)
    assert unused == [], f"declared but never imported by roma/: {unused}"


def test_extras_mean_something():
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert "eval" not in extras  # it held only the test-only imagecorruptions reference
    assert any(requirement.startswith("tensorboard") for requirement in extras["tensorboard"])
