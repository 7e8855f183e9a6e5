"""Do roma's numbers depend on the CPU? Fingerprints of what determines them, on this CPU and on an emulated one.

    python bench/cross_cpu.py [--cpus Haswell-v4] [--warm_start_steps 2] [--jobs 2] [--json PATH]
        [--fingerprints data,corruptions,kernels,model,warm_start,generation] [--mkl_cbwr BRANCH]

Issue 23: the same recipe ended at 68 % clean on one x86-64 CPU and 94 % on another, because the float kernels a
CPU's instruction set selects (ATen, MKL, oneDNN, numpy, OpenCV) differ in their last bits and training amplifies
them. `roma.numerics.pin_cpu_numerics` pins torch's kernels to the AVX2 level; this script checks, on a CPU with
another instruction set, what comes out the same, bit for bit:

- ``data``: the synthetic rows the recipe reads (`tests/goldens.py`'s first rows of every split: pixels, question,
  answer) and the first ``--test_rows`` images of the test split the evaluations score;
- ``corruptions``: every registered corruption at severities 1-5 on the goldens' reference image and on a 95 × 127
  crop of it (an odd width: vectorised loops leave another tail on each row at each vector width), and each of the
  evaluation's seen and unseen corruptions at severity 3 on those test images, seeded;
- ``kernels``: single operations on fixed inputs at the tiny model's shapes (MKL's matrix products, large, small
  and batched, and its vectorised ``exp`` and ``sqrt``; ATen's softmax, SiLU, sums, attention; oneDNN's patch convolution; a
  linear layer's backward; an AdamW step), each its own digest: where a warm start moves, these say which library;
- ``model``: the default tiny model's initial weights (``roma-tiny/qwen3_vl-small``, built from its seed);
- ``warm_start``: its weights after ``--warm_start_steps`` optimiser steps of the recipe's warm start (batch 16,
  lr 1e-3, one thread), and the losses of those steps to every digit;
- ``generation``: that checkpoint's logits over the first test prompts (the evaluation's backend, one forward) and
  8 completions per prompt sampled at temperature 1 from a fixed seed, as GRPO's rollouts are: the inference paths
  (a key/value cache, one-token steps, the sampler) that training does not take.

A run is the same computation as another when all four agree: from equal weights, equal kernels compute every later
step equally. Each configuration runs in its own process: natively (this CPU, with and without roma's pin:
``ROMA_PIN_CPU_NUMERICS=0``) and under ``qemu-x86_64 -cpu MODEL`` (QEMU's user-mode emulator, Debian's
``qemu-user``): the child sees that CPU's CPUID, so every library picks the kernels it would pick on that CPU, and
QEMU computes them exactly (IEEE arithmetic in software). Emulation is ~400-1700× slower than the CPU for torch's
kernels (a warm-start step takes minutes), hence few steps. Each child prints the instruction sets its libraries
chose, so the table shows the emulated CPU is seen as the model named (``Haswell-v4``: AVX2 and FMA, no AVX-512).

``--fingerprints`` computes a subset (``data,kernels`` under emulation takes about a minute a configuration; the
warm start about 40). ``--mkl_cbwr BRANCH`` sets MKL's branch in every child (roma's pin leaves a set variable
alone): ``COMPATIBLE`` is the one branch MKL runs on CPUs of every vendor (its AVX2 branch only on Intel's).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from roma.numerics import DISABLE_VARIABLE, PINNED_CPU_NUMERICS, cpu_numerics, cpu_vendor

REPO = Path(__file__).resolve().parents[1]
_RESULT_PREFIX = "CROSS_CPU_RESULT "
FINGERPRINTS = ("data", "corruptions", "kernels", "model", "warm_start", "generation")
ITEMISED = ("corruptions", "kernels")  # a digest of many; the table names the items that moved
NATIVE = "native"


def _digest(parts: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _kernel_levels() -> dict[str, object]:
    """The instruction sets the libraries chose in this process (what the emulated CPUID made them see)."""
    import cv2
    import numpy as np
    import torch

    features = np._core._multiarray_umath.__cpu_features__
    return {
        "aten": torch.backends.cpu.get_cpu_capability(),
        "numpy_avx512": bool(features.get("AVX512F")),
        "numpy_avx2": bool(features.get("AVX2")),
        # OpenCV's CPU feature ids (core/cvdef.h): 11 is AVX2, 13 AVX-512F; the Python module names neither.
        "opencv_avx512": bool(cv2.checkHardwareSupport(13)),
        "pinned": cpu_numerics(),
    }


def _test_images_and_their_corruptions(rows: int) -> tuple[dict[str, str], dict[str, str]]:
    """Digests of the first ``rows`` synthetic test images, and of each evaluation corruption (seen and unseen,
    severity 3, seeded per image) over all of them."""
    import numpy as np

    from roma import degrade as D
    from roma.data.synthetic import make_synthetic_dataset

    sys.path.insert(0, str(REPO / "tests"))
    import goldens

    images = [np.asarray(row["image"].convert("RGB")) for row in make_synthetic_dataset("test", rows, seed=0)]
    data = {f"test/{index}": goldens.array_digest(image) for index, image in enumerate(images)}
    odd = goldens.reference_image()[:95, :127]
    corrupted = {
        f"odd/{name}@{severity}": goldens.array_digest(
            D.corrupt(odd, name, severity, D.rng_for("odd", name, severity))
        )
        for name in D.list_corruptions()
        for severity in range(1, 6)
    }
    for name in D.resolve_corruptions("seen,unseen"):
        outputs = [
            D.corrupt(image, name, 3, D.rng_for("cross_cpu", index, name))
            for index, image in enumerate(images)
        ]
        corrupted[f"test/{name}@3"] = _digest(
            {str(i): goldens.array_digest(out) for i, out in enumerate(outputs)}
        )
    return data, corrupted


def _kernel_fingerprints() -> dict[str, str]:
    """Digests of single operations on fixed inputs (one thread), at the tiny model's widths (128, 384; 4 heads)."""
    import torch
    import torch.nn.functional as F

    sys.path.insert(0, str(REPO / "tests"))
    import goldens

    generator = torch.Generator().manual_seed(0)
    x = torch.randn(320, 128, generator=generator)
    weight = torch.randn(384, 128, generator=generator)
    bias = torch.randn(384, generator=generator)
    heads = torch.randn(2, 4, 40, 32, generator=generator)
    patches = torch.randn(16, 3, 2, 16, 16, generator=generator)
    kernel = torch.randn(128, 3, 2, 16, 16, generator=generator)
    outputs = {
        "mkl/linear 320x128x384": lambda: F.linear(x, weight, bias),
        "mkl/matmul 16x64x24": lambda: x[:16, :64] @ weight[:24, :64].T,
        "mkl/bmm 4x80x128x128": lambda: torch.bmm(x.view(4, 80, 128), weight[:128].T.expand(4, 128, 128)),
        "mkl/exp": lambda: torch.exp(x),
        "mkl/sqrt": lambda: torch.sqrt(x.abs()),  # AdamW's denominator
        # ATen's op; its exp is MKL's vector math (on an Intel CPU it moves with MKL's branch)
        "aten/logsumexp": lambda: torch.logsumexp(x, -1),
        "aten/softmax": lambda: torch.softmax(x, -1),
        "aten/silu": lambda: F.silu(x),
        "aten/rsqrt": lambda: torch.rsqrt(x.abs() + 1),
        "aten/sum": lambda: x.sum(-1),
        "aten/attention (causal)": lambda: F.scaled_dot_product_attention(
            heads, heads * 0.5, heads + 1, is_causal=True
        ),
        "onednn/conv3d patch embedding": lambda: F.conv3d(patches, kernel, stride=(2, 16, 16)),
    }
    from roma.numerics import torch_threads

    digests = {}
    with torch_threads(1):
        for name, compute in outputs.items():
            digests[name] = goldens.array_digest(compute().numpy())
        inputs, weights = x.clone().requires_grad_(), weight.clone().requires_grad_()
        F.linear(inputs, weights).pow(2).sum().backward()
        digests["mkl/linear backward (input)"] = goldens.array_digest(inputs.grad.numpy())
        digests["mkl/linear backward (weight)"] = goldens.array_digest(weights.grad.numpy())
        parameter = torch.nn.Parameter(weight.clone())
        parameter.grad = bias.repeat(128, 1).T.contiguous()  # a fixed gradient: the step alone is compared
        torch.optim.AdamW([parameter], lr=1e-3).step()
        digests["aten/adamw step"] = goldens.array_digest(parameter.detach().numpy())
    return digests


def _generation_digest(checkpoint: Path, rows: int) -> str:
    """Logits of one forward over the first ``rows`` test prompts, and 8 sampled completions each (temperature 1)."""
    import torch

    from roma.data.prompts import build_conversation
    from roma.data.synthetic import make_synthetic_dataset
    from roma.evaluation.backends import GenerationRequest, TransformersBackend

    backend = TransformersBackend(checkpoint, max_new_tokens=16, device="cpu", dtype="float32")
    requests = [
        GenerationRequest(build_conversation(row["question"]), [row["image"].convert("RGB")])
        for row in make_synthetic_dataset("test", rows, seed=0)
    ]
    with torch.inference_mode():
        logits = backend.model(**backend.encode(requests)).logits
    sampled = backend.generate_ids(requests, num_samples=8, temperature=1.0, seed=0)
    return _digest({"logits": hashlib.sha256(logits.numpy().tobytes()).hexdigest(), "sampled": repr(sampled)})


def _model_fingerprints(warm_start_steps: int, wanted: set[str], result: dict, timings: dict) -> None:
    """The tiny model's initial weights; with ``warm_start`` (or ``generation``, which samples from it) its weights
    after ``warm_start_steps`` steps of the recipe's warm start, their losses, and that checkpoint's generations."""
    from roma.models import resolve_model
    from roma.numerics import torch_threads
    from roma.scripts.warm_start import WarmStartConfig, warm_start

    with tempfile.TemporaryDirectory(prefix="roma-cross-cpu-") as tmp:
        base = Path(resolve_model("roma-tiny/qwen3_vl-small", cache_dir=tmp))
        result["model"] = _file_sha256(base / "model.safetensors")
        if not {"warm_start", "generation"} & wanted:
            return
        config = WarmStartConfig(
            steps=warm_start_steps, batch_size=16, learning_rate=1e-3, seed=0, cpu_threads=1
        )
        step_started = time.perf_counter()
        folder = warm_start(base, config, cache_dir=Path(tmp) / "warm_start")
        timings["warm_start"] = time.perf_counter() - step_started
        result["warm_start"] = _file_sha256(folder / "model.safetensors")
        history = json.loads((folder / "warm_start.json").read_text())["loss_history"]
        result["losses"] = [[int(step), repr(float(loss))] for step, loss in history]
        if "generation" in wanted:
            step_started = time.perf_counter()
            with torch_threads(1):
                result["generation"] = _generation_digest(folder, rows=4)
            timings["generation"] = time.perf_counter() - step_started


def _child(warm_start_steps: int, test_rows: int, fingerprints: tuple[str, ...] = FINGERPRINTS) -> dict:
    """The fingerprints asked for, computed in this process (run under the emulator or natively by `_run_child`)."""
    from roma.numerics import pin_cpu_numerics

    pin_cpu_numerics()  # before torch computes anything, as every roma entry point does
    sys.path.insert(0, str(REPO / "tests"))
    import goldens

    wanted = set(fingerprints)
    result: dict = {}
    timings: dict[str, float] = {}
    if {"data", "corruptions"} & wanted:
        started = time.perf_counter()
        test_images, test_corruptions = _test_images_and_their_corruptions(test_rows)
        result["data"] = _digest({**goldens.synthetic_fingerprints(), **test_images})
        result["corruptions_each"] = {**goldens.corruption_fingerprints(), **test_corruptions}
        result["corruptions"] = _digest(result["corruptions_each"])
        timings["data_and_corruptions"] = time.perf_counter() - started
    if "kernels" in wanted:
        result["kernels_each"] = _kernel_fingerprints()
        result["kernels"] = _digest(result["kernels_each"])
    if {"model", "warm_start", "generation"} & wanted:
        _model_fingerprints(warm_start_steps, wanted, result, timings)
    result["levels"] = _kernel_levels()
    result["seconds"] = timings
    return result


def unknown_cpu_models(requested: list[str], qemu_help: str) -> list[str]:
    """The requested models that ``qemu-x86_64 -cpu help`` (its text: ``x86 <model> ...`` lines) does not list."""
    known = {
        line.split()[1]
        for line in qemu_help.splitlines()
        if line.startswith("x86 ") and len(line.split()) > 1
    }
    return [cpu for cpu in requested if cpu not in known]


def configurations(cpus: list[str]) -> list[tuple[str, bool]]:
    """(cpu, pinned) pairs, this CPU first: the reference every other row is compared with."""
    return [(cpu, pinned) for cpu in [NATIVE, *cpus] for pinned in (True, False)]


def _run_child(
    cpu: str,
    pinned: bool,
    warm_start_steps: int,
    test_rows: int,
    fingerprints: tuple[str, ...] = FINGERPRINTS,
    mkl_cbwr: str | None = None,
) -> dict:
    env = {
        key: value for key, value in os.environ.items() if key not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
    }
    for name in (*PINNED_CPU_NUMERICS, DISABLE_VARIABLE):
        env.pop(name, None)  # the child decides, through roma's pin or its absence
    if not pinned:
        env[DISABLE_VARIABLE] = "0"
    if mkl_cbwr:
        env["MKL_CBWR"] = mkl_cbwr  # set by the user, so roma's pin leaves it
    env.update(
        NO_ALBUMENTATIONS_UPDATE="1",
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
    )
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        "--warm_start_steps",
        str(warm_start_steps),
    ]
    command += ["--test_rows", str(test_rows), "--fingerprints", ",".join(fingerprints)]
    if cpu != NATIVE:
        command = ["qemu-x86_64", "-cpu", cpu, *command]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=str(REPO), capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith(_RESULT_PREFIX)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(
            f"the child on {cpu} (pinned={pinned}) failed (exit {done.returncode}):\n{done.stderr[-3000:]}"
        )
    result = json.loads(lines[-1][len(_RESULT_PREFIX) :])
    result.update(cpu=cpu, pinned=pinned, wall_s=time.perf_counter() - started)
    return result


def compare(rows: list[dict]) -> list[dict]:
    """Each row's fingerprints against the first row's (this CPU, pinned): which agree, and which corruptions and
    kernels moved."""
    reference = rows[0]
    compared = [name for name in (*FINGERPRINTS, "losses") if name in reference]
    for row in rows:
        row["same"] = {name: row[name] == reference[name] for name in compared}
        row["moved"] = {
            name: sorted(
                key
                for key, digest in reference[f"{name}_each"].items()
                if row[f"{name}_each"].get(key) != digest
            )
            for name in ITEMISED
            if f"{name}_each" in reference
        }
    return rows


def format_table(rows: list[dict], warm_start_steps: int, this_cpu: str | None = None) -> str:
    reference = rows[0]
    shown = [name for name in FINGERPRINTS if name in reference]
    title = f"Fingerprints against this CPU ({this_cpu or 'vendor unknown'}) with roma's pin (first row)"
    if "warm_start" in reference:
        title += f"; warm start: {warm_start_steps} steps"
    lines = [
        title,
        f"  {'cpu':<12} {'pin':<4} {'MKL_CBWR':<11} {'ATen':<8} {'AVX-512 (numpy/cv2)':<20} "
        + " ".join(f"{name:<12}" for name in (*shown, *(["losses"] if "losses" in reference else [])))
        + " wall",
    ]
    for row in rows:
        levels = row["levels"]
        cells = [f"{row[name][:8]}{'=' if row['same'][name] else '≠':<4}" for name in shown]
        if "losses" in reference:
            cells.append(f"{row['losses'][-1][1][:10]}{'=' if row['same']['losses'] else '≠'}")
        avx512 = f"{'yes' if levels['numpy_avx512'] else 'no'}/{'yes' if levels['opencv_avx512'] else 'no'}"
        mkl = levels["pinned"].get("MKL_CBWR") or "-"
        lines.append(
            f"  {row['cpu']:<12} {'yes' if row['pinned'] else 'no':<4} {mkl:<11} {levels['aten']:<8} {avx512:<20} "
            + " ".join(f"{cell:<12}" for cell in cells)
            + f" {row['wall_s'] / 60:.1f} min"
        )
        for name, moved in row["moved"].items():
            if moved:
                lines.append(f"      {name} that moved: {', '.join(moved)}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--cpus",
        default="Haswell-v4",
        help="Comma-separated QEMU CPU models to emulate (`qemu-x86_64 -cpu help`); empty: this CPU only.",
    )
    parser.add_argument(
        "--warm_start_steps",
        type=int,
        default=2,
        help="Warm-start optimiser steps compared (2 or more: the first trains at learning rate 0, the warm-up's start).",
    )
    parser.add_argument("--test_rows", type=int, default=32, help="Synthetic test images fingerprinted.")
    parser.add_argument("--jobs", type=int, default=2, help="Configurations run at once (one core each).")
    parser.add_argument(
        "--fingerprints",
        default=",".join(FINGERPRINTS),
        help=f"Comma-separated subset of {', '.join(FINGERPRINTS)} (generation samples from the warm start's checkpoint).",
    )
    parser.add_argument(
        "--mkl_cbwr",
        help="MKL's code branch in every child (e.g. COMPATIBLE, the one MKL runs on every vendor's CPU); "
        "unset: roma's pin (AVX2) in the pinned rows.",
    )
    parser.add_argument("--json", help="Also write the results here.")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    fingerprints = tuple(name.strip() for name in args.fingerprints.split(",") if name.strip())
    unknown = sorted(set(fingerprints) - set(FINGERPRINTS))
    if unknown or not fingerprints:
        parser.error(
            f"--fingerprints: {', '.join(unknown) or 'none given'}; choose from {', '.join(FINGERPRINTS)}"
        )
    if args.child:
        print(
            _RESULT_PREFIX + json.dumps(_child(args.warm_start_steps, args.test_rows, fingerprints)),
            flush=True,
        )
        return
    cpus = [cpu for cpu in args.cpus.split(",") if cpu.strip()]
    if cpus and shutil.which("qemu-x86_64") is None:
        parser.error(
            "emulating a CPU needs qemu-x86_64 (Debian: apt-get install qemu-user); --cpus '' runs none"
        )
    if cpus:
        listed = subprocess.run(["qemu-x86_64", "-cpu", "help"], capture_output=True, text=True).stdout
        unknown = unknown_cpu_models(cpus, listed)
        if unknown:
            parser.error(
                f"--cpus: qemu-x86_64 has no CPU model {', '.join(unknown)} (see `qemu-x86_64 -cpu help`)"
            )
    todo = configurations(cpus)
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        rows = list(
            pool.map(
                lambda item: _run_child(
                    *item, args.warm_start_steps, args.test_rows, fingerprints, args.mkl_cbwr
                ),
                todo,
            )
        )
    rows = compare(rows)
    this_cpu = cpu_vendor()
    print(format_table(rows, args.warm_start_steps, this_cpu))
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "warm_start_steps": args.warm_start_steps,
                    "this_cpu": this_cpu,
                    "mkl_cbwr": args.mkl_cbwr,
                    "rows": rows,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
