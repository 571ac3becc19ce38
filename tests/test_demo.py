"""``scripts/demo``, the README's run command, run the way a user runs it.

* ``scripts/demo --check`` as a subprocess (no stdin, ``CI=true``): exit 0 and one
  ``PASS`` line per step and shell, so CI runs the whole demo.
* ``scripts/demo --shell bash`` on a pseudo-terminal: the tour, a prompt, ``exit``;
  then the emulator is gone and the temp dir deleted. The same after SIGHUP (the
  terminal closed) and after Ctrl-C during the setup.
* Without a terminal the tour refuses to start and points at ``--check``.

The demo's temp dirs go to a private TMPDIR, so "nothing left behind" is exact.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pexpect
import psutil
import pytest

from tests.conftest import REPO_ROOT, require_program

DEMO = REPO_ROOT / "scripts" / "demo"
SHELLS = ("bash", "zsh", "fish")
STEPS = (
    "start",
    "eval-env",
    "prompt",
    "complete-with-role",
    "complete-shellvault",
    "s3-account-a",
    "with-role-account-b",
    "env-unchanged",
    "exit",
)
PROMPT = re.compile(r"\[shellvault demo\] \S+ [#$%>] ")


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SHELLVAULT_"))}
    env.update(TMPDIR=str(tmp), **extra)
    return env


def _left_behind(tmp: Path) -> list[str]:
    """Demo temp dirs still in ``tmp`` and moto servers still running from one."""
    found = [p.name for p in tmp.glob("shellvault-demo.*")]
    for proc in psutil.process_iter(["cmdline", "cwd"]):
        try:
            cmd = " ".join(proc.info["cmdline"] or [])
            if "moto_server" in cmd and str(proc.info["cwd"] or "").startswith(str(tmp)):
                found.append(f"moto_server pid {proc.pid}")
        except psutil.Error:
            continue
    return found


def _wait_gone(tmp: Path, timeout: float = 15.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while (left := _left_behind(tmp)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


@pytest.fixture
def shells_installed() -> None:
    for shell in SHELLS:
        require_program(shell)


def test_demo_check_passes_every_step_in_every_shell(
    tmp_path: Path, shells_installed: None
) -> None:
    done = subprocess.run(
        [str(DEMO), "--check"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=_env(tmp_path, CI="true"),
        timeout=180,
        check=False,
    )
    report = f"--- stdout ---\n{done.stdout}\n--- stderr ---\n{done.stderr}"
    assert done.returncode == 0, report
    lines = done.stdout.splitlines()
    assert not [ln for ln in lines if ln.startswith("FAIL")], report
    for shell in SHELLS:
        for step in STEPS:
            assert any(ln.startswith(f"PASS [{shell}] {step}: ") for ln in lines), (
                f"no PASS line for {shell} {step}\n{report}"
            )
    assert any(ln.startswith("PASS [demo] cleanup: ") for ln in lines), report
    assert re.search(r"^demo check passed in [\d.]+s$", done.stdout, re.M), report
    assert not _left_behind(tmp_path)


def test_demo_check_one_shell(tmp_path: Path) -> None:
    require_program("bash")
    done = subprocess.run(
        [str(DEMO), "--check", "--shell", "bash"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS [bash] with-role-account-b: " in done.stdout
    assert "[zsh]" not in done.stdout and "[fish]" not in done.stdout


def _spawn_tour(tmp_path: Path, shell: str = "bash") -> pexpect.spawn:
    child = pexpect.spawn(
        str(DEMO),
        ["--shell", shell],
        env=_env(tmp_path, TERM="xterm"),
        encoding="utf-8",
        codec_errors="replace",
        dimensions=(50, 160),
        timeout=60,
    )
    child.delaybeforesend = None
    return child


def test_tour_starts_the_shell_and_cleans_up_on_exit(tmp_path: Path) -> None:
    require_program("bash")
    child = _spawn_tour(tmp_path)
    try:
        child.expect(PROMPT)
        tour = str(child.before)
        assert "Try:" in tour
        assert 'eval "$(shellvault env account-a)"' in tour
        assert "with-role account-b aws s3 ls" in tour
        assert "passphrase 'shellvault-demo'" in tour
        assert _left_behind(tmp_path), "no temp dir or moto server while the demo runs"
        child.sendline("shellvault ls")
        child.expect(r"central\s+stored")
        child.expect(PROMPT)
        child.sendline("exit")
        child.expect("deleting the demo HOME")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    assert _wait_gone(tmp_path) == []


def test_tour_cleans_up_when_the_terminal_hangs_up(tmp_path: Path) -> None:
    require_program("bash")
    child = _spawn_tour(tmp_path)
    try:
        child.expect(PROMPT)
        os.kill(child.pid, signal.SIGHUP)  # scripts/demo exec'd the venv's Python
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert _wait_gone(tmp_path) == []


def test_ctrl_c_during_setup_stops_the_emulator(tmp_path: Path) -> None:
    require_program("bash")
    child = _spawn_tour(tmp_path)
    try:
        child.expect("starting a local AWS emulator")
        time.sleep(0.5)  # moto is starting (or building the world)
        child.sendintr()
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 130 or child.signalstatus == signal.SIGINT
    assert _wait_gone(tmp_path) == []


def test_tour_without_a_terminal_points_at_check(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(DEMO)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "scripts/demo --check" in done.stderr
    assert _left_behind(tmp_path) == []
