"""The ``roma`` command: thin subcommands over the library.

Each subcommand lives in its own module with a ``main(argv) -> int`` that builds its own
``argparse`` parser (``prog="roma NAME"``). Modules are imported only when their subcommand
runs, so ``roma degrade`` does not pay for importing TRL.
"""

from __future__ import annotations

import difflib
import importlib
import logging
import os
import sys

from roma._version import package_version
from roma.numerics import pin_cpu_numerics

# name -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "degrade": ("roma.degrade.sheet", "render a labelled contact sheet of corruptions × severities"),
    "tiny-model": (
        "roma.models.tiny",
        "build a tiny random vision-language checkpoint (any family roma trains) with its real processor",
    ),
    "synthetic": ("roma.data.synthetic", "write the bundled synthetic task to disk"),
    "warm-start": (
        "roma.scripts.warm_start",
        "supervised warm start on the synthetic task (TRL SFTTrainer), cached by its settings",
    ),
    "train": ("roma.scripts.train", "train with ROMA or the GRPO baseline from a recipe YAML (--config)"),
    "eval": ("roma.evaluation.cli", "robustness sweep: benchmarks × clean / seen / unseen corruptions"),
    "compare": ("roma.evaluation.compare", "compare sweep runs side by side with deltas"),
    "probe": ("roma.evaluation.probe", "rank corruptions by how much they move a model (no grading)"),
    "cache": ("roma.cache", "show, clear or prune roma's cache ($ROMA_CACHE: tiny models, corrupted images)"),
}


def _usage() -> str:
    width = max(map(len, SUBCOMMANDS))
    lines = ["usage: roma COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, help_) in SUBCOMMANDS.items()]
    lines += ["", "Run 'roma COMMAND --help' for a command's options."]
    return "\n".join(lines)


INTERRUPTED = 130
"""The status of a command Ctrl-C ended (128 + SIGINT, as a shell reports it)."""


def main(argv: list[str] | None = None) -> int:
    as_process = argv is None  # the `roma` command itself, not a call from Python
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help"}:
        print(_usage())
        return 0
    if argv[0] in {"-V", "--version"}:
        print(f"roma {package_version()}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in SUBCOMMANDS:
        close = difflib.get_close_matches(name, SUBCOMMANDS, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        print(f"roma: unknown command '{name}'.{hint}\n\n{_usage()}", file=sys.stderr)
        return 2
    pin_cpu_numerics()  # before the subcommand loads torch: the same kernels on every x86-64 CPU
    module = importlib.import_module(SUBCOMMANDS[name][0])
    status = int(module.main(rest) or 0)
    if status == INTERRUPTED and as_process:
        # The command said what it kept; everything it wrote is on disk (fsynced). Tearing down the interpreter
        # (freeing a loaded model) took seconds more: the user waits for nothing of use.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
