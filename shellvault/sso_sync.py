"""`sso sync`: a profile in ``~/.aws/config`` for every account and role the user can reach.

Names come from a template (default ``{account_name}-{role_name}``) with the fields
``{session}``, ``{account_id}``, ``{account_name}``, ``{role_name}``. Each field's value
keeps letters, digits and ``_+=@-``; any other run of characters (spaces, dots, slashes,
brackets) becomes one ``-``, so a name is one shell word and never a dotted section
(which go-ini would make inherit from another profile).

Each profile gets ``sso_session``, ``sso_account_id``, ``sso_role_name`` and ``region``
(``--region``, else the sso-session's ``sso_region``), appended in ListAccounts /
ListAccountRoles order through the locked config editor: the file's existing lines and
comments stay byte for byte. A profile that exists already is left alone when it points
at the same account and role ("unchanged"), and is not touched otherwise ("skipped")
unless ``--force``, which sets those four keys in it and keeps its other lines.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, NamedTuple

from .errors import UsageError
from .sso import Account, SsoTarget, Token

if TYPE_CHECKING:
    from .configedit import ConfigEdit

DEFAULT_TEMPLATE = "{account_name}-{role_name}"
FIELDS = ("session", "account_id", "account_name", "role_name")
_UNSAFE = re.compile(r"[^A-Za-z0-9_+=@-]+")


class Planned(NamedTuple):
    name: str
    values: dict[str, str]


class Outcome(NamedTuple):
    added: list[str]
    unchanged: list[str]
    replaced: list[str]
    skipped: list[str]


def _clean(value: str) -> str:
    return _UNSAFE.sub("-", value).strip("-") or "-"


def check_template(template: str) -> None:
    try:
        template.format(**dict.fromkeys(FIELDS, "x"))
    except (KeyError, IndexError, ValueError) as exc:
        raise UsageError(f"bad --template {template!r} ({exc.__class__.__name__}: {exc}); "
                         f"fields: {', '.join('{' + f + '}' for f in FIELDS)}") from None


def plan(session: str, accounts: list[tuple[Account, list[str]]], template: str,
         region: str) -> list[Planned]:
    out: list[Planned] = []
    for account, roles in accounts:
        for role in roles:
            name = template.format(session=_clean(session), account_id=account.account_id,
                                   account_name=_clean(account.name or account.account_id),
                                   role_name=_clean(role))
            out.append(Planned(name, {"sso_session": session,
                                      "sso_account_id": account.account_id,
                                      "sso_role_name": role, "region": region}))
    return out


def discover(target: SsoTarget, token: Token) -> list[tuple[Account, list[str]]]:
    from . import sso

    return [(account, sso.list_account_roles(target, token, account.account_id))
            for account in sso.list_accounts(target, token)]


class _DryRun(Exception):
    """Leaves the `configedit.edit` block: the file is not written."""


def write(planned: list[Planned], *, force: bool, dry_run: bool = False) -> Outcome:
    """Add (or with `force`, update) the planned profiles under the config file's lock."""
    from . import configedit

    outcome = Outcome([], [], [], [])
    try:
        with configedit.edit() as cfg:
            _apply(cfg, planned, outcome, force)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return outcome


def _apply(cfg: ConfigEdit, planned: list[Planned], outcome: Outcome, force: bool) -> None:
    from . import configedit

    seen: set[str] = set()
    for item in planned:
        if item.name in seen:
            raise UsageError(f"the template makes the name {item.name!r} twice; add "
                             "{account_id} or {role_name} to --template")
        seen.add(item.name)
        section = configedit.profile_section(item.name)
        existing = cfg.get(section)
        if existing is None:
            cfg.add_section(section, item.values)
            outcome.added.append(item.name)
        elif all(existing.get(k) == item.values[k]
                 for k in ("sso_session", "sso_account_id", "sso_role_name")):
            outcome.unchanged.append(item.name)
        elif force:
            cfg.update(section, dict(item.values))
            outcome.replaced.append(item.name)
        else:
            outcome.skipped.append(item.name)
