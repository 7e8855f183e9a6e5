"""The package's layering, read from the source and checked against the layer table of docs/architecture.md.

The table in "Module map" is this test's data: each row names modules of `roma/` (a file, or a folder and
everything under it) and their floor. Every import statement of `roma/` is collected with `ast` (function-local
and `TYPE_CHECKING` ones too, so an edge a reader cannot see at the top of a file still counts), resolved to the
module it names, and checked:

* a module imports only from its own row or from a row on a lower floor (no import upward, none sideways between
  siblings such as `roma.trainer` and `roma.evaluation`);
* no import cycle among roma's modules;
* every module of `roma/` is placed by exactly one row, and none loads a file by path.

The planted-edge tests build a small package from the same table in a temporary folder and show that the checker
fails on an upward edge from every floor, on a sideways edge, and on a cycle.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "roma"
ARCHITECTURE = ROOT / "docs" / "architecture.md"


# ------------------------------------------------------------------------------------------------ the layer table
@dataclass(frozen=True)
class Row:
    """One row of the layer table: the paths it places (``roma/x.py`` or ``roma/x/``) and their floor."""

    paths: tuple[str, ...]
    floor: int

    def places(self, relative: str) -> int:
        """How specifically this row places file ``relative`` (path length of the match; 0 when it does not)."""
        return max(
            (len(p) for p in self.paths if relative == p or (p.endswith("/") and relative.startswith(p))),
            default=0,
        )


def layer_table(markdown: str) -> list[Row]:
    """The rows of the "Module map" table whose first cell is a floor (rows outside ``roma/`` carry ``—``)."""
    section = markdown.split("## Module map", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0].isdigit():
            paths = tuple(re.findall(r"`(roma/[^`]*)`", cells[1]))
            assert paths, f"docs/architecture.md: the row of floor {cells[0]} names no roma/ path: {line}"
            rows.append(Row(paths, int(cells[0])))
    return rows


# ------------------------------------------------------------------------------------------------ the import graph
def module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(path: Path, package: Path) -> set[str]:
    """Every dotted name an import statement of ``path`` names, relative imports resolved. ``from a import b``
    gives ``a.b``: a submodule imported through its package's attribute is an edge to the submodule, and an
    attribute resolves to ``a`` in :func:`import_graph`."""
    own = module_name(path, package)
    anchor_package = own if path.name == "__init__.py" else own.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = anchor_package.split(".")[: len(anchor_package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def import_graph(package: Path) -> dict[str, tuple[Path, set[str]]]:
    """Module name -> (its file, the modules of ``package`` it imports), each name resolved to the longest module
    it lies in (``roma.degrade.corrupt`` -> ``roma.degrade``; ``roma.data.prompts`` stays itself)."""
    files = {module_name(p, package): p for p in sorted(package.rglob("*.py"))}

    def resolve(name: str) -> str | None:
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for name, path in files.items():
        targets = {resolve(n) for n in imported_names(path, package) if n.split(".")[0] == package.name}
        graph[name] = (path, {t for t in targets if t is not None and t != name})
    return graph


def row_of(path: Path, package: Path, rows: list[Row]) -> Row | None:
    relative = path.relative_to(package.parent).as_posix()
    best = max(rows, key=lambda row: row.places(relative), default=None)
    return best if best is not None and best.places(relative) else None


def layering_violations(package: Path, rows: list[Row]) -> list[str]:
    """Every import to a higher floor or a sibling row, and every module no row places."""
    graph = import_graph(package)
    found = []
    for name, (path, targets) in sorted(graph.items()):
        source_row = row_of(path, package, rows)
        if source_row is None:
            found.append(f"{name} is in no row of the layer table")
            continue
        for target in sorted(targets):
            target_row = row_of(graph[target][0], package, rows)
            if target_row is None or target_row == source_row:
                continue
            if target_row.floor > source_row.floor:
                found.append(
                    f"{name} (floor {source_row.floor}) imports {target} (floor {target_row.floor}): upward"
                )
            elif target_row.floor == source_row.floor:
                found.append(f"{name} imports {target}, a sibling on floor {source_row.floor}: sideways")
    return found


def import_cycles(package: Path) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    graph = {name: targets for name, (_, targets) in import_graph(package).items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


# ------------------------------------------------------------------------------------------------ roma itself
ROWS = layer_table(ARCHITECTURE.read_text())


def test_the_layer_table_places_every_floor_and_module():
    floors = sorted({row.floor for row in ROWS})
    assert floors == list(range(len(floors))), f"floors must be 0..n without gaps: {floors}"
    relatives = [p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*.py")]
    unplaced = [r for r in relatives if row_of(ROOT / r, PACKAGE, ROWS) is None]
    assert unplaced == [], "add these modules to the table of docs/architecture.md"
    for row in ROWS:  # a row naming a path that no longer exists is a stale doc
        for path in row.paths:
            assert (ROOT / path).exists(), f"docs/architecture.md names {path}, which does not exist"


def test_roma_imports_nothing_above_its_floor_or_beside_it():
    assert layering_violations(PACKAGE, ROWS) == []


def test_roma_has_no_import_cycle():
    assert import_cycles(PACKAGE) == []


def test_no_module_loads_a_file_by_path():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Attribute) and node.attr == "spec_from_file_location":
                offenders.append(f"{path.relative_to(ROOT)}: loads a file by path")
    assert offenders == []


# ------------------------------------------------------------------------------------------------ planted edges
def _build_package(tmp_path: Path) -> tuple[Path, dict[Row, str]]:
    """An empty package with one module per row of the real table: row -> the module that stands for it."""
    package = tmp_path / "roma"
    standing = {}
    for row in ROWS:
        path = row.paths[0]
        file = tmp_path / (path + "__init__.py" if path.endswith("/") else path)
        file.parent.mkdir(parents=True, exist_ok=True)
        for parent in file.relative_to(tmp_path).parents:
            if parent != Path(".") and not (tmp_path / parent / "__init__.py").exists():
                (tmp_path / parent / "__init__.py").write_text("")
        file.write_text("")
        standing[row] = module_name(file, package)
    return package, standing


def test_the_planted_package_is_clean(tmp_path):
    package, _ = _build_package(tmp_path)
    assert layering_violations(package, ROWS) == [] and import_cycles(package) == []


@pytest.mark.parametrize(
    "row", [r for r in ROWS if r.floor < max(x.floor for x in ROWS)], ids=lambda r: r.paths[0]
)
@pytest.mark.parametrize(
    "statement",
    [
        "import {target}",
        "def later():\n    from {target} import something",
        "if TYPE_CHECKING:\n    import {target}",
    ],
    ids=["top-level", "function-local", "type-checking"],
)
def test_an_upward_edge_from_every_floor_fails(tmp_path, row, statement):
    package, standing = _build_package(tmp_path)
    above = next(r for r in ROWS if r.floor == row.floor + 1)
    source = tmp_path / (row.paths[0] + "__init__.py" if row.paths[0].endswith("/") else row.paths[0])
    source.write_text(statement.format(target=standing[above]) + "\n")
    found = layering_violations(package, ROWS)
    assert len(found) == 1 and found[0].startswith(standing[row]) and "upward" in found[0], found


@pytest.mark.parametrize(
    ("statement", "target"),
    [
        ("from roma.evaluation.sweep import run_sweep", "roma.evaluation.sweep"),
        ("from ..evaluation import sweep", "roma.evaluation.sweep"),
        ("from roma import evaluation", "roma.evaluation"),
        ("from .. import evaluation", "roma.evaluation"),
    ],
)
def test_a_sideways_edge_fails_in_every_spelling(tmp_path, statement, target):
    package, _ = _build_package(tmp_path)
    (package / "evaluation" / "sweep.py").write_text("")
    (package / "trainer" / "probe.py").write_text(statement + "\n")
    found = layering_violations(package, ROWS)
    assert found == [f"roma.trainer.probe imports {target}, a sibling on floor 4: sideways"]


def test_importing_the_package_root_fails(tmp_path):
    package, _ = _build_package(tmp_path)
    (package / "trainer" / "probe.py").write_text("from roma import RomaConfig\n")
    assert layering_violations(package, ROWS) == [
        "roma.trainer.probe (floor 4) imports roma (floor 7): upward"
    ]


def test_an_import_cycle_fails(tmp_path):
    package, _ = _build_package(tmp_path)
    (package / "evaluation" / "a.py").write_text("from roma.evaluation.b import x\n")
    (package / "evaluation" / "b.py").write_text("def later():\n    from . import c\n")
    (package / "evaluation" / "c.py").write_text("import roma.evaluation.a\n")
    assert layering_violations(package, ROWS) == []  # one row: the floors allow it, the cycle check does not
    assert import_cycles(package) == [["roma.evaluation.a", "roma.evaluation.b", "roma.evaluation.c"]]


def test_a_module_outside_the_table_fails(tmp_path):
    package, _ = _build_package(tmp_path)
    (package / "newcomer.py").write_text("")
    assert layering_violations(package, ROWS) == ["roma.newcomer is in no row of the layer table"]
