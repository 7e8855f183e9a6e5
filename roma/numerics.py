"""Pin the CPU's numerical code paths, so that the CPU recipes give the same numbers on any x86-64 CPU.

Float results on the CPU depend on the kernels the CPU's instruction set selects: ATen's vectorised kernels (AVX2
or AVX-512: other reduction orders, ``ATEN_CPU_CAPABILITY``), MKL's GEMM (``MKL_CBWR``, conditional numerical
reproducibility) and oneDNN's kernels (``ONEDNN_MAX_CPU_ISA``). The last bits they differ in are amplified by
training: the tiny recipe's fixed-length warm start ended at 68 % clean on an AVX2 CPU and 94 % on an AVX-512 one
(issue 23; measurements in ``docs/method.md``, "Same numbers on any x86-64 CPU").

`pin_cpu_numerics` sets each of these variables that the user has not set to its AVX2 level (the widest level
every x86-64 CPU of the last decade has, so every such CPU runs the same kernels). torch reads them at its first
computation, not at import, so the entry points call it first thing: the ``roma`` command, ``recipes/*.py``,
``python -m roma.scripts.{train,warm_start,study}`` and ``tests/conftest.py``. A variable already set is left as
it is; ``ROMA_PIN_CPU_NUMERICS=0`` pins nothing. Only on x86-64 Linux CPUs with AVX2 (elsewhere nothing is set).
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

PINNED_CPU_NUMERICS: dict[str, str] = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "MKL_CBWR": "AVX2",
}
DISABLE_VARIABLE = "ROMA_PIN_CPU_NUMERICS"


def _cpu_has_avx2() -> bool:
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(line.startswith("flags") and " avx2" in line for line in cpuinfo.splitlines())


def pin_cpu_numerics() -> dict[str, str]:
    """Set every variable of `PINNED_CPU_NUMERICS` the environment does not set (before torch computes
    anything); returns the variables it set. Warns when torch has already chosen another kernel level."""
    if os.environ.get(DISABLE_VARIABLE, "1").strip().lower() in ("0", "false", "no", "off"):
        return {}
    if not _cpu_has_avx2():
        return {}
    pinned = {name: value for name, value in PINNED_CPU_NUMERICS.items() if name not in os.environ}
    os.environ.update(pinned)
    torch = sys.modules.get("torch")
    if torch is not None and "ATEN_CPU_CAPABILITY" in pinned:
        chosen = torch.backends.cpu.get_cpu_capability()
        if chosen.lower() != pinned["ATEN_CPU_CAPABILITY"]:
            warnings.warn(
                f"roma.numerics: torch already runs its {chosen} kernels (it chose them at its first "
                "computation); set ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_CBWR=AVX2 before starting "
                "Python to reproduce roma's documented numbers.",
                stacklevel=2,
            )
    return pinned


def cpu_numerics() -> dict[str, str | None]:
    """The values of the kernel-selecting variables in this process (part of the warm-start cache key)."""
    return {name: os.environ.get(name) for name in PINNED_CPU_NUMERICS}


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """PyTorch's intra-op thread count set to ``threads`` inside the block (None: unchanged), restored after it.
    Why: a float sum splits across threads, so the count is part of a CPU result as the kernels are."""
    import torch

    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
