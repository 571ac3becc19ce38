"""The setup commands: ``role add``, ``policy`` and ``doctor`` (registered in cli.py).

Parsing and rendering only; the work is in onboard.py, policy.py, iam.py and doctor.py.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import click

from .cli import _config, _guarded, _vault
from .errors import ShellvaultError, UsageError

if TYPE_CHECKING:
    from .config import AwsConfig, Profile


@click.group("role")
def role_group() -> None:
    """Write role profiles into your AWS config file."""


@role_group.command("add")
@click.argument("name")
@click.option("--role-arn", required=True, metavar="ARN",
              help="The role to assume, e.g. arn:aws:iam::222222222222:role/Admin.")
@click.option("--from", "source", required=True, metavar="PROFILE",
              help="The profile whose credentials assume it (your IAM user's profile).")
@click.option("--region", metavar="REGION", help="The role profile's region (default: SOURCE's).")
@click.option("--mfa-serial", metavar="ARN", help="The MFA device (default: SOURCE's).")
@_guarded
def role_add_command(name: str, role_arn: str, source: str, region: str | None,
                     mfa_serial: str | None) -> None:
    """Add a role profile, keeping every other line.

    [profile NAME] assumes --role-arn with the credentials of --from, in aws-vault's layout
    (source_profile, role_arn, mfa_serial, region)."""
    from .engine import mfa_serial_for
    from .onboard import (
        add_role,
        check_mfa_serial,
        check_profile_name,
        check_region,
        check_role_arn,
    )

    config = _config()
    check_profile_name(name, config.path)
    check_role_arn(role_arn)
    if mfa_serial:
        check_mfa_serial(mfa_serial)
    if region:
        check_region(region)
    if not config.has_profile(source):
        config.resolve(source, {})  # the unknown-profile error, with its suggestions
    chain = config.resolve(source, {}).chain()
    values = {"source_profile": source, "role_arn": role_arn}
    serial = mfa_serial or mfa_serial_for(chain)
    if serial:
        values["mfa_serial"] = serial
    region = region or chain[-1].region or chain[0].region
    if region:
        values["region"] = region
    add_role(config.path, name, values)
    mfa = f", MFA device {serial}" if serial else ", no MFA device"
    click.echo(f"shellvault: added [profile {name}] to {config.path} ({role_arn} from {source}"
               f"{mfa}). The role's trust policy: shellvault policy {name} --trust", err=True)


def _user_arns(config: AwsConfig, roots: list[Profile], given: str | None) -> dict[str, str]:
    """Which IAM user each root profile's stored key belongs to."""
    from .policy import USER_ARN, user_from_mfa_serial
    from .tty import notice

    if given:
        if not USER_ARN.match(given):
            raise UsageError(f"--user-arn {given!r} is not an IAM user ARN "
                             "(arn:aws:iam::123456789012:user/NAME)")
        if len({r.name for r in roots}) > 1:
            raise UsageError("--user-arn names one user but the roles start from "
                             f"{', '.join(sorted({r.name for r in roots}))}: name their roles "
                             "separately")
        return {r.name: given for r in roots}
    out: dict[str, str] = {}
    for root in roots:
        if root.name in out:
            continue
        try:
            master = _vault().get_master(root.name)
        except ShellvaultError:
            master = None
        if master is not None:
            from .iam import whoami

            arn = whoami(master, root.region, read_timeout=5, attempts=1)["Arn"]
            if not USER_ARN.match(arn):
                raise UsageError(f"the key stored for {root.name} belongs to {arn}, not an IAM "
                                 "user; pass --user-arn")
            out[root.name] = arn
            continue
        guess = user_from_mfa_serial(root.mfa_serial)
        if guess is None:
            raise UsageError(f"which IAM user is {root.name}? store its key "
                             f"('shellvault add {root.name}') or pass --user-arn")
        notice(f"no key stored for {root.name}: assuming IAM user {guess} from its mfa_serial "
               "(pass --user-arn to be sure)")
        out[root.name] = guess
    return out


@click.command("policy")
@click.argument("profiles", nargs=-1)
@click.option("--trust", is_flag=True, help="Print only the trust policy of the one role named.")
@click.option("--identity", is_flag=True, help="Print only the IAM user's own policy.")
@click.option("--user-arn", metavar="ARN", help="The central IAM user (default: asked of AWS "
              "with the stored key).")
@click.option("--max-mfa-age", metavar="D", help="Also require an MFA sign-in younger than D "
              "(aws:MultiFactorAuthAge), e.g. 12h.")
@click.option("--apply", "apply_", is_flag=True, help="Create or update them through IAM.")
@click.option("--mfa-token", metavar="CODE", help="The current MFA code (for --apply).")
@click.option("--using", "using", multiple=True, metavar="PROFILE",
              help="For --apply: act with PROFILE's credentials in its account (e.g. an "
              "administrator role there); repeatable.")
@_guarded
def policy_command(profiles: tuple[str, ...], trust: bool, identity: bool, user_arn: str | None,
                   max_mfa_age: str | None, apply_: bool, mfa_token: str | None,
                   using: tuple[str, ...]) -> None:
    """Print the IAM policies your config needs: role trust policies and the user's policy."""
    from .config import parse_duration
    from .policy import plan, role_profiles

    if trust and identity:
        raise UsageError("--trust and --identity each print one document: choose one")
    age = None
    if max_mfa_age is not None:
        age = parse_duration(max_mfa_age)
        if not age:
            raise UsageError(f"--max-mfa-age {max_mfa_age!r} is not a duration (e.g. 12h)")
    if using and not apply_:
        raise UsageError("--using is for --apply: whose credentials change IAM")
    if trust and len(profiles) != 1:
        raise UsageError("--trust prints the trust policy of one role: name its profile")
    config = _config()
    if not config.path.exists():
        from .config.resolve import no_config_message

        raise ShellvaultError(no_config_message(config.path))
    roles = role_profiles(config, profiles)
    roots = [p.root() for p in roles if not (p.source and p.source.role_arn)]
    documents = plan(roles, _user_arns(config, roots, user_arn), max_mfa_age=age)
    if apply_:
        _apply(config, documents, mfa_token, using)
        return
    if trust:
        click.echo(json.dumps(documents.trust[0].document, indent=2))
    elif identity:
        if len(documents.identity) != 1:
            raise UsageError("these roles start from several IAM users: name the roles of one")
        click.echo(json.dumps(documents.identity[0].document, indent=2))
    else:
        click.echo(json.dumps({
            "identity_policies": [
                {"profile": p.profile, "user_arn": p.user_arn, "policy_name": p.policy_name,
                 "document": p.document} for p in documents.identity],
            "trust_policies": [
                {"profile": t.profile, "role_arn": t.role_arn, "document": t.document}
                for t in documents.trust],
        }, indent=2))


def _apply(config: AwsConfig, documents: Any, mfa_token: str | None,
           using: tuple[str, ...] = ()) -> None:
    """Each document with credentials in its account: a --using profile's there, else the
    user's own MFA session for the user's policy and the role's own session for its trust
    policy (IAM lets a role with the rights edit its own trust)."""
    from .engine import Engine, Issued, Request
    from .iam import apply_identity, apply_trust

    engine = Engine(_vault())
    request = Request(mfa_token=mfa_token)
    by_account: dict[str, Issued] = {}
    for name in using:
        issued = engine.issue(config.resolve(name), request)
        if not issued.session.account:
            raise UsageError(f"--using {name}: its account is not known")
        by_account[issued.session.account] = issued

    def acting(profile: str, account: str) -> Issued:
        return by_account.get(account) or engine.issue(config.resolve(profile), request)

    for item in documents.identity:
        session = acting(item.profile, item.user_arn.split(":")[4])
        change = apply_identity(session.session.credentials, item.user_arn, item.policy_name,
                                item.document)
        click.echo(f"shellvault: {change.text}", err=True)
    for item in documents.trust:
        try:
            issued = acting(item.profile, item.role_arn.split(":")[4])
        except ShellvaultError as exc:
            raise ShellvaultError(
                f"cannot act as {item.profile} to set its trust policy ({exc}); name an "
                "administrator profile of that account with --using, or set it in its IAM "
                f"console: shellvault policy {item.profile} --trust") from None
        change = apply_trust(issued.session.credentials, item.role_arn, item.document,
                             issued.region)
        click.echo(f"shellvault: {change.text} ({item.profile})", err=True)
    sys.stdout.flush()


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def doctor_command(as_json: bool) -> None:
    """Check every part of the setup, one line each, with the fix for what fails."""
    from .doctor import FAIL, run_checks

    results = run_checks()
    if as_json:
        click.echo(json.dumps([r.as_json() for r in results], indent=2))
    else:
        for result in results:
            click.echo(result.line())
    sys.exit(1 if any(r.status == FAIL for r in results) else 0)
