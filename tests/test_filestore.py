"""The encrypted file store: real files, real Argon2id + AES-GCM."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from shellvault.errors import VaultError
from shellvault.filestore import FileStore, WrongPassphrase

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
