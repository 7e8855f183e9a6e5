"""Step-time overhead of ROMA over GRPO, measured in one run.

For the same model, data and seed: the median training-step time of `GRPOTrainer` and of `RomaGRPOTrainer` with
K = 1, 2, 4 views, the time of one teacher-forced forward + backward over the batch (T_fb), and peak memory.

    overhead(K) = (T_roma(K) − T_grpo) / (K · T_fb)        target ≤ 1.2

i.e. ROMA should cost nothing beyond the K teacher-forced passes the method needs. Every completion is rewarded
as correct so that every row is regularised (the worst case; incorrect rows skip the extra pass).

    python bench/step_overhead.py [--json PATH] [--model tiny|qwen3_vl_2b|qwen3_vl_4b] [--views 1,2,4] [--steps 8]

``--model qwen3_vl_2b`` / ``qwen3_vl_4b`` builds a Qwen3-VL-2B- / 4B-sized architecture (the published sizes,
`QWEN3_VL_SHAPES`) with random weights in bf16 (GPU only).

``--memory`` measures instead the CPU peak resident memory of GRPO, ROMA with the sampled-token ``k3`` estimator
and ROMA with the ``full`` (exact, chunked) estimator on the tiny model widened to Qwen's vocabulary (151,936),
each configuration in its own process (peak RSS, ``VmHWM``, is per process). Target: ``full`` ≤ 1.5 × GRPO.

``--views_memory`` measures the peak memory of the views pass alone (forward + backward of the ROMA terms on one
batch, every completion correct) against K, with all K·|S| rows in one forward and with ``roma_views_micro_batch``
= |S| (``--micro_batch`` to change it), each (K, chunking) in its own process, on the same wide-vocabulary tiny
model (GPU memory where a GPU is present). Target: chunked peak flat in K, within 1.5 × the K = 1 pass.

    python bench/step_overhead.py --views_memory --views 1,4,16 [--batch_size 4] [--completion_length 16]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from datasets import Dataset  # noqa: E402
from PIL import Image  # noqa: E402
from transformers import PrinterCallback  # noqa: E402

# Qwen2-VL / Qwen2.5-VL / Qwen3-VL vocabulary size (embedding rows).
QWEN_VOCAB_SIZE = 151936


def always_correct(completions, **kwargs):
    return [1.0] * len(completions)


def _dataset(num_rows: int, image_size: int) -> Dataset:
    from roma.data.prompts import build_conversation

    rng = np.random.default_rng(0)
    return Dataset.from_list(
        [
            {
                "id": f"bench-{i}",
                "prompt": build_conversation(f"Describe picture {i}."),
                "image": Image.fromarray(rng.integers(0, 256, (image_size, image_size, 3), dtype=np.uint8)),
            }
            for i in range(num_rows)
        ]
    )


def _peak_memory_reset(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    else:
        with contextlib.suppress(OSError):  # Linux: writing 5 resets the peak resident set size (VmHWM)
            Path("/proc/self/clear_refs").write_text("5")


def _peak_memory_mib(device: str) -> float:
    """Peak memory since the last `_peak_memory_reset`: CUDA allocated, or the peak resident set (VmHWM)."""
    return _memory_mib(device, peak=True)


def _memory_mib(device: str, peak: bool) -> float:
    if device == "cuda":
        return (torch.cuda.max_memory_allocated() if peak else torch.cuda.memory_allocated()) / 2**20
    field = "VmHWM:" if peak else "VmRSS:"
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return float("nan")


# Qwen3-VL-2B- and 4B-Instruct's published sizes (the rest, vision tower included, is the same in both).
QWEN3_VL_SHAPES = {
    "qwen3_vl_2b": {"hidden_size": 2048, "intermediate_size": 6144, "num_hidden_layers": 28,
                    "num_attention_heads": 16, "num_key_value_heads": 8},
    "qwen3_vl_4b": {"hidden_size": 2560, "intermediate_size": 9728, "num_hidden_layers": 36,
                    "num_attention_heads": 32, "num_key_value_heads": 8},
}  # fmt: skip


def _model_and_processor(
    kind: str, workdir: Path, device: str, text_layers: int | None = None, vision_depth: int = 24
):
    """A model path (tiny) or (model, processor) objects (2B- or 4B-sized, random bf16 weights on the GPU)."""
    from roma.models.tiny import build_processor, build_tiny_model

    if kind == "tiny":
        return str(build_tiny_model("qwen3_vl", workdir / "tiny")), None
    from transformers import AutoModelForImageTextToText, Qwen3VLConfig

    processor = build_processor("qwen3_vl", "tiny")
    processor.image_processor.size = {"shortest_edge": 64 * 32 * 32, "longest_edge": 256 * 32 * 32}
    tokenizer = processor.tokenizer
    special = {
        "image_token_id": tokenizer.convert_tokens_to_ids("<|image_pad|>"),
        "video_token_id": tokenizer.convert_tokens_to_ids("<|video_pad|>"),
        "vision_start_token_id": tokenizer.convert_tokens_to_ids("<|vision_start|>"),
        "vision_end_token_id": tokenizer.convert_tokens_to_ids("<|vision_end|>"),
    }
    shape = QWEN3_VL_SHAPES[kind]
    config = Qwen3VLConfig(
        text_config=dict(
            vocab_size=151936,
            **{**shape, "num_hidden_layers": text_layers or shape["num_hidden_layers"]},
            head_dim=128,
            max_position_embeddings=32768,
            rope_parameters={
                "rope_type": "default",
                "rope_theta": 5_000_000.0,
                "mrope_section": [24, 20, 20],
                "mrope_interleaved": True,
            },
            tie_word_embeddings=True,
        ),
        vision_config=dict(
            depth=vision_depth,
            hidden_size=1024,
            intermediate_size=4096,
            num_heads=16,
            patch_size=16,
            spatial_merge_size=2,
            temporal_patch_size=2,
            out_hidden_size=shape["hidden_size"],
            num_position_embeddings=2304,
            deepstack_visual_indexes=[i for i in (5, 11, 17) if i < vision_depth],
        ),
        tie_word_embeddings=True,
        **special,
    )
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    with torch.device(device):
        model = AutoModelForImageTextToText.from_config(config, dtype=dtype, attn_implementation="sdpa")
    model.generation_config.eos_token_id = tokenizer.convert_tokens_to_ids("<|im_end|>")
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model, processor


def _trainer(
    model,
    processor,
    trainer_name: str,
    views: int,
    args: argparse.Namespace,
    workdir: Path,
    estimator: str = "k3",
    generation_kwargs: dict | None = None,
):
    from trl import GRPOTrainer

    from roma import RomaConfig, RomaGRPOTrainer

    on_gpu = torch.cuda.is_available() and args.model != "tiny"
    config = RomaConfig(
        output_dir=str(workdir / f"{trainer_name}-{views}"),
        use_cpu=not on_gpu,
        bf16=on_gpu,
        per_device_train_batch_size=args.batch_size,
        num_generations=args.batch_size // 2,
        max_completion_length=args.completion_length,
        max_steps=args.steps + args.warmup,
        learning_rate=1e-6,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        activation_checkpointing=on_gpu,
        seed=0,
        dataloader_num_workers=0,
        roma_num_views=max(views, 1),
        roma_kl_coef=0.1 if trainer_name == "roma" else 0.0,
        roma_aux_coef=0.1 if trainer_name == "roma" else 0.0,
        roma_kl_estimator=estimator,
        generation_kwargs=generation_kwargs,
        disable_tqdm=True,
        log_level="warning",
    )
    cls = RomaGRPOTrainer if trainer_name == "roma" else GRPOTrainer
    dataset = _dataset(4 * args.batch_size * (args.steps + args.warmup), args.image_size)
    trainer = cls(
        model=model,
        reward_funcs=always_correct,
        args=config,
        train_dataset=dataset,
        processing_class=processor,
    )
    trainer.remove_callback(PrinterCallback)  # the table below is the output
    return trainer


def _forward_backward_time(trainer, repeats: int) -> float:
    """Median time of one teacher-forced forward + backward of the policy over one training batch."""
    trainer.model.train()
    inputs = trainer._prepare_inputs(next(iter(trainer.get_train_dataloader())))
    input_ids = torch.cat([inputs["prompt_ids"], inputs["completion_ids"]], dim=1)
    attention_mask = torch.cat([inputs["prompt_mask"], inputs["completion_mask"]], dim=1)
    kwargs = {k: inputs[k] for k in ("pixel_values", "image_grid_thw", "num_images", "mm_token_type_ids")}
    times = []
    for _ in range(repeats + 1):
        _sync(trainer)
        start = time.perf_counter()
        with trainer.compute_loss_context_manager():
            logps, _, _ = trainer._get_per_token_logps_and_entropies(
                trainer.model, input_ids, attention_mask, inputs["completion_ids"].size(1), **kwargs
            )
        trainer.accelerator.backward(logps.sum() * 0.0 + logps.mean())
        _sync(trainer)
        times.append(time.perf_counter() - start)
        trainer.model.zero_grad(set_to_none=True)
    return statistics.median(times[1:])


def _sync(trainer) -> None:
    if trainer.accelerator.device.type == "cuda":
        torch.cuda.synchronize()


def run(args: argparse.Namespace) -> dict:
    device = "cuda" if torch.cuda.is_available() and args.model != "tiny" else "cpu"
    workdir = Path(tempfile.mkdtemp(prefix="roma-bench-"))
    model, processor = _model_and_processor(args.model, workdir, device, args.text_layers, args.vision_depth)
    configs = [("grpo", 0)] + [("roma", k) for k in args.views]
    results = {"model": args.model, "device": torch.cuda.get_device_name() if device == "cuda" else "cpu"}
    rows = []
    for trainer_name, views in configs:
        if isinstance(model, str) or trainer_name == "grpo":
            torch.manual_seed(0)
        trainer = _trainer(model, processor, trainer_name, views, args, workdir)
        _peak_memory_reset(device)
        trainer.train()
        step_times = [e["step_time"] for e in trainer.state.log_history if "step_time" in e][args.warmup :]
        row = {
            "trainer": trainer_name,
            "views": views,
            "median_step_s": statistics.median(step_times),
            "peak_memory_mib": _peak_memory_mib(device),
        }
        if trainer_name == "grpo":
            results["forward_backward_s"] = _forward_backward_time(trainer, args.repeats)
        rows.append(row)
        model = trainer.model if not isinstance(model, str) else model
        del trainer
    grpo = rows[0]["median_step_s"]
    for row in rows[1:]:
        row["overhead"] = (row["median_step_s"] - grpo) / (row["views"] * results["forward_backward_s"])
    results["rows"] = rows
    return results


MEMORY_CONFIGURATIONS = {"grpo": ("grpo", "k3"), "roma_k3": ("roma", "k3"), "roma_full": ("roma", "full")}


def _memory_child(name: str, args: argparse.Namespace) -> dict:
    """One configuration's training run on the tiny model with Qwen's vocabulary; its own peak RSS in MiB."""
    trainer_name, estimator = MEMORY_CONFIGURATIONS[name]
    model, processor, generation_kwargs = _wide_vocabulary_model()
    workdir = Path(tempfile.mkdtemp(prefix="roma-bench-memory-"))
    views = args.views[0]
    trainer = _trainer(model, processor, trainer_name, views, args, workdir, estimator, generation_kwargs)
    trainer.train()
    return {
        "configuration": name,
        "views": views if trainer_name == "roma" else 0,
        "peak_rss_mib": _peak_memory_mib("cpu"),
    }


def _wide_vocabulary_model():
    """The tiny Qwen3-VL with Qwen's vocabulary (random weights) and generation kept to the tiny tokenizer's tokens."""
    from transformers import AutoModelForImageTextToText

    from roma.models.tiny import build_config, build_processor, vision_token_ids

    processor = build_processor("qwen3_vl", "tiny")
    config = build_config("qwen3_vl", "tiny", tokenizer=processor.tokenizer)
    config.text_config.vocab_size = QWEN_VOCAB_SIZE
    torch.manual_seed(0)
    model = AutoModelForImageTextToText.from_config(config, dtype=torch.float32)
    model.generation_config.pad_token_id = processor.tokenizer.pad_token_id
    generation_kwargs = {
        "suppress_tokens": [*vision_token_ids(), *range(len(processor.tokenizer), QWEN_VOCAB_SIZE)]
    }
    return model, processor, generation_kwargs


def _views_memory_child(views: int, micro_batch: int, args: argparse.Namespace) -> dict:
    """Peak memory (MiB above the level before it) of one views pass, forward + backward, at K = ``views``."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model, processor, generation_kwargs = _wide_vocabulary_model()
    if device == "cuda":
        model = model.to(device)
    workdir = Path(tempfile.mkdtemp(prefix="roma-bench-views-"))
    trainer = _trainer(model, processor, "roma", views, args, workdir, "k3", generation_kwargs)
    trainer.args.use_cpu = device == "cpu"
    trainer.args.roma_views_micro_batch = micro_batch or None
    trainer.model.train()
    trainer.current_gradient_accumulation_steps = 1
    inputs = trainer._prepare_inputs(next(iter(trainer.get_train_dataloader())))
    input_ids = torch.cat([inputs["prompt_ids"], inputs["completion_ids"]], dim=1)
    attention_mask = torch.cat([inputs["prompt_mask"], inputs["completion_mask"]], dim=1)
    kwargs = {k: inputs[k] for k in ("pixel_values", "image_grid_thw", "num_images", "mm_token_type_ids")}
    with torch.no_grad():
        clean_logps, _, _ = trainer._get_per_token_logps_and_entropies(
            trainer.model, input_ids, attention_mask, inputs["completion_ids"].size(1), **kwargs
        )
    rows = int(inputs["roma_mask"].sum())
    before = _memory_mib(device, peak=False)
    _peak_memory_reset(device)
    trainer._roma_loss(trainer.model, inputs, clean_logps).backward()
    return {
        "views": views,
        "micro_batch": micro_batch,
        "view_rows": views * rows,
        "views_pass_peak_mib": _peak_memory_mib(device) - before,
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
    }


def run_views_memory(args: argparse.Namespace) -> dict:
    """Peak memory of the views pass for each K of ``--views``, unchunked and chunked, one process each."""
    rows = []
    micro_batch = args.micro_batch or args.batch_size
    # Large allocations straight from mmap: freed memory goes back to the system, so each peak is the pass's own.
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}
    for views in args.views:
        for chunk in (0, micro_batch):
            command = [
                sys.executable,
                __file__,
                "--views_memory_child",
                f"{views},{chunk}",
                *args.passthrough,
            ]
            completed = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
            rows.append(json.loads(completed.stdout.strip().splitlines()[-1]))
    base = next(
        r["views_pass_peak_mib"] for r in rows if r["views"] == min(args.views) and not r["micro_batch"]
    )
    for row in rows:
        row["ratio_to_k1_unchunked"] = row["views_pass_peak_mib"] / base
    return {
        "model": f"tiny qwen3_vl, vocabulary {QWEN_VOCAB_SIZE}",
        "device": rows[0]["device"],
        "rows": rows,
    }


def run_memory(args: argparse.Namespace) -> dict:
    """Peak RSS of each `MEMORY_CONFIGURATIONS` entry, each in a fresh process, and its ratio to GRPO's."""
    rows = []
    for name in MEMORY_CONFIGURATIONS:
        command = [sys.executable, __file__, "--memory_child", name, *args.passthrough]
        completed = subprocess.run(command, check=True, capture_output=True, text=True)
        rows.append(json.loads(completed.stdout.strip().splitlines()[-1]))
    grpo = rows[0]["peak_rss_mib"]
    for row in rows:
        row["ratio_to_grpo"] = row["peak_rss_mib"] / grpo
    return {"model": f"tiny qwen3_vl, vocabulary {QWEN_VOCAB_SIZE}", "device": "cpu", "rows": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--model", choices=["tiny", *QWEN3_VL_SHAPES], default="tiny")
    parser.add_argument("--views", default="1,2,4", help="comma list of K")
    parser.add_argument("--steps", type=int, default=8, help="measured steps per trainer")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured first steps")
    parser.add_argument("--repeats", type=int, default=5, help="forward+backward repetitions")
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--completion_length", type=int, default=16)
    parser.add_argument("--image_size", type=int, default=64)
    parser.add_argument(
        "--text_layers", type=int, help="qwen3_vl_*: decoder layers (default: the model's, 28 / 36)"
    )
    parser.add_argument("--vision_depth", type=int, default=24, help="qwen3_vl_*: vision blocks (24 in both)")
    parser.add_argument("--allow_cpu", action="store_true", help="qwen3_vl_* on the CPU (a smoke test only)")
    parser.add_argument(
        "--memory",
        action="store_true",
        help="CPU peak RSS of GRPO, ROMA k3 and ROMA full at Qwen's vocabulary (first K of --views), one process each",
    )
    parser.add_argument("--memory_child", choices=list(MEMORY_CONFIGURATIONS), help=argparse.SUPPRESS)
    parser.add_argument(
        "--views_memory",
        action="store_true",
        help="peak memory of the views pass alone for each K of --views, unchunked and chunked, one process each",
    )
    parser.add_argument(
        "--micro_batch",
        type=int,
        default=0,
        help="--views_memory: roma_views_micro_batch (default: batch size)",
    )
    parser.add_argument("--views_memory_child", help=argparse.SUPPRESS)
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    args.passthrough = [a for a in argv if a not in ("--memory", "--views_memory")]
    args.passthrough = [a for i, a in enumerate(args.passthrough) if not _is_json_option(args.passthrough, i)]
    args.views = [int(v) for v in args.views.split(",")]
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    if args.memory_child:
        print(json.dumps(_memory_child(args.memory_child, args)))
        return 0
    if args.views_memory_child:
        views, micro_batch = (int(v) for v in args.views_memory_child.split(","))
        print(json.dumps(_views_memory_child(views, micro_batch, args)))
        return 0
    if args.views_memory:
        results = run_views_memory(args)
        print(
            f"\n{results['model']} on {results['device']}: peak memory of the views pass (forward + backward)"
        )
        print(f"{'K':>3} {'view rows':>9} {'micro-batch':>11} {'peak (MiB)':>11} {'÷ K=1':>6}")
        for row in results["rows"]:
            chunk = row["micro_batch"] or "-"
            print(
                f"{row['views']:>3} {row['view_rows']:>9} {chunk:>11} {row['views_pass_peak_mib']:>11.1f} "
                f"{row['ratio_to_k1_unchunked']:>6.2f}"
            )
    elif args.memory:
        results = run_memory(args)
        print(f"\n{results['model']} on cpu: peak RSS, one process per configuration")
        print(f"{'configuration':<14} {'K':>2} {'peak RSS (MiB)':>15} {'÷ GRPO':>7}")
        for row in results["rows"]:
            print(
                f"{row['configuration']:<14} {row['views']:>2} {row['peak_rss_mib']:>15.0f} "
                f"{row['ratio_to_grpo']:>7.2f}"
            )
    else:
        if args.model != "tiny" and not torch.cuda.is_available() and not args.allow_cpu:
            parser.error(f"--model {args.model} needs a GPU")
        results = run(args)
        print(
            f"\nmodel {results['model']} on {results['device']}; "
            f"T_fb = {results['forward_backward_s'] * 1000:.1f} ms"
        )
        print(f"{'trainer':<8} {'K':>2} {'median step (ms)':>17} {'peak mem (MiB)':>15} {'overhead':>9}")
        for row in results["rows"]:
            overhead = f"{row['overhead']:.2f}" if "overhead" in row else "-"
            print(
                f"{row['trainer']:<8} {row['views']:>2} {row['median_step_s'] * 1000:>17.1f} "
                f"{row['peak_memory_mib']:>15.0f} {overhead:>9}"
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


def _is_json_option(argv: list[str], index: int) -> bool:
    """Whether ``argv[index]`` is ``--json`` or its value (the children print their row instead)."""
    return (
        argv[index] == "--json"
        or argv[index].startswith("--json=")
        or (index > 0 and argv[index - 1] == "--json")
    )


if __name__ == "__main__":
    sys.exit(main())
