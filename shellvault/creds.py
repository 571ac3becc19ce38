"""Credential values and their (de)serialisation; no I/O here."""

from __future__ import annotations

import json
import time
from typing import NamedTuple

ACCESS_KEY_ID_PATTERN = r"^(AKIA|ASIA)[A-Z0-9]{12,124}$"
SECRET_KEY_PATTERN = r"^[A-Za-z0-9/+=]{16,128}$"


class Credentials(NamedTuple):
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None
    expires: int | None = None  # epoch seconds; None for long-term keys

    def __repr__(self) -> str:  # never let a secret reach a traceback or a log
        return f"Credentials(access_key_id={self.access_key_id!r}, expires={self.expires!r})"

    def seconds_left(self, now: float | None = None) -> float:
        if self.expires is None:
            return float("inf")
        return self.expires - (time.time() if now is None else now)


class Session(NamedTuple):
    """Temporary credentials plus what the shell shows about them."""

    credentials: Credentials
    account: str | None = None
    arn: str | None = None

    def to_json(self) -> str:
        c = self.credentials
        return json.dumps(
            {
                "AccessKeyId": c.access_key_id,
                "SecretAccessKey": c.secret_access_key,
                "SessionToken": c.session_token,
                "Expires": c.expires,
                "Account": self.account,
                "Arn": self.arn,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> Session:
        data = json.loads(text)
        return cls(
            Credentials(
                data["AccessKeyId"], data["SecretAccessKey"], data.get("SessionToken"),
                data.get("Expires"),
            ),
            data.get("Account"),
            data.get("Arn"),
        )


def master_to_json(creds: Credentials) -> str:
    return json.dumps(
        {"AccessKeyId": creds.access_key_id, "SecretAccessKey": creds.secret_access_key},
        separators=(",", ":"),
    )


def master_from_json(text: str) -> Credentials:
    data = json.loads(text)
    return Credentials(data["AccessKeyId"], data["SecretAccessKey"])


def validate_key_pair(access_key_id: str, secret_access_key: str) -> str | None:
    """Return what is wrong with a long-term key pair, or None; never echo the secret."""
    import re  # only `add` needs it; keep it off the hot path

    if not re.match(ACCESS_KEY_ID_PATTERN, access_key_id):
        return ("the access key id does not look like one "
                "(expected AKIA... of 16-128 capitals/digits)")
    if access_key_id.startswith("ASIA"):
        return "that is a temporary (ASIA...) key; store the IAM user's long-term AKIA... key"
    if not re.match(SECRET_KEY_PATTERN, secret_access_key):
        return "the secret access key does not look like one (expected 40 base64 characters)"
    return None


def rfc3339(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def account_from_arn(arn: str | None) -> str | None:
    # arn:aws:iam::123456789012:... -> 123456789012
    if not arn:
        return None
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4].isascii() and parts[4].isdigit() else None


def seconds_left_text(expires: int | None, now: float | None = None) -> str:
    """How long credentials have left, as people read it: ``1h05m``, ``12m``, ``expired``."""
    if expires is None:
        return "-"
    left = int(expires - (time.time() if now is None else now))
    if left <= 0:
        return "expired"
    hours, rest = divmod(left, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m"
