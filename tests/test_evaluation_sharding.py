"""Data-parallel sweeps (torchrun on CPU), the vLLM backend against a stand-in engine, and ``roma eval --plan``."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import test_evaluation_sweep
from PIL import Image

from roma.evaluation.backends import TransformersBackend
from roma.evaluation.errors import EvaluationError
from roma.evaluation.records import read_records
from roma.evaluation.sharding import Shard, finished_keys, shard_record_path, visible_devices
from roma.evaluation.sweep import SweepConfig, run_sweep

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS, CONDITIONS = test_evaluation_sweep.BENCHMARKS, test_evaluation_sweep.CONDITIONS
# 2 + 2 + 2 seed questions × 10 DynaMath variants, × clean + 2 corruptions × 2 severities.
TOTAL_RECORDS = 24 * 5
# The sweep tests' fixtures: the same benchmark fixtures, tiny backend and one torch thread.
one_torch_thread = test_evaluation_sweep.one_torch_thread
data_dir = test_evaluation_sweep.data_dir
backend = test_evaluation_sweep.backend


def sweep_settings(model: Path, out: Path, data_dir: Path, cache: Path) -> dict[str, object]:
    # avg@2 with sampling: any change of batch composition or seed between processes would show.
    return dict(
        model=str(model),
        out=str(out),
        benchmarks=BENCHMARKS,
        conditions=CONDITIONS,
        severities="1,5",
        data_dir=str(data_dir),
        max_samples=2,
        batch_size=1,
        max_new_tokens=8,
        num_samples_per_prompt=2,
        temperature=1.0,
        cache_dir=str(cache),
        device="cpu",
        dtype="float32",
        progress=False,
    )


def cli_args(settings: dict[str, object]) -> list[str]:
    return [part for name, value in settings.items() for part in (f"--{name}", str(value))]


def torchrun(settings: dict[str, object], processes: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"]
    return subprocess.Popen(
        [*command, "-m", "roma.cli", "eval", *cli_args(settings)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def worker_pid(launcher: int, rank: int) -> int | None:
    """The pid of the launcher's child process that runs ``rank`` (read from its environment), if started."""
    for task in Path(f"/proc/{launcher}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                environ = Path(f"/proc/{child}/environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if f"RANK={rank}".encode() in environ:
                return int(child)
    return None


class CountingBackend:
    """The real backend, counting the prompts it generates for."""

    name = "transformers"

    def __init__(self, inner: TransformersBackend):
        self.inner = inner
        self.generated = 0

    def prepare_inputs(self, requests):
        return self.inner.prepare_inputs(requests)

    def generate(self, requests, **kwargs):
        self.generated += len(requests)
        return self.inner.generate(requests, **kwargs)


def test_two_processes_merge_to_the_one_process_records_also_after_a_killed_shard(
    tiny_qwen3_vl_path, backend, data_dir, tmp_path
):
    cache = tmp_path / "cache"
    one = tmp_path / "one"
    run_sweep(SweepConfig(**sweep_settings(tiny_qwen3_vl_path, one, data_dir, cache)), backend=backend)
    reference = (one / "records.jsonl").read_bytes()
    assert len(read_records(one / "records.jsonl")) == TOTAL_RECORDS

    two = tmp_path / "two"
    settings = sweep_settings(tiny_qwen3_vl_path, two, data_dir, cache)
    launch = torchrun(settings, 2)
    shard_one = shard_record_path(two, 1)
    # Kill rank 1 with SIGKILL as soon as it has written a record (it has 60 batches: it is mid-sweep).
    while not (shard_one.exists() and shard_one.read_bytes().count(b"\n") >= 1):
        assert launch.poll() is None, launch.communicate()[0][-3000:]
        time.sleep(0.01)
    pid = worker_pid(launch.pid, 1)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    output = launch.communicate(timeout=300)[0]
    assert launch.returncode != 0, output[-3000:]  # the launcher stops rank 0 too
    assert not (two / "records.jsonl").exists()  # nothing merged
    written = len(read_records(shard_one))
    assert 1 <= written < TOTAL_RECORDS // 2
    snapshot = tmp_path / "snapshot"
    shutil.copytree(two, snapshot)

    # Resume with 2 processes: each shard continues; rank 0 merges into the one-process file, byte for byte.
    launch = torchrun(settings, 2)
    output = launch.communicate(timeout=600)[0]
    assert launch.returncode == 0, output[-3000:]
    assert (two / "records.jsonl").read_bytes() == reference
    assert not list((two / "shards").glob("*.jsonl"))
    results = [json.loads((run / "results.json").read_text()) for run in (one, two)]
    assert [result["run"].pop("out") for result in results] == [str(one), str(two)]
    assert results[0] == results[1]

    # Resume the killed state with 1 process instead: every finished record is reused, none is made twice.
    finished = finished_keys(snapshot)
    assert len(finished) >= written
    counting = CountingBackend(backend)
    run_sweep(
        SweepConfig(**sweep_settings(tiny_qwen3_vl_path, snapshot, data_dir, cache)),
        backend=counting,  # type: ignore[arg-type]
    )
    assert counting.generated == TOTAL_RECORDS - len(finished)  # batch size 1: one prompt per missing record
    assert (snapshot / "records.jsonl").read_bytes() == reference
    assert not list((snapshot / "shards").glob("*.jsonl"))


def test_shard_partition_and_launcher_environment():
    shards = [Shard(rank, 3) for rank in range(3)]
    owners = [[shard.owns(batch) for shard in shards] for batch in range(10)]
    assert all(row.count(True) == 1 for row in owners)  # every batch has exactly one owner
    assert [row.index(True) for row in owners] == [0, 1, 2, 0, 1, 2, 0, 1, 2, 0]
    assert Shard.from_env({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"}) == Shard(3, 4, 1)
    assert Shard.from_env({}) == Shard(0, 1, 0)
    with pytest.raises(EvaluationError, match="RANK=4 and WORLD_SIZE=4"):
        Shard.from_env({"RANK": "4", "WORLD_SIZE": "4"})
    with pytest.raises(EvaluationError, match="WORLD_SIZE='two' is not an integer"):
        Shard.from_env({"WORLD_SIZE": "two"})
    # 8 GPUs, tensor-parallel size 2: four data-parallel groups.
    assert [visible_devices(Shard(r, 4, r), 2, 8) for r in range(4)] == [[0, 1], [2, 3], [4, 5], [6, 7]]
    with pytest.raises(EvaluationError, match="launch at most 4 processes per node"):
        visible_devices(Shard(4, 5, 4), 2, 8)


# ---------------------------------------------------------------------------------------------- vLLM backend
class StandInVLLM:
    """A stand-in for the ``vllm`` module at its documented offline interface: ``LLM`` and ``SamplingParams``.

    vLLM cannot be installed on the CPU test machine; this records what the backend passes and answers
    every prompt with "Answer: B (response j)".
    """

    def __init__(self):
        self.engines: list[dict[str, object]] = []
        self.calls: list[tuple[list[dict[str, object]], dict[str, object]]] = []
        stand_in = self

        class SamplingParams:
            def __init__(self, *, n: int, temperature: float, max_tokens: int, seed: int):
                self.kwargs = {"n": n, "temperature": temperature, "max_tokens": max_tokens, "seed": seed}

        class LLM:
            def __init__(
                self,
                *,
                model: str,
                tensor_parallel_size: int,
                gpu_memory_utilization: float,
                limit_mm_per_prompt: dict[str, int],
                **kwargs: object,
            ):
                stand_in.engines.append(
                    {
                        "model": model,
                        "tensor_parallel_size": tensor_parallel_size,
                        "limit": limit_mm_per_prompt,
                    }
                    | kwargs
                )

            def generate(self, prompts, params, use_tqdm: bool = True):
                stand_in.calls.append((list(prompts), params.kwargs))
                completion = type("CompletionOutput", (), {})
                outputs = []
                for prompt in prompts:
                    texts = [f"Answer: B (response {j})" for j in range(params.kwargs["n"])]
                    outputs.append(
                        type(
                            "RequestOutput",
                            (),
                            {
                                "prompt": prompt["prompt"],
                                "outputs": [
                                    type("CompletionOutput", (completion,), {"text": text})()
                                    for text in texts
                                ],
                            },
                        )()
                    )
                return outputs

        self.LLM, self.SamplingParams = LLM, SamplingParams


def test_vllm_backend_passes_tensor_parallel_size_images_and_sampling(
    tiny_qwen3_vl_path, data_dir, tmp_path, monkeypatch
):
    import types

    stand_in = StandInVLLM()
    module = types.ModuleType("vllm")
    module.LLM, module.SamplingParams = stand_in.LLM, stand_in.SamplingParams
    monkeypatch.setitem(sys.modules, "vllm", module)
    config = SweepConfig(
        **sweep_settings(tiny_qwen3_vl_path, tmp_path / "run", data_dir, tmp_path / "cache")
        | {
            "backend": "vllm",
            "tensor_parallel_size": 2,
            "benchmarks": "mmmu_pro",
            "conditions": "clean",
            "batch_size": 2,
        }
    )
    run_sweep(config)
    assert stand_in.engines == [
        {
            "model": str(tiny_qwen3_vl_path),
            "tensor_parallel_size": 2,
            "limit": {"image": 8},
            "dtype": "float32",
        }
    ]
    ((prompts, sampling),) = stand_in.calls  # one batch of the two MMMU-Pro samples
    assert sampling == {"n": 2, "temperature": 1.0, "max_tokens": 8, "seed": sampling["seed"]}
    # One image: passed alone; the second sample's two images: as a list, in prompt order.
    images = [p["multi_modal_data"]["image"] for p in prompts]
    assert isinstance(images[0], Image.Image) and isinstance(images[1], list) and len(images[1]) == 2
    assert all(isinstance(image, Image.Image) for image in images[1])
    assert [p["prompt"].count("<|vision_start|>") for p in prompts] == [
        1,
        2,
    ]  # the chat template's placeholders
    records = read_records(tmp_path / "run" / "records.jsonl")
    assert [r.responses for r in records] == [["Answer: B (response 0)", "Answer: B (response 1)"]] * 2
    with pytest.raises(EvaluationError, match="tensor_parallel_size=2 needs --backend vllm"):
        SweepConfig(model="m", out="o", tensor_parallel_size=2)


# ------------------------------------------------------------------------------------ plan and budget cut
def test_condition_subset_is_seeded_ordered_and_keeps_variant_groups():
    from roma.evaluation.benchmarks import EvalSample
    from roma.evaluation.conditions import condition_subset

    samples = [EvalSample("b", f"s{i}", "q", "A") for i in range(6)] + [
        EvalSample("b", f"v{i}", "q", "A", group_id=f"g{i // 3}") for i in range(6)
    ]
    subset = condition_subset(samples, 4, seed=0, benchmark="b")
    assert subset == condition_subset(samples, 4, seed=0, benchmark="b")  # a pure function of its inputs
    assert [samples.index(s) for s in subset] == sorted(samples.index(s) for s in subset)
    assert 4 <= len(subset) < 4 + 3  # at most one group beyond the size
    for group in ("g0", "g1"):
        assert sum(s.group_id == group for s in subset) in (0, 3)  # a variant group is whole or absent
    assert {s.sample_id for s in condition_subset(samples, 4, 1, "b")} != {s.sample_id for s in subset} or (
        condition_subset(samples, 4, 2, "b") != subset
    )  # another seed draws another subset
    assert condition_subset(samples, 50, 0, "b") == samples
    with pytest.raises(EvaluationError, match="condition_sample must be >= 1"):
        condition_subset(samples, 0, 0, "b")


def test_plan_prints_counts_cache_and_projection_and_matches_the_sweep(
    tiny_qwen3_vl_path, backend, data_dir, tmp_path, capsys, monkeypatch
):
    from roma.cli import main as roma_main
    from roma.evaluation.plan import make_plan

    out, cache = tmp_path / "run", tmp_path / "cache"
    settings = sweep_settings(tiny_qwen3_vl_path, out, data_dir, cache) | {"condition_sample": 1}
    assert roma_main(["eval", "--plan", *cli_args(settings)]) == 0
    printed = capsys.readouterr().out
    # Clean keeps every sample; each of the 4 corrupted conditions gets 1 sample (DynaMath: one whole group of 10).
    assert "| mathvista | 2 | 1 | 6 | 0 | 6 |" in printed
    assert "| dynamath | 20 | 10 | 60 | 0 | 60 |" in printed
    assert (
        "| clean | clean | 24 | 0 | 24 |" in printed and "| motion_blur@5 | unseen | 12 | 0 | 12 |" in printed
    )
    assert "72 work items (144 generations at avg@2); 0 already in" in printed
    assert "Projected wall time: 1 process:" in printed and "8 processes:" in printed
    assert not (out / "records.jsonl").exists() and not cache.exists()  # the plan runs nothing
    saved = json.loads((out / "plan.json").read_text())
    assert saved["items"] == 72 and set(saved["timings"]) == {"mathvista", "mmmu_pro", "dynamath"}
    assert saved["projected_s"]["1"] > saved["projected_s"]["8"] > 0

    config = SweepConfig(**settings)
    run_sweep(config, backend=backend)
    records = read_records(out / "records.jsonl")
    assert len(records) == 72
    files = list(cache.rglob("*.npy"))
    # The cache the plan announced is the cache the sweep wrote, to the byte.
    assert (saved["cache"]["files"], saved["cache"]["bytes"]) == (
        len(files),
        sum(f.stat().st_size for f in files),
    )
    again = make_plan(config, calibrate=False)
    assert (again.to_run, again.cache.cached_files, again.projected_seconds()) == (0, len(files), None)

    # The cut is part of the run: resuming with another one is refused.
    assert roma_main(["eval", *cli_args(settings | {"condition_sample": 2})]) == 2
    assert "condition_sample=1" in capsys.readouterr().err
    # Under a launcher the plan refuses to run once per process.
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    assert roma_main(["eval", "--plan", *cli_args(settings)]) == 2
    assert "--plan runs in one process" in capsys.readouterr().err
