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
# This project installs as `trl-roma`. A distribution named `roma` is either this project installed before the rename
# (an editable install: replaced) or PyPI's unrelated `roma` (3D rotations), which also imports as `roma`: stop.
if roma_files="$(python -m pip show -f roma 2>/dev/null)"; then
    # (the listing is captured first: `pip show | grep -q` fails under pipefail when grep closes the pipe early)
    if grep -q "__editable__" <<< "$roma_files"; then
        python -m pip uninstall -y -q roma
    else
        echo "roma: the PyPI package 'roma' (3D rotations) is installed in $VIRTUAL_ENV and also imports as 'roma';" \
             "uninstall it (pip uninstall roma) or use another virtual environment." >&2
        exit 1
    fi
fi
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    # The pinned torch is a CUDA build: a fresh environment takes 6.9 GB (measured). Say so before pip runs out of
    # room half-way with "OSError: [Errno 28] No space left on device".
    if ! python -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('torch') is None)" 2>/dev/null; then
        need_kib=$((7 * 1024 * 1024))
        free_kib="$(df -Pk "$VIRTUAL_ENV" | awk 'NR == 2 {print $4}')"
        if (( free_kib < need_kib )); then
            echo "roma: not enough disk space for the install: $VIRTUAL_ENV is on a filesystem with" \
                 "$((free_kib / 1024)) MiB free; a fresh environment needs about 7 GiB (torch's CUDA build)." >&2
            exit 1
        fi
    fi
    echo "roma: installing trl-roma into $VIRTUAL_ENV (pinned by constraints.txt)"
    python -m pip install -q -c constraints.txt -e ".[dev]"
    echo "$want" > "$stamp"
fi
python scripts/lock.py --check
