"""The layers import down, never up: ``registry/``, ``domain/``, ``validation/``, ``catalog/``, ``pipelines/``.

Every Python file of ``domain/``, ``validation/`` and ``catalog/`` (but ``catalog/ckan/``, the CKAN
extension and tools that run in CKAN's own virtualenv) is read with :mod:`ast`, and every import in
it, at the top or inside a function, is checked: none of them may import ``pipelines``, and
``domain/`` may import neither ``validation`` nor ``catalog``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

#: package -> the top-level packages it must not import (those above it)
ABOVE = {
    "domain": ("validation", "catalog", "pipelines"),
    "validation": ("catalog", "pipelines"),
    "catalog": ("pipelines",),
}
SKIPPED = (REPO / "catalog" / "ckan",)


def imported_modules(source: str) -> list[tuple[int, str]]:
    """``(line, module)`` of every import in ``source``, at any depth; relative imports are skipped."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def upward_imports(source: str, forbidden: tuple[str, ...]) -> list[tuple[int, str]]:
    """The imports of ``source`` of any package in ``forbidden`` or a module below one."""
    return [(line, module) for line, module in imported_modules(source) if module.split(".")[0] in forbidden]


def python_files(package: str) -> list[Path]:
    return sorted(p for p in (REPO / package).rglob("*.py") if not any(p.is_relative_to(s) for s in SKIPPED))


def test_the_checker_finds_an_upward_import():
    source = (
        "import os\n"
        "from domain.rounds import Round\n"
        "import pipelines\n"
        "def f():\n"
        "    from pipelines.stages import publish\n"
        "    import pipelines.cli as cli\n"
        "class C:\n"
        "    def g(self):\n"
        "        from catalog import outputs\n"
        "from pipelinesque import nothing\n"
        "from . import sibling\n"
    )
    assert upward_imports(source, ("pipelines",)) == [(3, "pipelines"), (5, "pipelines.stages"), (6, "pipelines.cli")]
    assert upward_imports(source, ABOVE["domain"]) == [
        (3, "pipelines"),
        (5, "pipelines.stages"),
        (6, "pipelines.cli"),
        (9, "catalog"),
    ]


@pytest.mark.parametrize("package", sorted(ABOVE))
def test_no_import_runs_up(package):
    files = python_files(package)
    assert files, f"no Python files under {package}/"
    upward = [
        f"{path.relative_to(REPO)}:{line}: {module}"
        for path in files
        for line, module in upward_imports(path.read_text(encoding="utf-8"), ABOVE[package])
    ]
    assert not upward, f"{package}/ imports from a layer above it:\n" + "\n".join(upward)
