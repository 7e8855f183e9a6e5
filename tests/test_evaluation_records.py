"""Conditions, the corrupted-image cache and the resumable JSONL record store (no model involved)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fixtures_benchmarks import make_image

from roma.degrade import corrupt, list_corruptions, rng_for
from roma.degrade.errors import UnknownCorruptionError
from roma.evaluation.conditions import Condition, CorruptedImageCache, parse_severities, resolve_conditions
from roma.evaluation.errors import EvaluationError
from roma.evaluation.records import RecordStore, SweepRecord, read_records


def _record(sample: str, condition: str = "clean", **extra) -> SweepRecord:
    return SweepRecord(benchmark="b", sample_id=sample, condition=condition, correct=1.0, **extra)


# ----------------------------------------------------------------------------------------------- conditions
def test_conditions_expand_groups_and_names_in_order_with_groups_marked():
    conditions = resolve_conditions("clean,seen,motion_blur,gaussian_blur", [1, 5])
    seen = list_corruptions("seen")
    assert conditions[0] == Condition("clean")
    expected = [f"{c}@{s}" for c in seen for s in (1, 5)] + ["motion_blur@1", "motion_blur@5"]
    assert [c.name for c in conditions[1:]] == expected  # gaussian_blur already listed by "seen": not twice
    assert {c.group for c in conditions[1:-2]} == {"seen"} and conditions[-1].group == "unseen"
    assert conditions[-1].corruption == "motion_blur" and conditions[-1].severity == 5
    unseen = resolve_conditions(["unseen"], [3])
    assert [c.corruption for c in unseen] == list_corruptions("unseen") and all(
        c.group == "unseen" for c in unseen
    )


def test_bad_conditions_and_severities_are_refused_clearly():
    with pytest.raises(UnknownCorruptionError, match="Did you mean 'motion_blur'"):
        resolve_conditions("clean,motion_blurr", [1])
    assert parse_severities("1, 3,5,3") == [1, 3, 5]
    assert parse_severities("2.5") == [2.5]
    with pytest.raises(EvaluationError, match="outside"):
        parse_severities("0,3")
    with pytest.raises(EvaluationError, match="not a number"):
        parse_severities("1,high")


# ---------------------------------------------------------------------------------------------------- cache
def test_cache_returns_the_keyed_corruption_and_reuses_it_losslessly(tmp_path):
    image = make_image(7)
    condition = Condition.corrupted("gaussian_noise", 3, "unseen")
    cache = CorruptedImageCache(tmp_path, seed=4)
    first = cache.get(image, "mathvista", "12", 0, condition)
    expected = corrupt(image, "gaussian_noise", 3, rng_for(4, "mathvista", "12", 0, "gaussian_noise", 3))
    assert np.array_equal(np.asarray(first), np.asarray(expected))
    assert (cache.hits, cache.misses) == (0, 1)
    files = list(tmp_path.rglob("*.npy"))
    assert len(files) == 1 and "gaussian_noise" in str(files[0])
    # A new cache object (another run, another model) reads the same bytes back from disk.
    again = CorruptedImageCache(tmp_path, seed=4)
    second = again.get(image, "mathvista", "12", 0, condition)
    assert (again.hits, again.misses) == (1, 0)
    assert np.array_equal(np.asarray(second), np.asarray(first))
    # Another sample id, image index or seed is another view (noise differs); clean is the image itself.
    other = CorruptedImageCache(tmp_path, seed=5).get(image, "mathvista", "12", 0, condition)
    assert not np.array_equal(np.asarray(other), np.asarray(first))
    assert not np.array_equal(
        np.asarray(again.get(image, "mathvista", "13", 0, condition)), np.asarray(first)
    )
    assert again.get(image, "mathvista", "12", 0, Condition("clean")) is image


def test_cache_recomputes_a_damaged_file(tmp_path):
    image = make_image(8)
    condition = Condition.corrupted("jpeg_compression", 5, "seen")
    cache = CorruptedImageCache(tmp_path)
    good = np.asarray(cache.get(image, "b", "s", 0, condition))
    path = next(tmp_path.rglob("*.npy"))
    path.write_bytes(path.read_bytes()[:20])  # a crash mid-copy
    assert np.array_equal(np.asarray(cache.get(image, "b", "s", 0, condition)), good)
    assert np.load(path).shape == (image.height, image.width, 3)


# -------------------------------------------------------------------------------------------------- records
def test_store_appends_only_new_keys_and_survives_reopening(tmp_path):
    path = tmp_path / "records.jsonl"
    store = RecordStore(path)
    assert store.append([_record("1"), _record("2")]) == 2
    assert store.append([_record("2"), _record("3")]) == 1  # "2" is not written twice
    reopened = RecordStore(path)
    assert len(reopened) == 3 and ("b", "clean", "3") in reopened
    assert [r.sample_id for r in read_records(path)] == ["1", "2", "3"]
    assert len(RecordStore(path, overwrite=True)) == 0 and not path.exists()


def test_store_drops_a_line_cut_short_by_a_kill(tmp_path):
    path = tmp_path / "records.jsonl"
    RecordStore(path).append([_record("1"), _record("2")])
    with open(path, "a") as stream:
        stream.write(json.dumps(_record("3").to_json())[:25])  # the write the kill interrupted
    assert [r.sample_id for r in read_records(path)] == ["1", "2"]  # readers ignore it too
    store = RecordStore(path)
    assert len(store) == 2 and path.read_text().endswith("\n")
    store.append([_record("3")])
    assert [json.loads(line)["sample_id"] for line in path.read_text().splitlines()] == ["1", "2", "3"]


def test_store_refuses_a_corrupt_complete_line_naming_it(tmp_path):
    path = tmp_path / "records.jsonl"
    path.write_text(
        json.dumps(_record("1").to_json()) + "\nnot json\n" + json.dumps(_record("2").to_json()) + "\n"
    )
    with pytest.raises(EvaluationError, match=r"records.jsonl: line 2 is not a sweep record"):
        RecordStore(path)


def test_records_round_trip_and_old_lines_still_read(tmp_path):
    """Records written before the typed record (a key and `correct` only, or unknown extra keys) still read."""
    record = _record("1", "gaussian_blur@3", group="seen", corruption="gaussian_blur", severity=3,
                     responses=["\\boxed{B}"], extracted=["B"], gold="B", num_correct=1)  # fmt: skip
    assert SweepRecord.from_json(json.loads(json.dumps(record.to_json()))) == record
    assert "group_id" not in record.to_json()  # only benchmarks with variant groups write it
    path = tmp_path / "records.jsonl"
    path.write_text(
        '{"benchmark": "b", "sample_id": "0", "condition": "clean", "correct": 0.5}\n'
        '{"benchmark": "b", "sample_id": "1", "condition": "clean", "correct": 1, "written_by": "a later roma"}\n'
    )
    old, newer = read_records(path)
    assert (old.key, old.correct, old.group, old.responses) == (("b", "clean", "0"), 0.5, None, [])
    assert newer.correct == 1


def test_a_line_without_its_key_is_named(tmp_path):
    path = tmp_path / "records.jsonl"
    path.write_text('{"benchmark": "b", "condition": "clean"}\n')
    with pytest.raises(EvaluationError, match=r"line 1 is not a sweep record .*missing sample_id, correct"):
        read_records(path)
