"""One place each: the arguments of `grade` (roma.grading), the severity bounds (roma.degrade), comma lists
(roma._lists), and the sweep's public pieces `roma eval --plan` uses (issue 20, item 5)."""

from __future__ import annotations

import io
import math

import pytest
from PIL import Image

from roma import rewards
from roma._lists import comma_list
from roma.degrade import MAX_SEVERITY, MIN_SEVERITY
from roma.evaluation.benchmarks.base import EvalSample
from roma.evaluation.conditions import parse_severities
from roma.evaluation.errors import EvaluationError
from roma.evaluation.images import ImageSource
from roma.evaluation.sweep import vllm_visible_devices
from roma.grading import GRADE_ARGUMENTS, GRADE_COLUMNS, grade, grade_arguments


def test_the_grade_arguments_are_grades_own_keywords_and_shared_by_rewards_and_evaluation():
    import inspect

    keywords = [p.name for p in inspect.signature(grade).parameters.values() if p.kind is p.KEYWORD_ONLY]
    assert set(GRADE_ARGUMENTS) == set(keywords)
    assert tuple(name for name in GRADE_ARGUMENTS if name != "rule") == GRADE_COLUMNS
    assert rewards.GRADE_COLUMNS is GRADE_COLUMNS and rewards.grade_options is grade_arguments  # old names
    row = {
        "answer": "3",
        "precision": math.nan,
        "tolerance": None,
        "options": ["a", "b"],
        "rule": "mathvista",
    }
    assert grade_arguments(row) == {"options": ["a", "b"]}  # NaN and None are unset; a row has no rule
    sample = EvalSample("b", "1", "Which?", "A", options=["x", "y"], rule="mathvista")
    assert sample.grade_kwargs() == {
        "answer_type": "auto",
        "options": ["x", "y"],
        "question": "Which?",
        "rule": "mathvista",
    }


def test_severity_bounds_come_from_roma_degrade():
    assert parse_severities(f"{MIN_SEVERITY},{MAX_SEVERITY}") == [MIN_SEVERITY, MAX_SEVERITY]
    with pytest.raises(EvaluationError, match=rf"outside \[{MIN_SEVERITY}, {MAX_SEVERITY}\]"):
        parse_severities(str(MAX_SEVERITY + 1))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a, b,,c", ["a", "b", "c"]),
        (["seen,motion_blur", "jpeg"], ["seen", "motion_blur", "jpeg"]),
        ((1, 3, 5), ["1", "3", "5"]),
        ("", []),
        (None, []),
    ],
)
def test_comma_lists(value, expected):
    assert comma_list(value) == expected


def test_image_source_size_reads_the_header_only():
    buffer = io.BytesIO()
    Image.new("RGB", (40, 24)).save(buffer, format="PNG")
    assert ImageSource(buffer.getvalue()).size() == (40, 24)
    assert ImageSource(image=Image.new("RGB", (7, 5))).size() == (7, 5)


def test_vllm_sees_only_its_gpu_group():
    assert vllm_visible_devices([2, 3], None, 4) == "2,3"
    assert vllm_visible_devices([1], "4,6", 2) == "6"  # an index among the GPUs already visible
