"""Issue 10, faults, concurrency, bad input and secret hygiene, each class in the layer
where it bites: a real gnome-keyring stopped with SIGSTOP, a TCP listener that never
answers, many real shellvault processes, real environments and argv bytes.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import stat
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shellvault.errors import VaultError
from tests.test_engine_e2e import CODE, _login_holding_the_locks

KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def _one_line_failure(done: subprocess.CompletedProcess[str], code: int | None = None) -> str:
    assert done.returncode != 0 and (code is None or done.returncode == code), done
    assert done.stdout == "", done.stdout
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "internal error" not in done.stderr, done.stderr
    return lines[0]


# ----------------------------------------------------------------------------- D-Bus deadlines


@contextlib.contextmanager
def _stopped(pids: list[int]) -> Iterator[None]:
    assert pids, "no gnome-keyring-daemon found to stop"
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


def test_a_stopped_secret_service_never_hangs_a_write(
    secret_service: dict[str, str], secret_service_session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Class: a D-Bus call without a deadline (item 3). The write path (secretstorage),
    the delete path and the listing path each end with one message naming the Secret
    Service, while the real daemon is stopped."""
    from shellvault import secretservice

    for key, value in secret_service.items():
        monkeypatch.setenv(key, value)
    store = secretservice.SecretServiceStore()
    store.set("master:probe", "{}")  # opened while the daemon answers
    fresh = secretservice.SecretServiceStore()
    with _stopped(secret_service_session._daemon_pids()):
        for call in (lambda: store.set("master:x", "{}"), lambda: store.delete("master:probe"),
                     store.names, lambda: fresh.set("master:y", "{}"),
                     lambda: store.get("master:probe")):
            with pytest.raises(VaultError) as info:
                call()
            assert "Secret Service (OS keyring) did not answer" in str(info.value)
    store.delete("master:probe")


def test_a_stopped_secret_service_is_one_line_from_the_cli(
    sv_home: Any, secret_service: dict[str, str], secret_service_session: Any
) -> None:
    sv_home.use_keyring(secret_service)
    with _stopped(secret_service_session._daemon_pids()):
        for argv in (["add", "p", "--env"], ["clear"], ["remove", "-f", "p"]):
            done = sv_home.run(*argv, env={"AWS_ACCESS_KEY_ID": KEY_ID,
                                           "AWS_SECRET_ACCESS_KEY": SECRET})
            assert "Secret Service" in _one_line_failure(done), argv


# ----------------------------------------------------------------------------- silent STS


class _SilentListener:
    """Accepts TCP connections on 127.0.0.1 and never answers; counts them."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.sock.accept()
                self.accepted.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def silent_sts() -> Iterator[_SilentListener]:
    listener = _SilentListener()
    yield listener
    listener.close()


@pytest.mark.parametrize("no_input", [True, False])
def test_a_silent_sts_ends_with_did_not_answer(
    aws_home: Any, silent_sts: _SilentListener, no_input: bool
) -> None:
    """Class: network calls without a total deadline (item 4). botocore used to retry a
    silent endpoint 6 times with 20 s each; now the whole request has a budget, so at
    most a few attempts are made and the message says STS did not answer."""
    argv = ["env", "account-a", "--mfa-token", CODE] + (["--no-input"] if no_input else [])
    done = aws_home.run(*argv, env={"AWS_ENDPOINT_URL": silent_sts.url}, timeout=90)
    line = _one_line_failure(done)
    assert "did not answer" in line and silent_sts.url in line, line
    assert 1 <= len(silent_sts.accepted) <= (2 if no_input else 3)


# ----------------------------------------------------------------------------- --no-input


def test_no_input_never_queues_behind_a_prompting_process(
    aws_home: Any, tmp_path: Path
) -> None:
    """Class: a caller that may not prompt waits for one that is prompting (item 5)."""
    holder, _ = _login_holding_the_locks(aws_home, tmp_path, 60)
    try:
        done = aws_home.run("env", "account-a", "--no-input", timeout=30)
        line = _one_line_failure(done, 3)
        assert "shellvault auth account-a" in line and "waiting for an answer" in line, line
        assert holder.poll() is None  # it failed at once, while the holder still prompts
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)


def test_the_prompt_hooks_issuer_never_queues_behind_a_prompt(
    aws_home: Any, tmp_path: Path
) -> None:
    """The same class on the prompt hook's own path (`hook.engine_issuer`), which calls
    the engine without the click command: the rule lives in the engine."""
    code = ("import sys\nfrom shellvault.errors import ShellvaultError\n"
            "from shellvault.hook import engine_issuer\n"
            "try:\n    engine_issuer('account-a', True, None)\n"
            "except ShellvaultError as exc:\n    print(exc.exit_code, exc)\n")
    holder, _ = _login_holding_the_locks(aws_home, tmp_path, 60)
    try:
        done = aws_home.run_program([str(Path(aws_home.shellvault).parent / "python"), "-c",
                                     code], timeout=30)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("3 ") and "waiting for an answer" in done.stdout, done
        assert holder.poll() is None
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)


# ----------------------------------------------------------------------------- concurrency


def _parallel(home: Any, argvs: list[list[str]], env: dict[str, str] | None = None
              ) -> list[subprocess.CompletedProcess[str]]:
    full = home.merged_env(env)
    procs = [subprocess.Popen([home.shellvault, *argv], env=full, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              cwd=home.home, start_new_session=True) for argv in argvs]
    results = []
    for argv, proc in zip(argvs, procs, strict=True):
        out, err = proc.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(argv, proc.returncode, out, err))
    return results


def test_parallel_adds_lose_no_config_section_and_no_key(sv_home: Any) -> None:
    """Class: unlocked read-modify-write of shared files (items 1, 2): nine `add` at once
    into a fresh HOME; every profile is in the config, the index and the store."""
    names = [f"p{i}" for i in range(9)]
    env = {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET}
    for done in _parallel(sv_home, [["add", n, "--env", "--no-mfa"] for n in names], env):
        assert done.returncode == 0, done.stderr
    from shellvault.config import AwsConfig

    assert sorted(AwsConfig.load(sv_home.config_path).profile_names()) == names
    index = json.loads((sv_home.state_dir / "index.json").read_text())
    assert sorted(index["masters"]) == names
    listed = json.loads(sv_home.run("list", "--json", check=True).stdout)
    assert sorted(r["profile"] for r in listed if r["credentials"] == "stored") == names


def test_parallel_clears_of_the_keyring_all_succeed(
    sv_home: Any, secret_service: dict[str, str]
) -> None:
    """Item 16: concurrent `clear` on the Secret Service: items another process deleted
    first are not an error."""
    sv_home.use_keyring(secret_service)
    sv_home.add_keys("p", KEY_ID, SECRET)
    from shellvault import secretservice

    env = sv_home.merged_env()
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        store = secretservice.SecretServiceStore()
        for i in range(12):
            store.set(f"session:role-{i}", json.dumps({"AccessKeyId": "A", "SecretAccessKey": "S",
                                                      "Expires": 0, "SvProfile": "p"}))
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    for done in _parallel(sv_home, [["clear"]] * 6):
        assert done.returncode == 0 and "internal error" not in done.stderr, done.stderr


# ----------------------------------------------------------------------------- revocation


def test_remove_finds_sessions_when_the_index_is_lost(aws_home: Any) -> None:
    """Class: revocation trusting the index (item 9): with the state directory gone, `rm`
    still removes the role sessions of the user's key, and `ls` sees the vault."""
    aws_home.run("auth", "account-a", "--mfa-token", CODE, check=True)
    (aws_home.state_dir / "index.json").unlink()
    listed = json.loads(aws_home.run("list", "--json", check=True).stdout)
    row = next(r for r in listed if r["profile"] == "account-a")
    assert row["sessions"], listed  # rebuilt from the items themselves
    (aws_home.state_dir / "index.json").unlink()
    done = aws_home.run("remove", "-f", "central", check=True)
    assert "and 2 cached session(s)" in done.stderr, done.stderr
    served = aws_home.run("env", "account-a", "--no-input")
    assert served.returncode != 0 and served.stdout == ""


# ----------------------------------------------------------------------------- bad input


def test_non_utf8_bytes_in_arguments_and_variables_are_one_line(aws_home: Any) -> None:
    """Class: bytes that are not UTF-8 from outside (item 19). Python keeps them as
    surrogate escapes, which no store, D-Bus call or output can carry."""
    bad = os.fsdecode(b"\xff\xfe")
    for argv, env in (
        (["env", "account-a"], {"AWS_REGION": bad}),
        (["env", "account-a"], {"AWS_MFA_SERIAL": bad}),
        (["add", bad, "--env"], {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET}),
        (["env", bad], {}),
    ):
        line = _one_line_failure(aws_home.run(*argv, env=env), 2)
        assert "not valid UTF-8" in line, line
    aws_home.config_path.write_bytes(aws_home.config_path.read_bytes()
                                     + b"\n[profile caf\xe9]\nsource_profile = central\n")
    done = aws_home.run("env", os.fsdecode(b"caf\xe9"))
    _one_line_failure(done, 2)


def test_mfa_codes_are_ascii_digits_only(aws_home: Any, moto_server: Any) -> None:
    """Item 14: \\d took full-width and other Unicode digits, which went to AWS."""
    for code in ("\uff11\uff12\uff13\uff14\uff15\uff16", "\u0661\u0662\u0663\u0664\u0665\u0666"):
        moto_server.mark()
        done = aws_home.run("env", "account-a", "--mfa-token", code)
        assert "six digits" in _one_line_failure(done, 2)
        assert moto_server.sts_calls() == []


def test_add_with_an_invalid_name_stores_nothing(sv_home: Any) -> None:
    """Item 15: the name is checked before the key is stored."""
    env = {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET}
    for name in (" padded", "two\nlines", ""):
        _one_line_failure(sv_home.run("add", name, "--env", "--no-mfa", env=env))
    assert not (sv_home.state_dir / "index.json").exists()
    assert not list((sv_home.data_dir / "vault").glob("*master*"))


def test_a_credential_process_loop_ends(sv_home: Any) -> None:
    """Item 20: credential_process = shellvault export <same profile> forked forever."""
    sv_home.write_config("[profile loop]\ncredential_process = shellvault export loop\n"
                         "[profile a]\ncredential_process = shellvault export b\n"
                         "[profile b]\ncredential_process = shellvault export a\n")
    for name in ("loop", "a"):
        done = sv_home.run("env", name, timeout=60)
        assert done.returncode != 0 and done.stdout == ""
        assert "loops back into shellvault" in done.stderr and "internal error" not in done.stderr


def test_private_directories_under_umask_000(sv_home: Any) -> None:
    """Item 21: parents created by `mkdir -p` took 0777 under umask 000."""
    base = sv_home.home / "fresh"
    env = {"XDG_STATE_HOME": str(base / "state" / "deep"),
           "XDG_DATA_HOME": str(base / "data" / "deep"),
           "AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET}
    done = subprocess.run([sv_home.shellvault, "add", "p", "--env", "--no-mfa"],
                          env=sv_home.merged_env(env), capture_output=True, text=True,
                          timeout=60, preexec_fn=lambda: os.umask(0), cwd=sv_home.home)
    assert done.returncode == 0, done.stderr
    made = [p for p in base.rglob("*") if p.is_dir()]
    assert made and all(stat.S_IMODE(p.stat().st_mode) == 0o700 for p in made), [
        (str(p), oct(p.stat().st_mode)) for p in made]


def test_the_waiting_notice_never_shows_the_holders_arguments(aws_home: Any, tmp_path: Path
                                                              ) -> None:
    """Item 22: the notice printed the holder's argv, including an --mfa-token code."""
    holder, _ = _login_holding_the_locks(aws_home, tmp_path, 3)
    try:
        waiter = aws_home.run("env", "account-a", "--mfa-token", "654321", timeout=60)
        assert "waiting for pid" in waiter.stderr, waiter.stderr
        assert "account-a (" not in waiter.stderr and "auth account-a" not in waiter.stderr
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
