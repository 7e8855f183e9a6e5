"""roma.numerics: the CPU kernel level is pinned before torch computes, unless the user chose one."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from roma import numerics
from roma.numerics import DISABLE_VARIABLE, PINNED_CPU_NUMERICS, _cpu_has_avx2, cpu_vendor, pin_cpu_numerics

REPO = Path(__file__).resolve().parents[1]
needs_avx2 = pytest.mark.skipif(not _cpu_has_avx2(), reason="pins only on an x86-64 CPU with AVX2")


@needs_avx2
def test_pins_only_what_the_user_left_unset(monkeypatch):
    for name in PINNED_CPU_NUMERICS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MKL_CBWR", "COMPATIBLE")
    monkeypatch.delenv(DISABLE_VARIABLE, raising=False)
    assert pin_cpu_numerics() == {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
    assert os.environ["MKL_CBWR"] == "COMPATIBLE"
    assert os.environ["ATEN_CPU_CAPABILITY"] == "avx2"


@needs_avx2
def test_reads_the_cpu_vendor():
    # x86-64 vendor strings (CPUID leaf 0): Intel, AMD, Hygon, Zhaoxin/VIA
    assert cpu_vendor() in {"GenuineIntel", "AuthenticAMD", "HygonGenuine", "CentaurHauls", "  Shanghai  "}


@needs_avx2
@pytest.mark.parametrize(
    "vendor, user_mkl_cbwr, warns",
    [("GenuineIntel", None, False), ("AuthenticAMD", None, True), ("AuthenticAMD", "COMPATIBLE", False)],
    ids=["intel", "amd", "amd-user-chose-mkl-branch"],
)
def test_warns_where_mkl_does_not_run_the_pinned_branch(monkeypatch, vendor, user_mkl_cbwr, warns):
    """MKL_CBWR=AVX2 is an Intel-only branch: on another vendor's CPU the pin cannot give the documented bits."""
    for name in PINNED_CPU_NUMERICS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv(DISABLE_VARIABLE, raising=False)
    if user_mkl_cbwr is not None:
        monkeypatch.setenv("MKL_CBWR", user_mkl_cbwr)
    monkeypatch.setattr(numerics, "cpu_vendor", lambda: vendor)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pin_cpu_numerics()
    about_mkl = [str(w.message) for w in caught if "only on Intel CPUs" in str(w.message)]
    assert len(about_mkl) == int(warns)
    if warns:
        assert vendor in about_mkl[0]


def test_can_be_switched_off(monkeypatch):
    for name in PINNED_CPU_NUMERICS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(DISABLE_VARIABLE, "0")
    assert pin_cpu_numerics() == {}
    assert not any(name in os.environ for name in PINNED_CPU_NUMERICS)


@needs_avx2
@pytest.mark.parametrize(
    "entry",
    [
        "import runpy; runpy.run_path('recipes/roma_qwen3vl.py', run_name='entry')",
        "import runpy; runpy.run_path('recipes/study_synthetic.py', run_name='entry')",
        "from roma.cli import main; main(['synthetic', '--help'])",
        "from roma.scripts.warm_start import main; main(['--steps', '0'])",
    ],
    ids=["recipe", "study", "roma-command", "warm-start-command"],
)
def test_every_entry_point_pins_before_torch_chooses_its_kernels(entry):
    """Run in a clean process: after the entry point, torch runs its AVX2 kernels (it chose at first use)."""
    env = {k: v for k, v in os.environ.items() if k not in PINNED_CPU_NUMERICS and k != DISABLE_VARIABLE}
    code = (
        "import contextlib, io, sys\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
        "    try:\n"
        f"        {entry}\n"
        "    except SystemExit:\n"
        "        pass\n"
        "import os, torch\n"
        "print(os.environ['ATEN_CPU_CAPABILITY'], os.environ['MKL_CBWR'], torch.backends.cpu.get_cpu_capability())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["avx2", "AVX2", "AVX2"]


def test_torch_threads_sets_the_count_inside_the_block_and_restores_it():
    import torch

    from roma.numerics import torch_threads

    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with torch_threads(None):
        assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), torch_threads(1):
        raise RuntimeError("restored on the way out too")
    assert torch.get_num_threads() == before
