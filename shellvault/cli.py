"""click commands: parse, call the core, render, and turn errors into one line + exit code."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn, TypeVar

import click

from . import __version__, output
from .errors import Interrupted, ShellvaultError, UsageError

if TYPE_CHECKING:  # imported lazily at run time: each command loads only what it needs
    from .config import AwsConfig, Profile
    from .creds import Session
    from .engine import Issued
    from .vault import Vault

F = TypeVar("F", bound=Callable[..., Any])

LIST_COLUMN_LIMIT = 40  # `list` pads its columns to at most this many characters


def _notice(message: str) -> None:
    from .tty import notice

    notice(message)


def _die(exc: BaseException | None) -> NoReturn:
    sys.exit(output.fail(exc))


def _config() -> AwsConfig:
    from .config import AwsConfig

    return AwsConfig.load()


def _resolve(name: str, region: str | None = None, vault: Vault | None = None) -> Profile:
    """``name``'s profile; a name without a section resolves when ``vault`` holds keys
    under it (with [default]'s settings, as in aws-vault)."""
    config = _config()
    stored = (vault is not None and bool(name) and name != "default"
              and not config.has_profile(name) and vault.get_master(name) is not None)
    return config.resolve(name, output.region_environ(region), keys_stored=stored)


def _vault(no_input: bool = False) -> Vault:
    from .vault import Vault, open_store

    return Vault(open_store(no_input=no_input))


def _duration(value: str | None) -> int | None:
    if value is None:
        return None
    from .config import parse_duration

    seconds = parse_duration(value)
    if seconds is None:
        raise UsageError(f"--duration {value!r} is not a duration (e.g. 1h, 45m, 3600)")
    if not 900 <= seconds <= 129600:
        raise UsageError("--duration must be between 15m and 36h (AWS's limits)")
    return seconds


def _issue(name: str, no_input: bool, mfa_token: str | None, duration: str | None,
           min_ttl: int | None = None, region: str | None = None) -> Issued:
    from .engine import Engine, Request

    vault = _vault(no_input)
    profile = _resolve(name, region, vault)
    request = Request(no_input=no_input, mfa_token=mfa_token, duration=_duration(duration),
                      min_ttl=min_ttl)
    return Engine(vault).issue(profile, request)


def _guarded(func: F) -> F:
    """Every command: one line on stderr and the right exit code, never a traceback."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ShellvaultError as exc:
            _die(exc)
        except KeyboardInterrupt:
            _die(None)

    return wrapper  # type: ignore[return-value]


issue_options = [
    click.option("--no-input", is_flag=True, help="Never prompt; exit 3 if an MFA code is needed."),
    click.option("--mfa-token", metavar="CODE", help="The current MFA code."),
    click.option("--duration", metavar="D", help="Session length for the profile, e.g. 1h, 45m."),
]


region_option = click.option(
    "--region", metavar="REGION", help="Use this region instead of the profile's, for this call.")


def with_issue_options(func: F) -> F:
    for option in reversed(issue_options):
        func = option(func)
    return func


class AliasedGroup(click.Group):
    aliases: ClassVar[dict[str, str]] = {"ls": "list", "rm": "remove"}

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, self.aliases.get(cmd_name, cmd_name))

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        _, command, rest = super().resolve_command(ctx, args)
        return (command.name if command else None), command, rest

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Every command with its aliases and its whole first sentence (click would cut it
        at 45 characters), plus the plugin's with-role, which is no subcommand."""
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            aliases = [alias for alias, target in self.aliases.items() if target == name]
            label = f"{name} ({', '.join(aliases)})" if aliases else name
            rows.append((label, first_sentence(command)))
        rows.append(("with-role", WITH_ROLE_HELP.split("\n\n")[0]))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


WITH_ROLE_HELP = (
    "A shell function of the plugin (not a subcommand): with-role PROFILE CMD runs CMD with "
    "PROFILE's credentials, and with-role PROFILE alone scopes them to this directory tree."
    "\n\n"
    "Load the plugin first, in ~/.bashrc or ~/.zshrc: eval \"$(shellvault init bash)\" (or zsh);"
    " in fish: shellvault init fish | source.\n\n"
    "  with-role account-b terraform plan   one command with account-b's credentials\n"
    "  with-role account-a                  account-a in this directory tree\n"
    "  with-role --save account-a           ... in every future shell too\n"
    "  with-role --off                      end the scope here\n"
)


def first_sentence(command: click.Command) -> str:
    """The first paragraph of a command's help, as one line ending with a full stop."""
    text = " ".join((command.help or command.short_help or "").split("\n\n")[0].split())
    if text and not text.endswith((".", "!", "?")):
        text += "."
    return text


@click.group(cls=AliasedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="shellvault")
def cli() -> None:
    """MFA once, roles in many AWS accounts, from any shell."""


@cli.command("env")
@click.argument("profile", required=False)
@click.option("--shell", "shell_name", metavar="SHELL",
              help="bash, zsh, sh, fish, powershell, tcsh or dotenv (default: detected).")
@click.option("--unset", is_flag=True, help="Print what removes shellvault's variables.")
@click.option("--min-ttl", type=click.IntRange(min=0), metavar="SECONDS",
              help="Refresh the session if less than this is left.")
@region_option
@with_issue_options
@_guarded
def env_command(profile: str | None, shell_name: str | None, unset: bool, min_ttl: int | None,
                region: str | None, no_input: bool, mfa_token: str | None,
                duration: str | None) -> None:
    """Print the assignments that load PROFILE's credentials: eval "$(shellvault env PROFILE)"."""
    from .envvars import render, unset_all

    shell = output.pick_shell(shell_name)
    if unset:
        output.emit(render(unset_all(), shell))
        return
    if not profile:
        raise UsageError("which profile? usage: shellvault env PROFILE")
    issued = _issue(profile, no_input, mfa_token, duration, min_ttl, region)
    output.emit(output.render_env(issued, shell), profile)


@cli.command("export")
@click.argument("profile")
@click.option("--format", "fmt", type=click.Choice(["json", "env", "dotenv"]), default="json",
              show_default=True, help="json is the credential_process format.")
@region_option
@with_issue_options
@_guarded
def export_command(profile: str, fmt: str, region: str | None, no_input: bool,
                   mfa_token: str | None, duration: str | None) -> None:
    """Print PROFILE's credentials (for credential_process, .env files)."""
    issued = _issue(profile, no_input, mfa_token, duration, region=region)
    output.emit(output.render_export(issued, fmt))


@cli.command("exec", context_settings={"ignore_unknown_options": True})
@click.argument("profile")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.option("--server", "serve", is_flag=True,
              help="Serve refreshed credentials to COMMAND from 127.0.0.1 (ECS format) "
                   "instead of putting keys in its environment: for runs longer than a "
                   "session.")
@click.option("--refresh-window", metavar="D",
              help="With --server: never serve a session with less than this left "
                   "(default 15m).")
@region_option
@with_issue_options
@_guarded
def exec_command(profile: str, command: tuple[str, ...], serve: bool,
                 refresh_window: str | None, region: str | None, no_input: bool,
                 mfa_token: str | None, duration: str | None) -> None:
    """Run COMMAND (default: your $SHELL) with PROFILE's credentials."""
    from .envvars import contract

    argv = list(command) or [os.environ.get("SHELL") or "/bin/sh"]
    if serve:
        sys.exit(_exec_server(profile, argv, refresh_window, region, no_input, mfa_token,
                              duration))
    if refresh_window is not None:
        raise UsageError("--refresh-window goes with --server")
    issued = _issue(profile, no_input, mfa_token, duration, region=region)
    environ = dict(os.environ)
    for name, value in contract(issued.session, issued.profile.name, issued.region).items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    sys.stdout.flush()
    try:
        os.execvpe(argv[0], argv, environ)
    except FileNotFoundError:
        _notice(f"command not found: {argv[0]}")
        sys.exit(127)
    except PermissionError:
        _notice(f"permission denied: {argv[0]}")
        sys.exit(126)


def _exec_server(profile: str, argv: list[str], refresh_window: str | None, region: str | None,
                 no_input: bool, mfa_token: str | None, duration: str | None) -> int:
    from .engine import Engine, Request
    from .envvars import contract
    from .server import DEFAULT_WINDOW, CredentialServer, ServedSession, child_environ, run

    window = DEFAULT_WINDOW
    if refresh_window is not None:
        from .config import parse_duration

        parsed = parse_duration(refresh_window)
        if parsed is None or not 60 <= parsed <= 43200:
            raise UsageError(f"--refresh-window {refresh_window!r} must be a duration between "
                             "1m and 12h (e.g. 15m)")
        window = parsed
    seconds = _duration(duration)
    vault = _vault(no_input)
    resolved = _resolve(profile, region, vault)
    engine = Engine(vault)
    # A refresh that may not ask goes through a store opened without input: once `lock`
    # (or the unlock TTL) took the file store's key away, it says "locked" instead of
    # asking for the passphrase while a request waits.
    # Opened at its first use (most servers never need it; a keyring opens a D-Bus link).
    quiet: list[Engine] = [engine] if no_input else []

    def issue(interactive: bool, min_ttl: int) -> Session:
        request = Request(no_input=no_input or not interactive, duration=seconds,
                          min_ttl=min_ttl)
        if interactive:
            return engine.issue(resolved, request).session
        if not quiet:
            quiet.append(Engine(_vault(True)))
        return quiet[0].issue(resolved, request).session

    first = engine.issue(resolved, Request(no_input=no_input, mfa_token=mfa_token,
                                           duration=seconds, min_ttl=window))
    served = ServedSession(issue, window, profile)
    served.first(first.session)
    server = CredentialServer(served)
    environ = child_environ(os.environ, contract(first.session, profile, first.region), server)
    return run(argv, environ, server, profile)


@cli.command("auth")
@click.argument("profile")
@click.option("--mfa-token", metavar="CODE", help="The current MFA code.")
@click.option("--duration", metavar="D", help="Session length for the profile, e.g. 1h.")
@_guarded
def auth_command(profile: str, mfa_token: str | None, duration: str | None) -> None:
    """Make sure PROFILE's sessions are cached (asks for the MFA code if needed)."""
    from .creds import seconds_left_text

    issued = _issue(profile, False, mfa_token, duration)
    expires = issued.session.credentials.expires
    until = time.strftime("%H:%M", time.localtime(expires)) if expires else "-"
    _notice(f"{profile} ready until {until} ({seconds_left_text(expires)} left)")


@cli.command("login")
@click.argument("profile")
@click.option("--stdout", "to_stdout", is_flag=True,
              help="Print the sign-in URL instead of opening the browser.")
@click.option("--path", metavar="PATH", help="Console page to open, e.g. s3 or ec2/home.")
@region_option
@with_issue_options
@_guarded
def login_command(profile: str, to_stdout: bool, path: str | None, region: str | None,
                  no_input: bool, mfa_token: str | None, duration: str | None) -> None:
    """Open the AWS console signed in as PROFILE (aws-vault's login)."""
    from . import console
    from .creds import seconds_left_text
    from .engine import Engine, Request

    page = console.check_path(path)
    seconds = _duration(duration)
    vault = _vault(no_input)
    resolved = _resolve(profile, region, vault)
    partition = console.partition_of(resolved, resolved.region)
    endpoint = console.federation_endpoint(partition)
    engine = Engine(vault)
    request = Request(no_input=no_input, mfa_token=mfa_token, duration=seconds)
    if console.needs_federation(resolved):
        session = console.federation_session(engine, resolved, seconds)
        click.echo("shellvault: " + console.FEDERATION_NOTE.format(
            profile=profile, user=resolved.root().name,
            duration=seconds_left_text(session.credentials.expires)), err=True)
        session_duration = None  # AWS refuses SessionDuration for federated users
    else:
        session = engine.issue(resolved, request).session
        session_duration = min(seconds, console.ROLE_CONSOLE_LIMIT) if seconds else None
    token = console.signin_token(session.credentials, endpoint, session_duration)
    url = console.login_url(endpoint, console.destination(partition, resolved.region, page),
                            token)
    if to_stdout:
        output.emit(url + "\n")
        return
    console.open_in_browser(url)
    _notice(f"opened the AWS console for {profile} in the browser")


@cli.command("rotate")
@click.argument("profile")
@click.option("--no-input", is_flag=True, help="Never prompt; exit 3 if an MFA code is needed.")
@click.option("--mfa-token", metavar="CODE", help="The current MFA code.")
@_guarded
def rotate_command(profile: str, no_input: bool, mfa_token: str | None) -> None:
    """Replace the stored access key of PROFILE's IAM user with a new one."""
    from .engine import Engine, Request
    from .mfa import check_code
    from .rotate import rotate

    if mfa_token is not None:
        mfa_token = check_code(mfa_token, "--mfa-token")
    vault = _vault(no_input)
    resolved = _resolve(profile, vault=vault)
    done = rotate(Engine(vault), resolved,
                  Request(no_input=no_input, mfa_token=mfa_token, min_ttl=300))
    click.echo(f"shellvault: rotated the access key of {done.profile} (IAM user {done.user}): "
               f"{done.new_key} is stored and works, {done.old_key} is deleted; "
               f"{done.sessions_dropped} cached session(s) of the old key dropped", err=True)


@cli.command("import")
@click.argument("profiles", nargs=-1)
@click.option("--from", "source", type=click.Choice(["credentials", "aws-vault"]),
              required=True, help="~/.aws/credentials, or aws-vault's keyring items.")
@click.option("--force", is_flag=True, help="Replace keys that are stored already.")
@click.option("--remove-plaintext", is_flag=True,
              help="With --from credentials: remove the imported keys from the file "
                   "without asking.")
@_guarded
def import_command(profiles: tuple[str, ...], source: str, force: bool,
                   remove_plaintext: bool) -> None:
    """Move existing access keys (of PROFILES, or all) into shellvault's vault."""
    from . import importer
    from .config import ConfigError
    from .onboard import check_profile_name

    if remove_plaintext and source != "credentials":
        raise UsageError("--remove-plaintext goes with --from credentials")
    config = _config()
    if source == "credentials":
        path = importer.credentials_path()
        where = str(path)
        found = importer.from_credentials_file(path)
    else:
        where = "aws-vault's keyring"
        found = importer.from_aws_vault()
    found = importer.select(found, profiles, where)
    named = []
    for entry in found:
        try:
            check_profile_name(entry.profile, config.path)
            named.append(entry)
        except ConfigError:
            named.append(importer.Found(entry.profile, None, "not a usable profile name"))
    outcome = importer.store(_vault(), named, force)
    added = importer.add_profiles([*outcome.moved, *outcome.present])
    note = f"; added [profile {'], ['.join(added)}] to {config.path}" if added else ""
    click.echo(f"shellvault: {outcome.summary(where)}{note}", err=True)
    if source == "credentials":
        _remove_plaintext(path, [e for e in named if e.creds and e.profile in
                                 (*outcome.moved, *outcome.present)], remove_plaintext)
    if not outcome.moved and not outcome.present and outcome.skipped:
        sys.exit(1)


def _remove_plaintext(path: Any, entries: list[Any], yes: bool) -> None:
    from . import importer
    from .errors import InputNeeded
    from .tty import ask

    if not entries:
        return
    names = ", ".join(e.profile for e in entries)
    if not yes:
        try:
            answer = ask(f"Remove the plaintext keys of {names} from {path}? [y/N] ",
                         why="a confirmation")
        except InputNeeded:
            answer = ""
        if answer.lower() not in ("y", "yes"):
            click.echo(f"shellvault: the plaintext keys stay in {path}; run again with "
                       "--remove-plaintext to remove them", err=True)
            return
    removed = importer.remove_plaintext(path, {e.profile: e.creds.access_key_id
                                               for e in entries})
    left = [e.profile for e in entries if e.profile not in removed]
    tail = f"; {', '.join(left)} changed in the file meanwhile and stayed" if left else ""
    click.echo(f"shellvault: removed the keys of {', '.join(removed) or 'none'} from "
               f"{path}{tail}", err=True)


def _read_keys(from_env: bool) -> tuple[str, str]:
    from .tty import ask

    if from_env:
        key_id = os.environ.get("AWS_ACCESS_KEY_ID", "").strip()
        secret = os.environ.get("AWS_SECRET_ACCESS_KEY", "").strip()
        if not key_id or not secret:
            raise UsageError("--env needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY set")
        return key_id, secret
    key_id = ask("Access key ID: ", why="the access key id")
    secret = ask("Secret access key: ", secret=True, why="the secret access key")
    return key_id, secret


@cli.command("add")
@click.argument("profile")
@click.option("--env", "from_env", is_flag=True,
              help="Take the keys from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.")
@click.option("--mfa-serial", metavar="ARN",
              help="The user's MFA device (default: looked up with the new key, confirmed).")
@click.option("--region", metavar="REGION",
              help="The profile's region (default: its current one, else us-east-1).")
@click.option("--no-mfa", is_flag=True, help="Do not look up an MFA device.")
@click.option("-y", "--yes", "assume_yes", is_flag=True,
              help="Take the only MFA device found without asking.")
@_guarded
def add_command(profile: str, from_env: bool, mfa_serial: str | None, region: str | None,
                no_mfa: bool, assume_yes: bool) -> None:
    """Store the long-term access key of PROFILE's IAM user, with its MFA device and region."""
    from .creds import Credentials, validate_key_pair
    from .onboard import (
        check_mfa_serial,
        check_profile_name,
        check_region,
        discover_mfa,
        update_profile,
    )

    config = _config()
    check_profile_name(profile, config.path)  # before anything is asked or stored
    if mfa_serial:
        check_mfa_serial(mfa_serial)
    if region:
        check_region(region)
    current = config.resolve(profile, {}) if config.has_profile(profile) else None
    key_id, secret = _read_keys(from_env)
    problem = validate_key_pair(key_id, secret)
    if problem:
        raise UsageError(f"{problem}; nothing was stored")
    creds = Credentials(key_id, secret)
    region = region or (current.region if current else None) or \
        os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    vault = _vault()  # a store that cannot be used fails before any question or call
    serial = mfa_serial or (current.mfa_serial if current else None)
    note = ""
    if not serial and not no_mfa:
        serial, note = discover_mfa(profile, creds, region, assume_yes=assume_yes)
    vault.set_master(profile, creds)
    vault.delete_sessions({profile})  # sessions of the old key must not outlive it
    values = {"region": region}
    if serial:
        values["mfa_serial"] = serial
    changed = update_profile(config.path, profile, values)
    written = f"; [profile {profile}] in {config.path} has " + " and ".join(
        f"{k} = {v}" for k, v in values.items()) if changed else ""
    _notice(f"stored the access key for {profile} in the {vault.store.describe()}{written}")
    if note:
        _notice(note)


def _rebuild_index() -> None:
    import contextlib

    from .vault import Vault, open_store

    # A locked store keeps its secrets: the list then shows what the index knows.
    with contextlib.suppress(ShellvaultError):
        Vault(open_store(no_input=True)).rebuild_index()


def _rows() -> list[dict[str, Any]]:
    from .server import running
    from .vault import SessionIndex

    config = _config()
    index = SessionIndex()  # listing needs no passphrase and no keyring round trip
    if not index.path.exists():
        _rebuild_index()  # the state directory was lost: ask the store what it holds
    servers = running()
    masters = index.masters()
    sessions = index.sessions()
    now = time.time()
    names = list(config.profile_names())
    names += [n for n in masters if n not in names]
    rows = []
    for name in names:
        mine = [s for s in sessions if s.profile == name and s.expires > now]
        rows.append({
            "profile": name,
            "credentials": "stored" if name in masters else None,
            # Where a role's last session came from (known without resolving the config).
            "source": next((s.root for s in mine if s.root != name), None),
            "sessions": [
                {"kind": s.kind, "expires": s.expires, "seconds_left": int(s.expires - now),
                 "account": s.account}
                for s in mine
            ],
            "servers": [{"pid": v["pid"], "url": v["url"]} for v in servers
                        if v.get("profile") == name],
        })
    return rows


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_guarded
def list_command(as_json: bool) -> None:
    """List profiles, stored keys and cached sessions with their time left."""
    from .creds import seconds_left_text

    rows = _rows()
    from .config import config_path
    from .config.resolve import no_config_message

    if not rows and not config_path().exists():
        click.echo(f"shellvault: {no_config_message(config_path())}", err=True)
        if not as_json:
            return  # an empty table would only look like a bug
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = [("PROFILE", "CREDENTIALS", "SESSIONS")]
    for row in rows:
        sessions = ", ".join(
            [f"{s['kind']}:{seconds_left_text(s['expires'])}" for s in row["sessions"]]
            + [f"server:pid {v['pid']}" for v in row["servers"]]) or "-"
        credentials = row["credentials"] or (f"via {row['source']}" if row["source"] else "-")
        table.append((row["profile"], credentials, sessions))
    from .tty import printable

    table = [(printable(a), printable(b), printable(c)) for a, b, c in table]
    # A very long name overflows its own row only, never pads every row to its length.
    widths = [min(max(len(r[i]) for r in table), LIST_COLUMN_LIMIT) for i in range(2)]
    for r in table:
        click.echo(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]}")
    from .vault import backend_in_use

    used = backend_in_use()
    state = f"; {used.lock_state}" if used.lock_state else ""
    click.echo(f"\nbackend: {used.description} ({used.why}{state})")


@cli.command("remove")
@click.argument("profile")
@click.option("-f", "--force", is_flag=True, help="Do not ask for confirmation.")
@_guarded
def remove_command(profile: str, force: bool) -> None:
    """Delete PROFILE's stored access key and its cached sessions."""
    from .paths import touch_stamp
    from .tty import ask

    vault = _vault()
    if not force:
        answer = ask(f"Delete the stored access key of {profile} and its sessions? [y/N] ",
                     why="a confirmation (or --force)")
        if answer.lower() not in ("y", "yes"):
            raise Interrupted("not deleted")
    removed = vault.delete_master(profile)
    sessions = vault.delete_sessions({profile})
    for entry in sessions:
        touch_stamp(entry.profile, None)
    if not removed:
        raise UsageError(f"no access key was stored for {profile}")
    _notice(f"deleted the access key of {profile} and {len(sessions)} cached session(s)")


@cli.command("clear")
@click.argument("profile", required=False)
@_guarded
def clear_command(profile: str | None) -> None:
    """Delete cached sessions (of PROFILE, or all); stored keys stay."""
    from .paths import touch_stamp

    sessions = _vault().delete_sessions({profile} if profile else None)
    for entry in sessions:
        touch_stamp(entry.profile, None)
    if profile and not sessions:
        config = _config()
        if not config.has_profile(profile):
            config.resolve(profile, {})  # says the profile is unknown, with suggestions
    click.echo(f"shellvault: cleared {len(sessions)} cached session(s)", err=True)


@cli.command("init")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish", "direnv"]))
@_guarded
def init_command(shell: str) -> None:
    """Print the shell plugin: eval "$(shellvault init zsh)", shellvault init fish | source."""
    from .shells import init_script

    try:
        click.echo(init_script(shell), nl=False)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


@cli.command("profiles")
@_guarded
def profiles_command() -> None:
    """List profile names from the AWS config file."""
    from .tty import printable

    for name in _config().profile_names():
        click.echo(printable(name))  # one name per line, no terminal control bytes


from .unlock import register as _register_unlock  # noqa: E402 (needs _guarded above)

_register_unlock(cli, _guarded)


@cli.command("help")
@click.argument("words", nargs=-1, metavar="[COMMAND]")
@click.pass_context
def help_command(ctx: click.Context, words: tuple[str, ...]) -> None:
    """Show the help of shellvault, or of one COMMAND (with-role included)."""
    parent = ctx.parent or ctx
    command: click.Command = cli
    info = [parent.info_name or "shellvault"]
    for word in words:
        if word == "with-role" and command is cli:
            click.echo(f"Usage: with-role [--save|--off|--forget] PROFILE [CMD [ARGS]...]\n\n"
                       f"{WITH_ROLE_HELP}", nl=False)
            return
        found = command.get_command(parent, word) if isinstance(command, click.Group) else None
        if found is None:
            sys.exit(output.fail(UsageError(
                f"no command '{word}'; 'shellvault help' lists them all")))
        command = found
        info.append(found.name or word)
    sub = click.Context(command, info_name=" ".join(info), parent=None)
    click.echo(command.get_help(sub))


@cli.command("with-role", hidden=True, context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def with_role_command(args: tuple[str, ...]) -> None:
    """with-role is the plugin's shell function: say how to load it."""
    sys.exit(output.fail(UsageError(
        "with-role is a shell function of the plugin, not a shellvault subcommand: load the "
        "plugin with eval \"$(shellvault init bash)\" (or zsh; fish: shellvault init fish | "
        "source), then run with-role " + " ".join(args or ("PROFILE", "CMD")))))


# The setup commands live in their own module; registered here, after everything they use.
from .cli_setup import doctor_command, policy_command, role_group  # noqa: E402

cli.add_command(role_group)
cli.add_command(policy_command)
cli.add_command(doctor_command)

from .sso_cli import sso_group  # noqa: E402  (it uses the helpers above)

cli.add_command(sso_group)


def _whole_sentences(group: click.Group) -> None:
    """Subcommand lists show each command's whole first sentence, as the top level does
    (click cuts them at 45 characters with "...")."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            for sub in command.commands.values():
                if not sub.short_help:
                    sub.short_help = first_sentence(sub)
            _whole_sentences(command)


def run() -> None:
    _whole_sentences(cli)
    try:
        result = cli.main(prog_name="shellvault", standalone_mode=False)
    except KeyboardInterrupt:
        _die(None)
    except click.exceptions.Abort:  # Ctrl-C or EOF at one of click's own prompts
        _die(None)
    except click.UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # a bare group: its help, as click does
            click.echo(exc.format_message(), err=True)
            sys.exit(exc.exit_code)
        # Bad input is one line like every other error (click's standalone mode prints three).
        where = exc.ctx.command_path if exc.ctx is not None else "shellvault"
        _die(UsageError(f"{exc.format_message()} (see '{where} --help')"))
    except click.ClickException as exc:
        _die(ShellvaultError(exc.format_message()))
    # --help, --version and ctx.exit() return their exit code in non-standalone mode.
    sys.exit(result if isinstance(result, int) else 0)
