"""A TRL user's habits work unchanged: TRL-format datasets, `roma-tiny/...` model names, the model card."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from datasets import Dataset
from PIL import Image
from test_trainer import config

from roma import RomaGRPOTrainer
from roma.data.loading import DatasetLoadingError, load_training_dataset
from roma.rewards import accuracy_reward


def _trl_rows(num_rows: int = 4) -> list[dict]:
    """Rows as TRL's examples write them: conversational `prompt` (string content, no image part), `image`,
    `solution`."""
    rng = np.random.default_rng(0)
    return [
        {
            "prompt": [{"role": "user", "content": f"How many bars are in picture {i}?"}],
            "image": Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)),
            "solution": str(i),
        }
        for i in range(num_rows)
    ]


def test_a_conversational_prompt_column_is_used_as_is_not_stringified(tmp_path):
    Dataset.from_list(_trl_rows()).save_to_disk(str(tmp_path / "trl"))
    rows = load_training_dataset(
        str(tmp_path / "trl"), question_column="prompt", answer_column="solution", system_prompt="Think."
    )
    assert rows[1]["prompt"] == [
        {"role": "system", "content": [{"type": "text", "text": "Think."}]},
        {
            "role": "user",
            "content": [
                {"type": "image", "text": None},
                {"type": "text", "text": "How many bars are in picture 1?"},
            ],
        },
    ]
    assert rows[1]["answer"] == "1"


def test_a_conversation_with_the_wrong_number_of_image_parts_names_the_sample(tmp_path):
    rows = _trl_rows(2)
    rows[1]["prompt"] = [
        {"role": "user", "content": [{"type": "image"}, {"type": "image"}, {"type": "text", "text": "?"}]}
    ]
    rows[0]["prompt"] = rows[1]["prompt"][:]
    Dataset.from_list(rows).save_to_disk(str(tmp_path / "bad"))
    with pytest.raises(DatasetLoadingError, match=r"Sample 0 .*2 image placeholders for 1 images"):
        load_training_dataset(str(tmp_path / "bad"), question_column="prompt", answer_column="solution")


def test_accuracy_reward_reads_trls_solution_column():
    assert accuracy_reward([r"\boxed{3}", r"\boxed{4}"], solution=["3", "3"]) == [1.0, 0.0]


def test_roma_tiny_names_resolve_in_the_trainer_and_the_model_card_names_roma_and_the_base_model(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("ROMA_CACHE", str(tmp_path / "cache"))
    trainer = RomaGRPOTrainer(
        model="roma-tiny/qwen3_vl-tiny",
        reward_funcs=[accuracy_reward],
        args=config(tmp_path, max_steps=1),
        train_dataset=Dataset.from_list(_trl_rows()),
    )
    assert str(tmp_path / "cache") in trainer.model.config._name_or_path
    trainer.create_model_card(model_name="out")
    card = (tmp_path / "out" / "README.md").read_text()
    assert "fine-tuned version of [roma-tiny/qwen3_vl-tiny]" in card
    assert "[None]" not in card and "ROMA" in card and "2605.09262" in card
    assert "trained with GRPO" not in card
    assert str(tmp_path / "cache") in trainer.model.config._name_or_path  # restored after writing the card
    json.dumps(trainer.args.to_dict())  # the new field serialises with the config


# ---- 5. `roma eval` on your own data ------------------------------------------------------------------------
def _write_jsonl(folder, rows: int = 3):
    (folder / "images").mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(rows):
        Image.new("RGB", (32, 32), (40 * i, 80, 120)).save(folder / "images" / f"{i}.png")
        lines.append(
            json.dumps({"id": f"q{i}", "q": f"How many? ({i})", "img": f"images/{i}.png", "sol": str(i)})
        )
    (folder / "mine.jsonl").write_text("\n".join(lines) + "\n")
    return folder / "mine.jsonl"


def test_roma_eval_reads_a_local_jsonl_with_the_training_column_flags_and_prompt_options(
    tmp_path, tiny_qwen3_vl_path
):
    from roma.evaluation.sweep import SweepConfig, SweepRunner

    path = _write_jsonl(tmp_path)
    config = SweepConfig(
        model=str(tiny_qwen3_vl_path),
        out=str(tmp_path / "out"),
        benchmarks=str(path),
        question_column="q",
        image_column="img",
        answer_column="sol",
        instruction=" Answer with one number.",
        system_prompt="Be brief.",
        min_pixels=1024,
        max_pixels=2048,
        conditions="clean",
        max_new_tokens=2,
        device="cpu",
        dtype="float32",
        cache_dir=str(tmp_path / "cache"),
    )
    runner = SweepRunner(config)
    (benchmark,) = runner.benchmarks
    data = benchmark.load()
    assert (benchmark.name, [s.question for s in data], [s.gold for s in data]) == (
        "mine",
        ["How many? (0)", "How many? (1)", "How many? (2)"],
        ["0", "1", "2"],
    )
    assert data.load_images(data[2])[0].getpixel((0, 0)) == (80, 80, 120)
    assert runner.conversation(data[0]) == [
        {"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
        {
            "role": "user",
            "content": [{"type": "image"}, {"type": "text", "text": "How many? (0) Answer with one number."}],
        },
    ]
    size = runner.backend.processor.image_processor.size
    assert (size["shortest_edge"], size["longest_edge"]) == (1024, 2048)


def test_a_local_dataset_without_the_named_column_says_which_flag_to_set(tmp_path):
    from roma.evaluation.config import BenchmarkRunConfig
    from roma.evaluation.errors import BenchmarkLoadError

    path = _write_jsonl(tmp_path)
    (benchmark,) = BenchmarkRunConfig(
        model="m", out="o", benchmarks=str(path), image_column="img"
    ).make_benchmarks()
    with pytest.raises(
        BenchmarkLoadError, match=r"no column 'question' \(set --question_column\); 'answer' \(set "
    ):
        benchmark.load()


def test_script_arguments_are_trls_with_roma_defaults_and_the_old_split_name_still_reads():
    import trl

    from roma.scripts.train import RomaScriptArguments

    assert issubclass(RomaScriptArguments, trl.ScriptArguments)
    args = RomaScriptArguments()
    assert (args.dataset_name, args.dataset_train_split) == ("synthetic", "train")
    assert RomaScriptArguments(dataset_split="validation").dataset_train_split == "validation"  # the old name
    with pytest.raises(ValueError, match="dataset_split='a' and dataset_train_split='b' disagree"):
        RomaScriptArguments(dataset_split="a", dataset_train_split="b")
    with pytest.raises(ValueError, match="dataset_streaming=True is not supported"):
        RomaScriptArguments(dataset_streaming=True)
    # The recipe's keys parse as TRL's scripts parse them.
    parsed, *_ = trl.TrlParser((RomaScriptArguments,)).parse_args_and_config(
        ["--dataset_train_split", "test", "--reward_funcs", "accuracy,roma.rewards.format_reward"]
    )
    assert parsed.dataset_train_split == "test"
    assert parsed.reward_funcs == ["accuracy", "roma.rewards.format_reward"]


def test_reward_funcs_take_dotted_import_paths_like_trls_scripts(tmp_path, monkeypatch):
    from roma.rewards import get_reward_function

    package = tmp_path / "my_rewards_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "rewards.py").write_text(
        "def length_reward(completions, **kwargs):\n    return [float(len(str(c))) for c in completions]\n"
        "NOT_A_FUNCTION = 3\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    reward = get_reward_function("my_rewards_pkg.rewards.length_reward")
    assert reward(["ab", "abc"]) == [2.0, 3.0]
    assert get_reward_function("roma.rewards.accuracy_reward") is accuracy_reward
    with pytest.raises(ValueError, match=r"cannot import module 'my_rewards_pkg\.nowhere'"):
        get_reward_function("my_rewards_pkg.nowhere.fn")
    with pytest.raises(ValueError, match=r"module 'my_rewards_pkg\.rewards' has no attribute 'missing'"):
        get_reward_function("my_rewards_pkg.rewards.missing")
    with pytest.raises(ValueError, match=r"is a int, not a function"):
        get_reward_function("my_rewards_pkg.rewards.NOT_A_FUNCTION")
    with pytest.raises(KeyError, match="unknown reward function 'acuracy'.*Did you mean 'accuracy'"):
        get_reward_function("acuracy")


def test_roma_config_keeps_trls_activation_checkpointing_default_without_a_deprecation_warning(tmp_path):
    from roma import RomaConfig

    common = dict(output_dir=str(tmp_path), use_cpu=True, bf16=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        default = RomaConfig(**common)
        off = RomaConfig(**common, activation_checkpointing=False)
    assert (default.activation_checkpointing, default.gradient_checkpointing) == (
        True,
        True,
    )  # GRPOConfig's default
    assert (off.activation_checkpointing, off.gradient_checkpointing) == (False, False)
    # The old name still takes effect (with transformers' own deprecation warning).
    with pytest.warns(FutureWarning, match="gradient_checkpointing"):
        old = RomaConfig(**common, gradient_checkpointing=False)
    assert old.activation_checkpointing is False
    with pytest.raises(
        ValueError, match="gradient_checkpointing=True and activation_checkpointing=False disagree"
    ):
        RomaConfig(**common, gradient_checkpointing=True, activation_checkpointing=False)
