"""`bench/cross_cpu.py` (issue 23: the same numbers on another CPU): what it fingerprints, and how it compares."""

from __future__ import annotations

import copy
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "cross_cpu.py"
GOLDENS = json.loads((Path(__file__).with_name("goldens.json")).read_text())


@pytest.fixture(scope="module")
def cross_cpu():
    spec = importlib.util.spec_from_file_location("cross_cpu", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def this_cpu(cross_cpu):
    # In this process: the tests run under roma's pin (conftest), as the bench's pinned child does.
    return cross_cpu._child(warm_start_steps=1, test_rows=2)


def test_the_configurations_start_with_this_cpu_pinned(cross_cpu):
    assert cross_cpu.configurations(["Haswell-v4"]) == [
        ("native", True),
        ("native", False),
        ("Haswell-v4", True),
        ("Haswell-v4", False),
    ]


def test_an_unknown_cpu_model_is_named(cross_cpu):
    qemu_help = "Available CPUs:\nx86 Haswell-v4            Intel Core Processor (Haswell, no TSX, IBRS)\nx86 qemu64\n"
    assert cross_cpu.unknown_cpu_models(["Haswell-v4", "Haswel", "qemu64"], qemu_help) == ["Haswel"]


@pytest.mark.slow
def test_the_child_fingerprints_the_goldens_and_a_warm_start_step(cross_cpu, this_cpu):
    # The reference image's corruptions are the goldens' own fingerprints; the scored test images come on top.
    each = this_cpu["corruptions_each"]
    assert {key: each[key] for key in GOLDENS["corruptions"]} == GOLDENS["corruptions"]
    assert "test/gaussian_blur@3" in each and "test/elastic_transform@3" in each
    assert this_cpu["levels"]["aten"] == "AVX2"
    assert [step for step, _ in this_cpu["losses"]] == [1]
    assert all(len(this_cpu[name]) == 64 for name in cross_cpu.FINGERPRINTS)
    # Each library's kernels have their own digest, so a moved warm start says where it came from.
    assert {"mkl/matmul 16x64x24", "mkl/exp", "aten/softmax", "onednn/conv3d patch embedding"} <= set(
        this_cpu["kernels_each"]
    )


@pytest.mark.slow
def test_compare_names_what_moved(cross_cpu, this_cpu):
    same = {**copy.deepcopy(this_cpu), "cpu": "native", "pinned": True, "wall_s": 60.0}
    moved = copy.deepcopy(same)
    moved.update(cpu="Haswell-v4", pinned=False, warm_start="0" * 64)
    moved["losses"][-1][1] = "5.0"
    moved["corruptions_each"]["test/gaussian_blur@3"] = "f" * 64
    moved["corruptions"] = cross_cpu._digest(moved["corruptions_each"])
    moved["kernels_each"]["mkl/exp"] = "e" * 64
    moved["kernels"] = cross_cpu._digest(moved["kernels_each"])
    rows = cross_cpu.compare([same, moved])
    assert all(rows[0]["same"].values()) and rows[0]["moved"] == {"corruptions": [], "kernels": []}
    assert rows[1]["same"] == {
        "data": True,
        "corruptions": False,
        "kernels": False,
        "model": True,
        "warm_start": False,
        "generation": True,
        "losses": False,
    }
    assert rows[1]["moved"] == {"corruptions": ["test/gaussian_blur@3"], "kernels": ["mkl/exp"]}
    table = cross_cpu.format_table(rows, warm_start_steps=1, this_cpu="GenuineIntel")
    assert "corruptions that moved: test/gaussian_blur@3" in table and "kernels that moved: mkl/exp" in table
    assert table.count("≠") == 4 and "GenuineIntel" in table


@pytest.mark.slow
def test_a_chosen_mkl_branch_reaches_the_child_and_moves_only_mkls_kernels(cross_cpu):
    """`--mkl_cbwr COMPATIBLE` (the branch MKL runs on every vendor's CPU): the child runs it instead of the pin's
    AVX2 branch; MKL's products move, ATen's own kernels do not. (On an Intel CPU, where MKL runs its AVX2 branch
    under the pin, ATen's ops that call MKL's vector math move with it too: logsumexp's `exp`, AdamW's `sqrt`;
    on an AMD CPU MKL runs the same code under both settings and they do not.)"""
    pinned = cross_cpu._run_child("native", True, 0, 0, fingerprints=("kernels",))
    compatible = cross_cpu._run_child("native", True, 0, 0, fingerprints=("kernels",), mkl_cbwr="COMPATIBLE")
    assert set(pinned) >= {"kernels", "kernels_each"} and "warm_start" not in pinned
    assert pinned["levels"]["pinned"]["MKL_CBWR"] == "AVX2"
    assert compatible["levels"]["pinned"]["MKL_CBWR"] == "COMPATIBLE"
    moved = cross_cpu.compare([pinned, compatible])[1]["moved"]["kernels"]
    assert "mkl/linear 320x128x384" in moved
    own = ["aten/softmax", "aten/silu", "aten/rsqrt", "aten/sum", "onednn/conv3d patch embedding"]
    assert set(own) <= set(pinned["kernels_each"]) and not set(own) & set(moved)
    calls_mkl = {"aten/attention (causal)", "aten/logsumexp", "aten/adamw step"}
    assert not [name for name in moved if not name.startswith("mkl/") and name not in calls_mkl]


def test_an_unknown_fingerprint_is_refused_by_name():
    done = subprocess.run(
        [sys.executable, str(BENCH), "--cpus", "", "--fingerprints", "kernels,warmstart"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "--fingerprints: warmstart; choose from data, corruptions, kernels" in done.stderr
    assert "Traceback" not in done.stderr
