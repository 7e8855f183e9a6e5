"""A few RomaGRPOTrainer steps under DeepSpeed ZeRO-2 on the CPU (launched by `accelerate launch` with
recipes/accelerate/deepspeed_zero2.yaml); writes what the engine was, so the test can check it was really used.

Usage: accelerate launch --config_file recipes/accelerate/deepspeed_zero2.yaml --num_processes N \
    --mixed_precision no tests/scripts/deepspeed_train.py MODEL_PATH OUT_DIR
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for the shared dataset helpers

from test_trainer import config, even_length, image_dataset  # noqa: E402

from roma import RomaGRPOTrainer  # noqa: E402


def main() -> None:
    import deepspeed.ops

    # DeepSpeed's CPU backend JIT-compiles its shared-memory collectives (a C++ op) when it starts, ~30 s in every
    # new environment (the build is keyed by the environment's paths); they serve several ranks on one machine,
    # and this run has one. Marked unavailable, DeepSpeed uses torch.distributed's collectives instead.
    deepspeed.ops.__compatible_ops__["deepspeed_shm_comm"] = False
    model_path, out_dir = sys.argv[1], Path(sys.argv[2])
    out_dir.mkdir(parents=True, exist_ok=True)
    trainer = RomaGRPOTrainer(
        model=model_path,
        reward_funcs=even_length,
        args=config(out_dir, max_steps=2, per_device_train_batch_size=4, num_generations=4, use_cpu=False),
        train_dataset=image_dataset(16),
    )
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    trainer.train()
    engine = trainer.model_wrapped
    changed = sum(
        not torch.equal(before[n], p.detach()) for n, p in trainer.model.named_parameters() if n in before
    )
    rank = int(os.environ.get("RANK", "0"))
    (out_dir / f"rank{rank}.json").write_text(
        json.dumps(
            {
                "deepspeed": trainer.is_deepspeed_enabled,
                "engine": type(engine).__name__,
                "zero_stage": engine.zero_optimization_stage()
                if hasattr(engine, "zero_optimization_stage")
                else None,
                "world_size": trainer.accelerator.num_processes,
                "changed_parameters": changed,
                "losses": [e["loss"] for e in trainer.state.log_history if "loss" in e],
            }
        )
    )


if __name__ == "__main__":
    main()
