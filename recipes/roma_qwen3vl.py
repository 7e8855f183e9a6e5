"""Train a Qwen3-VL / Qwen2.5-VL model with ROMA (or the GRPO baseline) on clean rollouts and degraded views.

    accelerate launch --config_file recipes/accelerate/cpu.yaml recipes/roma_qwen3vl.py \
        --config recipes/configs/tiny_cpu.yaml
    accelerate launch --config_file recipes/accelerate/deepspeed_zero2.yaml recipes/roma_qwen3vl.py \
        --config recipes/configs/qwen3_vl_4b_roma.yaml [--learning_rate 2e-6 ...]

The YAML holds the fields of three dataclasses, any of which the command line overrides: the script arguments
(`roma.scripts.train.RomaScriptArguments`: data, rewards, trainer, warm start, evaluation), `roma.RomaConfig`
(TRL's `GRPOConfig` plus the `roma_*` switches) and TRL's `ModelConfig` (model, dtype, PEFT). The script is
`roma.scripts.train` (also `roma train --config ...`); this file is its entry point for `accelerate launch`.
"""

import os
import sys

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # albumentations calls the network on import otherwise

from roma.numerics import pin_cpu_numerics  # noqa: E402

pin_cpu_numerics()  # the same kernels on every x86-64 CPU, before torch loads (roma.numerics)

from roma.scripts.train import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
