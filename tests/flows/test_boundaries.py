"""Import boundaries from DESIGN.md: who may import the tracker and the schema library."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


FLOWS = sorted((REPO / "flows").rglob("*.py"))


@pytest.mark.parametrize("path", FLOWS, ids=lambda p: str(p.relative_to(REPO)))
def test_only_tracking_imports_mlflow_and_only_schema_imports_pandera(path):
    roots = imported_roots(path)
    rel = path.relative_to(REPO).as_posix()
    if "mlflow" in roots:
        assert rel.startswith("flows/tracking/"), f"{rel} imports mlflow"
    if "pandera" in roots:
        assert rel == "flows/schema.py", f"{rel} imports pandera"


def test_nncore_does_not_import_flows():
    for path in (REPO / "nncore").rglob("*.py"):
        assert "flows" not in imported_roots(path), path
