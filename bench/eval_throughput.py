"""Throughput of the robustness sweep against a plain generation loop over the same samples and model.

    python bench/eval_throughput.py [--json PATH] [--model PATH | --size tiny|small] [--samples 24]
        [--conditions clean,gaussian_blur,jpeg_compression,low_resolution,motion_blur] [--severities 3]
        [--image_size 0] [--batch_size 8] [--max_new_tokens 32] [--device auto]

Both sides generate, greedily, for the same (sample, condition) prompts with the same loaded model and batch
size. The plain loop gets its corrupted images ready-made in memory and does only processor + ``generate``
+ decode. The sweep does everything it does in real use: decode images from the dataset, corrupt them (cold
cache: compute and store them; warm cache: read them back), grade, append + fsync JSONL records, progress
bars. Overhead = plain samples/s ÷ sweep samples/s (target ≤ 1.1). The reports written at the end of a sweep
(tables and plots: a fixed cost per sweep, not per sample) are timed separately.

Order: a warm-up, then ``--rounds`` interleaved rounds of plain / sweep with a cold cache / sweep with that
cache warm; medians over rounds, so a drift in machine load does not favour either side. Wall-clock and
process CPU time are both reported (CPU time is steadier on a shared machine). Images: the bundled synthetic task (64×64)
by default; ``--image_size N`` serves real photos (scikit-image) at N×N through a benchmark registered here,
which makes corruption cost more, as on real benchmarks.

``--processes N`` (N > 1) measures data-parallel sweeps instead: the same sweep (the synthetic task) launched
with ``torchrun --nproc_per_node N`` and with one process, each process on ``--threads`` torch threads
(default 1); it reports the throughput ratio and checks that the merged ``records.jsonl`` is byte-identical to
the one-process file. Then it launches N processes again, kills rank 1 with SIGKILL once it has written
``--kill_after`` records, resumes with N processes and checks the result is again byte-identical, with no
record lost or written twice. Wall times are whole launches (Python and model start-up included); the
fixed cost of a launch, timed by rerunning a finished sweep, is also reported and subtracted.
"""

from __future__ import annotations

import os

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import argparse  # noqa: E402
import functools  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from roma.evaluation.backends import GenerationRequest, TransformersBackend  # noqa: E402
from roma.evaluation.benchmarks import Benchmark, LoadedSplit, get_benchmark, register_benchmark  # noqa: E402
from roma.evaluation.conditions import CorruptedImageCache, parse_severities, resolve_conditions  # noqa: E402
from roma.evaluation.reports import write_reports  # noqa: E402
from roma.evaluation.sweep import run_sweep  # noqa: E402
from roma.evaluation.sweep_config import SweepConfig  # noqa: E402

PHOTO_SIZE = {"value": 448}


@functools.cache
def encoded_photos(size: int) -> tuple[bytes, ...]:
    """Four scikit-image photos at ``size`` × ``size``, PNG-encoded.

    Encoded once per process, not per load: a benchmark's parquet holds encoded bytes, so encoding is the
    dataset author's cost, not the sweep's (each load still builds the dataset and decodes what it uses).
    """
    from PIL import Image
    from skimage import data as photos

    encoded = []
    for source in (photos.astronaut, photos.coffee, photos.chelsea, photos.rocket):
        buffer = io.BytesIO()
        Image.fromarray(source()).convert("RGB").resize((size, size)).save(buffer, format="PNG")
        encoded.append(buffer.getvalue())
    return tuple(encoded)


@register_benchmark
class BenchPhotos(Benchmark):
    """Real photos at ``PHOTO_SIZE`` × ``PHOTO_SIZE`` with a trivial question: a stand-in for benchmark images."""

    name = "bench_photos"
    description = "benchmark-only: scikit-image photos at a chosen size"
    num_samples = 24

    def load_splits(self):
        import datasets

        size = PHOTO_SIZE["value"]
        images = [{"bytes": encoded, "path": None} for encoded in encoded_photos(size)]
        count = getattr(self, "_count", self.num_samples)
        rows = {
            "id": [f"photo-{i}" for i in range(count)],
            "question": ["How many animals are in the picture? Options: A. 0, B. 1, C. 2"] * count,
            "image": [images[i % len(images)] for i in range(count)],
            "answer": ["B"] * count,
        }
        dataset = datasets.Dataset.from_dict(
            rows,
            features=datasets.Features(
                {
                    "id": datasets.Value("string"),
                    "question": datasets.Value("string"),
                    "image": datasets.Image(),
                    "answer": datasets.Value("string"),
                }
            ),
        )
        return {"test": LoadedSplit("test", dataset, f"scikit-image photos {size}x{size}", [])}

    def load(self, max_samples=None):
        self._count = max_samples or self.num_samples
        return super().load(max_samples)

    def to_sample(self, row, split, index):
        return self.make_sample(
            row, split, index, question=row["question"], gold=row["answer"], answer_type="multiple_choice"
        )


def plain_loop(backend: TransformersBackend, requests: list[GenerationRequest], batch_size: int) -> float:
    """Seconds for processor + greedy generate + decode over ``requests``, nothing else."""
    import torch

    model, processor = backend.model, backend.processor
    start = time.perf_counter()
    for i in range(0, len(requests), batch_size):
        chunk = requests[i : i + batch_size]
        texts = [
            processor.apply_chat_template(r.conversation, add_generation_prompt=True, tokenize=False)
            for r in chunk
        ]
        images = [image for r in chunk for image in r.images]
        batch = processor(text=texts, images=images, padding=True, return_tensors="pt").to(backend.device)
        with torch.inference_mode():
            output = model.generate(**batch, max_new_tokens=backend.max_new_tokens, do_sample=False)
        processor.batch_decode(output[:, batch["input_ids"].shape[1] :], skip_special_tokens=True)
    return time.perf_counter() - start


def launch_sweep(processes: int, sweep_args: list[str], threads: int) -> subprocess.Popen:
    """``torchrun --standalone --nproc_per_node processes -m roma.cli eval ...``, output captured."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"]
    return subprocess.Popen(
        [*command, "-m", "roma.cli", "eval", *sweep_args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(launch: subprocess.Popen) -> None:
    output = launch.communicate()[0]
    if launch.returncode != 0:
        raise SystemExit(f"the launch failed ({launch.returncode}):\n{output[-4000:]}")


def rank_pid(launcher: int, rank: int) -> int | None:
    """The pid of the launcher's worker process running ``rank`` (Linux: /proc), if started."""
    for task in Path(f"/proc/{launcher}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                if f"RANK={rank}".encode() in Path(f"/proc/{child}/environ").read_bytes().split(b"\0"):
                    return int(child)
            except OSError:
                continue
    return None


def data_parallel(args: argparse.Namespace) -> dict[str, Any]:
    """Throughput of N processes against one on the same sweep; merged records and a kill-and-resume checked."""
    from roma.evaluation.records import read_records
    from roma.evaluation.sharding import shard_record_path

    with tempfile.TemporaryDirectory(prefix="roma-eval-dp-bench-") as scratch:
        scratch = Path(scratch)
        model_path = args.model
        if model_path is None:
            from roma.models.tiny import build_tiny_model

            model_path = str(build_tiny_model("qwen3_vl", scratch / "model", size=args.size, seed=0))

        def sweep_args(out: Path) -> list[str]:
            options = {
                "model": model_path,
                "out": out,
                "benchmarks": "synthetic",
                "conditions": args.conditions,
                "severities": args.severities,
                "max_samples": args.samples,
                "batch_size": args.batch_size,
                "max_new_tokens": args.max_new_tokens,
                "device": "cpu" if args.device == "auto" else args.device,
                "cache_dir": scratch / "cache",
                "progress": "false",
            }
            return [part for name, value in options.items() for part in (f"--{name}", str(value))]

        # Warm the image cache first, so both timed launches read it alike.
        finish(launch_sweep(1, sweep_args(scratch / "warm-up"), args.threads))
        wall: dict[str, float] = {}
        fixed: dict[str, float] = {}
        for processes in (1, args.processes):
            for timings in (wall, fixed):
                # The second launch finds every record done: its wall time is the fixed cost of a launch
                # (Python and torch imports, model and data loading, merge, reports).
                start = time.perf_counter()
                finish(launch_sweep(processes, sweep_args(scratch / f"p{processes}"), args.threads))
                timings[str(processes)] = time.perf_counter() - start
        reference = (scratch / "p1" / "records.jsonl").read_bytes()
        identical = (scratch / f"p{args.processes}" / "records.jsonl").read_bytes() == reference

        killed = scratch / "killed"
        launch = launch_sweep(args.processes, sweep_args(killed), args.threads)
        shard = shard_record_path(killed, 1)
        while not (shard.exists() and shard.read_bytes().count(b"\n") >= args.kill_after):
            if launch.poll() is not None:
                raise SystemExit("the sweep ended before rank 1 wrote --kill_after records: raise --samples")
            time.sleep(0.01)
        os.kill(rank_pid(launch.pid, 1), signal.SIGKILL)
        launch.communicate()
        written_before_kill = len(read_records(shard))
        finished_before_resume = sum(
            len(read_records(path)) for path in sorted((killed / "shards").glob("records.rank*.jsonl"))
        )
        finish(launch_sweep(args.processes, sweep_args(killed), args.threads))
        lines = (killed / "records.jsonl").read_bytes().count(b"\n")
        records = len(read_records(killed / "records.jsonl"))
        resumed_identical = (killed / "records.jsonl").read_bytes() == reference
    return {
        "model": args.model or f"tiny qwen3_vl ({args.size}, random weights)",
        "processes": args.processes,
        "threads_per_process": args.threads,
        "work_items": records,
        "wall_s": wall,
        "fixed_s": fixed,
        "samples_per_s": {p: records / seconds for p, seconds in wall.items()},
        "throughput_ratio": wall["1"] / wall[str(args.processes)],
        "throughput_ratio_without_fixed_cost": (wall["1"] - fixed["1"])
        / (wall[str(args.processes)] - fixed[str(args.processes)]),
        "merged_records_identical": identical,
        "kill": {
            "rank_1_records_at_kill": written_before_kill,
            "records_on_disk_before_resume": finished_before_resume,
            "records_after_resume": records,
            "lines_after_resume": lines,
            "identical_to_one_process": resumed_identical,
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    parser.add_argument(
        "--model", default=None, help="checkpoint to use (default: build a tiny Qwen3-VL of --size)"
    )
    parser.add_argument(
        "--size", default="small", choices=("tiny", "small"), help="size of the built checkpoint"
    )
    parser.add_argument("--samples", type=int, default=24, help="samples per condition")
    parser.add_argument(
        "--conditions", default="clean,gaussian_blur,jpeg_compression,low_resolution,motion_blur"
    )
    parser.add_argument("--severities", default="3")
    parser.add_argument(
        "--image_size", type=int, default=0, help="0: synthetic task (64x64); N: real photos at NxN"
    )
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--max_new_tokens", type=int, default=32)
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved rounds of plain / cold / warm; medians reported"
    )
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument(
        "--processes", type=int, default=1, help="N > 1: data-parallel sweeps with N processes against one"
    )
    parser.add_argument(
        "--kill_after", type=int, default=2, help="--processes: kill rank 1 after this many records"
    )
    args = parser.parse_args(argv)
    if args.processes > 1:
        args.threads = args.threads or 1
        figures = data_parallel(args)
        print(json.dumps(figures, indent=2))
        if args.json is not None:
            args.json.write_text(json.dumps(figures, indent=2) + "\n")
        return 0

    with tempfile.TemporaryDirectory(prefix="roma-eval-bench-") as scratch:
        scratch = Path(scratch)
        model_path = args.model
        if model_path is None:
            from roma.models.tiny import build_tiny_model

            model_path = str(build_tiny_model("qwen3_vl", scratch / "model", size=args.size, seed=0))
        benchmark_name = "synthetic"
        if args.image_size:
            PHOTO_SIZE["value"] = args.image_size
            benchmark_name = "bench_photos"
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        backend = TransformersBackend(model_path, max_new_tokens=args.max_new_tokens, device=args.device)

        # The plain loop's inputs: the same samples and corrupted images, prepared up front and not timed.
        data = get_benchmark(benchmark_name).load(args.samples)
        conditions = resolve_conditions(args.conditions, parse_severities(args.severities))
        cache = CorruptedImageCache(scratch / "plain_cache")
        from roma.data.prompts import build_conversation

        requests = [
            GenerationRequest(
                build_conversation(s.question, len(s.images)),
                [
                    cache.get(im, data.benchmark, s.sample_id, k, c)
                    for k, im in enumerate(data.load_images(s))
                ],
            )
            for c in conditions
            for s in data
        ]
        total = len(requests)
        plain_loop(backend, requests[: args.batch_size], args.batch_size)  # warm-up

        def timed(fn, *fn_args) -> tuple[float, float]:
            wall, cpu = time.perf_counter(), time.process_time()
            fn(*fn_args)
            return time.perf_counter() - wall, time.process_time() - cpu

        def sweep(out: Path, cache_dir: Path) -> None:
            config = SweepConfig(
                model=model_path,
                out=str(out),
                benchmarks=benchmark_name,
                conditions=args.conditions,
                severities=args.severities,
                max_samples=args.samples,
                batch_size=args.batch_size,
                max_new_tokens=args.max_new_tokens,
                cache_dir=str(cache_dir),
                progress=False,
                report=False,
            )
            run_sweep(config, backend=backend)

        runs: dict[str, list[tuple[float, float]]] = {"plain": [], "cold": [], "warm": [], "reports": []}
        for round_index in range(args.rounds):
            # Interleaved rounds: a change in machine load hits every mode alike.
            runs["plain"].append(timed(plain_loop, backend, requests, args.batch_size))
            round_dir = scratch / f"round{round_index}"
            runs["cold"].append(timed(sweep, round_dir / "cold", round_dir / "cache"))
            runs["warm"].append(timed(sweep, round_dir / "warm", round_dir / "cache"))
            # The reports (tables, plots) are a fixed cost per sweep, not per sample: timed on their own.
            runs["reports"].append(timed(write_reports, round_dir / "warm"))

    def median(values: list[float]) -> float:
        return statistics.median(values)

    wall = {mode: median([r[0] for r in values]) for mode, values in runs.items()}
    cpu = {mode: median([r[1] for r in values]) for mode, values in runs.items()}
    figures: dict[str, Any] = {
        "model": args.model or f"tiny qwen3_vl ({args.size}, random weights)",
        "device": backend.device,
        "images": f"{args.image_size}x{args.image_size} photos" if args.image_size else "synthetic 64x64",
        "conditions": [c.name for c in conditions],
        "prompts": total,
        "batch_size": args.batch_size,
        "max_new_tokens": args.max_new_tokens,
        "rounds": args.rounds,
        "plain_samples_per_s": total / wall["plain"],
        "sweep_cold_cache_samples_per_s": total / wall["cold"],
        "sweep_warm_cache_samples_per_s": total / wall["warm"],
        "overhead_cold_cache": wall["cold"] / wall["plain"],
        "overhead_warm_cache": wall["warm"] / wall["plain"],
        "cpu_overhead_cold_cache": cpu["cold"] / cpu["plain"],
        "cpu_overhead_warm_cache": cpu["warm"] / cpu["plain"],
        "added_ms_per_prompt_cold_cache": 1000 * (wall["cold"] - wall["plain"]) / total,
        "added_ms_per_prompt_warm_cache": 1000 * (wall["warm"] - wall["plain"]) / total,
        "plain_ms_per_prompt": 1000 * wall["plain"] / total,
        "reports_s": wall["reports"],
        "wall_s": {mode: [round(r[0], 3) for r in values] for mode, values in runs.items()},
        "cpu_s": {mode: [round(r[1], 3) for r in values] for mode, values in runs.items()},
        "target_overhead": 1.1,
    }
    print(
        f"{total} prompts x {args.rounds} rounds ({figures['images']}, batch {args.batch_size}, "
        f"{args.max_new_tokens} new tokens, {backend.device}); medians over rounds\n"
        f"  plain generation loop : {figures['plain_samples_per_s']:8.2f} samples/s\n"
        f"  sweep, cold cache     : {figures['sweep_cold_cache_samples_per_s']:8.2f} samples/s  overhead "
        f"{figures['overhead_cold_cache']:.3f}x wall, {figures['cpu_overhead_cold_cache']:.3f}x CPU time\n"
        f"  sweep, warm cache     : {figures['sweep_warm_cache_samples_per_s']:8.2f} samples/s  overhead "
        f"{figures['overhead_warm_cache']:.3f}x wall, {figures['cpu_overhead_warm_cache']:.3f}x CPU time\n"
        f"  added per prompt      : {figures['added_ms_per_prompt_cold_cache']:.2f} ms cold, "
        f"{figures['added_ms_per_prompt_warm_cache']:.2f} ms warm (generation: {figures['plain_ms_per_prompt']:.2f} ms)\n"
        f"  reports at the end    : {wall['reports']:.2f} s once per sweep (not included above)\n"
        f"  target overhead <= 1.1x;  wall s per round: {figures['wall_s']}"
    )
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
