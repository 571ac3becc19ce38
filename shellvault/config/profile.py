"""One resolved profile: what resolution hands the engine."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Profile"]


class Profile(NamedTuple):
    """One resolved profile; ``source`` is its resolved source_profile (None at the root)."""

    name: str
    region: str | None
    role_arn: str | None
    mfa_serial: str | None
    mfa_process: str | None
    external_id: str | None
    role_session_name: str | None
    duration_seconds: int | None
    session_tags: tuple[tuple[str, str], ...]
    transitive_session_tags: tuple[str, ...]
    source_identity: str | None
    credential_process: str | None
    sso_session: str | None
    sso_start_url: str | None
    sso_region: str | None
    sso_account_id: str | None
    sso_role_name: str | None
    endpoint_url: str | None
    sts_regional_endpoints: str | None
    source_profile_name: str | None
    source: Profile | None
    # The merged file keys (own section, include chain, [default], [sso-session]) with
    # their raw text, for diagnostics; environment overrides are not in it.
    raw: tuple[tuple[str, str], ...] = ()
    # AssumeRoleWithWebIdentity of role_arn with the token in this file / printed by this
    # command: the profile is a chain root (engine/webidentity.py).
    web_identity_token_file: str | None = None
    web_identity_token_process: str | None = None

    def chain(self) -> list[Profile]:
        """Root first, this profile last."""
        out: list[Profile] = []
        p: Profile | None = self
        while p is not None:
            out.append(p)
            p = p.source
        out.reverse()
        return out

    def root(self) -> Profile:
        p = self
        while p.source is not None:
            p = p.source
        return p

    @property
    def is_sso(self) -> bool:
        return bool(self.sso_start_url or self.sso_session)

    @property
    def is_web_identity(self) -> bool:
        return bool(self.role_arn and (self.web_identity_token_file
                                       or self.web_identity_token_process))

    def _material(self) -> str:
        parts: tuple[object, ...] = (
            self.name, self.role_arn, self.mfa_serial, self.external_id,
            self.role_session_name, self.duration_seconds, self.session_tags,
            self.transitive_session_tags, self.source_identity, self.credential_process,
            self.sso_session, self.sso_start_url, self.sso_region, self.sso_account_id,
            self.sso_role_name, self.endpoint_url, self.sts_regional_endpoints,
            self.source_profile_name,
        )
        if self.web_identity_token_file or self.web_identity_token_process:
            # Only when set, so that no other profile's fingerprint (cache key) changes.
            parts += (self.web_identity_token_file, self.web_identity_token_process)
        return repr(parts)

    def fingerprint(self) -> str:
        """Short stable hash of every setting that changes the credentials this yields.

        Covers, for each profile of the chain: name, role_arn, mfa_serial, external_id,
        role_session_name, duration_seconds, session tags, source_identity,
        credential_process, the sso_* settings, endpoint_url, sts_regional_endpoints,
        source_profile and the web identity token's file or command.  Not region
        (credentials are valid in every region) nor mfa_process (how a code is obtained,
        not what is issued).
        """
        from ..digest import sha256_hex

        parts = [b"shellvault-profile-v1"]
        for p in self.chain():
            parts += [b"\x00", p._material().encode("utf-8", "surrogateescape")]
        return sha256_hex(parts)[:16]


