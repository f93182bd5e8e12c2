"""The capability boundaries (pyproject.toml's import-linter contracts) hold, and they are not a check
that cannot fail: a capability that reaches into another's items is refused."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "layers" / "loyalty" / "python" / "loyalty"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(python_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(python_path)}
    return subprocess.run([str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120, check=False)


@pytest.fixture
def copied_package(tmp_path: Path) -> Path:
    shutil.copytree(PACKAGE, tmp_path / "loyalty", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_the_engine_keeps_its_boundaries() -> None:
    # Given the engine as it is
    # When the contracts are checked
    checked = lint_imports(PACKAGE.parent)
    # Then every one is kept
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "0 broken" in checked.stdout


def test_a_capability_reading_another_s_items_breaks_the_contract(copied_package: Path) -> None:
    # Given a copy of the engine where campaigns read the points balance item directly
    (copied_package / "loyalty" / "campaigns" / "peek.py").write_text(
        "from loyalty.points.items import BalanceItem\n\n\ndef balance(customer_id: str) -> object:\n"
        "    return BalanceItem.key(customer_id)\n")
    # When the contracts are checked
    checked = lint_imports(copied_package)
    # Then the capabilities' contract is broken, naming the import
    assert checked.returncode != 0
    assert "Capabilities meet only through each other's ports BROKEN" in checked.stdout
    assert "loyalty.campaigns.peek -> loyalty.points.items" in checked.stdout


def test_a_lazy_import_inside_a_function_counts_too(copied_package: Path) -> None:
    # Given a copy where privacy imports the coupons store inside a function (as lazy imports do)
    (copied_package / "loyalty" / "privacy" / "sneak.py").write_text(
        "def store() -> object:\n    from loyalty.coupons import store\n\n    return store\n")
    # When the contracts are checked
    checked = lint_imports(copied_package)
    # Then it is refused as well
    assert checked.returncode != 0 and "loyalty.privacy.sneak -> loyalty.coupons.store" in checked.stdout


def test_the_core_importing_a_capability_breaks_its_contract(copied_package: Path) -> None:
    # Given a copy where the core imports the customers' store
    (copied_package / "loyalty" / "core" / "shortcut.py").write_text("from loyalty.customers import store\n")
    # When the contracts are checked
    checked = lint_imports(copied_package)
    # Then the core's contract is broken
    assert checked.returncode != 0 and "The core knows no capability BROKEN" in checked.stdout
