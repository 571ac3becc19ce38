"""Getting an MFA code, in this order: --mfa-token, the profile's mfa_process, then the
prompt chosen by SHELLVAULT_MFA_PROMPT (terminal on /dev/tty by default; ykman; zenity,
kdialog or osascript when there is no terminal). Never stdin/stdout: `eval` owns those.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping

from .errors import InputNeeded, Interrupted, ShellvaultError, UsageError
from .tty import ask, command, has_tty

# How long an mfa_process, ykman or a dialog may take (a person may be touching a key).
MFA_COMMAND_TIMEOUT = 120
CODE_RE = re.compile(r"[0-9]{6}")  # ASCII digits only: \d also takes full-width digits
PROMPTS = ("terminal", "ykman", "zenity", "kdialog", "osascript")


def check_code(code: str, source: str) -> str:
    code = code.strip()
    if not CODE_RE.fullmatch(code):
        raise UsageError(f"the MFA code from {source} is not six digits; nothing was sent to AWS")
    return code


def _run(argv: list[str], what: str, shell: bool = False) -> str:
    try:
        done = subprocess.run(
            argv[0] if shell else argv, shell=shell, capture_output=True, text=True,
            timeout=MFA_COMMAND_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except KeyboardInterrupt:
        raise Interrupted("interrupted; nothing was changed") from None
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ShellvaultError(f"{what} failed: {exc.__class__.__name__}") from None
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[0]
        raise ShellvaultError(f"{what} failed: {first}")
    return done.stdout


def _gui_prompt(kind: str, text: str) -> str:
    if kind == "zenity":
        return _run(["zenity", "--entry", "--title=shellvault", f"--text={text}"], "zenity")
    if kind == "kdialog":
        return _run(["kdialog", "--title", "shellvault", "--inputbox", text], "kdialog")
    script = (
        f'display dialog "{text}" default answer "" with title "shellvault" '
        "buttons {\"Cancel\", \"OK\"} default button \"OK\"\n"
        "text returned of result"
    )
    return _run(["osascript", "-e", script], "osascript")


def _default_prompt(environ: Mapping[str, str]) -> str:
    if has_tty():
        return "terminal"
    if sys.platform == "darwin":
        return "osascript"
    if environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"):
        for tool in ("zenity", "kdialog"):
            if shutil.which(tool):
                return tool
    return "none"


def get_code(
    profile: str,
    mfa_serial: str,
    *,
    token: str | None = None,
    mfa_process: str | None = None,
    no_input: bool = False,
    environ: Mapping[str, str] = os.environ,
) -> str:
    if token:
        return check_code(token, "--mfa-token")
    from .lock import mark_prompting

    mark_prompting()  # every source below may wait for a person
    if mfa_process:
        return check_code(_run([mfa_process], f"mfa_process of profile {profile}", shell=True),
                          f"mfa_process of profile {profile}")
    login_hint = f"run {command('auth', profile)} in a terminal"
    if no_input:
        raise InputNeeded(f"{profile} needs an MFA code; {login_hint}")
    kind = (environ.get("SHELLVAULT_MFA_PROMPT") or "").strip().lower() or _default_prompt(environ)
    text = f"MFA code for {mfa_serial}"
    if kind == "terminal":
        return check_code(ask(f"{text}: ", why="an MFA code"), "the terminal")
    if kind == "ykman":
        account = environ.get("SHELLVAULT_YKMAN_ACCOUNT") or mfa_serial
        return check_code(
            _run(["ykman", "oath", "accounts", "code", "--single", account], "ykman"), "ykman"
        )
    if kind in ("zenity", "kdialog", "osascript"):
        return check_code(_gui_prompt(kind, text), kind)
    if kind == "none":
        raise InputNeeded(f"{profile} needs an MFA code and there is no terminal; {login_hint}")
    raise UsageError(f"SHELLVAULT_MFA_PROMPT={kind!r} is not one of {', '.join(PROMPTS)}")
