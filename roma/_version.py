"""The installed version of roma, read from the package metadata: the one place that knows the distribution name.

``pyproject.toml`` holds the version; nothing in the code repeats it. A distribution renamed without this
constant following is still found through the distribution that provides the ``roma`` import package; a source
tree that was never installed reports ``UNKNOWN_VERSION`` instead of failing.
"""

from __future__ import annotations

import importlib.metadata

__all__ = ["DISTRIBUTION", "UNKNOWN_VERSION", "__version__", "package_version"]

DISTRIBUTION = "trl-roma"  # pyproject.toml's name; "roma" on PyPI is an unrelated library
UNKNOWN_VERSION = "0+unknown"  # a valid PEP 440 version that sorts below every release


def package_version(distribution: str = DISTRIBUTION) -> str:
    """The version of ``distribution``; else of the distribution providing ``roma``; else ``UNKNOWN_VERSION``."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        pass
    # Slower (scans every installed distribution, ~1 s): only reached when the name above is not installed.
    for name in importlib.metadata.packages_distributions().get(__package__ or "roma", []):
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return UNKNOWN_VERSION


__version__ = package_version()
