"""The import direction of DESIGN §1 is the architecture; these tests enforce it."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"app", "collectors", "sync", "metrics", "alerts", "sandbox"}
MAY_IMPORT = {
    "collectors": set(),
    "sync": {"collectors"},
    "metrics": {"sync", "collectors"},
    "alerts": {"metrics", "sync", "collectors"},
    "sandbox": set(),
    "app": OURS - {"app"},
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_each_package_imports_only_what_it_may(package: str) -> None:
    offences = []
    for path in sorted((ROOT / package).rglob("*.py")):
        imported = imported_packages(path)
        wrong = (imported & OURS) - MAY_IMPORT[package] - {package}
        if package != "app" and "streamlit" in imported:
            wrong.add("streamlit")
        if wrong:
            offences.append(f"{path.relative_to(ROOT)} imports {sorted(wrong)}")
    assert offences == []


def test_the_checker_catches_a_wrong_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from sandbox.server import Sandbox\nimport streamlit as st\n")
    assert imported_packages(bad) == {"sandbox", "streamlit"}


def test_import_linter_contracts_hold() -> None:
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if lint is None:
        pytest.skip("import-linter is not installed")
    result = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_app_writes_no_sql() -> None:
    """The selects live in the store (``sync.store.dashboard``, ``sync.store.triage``): no
    module of app imports SQLAlchemy, bar the CLI's failure explainer, which names the store's
    errors (a bad database URL, an unreachable database) to say how to fix them."""
    importers = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "app").rglob("*.py"))
        if "sqlalchemy" in imported_packages(path)
    ]
    assert importers == ["app/cli/failures.py"]
