"""Run a few RomaGRPOTrainer steps under `torchrun --nproc_per_node 2` (gloo, CPU) and save each rank's weights.

Usage: torchrun --nproc_per_node 2 distributed_train.py MODEL_PATH OUT_DIR [text_only_on_rank_1]

With ``text_only_on_rank_1`` every micro-batch of rank 1 is a text-only prompt while rank 0 has an image prompt and
regularises it: rank 1 has no view to score, yet must keep DDP's collectives in step.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for the shared dataset helpers

from datasets import Dataset  # noqa: E402
from test_trainer import _image, config, even_length, image_dataset  # noqa: E402

from roma import RomaGRPOTrainer  # noqa: E402
from roma.data.prompts import build_conversation  # noqa: E402


def rank_zero_even_length(completions, **kwargs):
    """Correct only on rank 0: rank 1 has nothing to regularise while rank 0 runs the views pass (DDP must not hang)."""
    if os.environ.get("RANK", "0") != "0":
        return [0.0] * len(completions)
    return even_length(completions, **kwargs)


def image_and_text_only_dataset(num_rows: int) -> Dataset:
    """Even rows with an image, odd rows text-only: unshuffled, with 2 generations each, rank 0 gets the even ones."""
    return Dataset.from_list(
        [
            {
                "id": f"row-{i}",
                "prompt": build_conversation(f"What is {i} + 1?", 1 - i % 2),
                "image": _image(i) if i % 2 == 0 else None,
                "answer": str(i + 1),
            }
            for i in range(num_rows)
        ]
    )


def main() -> None:
    model_path, out_dir = sys.argv[1], Path(sys.argv[2])
    if sys.argv[3:] == ["text_only_on_rank_1"]:
        args = config(
            out_dir, max_steps=3, per_device_train_batch_size=2, num_generations=2, shuffle_dataset=False
        )
        dataset = image_and_text_only_dataset(16)
    else:
        args = config(out_dir, max_steps=3, per_device_train_batch_size=2, num_generations=4)
        dataset = image_dataset(16)
    trainer = RomaGRPOTrainer(
        model=model_path, reward_funcs=rank_zero_even_length, args=args, train_dataset=dataset
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
