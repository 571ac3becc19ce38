"""The shell plugins' policy, decided once: what the prompt may show, when to refresh, when
to back off and hint (once), who owns direnv-loaded credentials, which directory scope
applies and what leaving it restores.

The plugins (``shell/{bash,zsh,fish}``) hold only a per-prompt gate. They start
``shellvault hook SHELL ...`` only when something can have changed: the credential
variables (or the settings) are not what they were at the last answer, ``$PWD`` entered or
left one of the directories in ``__sv_bounds``, the clock reached ``__sv_deadline``, the
watched stamp file's first line is no longer ``__sv_watch_seen``, or the saved-scopes file
changed. The answer is a script for that shell: the plugin's own variables, calls of its
save/restore functions, credential assignments (rendered by ``envvars``), and at most one
hint line on stderr. Between answers the shells run no process.

Everything a plugin must keep between answers that only this module reads travels as the
opaque ``__sv_hs`` string (JSON), given back with each call.

``decide`` is pure apart from the ``Issuer`` (the engine, or a test's stand-in), the clock
and the files it is told about, so tests/test_hook.py drives it without a terminal.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from . import paths
from .envvars import _fish_quote, _posix_quote, render, unset_all
from .errors import (
    ShellvaultError,
    SignInNeeded,
    UsageError,
    VaultLocked,
    next_step,
)
from .scopes import check_scope_entry, load_saved, printable, under, write_saved

REFRESH_WITHIN = 300
"""Default refresh window (``SHELLVAULT_REFRESH_WITHIN``): refresh with fewer seconds left.
Also the default of ``SHELLVAULT_PROMPT_WARN`` (the prompt's warning colour)."""

SHELLS = ("bash", "zsh", "fish")

Assignments = Mapping[str, "str | None"]
Issuer = Callable[[str, bool, "int | None"], Assignments]
"""(profile, no_input, min_ttl) -> the environment contract's values; raises on failure."""

USAGE = """\
usage: with-role PROFILE COMMAND [ARGS...]   run one command with PROFILE's credentials
       with-role --server PROFILE COMMAND... ... through a local credential server
       with-role --region R PROFILE COMMAND  ... in region R
       with-role PROFILE                     use PROFILE in this directory tree (this shell)
       with-role --save PROFILE              ... and in every future shell (saved)
       with-role --off [--save]              end the scope here (--save: forget it too)
       with-role --forget                    same as --off --save
       with-role                             show what is active
"""


# ------------------------------------------------------------------ small rules
def seconds_setting(value: str, default: int) -> int:
    """A seconds setting from the environment: digits, else the default."""
    return int(value) if value.isascii() and value.isdigit() else default


def ttl_text(left: int) -> str:
    """Time left as the prompt shows it: 45s, 12m, 1h05m."""
    if left < 60:
        return f"{max(left, 0)}s"
    if left < 3600:
        return f"{left // 60}m"
    return f"{left // 3600}h{left % 3600 // 60:02d}m"


def _int(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() else None


def read_stamp(profile: str, environ: Mapping[str, str] = os.environ) -> str:
    """The first line of a profile's stamp file, as the shells read it ('' if none)."""
    try:
        data = paths.stamp_path(profile, environ).read_bytes()
    except (OSError, ValueError):
        return ""
    return data.split(b"\n", 1)[0].decode("utf-8", "surrogateescape")


# ------------------------------------------------------------------ the state a shell keeps
@dataclass
class Scope:
    directory: str
    profile: str
    source: str  # "session" (this shell) or "saved" (the directories file)


@dataclass
class State:
    owner: str = "shell"  # who put the credentials there: shell (the user), plugin, direnv
    failed: str = ""  # "profile:expires:phase" of the last refresh that failed
    failed_stamp: str = ""  # the stamp's first line then: a new one means "try again"
    short_exp: str = ""  # a refresh gave less than the window: refresh these at half
    short_within: int = 0
    direnv_wait: str = ""  # refreshed for direnv: its reload brings new credentials
    active: Scope | None = None
    sessions: list[tuple[str, str]] = field(default_factory=list)  # with-role PROFILE here
    off: list[str] = field(default_factory=list)  # saved scopes ended in this shell
    cache: tuple[str, str] | None = None  # (profile, expires) kept by _save cache
    outside: tuple[str, str] = ("", "")  # (profile, expires) kept by _save out

    def dump(self) -> str:
        data = {
            "o": self.owner, "f": self.failed, "fs": self.failed_stamp, "se": self.short_exp,
            "sw": self.short_within, "dw": self.direnv_wait,
            "a": [self.active.directory, self.active.profile, self.active.source]
            if self.active else None,
            "s": self.sessions, "x": self.off, "c": self.cache, "out": self.outside,
        }
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def load(cls, text: str) -> State:
        """The state from a shell; anything unreadable is a fresh state."""
        try:
            d = json.loads(text) if text else {}
            a = d.get("a")
            return cls(
                owner=str(d.get("o", "shell")), failed=str(d.get("f", "")),
                failed_stamp=str(d.get("fs", "")), short_exp=str(d.get("se", "")),
                short_within=int(d.get("sw", 0)), direnv_wait=str(d.get("dw", "")),
                active=Scope(str(a[0]), str(a[1]), str(a[2])) if a else None,
                sessions=[(str(x), str(y)) for x, y in d.get("s", [])],
                off=[str(x) for x in d.get("x", [])],
                cache=(str(d["c"][0]), str(d["c"][1])) if d.get("c") else None,
                outside=(str(d.get("out", ["", ""])[0]), str(d.get("out", ["", ""])[1])),
            )
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            return cls()


# ------------------------------------------------------------------ one question from a shell
@dataclass
class Ask:
    shell: str
    pwd: str
    profile: str  # $SHELLVAULT_PROFILE
    expires: str  # $SHELLVAULT_EXPIRES
    within: int  # refresh window (s)
    warn: int  # seconds left that show the warning colour
    cred_changed: bool = False  # the credential variables changed since the last answer
    diff_changed: bool = False  # $DIRENV_DIFF changed at this prompt
    direnv_dir: str = ""  # $DIRENV_DIR
    account: str = ""  # $SHELLVAULT_ACCOUNT (for the status line)
    now: int = 0


class Script:
    """The answer, as statements for one shell."""

    def __init__(self, shell: str) -> None:
        self.shell = shell
        self.fish = shell == "fish"
        self.fn = "__shellvault_" if self.fish else "_shellvault_"
        self.lines: list[str] = []

    def quote(self, value: str) -> str:
        return _fish_quote(value) if self.fish else _posix_quote(value)

    def set(self, name: str, value: str | int) -> None:
        v = self.quote(str(value))
        self.lines.append(f"set -g {name} {v}" if self.fish else f"{name}={v}")

    def set_list(self, name: str, values: Sequence[str]) -> None:
        items = " ".join(self.quote(v) for v in values)
        self.lines.append(f"set -g {name} {items}" if self.fish else f"{name}=({items})")

    def call(self, function: str, *args: str) -> None:
        self.lines.append(" ".join([self.fn + function, *(self.quote(a) for a in args)]))

    def assign(self, values: Assignments) -> None:
        self.lines.extend(render(values, self.shell).splitlines())

    def say(self, line: str) -> None:
        self.lines.append(f"printf '%s\\n' {self.quote(printable(line))} >&2")

    def text(self) -> str:
        return "".join(line + "\n" for line in self.lines)


# ------------------------------------------------------------------ the decisions
def _hint_for(exc: BaseException, profile: str) -> str:
    """What to run, by the error's class (never by its text)."""
    if isinstance(exc, VaultLocked):
        return "the file store is locked: " + (next_step(exc, profile) or "")
    if isinstance(exc, SignInNeeded):
        return "SSO session ended: " + (next_step(exc, profile) or "")
    return next_step(exc, profile) or f"could not refresh ({exc})"


class Decision:
    """One answer: reads the question and the state, writes the script."""

    def __init__(self, ask: Ask, state: State, issue: Issuer,
                 environ: Mapping[str, str] = os.environ) -> None:
        self.ask = ask
        self.state = state
        self.issue = issue
        self.environ = environ
        self.out = Script(ask.shell)
        # What the credential variables hold once the script has run (profile, expires).
        self.cur = (ask.profile, ask.expires)

    # -- credentials in the shell
    def _assign(self, values: Assignments) -> None:
        self.out.assign(values)
        self.cur = (values.get("SHELLVAULT_PROFILE") or "", values.get("SHELLVAULT_EXPIRES") or "")
        self.state.owner = "plugin"

    def _restore(self, slot: str) -> None:
        self.out.call("restore", slot)
        if slot == "cache" and self.state.cache:
            self.cur = self.state.cache
        elif slot == "out":
            self.cur = self.state.outside

    # -- directory scopes
    def match(self) -> Scope | None:
        """The scope for $PWD: the deepest directory; this shell's scope wins over a saved
        one for the same directory; saved scopes ended here (--off) do not count."""
        best: Scope | None = None
        for d, prof in load_saved(self.environ):
            if d not in self.state.off and under(d, self.ask.pwd) and (
                    best is None or len(d) > len(best.directory)):
                best = Scope(d, prof, "saved")
        for d, prof in self.state.sessions:
            if under(d, self.ask.pwd) and (best is None or len(d) >= len(best.directory)):
                best = Scope(d, prof, "session")
        return best

    def bounds(self) -> list[str]:
        dirs = [d for d, _ in load_saved(self.environ) if d not in self.state.off]
        dirs += [d for d, _ in self.state.sessions]
        return list(dict.fromkeys(dirs))

    def sync(self, force: bool = False, interactive: bool = False,
             issued: Assignments | None = None) -> int:
        """Follow $PWD in and out of scopes: save what was outside, apply the scope's
        profile, and restore exactly what was there on leaving."""
        st = self.state
        m = self.match()
        a = st.active
        same = (m and a and (m.directory, m.profile) == (a.directory, a.profile)) or (
            m is None and a is None)
        if same and not force:
            return 0
        if a is not None:
            # Keep the scope's credentials in memory: coming back needs no process.
            if self.cur[0] == a.profile and self.cur[1] not in ("", "0"):
                self.out.call("save", "cache")
                st.cache = (a.profile, self.cur[1])
            if m is None:
                self._restore("out")
                st.active = None
                st.owner = "shell"
                return 0
        elif m is None:
            return 0
        else:
            self.out.call("save", "out")
            st.outside = self.cur
        st.active = m
        return self.apply(m, interactive, issued)

    def apply(self, scope: Scope, interactive: bool, issued: Assignments | None) -> int:
        st = self.state
        if st.cache and st.cache[0] == scope.profile:
            exp = _int(st.cache[1])
            if exp is not None and exp - self.ask.now > self.ask.within:
                self._restore("cache")
                st.owner = "plugin"
                return 0
        try:
            values = issued or self.issue(scope.profile, not interactive, None)
        except ShellvaultError as exc:
            if interactive:
                raise
            # Fail closed: no credentials from outside the scope, the prompt says expired.
            self.out.assign(unset_all())
            self._assign({"SHELLVAULT_PROFILE": scope.profile, "SHELLVAULT_EXPIRES": "0"})
            st.failed = f"{scope.profile}:0:expired"
            st.failed_stamp = read_stamp(scope.profile, self.environ)
            self.out.say(f"shellvault: {scope.directory} is scoped to {scope.profile}; "
                         + _hint_for(exc, scope.profile))
            return exc.exit_code
        self._assign(values)
        return 0

    # -- refreshing near expiry
    def _threshold(self, exp: str) -> int:
        return self.state.short_within if exp == self.state.short_exp else self.ask.within

    def _phase_key(self, prof: str, exp: int) -> str:
        return f"{prof}:{exp}:{'expired' if exp - self.ask.now <= 0 else 'warn'}"

    def check_expiry(self) -> None:
        """Refresh what the shell holds when fewer than the window's seconds are left;
        without input, in this process. One failure: one hint, no retry for the same
        credentials in the same phase (warn, expired) until the stamp file moves."""
        st, ask = self.state, self.ask
        prof, exp_text = self.cur
        exp = _int(exp_text)
        if not prof or exp is None or ask.within <= 0:
            return
        left = exp - ask.now
        if st.direnv_wait and exp_text != st.direnv_wait:
            # direnv brought in what our refresh made: a short session waits for half.
            st.direnv_wait = ""
            if st.owner == "direnv" and left < ask.within:
                st.short_exp, st.short_within = exp_text, left // 2
        if left >= self._threshold(exp_text):
            return
        key = self._phase_key(prof, exp)
        if key == st.failed and read_stamp(prof, self.environ) == st.failed_stamp:
            return
        try:
            values = self.issue(prof, True, 2 * ask.within)
        except ShellvaultError as exc:
            if st.failed != key:
                when = "credentials expired" if left <= 0 else f"expires in {ttl_text(left)}"
                self.out.say(f"shellvault: {prof} {when}; {_hint_for(exc, prof)}")
            st.failed, st.failed_stamp = key, read_stamp(prof, self.environ)
            return
        if st.owner == "direnv":
            # Not evaluated: the stamp moved, direnv reloads them. Not again for these.
            st.failed, st.failed_stamp = key, read_stamp(prof, self.environ)
            st.direnv_wait = exp_text
            return
        self._assign(values)
        st.failed = ""
        new = _int(self.cur[1])
        if new is not None and new - ask.now < ask.within:
            st.short_exp, st.short_within = self.cur[1], (new - ask.now) // 2

    def deadline(self) -> str:
        """When the shell must ask again by the clock ('' never)."""
        prof, exp_text = self.cur
        exp = _int(exp_text)
        if not prof or exp is None or self.ask.within <= 0:
            return ""
        if self._phase_key(prof, exp) == self.state.failed:
            return str(exp) if exp > self.ask.now else ""
        return str(exp - self._threshold(exp_text))

    # -- the answer
    def finish(self) -> str:
        st, out = self.state, self.out
        prof = self.cur[0]
        watch = bool(st.failed) and bool(prof) and st.failed.startswith(prof + ":")
        out.set("__sv_hs", st.dump())
        out.set("__sv_deadline", self.deadline())
        out.set("__sv_warn", self.ask.warn)
        out.set_list("__sv_bounds", self.bounds())
        out.set("__sv_dirs_file", str(paths.directories_file(self.environ)))
        out.set("__sv_watch", str(paths.stamp_path(prof, self.environ)) if watch else "")
        out.set("__sv_watch_seen", st.failed_stamp if watch else "")
        return out.text()


# ------------------------------------------------------------------ the verbs
def on_prompt(d: Decision) -> int:
    if d.ask.cred_changed:
        d.state.owner = "direnv" if d.ask.direnv_dir and d.ask.diff_changed else "shell"
    d.sync()
    d.check_expiry()
    return 0


def status(d: Decision) -> None:
    ask, st = d.ask, d.state
    acct = f" ({ask.account})" if ask.account else ""
    line = f"shellvault: {ask.profile}{acct}" if ask.profile else (
        "shellvault: no credentials in this shell")
    exp = _int(ask.expires)
    if ask.profile and exp is not None:
        left = exp - ask.now
        line += f", {ttl_text(left)} left" if left > 0 else ", expired"
    d.out.lines.append(f"printf '%s\\n' {d.out.quote(printable(line))}")
    a = st.active
    scope = f"scope: {a.directory} -> {a.profile} ({a.source})" if a else "scope: none"
    d.out.lines.append(f"printf '%s\\n' {d.out.quote(printable(scope))}")


def with_role(d: Decision, args: list[str]) -> int:
    """with-role's directory-scope forms and its status (the COMMAND form runs in the shell)."""
    save = off = False
    while args and args[0].startswith("-"):
        opt = args.pop(0)
        if opt == "--save":
            save = True
        elif opt == "--off":
            off = True
        elif opt == "--forget":
            off = save = True
        elif opt in ("-h", "--help"):
            d.out.lines.append(f"printf '%s' {d.out.quote(USAGE)}")
            return 0
        elif opt == "--":
            break
        elif opt in ("--server", "--region"):
            raise UsageError("with-role: --server and --region need a COMMAND")
        else:
            raise UsageError(f"with-role: unknown option {printable(opt)}\n{USAGE.rstrip()}")
    st, pwd = d.state, d.ask.pwd
    if off:
        if st.active is None and not save:
            raise ShellvaultError("with-role: no directory scope is active here")
        directory = st.active.directory if st.active else pwd
        check_scope_entry(directory, "-")
        st.sessions = [(x, p) for x, p in st.sessions if x != directory]
        if save:
            write_saved(directory, None, d.environ)
        elif st.active and st.active.source == "saved" and directory not in st.off:
            st.off.append(directory)  # a saved scope ends here, in this shell only
        d.sync(force=True, interactive=True)
        return 0
    if not args:
        if save:
            raise UsageError("with-role: --save needs a PROFILE")
        status(d)
        return 0
    prof = args.pop(0)
    if args:
        raise UsageError("with-role: --save is for directory scopes (no COMMAND)")
    if not prof or any(c in prof for c in "\t\n\r"):
        raise UsageError("with-role: invalid profile name")
    if save:
        check_scope_entry(pwd, prof)
    issued = None
    cache_left = (_int(st.cache[1]) or 0) - d.ask.now if st.cache and st.cache[0] == prof else 0
    if cache_left <= d.ask.within:
        issued = d.issue(prof, False, None)  # may ask for an MFA code on the terminal
        st.cache = None
    st.sessions = [(x, p) for x, p in st.sessions if x != pwd] + [(pwd, prof)]
    st.off = [x for x in st.off if x != pwd]
    d.sync(force=True, interactive=True, issued=issued)
    if save:
        write_saved(pwd, prof, d.environ)
        st.sessions = [(x, p) for x, p in st.sessions if x != pwd]
        if st.active:
            st.active.source = "saved"
    return 0


def decide(verb: str, ask: Ask, state: State, issue: Issuer, args: Sequence[str] = (),
           environ: Mapping[str, str] = os.environ) -> tuple[int, str]:
    """(exit code, script) for one question from a shell."""
    d = Decision(ask, state, issue, environ)
    code = 0
    try:
        if verb == "prompt":
            code = on_prompt(d)
        elif verb == "with-role":
            code = with_role(d, list(args))
        else:
            raise UsageError(f"hook: unknown question {verb!r}")
    except ShellvaultError as exc:
        text = str(exc)
        sys.stderr.write(f"{text}\n" if text.startswith("with-role:") else f"shellvault: {text}\n")
        code = exc.exit_code
    # Also after an error: the script holds exactly the steps taken and the state they left.
    return code, d.finish()


# ------------------------------------------------------------------ profile names for TAB
def names_answer(shell: str, environ: Mapping[str, str], force: bool) -> str:
    """Where the shell finds the profile names for TAB (namecache.py), the cache refreshed
    if the config changed (always with `force`: the shell saw it stale)."""
    from . import namecache

    config, cache = namecache.refresh(environ, force=force)
    out = Script(shell)
    out.set("__sv_ccfg", str(config))
    out.set("__sv_ccache", str(cache))
    if shell == "bash":
        out.set("__sv_cquoted", str(namecache.quoted_path(cache)))
    out.set("__sv_ccfor", environ.get("AWS_CONFIG_FILE", ""))
    return out.text()


# ------------------------------------------------------------------ the engine as issuer
def engine_issuer(profile: str, no_input: bool, min_ttl: int | None) -> Assignments:
    from .config import AwsConfig, ConfigError
    from .engine import Engine, Request
    from .envvars import contract
    from .output import config_environ
    from .vault import Vault, open_store

    try:
        vault = Vault(open_store(no_input=no_input))
        config = AwsConfig.load()
        # A profile known only by its stored keys resolves, as in `env` (aws-vault's rule).
        stored = not config.has_profile(profile) and vault.get_master(profile) is not None
        prof = config.resolve(profile, config_environ(), keys_stored=stored)
        issued = Engine(vault).issue(prof, Request(no_input=no_input, min_ttl=min_ttl))
    except ConfigError as exc:
        raise ShellvaultError(str(exc)) from None
    return contract(issued.session, issued.profile.name, issued.region)


# ------------------------------------------------------------------ command line
def parse(argv: list[str]) -> tuple[str, dict[str, str], str, list[str]]:
    """``SHELL --opt value ... -- VERB ARGS...`` -> (shell, options, verb, args)."""
    if not argv or argv[0] not in SHELLS:
        raise UsageError(f"hook: the first argument is the shell ({', '.join(SHELLS)})")
    shell, rest = argv[0], argv[1:]
    opts: dict[str, str] = {}
    while rest and rest[0] != "--":
        name = rest.pop(0)
        if not name.startswith("--") or not rest:
            raise UsageError(f"hook: bad option {name!r}")
        opts[name[2:]] = rest.pop(0)
    rest = rest[1:]
    if not rest:
        raise UsageError("hook: which question? (prompt, with-role, ...)")
    return shell, opts, rest[0], rest[1:]


def main(argv: list[str], issue: Issuer = engine_issuer,
         environ: Mapping[str, str] = os.environ) -> int:
    """``shellvault hook SHELL [--state S --pwd P --profile X --expires E --within W
    --warn W --cred-changed 0|1 --diff-changed 0|1] -- VERB ARGS...``: print the answer."""
    try:
        shell, opts, verb, args = parse(argv)
    except UsageError as exc:
        sys.stderr.write(f"shellvault: {exc}\n")
        return 2
    within = seconds_setting(opts.get("within", ""), REFRESH_WITHIN)
    ask = Ask(
        shell=shell, pwd=opts.get("pwd", "") or os.getcwd(), profile=opts.get("profile", ""),
        expires=opts.get("expires", ""), within=within,
        warn=seconds_setting(opts.get("warn", ""), within),
        cred_changed=opts.get("cred-changed") == "1", diff_changed=opts.get("diff-changed") == "1",
        direnv_dir=environ.get("DIRENV_DIR", ""), account=opts.get("account", ""),
        now=int(time.time()),
    )
    if verb == "direnv-watch" and len(args) == 1:
        # Two lines, read as data by shell/direnv/shellvault.sh: the stamp, the config.
        watched = [str(paths.stamp_path(args[0], environ)), str(paths.aws_config_file(environ))]
        if any("\n" in p for p in watched):
            return 1
        code, text = 0, "".join(p + "\n" for p in watched)
    elif verb == "profiles":
        code, text = 0, names_answer(shell, environ, force=True)
    else:
        code, text = decide(verb, ask, State.load(opts.get("state", "")), issue, args, environ)
        if verb == "prompt":
            # A shell's first question comes at its first prompt: from then on its first
            # TAB finds fresh names without starting a process.
            text += names_answer(shell, environ, force=False)
    sys.stdout.buffer.write(text.encode("utf-8", "surrogateescape"))
    sys.stdout.flush()
    return code
