"""Pin the CPU's numerical code paths, so that the CPU recipes give the same numbers on any Intel x86-64 CPU.

Float results on the CPU depend on the kernels the CPU's instruction set selects: ATen's vectorised kernels (AVX2
or AVX-512: other reduction orders, ``ATEN_CPU_CAPABILITY``), MKL's GEMM (``MKL_CBWR``, conditional numerical
reproducibility) and oneDNN's kernels (``ONEDNN_MAX_CPU_ISA``). The last bits they differ in are amplified by
training: the tiny recipe's fixed-length warm start ended at 68 % clean on an AVX2 CPU and 94 % on an AVX-512 one
(issue 23; measurements in ``docs/method.md``, "Same numbers on any x86-64 CPU").

`pin_cpu_numerics` sets each of these variables that the user has not set to its AVX2 level (the widest level
every x86-64 CPU of the last decade has, so every such CPU runs the same kernels). That holds across Intel CPUs
(measured: an AVX-512/AMX Xeon and an emulated AVX2 Haswell compute the same bytes). It does not on other vendors'
CPUs, measured on an AMD EPYC (Zen 3): MKL runs its AVX2 branch only on Intel CPUs (its documentation: branches
other than AUTO and COMPATIBLE are Intel-only; elsewhere it uses AUTO), so MKL's small and batched matrix products,
its ``exp`` and ``sqrt`` (AdamW's) compute other last bits there, and training ends elsewhere; `pin_cpu_numerics`
warns. ``MKL_CBWR=COMPATIBLE`` makes an emulated Intel and an emulated AMD CPU agree, but the AMD CPU itself still
computes ``sqrt`` unlike its emulation, and it costs 2.4 times the warm start's step time: not pinned
(``docs/method.md``, "The same numbers on any x86-64 CPU"). torch reads them at its first
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
INTEL_VENDOR = "GenuineIntel"  # the only vendor MKL runs its AVX2 branch on


def _cpuinfo_field(name: str) -> str | None:
    """The first ``name : value`` of /proc/cpuinfo on x86-64 Linux (None elsewhere or when absent)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return None
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip()
    return None


def _cpu_has_avx2() -> bool:
    return "avx2" in (_cpuinfo_field("flags") or "").split()


def cpu_vendor() -> str | None:
    """The CPU's vendor string (``GenuineIntel``, ``AuthenticAMD``, ...) on x86-64 Linux, else None."""
    return _cpuinfo_field("vendor_id")


def pin_cpu_numerics() -> dict[str, str]:
    """Set every variable of `PINNED_CPU_NUMERICS` the environment does not set (before torch computes
    anything); returns the variables it set. Warns when torch has already chosen another kernel level."""
    if os.environ.get(DISABLE_VARIABLE, "1").strip().lower() in ("0", "false", "no", "off"):
        return {}
    if not _cpu_has_avx2():
        return {}
    pinned = {name: value for name, value in PINNED_CPU_NUMERICS.items() if name not in os.environ}
    os.environ.update(pinned)
    vendor = cpu_vendor()
    if "MKL_CBWR" in pinned and vendor != INTEL_VENDOR:
        warnings.warn(
            f"roma.numerics: MKL runs its AVX2 branch (MKL_CBWR=AVX2) only on Intel CPUs; on this {vendor} CPU "
            "its matrix products, exp and sqrt compute other last bits, so training ends elsewhere than in roma's "
            "documented numbers (measured on Intel CPUs; docs/method.md, 'The same numbers on any x86-64 CPU').",
            stacklevel=2,
        )
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
    """The values of the kernel-selecting variables in this process, and the CPU's vendor where it is not Intel
    (part of the warm-start cache key)."""
    return {name: os.environ.get(name) for name in PINNED_CPU_NUMERICS} | non_intel_cpu_vendor()


def non_intel_cpu_vendor() -> dict[str, str]:
    """``{"cpu_vendor": VENDOR}`` on a CPU that is not Intel's, else nothing: what a pinned CPU result depends on
    beside the variables. MKL picks its own kernels there whatever MKL_CBWR says (above), so the same variables
    compute other weights: a result kept for reuse (a cached warm start, a study's finished stage) and made on one
    vendor's CPU must not be taken for the other's (a shared NFS home, a study folder copied to another machine).
    Intel CPUs, where the variables decide, keep the keys and records they had."""
    vendor = cpu_vendor()
    return {} if vendor is None or vendor == INTEL_VENDOR else {"cpu_vendor": vendor}


def available_cpu_cores() -> int:
    """The cores this process may run on (its CPU affinity where the platform reports one, else the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


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
