"""A pass-through proxy on 127.0.0.1 in front of the moto server that makes chosen AWS
query-protocol calls (IAM, STS) fail with AWS's own error shape, to stage failures moto
cannot produce (a DeleteAccessKey refused half-way through a rotation, a new key AWS does
not accept yet). Everything else is forwarded to moto unchanged.

Point one service at it with ``AWS_ENDPOINT_URL_IAM`` / ``AWS_ENDPOINT_URL_STS``.
"""

from __future__ import annotations

import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_KEY = re.compile(r"Credential=([^/,\s]+)/\d{8}/[^/]+/([^/]+)/aws4_request")
_NAMESPACE = {"iam": "https://iam.amazonaws.com/doc/2010-05-08/",
              "sts": "https://sts.amazonaws.com/doc/2011-06-15/"}


@dataclass(frozen=True)
class Failure:
    status: int  # 403 AccessDenied, 400 InvalidClientTokenId, ...
    code: str
    message: str


# (service, action, signing access key id) -> a failure to answer with, or None to forward
Rule = Callable[[str, str, str], "Failure | None"]


@dataclass
class FailProxy:
    moto_url: str
    rules: list[Rule] = field(default_factory=list)  # the first failure any rule names wins
    failed: list[tuple[str, str, str]] = field(default_factory=list)
    url: str = ""

    def start(self) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
                match = _KEY.search(self.headers.get("Authorization", ""))
                key, service = (match.group(1), match.group(2)) if match else ("", "")
                action = (form.get("Action") or [""])[0]
                failure = next((f for rule in outer.rules
                                if (f := rule(service, action, key)) is not None), None)
                if failure is not None:
                    outer.failed.append((service, action, key))
                    xml = (f'<ErrorResponse xmlns="{_NAMESPACE.get(service, "")}"><Error>'
                           f"<Type>Sender</Type><Code>{failure.code}</Code>"
                           f"<Message>{failure.message}</Message></Error>"
                           "<RequestId>standin-0000</RequestId></ErrorResponse>").encode()
                    self._send(failure.status, {"Content-Type": "text/xml"}, xml)
                    return
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "content-length", "connection")}
                request = urllib.request.Request(outer.moto_url + self.path, data=body,
                                                 headers=headers, method="POST")
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        self._send(response.status, dict(response.headers), response.read())
                except urllib.error.HTTPError as exc:
                    self._send(exc.code, dict(exc.headers), exc.read())

            def _send(self, status: int, headers: dict[str, str], data: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in ("content-length", "connection", "transfer-encoding",
                                            "server", "date"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
