"""The code standards, checked like any other behaviour: ruff and mypy --strict."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import require_program

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_is_clean() -> None:
    ruff = str(BIN / "ruff") if (BIN / "ruff").exists() else require_program("ruff")
    done = _run([ruff, "check", "shellvault", "tests", "testkit", "scripts", "demo", "benchmarks"])
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_strict_is_clean() -> None:
    done = _run([sys.executable, "-m", "mypy"])
    assert done.returncode == 0, done.stdout + done.stderr


def test_only_tests_import_the_tests() -> None:
    """The demo, the benchmarks, the scripts and the shared harness (testkit) import
    nothing from tests/: what they share with the tests lives in testkit."""
    import ast

    offenders = []
    for top in ("shellvault", "testkit", "scripts", "demo", "benchmarks"):
        for path in (ROOT / top).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names
                              if n == "tests" or n.startswith("tests.")]
    assert offenders == []
