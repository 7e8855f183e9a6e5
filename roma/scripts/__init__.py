"""The application layer: scripts that wire the library into runs (as TRL keeps ``trl/scripts/``).

* `roma.scripts.train`: the training script (``roma train``, ``recipes/roma_qwen3vl.py``): model, warm start,
  data, ROMA or GRPO, evaluation before and after with the robustness sweep, save.
* `roma.scripts.warm_start`: the cached supervised warm start on the synthetic task (``python -m
  roma.scripts.warm_start``).
* `roma.scripts.study`: the small-scale study (``recipes/study_synthetic.py``), a sequence of ``roma train`` /
  ``roma eval`` / ``roma compare`` commands.

Nothing under `roma.trainer`, `roma.degrade` or `roma.evaluation` imports this package.
"""
