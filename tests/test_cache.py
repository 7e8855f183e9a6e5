"""roma's cache: one root variable, a size cap with least-recently-used eviction, and `roma cache`."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from roma import cli
from roma.cache import cache_root, folder_size, prune
from roma.evaluation.conditions import Condition, CorruptedImageCache, default_cache_dir
from roma.evaluation.config import BenchmarkRunConfig


def _image(seed: int) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (16, 16, 3), dtype=np.uint8))


def test_one_variable_roots_every_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("ROMA_CACHE_DIR", raising=False)
    monkeypatch.setenv("ROMA_CACHE", str(tmp_path))
    assert cache_root() == tmp_path
    assert default_cache_dir() == tmp_path / "eval_images"
    assert BenchmarkRunConfig(model="m", out="o").image_cache().root == tmp_path / "eval_images"


def test_the_old_eval_cache_variable_still_works_with_a_warning_naming_the_new_one(monkeypatch, tmp_path):
    monkeypatch.delenv("ROMA_CACHE", raising=False)
    monkeypatch.setenv("ROMA_CACHE_DIR", str(tmp_path))
    with pytest.warns(FutureWarning, match="ROMA_CACHE_DIR is replaced by ROMA_CACHE"):
        assert default_cache_dir() == tmp_path / "eval_images"


def _file(path, size: int, last_used: int):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    os.utime(path, (last_used, last_used))


def test_prune_deletes_the_least_recently_used_files_down_to_the_cap(tmp_path):
    for name, last_used in (("old", 100), ("newest", 300), ("middle", 200)):
        _file(tmp_path / "b" / name, 10, last_used)
    assert prune(tmp_path, 25) == (1, 10)
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["middle", "newest"]
    assert prune(tmp_path, 0) == (2, 20)
    assert folder_size(tmp_path) == (0, 0)
    with pytest.raises(ValueError, match="max_bytes must be >= 0"):
        prune(tmp_path, -1)


def test_the_corrupted_image_cache_stays_under_its_cap_and_keeps_what_it_just_read(tmp_path):
    condition = Condition.corrupted("gaussian_noise", 3, "unseen")
    one_file = 16 * 16 * 3 + 128  # a 16x16 RGB .npy with its header
    cache = CorruptedImageCache(tmp_path, seed=0, max_bytes=3 * one_file)
    for i in range(3):
        cache.get(_image(i), "b", f"s{i}", 0, condition)
    files = sorted(tmp_path.rglob("*.npy"), key=lambda p: p.stat().st_mtime)
    for age, path in enumerate(files):  # s0 oldest ... s2 newest, one second apart
        os.utime(path, (1000 + age, 1000 + age))
    cache.get(_image(0), "b", "s0", 0, condition)  # a hit: s0 becomes the most recently used
    assert cache.hits == 1 and files[0].stat().st_mtime > 1002
    for i in range(3, 5):  # each write past the cap evicts the least recently used: s1, then s2
        cache.get(_image(i), "b", f"s{i}", 0, condition)
    size, count = folder_size(tmp_path)
    assert size <= 3 * one_file and count == 3
    kept = {np.load(p).tobytes() for p in tmp_path.rglob("*.npy")}
    s0 = np.asarray(cache.get(_image(0), "b", "s0", 0, condition)).tobytes()
    assert cache.hits == 2 and s0 in kept  # read recently, so not evicted
    assert CorruptedImageCache(tmp_path).max_bytes is None  # no cap unless asked


def test_roma_cache_shows_prunes_and_clears(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("ROMA_CACHE", str(tmp_path))
    _file(tmp_path / "eval_images" / "mathvista" / "a.npy", 2048, 100)
    _file(tmp_path / "eval_images" / "mathvista" / "b.npy", 2048, 200)
    _file(tmp_path / "models" / "tiny" / "config.json", 10, 100)
    assert cli.main(["cache"]) == 0
    shown = capsys.readouterr().out
    assert str(tmp_path) in shown and "eval_images/" in shown and "mathvista" in shown and "4.0 KiB" in shown
    assert cli.main(["cache", "prune", "--max_gb", "0.000002"]) == 0  # ~2.1 KB: keeps the newer file
    assert "1 files" in capsys.readouterr().out
    assert [p.name for p in (tmp_path / "eval_images").rglob("*.npy")] == ["b.npy"]
    assert cli.main(["cache", "clear", "eval_images"]) == 0
    assert not (tmp_path / "eval_images").exists() and (tmp_path / "models").exists()
    assert cli.main(["cache", "clear", "all"]) == 0
    assert not (tmp_path / "models").exists()
