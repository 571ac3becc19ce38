"""A stand-in for the AWS sign-in federation endpoint, on 127.0.0.1.

It speaks the endpoint's wire format
(https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_enable-console-custom-url.html):
``GET ?Action=getSigninToken&Session={"sessionId","sessionKey","sessionToken"}
[&SessionDuration=N]`` -> ``200 {"SigninToken": "..."}``; a session it does not accept
-> 400, as the real endpoint answers. Whether a session is accepted is asked of
``MotoSessions``: the credentials must be ones the moto server really issued.
"""

from __future__ import annotations

import json
import secrets
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.world import client


@dataclass
class SigninRequest:
    session: dict[str, str]
    session_duration: str | None
    accepted_as: str | None  # what the session was recognised as, None if refused
    token: str | None


@dataclass
class FederationStandIn:
    verify: Callable[[Mapping[str, str]], str | None]
    requests: list[SigninRequest] = field(default_factory=list)
    url: str = ""

    def start(self) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(parts.query)
                if query.get("Action") != ["getSigninToken"] or "Session" not in query:
                    self._answer(400, {"error": "bad request"})
                    return
                try:
                    session = json.loads(query["Session"][0])
                except ValueError:
                    self._answer(400, {"error": "Session is not JSON"})
                    return
                accepted = outer.verify(session) if isinstance(session, dict) else None
                token = secrets.token_urlsafe(32) if accepted else None
                outer.requests.append(SigninRequest(
                    session, (query.get("SessionDuration") or [None])[0], accepted, token))
                if token is None:
                    self._answer(400, {"error": "invalid session"})
                else:
                    self._answer(200, {"SigninToken": token})

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/federation"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


class MotoSessions:
    """Recognises sessions the moto server issued: AssumeRole sessions from moto's own
    state (``/moto-api/data.json``), GetFederationToken sessions by moto's federation
    credentials plus a federation token of that name in its state."""

    def __init__(self, moto_url: str) -> None:
        self.moto_url = moto_url
        self.federation = self.federation_credentials()

    def _state(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.moto_url + "/moto-api/data.json", timeout=30) as r:
            data: dict[str, Any] = json.loads(r.read())
            return data.get("sts", {})

    def federation_credentials(self) -> tuple[str, str, str]:
        """What moto's GetFederationToken hands out (moto issues the same triple each time)."""
        sts = client(self.moto_url, "sts")
        c = sts.get_federation_token(Name="standin-probe", DurationSeconds=900)["Credentials"]
        return c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]

    def __call__(self, session: Mapping[str, str]) -> str | None:
        triple = (session.get("sessionId"), session.get("sessionKey"), session.get("sessionToken"))
        state = self._state()
        for role in state.get("AssumedRole", []):
            if triple == (role["access_key_id"], role["secret_access_key"],
                          role["session_token"]):
                return str(role["arn"])
        if triple == self.federation:
            names = [t.get("name") for t in state.get("Token", [])
                     if t.get("name") and t.get("name") != "standin-probe"]
            if names:
                return f"federated-user/{names[-1]}"
        return None
