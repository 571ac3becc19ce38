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
