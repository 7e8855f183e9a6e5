"""Run a few RomaGRPOTrainer steps under `torchrun --nproc_per_node 2` (gloo, CPU) and save each rank's weights.

Usage: torchrun --nproc_per_node 2 distributed_train.py MODEL_PATH OUT_DIR
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for the shared dataset helpers

from test_trainer import config, even_length, image_dataset  # noqa: E402

from roma import RomaGRPOTrainer  # noqa: E402


def rank_zero_even_length(completions, **kwargs):
    """Correct only on rank 0: rank 1 has nothing to regularise while rank 0 runs the views pass (DDP must not hang)."""
    if os.environ.get("RANK", "0") != "0":
        return [0.0] * len(completions)
    return even_length(completions, **kwargs)


def main() -> None:
    model_path, out_dir = sys.argv[1], Path(sys.argv[2])
    trainer = RomaGRPOTrainer(
        model=model_path,
        reward_funcs=rank_zero_even_length,
        args=config(out_dir, max_steps=3, per_device_train_batch_size=2, num_generations=4),
        train_dataset=image_dataset(16),
    )
    trainer.train()
    rank = int(os.environ.get("RANK", "0"))
    torch.save(
        {
            "world_size": trainer.accelerator.num_processes,
            "params": {n: p.detach().cpu() for n, p in trainer.model.named_parameters()},
            "log_history": trainer.state.log_history,
        },
        out_dir / f"rank{rank}.pt",
    )
    # Tear the gloo group down before the interpreter does: left to exit-time destructors, a rank sometimes
    # aborted ("terminate called without an active exception") after its work was saved, failing the run by chance.
    trainer.accelerator.end_training()
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
