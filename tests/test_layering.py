"""The package's layering, read from the source: algorithm packages never import the application layer.

Every import statement is collected with `ast` (function-local ones too), so an edge a reader cannot see at the
top of a file still counts. The rules (docs/architecture.md, "Module map"):

* `roma.degrade` imports nothing of roma but itself;
* `roma.trainer` imports neither `roma.evaluation` nor `roma.scripts` (the application layer);
* `roma.evaluation` does not import `roma.scripts` or `roma.trainer`;
* no module imports the root package `roma` (upward), and none loads a file by path.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "roma"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module an import statement of ``path`` names (relative imports resolved)."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)  # `from roma import scripts`
    return names


def modules_under(subpackage: str) -> list[Path]:
    return sorted((PACKAGE / subpackage).rglob("*.py"))


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def violations(paths: list[Path], forbidden: tuple[str, ...], allowed: tuple[str, ...] = ()) -> list[str]:
    found = []
    for path in paths:
        for name in sorted(imported_modules(path)):
            if any(_within(name, f) for f in forbidden) and not any(_within(name, a) for a in allowed):
                found.append(f"{path.relative_to(PACKAGE.parent)} imports {name}")
    return found


def test_degrade_imports_nothing_of_roma_but_degrade():
    assert violations(modules_under("degrade"), ("roma",), allowed=("roma.degrade",)) == []


def test_trainer_imports_neither_evaluation_nor_the_application_layer():
    assert violations(modules_under("trainer"), ("roma.evaluation", "roma.scripts")) == []


def test_evaluation_imports_neither_training_nor_the_application_layer():
    assert violations(modules_under("evaluation"), ("roma.scripts", "roma.trainer")) == []


def test_no_module_imports_the_root_package_or_loads_a_file_by_path():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "roma" and node.level == 0:
                offenders.append(f"{path.relative_to(PACKAGE.parent)}: from roma import ...")
            if isinstance(node, ast.Attribute) and node.attr == "spec_from_file_location":
                offenders.append(f"{path.relative_to(PACKAGE.parent)}: loads a file by path")
    assert offenders == []


@pytest.mark.parametrize(
    ("source", "rule", "expected"),
    [
        (
            "from roma.evaluation.sweep import run_sweep",
            ("roma.evaluation",),
            ["imports roma.evaluation.sweep"],
        ),
        ("def f():\n    import roma.scripts.train", ("roma.scripts",), ["imports roma.scripts.train"]),
        ("from ..evaluation import sweep", ("roma.evaluation",), ["imports roma.evaluation"]),
        ("from roma import scripts", ("roma.scripts",), ["imports roma.scripts"]),
        ("from roma.degrade.core import corrupt", ("roma.evaluation", "roma.scripts"), []),
    ],
)
def test_the_checker_sees_every_kind_of_import(tmp_path, monkeypatch, source, rule, expected):
    """The rules above cannot pass vacuously: top-level, function-local, relative and package-attribute imports."""
    package = tmp_path / "roma" / "trainer"
    package.mkdir(parents=True)
    module = package / "probe.py"
    module.write_text(source + "\n")
    monkeypatch.setattr(f"{__name__}.PACKAGE", tmp_path / "roma")
    found = violations([module], rule)
    assert all(any(v.endswith(e) for v in found) for e in expected) and bool(found) == bool(expected), found
