"""The robustness sweep as a script: the same entry point and options as ``roma eval``.

    python eval/robust_sweep.py --model PATH --benchmarks mathvista,mathverse --conditions clean,seen,unseen \
        --severities 1,3,5 --out results/RUN
"""

from __future__ import annotations

import sys

from roma.evaluation.cli import main

if __name__ == "__main__":
    sys.exit(main())
