"""An isolated user for running the ``shellvault`` console script."""

from __future__ import annotations

import os
import pwd
import secrets
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from testkit.programs import IN_CI, require_program, search_path, venv_bin
from testkit.world import World, clear_default_collection

if TYPE_CHECKING:
    import pytest

__all__ = ["ShellvaultFailed", "SvHome"]


class ShellvaultFailed(subprocess.CalledProcessError):
    """``SvHome.run(..., check=True)`` on a non-zero exit; shows stdout and stderr."""

    def __str__(self) -> str:
        return f"{super().__str__()}\n--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"


class SvHome:
    """An isolated user: its own HOME, XDG dirs, ``~/.aws`` and shellvault state.

    ``env`` is the complete environment for subprocesses (built from scratch: no
    AWS_*, SHELLVAULT_*, DBUS_*, DISPLAY or LC_* of the outer environment):
    HOME, USER, LOGNAME, SHELL=/bin/bash, TERM=dumb, LANG=C.UTF-8, TMPDIR (if set),
    PATH (the venv's bin first, then the outer PATH), XDG_{CONFIG,DATA,STATE,CACHE}_HOME
    and XDG_RUNTIME_DIR under HOME, AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE,
    AWS_EC2_METADATA_DISABLED=true (no 1 s IMDS probes), SHELLVAULT_BACKEND=file,
    SHELLVAULT_FILE_PASSPHRASE=<random>, SHELLVAULT_MFA_PROMPT=terminal.
    Change ``env`` freely within a test.
    """

    def __init__(self, home: Path) -> None:
        self.home = home
        self.config_path = home / ".aws" / "config"
        self.credentials_path = home / ".aws" / "credentials"
        self.passphrase = secrets.token_urlsafe(24)
        self.world: World | None = None
        xdg = {
            "XDG_CONFIG_HOME": home / ".config",
            "XDG_DATA_HOME": home / ".local" / "share",
            "XDG_STATE_HOME": home / ".local" / "state",
            "XDG_CACHE_HOME": home / ".cache",
            "XDG_RUNTIME_DIR": home / ".run",
        }
        for d in (*xdg.values(), self.config_path.parent):
            d.mkdir(mode=0o700, parents=True, exist_ok=True)
        user = pwd.getpwuid(os.getuid()).pw_name
        self.env: dict[str, str] = {
            "HOME": str(home),
            "USER": user,
            "LOGNAME": user,
            "SHELL": "/bin/bash",
            "TERM": "dumb",
            "LANG": "C.UTF-8",
            "PATH": search_path(),
            **{k: str(v) for k, v in xdg.items()},
            "AWS_CONFIG_FILE": str(self.config_path),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.credentials_path),
            "AWS_EC2_METADATA_DISABLED": "true",
            "SHELLVAULT_BACKEND": "file",
            "SHELLVAULT_FILE_PASSPHRASE": self.passphrase,
            "SHELLVAULT_MFA_PROMPT": "terminal",
        }
        if os.environ.get("TMPDIR"):
            self.env["TMPDIR"] = os.environ["TMPDIR"]
        if IN_CI:
            self.env["CI"] = "true"

    # -- paths ------------------------------------------------------------------
    @property
    def state_dir(self) -> Path:
        """Where shellvault keeps its state by default (``$XDG_STATE_HOME/shellvault``)."""
        return Path(self.env["XDG_STATE_HOME"]) / "shellvault"

    @property
    def data_dir(self) -> Path:
        return Path(self.env["XDG_DATA_HOME"]) / "shellvault"

    @property
    def shellvault(self) -> str:
        """The installed console script."""
        exe = venv_bin() / "shellvault"
        return str(exe) if exe.exists() else require_program("shellvault")

    def write_config(self, text: str) -> Path:
        """Write ``~/.aws/config`` (``AWS_CONFIG_FILE``)."""
        self.config_path.write_text(text)
        return self.config_path

    # -- running ----------------------------------------------------------------
    def run(
        self,
        *args: str | os.PathLike[str],
        input: str | None = None,
        env: Mapping[str, str | None] | None = None,
        check: bool = False,
        timeout: float = 60.0,
        cwd: str | os.PathLike[str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``shellvault ARGS`` as this user: stdin is ``input`` (else /dev/null),
        no controlling terminal (new session, so /dev/tty cannot be opened), text
        output captured. ``env`` is merged over ``self.env`` (a ``None`` value removes
        a variable) for this one call. ``cwd`` defaults to HOME."""
        return self.run_program(
            [self.shellvault, *args], input=input, env=env, check=check, timeout=timeout, cwd=cwd
        )

    def run_program(
        self,
        argv: Sequence[str | os.PathLike[str]],
        *,
        input: str | None = None,
        env: Mapping[str, str | None] | None = None,
        check: bool = False,
        timeout: float = 60.0,
        cwd: str | os.PathLike[str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Like ``run`` for any program (bash, aws, ...) in this user's environment."""
        full_env = self.merged_env(env)
        argv = [os.fspath(a) for a in argv]
        result = subprocess.run(
            argv,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=full_env,
            cwd=os.fspath(cwd) if cwd is not None else str(self.home),
            timeout=timeout,
            start_new_session=True,
            check=False,
        )
        if check and result.returncode != 0:
            raise ShellvaultFailed(result.returncode, argv, result.stdout, result.stderr)
        return result

    def merged_env(self, env: Mapping[str, str | None] | None = None) -> dict[str, str]:
        merged = dict(self.env)
        for key, value in (env or {}).items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        return merged

    # -- backends ---------------------------------------------------------------
    def use_keyring(self, secret_service_env: Mapping[str, str]) -> None:
        """Switch to ``SHELLVAULT_BACKEND=keyring`` on the private bus. The shared
        default collection is unlocked and emptied first (items of earlier tests)."""
        env = dict(secret_service_env)
        clear_default_collection(env)
        self.env.update(env)
        self.env["SHELLVAULT_BACKEND"] = "keyring"
        self.env.pop("SHELLVAULT_FILE_PASSPHRASE", None)

    def add_keys(self, profile: str, access_key_id: str, secret_access_key: str) -> None:
        """``shellvault add PROFILE --env`` with the keys in that one command's env."""
        self.run(
            "add",
            profile,
            "--env",
            env={"AWS_ACCESS_KEY_ID": access_key_id, "AWS_SECRET_ACCESS_KEY": secret_access_key},
            check=True,
        )

    def apply(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Make this process's ``os.environ`` exactly ``env`` (for in-process tests)."""
        for key in list(os.environ):
            if key not in self.env:
                monkeypatch.delenv(key)
        for key, value in self.env.items():
            monkeypatch.setenv(key, value)
