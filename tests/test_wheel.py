"""The built wheel alone (not the clone) trains from a packaged recipe, evaluates a local jsonl dataset and runs the
README's drop-in snippet on a TRL-format dataset, in a fresh virtual environment.

Nothing is downloaded: the wheel is installed with ``--no-deps`` and the current environment's third-party packages
are made visible through a ``.pth`` line. A directory added that way does not get its own ``.pth`` files processed,
so the editable install's finder is inactive there and ``import roma`` must resolve to the wheel's copy (asserted).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result.stdout


def _readme_drop_in_snippet() -> str:
    section = (REPO / "README.md").read_text().split("### 2. Drop-in replacement", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory):
    """(python of a fresh venv holding only the built wheel, its environment, an empty working folder)."""
    root = tmp_path_factory.mktemp("wheel")
    # Build from a copy: setuptools writes build/ and *.egg-info next to the sources.
    source = root / "source"
    ignore = shutil.ignore_patterns(".git", ".venv", "runs", "results", "build", "*.egg-info", "__pycache__")
    shutil.copytree(REPO, source, symlinks=True, ignore=ignore)
    # No PYTHONPATH anywhere below: it would show pip and Python the clone instead of the wheel.
    clean = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    wheels = root / "dist"
    pip = [sys.executable, "-m", "pip"]
    _run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(source)],
        root,
        clean,
    )
    (wheel,) = wheels.glob("*.whl")
    assert wheel.name.startswith("trl_roma-")
    env_dir = root / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    _run([*pip, "--python", str(python), "install", "-q", "--no-deps", str(wheel)], root, clean)
    site = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], root, clean)
    current = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site.strip()) / "current_environment.pth").write_text("\n".join(sorted(current)) + "\n")
    env = clean | {"ROMA_CACHE": str(root / "cache"), "PATH": f"{env_dir / 'bin'}:{os.environ['PATH']}"}
    work = root / "work"
    work.mkdir()
    where = _run([str(python), "-c", "import roma; print(roma.__file__)"], work, env).strip()
    assert where.startswith(str(env_dir)), f"roma resolves to {where}, not the wheel in {env_dir}"
    version = _run([str(env_dir / "bin" / "roma"), "--version"], work, env).strip()
    assert version == f"roma {wheel.name.split('-')[1]}"  # read from the trl-roma distribution's metadata
    return python, env, work


def test_roma_train_runs_a_packaged_recipe_from_the_wheel(wheel_env):
    python, env, work = wheel_env
    assert (Path(python).parent / "roma").is_file()
    out = _run(
        [str(Path(python).parent / "roma"), "train", "--config", "tiny_cpu", "--max_steps", "2",
         "--warm_start_sft_steps", "0", "--max_train_samples", "16", "--eval_benchmarks", "none",
         "--per_device_train_batch_size", "8", "--num_generations", "4", "--output_dir", "runs/wheel"],
        work, env,
    )  # fmt: skip
    assert "Finished roma training: 2 steps" in out
    assert (work / "runs" / "wheel" / "model.safetensors").is_file()


def test_roma_eval_scores_a_local_jsonl_dataset_from_the_wheel(wheel_env):
    python, env, work = wheel_env
    from PIL import Image

    (work / "images").mkdir(exist_ok=True)
    lines = []
    for i in range(3):
        Image.new("RGB", (32, 32), (40 * i, 80, 120)).save(work / "images" / f"{i}.png")
        lines.append(f'{{"id": "q{i}", "q": "How many?", "img": "images/{i}.png", "sol": "{i}"}}')
    (work / "mine.jsonl").write_text("\n".join(lines) + "\n")
    _run(
        [str(Path(python).parent / "roma"), "eval", "--model", "roma-tiny/qwen3_vl-tiny", "--benchmarks", "mine.jsonl",
         "--question_column", "q", "--image_column", "img", "--answer_column", "sol", "--conditions", "clean,gaussian_blur",
         "--severities", "3", "--max_new_tokens", "4", "--device", "cpu", "--out", "results/mine", "--no_progress"],
        work, env,
    )  # fmt: skip
    assert (work / "results" / "mine" / "results.json").is_file()
    assert len((work / "results" / "mine" / "records.jsonl").read_text().splitlines()) == 6


def test_the_readme_drop_in_snippet_trains_on_a_trl_format_dataset_from_the_wheel(wheel_env):
    python, env, work = wheel_env
    snippet = _readme_drop_in_snippet()
    assert 'model="Qwen/Qwen3-VL-4B-Instruct"' in snippet
    snippet = snippet.replace('model="Qwen/Qwen3-VL-4B-Instruct"', 'model="roma-tiny/qwen3_vl-tiny"')
    snippet = snippet.replace("args = RomaConfig(", "args = RomaConfig(**SMALL_RUN,")
    preamble = textwrap.dedent(
        """
        import numpy as np
        from datasets import Dataset
        from PIL import Image
        from roma.models.tiny import vision_token_ids

        rng = np.random.default_rng(0)
        dataset = Dataset.from_list([
            {"prompt": [{"role": "user", "content": f"How many bars? ({i})"}],
             "image": Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)),
             "solution": str(i % 3)}
            for i in range(8)
        ])
        SMALL_RUN = dict(use_cpu=True, bf16=False, max_steps=2, per_device_train_batch_size=4, num_generations=4,
                         max_completion_length=8, report_to="none", save_strategy="no",
                         generation_kwargs={"suppress_tokens": vision_token_ids()})
        """
    )
    (work / "snippet.py").write_text(preamble + snippet + "\nprint('steps', trainer.state.global_step)\n")
    assert "steps 2" in _run([str(python), "snippet.py"], work, env)
