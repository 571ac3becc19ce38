"""``scripts/demo``: try shellvault without an AWS account.

    scripts/demo [--shell bash|zsh|fish]     a guided tour in your shell
    scripts/demo --check [--shell SHELL]...  the tour typed by a robot, checked

``scripts/demo`` (bash) makes sure ``.venv`` is current (``scripts/test
--setup-only``), then runs this file with the venv's Python. Everything lives in one
temp dir that is removed at exit, and the emulator is stopped by its PID, also on
Ctrl-C, SIGTERM and SIGHUP.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from types import FrameType

from demo_env import (
    DEMO_MFA_CODE,
    DEMO_PASSPHRASE,
    SHELLS,
    Demo,
    DemoError,
    DemoHome,
    default_shell,
    eval_line,
)


def _say(text: str = "") -> None:
    print(text, flush=True)


def _leave(signum: int, _frame: FrameType | None) -> None:
    """SIGTERM/SIGHUP: unwind (the ``finally`` blocks stop moto and clean up)."""
    raise SystemExit(128 + signum)


def tour(demo: Demo, home: DemoHome) -> str:
    """What to type, for HOME's shell."""
    assert demo.world is not None
    w = demo.world
    shell = home.shell
    pad = max(len(eval_line(shell)), len("with-role account-b aws s3 ls")) + 4

    def row(cmd: str, note: str) -> str:
        return f"  {cmd:<{pad}}{note}"

    return "\n".join(
        [
            "",
            f"shellvault demo ({shell}): nothing here talks to AWS or touches your files",
            "",
            f"  HOME     {home.home}  (deleted when you exit)",
            f"  AWS      a local emulator (moto) at {w.moto_url}  (AWS_ENDPOINT_URL)",
            "  config   ~/.aws/config: central (IAM user alice, MFA device),",
            "           account-a and account-b (roles assumed from central with MFA)",
            "  keys     alice's access key, stored with `shellvault add central --env` in the",
            f"           encrypted file backend, passphrase {DEMO_PASSPHRASE!r}",
            "           (SHELLVAULT_BACKEND=file). A real install keeps them in your OS keyring.",
            f"  rc file  {home.rc_path}  (the plugin is loaded;",
            "           nothing of your own rc files is read)",
            "",
            "Try:",
            row(eval_line(shell), f"MFA code: any 6 digits here, e.g. {DEMO_MFA_CODE}"),
            row("", "then look at the prompt: aws:account-a 1h00m, counting down"),
            row("aws s3 ls", f"only {w.account_a_bucket}"),
            row("with-role account-b aws s3 ls", f"only {w.account_b_bucket}, no second MFA code;"),
            row("", "this shell stays on account-a"),
            row("shellvault <TAB>", "commands; after env/exec/auth: profile names"),
            row("with-role <TAB>", "profile names"),
            row("shellvault ls", "stored keys and cached sessions, with time left"),
            row("exit", "stops the emulator and deletes this HOME"),
            "",
        ]
    )


def run_shell(home: DemoHome) -> int:
    """Run the demo shell in the foreground until the user exits it."""
    # The shell owns the terminal (it puts itself in its own process group); a
    # Ctrl-C that still reaches us must not end the demo under the user's feet.
    # A handler, not SIG_IGN: handlers are reset in the child, ignores are inherited.
    previous = signal.signal(signal.SIGINT, lambda _s, _f: None)
    proc = subprocess.Popen(home.argv, env=home.env, cwd=home.cwd)
    try:
        return proc.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
        if proc.poll() is None:  # we are leaving on SIGTERM/SIGHUP: so does the shell
            proc.send_signal(signal.SIGHUP)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def interactive(shell: str) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        print(
            "scripts/demo: the tour needs a terminal; for an unattended run use "
            "scripts/demo --check",
            file=sys.stderr,
        )
        return 2
    _say("shellvault demo: starting a local AWS emulator (moto) on 127.0.0.1 ...")
    try:
        with Demo() as demo:
            home = demo.make_home(shell)
            _say(tour(demo, home))
            run_shell(home)
            _say("shellvault demo: stopping the emulator and deleting the demo HOME")
    except DemoError as exc:
        print(f"scripts/demo: {exc}", file=sys.stderr)
        return 1
    return 0


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def check(shells: list[str]) -> int:
    from demo_check import run_check

    t0 = time.monotonic()
    _say(f"scripts/demo --check: {' '.join(shells)} (moto on 127.0.0.1, throwaway HOMEs)")
    demo = Demo()
    ok = False
    pid = 0
    try:
        demo.start()
        pid = demo.moto.pid
        _say(
            f"PASS [demo] setup: moto (pid {pid}) at {demo.moto.url}, "
            f"world built [{time.monotonic() - t0:.1f}s]"
        )
        ok = run_check(demo, shells)
    except DemoError as exc:
        _say(f"FAIL [demo] setup: {exc}")
    finally:
        demo.close()
    if pid and not _gone(pid):
        _say(f"FAIL [demo] cleanup: moto (pid {pid}) is still running")
        ok = False
    elif demo.root.exists():
        _say(f"FAIL [demo] cleanup: {demo.root} is still there")
        ok = False
    else:
        _say("PASS [demo] cleanup: moto stopped, temp dir removed")
    took = time.monotonic() - t0
    _say(f"demo check {'passed' if ok else 'FAILED'} in {took:.1f}s")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/demo",
        description="Try shellvault in your shell against a local AWS emulator "
        "(no AWS account needed; everything is deleted at exit).",
    )
    parser.add_argument(
        "--shell",
        action="append",
        choices=SHELLS,
        help="the shell to start (default: $SHELL if it is one of these, else bash); "
        "with --check, repeat to check only these (default: all three)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="type the tour into bash, zsh and fish under a pseudo-terminal and check "
        "every step (exit 1 on any failure)",
    )
    args = parser.parse_args(argv)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _leave)
    try:
        if args.check:
            return check(list(dict.fromkeys(args.shell or SHELLS)))
        if args.shell and len(args.shell) > 1:
            parser.error("only one --shell without --check")
        return interactive(args.shell[0] if args.shell else default_shell())
    except KeyboardInterrupt:
        print("\nscripts/demo: interrupted; the emulator was stopped", file=sys.stderr)
        return 130
    finally:
        with contextlib.suppress(OSError):
            sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
