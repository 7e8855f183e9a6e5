"""DeepSpeed ZeRO-2 trains the tiny model on this CPU, launched with the shipped accelerate config."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_zero2_config_trains_the_tiny_model_on_cpu(tiny_qwen3_vl_path, tmp_path):
    # One process: on a CPU-only machine transformers sizes DeepSpeed's batch with world size 1, so two CPU ranks
    # fail DeepSpeed's batch-size check (see docs/method.md); the ZeRO-2 engine, optimizer and checkpoint-free
    # training path are the same.
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [
            sys.executable, "-m", "accelerate.commands.launch",
            "--config_file", str(REPO / "recipes" / "accelerate" / "deepspeed_zero2.yaml"),
            "--num_processes", "1", "--mixed_precision", "no",
            str(REPO / "tests" / "scripts" / "deepspeed_train.py"), str(tiny_qwen3_vl_path), str(tmp_path),
        ],
        env=env, capture_output=True, text=True, timeout=300, cwd=REPO / "tests",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads((tmp_path / "rank0.json").read_text())
    assert report["deepspeed"] and report["engine"] == "DeepSpeedEngine" and report["zero_stage"] == 2
    assert report["changed_parameters"] > 0
    assert len(report["losses"]) == 2
