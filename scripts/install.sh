#!/usr/bin/env bash
# Set up roma and its test tools, pinned by the complete lock constraints.txt (regenerate it with
# `python3 scripts/lock.py`). Installs into the active virtual environment, or into .venv/ (created if missing).
# Idempotent: when the lock and pyproject.toml are unchanged since the last install, a second run only checks the
# environment against the lock.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
stamp="$VIRTUAL_ENV/.roma-install-stamp"
want="$(cat constraints.txt pyproject.toml | sha256sum | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    echo "roma: installing into $VIRTUAL_ENV (pinned by constraints.txt)"
    python -m pip install -q -c constraints.txt -e ".[dev]"
    echo "$want" > "$stamp"
fi
python scripts/lock.py --check
