"""What `env` and `export` print, shared by the hot path (main.py) and the click commands."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .envvars import SHELLS, contract, credential_process_json, render
from .errors import UsageError

if TYPE_CHECKING:
    from .engine import Issued


def pick_shell(choice: str | None) -> str:
    """--shell, else $SHELLVAULT_SHELL, else the detected shell, else POSIX sh."""
    name = (choice or os.environ.get("SHELLVAULT_SHELL") or "").strip().lower()
    if not name:
        from .shells import detect_shell

        name = detect_shell() or "sh"
    if name in ("pwsh", "powershell"):
        name = "powershell"
    elif name == "csh":
        name = "tcsh"
    elif name in ("ksh", "mksh", "dash", "ash", "yash"):
        name = "sh"
    if name not in SHELLS:
        raise UsageError(f"unknown shell '{name}'; use --shell with one of: {', '.join(SHELLS)}")
    return name


def config_environ() -> Mapping[str, str]:
    """The environment as config resolution should see it.

    A region exported by an earlier `shellvault env` belongs to that profile, not to the one
    being asked for, so it must not leak into the next resolution.
    """
    if "SHELLVAULT_PROFILE" not in os.environ:
        return os.environ
    ours = ("AWS_REGION", "AWS_DEFAULT_REGION")
    return {k: v for k, v in os.environ.items() if k not in ours}


def render_env(issued: Issued, shell: str) -> str:
    return render(contract(issued.session, issued.profile.name, issued.region), shell)


def render_export(issued: Issued, fmt: str) -> str:
    if fmt == "json":
        return credential_process_json(issued.session)
    values = {k: v for k, v in contract(issued.session, issued.profile.name, issued.region).items()
              if v is not None}
    return render(values, "dotenv" if fmt == "dotenv" else "sh")


def emit(text: str, eval_hint_profile: str | None = None) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()
    if eval_hint_profile and sys.stdout.isatty():
        from .tty import command, notice

        notice(f'to load these into your shell, run: eval "$({command("env", eval_hint_profile)})"')


def fail(exc: BaseException | None) -> int:
    from .tty import notice

    if exc is None:
        sys.stderr.write("\n")  # after the ^C the terminal echoed
        notice("interrupted; nothing was changed")
        return 130

    notice(str(exc))  # one line whatever names or AWS texts the message carries
    return int(getattr(exc, "exit_code", 1))


_REGION_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


def valid_region(region: str) -> bool:
    """A region name's shape (eu-west-1, us-gov-west-1, cn-north-1); no regex on the hot path."""
    parts = region.split("-")
    return (len(parts) >= 3 and set(region) <= _REGION_CHARS and parts[-1].isdigit()
            and all(parts) and len(region) <= 32)


def region_environ(region: str | None) -> Mapping[str, str]:
    """config_environ() with --region in force: AWS_REGION wins over every profile's region
    (as in aws-vault, the STS calls of the chain use it too)."""
    environ = config_environ()
    if region is None:
        return environ
    if not valid_region(region):
        raise UsageError(f"--region {region!r} is not a region name (e.g. eu-west-1)")
    return {**environ, "AWS_REGION": region}
