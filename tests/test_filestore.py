"""The encrypted file store: real files, real Argon2id + AES-GCM."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shellvault.errors import VaultError
from shellvault.filestore import FileStore, StoreChanged, WrongPassphrase

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def _store(path: Path, passphrase: str) -> FileStore:
    return FileStore(path, lambda new: passphrase)


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_round_trip_and_no_plaintext_on_disk(tmp_path: Path) -> None:
    store = _store(tmp_path / "vault", "correct horse")
    store.set("master:central", SECRET)
    assert _store(tmp_path / "vault", "correct horse").get("master:central") == SECRET
    for path in (tmp_path / "vault").iterdir():
        assert SECRET.encode() not in path.read_bytes()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "vault").stat().st_mode) == 0o700
    assert store.names() == ["master:central"]


def test_wrong_passphrase_is_clear_and_changes_nothing(tmp_path: Path) -> None:
    _store(tmp_path / "vault", "right").set("master:central", SECRET)
    before = _snapshot(tmp_path / "vault")
    wrong = _store(tmp_path / "vault", "wrong")
    with pytest.raises(WrongPassphrase, match="wrong passphrase"):
        wrong.get("master:central")
    with pytest.raises(WrongPassphrase):
        wrong.set("master:other", SECRET)
    with pytest.raises(WrongPassphrase):
        wrong.delete("master:central")
    assert _snapshot(tmp_path / "vault") == before


def test_items_are_bound_to_their_names(tmp_path: Path) -> None:
    store = _store(tmp_path / "vault", "pw")
    store.set("a", "first")
    store.set("b", "second")
    paths = {p.name: p for p in (tmp_path / "vault").iterdir() if p.name.endswith(".item")}
    a, b = paths["a.item"], paths["b.item"]
    a.write_bytes(b.read_bytes())  # an attacker swaps files
    with pytest.raises(VaultError, match="corrupt"):
        _store(tmp_path / "vault", "pw").get("a")


def test_missing_items_and_delete(tmp_path: Path) -> None:
    store = _store(tmp_path / "vault", "pw")
    assert store.get("nothing") is None
    assert store.names() == []
    store.set("session:x", "{}")
    assert store.delete("session:x") is True
    assert store.delete("session:x") is False
    assert store.get("session:x") is None


def test_names_with_slashes_stay_inside_the_store(tmp_path: Path) -> None:
    store = _store(tmp_path / "vault", "pw")
    store.set("master:../../evil/name", "v")
    assert not (tmp_path / "evil").exists()
    assert store.names() == ["master:../../evil/name"]
    assert store.get("master:../../evil/name") == "v"


def test_the_key_is_derived_once_per_process(tmp_path: Path) -> None:
    asked: list[bool] = []

    def passphrase(new: bool) -> str:
        asked.append(new)
        return "pw"

    store = FileStore(tmp_path / "vault", passphrase)
    store.set("a", "1")
    store.set("b", "2")
    assert store.get("a") == "1" and store.get("b") == "2"
    assert asked == [True]
    assert os.path.exists(tmp_path / "vault" / "meta.json")


# ---------------------------------------------------------------- many processes (issue 10)

KEYS = {"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": SECRET}


def test_nine_parallel_first_adds_into_a_new_store_all_stay_readable(sv_home: Any) -> None:
    """Nine `add`s race to create the store: each one that says "stored" can be read
    back by every other process (one salt, one check value, nobody's items orphaned)."""
    procs = [
        subprocess.Popen([sv_home.shellvault, "add", f"p{n}", "--env"],
                         env=sv_home.merged_env(KEYS), stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
        for n in range(9)
    ]
    results = [(p.wait(timeout=120), p.communicate()[1]) for p in procs]
    assert [code for code, _ in results] == [0] * 9, results
    store = FileStore(sv_home.data_dir / "vault", lambda new: sv_home.passphrase)
    assert store.names() == [f"master:p{n}" for n in range(9)]
    for n in range(9):
        text = store.get(f"master:p{n}")
        assert text is not None and SECRET in text


def test_racing_creators_with_different_passphrases_never_both_say_stored(
    tmp_path: Path,
) -> None:
    """The loser of the race to create a store learns it at once; nothing it wrote is
    unreadable under the store's passphrase."""
    code = (
        "import sys\nfrom pathlib import Path\nfrom shellvault.filestore import FileStore\n"
        "s = FileStore(Path(sys.argv[1]), lambda new: sys.argv[2])\n"
        "try:\n    s.set('item:' + sys.argv[2], 'x')\nexcept Exception as e:\n"
        "    print(type(e).__name__); sys.exit(1)\n"
    )
    directory = tmp_path / "vault"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(directory), f"pass{n}"],
                              stdout=subprocess.PIPE, text=True) for n in range(6)]
    outcomes = [(p.wait(timeout=120), (p.stdout.read() if p.stdout else "").strip())
                for p in procs]
    winners = [n for n, (status, _) in enumerate(outcomes) if status == 0]
    assert len(winners) == 1, outcomes
    assert all(out == "WrongPassphrase" for status, out in outcomes if status), outcomes
    store = _store(directory, f"pass{winners[0]}")
    assert store.names() == [f"item:pass{winners[0]}"]
    assert store.get(f"item:pass{winners[0]}") == "x"


def test_a_writer_with_a_key_from_before_a_passphrase_change_writes_nothing(
    tmp_path: Path,
) -> None:
    stale = _store(tmp_path / "vault", "old")
    stale.set("a", "1")  # unlocked with the old key
    assert _store(tmp_path / "vault", "old").change_passphrase("old", "new") == 1
    # The change landed between its unlock and its write: under the lock it finds out.
    with pytest.raises(StoreChanged, match="changed meanwhile"), stale._locked():
        stale._write_key()
    with pytest.raises(WrongPassphrase):  # and a fresh unlock needs the new passphrase
        stale.set("b", "2")
    assert _store(tmp_path / "vault", "new").names() == ["a"]
    assert _store(tmp_path / "vault", "new").get("a") == "1"


# ---------------------------------------------------------------- broken stores (issue 10)

def _meta_variants(meta: dict[str, Any]) -> list[tuple[str, bytes]]:
    def changed(**fields: Any) -> bytes:
        return json.dumps({**meta, **fields}).encode()

    without_salt = {k: v for k, v in meta.items() if k != "salt"}
    return [
        ("bad json", b"{not json"),
        ("empty", b""),
        ("a list", b"[1, 2]"),
        ("deep nesting", b"[" * 100000 + b"]" * 100000),
        ("missing salt", json.dumps(without_salt).encode()),
        ("salt not base64", changed(salt="@@@not base64@@@")),
        ("salt a number", changed(salt=5)),
        ("short check", changed(check=base64.b64encode(b"x").decode())),
        ("absurd memory", changed(memory_kib=2**40)),
        ("zero iterations", changed(iterations=0)),
        ("absurd iterations", changed(iterations=10**9)),
        ("lanes as text", changed(lanes="1")),
        ("unknown kdf", changed(kdf="scrypt")),
        ("other version", changed(version=7)),
    ]


def _item_variants(record: dict[str, Any]) -> list[tuple[str, bytes]]:
    return [
        ("bad json", b"{"),
        ("not an object", b"null"),
        ("missing data", json.dumps({"version": 1}).encode()),
        ("data not base64", json.dumps({**record, "data": "%%%"}).encode()),
        ("data too short", json.dumps({**record, "data": "QUJD"}).encode()),
        ("data altered", json.dumps({**record, "data": "A" + record["data"][1:]}).encode()),
        ("binary junk", os.urandom(64)),
    ]


def _one_line_failure(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode not in (0, None), done
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "internal error" not in lines[0] and "Traceback" not in done.stderr
    return lines[0]


def test_a_corrupt_meta_file_is_one_clear_line_and_changes_nothing(aws_home: Any) -> None:
    aws_home.run("auth", "account-a", "--mfa-token", "123456", check=True)
    vault = aws_home.data_dir / "vault"
    good = (vault / "meta.json").read_bytes()
    for what, broken in _meta_variants(json.loads(good)):
        (vault / "meta.json").write_bytes(broken)
        before = {p.name: p.read_bytes() for p in vault.iterdir()}
        for args in (("env", "account-a"), ("add", "other", "--env"), ("clear",)):
            line = _one_line_failure(aws_home.run(*args, env=KEYS, timeout=60))
            assert "meta.json is corrupt" in line, (what, args, line)
        assert {p.name: p.read_bytes() for p in vault.iterdir()} == before, what
    (vault / "meta.json").write_bytes(good)
    assert aws_home.run("env", "account-a").returncode == 0


def test_a_corrupt_item_is_one_line_naming_the_fix(aws_home: Any) -> None:
    aws_home.run("auth", "account-a", "--mfa-token", "123456", check=True)
    vault = aws_home.data_dir / "vault"
    sessions = sorted(p for p in vault.iterdir() if p.name.startswith("session"))
    master = vault / "master%3Acentral.item"
    assert sessions and master.exists()
    for path, fix in ((sessions[-1], "run 'shellvault clear'"),
                      (master, "'shellvault add central'")):
        good = path.read_bytes()
        for what, broken in _item_variants(json.loads(good)):
            path.write_bytes(broken)
            for victim in sessions:
                if victim != path:
                    victim.unlink(missing_ok=True)  # make the broken item the one read
            line = _one_line_failure(aws_home.run("env", "account-a", "--no-input"))
            assert "is corrupt" in line and fix in line, (what, line)
        path.write_bytes(good)
    cleared = aws_home.run("clear")  # the named fix works on a corrupt session item
    assert cleared.returncode == 0, cleared.stderr


def test_a_passphrase_variable_that_is_not_utf8_is_one_line(aws_home: Any) -> None:
    raw = os.fsdecode(b"\xff\xfe-not-utf8")
    done = aws_home.run("env", "account-a", env={"SHELLVAULT_FILE_PASSPHRASE": raw})
    line = _one_line_failure(done)
    assert line == "shellvault: SHELLVAULT_FILE_PASSPHRASE is not valid UTF-8; nothing was changed"


# ---------------------------------------------------------------- children (issue 10)

def test_children_never_inherit_the_passphrase(aws_home: Any, tmp_path: Path) -> None:
    """exec's command, mfa_process and credential_process run without it."""
    seen = tmp_path / "seen"
    probe = tmp_path / "probe.sh"
    probe.write_text(f'#!/bin/sh\nenv > "{seen}.$1"\n'
                     'if [ "$1" = mfa ]; then echo 123456; fi\n'
                     'if [ "$1" = cp ]; then printf \'{"Version": 1, "AccessKeyId": "AKIAX",'
                     ' "SecretAccessKey": "s"}\'; fi\n')
    probe.chmod(0o755)
    text = aws_home.config_path.read_text().replace(
        "[profile central]", f"[profile central]\nmfa_process = {probe} mfa")
    text += f"\n[profile via-process]\ncredential_process = {probe} cp\n"
    aws_home.config_path.write_text(text)
    done = aws_home.run("exec", "account-a", "--", str(probe), "exec")
    assert done.returncode == 0, done.stderr
    done = aws_home.run("export", "via-process")
    assert done.returncode == 0, done.stderr
    for kind in ("mfa", "exec", "cp"):
        environment = Path(f"{seen}.{kind}").read_text()
        assert "SHELLVAULT_FILE_PASSPHRASE" not in environment, kind
        assert aws_home.passphrase not in environment, kind
    assert "AWS_SESSION_TOKEN=" in Path(f"{seen}.exec").read_text()


def test_a_crash_between_the_two_renames_of_a_passphrase_change_restores_the_old_store(
    tmp_path: Path,
) -> None:
    """Where RENAME_EXCHANGE is missing (macOS, some file systems) passwd renames twice;
    a crash in between leaves the old store parked beside a complete new one. The next
    opener puts the old one back, under the lock, and the next passwd removes the rest."""
    directory = tmp_path / "vault"
    store = _store(directory, "old")
    store.set("a", "1")
    store.set("b", "2")
    new_copy = tmp_path / ".vault.new-4242"
    import shutil

    shutil.copytree(directory, new_copy)  # stands for the finished re-encryption
    directory.rename(tmp_path / ".vault.old-4242")  # the first rename; then the crash
    reopened = _store(directory, "old")
    assert reopened.get("a") == "1" and reopened.names() == ["a", "b"]
    assert not (tmp_path / ".vault.old-4242").exists()
    assert reopened.change_passphrase("old", "new") == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vault", "vault.lock"]
    assert _store(directory, "new").get("b") == "2"
