"""`shellvault rotate PROFILE`: replace the IAM user's access key with a new one.

    CreateAccessKey -> store the new key -> GetCallerIdentity with it (retried while IAM
    propagates) -> DeleteAccessKey(old) -> drop the sessions made from the old key

IAM calls use the cached MFA session where the profile names an MFA device (IAM refuses
GetSessionToken credentials without MFA, and policies commonly require it), so the user
types at most one code; without a device they use the key itself.

At every step the user holds a working stored key: before the new key is verified, a
failure puts the old key back and deletes the new one; after, the new key stays stored
and the message names the old key still to delete.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from .creds import Credentials
from .errors import ShellvaultError, UsageError

if TYPE_CHECKING:
    from .config import Profile
    from .engine import Engine, Request

VERIFY_TIMEOUT = 60.0  # IAM takes seconds (rarely a minute) to accept a new key everywhere


class Rotated(NamedTuple):
    profile: str  # the profile whose stored key was replaced
    user: str
    old_key: str
    new_key: str
    sessions_dropped: int


def _client(service: str, creds: Credentials, profile: Profile, region: str | None) -> Any:
    from . import sts

    return sts.client(service, creds, profile.name, region)


def _why(exc: Exception) -> str:
    """One line for an AWS error (code and message), never a traceback."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        message = " ".join(str(error.get("Message", "")).split()).rstrip(".")
        return f"{error.get('Code', 'Error')}: {message}" if message else str(error.get("Code"))
    if isinstance(exc, BotoCoreError):
        return " ".join(str(exc).split())
    return exc.__class__.__name__


def _user_name(arn: str) -> str:
    # arn:aws:iam::123456789012:user/some/path/alice -> alice
    resource = arn.split(":", 5)[-1]
    if not resource.startswith("user/"):
        raise UsageError(f"the stored key is not an IAM user's ({arn}); shellvault rotates IAM "
                         "user keys only (a root user key is rotated in the console)")
    return resource.rsplit("/", 1)[-1]


def _identity(creds: Credentials, profile: Profile, region: str | None) -> str:
    sts = _client("sts", creds, profile, region)
    arn: str = sts.get_caller_identity()["Arn"]
    return arn


def _verify(new: Credentials, profile: Profile, region: str | None, expected_arn: str,
            timeout: float) -> str | None:
    """None once AWS accepts the new key as the same user; else the last problem."""
    from botocore.exceptions import BotoCoreError, ClientError

    deadline = time.monotonic() + timeout
    delay = 1.0
    problem = "no answer"
    while True:
        try:
            arn = _identity(new, profile, region)
            if arn == expected_arn:
                return None
            problem = f"it belongs to {arn}"
        except (ClientError, BotoCoreError) as exc:
            problem = _why(exc)
        if time.monotonic() + delay > deadline:
            return problem
        time.sleep(delay)
        delay = min(delay * 2, 8.0)


def _iam_credentials(engine: Engine, profile: Profile, request: Request,
                     master: Credentials) -> Credentials:
    from .engine import mfa_serial_for

    root = profile.root()
    mfa_serial = mfa_serial_for(profile.chain())
    if not mfa_serial:
        return master
    # The root with the chain's MFA device: the engine's base-session cache key is root +
    # device, so this is the same MFA session every role of this user shares.
    mfa_root = root._replace(mfa_serial=mfa_serial)
    return engine.issue(mfa_root, request._replace(duration=None)).session.credentials


def rotate(engine: Engine, profile: Profile, request: Request,
           environ: Mapping[str, str] = os.environ) -> Rotated:
    from botocore.exceptions import BotoCoreError, ClientError

    from .lock import exclusive
    from .paths import state_dir, touch_stamp

    root = profile.root()
    if root.credential_process or root.is_sso:
        raise UsageError(f"{root.name} gets its credentials from "
                         f"{'credential_process' if root.credential_process else 'SSO'}; "
                         "there is no stored access key to rotate")
    vault = engine.vault
    timeout = float(environ.get("SHELLVAULT_ROTATE_VERIFY_TIMEOUT") or VERIFY_TIMEOUT)
    lock = state_dir(environ) / "locks" / f"rotate-{root.fingerprint()}.lock"
    with exclusive(lock, f"rotating the access key of {root.name}"):
        old = vault.get_master(root.name)
        if old is None:
            raise UsageError(f"no access key stored for profile {root.name} in the "
                             f"{vault.store.describe()}; run 'shellvault add {root.name}'")
        region = profile.region
        try:
            arn = _identity(old, root, region)
        except (ClientError, BotoCoreError) as exc:
            raise ShellvaultError(f"the stored key {old.access_key_id} of {root.name} does not "
                                  f"work ({_why(exc)}); nothing was changed") from None
        user = _user_name(arn)
        iam_creds = _iam_credentials(engine, profile, request, old)
        iam = _client("iam", iam_creds, root, region)
        try:
            keys = [k["AccessKeyId"] for k in
                    iam.list_access_keys(UserName=user)["AccessKeyMetadata"]]
        except (ClientError, BotoCoreError) as exc:
            raise ShellvaultError(f"cannot list the access keys of {user} ({_why(exc)}); "
                                  "nothing was changed") from None
        others = [k for k in keys if k != old.access_key_id]
        if others:
            raise ShellvaultError(
                f"{user} already has another access key ({', '.join(others)}) besides the "
                f"stored {old.access_key_id}; IAM allows two, so delete the one you no longer "
                "use first; nothing was changed")
        try:
            made = iam.create_access_key(UserName=user)["AccessKey"]
        except (ClientError, BotoCoreError) as exc:
            raise ShellvaultError(f"CreateAccessKey for {user} failed ({_why(exc)}); "
                                  f"the stored key is still {old.access_key_id}") from None
        new = Credentials(made["AccessKeyId"], made["SecretAccessKey"])

        def undo(problem: str) -> ShellvaultError:
            """Before the new key is proven: the old one is (again) the stored one."""
            try:
                vault.set_master(root.name, old)
            except ShellvaultError as exc:
                return ShellvaultError(
                    f"{problem}; putting the old key back failed too ({exc}): the new key "
                    f"{new.access_key_id} is stored and may not work yet; run 'shellvault "
                    f"rotate {root.name}' again in a minute")
            try:
                iam.delete_access_key(UserName=user, AccessKeyId=new.access_key_id)
                fate = "deleted again"
            except (ClientError, BotoCoreError) as exc:
                fate = (f"still in IAM ({_why(exc)}): delete it with 'aws iam "
                        f"delete-access-key --user-name {user} --access-key-id "
                        f"{new.access_key_id}'")
            return ShellvaultError(f"{problem}; the stored key is still {old.access_key_id} "
                                   f"(it works), the new key {new.access_key_id} was {fate}")

        try:
            vault.set_master(root.name, new)
        except ShellvaultError as exc:
            raise undo(f"storing the new key failed ({exc})") from None
        problem = _verify(new, root, region, arn, timeout)
        if problem is not None:
            raise undo(f"AWS did not accept the new key {new.access_key_id} within "
                       f"{int(timeout)}s ({problem})") from None
        # The new key is stored and works: sessions of the old key go, whatever comes next.
        dropped = vault.delete_sessions({root.name})
        for entry in dropped:
            touch_stamp(entry.profile, None, environ)
        try:
            iam.delete_access_key(UserName=user, AccessKeyId=old.access_key_id)
        except (ClientError, BotoCoreError) as exc:
            raise ShellvaultError(
                f"the new key {new.access_key_id} is stored and works, but deleting the old "
                f"key {old.access_key_id} failed ({_why(exc)}): delete it in the IAM console "
                f"or with 'aws iam delete-access-key --user-name {user} --access-key-id "
                f"{old.access_key_id}'") from None
        return Rotated(root.name, user, old.access_key_id, new.access_key_id, len(dropped))
