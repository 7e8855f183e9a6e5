"""Package plumbing: the version comes from the package metadata, and package attributes load lazily."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

import pytest

import roma
import roma.data
from roma import _version
from roma._lazy import lazy_getattr


def test_version_is_the_installed_distributions():
    assert roma.__version__ == importlib.metadata.version(_version.DISTRIBUTION)
    assert _version.package_version() == roma.__version__


def test_a_renamed_distribution_is_found_through_the_package_it_provides(monkeypatch):
    installed = importlib.metadata.packages_distributions()[
        "roma"
    ]  # whatever name this environment installed
    monkeypatch.setattr(importlib.metadata, "packages_distributions", lambda: {"roma": installed})
    assert _version.package_version("roma-renamed-and-not-installed") == roma.__version__


def test_an_uninstalled_source_tree_reports_an_unknown_version(monkeypatch):
    monkeypatch.setattr(importlib.metadata, "packages_distributions", lambda: {})
    assert (
        _version.package_version("roma-renamed-and-not-installed") == _version.UNKNOWN_VERSION == "0+unknown"
    )


def test_lazy_getattr_imports_on_first_use_and_names_a_missing_attribute():
    getattr_ = lazy_getattr("some.package", {"sqrt": "math"})
    assert getattr_("sqrt")(9.0) == 3.0
    with pytest.raises(AttributeError, match="module 'some.package' has no attribute 'cbrt'"):
        getattr_("cbrt")
    with pytest.raises(AttributeError, match="module 'roma.data' has no attribute 'nope'"):
        roma.data.nope  # noqa: B018


def test_importing_the_packages_stays_light():
    """`import roma.data / roma.models / roma.evaluation / roma.trainer` pull in neither TRL nor transformers."""
    code = (
        "import sys, roma, roma.data, roma.models, roma.evaluation, roma.trainer, roma.scripts\n"
        "heavy = sorted({'trl', 'transformers', 'datasets'} & set(sys.modules))\n"
        "assert not heavy, heavy\n"
        "assert roma.data.build_conversation.__module__ == 'roma.data.prompts'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
