"""Web identity: the root profile's role, assumed with an OpenID Connect token
(AssumeRoleWithWebIdentity); aws-vault's AssumeRoleWithWebIdentityProvider.

The profile names ``role_arn`` and where the token comes from: ``web_identity_token_file``
(read at each call: Kubernetes/EKS IRSA and CI systems rotate the file) or
``web_identity_token_process`` (a command whose stdout is the token).  No keys and no MFA:
the token is the credential, so the call is unsigned.  The token never reaches a message,
a log or the disk (only the session it buys is cached, like any role's).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..errors import Interrupted, ShellvaultError
from .assumerole import session_name

if TYPE_CHECKING:
    from ..config import Profile
    from ..creds import Session
    from .context import Context

__all__ = ["WebIdentity", "web_identity_token"]

# How long a token command may take (it may open a browser for a sign-in).
TOKEN_PROCESS_TIMEOUT = 300


def web_identity_token(profile: Profile) -> str:
    """The token ``profile`` names: its file's text, or its command's output."""
    if profile.web_identity_token_file:
        shown = profile.web_identity_token_file
        try:
            with open(os.path.expanduser(shown), encoding="utf-8") as f:
                token = f.read().strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or exc.__class__.__name__
            raise ShellvaultError(f"cannot read web_identity_token_file {shown} of profile "
                                  f"{profile.name}: {reason}") from None
        if not token:
            raise ShellvaultError(f"web_identity_token_file {shown} of profile "
                                  f"{profile.name} is empty")
        return token
    import subprocess  # here: a cached session (the hot path) never gets this far

    what = f"web_identity_token_process of profile {profile.name}"
    try:
        # Its stderr and stdin are the user's (it may sign in); its stdout is the token.
        done = subprocess.run(str(profile.web_identity_token_process), shell=True,
                              stdout=subprocess.PIPE, timeout=TOKEN_PROCESS_TIMEOUT)
    except KeyboardInterrupt:
        raise Interrupted("interrupted; nothing was changed") from None
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ShellvaultError(f"{what} failed: {exc.__class__.__name__}") from None
    if done.returncode != 0:
        raise ShellvaultError(f"{what} exited with code {done.returncode}")
    token = done.stdout.decode("utf-8", "replace").strip()
    if not token:
        raise ShellvaultError(f"{what} printed no token")
    return token


class WebIdentity:
    """``profile``'s role for ``duration`` seconds, assumed with its web identity token."""

    def __init__(self, ctx: Context, profile: Profile, duration: int) -> None:
        self.ctx = ctx
        self.profile = profile
        self.duration = duration

    def retrieve(self) -> Session:
        profile = self.profile
        return self.ctx.sts.assume_role_with_web_identity(
            web_identity_token(profile), profile_name=profile.name, region=profile.region,
            role_arn=str(profile.role_arn),
            session_name=profile.role_session_name or session_name(profile),
            duration=self.duration,
        )
