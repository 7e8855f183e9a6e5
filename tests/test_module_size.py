"""Room sizes: no module of `roma/` over 600 lines, no function over 80 (docs/architecture.md, "Module map").

A function's length is from its ``def`` (decorators excluded) to its last line, less its docstring: a long
docstring is documentation, not a longer function. Nested functions count inside their parent and on their own.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "roma"
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80


def oversized(path: Path, root: Path) -> list[str]:
    """``path``'s module if it is over `MAX_MODULE_LINES` lines and each function over `MAX_FUNCTION_LINES`."""
    text = path.read_text()
    name = path.relative_to(root).as_posix()
    found = []
    lines = len(text.splitlines())
    if lines > MAX_MODULE_LINES:
        found.append(f"{name}: {lines} lines (at most {MAX_MODULE_LINES})")
    for node in ast.walk(ast.parse(text, filename=str(path))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                length -= first.end_lineno - first.lineno + 1
            if length > MAX_FUNCTION_LINES:
                found.append(
                    f"{name}:{node.lineno} {node.name}: {length} lines (at most {MAX_FUNCTION_LINES})"
                )
    return found


def test_no_module_or_function_of_roma_is_oversized():
    found = [line for path in sorted(PACKAGE.rglob("*.py")) for line in oversized(path, PACKAGE.parent)]
    assert found == []


def test_the_check_fails_on_a_long_module_and_a_long_function(tmp_path):
    docstring = '    """' + "Documented at length.\n" * 30 + '    """\n'
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES - 1))
    (tmp_path / "fits.py").write_text(f"def fits():\n{docstring}{body}")  # 80 lines besides its docstring
    (tmp_path / "long.py").write_text(f"def long():\n{body}    x = 0\n    return x\n")
    (tmp_path / "big.py").write_text("x = 0\n" * (MAX_MODULE_LINES + 1))
    assert oversized(tmp_path / "fits.py", tmp_path) == []
    assert oversized(tmp_path / "long.py", tmp_path) == ["long.py:1 long: 82 lines (at most 80)"]
    assert oversized(tmp_path / "big.py", tmp_path) == ["big.py: 601 lines (at most 600)"]
