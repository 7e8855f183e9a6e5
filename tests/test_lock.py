"""The lock check (scripts/lock.py --check) that install.sh and CI run: it must see drift and unlocked packages."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("roma_lock", REPO / "scripts" / "lock.py")
lock = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lock)


def test_the_committed_lock_pins_every_declared_pin_exactly():
    pins = lock.read_lock()
    for raw in (REPO / "constraints.in").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert pins[lock.canonical(name)] == version, name


def test_check_reports_a_drifted_version_and_an_unlocked_distribution(tmp_path):
    pins = lock.installed()
    pins.pop(lock.PROJECT, None)
    numpy_version = pins.pop("numpy")  # installed (roma needs it) but left out of this lock
    pins["pyyaml"] = "0.0.1"  # a wrong pin
    path = tmp_path / "constraints.txt"
    path.write_text("# a test lock\n" + "\n".join(f"{name}=={version}" for name, version in pins.items()) + "\n")
    drifted, unlocked = lock.check(path)
    assert unlocked == [f"numpy=={numpy_version} is installed but not in the lock"]
    assert len(drifted) == 1 and drifted[0].startswith("pyyaml==") and drifted[0].endswith("pins pyyaml==0.0.1")


def test_a_malformed_lock_line_is_named(tmp_path):
    path = tmp_path / "constraints.txt"
    path.write_text("numpy==2.0\ntorch>=2\n")
    with pytest.raises(SystemExit, match=r"constraints.txt:2: expected 'name==version'"):
        lock.read_lock(path)
