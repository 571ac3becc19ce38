"""A real ``moto_server`` process on 127.0.0.1 and its request recorder."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from testkit.programs import require_program, stop_pid_tree, tail, venv_bin, wait_until

__all__ = ["MotoServer", "RecordedCall"]


@dataclass(frozen=True)
class RecordedCall:
    """One request moto received, as its request recorder saw it."""

    service: str  # "sts", "iam", "s3", ... (from the SigV4 credential scope)
    action: str  # "AssumeRole" (query/JSON protocols) or "GET /bucket" (REST)
    params: Mapping[str, str]  # the form/query parameters (query protocol)
    access_key_id: str  # who signed it ("" when unsigned)
    region: str = ""  # the SigV4 signing region ("" when unsigned)


_SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")


def _parse_recorded(entry: Mapping[str, Any]) -> RecordedCall:
    headers = {str(k).lower(): str(v) for k, v in dict(entry.get("headers") or {}).items()}
    raw = entry.get("body") or ""
    body = base64.b64decode(raw) if entry.get("body_encoded") else str(raw).encode()
    url = urlsplit(str(entry.get("url", "")))
    params: dict[str, str] = {k: v[0] for k, v in parse_qs(url.query).items()}
    if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        form = parse_qs(body.decode("utf-8", "replace"))
        params.update({k: v[0] for k, v in form.items()})
    match = _SCOPE.search(headers.get("authorization", ""))
    key_id, region, service = (match.group(1), match.group(2), match.group(3)) if match else (
        "", "", "")
    sts_host = bool(url.hostname and url.hostname.startswith("sts."))
    if not service and (sts_host or params.get("Version") == "2011-06-15"):
        service = "sts"
    action = params.get("Action", "")
    if not action and "x-amz-target" in headers:
        action = headers["x-amz-target"].rsplit(".", 1)[-1]
    if not action:
        action = f"{entry.get('method', '')} {url.path}"
    return RecordedCall(service=service, action=action, params=params, access_key_id=key_id,
                        region=region)


class MotoServer:
    """A ``moto_server`` process on 127.0.0.1 (one per test session).

    Its request recorder is on from the start (``MOTO_ENABLE_RECORDING``), writing one
    JSON line per request to a file *before* moto handles it, so by the time a client
    has its answer the call is on record. ``mark()`` empties that record and
    ``calls()``/``sts_calls()`` download and parse it: what the server really received.
    The record is global to the server: tests run one at a time, so call ``mark()``
    (``aws_home`` does it for you) right before the part you count.
    """

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.log_path = workdir / "moto_server.log"
        self.recording_path = workdir / "recording.jsonl"
        self.url = ""
        self.port = 0
        self.pid = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self.after_reset: list[Callable[[], None]] = []

    def start(self, timeout: float = 60.0) -> None:
        exe = venv_bin() / "moto_server"
        program = str(exe) if exe.exists() else require_program("moto_server")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
        env.update(
            MOTO_ENABLE_RECORDING="true",
            MOTO_RECORDER_FILEPATH=str(self.recording_path),
            PYTHONUNBUFFERED="1",
        )
        with open(self.log_path, "wb") as log:
            # Port 0: the kernel picks a free port and werkzeug prints it (no race).
            self._proc = subprocess.Popen(
                [program, "-H", "127.0.0.1", "-p", "0"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.workdir,
                start_new_session=True,
            )
        self.pid = self._proc.pid
        running = re.compile(r"Running on http://127\.0\.0\.1:(\d+)")

        def announced() -> bool:
            found = running.search(self.log_path.read_text(errors="replace"))
            if found:
                self.port = int(found.group(1))
                self.url = f"http://127.0.0.1:{self.port}"
            return found is not None

        try:
            wait_until("moto_server start", announced, timeout, self._proc)
            wait_until("moto_server answers", self._answers, timeout, self._proc)
        except (RuntimeError, TimeoutError) as exc:
            self.stop()
            raise RuntimeError(f"{exc}\n--- moto_server log ---\n{tail(self.log_path)}") from exc

    def _answers(self) -> bool:
        try:
            self.mark()
        except (OSError, urllib.error.URLError):
            return False
        return True

    def stop(self) -> None:
        if self._proc is not None:
            stop_pid_tree(self._proc)
            self._proc = None

    def _request(self, path: str, method: str = "POST", timeout: float = 30.0) -> bytes:
        req = urllib.request.Request(self.url + path, data=b"" if method == "POST" else None)
        req.method = method
        with urllib.request.urlopen(req, timeout=timeout) as response:
            body: bytes = response.read()
            return body

    def reset(self) -> None:
        """Wipe all of moto's state (``POST /moto-api/reset``), then run the
        ``after_reset`` hooks (the ``world`` fixture rebuilds the world in place: alice
        gets a new key pair) and ``mark()``."""
        self._request("/moto-api/reset")
        for hook in self.after_reset:
            hook()
        self.mark()

    def mark(self) -> None:
        """Forget every recorded request: ``calls()`` counts from here."""
        self._request("/moto-api/recorder/reset-recording")

    def calls(self, service: str | None = None) -> list[RecordedCall]:
        """Every request moto received since the last ``mark()``, in order."""
        text = self._request("/moto-api/recorder/download-recording", method="GET").decode()
        calls = [_parse_recorded(json.loads(line)) for line in text.splitlines() if line.strip()]
        return [c for c in calls if service is None or c.service == service]

    def sts_calls(self) -> list[str]:
        """STS Action names (GetSessionToken, AssumeRole, ...) since the last mark."""
        return [c.action for c in self.calls("sts")]
