"""gnome-keyring's Secret Service on a private D-Bus session bus."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from testkit.programs import require_program, stop_pid_tree, tail, wait_until
from testkit.world import (
    SECRET_SERVICE_PASSWORD,
    secret_service_connection,
    unlock_default_collection,
)

__all__ = ["SecretService"]


class SecretService:
    """gnome-keyring's Secret Service on a private D-Bus session bus.

    ``dbus-run-session -- sh -c 'write $DBUS_SESSION_BUS_ADDRESS to a file; exec
    gnome-keyring-daemon --foreground --unlock --components=secrets'`` with the
    password on stdin: the daemon creates the ``login`` collection (the ``default``
    alias) with that password, unlocked. HOME and the XDG dirs point into a tmp dir,
    so no real keyring file is touched, and the bus is new: never the user's own.
    """

    def __init__(self, workdir: Path, password: str = SECRET_SERVICE_PASSWORD) -> None:
        self.workdir = workdir
        self.password = password
        self.log_path = workdir / "secret-service.log"
        self.address_file = workdir / "bus-address"
        self.env: dict[str, str] = {}
        self.pid = 0
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        """Start the daemon; on a loaded machine a first start that never becomes ready is
        retried once from scratch (a new bus and an empty keyring directory)."""
        try:
            self._start_once(timeout)
        except RuntimeError:
            import shutil

            shutil.rmtree(self.workdir / "home", ignore_errors=True)
            self.address_file.unlink(missing_ok=True)
            self._start_once(timeout)

    def _start_once(self, timeout: float) -> None:
        dbus_run_session = require_program("dbus-run-session")
        require_program("gnome-keyring-daemon")
        home = self.workdir / "home"
        runtime = self.workdir / "run"
        for d in (home, runtime):
            d.mkdir(mode=0o700, parents=True, exist_ok=True)
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "HOME": str(home),
            "XDG_RUNTIME_DIR": str(runtime),
            "XDG_DATA_HOME": str(home / ".local/share"),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "LANG": "C.UTF-8",
            "SV_ADDRESS_FILE": str(self.address_file),
        }
        script = (
            'printf "%s\\n" "$DBUS_SESSION_BUS_ADDRESS" >"$SV_ADDRESS_FILE.tmp" && '
            'mv "$SV_ADDRESS_FILE.tmp" "$SV_ADDRESS_FILE" && '
            "exec gnome-keyring-daemon --foreground --unlock --components=secrets"
        )
        with open(self.log_path, "wb") as log:
            self._proc = subprocess.Popen(
                [dbus_run_session, "--", "sh", "-c", script],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.workdir,
                start_new_session=True,
            )
        self.pid = self._proc.pid
        assert self._proc.stdin is not None
        self._proc.stdin.write(self.password.encode())
        self._proc.stdin.close()
        try:
            wait_until("D-Bus session", self.address_file.exists, timeout, self._proc)
            self.env = {"DBUS_SESSION_BUS_ADDRESS": self.address_file.read_text().strip()}
            wait_until("Secret Service", self._ready, timeout, self._proc)
        except (RuntimeError, TimeoutError) as exc:
            self.stop()
            raise RuntimeError(f"{exc}\n--- log ---\n{tail(self.log_path)}") from exc

    def _ready(self) -> bool:
        """The name is owned (asked without D-Bus activation) and the default
        collection exists and is unlocked."""
        import secretstorage
        from jeepney.bus_messages import message_bus
        from jeepney.io.blocking import Proxy
        from jeepney.wrappers import DBusErrorResponse
        from secretstorage.util import BUS_NAME

        try:
            with secret_service_connection(self.env) as conn:
                # Not secretstorage.check_service_availability: it also says yes when the
                # name is only activatable, and the call after it then makes the bus start
                # a second daemon that races ours (a 60 s hang, seen with 4 at once).
                if Proxy(message_bus, conn).NameHasOwner(BUS_NAME)[0] != 1:
                    return False
                if not secretstorage.get_default_collection(conn).is_locked():
                    return True
            # Seen on a loaded machine: the daemon made the collection but left it locked
            # (it then asks a GUI prompt that has no display). Unlock it as the tests do.
            unlock_default_collection(self.env, self.password)
            return True
        except (OSError, RuntimeError, DBusErrorResponse, secretstorage.SecretStorageException):
            return False

    def stop(self) -> None:
        """SIGTERM gnome-keyring-daemon; dbus-run-session then stops its bus and
        exits; stragglers are stopped by PID."""
        if self._proc is not None:
            stop_pid_tree(self._proc, first=self._daemon_pids())
            self._proc = None

    def _daemon_pids(self) -> list[int]:
        import psutil

        assert self._proc is not None
        try:
            children = psutil.Process(self._proc.pid).children(recursive=True)
            return [c.pid for c in children if c.name().startswith("gnome-keyring")]
        except psutil.Error:
            return []
