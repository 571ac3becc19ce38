"""The prompt hook's policy (shellvault/hook.py), without a terminal: each state and
transition, by the answers' scripts and the issuer's calls. The same policy in real
shells: tests/test_shell_*.py (through tests/stub_shellvault.py)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

from shellvault import hook, scopes
from shellvault.errors import InputNeeded, ShellvaultError, SignInNeeded, VaultLocked
from shellvault.hook import Ask, State, decide

NOW = 1_000_000


class Issuer:
    """A fake engine: records (profile, no_input, min_ttl); gives TTL-second sessions."""

    def __init__(self, ttl: int = 3600, error: ShellvaultError | None = None) -> None:
        self.ttl, self.error, self.calls = ttl, error, []  # type: ignore[var-annotated]

    def __call__(self, profile: str, no_input: bool, min_ttl: int | None) -> hook.Assignments:
        self.calls.append((profile, no_input, min_ttl))
        if self.error:
            raise self.error
        return {"AWS_ACCESS_KEY_ID": "ASIAX", "SHELLVAULT_PROFILE": profile,
                "SHELLVAULT_EXPIRES": str(NOW + self.ttl), "AWS_PROFILE": None}


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
            "SHELLVAULT_STATE_DIR": str(tmp_path / "state")}


def ask(**kw: object) -> Ask:
    base: dict[str, object] = {"shell": "bash", "pwd": "/w", "profile": "", "expires": "",
                               "within": 300, "warn": 300, "now": NOW}
    base.update(kw)
    return Ask(**base)  # type: ignore[arg-type]


def answer(a: Ask, state: State, issue: Issuer, env: Mapping[str, str], verb: str = "prompt",
           args: tuple[str, ...] = ()) -> tuple[int, str, dict[str, str]]:
    """(code, script, the plugin variables it sets)."""
    code, text = decide(verb, a, state, issue, args, env)
    values = {}
    for line in text.splitlines():
        name, eq, rest = line.partition("=")
        if eq and name.startswith("__sv_"):
            values[name] = rest.strip("'")
    return code, text, values


def hints(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.endswith(">&2")]


# ------------------------------------------------------------------ refresh
def test_no_credentials_nothing_to_do(env: dict[str, str]) -> None:
    code, text, v = answer(ask(), State(), Issuer(), env)
    assert code == 0 and v["__sv_deadline"] == "" and v["__sv_bounds"] == "()"
    assert "_shellvault_" not in text.replace("__sv_", "")


def test_valid_credentials_next_deadline_is_the_window(env: dict[str, str]) -> None:
    issue = Issuer()
    _, _, v = answer(ask(profile="p", expires=str(NOW + 1000)), State(), issue, env)
    assert issue.calls == [] and v["__sv_deadline"] == str(NOW + 1000 - hook.REFRESH_WITHIN)
    assert v["__sv_warn"] == "300"


def test_refresh_in_the_window_without_input(env: dict[str, str]) -> None:
    issue, st = Issuer(), State(owner="shell")
    _, text, v = answer(ask(profile="p", expires=str(NOW + 100)), st, issue, env)
    assert issue.calls == [("p", True, 600)]
    assert "export AWS_ACCESS_KEY_ID='ASIAX';" in text and "unset AWS_PROFILE;" in text
    assert st.owner == "plugin" and v["__sv_deadline"] == str(NOW + 3600 - 300)
    assert hints(text) == []


def test_failure_hints_once_then_waits_for_the_stamp_or_expiry(env: dict[str, str]) -> None:
    issue, st = Issuer(error=InputNeeded("x")), State()
    a = ask(profile="p", expires=str(NOW + 100))
    _, text, v = answer(a, st, issue, env)
    assert len(hints(text)) == 1 and "shellvault: p expires in 1m; run " in hints(text)[0]
    assert v["__sv_deadline"] == str(NOW + 100)  # the expired phase: one more try
    assert v["__sv_watch"].endswith("/stamps/p") and v["__sv_watch_seen"] == ""
    _, text, _ = answer(a, st, issue, env)  # same credentials, same phase: nothing
    assert len(issue.calls) == 1 and hints(text) == []
    stamp = Path(env["SHELLVAULT_STATE_DIR"]) / "stamps" / "p"
    stamp.parent.mkdir(parents=True)
    stamp.write_text("123\n")  # `shellvault auth p` elsewhere
    issue.error = None
    _, text, v = answer(a, st, issue, env)
    assert len(issue.calls) == 2 and st.failed == "" and v["__sv_watch"] == ""


def test_expired_phase_tries_and_hints_again(env: dict[str, str]) -> None:
    issue, st = Issuer(error=InputNeeded("x")), State()
    answer(ask(profile="p", expires=str(NOW + 100)), st, issue, env)
    _, text, v = answer(ask(profile="p", expires=str(NOW + 100), now=NOW + 101), st, issue, env)
    assert len(issue.calls) == 2 and "p credentials expired; run" in text
    assert v["__sv_deadline"] == ""


@pytest.mark.parametrize(("error", "says"), [
    (InputNeeded("x"), "run 'shellvault auth p'"),
    (VaultLocked("x"), "the file store is locked: run 'shellvault unlock'"),
    (SignInNeeded("x"), "SSO session ended: run 'shellvault sso login p'"),
    (ShellvaultError("STS did not answer"), "could not refresh (STS did not answer)"),
])
def test_hint_by_error_class(env: dict[str, str], error: ShellvaultError, says: str) -> None:
    _, text, _ = answer(ask(profile="p", expires=str(NOW + 100)), State(), Issuer(error=error),
                        env)
    assert says.replace("'", "'\\''") in text


def test_short_sessions_refresh_at_half_not_every_prompt(env: dict[str, str]) -> None:
    issue, st = Issuer(ttl=900), State()
    a = ask(profile="p", expires=str(NOW + 900), within=1000, warn=1000)
    _, _, v = answer(a, st, issue, env)
    assert len(issue.calls) == 1 and v["__sv_deadline"] == str(NOW + 900 - 450)
    # the next question (its own answer's credentials) does not refresh again
    _, _, v = answer(ask(profile="p", expires=str(NOW + 900), within=1000, warn=1000, now=NOW + 5),
                     st, issue, env)
    assert len(issue.calls) == 1 and v["__sv_deadline"] == str(NOW + 450)


def test_window_zero_never_refreshes(env: dict[str, str]) -> None:
    issue = Issuer()
    _, _, v = answer(ask(profile="p", expires=str(NOW - 5), within=0, warn=600), State(), issue,
                     env)
    assert issue.calls == [] and v["__sv_deadline"] == "" and v["__sv_warn"] == "600"


def test_direnv_credentials_are_refreshed_not_assigned(env: dict[str, str]) -> None:
    issue, st = Issuer(), State()
    a = ask(profile="p", expires=str(NOW + 100), cred_changed=True, diff_changed=True,
            direnv_dir="-/proj")
    _, text, _ = answer(a, st, issue, env)
    assert st.owner == "direnv" and issue.calls == [("p", True, 600)]
    assert "AWS_ACCESS_KEY_ID" not in text and st.direnv_wait == str(NOW + 100)
    _, _, _ = answer(ask(profile="p", expires=str(NOW + 100)), st, issue, env)
    assert len(issue.calls) == 1  # not again for the same credentials
    # direnv reloads a short session: the next refresh at half of what it has
    answer(ask(profile="p", expires=str(NOW + 250), cred_changed=True, diff_changed=True,
               direnv_dir="-/proj"), st, issue, env)
    assert st.short_exp == str(NOW + 250) and st.short_within == 125 and len(issue.calls) == 1


def test_credentials_changed_by_the_user_are_the_shells(env: dict[str, str]) -> None:
    st = State(owner="direnv")
    answer(ask(profile="p", expires=str(NOW + 1000), cred_changed=True, direnv_dir="-/x"), st,
           Issuer(), env)
    assert st.owner == "shell"


# ------------------------------------------------------------------ directory scopes
def saved(env: Mapping[str, str], text: str) -> Path:
    path = Path(env["XDG_CONFIG_HOME"]) / "shellvault" / "directories"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_saved_scopes_file_rules(env: dict[str, str]) -> None:
    saved(env, "# mine\n/p/\tA\n~/q\tB\nrelative\tC\n/r\t\n/s\tD E\n\n")
    assert scopes.load_saved(env) == [("/p", "A"), (env["HOME"] + "/q", "B"), ("/s", "D E")]


def test_scope_enter_leave_and_come_back_from_memory(env: dict[str, str]) -> None:
    saved(env, "/proj\tA\n")
    issue, st = Issuer(), State()
    _, text, v = answer(ask(pwd="/proj/sub", profile="o"), st, issue, env)
    assert issue.calls == [("A", True, None)] and v["__sv_bounds"] == "('/proj')"
    assert text.index("_shellvault_save 'out'") < text.index("SHELLVAULT_PROFILE='A'")
    assert st.active == hook.Scope("/proj", "A", "saved") and st.outside == ("o", "")
    exp = str(NOW + 3600)
    _, text, _ = answer(ask(pwd="/elsewhere", profile="A", expires=exp), st, issue, env)
    assert "_shellvault_save 'cache'" in text and "_shellvault_restore 'out'" in text
    assert st.active is None and st.cache == ("A", exp)
    _, text, _ = answer(ask(pwd="/proj", profile="o"), st, issue, env)
    assert "_shellvault_restore 'cache'" in text and len(issue.calls) == 1


def test_saved_scope_fails_closed_with_one_hint(env: dict[str, str]) -> None:
    saved(env, "/proj\tA\n")
    st = State()
    _, text, v = answer(ask(pwd="/proj", profile="o", expires="9"), st,
                        Issuer(error=InputNeeded("x")), env)
    assert "unset AWS_ACCESS_KEY_ID;" in text and "export SHELLVAULT_EXPIRES='0';" in text
    assert len(hints(text)) == 1 and "/proj is scoped to A; run" in hints(text)[0]
    assert st.failed == "A:0:expired" and v["__sv_watch"].endswith("/stamps/A")


def test_scope_paths_are_literal_not_patterns(env: dict[str, str]) -> None:
    saved(env, "/a?c\tA\n/x[y]\tB\n")  # issue 10, item 12
    issue = Issuer()
    answer(ask(pwd="/abc"), State(), issue, env)
    answer(ask(pwd="/xy"), State(), issue, env)
    assert issue.calls == []
    assert scopes.under("/a?c", "/a?c/d") and not scopes.under("/a", "/ab")


def test_with_role_scope_status_off_and_forget(env: dict[str, str]) -> None:
    issue, st = Issuer(), State()
    code, _, v = answer(ask(pwd="/w"), st, issue, env, "with-role", ("B",))
    assert code == 0 and issue.calls == [("B", False, None)]  # may ask for a code
    assert st.sessions == [("/w", "B")] and v["__sv_bounds"] == "('/w')"
    _, text, _ = answer(ask(pwd="/w", profile="B", expires=str(NOW + 3599), account="2"), st,
                        issue, env, "with-role")
    assert "shellvault: B (2), 59m left" in text and "scope: /w -> B (session)" in text
    _, text, _ = answer(ask(pwd="/w", profile="B", expires="1"), st, issue, env, "with-role",
                        ("--off",))
    assert "_shellvault_restore 'out'" in text and st.sessions == [] and st.active is None
    code, _, _ = answer(ask(pwd="/w"), st, issue, env, "with-role", ("--off",))
    assert code == 1


def test_with_role_save_writes_the_users_file(env: dict[str, str]) -> None:
    path = saved(env, "/old\tX\n/w/\tY\n")
    st = State()
    answer(ask(pwd="/w"), st, Issuer(), env, "with-role", ("--save", "B"))
    assert path.read_text() == "/old\tX\n/w\tB\n" and st.active and st.active.source == "saved"
    answer(ask(pwd="/w", profile="B", expires="1"), st, Issuer(), env, "with-role", ("--forget",))
    assert path.read_text() == "/old\tX\n"


def test_with_role_save_refuses_a_directory_with_a_newline(env: dict[str, str]) -> None:
    path = saved(env, "")
    code, text, _ = answer(ask(pwd="/w\n/etc"), State(), Issuer(), env, "with-role",
                           ("--save", "B"))
    assert code == 2 and path.read_text() == "" and "_shellvault_save" not in text


def test_with_role_usage_errors(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    for args in (("--bogus",), ("--save",), ("--save", "A", "cmd"), ("a\tb",)):
        code, _, _ = answer(ask(), State(), Issuer(), env, "with-role", args)
        assert code == 2, args
    assert "usage: with-role" in capsys.readouterr().err


def test_with_role_failure_changes_nothing(env: dict[str, str]) -> None:
    st = State()
    code, text, _ = answer(ask(), st, Issuer(error=ShellvaultError("no")), env, "with-role",
                           ("B",))
    assert code == 1 and st.sessions == [] and "_shellvault_" not in text.replace("__sv", "")


# ------------------------------------------------------------------ encoding
def test_state_round_trip_and_garbage() -> None:
    st = State(owner="plugin", failed="p:1:warn", active=hook.Scope("/d", "p", "saved"),
               sessions=[("/d", "p")], off=["/e"], cache=("p", "9"), outside=("o", "1"))
    assert State.load(st.dump()) == st
    for junk in ("", "{", "[]", json.dumps({"a": [1]}), json.dumps({"sw": "x"})):
        assert State.load(junk) == State()


def test_fish_answers_are_fish() -> None:
    out = hook.Script("fish")
    out.set("__sv_x", "it's")
    out.set_list("__sv_l", ["a b", "c"])
    out.call("save", "out")
    assert out.text() == (
        "set -g __sv_x 'it\\'s'\nset -g __sv_l 'a b' 'c'\n__shellvault_save 'out'\n"
    )


def test_printable_hides_control_characters() -> None:
    assert scopes.printable("a\x1b]0;x\x07b\nc\x9bd") == "a?]0;x?b?c?d"


def test_settings() -> None:
    assert hook.seconds_setting("", hook.REFRESH_WITHIN) == 300
    assert hook.seconds_setting("٣", 7) == 7 and hook.seconds_setting("30", 7) == 30


def test_command_line(tmp_path: Path) -> None:
    import sys

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "shellvault", "hook", *args],
                              capture_output=True, text=True, check=False,
                              env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})

    assert run("tcsh", "--", "prompt").returncode == 2
    assert run("bash").returncode == 2
    done = run("bash", "--pwd", str(tmp_path), "--", "prompt")
    assert done.returncode == 0 and "__sv_hs=" in done.stdout and done.stderr == ""


def test_a_prompt_with_nothing_to_refresh_imports_neither_click_nor_boto3(tmp_path: Path) -> None:
    import sys
    import time

    expires = str(int(time.time()) + 3000)
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "shellvault", "hook", "bash", "--pwd",
         str(tmp_path), "--profile", "p", "--expires", expires, "--cred-changed", "1", "--",
         "prompt"],
        capture_output=True, text=True, check=False,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert "__sv_deadline=" in done.stdout
    imported = {ln.rsplit("|", 1)[-1].strip() for ln in done.stderr.splitlines() if "|" in ln}
    assert "shellvault.hook" in imported
    assert not imported & {"click", "boto3", "botocore"}, sorted(imported)


def test_off_ends_a_saved_scope_in_this_shell_only(env: dict[str, str]) -> None:
    path = saved(env, "/proj\tA\n")
    issue, st = Issuer(), State()
    answer(ask(pwd="/proj"), st, issue, env)
    _, text, v = answer(ask(pwd="/proj", profile="A", expires=str(NOW + 3600)), st, issue, env,
                        "with-role", ("--off",))
    assert "_shellvault_restore 'out'" in text and st.off == ["/proj"]
    assert v["__sv_bounds"] == "()" and path.read_text() == "/proj\tA\n"
    answer(ask(pwd="/proj/sub"), st, issue, env)
    assert len(issue.calls) == 1 and st.active is None
