# Sourced by scripts/install.sh, test.sh and train_tiny.sh: choose the Python environment they work in.
# The active virtual environment if there is one; else the repository's own .venv/, created on first use. So the
# README's commands work on a fresh machine as they are, and never install into the machine's own Python.
if [[ -z "${VIRTUAL_ENV:-}" ]]; then
    if [[ ! -x .venv/bin/python ]]; then
        echo "roma: creating a virtual environment in .venv/ (activate it with: source .venv/bin/activate)"
        python3 -m venv .venv
    fi
    # shellcheck disable=SC1091
    source .venv/bin/activate
fi
