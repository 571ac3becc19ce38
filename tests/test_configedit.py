"""configedit: locked, atomic, byte-preserving edits of ~/.aws/config.

The concurrency class (issue 10, item 2): many real processes edit one file at once and
none of their sections is lost. The rest pins the byte-exact splicing every writer relies on.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from shellvault.config import AwsConfig, ConfigError, InvalidValueError
from shellvault.configedit import edit, profile_section

NOENV: dict[str, str] = {}


@pytest.fixture(autouse=True)
def _state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHELLVAULT_STATE_DIR", str(tmp_path / "state"))


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "config"
    path.write_bytes(data)
    return path


ORIGINAL = (
    b"# top comment \xe2\x9c\x93\n[default]\nregion = us-east-1 ; keep\n\n"
    b"[profile a]\nregion=eu-west-1\n  # indented comment\nmfa_serial = arn:old\n"
    b"output = json\n\n; between\n[profile b]\nrole_arn = arn:b\nsource_profile = a\n"
)


def test_update_replaces_one_line_and_keeps_every_other_byte(tmp_path: Path) -> None:
    path = _write(tmp_path, ORIGINAL)
    with edit(path) as cfg:
        cfg.update("profile a", {"mfa_serial": "arn:new"})
    assert path.read_bytes() == ORIGINAL.replace(b"mfa_serial = arn:old", b"mfa_serial = arn:new")


def test_update_appends_after_the_last_key_and_removes_keys(tmp_path: Path) -> None:
    path = _write(tmp_path, ORIGINAL)
    with edit(path) as cfg:
        cfg.update("profile a", {"duration_seconds": "3600", "output": None})
    assert path.read_bytes() == ORIGINAL.replace(
        b"output = json\n", b"duration_seconds = 3600\n"
    )
    with edit(path) as cfg:
        cfg.update("profile new", {"region": "r"})
    assert path.read_bytes().endswith(b"source_profile = a\n\n[profile new]\nregion = r\n")


def test_duplicate_keys_end_on_one_line_where_the_last_one_was(tmp_path: Path) -> None:
    path = _write(tmp_path, b"[profile a]\nregion = x\nmfa_serial = m\nREGION = y\n")
    with edit(path) as cfg:
        cfg.update("profile a", {"region": "z"})
    assert path.read_bytes() == b"[profile a]\nmfa_serial = m\nregion = z\n"


def test_multiline_and_nested_values_are_spliced_whole(tmp_path: Path) -> None:
    data = (
        b"[profile a]\ns3 =\n  max_concurrent_requests = 20\nnote = `one\ntwo\n[not a header]`\n"
        b"region = r\n[profile b]\nregion = s\n"
    )
    path = _write(tmp_path, data)
    with edit(path) as cfg:
        cfg.update("profile a", {"s3": None, "note": None})
    assert path.read_bytes() == b"[profile a]\nregion = r\n[profile b]\nregion = s\n"


def test_crlf_bom_mode_and_symlink_survive(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.write_bytes(b"\xef\xbb\xbf[profile a]\r\nregion = r\r\n")
    real.chmod(0o640)
    link = tmp_path / "config"
    link.symlink_to(real)
    with edit(link) as cfg:
        cfg.update("profile a", {"output": "json"})
        cfg.add_section("profile b", {"region": "s"})
    assert link.is_symlink()
    assert real.read_bytes() == (
        b"\xef\xbb\xbf[profile a]\r\nregion = r\r\noutput = json\r\n"
        b"\r\n[profile b]\r\nregion = s\r\n"
    )
    assert stat.S_IMODE(real.stat().st_mode) == 0o640


def test_remove_and_replace_section(tmp_path: Path) -> None:
    path = _write(tmp_path, ORIGINAL)
    with edit(path) as cfg:
        assert cfg.remove_section("profile a")
        cfg.replace_section("profile b", {"role_arn": "arn:c", "region": "r"})
    assert path.read_bytes() == (
        b"# top comment \xe2\x9c\x93\n[default]\nregion = us-east-1 ; keep\n\n"
        b"[profile b]\nrole_arn = arn:c\nregion = r\n"
    )
    assert AwsConfig.load(path).profile_names() == ["default", "b"]


@pytest.mark.parametrize(
    ("section", "values"),
    [
        ("profile two\nlines", {}),
        ("profile  padded", {}),
        ("profile ok", {"region": "a#b"}),
        ("profile ok", {"region": "line\nbreak"}),
        ("profile ok", {"bad=key": "v"}),
    ],
)
def test_unrepresentable_edits_change_nothing(
    tmp_path: Path, section: str, values: dict[str, str]
) -> None:
    path = _write(tmp_path, ORIGINAL)
    with pytest.raises(InvalidValueError), edit(path) as cfg:
        cfg.update(section, values)
    assert path.read_bytes() == ORIGINAL


def test_an_exception_inside_the_block_writes_nothing(tmp_path: Path) -> None:
    path = _write(tmp_path, ORIGINAL)
    with pytest.raises(RuntimeError), edit(path) as cfg:
        cfg.update("profile a", {"region": "changed"})
        raise RuntimeError("caller changed its mind")
    assert path.read_bytes() == ORIGINAL


def test_a_malformed_file_is_refused_untouched(tmp_path: Path) -> None:
    bad = b"[profile a]\nnot a key line\n"
    path = _write(tmp_path, bad)
    with pytest.raises(ConfigError), edit(path) as cfg:
        cfg.update("profile a", {"region": "r"})
    assert path.read_bytes() == bad


def test_missing_file_and_directories_are_created_private(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        path = tmp_path / "home" / ".aws" / "config"
        with edit(path) as cfg:
            cfg.add_section(profile_section("default"), {"region": "r"})
    finally:
        os.umask(old)
    assert path.read_bytes() == b"[default]\nregion = r\n"
    for directory in (path.parent, path.parent.parent):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    assert [p.name for p in path.parent.iterdir()] == ["config"]


WRITER = """
import sys
from pathlib import Path
from shellvault.configedit import edit
path, me, rounds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
for n in range(rounds):
    with edit(path) as cfg:
        cfg.update(f"profile {me}", {f"key{n}": f"v{n}"})
        cfg.update("profile shared", {me: str(n)})
"""


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    """Class: concurrent read-modify-write of the config (item 2). Eight real processes,
    each adding its own keys and touching one shared section, many rounds each."""
    path = _write(tmp_path, b"# mine\n[profile keep]\nregion = r\n")
    writers, rounds = 8, 12
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), f"w{i}", str(rounds)],
            env={**os.environ}, stderr=subprocess.PIPE, text=True,
        )
        for i in range(writers)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    cfg = AwsConfig.load(path)
    assert path.read_bytes().startswith(b"# mine\n[profile keep]\nregion = r\n")
    shared = cfg.ini.section("profile shared")
    assert shared == {f"w{i}": str(rounds - 1) for i in range(writers)}
    for i in range(writers):
        own = cfg.ini.section(f"profile w{i}")
        assert own == {f"key{n}": f"v{n}" for n in range(rounds)}
