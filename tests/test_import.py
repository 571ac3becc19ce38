"""`shellvault import`: from the plaintext credentials file (its other lines and comments
kept, byte for byte) and from aws-vault's own Secret Service items, written here in
aws-vault's format into the private gnome-keyring."""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

import pexpect
import pytest

from tests.world import secret_service_connection


def _key(tag: str) -> tuple[str, str]:
    return f"AKIA{tag.upper():0<16}"[:20], base64.b64encode(secrets.token_bytes(30)).decode()


WORK = _key("WORK")
OTHER = _key("OTHER")
DEFAULT = _key("DEFAULT")

HEAD = "# my keys, do not share\n[default]\n"
DEFAULT_KEYS = f"aws_access_key_id = {DEFAULT[0]}\naws_secret_access_key = {DEFAULT[1]}\n"
DEFAULT_REST = "region = eu-west-1\n\n; the work account\n"
WORK_SECTION = f"[work]\naws_access_key_id={WORK[0]}\naws_secret_access_key={WORK[1]}\n"
TEMP = ("\n[temp]\naws_access_key_id = ASIAEXAMPLEEXAMPLE1\naws_secret_access_key = "
        "c2VjcmV0c2VjcmV0c2VjcmV0\naws_session_token = token\n")
OTHER_HEAD = "\n[other]\n# kept with its section\n"
OTHER_KEYS = f"aws_access_key_id = {OTHER[0]}\naws_secret_access_key = {OTHER[1]}\n"
CREDENTIALS = HEAD + DEFAULT_KEYS + DEFAULT_REST + WORK_SECTION + TEMP + OTHER_HEAD + OTHER_KEYS


@pytest.fixture
def home(sv_home: Any, world: Any, moto_server: Any) -> Any:
    sv_home.write_config("[profile other]\nregion = us-west-2\n")
    sv_home.env.update(world.env())
    sv_home.credentials_path.write_text(CREDENTIALS)
    moto_server.mark()
    return sv_home


def _stored_key(home: Any, moto_server: Any, profile: str) -> str:
    """The key the vault holds for PROFILE: the one GetSessionToken is signed with."""
    home.run("clear", profile, check=True)
    moto_server.mark()
    home.run("auth", profile, check=True)
    [call] = [c for c in moto_server.calls("sts") if c.action == "GetSessionToken"]
    return call.access_key_id


def _masters(home: Any) -> dict[str, Any]:
    index = home.state_dir / "index.json"
    return json.loads(index.read_text())["masters"] if index.exists() else {}


def test_one_profile_moves_and_only_its_lines_leave_the_file(home: Any, moto_server: Any) -> None:
    done = home.run("import", "--from", "credentials", "--remove-plaintext", "work")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert "imported work" in done.stderr and "removed the keys of work" in done.stderr
    assert home.credentials_path.read_text() == CREDENTIALS.replace(WORK_SECTION, "")
    assert set(_masters(home)) == {"work"}
    assert "[profile work]" in home.config_path.read_text()
    assert _stored_key(home, moto_server, "work") == WORK[0]


def test_all_profiles_keep_other_keys_and_comments(home: Any, moto_server: Any) -> None:
    done = home.run("import", "--from", "credentials", "--remove-plaintext")
    assert done.returncode == 0, done.stderr
    assert "imported default, work, other" in done.stderr
    assert "temp (temporary credentials" in done.stderr
    # [default] keeps its region and the comment; [other] keeps its header and comment.
    assert home.credentials_path.read_text() == (
        HEAD + DEFAULT_REST + TEMP + OTHER_HEAD)
    assert set(_masters(home)) == {"default", "work", "other"}
    assert _stored_key(home, moto_server, "other") == OTHER[0]


def test_without_a_terminal_the_file_stays(home: Any) -> None:
    done = home.run("import", "--from", "credentials", "work")
    assert done.returncode == 0, done.stderr
    assert "stay in" in done.stderr and "--remove-plaintext" in done.stderr
    assert home.credentials_path.read_text() == CREDENTIALS
    assert set(_masters(home)) == {"work"}


@pytest.mark.parametrize("answer, removed", [("y", True), ("n", False)])
def test_the_question_is_asked_on_the_terminal(home: Any, answer: str, removed: bool) -> None:
    child = pexpect.spawn(home.shellvault, ["import", "--from", "credentials", "other"],
                          env=home.env, encoding="utf-8", timeout=60, cwd=str(home.home))
    child.expect(r"Remove the plaintext keys of other from \S+\? \[y/N\] ")
    child.sendline(answer)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    expected = CREDENTIALS.replace(OTHER_KEYS, "") if removed else CREDENTIALS
    assert home.credentials_path.read_text() == expected


def test_nothing_is_overwritten_without_force(home: Any, moto_server: Any) -> None:
    other_key = _key("STORED")
    home.add_keys("work", *other_key)
    done = home.run("import", "--from", "credentials", "--remove-plaintext", "work")
    assert done.returncode == 1
    assert done.stdout == ""
    assert f"another key ({other_key[0]}) is stored; --force replaces it" in done.stderr
    assert home.credentials_path.read_text() == CREDENTIALS  # not stored: not removed
    assert _stored_key(home, moto_server, "work") == other_key[0]
    forced = home.run("import", "--from", "credentials", "--force", "work")
    assert forced.returncode == 0, forced.stderr
    assert _stored_key(home, moto_server, "work") == WORK[0]


def test_already_stored_counts_as_moved_for_the_file(home: Any) -> None:
    home.add_keys("work", *WORK)
    done = home.run("import", "--from", "credentials", "--remove-plaintext", "work")
    assert done.returncode == 0, done.stderr
    assert "already stored: work" in done.stderr
    assert home.credentials_path.read_text() == CREDENTIALS.replace(WORK_SECTION, "")


@pytest.mark.parametrize("args, message", [
    (["--from", "credentials", "work", "nobody"], "no profile nobody in"),
    (["--from", "aws-vault", "--remove-plaintext"], "--remove-plaintext goes with"),
])
def test_bad_input_is_one_line_and_changes_nothing(home: Any, args: list[str],
                                                   message: str) -> None:
    config = home.config_path.read_text()
    done = home.run("import", *args)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
    assert home.credentials_path.read_text() == CREDENTIALS
    assert home.config_path.read_text() == config
    assert _masters(home) == {}


def test_no_credentials_file(home: Any) -> None:
    home.credentials_path.unlink()
    done = home.run("import", "--from", "credentials")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "there is no credentials file at" in done.stderr


# -- aws-vault's items ---------------------------------------------------------------------

AWS_VAULT_PASSWORD = "aws-vault-collection"


def _aws_vault_collection(env: dict[str, str]) -> Any:
    """aws-vault's collection ("awsvault") in the private gnome-keyring, created without a
    prompt through gnome-keyring's test interface, unlocked."""
    import secretstorage
    from secretstorage.util import DBusAddressWrapper, format_secret, open_session

    conn_cm = secret_service_connection(env)
    conn = conn_cm.__enter__()
    for collection in secretstorage.get_all_collections(conn):
        if collection.get_label() == "awsvault":
            break
    else:
        internal = DBusAddressWrapper("/org/freedesktop/secrets",
                                      "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface",
                                      conn)
        session = open_session(conn)
        (path,) = internal.call(
            "CreateWithMasterPassword", "a{sv}(oayays)",
            {"org.freedesktop.Secret.Collection.Label": ("s", "awsvault")},
            format_secret(session, AWS_VAULT_PASSWORD.encode(), "text/plain"))
        collection = secretstorage.Collection(conn, path)
    if collection.is_locked():
        internal = DBusAddressWrapper("/org/freedesktop/secrets",
                                      "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface",
                                      conn)
        session = open_session(conn)
        internal.call("UnlockWithMasterPassword", "o(oayays)", collection.collection_path,
                      format_secret(session, AWS_VAULT_PASSWORD.encode(), "text/plain"))
    return conn_cm, collection


def _write_aws_vault_item(collection: Any, key: str, data: dict[str, Any]) -> None:
    """As aws-vault 7 stores it: go-libsecret's CreateItem(label=key, {"profile": key}) with
    the JSON of 99designs/keyring's Item (Data: the JSON of aws.Credentials, base64)."""
    item = {"Key": key, "Data": base64.b64encode(json.dumps(data).encode()).decode(),
            "Label": f"aws-vault ({key})", "Description": "",
            "KeychainNotTrustApplication": True, "KeychainNotSynchronizable": False}
    collection.create_item(key, {"profile": key}, json.dumps(item).encode(), replace=True,
                           content_type="application/json")


def test_aws_vault_items_are_imported(home: Any, secret_service: dict[str, str],
                                      moto_server: Any) -> None:
    home.env.update(secret_service)  # the vault stays the file store; aws-vault's is read
    conn_cm, collection = _aws_vault_collection(secret_service)
    suffix = secrets.token_hex(3)
    master, session = f"av-{suffix}", f"av-session-{suffix}"
    key = _key("AV" + suffix)
    try:
        _write_aws_vault_item(collection, master, {
            "AccessKeyID": key[0], "SecretAccessKey": key[1], "SessionToken": "",
            "Source": "", "CanExpire": False, "Expires": "0001-01-01T00:00:00Z"})
        _write_aws_vault_item(collection, f"session,{base64.b64encode(master.encode()).decode()}"
                              ",,1999999999", {
                                  "AccessKeyID": "ASIAEXAMPLEEXAMPLE2", "SecretAccessKey": "x" * 40,
                                  "SessionToken": "t", "CanExpire": True})
        _write_aws_vault_item(collection, session, {
            "AccessKeyID": "ASIAEXAMPLEEXAMPLE3", "SecretAccessKey": "y" * 40,
            "SessionToken": "t2"})
        done = home.run("import", "--from", "aws-vault", master, session)
        assert done.returncode == 0, done.stderr
        assert done.stdout == ""
        assert f"imported {master} from aws-vault's keyring" in done.stderr
        assert f"{session} (temporary credentials" in done.stderr
        assert set(_masters(home)) == {master}
        assert f"[profile {master}]" in home.config_path.read_text()
        assert _stored_key(home, moto_server, master) == key[0]
        # aws-vault's own session item is not even a candidate
        everything = home.run("import", "--from", "aws-vault")
        assert "session," not in everything.stderr
        assert f"already stored: {master}" in everything.stderr

        collection.lock()
        locked = home.run("import", "--from", "aws-vault")
        assert locked.returncode == 1
        assert locked.stdout == ""
        assert locked.stderr.count("\n") == 1 and "is locked" in locked.stderr
    finally:
        conn_cm.__exit__(None, None, None)
        conn_cm, collection = _aws_vault_collection(secret_service)
        for item in collection.get_all_items():
            item.delete()
        conn_cm.__exit__(None, None, None)
