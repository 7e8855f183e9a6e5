#!/usr/bin/env bash
# Set up (install, pinned by the lock) and run the main job on the embedded default: a tiny Qwen3-VL, warm-started
# on the bundled synthetic task, trained with ROMA on the CPU. Extra arguments override the YAML (e.g. --max_steps 50).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
source scripts/_venv.sh
export NO_ALBUMENTATIONS_UPDATE=1 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
exec accelerate launch --config_file recipes/accelerate/cpu.yaml recipes/roma_qwen3vl.py \
    --config recipes/configs/tiny_cpu.yaml "$@"
