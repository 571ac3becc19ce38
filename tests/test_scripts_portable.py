"""scripts/* on a Mac: bash 3.2 syntax only, BSD date and shasum, no Debian packages asked
for, and one clear line where a script cannot work there (scripts/bench).

The "Mac" is this machine with a PATH whose `uname` says Darwin, whose `date` is BSD's
(no %N: it prints the letters), and which has `shasum` but no `sha256sum`, `dpkg-query`
or `apt-get`; every other program is the real one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.test_shell_static import bash4_violations

SCRIPTS = sorted(p for p in (REPO_ROOT / "scripts").iterdir() if p.is_file())
NEEDED = ("bash", "cat", "cut", "printf", "python3", "rm", "mkdir", "shasum", "perl", "env",
          "dirname", "id", "grep", "sed", "tr", "head")


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_scripts_use_bash_3_2_syntax_only(path: Path) -> None:
    assert path.read_text().startswith("#!/usr/bin/env bash")
    assert bash4_violations(path.read_text()) == []


def _fake_mac(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "mac-bin"
    bin_dir.mkdir()
    for name in NEEDED:
        real = shutil.which(name)
        assert real, f"{name} is needed to stage a Mac"
        (bin_dir / name).symlink_to(real)
    (bin_dir / "uname").write_text("#!/bin/sh\necho Darwin\n")
    real_date = shutil.which("date")
    # BSD date knows no %N and prints the rest of the format literally.
    (bin_dir / "date").write_text(
        f'#!/bin/sh\ncase "$*" in *%N*) echo "$({real_date} +%s)3N" ;;\n'
        f'*) exec {real_date} "$@" ;; esac\n')
    for name in ("uname", "date"):
        (bin_dir / name).chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SHELLVAULT_"))}
    env["PATH"] = str(bin_dir)
    return env


def test_scripts_test_setup_on_a_mac_asks_for_no_debian_package(tmp_path: Path) -> None:
    env = _fake_mac(tmp_path)
    stamp = REPO_ROOT / ".venv" / ".shellvault-test-stamp"
    before = stamp.read_text()
    done = subprocess.run(["bash", str(REPO_ROOT / "scripts" / "test"), "--setup-only"],
                          env=env, capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert "apt-get" not in done.stderr and "Debian package" not in done.stderr.replace(
        "no Debian packages here", "")
    assert "brew install" in done.stderr
    assert "environment ready in" in done.stderr
    # shasum gives the same stamp as sha256sum: nothing was reinstalled
    assert "pip install" not in done.stderr and stamp.read_text() == before


def test_scripts_bench_on_a_mac_is_one_clear_line(tmp_path: Path) -> None:
    done = subprocess.run(["bash", str(REPO_ROOT / "scripts" / "bench")], env=_fake_mac(tmp_path),
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "needs Linux" in done.stderr
    assert done.stdout == ""


def test_scripts_demo_on_a_mac_installs_nothing_when_the_venv_has_it(tmp_path: Path) -> None:
    """The install step runs (its stamp, or the test stamp, matches: nothing to install)
    and hands over to the demo, which refuses an unknown shell in one line."""
    env = _fake_mac(tmp_path)
    done = subprocess.run(["bash", str(REPO_ROOT / "scripts" / "demo"), "--shell", "tcsh"],
                          env=env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert done.returncode != 0
    assert "installing" not in done.stderr and "apt-get" not in done.stderr
    assert "tcsh" in done.stderr and "Traceback" not in done.stderr
    helped = subprocess.run(["bash", str(REPO_ROOT / "scripts" / "demo"), "--help"], env=env,
                            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert helped.returncode == 0 and "--check" in helped.stdout


def test_the_demo_imports_nothing_of_the_test_extras() -> None:
    """What `.[demo]` installs is enough: pytest, hypothesis, mypy and ruff are absent."""
    import sys

    code = (
        "import sys\n"
        "for name in ('pytest', 'hypothesis', 'mypy', 'ruff', '_pytest'):\n"
        "    sys.modules[name] = None  # importing it now fails\n"
        f"sys.path.insert(0, {str(REPO_ROOT / 'demo')!r})\n"
        "import demo_env, demo_check, demo_main\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=REPO_ROOT / "demo")
    assert done.returncode == 0 and done.stdout == "ok\n", done.stderr
