"""TRL reward functions (``roma.rewards``): accuracy and format against a table, and the registry."""

from __future__ import annotations

import pytest

from roma.grading import MalformedOptionsError
from roma.rewards import (
    REWARD_FUNCTIONS,
    accuracy_reward,
    completion_text,
    format_reward,
    get_reward_function,
    register_reward,
)


def conversational(text: str) -> list[dict]:
    return [{"role": "assistant", "content": text}]


def conversational_parts(text: str) -> list[dict]:
    return [{"role": "assistant", "content": [{"type": "text", "text": text}]}]


# (completion, gold answer, expected accuracy, expected format)
REWARD_CASES = {
    "boxed-integer": (r"Counting gives \boxed{12}", "12", 1.0, 1.0),
    "boxed-wrong": (r"Counting gives \boxed{13}", "12", 0.0, 1.0),
    "nested-braces-frac": (r"so \boxed{\frac{1}{2}}", "0.5", 1.0, 1.0),
    "nested-braces-deep": (r"\boxed{\frac{\sqrt{3}}{2}}", r"\frac{\sqrt{3}}{2}", 1.0, 1.0),
    "fraction-equivalent": (r"\boxed{\dfrac{2}{4}}", r"\frac{1}{2}", 1.0, 1.0),
    "fraction-slash": (r"\boxed{8/11}", r"\frac{8}{11}", 1.0, 1.0),
    "sqrt-equivalent": (r"\boxed{\sqrt{8}}", r"2\sqrt{2}", 1.0, 1.0),
    "units-text": (r"\boxed{5\text{ cm}}", "5", 1.0, 1.0),
    "units-plain": (r"\boxed{12 m/s}", "12", 1.0, 1.0),
    "degrees-circ": (r"\boxed{60^\circ}", "60", 1.0, 1.0),
    "degrees-braced": (r"\boxed{60^{\circ}}", "60°", 1.0, 1.0),
    "degrees-sign": (r"\boxed{60°}", "60", 1.0, 1.0),
    "letter-plain": (r"\boxed{B}", "B", 1.0, 1.0),
    "letter-parenthesised": (r"\boxed{(B)}", "B", 1.0, 1.0),
    "letter-dot": (r"\boxed{B.}", "B", 1.0, 1.0),
    "letter-with-text": (r"\boxed{B. 8/11}", "B", 1.0, 1.0),
    "letter-text-command": (r"\boxed{\text{B}}", "B", 1.0, 1.0),
    "letter-bold-unboxed": ("The cat is on the left.\n**B**", "B", 1.0, 0.0),
    "letter-wrong": (r"\boxed{A}", "B", 0.0, 1.0),
    "no-box-answer-line": ("Answer: 42", "42", 1.0, 0.0),
    "no-box-nothing": ("I am not sure.", "42", 0.0, 0.0),
    "empty-string": ("", "42", 0.0, 0.0),
    "empty-box": (r"\boxed{}", "42", 0.0, 0.0),
    "two-boxes-last-counts": (r"first \boxed{41}, then \boxed{42}", "42", 1.0, 0.0),
    "unclosed-box": (r"\boxed{42", "42", 1.0, 0.0),
    "text-after-box": (r"\boxed{42} and then more reasoning", "42", 1.0, 0.0),
    "closing-delimiters-after-box": ("Hence $\\boxed{42}$.", "42", 1.0, 1.0),
    "display-math-box": ("Hence\n\\[\n\\boxed{42}\n\\]", "42", 1.0, 1.0),
    "conversational": (conversational(r"\boxed{7}"), "7", 1.0, 1.0),
    "conversational-wrong": (conversational(r"\boxed{8}"), "7", 0.0, 1.0),
    "conversational-parts": (conversational_parts(r"reasoning \boxed{\frac{1}{4}}"), "0.25", 1.0, 1.0),
    "conversational-empty": (conversational(""), "7", 0.0, 0.0),
    "fbox": (r"\fbox{7}", "7", 1.0, 1.0),
    "precision-as-string-gold": (r"\boxed{3.14159}", "3.14159", 1.0, 1.0),
}


@pytest.mark.parametrize(
    ("completion", "answer", "accuracy", "format_score"), list(REWARD_CASES.values()), ids=list(REWARD_CASES)
)
def test_reward_table(completion, answer: str, accuracy: float, format_score: float) -> None:
    assert accuracy_reward([completion], answer=[answer]) == [accuracy]
    assert format_reward([completion]) == [format_score]


def test_reward_table_covers_enough_cases() -> None:
    assert len(REWARD_CASES) >= 30


def test_rewards_score_a_batch_in_order() -> None:
    completions = [r"\boxed{1}", conversational(r"\boxed{2}"), "no answer"]
    assert accuracy_reward(completions, answer=["1", "3", "0"], prompts=["p"] * 3) == [1.0, 0.0, 0.0]
    assert format_reward(completions) == [1.0, 1.0, 0.0]


def test_accuracy_uses_optional_grading_columns() -> None:
    completions = [r"\boxed{B}", r"\boxed{3.14159}", r"\boxed{C, A}", "Yes, it is.", r"\boxed{104}"]
    rewards = accuracy_reward(
        completions,
        answer=["8/11", "3.142", "A, C", "1", ["100"]],
        answer_type=["multi_choice", "float", "multi_letter", "yes_no", None],
        options=[["5/11", "8/11"], None, None, None, None],
        precision=[None, 3.0, float("nan"), None, None],  # NaN: how a parquet column says "not set"
        relative_tolerance=[None, None, None, None, 0.05],
    )
    assert rewards == [1.0, 1.0, 1.0, 1.0, 1.0]


def test_accuracy_names_the_missing_answer_column() -> None:
    with pytest.raises(
        KeyError, match=r"needs the dataset column 'answer' or 'solution'.*received columns: label, prompts"
    ):
        accuracy_reward([r"\boxed{1}"], label=["1"], prompts=["p"])


def test_accuracy_reads_trl_solution_column() -> None:
    assert accuracy_reward([r"\boxed{1}", r"\boxed{2}"], solution=["1", "3"], prompts=["p"] * 2) == [1.0, 0.0]


def test_accuracy_matches_option_text_listed_in_the_question() -> None:
    rewards = accuracy_reward(
        [r"\boxed{no}", r"\boxed{yes}"],
        answer=["B", "B"],
        answer_type=["multiple_choice"] * 2,
        question=["Is the bar red? (A) yes (B) no"] * 2,
    )
    assert rewards == [1.0, 0.0]


@pytest.mark.parametrize("options", ["[{[]}]", "[" + "-" * 100000 + "1]"])
def test_accuracy_names_the_row_with_malformed_options(options: str) -> None:
    with pytest.raises(MalformedOptionsError, match=r"accuracy reward, row 1 of the batch: options string"):
        accuracy_reward([r"\boxed{A}", r"\boxed{A}"], answer=["A", "A"], options=[None, options])


def test_accuracy_rejects_a_column_of_the_wrong_length() -> None:
    with pytest.raises(
        ValueError, match=r"column 'answer' must be a list with one entry per completion \(2\)"
    ):
        accuracy_reward([r"\boxed{1}", r"\boxed{2}"], answer=["1"])


@pytest.mark.parametrize(
    ("completion", "message"),
    [
        (42, "completion 0 must be a string or a list of messages, got int"),
        ([{"role": "assistant"}], "completion 0: each message must be a dict with a 'content' key"),
        ([{"role": "assistant", "content": 3}], "completion 0: message content must be a string"),
    ],
)
def test_malformed_completions_raise_clear_errors(completion, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        format_reward([completion])


def test_completion_text_keeps_assistant_text_parts_only() -> None:
    completion = [
        {"role": "user", "content": "question"},
        {"role": "assistant", "content": [{"type": "image"}, {"type": "text", "text": "first"}]},
        {"role": "assistant", "content": "second"},
    ]
    assert completion_text(completion) == "first\nsecond"


def test_registry_names_match_function_names() -> None:
    assert {"accuracy", "format"} <= set(REWARD_FUNCTIONS)
    assert REWARD_FUNCTIONS["accuracy"] is accuracy_reward
    assert REWARD_FUNCTIONS["format"] is format_reward
    for name, function in REWARD_FUNCTIONS.items():
        assert function.__name__ == name
    assert get_reward_function("accuracy") is accuracy_reward


def test_unknown_reward_lists_known_names_and_suggests_the_closest() -> None:
    with pytest.raises(KeyError, match=r"unknown reward function 'acuracy'; known: .*accuracy, .*format.*"):
        get_reward_function("acuracy")
    with pytest.raises(KeyError, match=r"Did you mean 'format'\?"):
        get_reward_function("formatt")


def test_register_reward_sets_the_name_and_refuses_duplicates() -> None:
    @register_reward("test_length_reward")
    def length_reward(completions, **kwargs):
        return [float(len(completion_text(completion))) for completion in completions]

    try:
        assert length_reward.__name__ == "test_length_reward"
        assert get_reward_function("test_length_reward")(["abc"]) == [3.0]
        with pytest.raises(ValueError, match="already registered"):
            register_reward("test_length_reward")(lambda completions, **kwargs: [0.0] * len(completions))
        with pytest.raises(ValueError, match="identifier-like"):
            register_reward("not a name")
    finally:
        REWARD_FUNCTIONS.pop("test_length_reward", None)
