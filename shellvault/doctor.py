"""`shellvault doctor`: every link of the chain checked, one line each, with the fix.

A check is a function returning ``Check`` results; ``run_checks`` calls them in the order
a newcomer sets things up (config, vault, shell, direnv, network, key, sessions), so the
first ✗ is usually the one to fix first. Every network call has a deadline (5 s to
connect and to answer, one attempt); nothing here prompts.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from .errors import ShellvaultError

OK, FAIL, WARN = "ok", "fail", "warn"
MARKS = {OK: "\u2713", FAIL: "\u2717", WARN: "!"}
OLD_KEY_DAYS = 90  # AWS's security best practice: rotate access keys at least every 90 days
SKEW_LIMIT = 300  # SigV4 signatures fail at 15 min; TOTP-era clocks should be far closer
NETWORK_TIMEOUT = 5


class Check(NamedTuple):
    name: str
    status: str
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"{MARKS[self.status]} {self.name}: {self.detail}"
        return f"{text} \u2192 {self.fix}" if self.fix else text

    def as_json(self) -> dict[str, str]:
        return {"check": self.name, "status": self.status, "detail": self.detail,
                "fix": self.fix}


class Context:
    """What the checks share: the environment, the config once parsed, the store once open."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.config: Any = None  # AwsConfig when it parsed
        self.profiles: dict[str, Any] = {}  # name -> resolved Profile
        self.store: Any = None
        self.masters: dict[str, dict[str, Any]] = {}
        self.sts_ok = True


def check_config(ctx: Context) -> Iterator[Check]:
    from .config import AwsConfig, ConfigError, config_path

    path = config_path()
    if not path.exists():
        yield Check("config", FAIL, f"no AWS config file at {path}",
                    "create it: shellvault add central, then shellvault role add NAME "
                    "--role-arn ARN --from central")
        return
    try:
        config = AwsConfig.load(path)
        names = config.profile_names()
    except ConfigError as exc:
        yield Check("config", FAIL, str(exc), f"fix that line of {path}")
        return
    ctx.config = config
    yield Check("config", OK, f"{path} parses ({len(names)} profiles)")
    broken = []
    for name in names:
        try:
            ctx.profiles[name] = config.resolve(name, {})
        except ConfigError as exc:
            broken.append(str(exc))
    if broken:
        for problem in broken:
            yield Check("profiles", FAIL, problem, f"edit {path}")
    elif names:
        yield Check("profiles", OK, f"every profile resolves ({', '.join(names[:8])}"
                    f"{', ...' if len(names) > 8 else ''})")
    else:
        yield Check("profiles", FAIL, f"{path} has no profile",
                    "shellvault add central, then shellvault role add ...")


def check_vault(ctx: Context) -> Iterator[Check]:
    from .errors import InputNeeded
    from .vault import SessionIndex, backend_in_use, open_store

    ctx.masters = SessionIndex(ctx.environ).masters()
    backend = backend_in_use(ctx.environ)
    where = f"{backend.description} ({backend.why})"
    if backend.why.startswith("not usable"):
        yield Check("vault", FAIL, f"the OS keyring is {backend.why}",
                    "export SHELLVAULT_BACKEND=file to use the encrypted file store")
        return
    if backend.lock_state and backend.lock_state.startswith(("locked", "damaged")):
        yield Check("vault", WARN, f"{where}: {backend.lock_state}",
                    "shellvault unlock (or any command at a terminal asks for the passphrase)")
        return
    try:
        store = open_store(ctx.environ, no_input=True)
        store.get("master:shellvault-doctor-probe")  # a read answers or fails in bounded time
    except InputNeeded as exc:
        yield Check("vault", WARN, f"{where}: {exc}", "shellvault unlock")
        return
    except ShellvaultError as exc:
        yield Check("vault", FAIL, f"{where}: {exc}",
                    "export SHELLVAULT_BACKEND=file to use the encrypted file store")
        return
    ctx.store = store
    state = f", {backend.lock_state}" if backend.lock_state else ""
    yield Check("vault", OK, f"{where} answers{state}")


def _shell_name(environ: Mapping[str, str]) -> str:
    return os.path.basename(environ.get("SHELL", "") or "bash")


def _init_line(shell: str) -> str:
    if shell == "fish":
        return "add 'shellvault init fish | source' to ~/.config/fish/config.fish"
    rc = "~/.zshrc" if shell == "zsh" else "~/.bashrc"
    name = shell if shell in ("bash", "zsh") else "bash"
    return f"add 'eval \"$(shellvault init {name})\"' to {rc} and open a new shell"


def check_plugin(ctx: Context) -> Iterator[Check]:
    """The plugins export SHELLVAULT_PLUGIN=<shell> once loaded, hooks and completion set."""
    loaded = ctx.environ.get("SHELLVAULT_PLUGIN", "")
    if not loaded:
        shell = _shell_name(ctx.environ)
        yield Check("shell plugin", FAIL,
                    "not loaded in this shell: no with-role, prompt segment or completion",
                    _init_line(shell))
        return
    yield Check("shell plugin", OK, f"the {loaded} plugin is loaded in this shell (prompt "
                "hook, with-role, completion)")


def _direnv_lib_dir(environ: Mapping[str, str]) -> Path:
    base = environ.get("XDG_CONFIG_HOME") or os.path.join(environ.get("HOME", "~"), ".config")
    return Path(environ.get("DIRENV_CONFIG") or os.path.join(base, "direnv")) / "lib"


def check_direnv(ctx: Context) -> Iterator[Check]:
    if shutil.which("direnv", path=ctx.environ.get("PATH")) is None:
        return  # no direnv, nothing to check
    from .shells import init_script

    lib = _direnv_lib_dir(ctx.environ)
    install = f"shellvault init direnv > {lib}/shellvault.sh"
    found = [p for p in sorted(lib.glob("*.sh")) if "use_shellvault" in _read(p)]
    if not found:
        rc = lib.parent / "direnvrc"
        if "use_shellvault" in _read(rc) or "shellvault" in _read(rc):
            yield Check("direnv", OK, f"{rc} loads the shellvault extension")
            return
        # Optional: a user who does not use direnv is not failing anything.
        yield Check("direnv", WARN, "direnv is installed but 'use shellvault' is not",
                    f"mkdir -p {lib} && {install}")
        return
    current = init_script("direnv")
    if all(_read(p) != current for p in found):
        yield Check("direnv", WARN, f"{found[0]} is from another shellvault version",
                    install)
        return
    yield Check("direnv", OK, f"extension installed ({found[0]})")


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _sts_endpoint(region: str) -> str:
    """Where botocore would send an STS call (AWS_ENDPOINT_URL & co. respected)."""
    import botocore.session

    session = botocore.session.Session()
    client = session.create_client("sts", region_name=region, aws_access_key_id="AKIAX",
                                   aws_secret_access_key="x")
    return str(client.meta.endpoint_url)


def _server_date(url: str) -> float | None:
    """The Date header of any answer from ``url`` (an unsigned GET: a 4xx still has one)."""
    import email.utils
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=NETWORK_TIMEOUT) as response:
            date = response.headers.get("Date")
    except urllib.error.HTTPError as exc:
        date = exc.headers.get("Date")
    if not date:
        return None
    return email.utils.parsedate_to_datetime(date).timestamp()


def _root_regions(ctx: Context) -> str:
    for profile in ctx.profiles.values():
        if profile.region:
            return str(profile.region)
    return ctx.environ.get("AWS_REGION") or ctx.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def check_sts(ctx: Context) -> Iterator[Check]:
    region = _root_regions(ctx)
    try:
        url = _sts_endpoint(region)
    except Exception as exc:
        yield Check("STS", FAIL, f"no STS endpoint for region {region} ({exc})",
                    "set a valid region in your profiles")
        ctx.sts_ok = False
        return
    try:
        before = time.time()
        served = _server_date(url)
        after = time.time()
    except OSError as exc:
        reason = getattr(exc, "reason", exc)
        ctx.sts_ok = False
        yield Check("STS", FAIL, f"cannot reach {url} ({reason})",
                    "check your network, proxy (HTTPS_PROXY) or AWS_ENDPOINT_URL")
        return
    if served is None:
        yield Check("STS", OK, f"{url} answers (no clock to compare)")
        return
    skew = (before + after) / 2 - served
    if abs(skew) > SKEW_LIMIT:
        yield Check("clock", FAIL, f"this machine's clock is {int(abs(skew))}s "
                    f"{'ahead of' if skew > 0 else 'behind'} AWS's",
                    "synchronise it (timedatectl set-ntp true, or System Settings > Date & Time)")
    yield Check("STS", OK, f"{url} answers; clock within {max(1, round(abs(skew)))}s of AWS's")


def _rotate_hint(profile: str) -> str:
    from .cli import cli

    if "rotate" in cli.commands:
        return f"shellvault rotate {profile}"
    return "create a new access key in IAM, then shellvault add " + profile


def check_keys(ctx: Context) -> Iterator[Check]:
    roots = sorted({p.root().name for p in ctx.profiles.values()
                    if not p.root().credential_process and not p.root().is_sso
                    and not p.root().is_web_identity})  # those need no stored key
    if not roots:
        return
    from .creds import Credentials

    for root in roots:
        master: Credentials | None = None
        if ctx.store is not None:
            try:
                text = ctx.store.get(f"master:{root}")
            except ShellvaultError as exc:
                yield Check(f"key {root}", FAIL, f"cannot read it ({exc})", "")
                continue
            if text:
                from .creds import master_from_json

                master = master_from_json(text)
        if master is None:
            if root in ctx.masters or ctx.store is not None:
                yield Check(f"key {root}", FAIL, "no access key stored",
                            f"shellvault add {root}")
            continue
        added = ctx.masters.get(root, {}).get("added")
        days = int((time.time() - added) // 86400) if added else None
        if ctx.sts_ok:
            from .iam import whoami

            try:
                who = whoami(master, ctx.profiles[root].region, read_timeout=NETWORK_TIMEOUT,
                             attempts=1)
            except ShellvaultError as exc:
                yield Check(f"key {root}", FAIL, f"AWS does not accept it ({exc})",
                            f"shellvault add {root} with a working key")
                continue
            detail = f"works ({who['Arn']})"
        else:
            detail = "stored (not tested: STS unreachable)"
        if days is not None and days >= OLD_KEY_DAYS:
            yield Check(f"key {root}", WARN, f"{detail}; stored {days} days ago",
                        _rotate_hint(root))
        else:
            age = f"; stored {days} days ago" if days is not None else ""
            yield Check(f"key {root}", OK, detail + age)


def check_sessions(ctx: Context) -> Iterator[Check]:
    from .creds import seconds_left_text
    from .vault import SessionIndex

    try:
        raw = SessionIndex(ctx.environ).read()["sessions"]
    except ShellvaultError:
        raw = {}
    now = time.time()
    if not raw:
        if not ctx.profiles:
            return  # nothing to have a session for yet: the config check said what to do
        roles = [n for n, p in ctx.profiles.items() if p.role_arn]
        first = roles[0] if roles else next(iter(ctx.profiles), "PROFILE")
        yield Check("sessions", WARN, "no cached session yet",
                    f"shellvault auth {first} (asks for the MFA code once)")
        return
    for entry in SessionIndex(ctx.environ).sessions():
        what = "MFA session" if entry.kind in ("mfa", "base") else "role session"
        if entry.expires <= now:
            ago = int(now - entry.expires) // 60
            yield Check(f"{entry.profile}", FAIL, f"{what} expired {ago}m ago",
                        f"shellvault auth {entry.profile}")
        else:
            yield Check(f"{entry.profile}", OK,
                        f"{what}, {seconds_left_text(entry.expires, now)} left")


CHECKS: tuple[Callable[[Context], Iterator[Check]], ...] = (
    check_config, check_vault, check_plugin, check_direnv, check_sts, check_keys,
    check_sessions,
)


def run_checks(environ: Mapping[str, str] = os.environ) -> list[Check]:
    ctx = Context(environ)
    results: list[Check] = []
    for check in CHECKS:
        try:
            results.extend(check(ctx))
        except ShellvaultError as exc:
            results.append(Check(check.__name__.removeprefix("check_"), FAIL, str(exc)))
    return results
