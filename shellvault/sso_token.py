"""Each IAM Identity Center sign-in's token: kept in the vault, refreshed, or signed in again.

The AWS CLI keeps the access token, refresh token and client secret as plain JSON under
``~/.aws/sso/cache``; here they are one vault item (``ssotoken:<key>``, encrypted like any
master key) and the plain index in the state directory records only which sign-ins exist
and until when. One lock per sign-in (``locks/<key>.lock``) serialises refreshes and browser
sign-ins, so every profile of an ``[sso-session]`` and every shell share one sign-in: ten
shells starting at once open one browser tab. While a browser sign-in runs, its holder also
holds ``locks/<key>.signin.lock``; a caller that may not ask (``--no-input``, the prompt
hook) sees that and says "sign in" at once instead of waiting behind the browser.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ShellvaultError, SignInNeeded
from .paths import ensure_private_dir, state_dir
from .sso import SsoError, SsoTarget, Token, TokenRejected

if TYPE_CHECKING:
    from .sso_signin import SignInOptions
    from .vault import Vault

ITEM_PREFIX = "ssotoken:"
REFRESH_WINDOW = 15 * 60  # refresh this long before the access token ends (botocore's window)
USABLE_FOR = 60  # an access token with less left is not sent
NO_INPUT_WAIT = 60.0  # a --no-input caller waits this long for a refresh (never a sign-in)
SIGN_IN_WAIT = 780.0  # others wait this long for a browser sign-in (its own limit is 10 min)


def token_key(target: SsoTarget) -> str:
    material = "\0".join((target.name or "", target.start_url, target.region))
    return "sso-" + hashlib.sha256(material.encode()).hexdigest()[:24]


def usable(token: Token | None, now: float | None = None) -> bool:
    return token is not None and token.seconds_left(now) > USABLE_FOR


def _fresh(token: Token | None) -> bool:
    """Good to use as it is: usable, and not due for a refresh that could be made."""
    if not usable(token):
        return False
    assert token is not None
    return token.refresh_token is None or token.seconds_left() > REFRESH_WINDOW


class TokenStore:
    """Tokens in the vault, and their names and expiry in the index (``"sso"`` section)."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    def get(self, target: SsoTarget) -> Token | None:
        text = self.vault.store.get(ITEM_PREFIX + token_key(target))
        if not text:
            return None
        try:
            token = Token.from_json(text)
        except (ValueError, KeyError, TypeError):
            return None  # unreadable: as if absent, the next sign-in replaces it
        if token.start_url != target.start_url or token.region != target.region:
            return None
        return token

    def put(self, target: SsoTarget, token: Token) -> None:
        key = token_key(target)
        until = time.strftime("%H:%M", time.localtime(token.expires))
        self.vault.store.set(ITEM_PREFIX + key, token.to_json(),
                             f"shellvault IAM Identity Center token for {target.label} "
                             f"(expires {until})")

        def record(data: dict[str, Any]) -> None:
            data.setdefault("sso", {})[key] = {
                "name": target.name, "start_url": target.start_url, "region": target.region,
                "scopes": list(target.scopes), "expires": token.expires,
                "refreshable": token.refresh_token is not None,
            }

        self.vault.index.update(record)

    def delete(self, key: str) -> bool:
        removed = self.vault.store.delete(ITEM_PREFIX + key)

        def forget(data: dict[str, Any]) -> None:
            data.setdefault("sso", {}).pop(key, None)

        self.vault.index.update(forget)
        return removed

    def known(self) -> dict[str, SsoTarget]:
        """Every sign-in the index knows, by key."""
        raw = self.vault.index.read().get("sso") or {}
        out: dict[str, SsoTarget] = {}
        for key, entry in raw.items():
            with contextlib.suppress(KeyError, TypeError):
                out[key] = SsoTarget(entry.get("name"), entry["start_url"], entry["region"],
                                     tuple(entry.get("scopes") or ()))
        return out


def _locks(environ: Mapping[str, str]) -> Path:
    return ensure_private_dir(state_dir(environ) / "locks")


def _held(path: Path) -> bool:
    """Whether some process holds the flock on `path` (checked without waiting)."""
    import fcntl

    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


@contextlib.contextmanager
def _hold(path: Path) -> Iterator[None]:
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


class SignIns:
    """The token policy: reuse, refresh, or sign in (only when input is allowed)."""

    def __init__(self, vault: Vault, environ: Mapping[str, str] = os.environ) -> None:
        self.store = TokenStore(vault)
        self.environ = environ

    def _needed(self, target: SsoTarget, token: Token | None, subject: str) -> SignInNeeded:
        if _held(_locks(self.environ) / f"{token_key(target)}.signin.lock"):
            return SignInNeeded(
                f"a browser sign-in to IAM Identity Center ({target.label}) is in progress in "
                f"another shell; finish it or run 'shellvault sso login {subject}'")
        state = "has ended" if token is not None else "is not signed in"
        return SignInNeeded(f"the IAM Identity Center session {target.label} {state}: run "
                            f"'shellvault sso login {subject}'")

    @contextlib.contextmanager
    def _lock(self, target: SsoTarget, no_input: bool, subject: str) -> Iterator[None]:
        key = token_key(target)
        path = _locks(self.environ) / f"{key}.lock"
        if not no_input:
            from .lock import exclusive

            with exclusive(path, f"signing in to IAM Identity Center ({target.label})",
                           timeout=SIGN_IN_WAIT):
                yield
            return
        import fcntl

        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + NO_INPUT_WAIT
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if _held(path.with_name(f"{key}.signin.lock")):
                        raise self._needed(target, None, subject) from None
                    if time.monotonic() > deadline:
                        raise ShellvaultError(
                            f"gave up after {int(NO_INPUT_WAIT)}s waiting for another shellvault "
                            f"refreshing IAM Identity Center ({target.label})") from None
                    time.sleep(0.05)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            yield
        finally:
            os.close(fd)

    def token(self, target: SsoTarget, *, subject: str, no_input: bool = False,
              options: SignInOptions | None = None, force: bool = False,
              rejected: Token | None = None) -> Token:
        """A usable access token for `target`.

        `subject` is what the user named (profile or session), for messages. `force` signs
        in again whatever is stored (`sso login`). `rejected` is a token the portal just
        refused: it is not used again (refresh or sign in instead).
        """
        token = self.store.get(target)

        def good(t: Token | None) -> bool:
            return _fresh(t) and not (rejected and t and t.access_token == rejected.access_token)

        if not force and good(token):
            assert token is not None
            return token
        if not force and no_input and not (token and token.refresh_token) and not good(token):
            raise self._needed(target, token, subject)  # nothing to wait for: say so at once
        with self._lock(target, no_input, subject):
            token = self.store.get(target)  # another process may have just made one
            if not force:
                if good(token):
                    assert token is not None
                    return token
                if token is not None and token.refresh_token:
                    try:
                        fresh = self._refresh(target, token)
                    except TokenRejected:
                        # The refresh token is dead: drop it, so later calls do not retry it.
                        token = token._replace(refresh_token=None)
                        self.store.put(target, token)
                    except SsoError:
                        if usable(token) and not rejected:
                            return token  # a refresh failed but the token still works
                        raise
                    else:
                        return fresh
                if usable(token) and not rejected:
                    assert token is not None
                    return token
                if no_input:
                    raise self._needed(target, token, subject)
            return self._sign_in(target, token, options)

    def _refresh(self, target: SsoTarget, token: Token) -> Token:
        from . import sso

        fresh = sso.refresh(target, token)
        self.store.put(target, fresh)
        return fresh

    def _sign_in(self, target: SsoTarget, previous: Token | None,
                 options: SignInOptions | None) -> Token:
        from .lock import mark_prompting
        from .sso_signin import SignInOptions, sign_in

        marker = _locks(self.environ) / f"{token_key(target)}.signin.lock"
        with _hold(marker):
            # Waiting for a person now: a --no-input caller queued on any lock this process
            # holds (a role chained from this profile, too) gives up instead of waiting.
            mark_prompting()
            token = sign_in(target, previous, options or SignInOptions(), self.environ)
        self.store.put(target, token)
        return token

    def forget(self, target: SsoTarget) -> Token | None:
        """Remove `target`'s token (after revoking it where possible); returns what was
        stored."""
        key = token_key(target)
        with self._lock(target, False, target.label):  # not in the middle of a refresh
            token = self.store.get(target)
            if usable(token):
                from . import sso

                assert token is not None
                try:
                    sso.logout(target, token)
                except SsoError as exc:
                    from .tty import notice

                    notice(f"could not revoke the session at IAM Identity Center ({exc}); "
                           "forgetting it here anyway")
            self.store.delete(key)
        return token
