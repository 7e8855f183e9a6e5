#!/usr/bin/env bash
# Set up (install, pinned by the lock) and run the main job on the embedded default: a tiny Qwen3-VL, warm-started
# on the bundled synthetic task, then trained with GRPO and with ROMA from that same start, seed and data; prints
# before / GRPO / ROMA per condition (clean, each seen corruption, the seen and unseen means) with ROMA - GRPO and
# its paired 95 % interval. ROMA trains in a second process beside GRPO (both cores; the same numbers as one after
# the other: the recipe pins one thread per run). Extra arguments override the YAML (e.g. --max_steps 50).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
source scripts/_venv.sh
export NO_ALBUMENTATIONS_UPDATE=1 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
# A CPU job: DeepSpeed (imported by the libraries, unused here) is told so instead of printing that it guessed.
export DS_ACCELERATOR=cpu
# The CPU kernels are pinned by the recipe itself (roma.numerics: AVX2 level on every x86-64 CPU).
# 1,024 test images per condition: clean, 3 seen and the unseen corruptions, scored three times, within the budget.
# One OpenMP thread per process, said explicitly: every stage that computes pins its own PyTorch threads (the
# recipe's *_cpu_threads), GRPO and ROMA run side by side, and accelerate's default (the core count) came with a notice.
exec accelerate launch --config_file recipes/accelerate/cpu.yaml --num_cpu_threads_per_process 1 \
    recipes/roma_qwen3vl.py \
    --config recipes/configs/tiny_cpu.yaml --compare_with_grpo true --compare_jobs 2 \
    --eval_conditions clean,seen,unseen --eval_num_samples 1024 "$@"
