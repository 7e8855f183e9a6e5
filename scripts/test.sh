#!/usr/bin/env bash
# Set up (install, pinned by the lock) and run the whole test suite in one pytest process.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k degrade`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
source scripts/_venv.sh
export NO_ALBUMENTATIONS_UPDATE=1 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
exec python -m pytest "$@"
