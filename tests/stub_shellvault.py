"""A stand-in ``shellvault`` for the shell-plugin tests (see tests/shellharness.py).

It answers ``env`` with the environment contract rendered by the real ``envvars``, and
``hook`` with the real policy module (``shellvault.hook``), whose engine is replaced by
:func:`issue` below: no AWS, no vault, only the control files in ``$SV_STUB_DIR``
(``exit``, ``ttl``, ``need_mfa``, ``profiles``) that a test changes while a shell runs.
Every call is logged to ``$SV_STUB_DIR/calls``; a refresh or scope load made inside a hook
is logged as the ``env`` call it stands for (``env --shell bash --no-input --min-ttl 600 P``).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from shellvault import hook
from shellvault.envvars import STALE_VARS, render, unset_all
from shellvault.errors import InputNeeded, ShellvaultError
from shellvault.paths import stamp_path

CTL = Path(os.environ.get("SV_STUB_DIR", "."))
ACCOUNTS = {"account-a": "111111111111", "account-b": "222222222222"}


class StubFailure(ShellvaultError):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.exit_code = code


def read(name: str, default: str = "") -> str:
    try:
        return (CTL / name).read_text().strip()
    except FileNotFoundError:
        return default


def write(name: str, value: str) -> None:
    (CTL / name).write_text(value)


def log(line: str) -> None:
    with (CTL / "calls").open("a") as f:
        f.write(line + "\n")


def stamp(profile: str, expires: int) -> None:
    if os.environ.get("SHELLVAULT_STATE_DIR"):
        path = stamp_path(profile)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(str(expires))


def issue(profile: str, no_input: bool) -> dict[str, str | None]:
    """What the engine would give: one new session per call."""
    if profile not in read("profiles", "account-a account-b central").split():
        raise StubFailure(f"unknown profile {profile!r}", 1)
    code = int(read("exit", "0"))
    if code == 3:
        raise InputNeeded(f"{profile} needs an MFA code; run 'shellvault auth {profile}'")
    if code:
        raise StubFailure(f"stub failure {code}", code)
    if (CTL / "need_mfa").exists():
        if no_input:
            raise InputNeeded(f"MFA code needed; run 'shellvault auth {profile}'")
        with open("/dev/tty", "w") as out:
            out.write(f"MFA code for {profile}: ")
        with open("/dev/tty") as tty:
            answer = tty.readline().strip()
        if answer != "123456":
            raise StubFailure("invalid MFA code", 1)
        (CTL / "need_mfa").unlink()
    n = int(read("counter", "0")) + 1
    write("counter", str(n))
    exp = int(time.time()) + int(read("ttl", "3600"))
    stamp(profile, exp)
    values: dict[str, str | None] = {
        "AWS_ACCESS_KEY_ID": f"ASIA{profile.upper().replace('-', '')}{n}",
        "AWS_SECRET_ACCESS_KEY": f"secret-{profile}-{n}",
        "AWS_SESSION_TOKEN": f"token-{profile}-{n}",
        "AWS_CREDENTIAL_EXPIRATION": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(exp)),
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "SHELLVAULT_PROFILE": profile,
        "SHELLVAULT_ACCOUNT": ACCOUNTS.get(profile, "999999999999"),
        "SHELLVAULT_EXPIRES": str(exp),
    }
    values.update(dict.fromkeys(STALE_VARS))
    return values


def auth(profile: str) -> int:
    """Like the real one: sessions cached, the stamp touched, no MFA needed afterwards."""
    (CTL / "need_mfa").unlink(missing_ok=True)
    write("exit", "0")
    n = int(read("logins", "0")) + 1
    write("logins", str(n))
    stamp(profile, int(time.time()) + int(read("ttl", "3600")) + n)  # a new expiry
    return 0


def env(args: list[str]) -> int:
    shell, no_input, profile, unset = "bash", False, None, False
    rest = iter(args)
    for a in rest:
        if a == "--shell":
            shell = next(rest, "bash")
        elif a in ("--min-ttl", "--duration", "--mfa-token", "--region"):
            next(rest, None)
        elif a == "--no-input":
            no_input = True
        elif a == "--unset":
            unset = True
        else:
            profile = a
    if unset:
        sys.stdout.write(render(unset_all(), shell))
        return 0
    try:
        values = issue(profile or "", no_input)
    except ShellvaultError as exc:
        sys.stderr.write(f"shellvault: {exc}\n")
        return exc.exit_code
    sys.stdout.write(render(values, shell))
    return 0


def run_hook(args: list[str]) -> int:
    shell = args[0] if args else "bash"
    verb = args[args.index("--") + 1] if "--" in args[:-1] else "?"
    log(f"hook {verb}")

    def stub_issue(profile: str, no_input: bool, min_ttl: int | None) -> hook.Assignments:
        parts = ["env", "--shell", shell] + (["--no-input"] if no_input else [])
        parts += ["--min-ttl", str(min_ttl)] if min_ttl is not None else []
        log(" ".join([*parts, profile]))
        return issue(profile, no_input)

    return hook.main(args, issue=stub_issue)


def main() -> None:
    args = sys.argv[1:]
    command = args[0] if args else ""
    if command != "hook":
        log(" ".join(args))
    if command == "env":
        code = env(args[1:])
    elif command == "hook":
        code = run_hook(args[1:])
    elif command == "auth":
        code = auth(args[-1])
    else:
        code = 0
    sys.stdout.flush()
    sys.exit(code)


if __name__ == "__main__":
    main()
