"""Issue 11: the file store's passphrase once per login, not once per command.

Real parts only: the kernel keyring (a private session keyring per test, see
tests/keyring_session.py), the real file store, moto's STS, real bash and direnv through
a pseudo-terminal.
"""

from __future__ import annotations

import errno
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pexpect
import pytest

from shellvault.keycache import KeyCache, _kernel
from tests.conftest import SvHome, require_program
from tests.keyring_session import cached_key, private_keyring  # noqa: F401 (a fixture)
from tests.shellharness import ShellSession

PASSPHRASE_PROMPT = "shellvault file store passphrase: "
LOCKED = "shellvault: the file store is locked: run 'shellvault unlock'"
NO_PASSPHRASE = {"SHELLVAULT_FILE_PASSPHRASE": None}


@pytest.fixture
def home(aws_home: SvHome, request: pytest.FixtureRequest) -> SvHome:
    """aws_home (alice's keys stored under its passphrase), without the passphrase in
    the environment: from now on it is typed, as a user without a keyring would.
    Its processes share the test's private session keyring."""
    request.getfixturevalue("private_keyring")
    del aws_home.env["SHELLVAULT_FILE_PASSPHRASE"]
    return aws_home


def spawn(home: SvHome, *args: str, env: dict[str, str | None] | None = None) -> pexpect.spawn:
    return pexpect.spawn(home.shellvault, list(args), env=home.merged_env(env),
                         cwd=str(home.home), encoding="utf-8", timeout=60)


def finish(child: pexpect.spawn) -> tuple[str, int]:
    child.expect(pexpect.EOF)
    child.close()
    status = child.exitstatus if child.exitstatus is not None else 128 + child.signalstatus
    return child.before, status


def unlock(home: SvHome, passphrase: str | None = None,
           env: dict[str, str | None] | None = None) -> str:
    child = spawn(home, "unlock", env=env)
    child.expect_exact(PASSPHRASE_PROMPT)
    child.sendline(passphrase or home.passphrase)
    out, status = finish(child)
    assert status == 0, out
    return out


def data_dir(home: SvHome) -> Path:
    return home.data_dir


# ------------------------------------------------------------------ one prompt, then none


def test_one_prompt_then_env_with_role_refresh_and_direnv_without_one(
    home: SvHome, moto_server: Any
) -> None:
    from tests.test_direnv import direnv_export_json, install_extension, make_project

    require_program("direnv")
    env = {k: v for k, v in home.env.items() if k != "TERM"}
    env.update({"SHELLVAULT_ROLE_TTL": "900", "SHELLVAULT_REFRESH_WITHIN": "1000"})
    with ShellSession("bash", home.home, env=env, timeout=60) as sh:
        assert sh.child is not None
        sh.child.sendline("shellvault unlock")
        sh.child.expect_exact(PASSPHRASE_PROMPT)
        sh.child.sendline(home.passphrase)
        out = sh._expect_prompt()
        assert "the file store is unlocked for 8h" in out
        assert cached_key(data_dir(home)) is not None

        moto_server.mark()
        sh.child.sendline('eval "$(shellvault env account-a)"')
        sh.child.expect(r"MFA code for arn:aws:iam::\d+:mfa/alice: ")
        assert home.world is not None
        sh.child.sendline(home.world.mfa_code())
        # The prompt after the eval sees 900 s < 1000 s left and refreshes in place
        # (shellvault env --no-input): through the unlocked store, without asking.
        out = sh._expect_prompt()
        assert "passphrase" not in out
        assert moto_server.sts_calls() == ["GetSessionToken", "AssumeRole", "AssumeRole"]
        assert sh.get("SHELLVAULT_ACCOUNT") == home.world.account_a

        r = sh.run("with-role account-b sh -c 'echo $SHELLVAULT_ACCOUNT'")
        assert r.status == 0 and home.world.account_b in r.output, r
        assert "passphrase" not in r.output + r.after

        # direnv (no terminal at all) through the same login's cached key.
        install_extension(home)
        proj = make_project(home, "use shellvault account-a\n")
        changes, err, _ = direnv_export_json(home, proj)
        assert changes.get("SHELLVAULT_ACCOUNT") == home.world.account_a, err
        # credential_process, run by an AWS SDK (the aws CLI's botocore), no terminal.
        with home.config_path.open("a") as config:
            config.write("\n[profile via-sv]\nregion = us-east-1\n"
                         "credential_process = shellvault export account-b --no-input\n")
        done = home.run_program([require_program("aws"), "s3", "ls", "--profile", "via-sv"])
        assert done.returncode == 0, done.stderr
        assert "account-b-bucket" in done.stdout, done.stdout

        r = sh.run("shellvault lock")
        assert "locked the file store" in r.output
        assert cached_key(data_dir(home)) is None
        done = home.run("env", "--no-input", "account-a")
        assert (done.returncode, done.stdout, done.stderr.strip()) == (4, "", LOCKED)
        changes, err, _ = direnv_export_json(home, proj)
        assert "SHELLVAULT_ACCOUNT" not in changes
        assert "the file store is locked: run 'shellvault unlock'" in err

        # Locked: the next command in a terminal asks again, once, and unlocks.
        sh.child.sendline('eval "$(shellvault env account-a)"')
        sh.child.expect_exact(PASSPHRASE_PROMPT)
        sh.child.sendline(home.passphrase)
        out = sh._expect_prompt()
        assert "the file store stays unlocked for 8h" in out
        assert sh.last_status == 0
        assert cached_key(data_dir(home)) is not None
        r = sh.run('eval "$(shellvault env account-b)"; echo "[$SHELLVAULT_ACCOUNT]"')
        assert f"[{home.world.account_b}]" in r.output and "passphrase" not in r.output


def test_the_cached_key_expires_after_its_ttl(home: SvHome) -> None:
    ttl = {"SHELLVAULT_FILE_UNLOCK_TTL": "2s"}
    assert "unlocked for 2s" in unlock(home, env=ttl)
    assert cached_key(data_dir(home)) is not None
    deadline = time.monotonic() + 30
    while cached_key(data_dir(home)) is not None:  # the kernel drops it by itself
        assert time.monotonic() < deadline, "the key outlived its timeout"
        time.sleep(0.2)
    done = home.run("env", "--no-input", "account-a", env=ttl)
    assert (done.returncode, done.stderr.strip()) == (4, LOCKED)
    child = spawn(home, "env", "account-a", "--mfa-token", "123456")
    child.expect_exact(PASSPHRASE_PROMPT)  # asks again
    child.sendline(home.passphrase)
    out, status = finish(child)
    assert status == 0, out


def test_ttl_zero_never_caches_and_a_bad_ttl_is_one_line(home: SvHome) -> None:
    off = {"SHELLVAULT_FILE_UNLOCK_TTL": "0"}
    child = spawn(home, "auth", "account-a", "--mfa-token", "123456", env=off)
    child.expect_exact(PASSPHRASE_PROMPT)
    child.sendline(home.passphrase)
    out, status = finish(child)
    assert status == 0, out
    assert cached_key(data_dir(home)) is None
    done = home.run("unlock", env=off)
    assert done.returncode == 2 and "SHELLVAULT_FILE_UNLOCK_TTL=0" in done.stderr
    bad = home.run("env", "account-a", env={"SHELLVAULT_FILE_UNLOCK_TTL": "soon"})
    assert bad.returncode == 2 and bad.stdout == ""
    assert len(bad.stderr.strip().splitlines()) == 1 and "internal error" not in bad.stderr


def test_a_mistyped_passphrase_may_be_retyped_and_caches_nothing(home: SvHome) -> None:
    child = spawn(home, "unlock")
    child.expect_exact(PASSPHRASE_PROMPT)
    child.sendline("not the passphrase")
    child.expect_exact("shellvault: wrong passphrase, try again")
    child.expect_exact(PASSPHRASE_PROMPT)
    assert cached_key(data_dir(home)) is None
    child.sendline(home.passphrase)
    out, status = finish(child)
    assert status == 0 and "unlocked for 8h" in out, out
    assert cached_key(data_dir(home)) is not None

    home.run("lock", check=True)
    child = spawn(home, "env", "account-a", "--mfa-token", "123456")
    for _ in range(3):
        child.expect_exact(PASSPHRASE_PROMPT)
        child.sendline("still wrong")
    out, status = finish(child)
    assert status == 1 and "wrong passphrase for the file store" in out, out
    assert cached_key(data_dir(home)) is None


def test_an_exported_passphrase_is_used_as_given_and_never_cached(home: SvHome) -> None:
    given = {"SHELLVAULT_FILE_PASSPHRASE": home.passphrase}
    home.run("auth", "account-a", "--mfa-token", "123456", env=given, check=True)
    assert cached_key(data_dir(home)) is None
    done = home.run("unlock", env=given)
    assert done.returncode == 2 and "unset it" in done.stderr


def test_a_warm_env_on_the_unlocked_store_imports_no_cryptography(home: SvHome) -> None:
    # cryptography's Rust binding was most of a warm file-store `env` (issue 11's speed
    # target); AES-GCM now goes through libcrypto (shellvault/aesgcm.py). Argon2id still
    # needs cryptography, so the unlock and the first auth may import it.
    unlock(home)
    home.run("auth", "account-a", "--mfa-token", "123456", check=True)
    code = "import sys; from shellvault.main import main; sys.argv[0] = 'shellvault'; main()"
    done = home.run_program([sys.executable, "-X", "importtime", "-c", code,
                             "env", "--shell", "bash", "--no-input", "account-a"])
    assert done.returncode == 0, done.stderr
    assert "export AWS_SESSION_TOKEN=" in done.stdout
    modules = {line.rpartition("|")[2].strip() for line in done.stderr.splitlines()
               if line.startswith("import time:")}
    assert {"shellvault.filestore", "shellvault.keycache", "shellvault.aesgcm"} <= modules
    assert not {m for m in modules if m.split(".")[0] in ("cryptography", "click", "boto3")}


# ------------------------------------------------------------------ stale keys, passwd


def test_a_stale_cached_key_is_dropped_and_never_used(home: SvHome) -> None:
    unlock(home)
    old_key = cached_key(data_dir(home))
    assert old_key is not None
    change_passphrase(home, home.passphrase, "the new one")
    assert cached_key(data_dir(home)) is None  # passwd drops it
    # A copy of the old key in the cache (another login's, or one put back) opens nothing:
    # it is found not to match meta.json, dropped, and the store stays locked.
    assert KeyCache(data_dir(home) / "vault").put(old_key, 600)
    vault = data_dir(home) / "vault"
    before = {p.name: p.read_bytes() for p in vault.iterdir()}
    keys = {"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
    for args in (("env", "--no-input", "account-a"), ("add", "second", "--env"),
                 ("rm", "central", "--force")):
        assert KeyCache(vault).put(old_key, 600)
        done = home.run(*args, env=keys)
        assert (done.returncode, done.stderr.strip()) == (4, LOCKED), args
        assert cached_key(data_dir(home)) is None, args
    assert {p.name: p.read_bytes() for p in vault.iterdir()} == before
    ok = home.run("auth", "account-a", "--mfa-token", "123456",
                  env={"SHELLVAULT_FILE_PASSPHRASE": "the new one"})
    assert ok.returncode == 0, ok.stderr


def change_passphrase(home: SvHome, old: str, new: str) -> str:
    child = spawn(home, "passwd")
    child.expect("Current passphrase of the shellvault file store: ")
    child.sendline(old)
    child.expect_exact("New passphrase: ")
    child.sendline(new)
    child.expect_exact("Repeat it: ")
    child.sendline(new)
    out, status = finish(child)
    assert status == 0, out
    return out


def test_passwd_reencrypts_everything_and_only_the_new_passphrase_opens_it(
    home: SvHome,
) -> None:
    home.run("auth", "account-a", "--mfa-token", "123456",
             env={"SHELLVAULT_FILE_PASSPHRASE": home.passphrase}, check=True)
    vault = data_dir(home) / "vault"
    before = {p.name: p.read_bytes() for p in vault.iterdir()}
    out = change_passphrase(home, home.passphrase, "brand new passphrase")
    assert "item(s) re-encrypted" in out
    after = {p.name: p.read_bytes() for p in vault.iterdir()}
    assert sorted(after) == sorted(before)
    assert all(after[name] != before[name] for name in before)  # every file rewritten
    assert [p.name for p in vault.parent.iterdir() if p.name.startswith(".")] == []
    old = home.run("env", "--no-input", "account-a",
                   env={"SHELLVAULT_FILE_PASSPHRASE": home.passphrase})
    assert old.returncode == 1 and "wrong passphrase" in old.stderr
    new = home.run("env", "--no-input", "account-a",
                   env={"SHELLVAULT_FILE_PASSPHRASE": "brand new passphrase"})
    assert new.returncode == 0 and "AWS_SESSION_TOKEN" in new.stdout, new.stderr


def test_ctrl_c_or_a_failure_during_passwd_leaves_the_old_store(home: SvHome) -> None:
    home.run("auth", "account-a", "--mfa-token", "123456",
             env={"SHELLVAULT_FILE_PASSPHRASE": home.passphrase}, check=True)
    vault = data_dir(home) / "vault"

    def snapshot() -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in vault.iterdir()}

    before = snapshot()
    for stop_at in ("New passphrase: ", "Repeat it: "):
        child = spawn(home, "passwd")
        child.expect_exact("Current passphrase of the shellvault file store: ")
        child.sendline(home.passphrase)
        child.expect_exact("New passphrase: ")
        if stop_at == "Repeat it: ":
            child.sendline("half typed")
            child.expect_exact(stop_at)
        child.sendintr()
        out, status = finish(child)
        assert status == 130, out
        assert snapshot() == before
    # Half-way: the re-encryption meets an item it cannot decrypt after others were
    # done. Nothing of the new key reaches the store, and a passphrase change that a
    # crash left behind (its staging directory) is cleaned up by the next one.
    stale = vault.parent / ".vault.new-999999"
    stale.mkdir()
    (vault / "zzz-broken.item").write_text('{"version": 1, "data": "' + "A" * 60 + '"}')
    before = snapshot()
    child = spawn(home, "passwd")
    child.expect_exact("Current passphrase of the shellvault file store: ")
    child.sendline(home.passphrase)
    for prompt in ("New passphrase: ", "Repeat it: "):
        child.expect_exact(prompt)
        child.sendline("never used")
    out, status = finish(child)
    assert status == 1 and "was not changed" in out, out
    assert snapshot() == before
    assert [p.name for p in vault.parent.iterdir() if p.name.startswith(".")] == []
    done = home.run("env", "--no-input", "account-a",
                    env={"SHELLVAULT_FILE_PASSPHRASE": home.passphrase})
    assert done.returncode == 0, done.stderr


# ------------------------------------------------------------------ who can read the key


def _read_key_as(serial: int, uid: int | None) -> int:
    """errno of KEYCTL_READ on key SERIAL from a child in a session of its own (as UID)."""
    code = (
        "import ctypes, os, sys\n"
        "from shellvault.keycache import _kernel\n"
        "k = _kernel()\n"
        "k.keyctl(1, None)\n"  # its own session keyring, as any other login has
        f"uid = {uid!r}\n"
        "if uid is not None: os.setgid(uid); os.setuid(uid)\n"
        "try:\n"
        f"    k.read({serial}, 32)\n"
        "except OSError as e:\n"
        "    sys.exit(e.errno)\n"
        "sys.exit(0)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=30)
    return done.returncode


def _search(description: bytes) -> int:
    keyring = _kernel().keyctl(0, -3, 0)
    return _kernel().keyctl(10, keyring, b"user", description, 0)


def test_only_this_session_can_read_the_cached_key(home: SvHome) -> None:
    unlock(home)
    serial = _search(KeyCache(data_dir(home) / "vault").description)
    assert _kernel().read(serial, 32) == cached_key(data_dir(home))
    # The same user in another session keyring (another login) is not a possessor.
    assert _read_key_as(serial, None) == errno.EACCES
    if os.getuid() == 0:
        # Another user (nobody) cannot read it either.
        assert _read_key_as(serial, 65534) == errno.EACCES
    else:
        # Not root: no setuid() here; the possession check above is the same rule
        # the kernel applies to another user, who also possesses none of our keyrings.
        pass


def test_passphrase_and_key_never_on_disk_argv_or_environment(home: SvHome) -> None:
    child = spawn(home, "auth", "account-a", "--mfa-token", "123456")
    child.expect_exact(PASSPHRASE_PROMPT)
    # While it waits for the passphrase: nothing secret in its argv or environment.
    proc = Path(f"/proc/{child.pid}")
    assert b"SHELLVAULT_FILE_PASSPHRASE" not in (proc / "environ").read_bytes()
    child.sendline(home.passphrase)
    out, status = finish(child)
    assert status == 0, out
    key = cached_key(data_dir(home))
    assert key is not None
    secrets_ = (home.passphrase.encode(), key, key.hex().encode(), _b64(key))
    for path in home.home.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            assert not any(s in data for s in secrets_), path


def _b64(data: bytes) -> bytes:
    import base64

    return base64.b64encode(data)


def test_auto_says_it_fell_back_once_and_ls_keeps_saying_why(sv_home: SvHome) -> None:
    auto = {"SHELLVAULT_BACKEND": "auto", "DBUS_SESSION_BUS_ADDRESS": None}
    keys = {"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
    first = sv_home.run("add", "central", "--env", env={**auto, **keys})
    assert first.returncode == 0, first.stderr
    assert "no OS keyring is usable" in first.stderr
    for args in (("env", "--no-input", "central"), ("clear",)):
        again = sv_home.run(*args, env=auto)
        assert "no OS keyring" not in again.stderr, args
    listing = sv_home.run("ls", env=auto, check=True).stdout
    assert re.search(r"backend: encrypted file store \S+ \(auto: no OS keyring is usable "
                     r"\(no D-Bus session bus\); passphrase from SHELLVAULT_FILE_PASSPHRASE\)",
                     listing), listing
    # Another situation (a different reason) is news again.
    (sv_home.state_dir / "auto-backend").write_text("the keyring was usable\n")
    assert "no OS keyring" in sv_home.run("clear", env=auto).stderr


@pytest.mark.parametrize(("at", "landed"),
                         [("fsync:when=2", False), ("renameat2", False), ("unlinkat", True)])
def test_passwd_killed_half_way_leaves_one_whole_store(home: SvHome, at: str,
                                                       landed: bool) -> None:
    """SIGKILL delivered by the kernel at a chosen syscall of `passwd` (strace's fault
    injection): after the second item is written to the new directory, right at the swap,
    or just after it (removing the old copy). The store opens with exactly one of the two
    passphrases, all items intact, and the next passwd cleans up what was left."""
    strace = require_program("strace")
    old = home.passphrase
    new = "never lands" if not landed else "landed"
    home.run("auth", "account-a", "--mfa-token", "123456",
             env={"SHELLVAULT_FILE_PASSPHRASE": old}, check=True)
    vault = data_dir(home) / "vault"
    before = {p.name: p.read_bytes() for p in vault.iterdir()}
    assert len(before) >= 3
    syscall, _, when = at.partition(":")
    inject = f"inject={syscall}:signal=SIGKILL" + (f":{when}" if when else "")
    child = pexpect.spawn(strace, ["-f", "-qq", "-o", "/dev/null", "-e", f"trace={syscall}",
                                   "-e", inject, home.shellvault, "passwd"],
                          env=home.merged_env(), cwd=str(home.home), encoding="utf-8",
                          timeout=60)
    child.expect_exact("Current passphrase of the shellvault file store: ")
    child.sendline(old)
    for prompt in ("New passphrase: ", "Repeat it: "):
        child.expect_exact(prompt)
        child.sendline(new)
    out, status = finish(child)
    assert status == 128 + 9 and "changed the passphrase" not in out, (status, out)
    after = {p.name: p.read_bytes() for p in vault.iterdir()}
    assert sorted(after) == sorted(before)
    assert (after == before) is not landed
    right, wrong = (new, old) if landed else (old, new)
    done = home.run("env", "--no-input", "account-a", env={"SHELLVAULT_FILE_PASSPHRASE": right})
    assert done.returncode == 0, done.stderr
    done = home.run("env", "--no-input", "account-a", env={"SHELLVAULT_FILE_PASSPHRASE": wrong})
    assert done.returncode == 1 and "wrong passphrase" in done.stderr
    change_passphrase(home, right, "after the crash")
    assert [p.name for p in vault.parent.iterdir() if p.name.startswith(".")] == []
    done = home.run("env", "--no-input", "account-a",
                    env={"SHELLVAULT_FILE_PASSPHRASE": "after the crash"})
    assert done.returncode == 0, done.stderr


@pytest.mark.usefixtures("private_keyring")
def test_a_long_lived_process_stops_using_the_key_once_it_is_locked(tmp_path: Path) -> None:
    """A process that lives for hours (`exec --server` refreshing in the background) holds
    its store open: `shellvault lock` elsewhere, or the unlock TTL, must reach it too."""
    from shellvault.errors import VaultLocked
    from shellvault.filestore import FileStore

    asked: list[bool] = []
    typing = {"allowed": True}

    def passphrase(new_store: bool) -> str:
        asked.append(new_store)
        if not typing["allowed"]:
            raise VaultLocked("the file store is locked: run 'shellvault unlock'")
        return "correct horse battery"

    directory = tmp_path / "vault"
    store = FileStore(directory, passphrase, cache=KeyCache(directory), cache_ttl=3600)
    store.set("session:a", "secret-a")
    assert asked == [True] and KeyCache(directory).get() is not None
    assert store.get("session:a") == "secret-a" and asked == [True]  # the cached key

    # another process (`shellvault lock`) forgets the key: this one asks again ...
    assert KeyCache(directory).forget()
    assert store.get("session:a") == "secret-a" and asked == [True, False]
    # ... and caches it again; without input it says locked instead of using its copy
    assert KeyCache(directory).forget()
    typing["allowed"] = False
    with pytest.raises(VaultLocked):
        store.get("session:a")
    with pytest.raises(VaultLocked):
        store.set("session:b", "secret-b")
    typing["allowed"] = True
    assert store.get("session:a") == "secret-a"

    # a key typed while nothing may be cached (TTL 0) is the process's own: kept
    assert KeyCache(directory).forget()
    own = FileStore(directory, passphrase, cache=KeyCache(directory), cache_ttl=0)
    assert own.get("session:a") == "secret-a" and KeyCache(directory).get() is None
    count = len(asked)
    assert store.get("session:a") == "secret-a" and len(asked) == count + 1  # cached again
    assert KeyCache(directory).forget()
    assert own.get("session:a") == "secret-a" and len(asked) == count + 1


def test_lock_reaches_a_running_exec_server(home: SvHome, tmp_path: Path) -> None:
    """`exec --server` refreshing in the background stops using the key once `lock` ran
    elsewhere: its next refresh asks for the passphrase on its terminal (once); refused,
    it names `shellvault unlock` (not `auth`) without asking again while requests wait, and
    an unlock in another terminal lets it go on."""
    from tests.test_server import WATCHER

    assert home.world is not None
    unlock(home)
    script = tmp_path / "watcher.py"
    script.write_text(WATCHER)
    child = spawn(home, "exec", "--server", "--duration", "15m", "--refresh-window", "890s",
                  "account-a", "--", sys.executable, str(script), "after-failure")
    child.expect(r"MFA code for \S+: ")
    child.sendline(home.world.mfa_code())
    child.expect(r"served 200")
    home.run("lock", check=True)
    child.expect_exact(PASSPHRASE_PROMPT)  # the refresh, ~10 s in: asked, not its own copy
    child.sendcontrol("d")
    child.expect(r"run 'shellvault unlock' in another terminal")
    child.expect("served 503")
    unlock(home)
    child.expect("watcher done")
    out, status = finish(child)
    assert status == 0, out
    assert PASSPHRASE_PROMPT not in out  # asked once, not again while locked
