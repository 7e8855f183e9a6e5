"""The lock check (scripts/lock.py --check) that install.sh and CI run: it must see drift and unlocked packages."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
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
    path.write_text(
        "# a test lock\n" + "\n".join(f"{name}=={version}" for name, version in pins.items()) + "\n"
    )
    drifted, unlocked = lock.check(path)
    assert unlocked == [f"numpy=={numpy_version} is installed but not in the lock"]
    assert (
        len(drifted) == 1 and drifted[0].startswith("pyyaml==") and drifted[0].endswith("pins pyyaml==0.0.1")
    )


def test_a_malformed_lock_line_is_named(tmp_path):
    path = tmp_path / "constraints.txt"
    path.write_text("numpy==2.0\ntorch>=2\n")
    with pytest.raises(SystemExit, match=r"constraints.txt:2: expected 'name==version'"):
        lock.read_lock(path)


def _fake_df(bin_dir: Path, free_kib: int) -> None:
    """A `df -Pk` that reports `free_kib` available, first on PATH."""
    bin_dir.mkdir()
    df = bin_dir / "df"
    df.write_text(
        "#!/bin/sh\n"
        "echo 'Filesystem 1024-blocks Used Available Capacity Mounted on'\n"
        f"echo '/dev/fake 100000000 1 {free_kib} 1% /'\n"
    )
    df.chmod(0o755)


@pytest.mark.parametrize("free_mib, refused", [(300, True), (8 * 1024, False)])
def test_install_refuses_up_front_when_the_disk_cannot_hold_a_fresh_environment(tmp_path, free_mib, refused):
    # A new environment without torch (and without pip, so the install itself cannot start here): the disk check
    # runs first and names the free space; with room enough, the script goes past it to pip (which this bare
    # environment lacks).
    env_dir = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    _fake_df(tmp_path / "bin", free_mib * 1024)
    path = f"{tmp_path / 'bin'}:{env_dir / 'bin'}:{os.environ['PATH']}"
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / "install.sh")],
        env={**os.environ, "VIRTUAL_ENV": str(env_dir), "PATH": path},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    message = f"{env_dir} is on a filesystem with {free_mib} MiB free; a fresh environment needs about 7 GiB"
    assert (message in done.stderr) == refused, done.stderr
    assert ("installing trl-roma" in done.stdout) != refused
