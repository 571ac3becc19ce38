"""The README walkthrough as a real (moto) AWS world, plus Secret Service helpers.

Free of pytest on purpose: ``scripts/demo`` imports this module to build the same
world the tests use. Everything here talks to real servers over 127.0.0.1:

* ``build_world(moto_url)`` creates, in a running ``moto_server``:

  - the central account 123456789012 (moto's default) with IAM user ``alice``, her
    access key and the virtual MFA device ``arn:aws:iam::123456789012:mfa/alice``;
  - ``arn:aws:iam::222222222222:role/Admin`` (account-a) and
    ``arn:aws:iam::333333333333:role/Admin`` (account-b), whose trust policies
    require ``aws:MultiFactorAuthPresent``;
  - one S3 bucket per account named after it (``central-bucket``,
    ``account-a-bucket``, ``account-b-bucket``).

  moto's multi-account model: an access key returned by AssumeRole of a role ARN in
  account X acts in account X, so ``s3 list-buckets`` with account-a's assumed
  credentials shows only ``account-a-bucket``. Keys moto does not know (e.g. the
  fixed ones GetSessionToken returns) act in the default account 123456789012.
  moto does not enforce IAM/trust policies or check MFA codes (auth is off).

* ``World.config_text()`` is the ``~/.aws/config`` of the walkthrough. The endpoint is
  never written there: pass ``AWS_ENDPOINT_URL=<moto url>`` in the environment.

* ``secret_service_connection(env)``, ``lock_default_collection(env)``,
  ``unlock_default_collection(env, password)``, ``clear_default_collection(env)``
  work on the private gnome-keyring Secret Service whose environment ``env`` (the
  ``secret_service`` fixture's dict) names.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jeepney.io.blocking import DBusConnection

CENTRAL_ACCOUNT = "123456789012"
ACCOUNT_A = "222222222222"
ACCOUNT_B = "333333333333"

USER_NAME = "alice"
ROLE_NAME = "Admin"

#: profile name -> account id / region / bucket name
ACCOUNTS: dict[str, str] = {
    "central": CENTRAL_ACCOUNT,
    "account-a": ACCOUNT_A,
    "account-b": ACCOUNT_B,
}
REGIONS: dict[str, str] = {
    "central": "us-east-1",
    "account-a": "eu-west-1",
    "account-b": "us-west-2",
}
BUCKETS: dict[str, str] = {
    "central": "central-bucket",
    "account-a": "account-a-bucket",
    "account-b": "account-b-bucket",
}

#: the password of the test Secret Service's login (= default) collection
SECRET_SERVICE_PASSWORD = "shellvault-test-keyring"

# Credentials for the harness's own admin calls. moto does not check them.
_ADMIN_KEY = ("AKIAHARNESSADMIN0000", "harness-admin-secret")


def _trust_policy() -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{CENTRAL_ACCOUNT}:root"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
                }
            ],
        }
    )


def _admin_policy() -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        }
    )


def _alice_policy() -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["sts:AssumeRole", "sts:GetSessionToken"],
                    "Resource": "*",
                }
            ],
        }
    )


def client(
    moto_url: str,
    service: str,
    *,
    account_id: str = CENTRAL_ACCOUNT,
    region: str = "us-east-1",
    credentials: tuple[str, str, str | None] | None = None,
) -> Any:
    """A boto3 client talking to moto, acting in ``account_id``.

    Without ``credentials`` the harness's admin key is used and moto is told the
    account with its ``x-moto-account-id`` header. With ``credentials`` (key, secret,
    token) moto derives the account from the access key, as it would for shellvault.
    Nothing from the caller's AWS_* environment or ~/.aws is read.
    """
    import botocore.session
    from botocore.config import Config

    # Ignore whatever the outer environment points at (AWS_PROFILE, ~/.aws/...).
    session = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
    session.set_config_variable("config_file", os.devnull)
    session.set_config_variable("credentials_file", os.devnull)
    key, secret, token = credentials or (_ADMIN_KEY[0], _ADMIN_KEY[1], None)
    cl = session.create_client(
        service,
        region_name=region,
        endpoint_url=moto_url,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=Config(
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1},
            connect_timeout=5,
            read_timeout=30,
        ),
    )
    if credentials is None:

        def _add_account_header(request: Any, **_: Any) -> None:
            request.headers["x-moto-account-id"] = account_id

        cl.meta.events.register("before-sign", _add_account_header)
    return cl


def totp(seed_base32: str, at: float | None = None, digits: int = 6, step: int = 30) -> str:
    """RFC 6238 code for a virtual MFA device's Base32 seed (moto accepts any code,
    but the tests type real ones)."""
    key = base64.b32decode(seed_base32.upper() + "=" * (-len(seed_base32) % 8))
    counter = int((time.time() if at is None else at) // step)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


@dataclass
class World:
    """What ``build_world`` made. Mutable only so that ``rebuild()`` (after a moto
    reset) can refresh the key pair and MFA seed in place."""

    moto_url: str
    access_key_id: str
    secret_access_key: str
    mfa_seed: str
    central_account: str = CENTRAL_ACCOUNT
    account_a: str = ACCOUNT_A
    account_b: str = ACCOUNT_B
    user_name: str = USER_NAME
    user_arn: str = f"arn:aws:iam::{CENTRAL_ACCOUNT}:user/{USER_NAME}"
    mfa_serial: str = f"arn:aws:iam::{CENTRAL_ACCOUNT}:mfa/{USER_NAME}"
    role_a_arn: str = f"arn:aws:iam::{ACCOUNT_A}:role/{ROLE_NAME}"
    role_b_arn: str = f"arn:aws:iam::{ACCOUNT_B}:role/{ROLE_NAME}"
    accounts: dict[str, str] = field(default_factory=lambda: dict(ACCOUNTS))
    regions: dict[str, str] = field(default_factory=lambda: dict(REGIONS))
    buckets: dict[str, str] = field(default_factory=lambda: dict(BUCKETS))

    @property
    def central_bucket(self) -> str:
        return self.buckets["central"]

    @property
    def account_a_bucket(self) -> str:
        return self.buckets["account-a"]

    @property
    def account_b_bucket(self) -> str:
        return self.buckets["account-b"]

    @property
    def role_arns(self) -> dict[str, str]:
        """profile -> role ARN (account-a, account-b)."""
        return {"account-a": self.role_a_arn, "account-b": self.role_b_arn}

    def config_text(self, extra: str = "") -> str:
        """The walkthrough's ``~/.aws/config``; ``extra`` is appended verbatim."""
        text = (
            "[profile central]\n"
            f"region = {self.regions['central']}\n"
            f"mfa_serial = {self.mfa_serial}\n"
            "\n"
            "[profile account-a]\n"
            "source_profile = central\n"
            f"role_arn = {self.role_a_arn}\n"
            f"mfa_serial = {self.mfa_serial}\n"
            f"region = {self.regions['account-a']}\n"
            "\n"
            "[profile account-b]\n"
            "source_profile = central\n"
            f"role_arn = {self.role_b_arn}\n"
            f"mfa_serial = {self.mfa_serial}\n"
            f"region = {self.regions['account-b']}\n"
        )
        if extra:
            text += "\n" + extra.strip("\n") + "\n"
        return text

    def env(self) -> dict[str, str]:
        """What a subprocess needs to reach this world (the endpoint only)."""
        return {"AWS_ENDPOINT_URL": self.moto_url}

    def mfa_code(self, at: float | None = None) -> str:
        """A valid TOTP code of alice's virtual MFA device."""
        return totp(self.mfa_seed, at)

    def client(self, service: str, profile: str = "central", **kw: Any) -> Any:
        """Admin client acting in ``profile``'s account and region."""
        kw.setdefault("account_id", self.accounts[profile])
        kw.setdefault("region", self.regions[profile])
        return client(self.moto_url, service, **kw)

    def bucket_names(self, credentials: tuple[str, str, str | None]) -> list[str]:
        """``ListBuckets`` as whoever owns ``credentials`` (key, secret, token)."""
        s3 = client(self.moto_url, "s3", credentials=credentials)
        return sorted(b["Name"] for b in s3.list_buckets()["Buckets"])

    def rebuild(self) -> None:
        """Recreate everything in a moto that was reset; refreshes keys in place."""
        fresh = build_world(self.moto_url)
        self.access_key_id = fresh.access_key_id
        self.secret_access_key = fresh.secret_access_key
        self.mfa_seed = fresh.mfa_seed


def build_world(moto_url: str) -> World:
    """Create the walkthrough's users, roles and buckets in a fresh moto server."""
    iam = client(moto_url, "iam")
    iam.create_user(UserName=USER_NAME)
    iam.put_user_policy(
        UserName=USER_NAME, PolicyName="assume-admin", PolicyDocument=_alice_policy()
    )
    key = iam.create_access_key(UserName=USER_NAME)["AccessKey"]
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=USER_NAME)["VirtualMFADevice"]
    serial = device["SerialNumber"]
    seed_raw = device["Base32StringSeed"]
    seed = seed_raw.decode("ascii") if isinstance(seed_raw, bytes) else str(seed_raw)
    now = time.time()
    iam.enable_mfa_device(
        UserName=USER_NAME,
        SerialNumber=serial,
        AuthenticationCode1=totp(seed, now - 30),
        AuthenticationCode2=totp(seed, now),
    )
    world = World(
        moto_url=moto_url,
        access_key_id=key["AccessKeyId"],
        secret_access_key=key["SecretAccessKey"],
        mfa_seed=seed,
    )
    if serial != world.mfa_serial:
        raise RuntimeError(f"moto named the MFA device {serial}, expected {world.mfa_serial}")

    for profile in ("account-a", "account-b"):
        role_iam = client(moto_url, "iam", account_id=ACCOUNTS[profile])
        arn = role_iam.create_role(
            RoleName=ROLE_NAME,
            AssumeRolePolicyDocument=_trust_policy(),
            MaxSessionDuration=43200,
        )["Role"]["Arn"]
        if arn != world.role_arns[profile]:
            raise RuntimeError(f"moto made role {arn}, expected {world.role_arns[profile]}")
        role_iam.put_role_policy(
            RoleName=ROLE_NAME, PolicyName="admin", PolicyDocument=_admin_policy()
        )

    for profile, bucket in BUCKETS.items():
        s3 = client(moto_url, "s3", account_id=ACCOUNTS[profile], region=REGIONS[profile])
        kwargs: dict[str, Any] = {"Bucket": bucket}
        if REGIONS[profile] != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": REGIONS[profile]}
        s3.create_bucket(**kwargs)
        s3.put_object(Bucket=bucket, Key="whoami.txt", Body=f"{profile}\n".encode())
    return world


# --------------------------------------------------------------------------- Secret Service


@contextlib.contextmanager
def secret_service_connection(env: dict[str, str]) -> Iterator[DBusConnection]:
    """A jeepney connection (as secretstorage wants it) to the bus ``env`` names."""
    from jeepney.io.blocking import open_dbus_connection
    from secretstorage.util import add_match_rules

    conn = open_dbus_connection(bus=env["DBUS_SESSION_BUS_ADDRESS"], auth_timeout=5.0)
    try:
        add_match_rules(conn)
        yield conn
    finally:
        conn.close()


def lock_default_collection(env: dict[str, str]) -> None:
    """Lock the default collection: reading a secret then fails (LockedException in
    secretstorage; keyring's unlock prompt is dismissed at once, no GUI here)."""
    import secretstorage

    with secret_service_connection(env) as conn:
        collection = secretstorage.get_default_collection(conn)
        collection.lock()
        if not collection.is_locked():
            raise RuntimeError("the default collection did not lock")


def unlock_default_collection(env: dict[str, str], password: str = SECRET_SERVICE_PASSWORD) -> None:
    """Unlock the default collection without a prompt, through gnome-keyring's
    ``UnlockWithMasterPassword`` (its test interface). A wrong password raises
    jeepney's DBusErrorResponse (org.gnome.keyring.Error.Denied)."""
    import secretstorage
    from secretstorage.util import DBusAddressWrapper, format_secret, open_session

    with secret_service_connection(env) as conn:
        collection = secretstorage.get_default_collection(conn)
        if not collection.is_locked():
            return
        session = open_session(conn)
        internal = DBusAddressWrapper(
            "/org/freedesktop/secrets",
            "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface",
            conn,
        )
        internal.call(
            "UnlockWithMasterPassword",
            "o(oayays)",
            collection.collection_path,
            format_secret(session, password.encode(), "text/plain"),
        )
        if collection.is_locked():
            raise RuntimeError("the default collection is still locked")


def clear_default_collection(env: dict[str, str]) -> int:
    """Unlock the default collection and delete every item in it; returns how many."""
    import secretstorage

    unlock_default_collection(env)
    with secret_service_connection(env) as conn:
        items = list(secretstorage.get_default_collection(conn).get_all_items())
        for item in items:
            item.delete()
        return len(items)


def default_collection_items(env: dict[str, str]) -> list[dict[str, str]]:
    """The attributes of every item in the default collection (secrets not read)."""
    import secretstorage

    with secret_service_connection(env) as conn:
        collection = secretstorage.get_default_collection(conn)
        return [item.get_attributes() for item in collection.get_all_items()]
