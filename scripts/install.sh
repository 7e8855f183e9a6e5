#!/usr/bin/env bash
# Install roma and its test tools into the current Python, pinned by constraints.txt.
# Idempotent: a second run only checks. torch/torchvision are pinned to the builds on local disk.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q -c constraints.txt -e ".[dev]"
