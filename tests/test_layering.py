"""The layers depend one way: dsl <- compiler <- runtime; the compiler never imports torch."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
# Folder -> top-level modules (or homog packages) its code must never import.
FORBIDDEN = {
    "dsl": ("homog.compiler", "homog.runtime", "torch"),
    "compiler": ("homog.runtime", "torch"),
}


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.ImportFrom) and node.level > 1:
            found.append((node.lineno, "." * node.level + (node.module or "")))
    return found


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(folder):
    bad = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        depth = len(path.relative_to(ROOT / folder).parts) - 1  # `..` inside a subpackage stays in the layer
        for line, module in _imports(path):
            leaves_layer = module.startswith(".") and len(module) - len(module.lstrip(".")) > depth + 1
            if leaves_layer or any(module == f or module.startswith(f + ".") for f in FORBIDDEN[folder]):
                bad.append(f"{path.relative_to(ROOT)}:{line}: imports {module}")
    assert not bad, "\n".join(bad)


def test_the_check_finds_a_forbidden_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import torch\nfrom homog.runtime import cli\nfrom ..x import y\n")
    assert [name for _, name in _imports(module)] == ["torch", "homog.runtime", "..x"]
