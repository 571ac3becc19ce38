"""`shellvault sso login|logout|sync`: the IAM Identity Center commands."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import click

from .cli import _config, _guarded, _vault
from .tty import notice

if TYPE_CHECKING:
    from .sso import SsoTarget
    from .vault import Vault


@click.group("sso")
def sso_group() -> None:
    """IAM Identity Center: one browser sign-in for every account and role."""


def _until(expires: int) -> str:
    return time.strftime("%H:%M", time.localtime(expires))


@sso_group.command("login")
@click.argument("profile_or_session", metavar="[SESSION|PROFILE]", required=False)
@click.option("--no-browser", is_flag=True, help="Print the sign-in URL; do not open a browser.")
@click.option("--use-device-code", is_flag=True,
              help="Sign in with a user code (the device flow), e.g. on another device.")
@_guarded
def login_command(profile_or_session: str | None, no_browser: bool,
                  use_device_code: bool) -> None:
    """Sign in to an sso-session (or the one a profile uses) in the browser."""
    from .output import config_environ
    from .sso_config import target_for_name
    from .sso_signin import SignInOptions
    from .sso_token import SignIns

    target, subject = target_for_name(_config(), profile_or_session, config_environ())
    token = SignIns(_vault()).token(
        target, subject=subject, force=True,
        options=SignInOptions(no_browser=no_browser, device_code=use_device_code))
    how = "refreshed without a new sign-in" if token.refresh_token else "sign in again then"
    notice(f"IAM Identity Center ({target.label}) ready; its token lasts until "
           f"{_until(token.expires)}, then is {how}")


def _forget(vault: Vault, target: SsoTarget, profiles: set[str]) -> int:
    from .paths import touch_stamp
    from .sso_token import SignIns

    SignIns(vault).forget(target)
    removed = vault.delete_sessions({f"sso:{target.label}", *profiles})
    for entry in removed:
        touch_stamp(entry.profile, None)
    return len(removed)


@sso_group.command("logout")
@click.argument("profile_or_session", metavar="[SESSION|PROFILE]", required=False)
@_guarded
def logout_command(profile_or_session: str | None) -> None:
    """Revoke and forget the sign-in (of SESSION or PROFILE's session; default: all) and
    the credentials cached from it."""
    from .output import config_environ
    from .sso_config import profiles_using, target_for_name
    from .sso_token import SignIns

    config = _config()
    environ = config_environ()
    vault = _vault()
    if profile_or_session is not None:
        targets = [target_for_name(config, profile_or_session, environ)[0]]
    else:
        targets = list(SignIns(vault).store.known().values())
    if not targets:
        notice("no IAM Identity Center sign-in is stored")
        return
    for target in targets:
        count = _forget(vault, target, profiles_using(config, target, environ))
        notice(f"signed out of IAM Identity Center ({target.label}); removed {count} cached "
               "session(s)")
@sso_group.command("sync")
@click.argument("session")
@click.option("--template", default=None, metavar="TEMPLATE",
              help="Profile names, from {session} {account_id} {account_name} {role_name} "
                   "(default {account_name}-{role_name}).")
@click.option("--region", default=None, help="region of the new profiles (default: sso_region).")
@click.option("--force", is_flag=True, help="Update profiles of the same name that point "
              "elsewhere.")
@click.option("--dry-run", is_flag=True, help="Show what would be written; write nothing.")
@_guarded
def sync_command(session: str, template: str | None, region: str | None, force: bool,
                 dry_run: bool) -> None:
    """Write a profile for every account and role SESSION can reach into the AWS config."""
    from .sso import TokenRejected
    from .sso_config import target_for_session
    from .sso_sync import DEFAULT_TEMPLATE, check_template, discover, plan, write
    from .sso_token import SignIns

    template = template or DEFAULT_TEMPLATE
    check_template(template)
    target = target_for_session(_config(), session)
    signins = SignIns(_vault())
    token = signins.token(target, subject=session)
    try:
        found = discover(target, token)
    except TokenRejected:  # ended at IAM Identity Center before its time: refresh or sign in
        found = discover(target, signins.token(target, subject=session, rejected=token))
    planned = plan(session, found, template, region or target.region)
    outcome = write(planned, force=force, dry_run=dry_run)
    verb = "would add" if dry_run else "added"
    for name in outcome.added:
        click.echo(f"{verb} {name}", err=True)
    for name in outcome.replaced:
        click.echo(f"{'would update' if dry_run else 'updated'} {name}", err=True)
    for name in outcome.skipped:
        click.echo(f"skipped {name}: a profile of that name points elsewhere (--force "
                   "updates it)", err=True)
    notice(f"sso sync {session}: {len(outcome.added)} {verb}, {len(outcome.replaced)} "
           f"updated, {len(outcome.unchanged)} unchanged, {len(outcome.skipped)} skipped")
