"""The small-scale study: ROMA against GRPO, NoisyRollout-style and augmentation on the synthetic task.

    python recipes/study_synthetic.py --jobs 2 --ablation_seeds 0 --warm_start_per_seed true \
        --seeds 0,1,2,3,4,5 --rl_steps 300 --rl_batch_size 128 --selection 2:0.03:0.1,2:0.03:0,2:0.1:0.1 \
        --selection_seeds 3 --out_dir runs/study_rl16_6seeds --report docs/results/synthetic_study.md  # README's
    python recipes/study_synthetic.py --quick        # a few minutes: the pipeline end to end, meaningless numbers
    python recipes/study_synthetic.py --jobs 2 --ablation_seeds 3 \
        --report docs/results/synthetic_study_one_warm_start.md   # one warm start: 152.7 min from nothing (5f6d543)

Every run starts from the packaged recipe tiny_cpu (roma/configs/tiny_cpu.yaml; --base_config). Writes every
run under --out_dir (default runs/study, runs/study_quick with --quick) and the report to --report (default
synthetic_study.md in that folder). A later invocation with the same --out_dir resumes the study, and refuses a
finished stage made with other settings. The stages are documented in `roma.scripts.study`.
"""

import os
import sys

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

from roma.numerics import pin_cpu_numerics  # noqa: E402

pin_cpu_numerics()  # the same kernels on every x86-64 CPU, before torch loads (roma.numerics)

from roma.scripts.study import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
