"""nncore depends on NumPy, SciPy and the standard library only (DESIGN.md, Layout)."""

import ast
import subprocess
import sys
from pathlib import Path

import nncore

FORBIDDEN = {"pandas", "prefect", "mlflow", "pandera"}
ALLOWED_THIRD_PARTY = {"numpy", "scipy"}
PACKAGE = Path(nncore.__file__).parent


def _imported_top_level_names(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_no_module_imports_the_pipeline_stack():
    files = sorted(PACKAGE.glob("*.py"))
    assert files
    for path in files:
        names = _imported_top_level_names(path)
        assert not names & FORBIDDEN, f"{path.name} imports {names & FORBIDDEN}"
        third_party = names - set(sys.stdlib_module_names) - {"nncore"}
        assert third_party <= ALLOWED_THIRD_PARTY, f"{path.name} imports {third_party}"


def test_importing_nncore_loads_none_of_them():
    probe = (
        "import sys, nncore; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(FORBIDDEN)!r}))"
    )
    output = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "[]"
