"""The environment contract, and rendering it for each shell with exact quoting.

This module only renders: which credentials and which region are the caller's choice.
"""

from __future__ import annotations

from collections.abc import Mapping

from .creds import Session, rfc3339
from .errors import UsageError

# Everything shellvault sets; `env --unset` removes all of them.
CONTRACT_VARS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "SHELLVAULT_PROFILE",
    "SHELLVAULT_ACCOUNT",
    "SHELLVAULT_EXPIRES",
)
# What a stale session or another tool could leave behind and would override ours.
STALE_VARS = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SECURITY_TOKEN", "AWS_SESSION_EXPIRATION")

SHELLS = ("bash", "zsh", "sh", "fish", "powershell", "tcsh", "dotenv")

Assignments = Mapping[str, str | None]  # None means: unset it


def contract(session: Session, profile: str, region: str | None) -> dict[str, str | None]:
    creds = session.credentials
    values: dict[str, str | None] = {
        "AWS_ACCESS_KEY_ID": creds.access_key_id,
        "AWS_SECRET_ACCESS_KEY": creds.secret_access_key,
        "AWS_SESSION_TOKEN": creds.session_token,
        "AWS_CREDENTIAL_EXPIRATION": rfc3339(creds.expires) if creds.expires else None,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "SHELLVAULT_PROFILE": profile,
        "SHELLVAULT_ACCOUNT": session.account,
        "SHELLVAULT_EXPIRES": str(creds.expires) if creds.expires else None,
    }
    values.update(dict.fromkeys(STALE_VARS))
    return values


def unset_all() -> dict[str, str | None]:
    return dict.fromkeys(CONTRACT_VARS + STALE_VARS)


def _posix_quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def _fish_quote(value: str) -> str:
    # Inside fish single quotes only \\ and \' are escapes.
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _fish_unset(name: str) -> str:
    # Plain `set -e` would erase a universal variable for good (every session, on disk):
    # erase the global one, and hide a universal one behind an empty unexported global.
    # `or true`: `set -e` of an unset variable returns 4, and `source` must end with 0.
    return f"set -e -g {name}; set -q -U {name}; and set -g -u {name}; or true;"


# PowerShell ends a single-quoted string at any of these, not only at ASCII ' (its
# tokenizer's IsSingleQuote); each is escaped by doubling it, as ' is.
_POWERSHELL_QUOTES = ("'", "\u2018", "\u2019", "\u201a", "\u201b")


def _powershell_quote(value: str) -> str:
    for quote in _POWERSHELL_QUOTES:
        value = value.replace(quote, quote + quote)
    return "'" + value + "'"


def _tcsh_quote(value: str) -> str:
    if "\n" in value:
        raise UsageError("tcsh cannot hold a newline in a variable; use --shell bash or dotenv")
    # History expansion acts even inside single quotes, so ! leaves the quotes.
    return "'" + value.replace("'", "'\\''").replace("!", "'\\!'") + "'"


# dotenv files are read by docker (--env-file: the value is every byte after `=`, no
# quoting at all), python-dotenv (quotes, escapes, ${VAR} expansion) and POSIX sh
# (`set -a; . file`). A value means the same to all three only if it is written bare and
# holds none of their special characters; AWS's own values (key ids, secrets, tokens,
# RFC 3339 times, regions, account ids) always do.
_DOTENV_SAFE_PUNCTUATION = frozenset("_./:+=@%,-")


def _dotenv_value(name: str, value: str) -> str:
    for c in value:
        if not (c in _DOTENV_SAFE_PUNCTUATION or (c.isalnum() and c.isprintable())):
            raise UsageError(
                f"{name} holds {c!r}, which docker, python-dotenv and sh would read "
                "differently in a dotenv file; use --shell bash, fish or powershell, or "
                "export --format json"
            )
    return value


def _utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def render(assignments: Assignments, shell: str) -> str:
    """Lines that, evaluated by `shell`, leave exactly `assignments` in its environment."""
    lines: list[str] = []
    for name, value in assignments.items():
        if value is not None and not value.isascii() and not _utf8(value):
            raise UsageError(f"{name} would not be valid UTF-8 text (a profile name or "
                             "setting with bytes that are not UTF-8?); nothing was printed")
        if shell in ("bash", "zsh", "sh"):
            line = f"unset {name};" if value is None else f"export {name}={_posix_quote(value)};"
        elif shell == "fish":
            line = _fish_unset(name) if value is None else f"set -gx {name} {_fish_quote(value)};"
        elif shell == "powershell":
            line = (f"Remove-Item Env:{name} -ErrorAction SilentlyContinue;" if value is None
                    else f"$Env:{name} = {_powershell_quote(value)};")
        elif shell == "tcsh":
            line = f"unsetenv {name};" if value is None else f"setenv {name} {_tcsh_quote(value)};"
        elif shell == "dotenv":
            if value is None:
                continue  # a dotenv file cannot unset anything
            line = f"{name}={_dotenv_value(name, value)}"
        else:
            raise UsageError(f"unknown shell '{shell}'; choose one of: {', '.join(SHELLS)}")
        lines.append(line)
    return "".join(line + "\n" for line in lines)


def credential_process_json(session: Session) -> str:
    """The `credential_process` output format (Version 1) that every AWS SDK reads."""
    import json

    creds = session.credentials
    data: dict[str, object] = {
        "Version": 1,
        "AccessKeyId": creds.access_key_id,
        "SecretAccessKey": creds.secret_access_key,
    }
    if creds.session_token:
        data["SessionToken"] = creds.session_token
    if creds.expires:
        data["Expiration"] = rfc3339(creds.expires)
    return json.dumps(data, indent=2) + "\n"
