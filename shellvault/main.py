"""Console-script entry: the hot path first, click only when needed.

`shellvault env PROFILE` with a valid cached session is run on every `eval`, `with-role`
and direnv load, and `export --format json` on every SDK call through credential_process.
Importing click costs ~30 ms and boto3 ~200 ms, so those two commands are answered here
when the cache can answer them, and everything else falls through to `cli.py`.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Mapping
from typing import NoReturn


def _parse_fast(argv: list[str]) -> tuple[str, str, str, int | None, bool, str | None] | None:
    """(command, profile, shell-or-format, min_ttl, no_input, region) for the simple forms,
    else None."""
    if not argv or argv[0] not in ("env", "export"):
        return None
    command = argv[0]
    option_name = "--shell" if command == "env" else "--format"
    profile: str | None = None
    choice = ""
    min_ttl: int | None = None
    no_input = False
    region: str | None = None
    args = iter(argv[1:])
    for arg in args:
        if arg == "--no-input":
            no_input = True
        elif arg == "--region" or arg.startswith("--region="):
            region = arg.split("=", 1)[1] if "=" in arg else next(args, None)
            if region is None:
                return None
        elif arg == option_name or arg == "--min-ttl":
            value = next(args, None)
            if value is None:
                return None
            if arg == "--min-ttl":
                if not (value.isascii() and value.isdigit()):  # not "²"
                    return None
                min_ttl = int(value)
            else:
                choice = value
        elif arg.startswith(option_name + "="):
            choice = arg.split("=", 1)[1]
        elif arg.startswith("-") or profile is not None:
            return None  # anything unusual is click's job, with its messages
        else:
            profile = arg
    if profile is None:
        return None
    return command, profile, choice, min_ttl, no_input, region


def fast_path(argv: list[str]) -> int | None:
    """Answer from the cache and return the exit code; None hands over to click."""
    parsed = _parse_fast(argv)
    if parsed is None:
        return None
    command, profile_name, choice, min_ttl, no_input, region = parsed
    from . import output
    from .config import AwsConfig
    from .engine import Engine, Request
    from .errors import ShellvaultError
    from .vault import Vault, open_store

    try:
        if command == "env":
            shell = output.pick_shell(choice)
        elif choice not in ("json", "env", "dotenv"):
            return None
        if region is not None and not output.valid_region(region):
            return None  # click says what is wrong with it
        config = AwsConfig.load()
        if profile_name != "default" and not config.has_profile(profile_name):
            return None  # unknown, or known by its stored keys only: click's path decides
        profile = config.resolve(profile_name, output.region_environ(region))
        store = open_store(no_input=no_input)
        issued = Engine(Vault(store)).cached(profile, Request(no_input=no_input, min_ttl=min_ttl))
        if issued is None:
            return None
        text = output.render_env(issued, shell) if command == "env" else output.render_export(
            issued, choice)
    except ShellvaultError as exc:
        return output.fail(exc)
    except KeyboardInterrupt:
        return output.fail(None)
    output.emit(text, profile_name if command == "env" else None)
    return 0


def _init_fast(argv: list[str]) -> int | None:
    """`shellvault init SHELL` runs in every new shell's rc file: no click for it."""
    if len(argv) != 2 or argv[0] != "init" or argv[1].startswith("-"):
        return None
    from .shells import init_script

    try:
        text = init_script(argv[1])
    except (ValueError, OSError):
        return None  # click says it properly
    sys.stdout.write(text)
    return 0


def _not_utf8(argv: list[str], environ: Mapping[str, str]) -> str | None:
    """What, among the arguments and the variables shellvault reads, holds bytes that are
    not UTF-8 (Python keeps them as surrogate escapes, which no store, D-Bus or output
    can carry). Checked once here, so no code path meets them later."""
    for index, arg in enumerate(argv, 1):
        if not arg.isascii() and _has_surrogates(arg):
            return f"argument {index}"
    for name, value in environ.items():
        if (name.startswith(("AWS_", "SHELLVAULT_")) and not value.isascii()
                and _has_surrogates(value)):
            return f"the environment variable {name}"
    return None


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _closed_stdout(argv: list[str]) -> NoReturn:
    """The reader of stdout went away (`shellvault env x | head -c0`, or the fish form
    `shellvault env x | source` typed into bash): one line, not Python's complaints."""
    with contextlib.suppress(OSError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # so nothing flushes into it again
    hint = ""
    if argv[:1] == ["env"]:
        hint = '; in bash or zsh load credentials with eval "$(shellvault env PROFILE)"'
    from .tty import notice

    notice(f"nothing read the output (its pipe was closed){hint}")
    os._exit(1)


def main() -> None:
    argv = sys.argv[1:]
    if sys.stderr is not None:
        from .tty import escaping_stderr

        sys.stderr = escaping_stderr()  # whoever writes, no control bytes reach a terminal
    if sys.stdout is None:  # started with file descriptor 1 closed
        _closed_stdout(argv)
    from .passphrase_env import take_environment_passphrase

    take_environment_passphrase()  # before anything can start a child process
    try:
        if argv[:1] == ["hook"]:  # the shell plugins' questions (shellvault/hook.py)
            from .hook import main as hook_main

            code: int | None = hook_main(argv[1:])
        else:
            bad = _not_utf8(argv, os.environ)
            if bad:
                from .tty import notice

                notice(f"{bad} is not valid UTF-8 text; nothing was changed")
                sys.exit(2)
            code = _init_fast(argv) if argv[:1] == ["init"] else fast_path(argv)
        if code is None:
            from .cli import run

            run()
            return
    except BrokenPipeError:
        _closed_stdout(argv)
    except OSError as exc:  # the machine's problem (permissions, a full disk), not a bug
        from .tty import notice

        where = f" ({exc.filename})" if exc.filename else ""
        notice(f"{exc.strerror or exc.__class__.__name__}{where}")
        sys.exit(1)
    except Exception as exc:
        if os.environ.get("SHELLVAULT_DEBUG"):
            raise
        # A bug must not print a traceback full of local values (secrets) into a terminal
        # or an `eval`: one line, stdout untouched.
        from .tty import notice

        notice(f"internal error ({exc.__class__.__name__}). "
               "Run again with SHELLVAULT_DEBUG=1 to see the traceback, and please report it")
        sys.exit(1)
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _closed_stdout(argv)
    os._exit(code)  # skip interpreter teardown: nothing is left to flush or close


if __name__ == "__main__":
    main()
