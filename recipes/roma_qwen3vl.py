"""Train a Qwen3-VL / Qwen2.5-VL model with ROMA (or the GRPO baseline) on clean rollouts and degraded views.

    accelerate launch --config_file recipes/accelerate/cpu.yaml recipes/roma_qwen3vl.py \
        --config recipes/configs/tiny_cpu.yaml
    accelerate launch --config_file recipes/accelerate/deepspeed_zero2.yaml recipes/roma_qwen3vl.py \
        --config recipes/configs/qwen3_vl_4b_roma.yaml [--learning_rate 2e-6 ...]

The YAML holds the fields of three dataclasses, any of which the command line overrides: the script arguments
(`roma.trainer.pipeline.RomaScriptArguments`: data, rewards, trainer, evaluation), `roma.RomaConfig` (TRL's
`GRPOConfig` plus the `roma_*` switches) and TRL's `ModelConfig` (model, dtype, PEFT).
"""

import os

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # albumentations calls the network on import otherwise

from trl import ModelConfig, TrlParser  # noqa: E402

from roma import RomaConfig  # noqa: E402
from roma.trainer.pipeline import RomaScriptArguments, run  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    # Parse the YAML config and command-line overrides into the three dataclasses.
    parser = TrlParser((RomaScriptArguments, RomaConfig, ModelConfig))
    script_args, training_args, model_args = parser.parse_args_and_config(args=argv)
    # Model -> data -> evaluation before -> ROMA/GRPO training -> save -> evaluation after (roma.trainer.pipeline).
    return run(script_args, training_args, model_args)


if __name__ == "__main__":
    main()
