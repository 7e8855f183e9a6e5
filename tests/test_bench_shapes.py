"""The Qwen3-VL shapes `bench/step_overhead.py` measures on a GPU (issue 23, item 7) are the published ones."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "step_overhead.py"


@pytest.fixture(scope="module")
def step_overhead():
    spec = importlib.util.spec_from_file_location("step_overhead", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "kind, hidden, layers, heads, parameters_b",
    [("qwen3_vl_2b", 2048, 28, 16, (2.0, 2.3)), ("qwen3_vl_4b", 2560, 36, 32, (4.2, 4.6))],
)
def test_the_gpu_shapes_are_qwen3_vl_2b_and_4b(
    step_overhead, tmp_path, kind, hidden, layers, heads, parameters_b
):
    # Built on the meta device: the architecture without its memory.
    model, _ = step_overhead._model_and_processor(kind, tmp_path, "meta")
    text = model.config.text_config
    assert (text.hidden_size, text.num_hidden_layers, text.num_attention_heads) == (hidden, layers, heads)
    assert (text.vocab_size, model.config.vision_config.out_hidden_size) == (151936, hidden)
    low, high = parameters_b
    assert (
        low < sum(p.numel() for p in model.parameters()) / 1e9 < high
    )  # tied embeddings, vision tower included
