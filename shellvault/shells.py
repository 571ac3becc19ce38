"""Shell integration glue: which shell the user runs, where the plugins live,
and what ``shellvault init SHELL`` prints.

The plugins themselves (``shell/bash``, ``shell/zsh``, ``shell/fish``) do all the
work inside the shell, without starting Python on a prompt or a TAB; this module
only finds and prints them. Keep imports cheap: ``shellingham`` is imported only
when ``detect_shell`` needs it.
"""

from __future__ import annotations

import os
from pathlib import Path

SHELLS: tuple[str, ...] = ("bash", "zsh", "fish")
"""Shells with a plugin (``shellvault init SHELL``)."""

INIT_TARGETS: tuple[str, ...] = (*SHELLS, "direnv")
"""Everything ``shellvault init`` accepts: the shells, plus direnv's library."""

# The plugin file of each shell, relative to ``shell_dir()``.
PLUGIN_FILES: dict[str, str] = {
    "bash": "bash/shellvault.bash",
    "zsh": "zsh/shellvault.plugin.zsh",
    "fish": "fish/conf.d/shellvault.fish",
}

# Extra files appended to the init script so that `eval "$(shellvault init zsh)"`
# and `shellvault init fish | source` get completion too (a sourced plugin file
# finds them beside itself instead).
_BASH_COMPLETION = "bash/shellvault-completion.bash"
_ZSH_COMPLETION = "zsh/_shellvault"
_FISH_COMPLETIONS = ("fish/completions/shellvault.fish", "fish/completions/with-role.fish")

_MARKER = "bash/shellvault.bash"


def shell_dir() -> Path:
    """The shipped ``shell/`` directory.

    In a wheel it is ``shellvault/shell`` (pyproject force-includes the repo's
    ``shell/`` there); in an editable install or a checkout it is the repo's
    ``shell/`` beside the package.
    """
    here = Path(__file__).resolve().parent
    for candidate in (here / "shell", here.parent / "shell"):
        if (candidate / _MARKER).is_file():
            return candidate
    raise FileNotFoundError(
        f"shellvault: the shell/ directory is missing (looked in {here / 'shell'} "
        f"and {here.parent / 'shell'}); reinstall shellvault"
    )


def _normalize(name: str) -> str:
    name = os.path.basename(name.strip()).lower()
    if name.startswith("-"):  # login shells: argv[0] is "-bash"
        name = name[1:]
    if name.endswith(".exe"):
        name = name[:-4]
    return name


def detect_shell() -> str | None:
    """The user's shell: ``$SHELLVAULT_SHELL``, then shellingham (the parent
    process), then the basename of ``$SHELL``; ``None`` when nothing is known.

    The name is returned normalised (``-zsh`` and ``/bin/zsh`` give ``zsh``) but
    not validated: callers decide whether they support it.
    """
    forced = os.environ.get("SHELLVAULT_SHELL", "").strip()
    if forced:
        return _normalize(forced)
    parent = _parent_shell()
    if parent:
        return parent
    try:
        import shellingham  # imported here: it costs ~10 ms with subprocess

        name, _path = shellingham.detect_shell()
        if name:
            return _normalize(name)
    except Exception:  # ShellDetectionFailure, ImportError, odd /proc: fall back
        pass
    login = os.environ.get("SHELL", "").strip()
    if login:
        return _normalize(login)
    return None


KNOWN_SHELLS = ("bash", "zsh", "fish", "sh", "dash", "ksh", "mksh", "pwsh", "tcsh", "csh")


def _parent_shell() -> str | None:
    """The parent process's name from /proc, when it is a shell (Linux; no process).

    `eval "$(shellvault env X)"` runs us from the shell's command-substitution subshell,
    and `shellvault env X | source` from fish itself, so the parent is the shell.
    """
    try:
        with open(f"/proc/{os.getppid()}/comm", encoding="utf-8") as handle:
            name = _normalize(handle.read())
    except OSError:
        return None
    return name if name in KNOWN_SHELLS else None


def _read(rel: str) -> str:
    return (shell_dir() / rel).read_text(encoding="utf-8")


def plugin_path(shell: str) -> Path:
    """Absolute path of SHELL's plugin file (for README/`source` lines)."""
    if shell not in PLUGIN_FILES:
        raise ValueError(_unknown(shell))
    return shell_dir() / PLUGIN_FILES[shell]


def _unknown(shell: str) -> str:
    return f"unknown shell {shell!r}: expected one of {', '.join(INIT_TARGETS)}"


def _direnv_script() -> str:
    d = shell_dir() / "direnv"
    files = sorted(p for p in d.glob("*") if p.is_file() and p.suffix in (".sh", ".bash", ""))
    if not files:
        raise ValueError("the direnv integration is not installed (shell/direnv/ is empty)")
    return files[0].read_text(encoding="utf-8")


def init_script(shell: str) -> str:
    """What ``shellvault init SHELL`` prints: the plugin text itself, so that
    ``eval "$(shellvault init zsh)"`` and ``shellvault init fish | source`` load
    exactly what sourcing the file would. Unknown shell: ``ValueError`` with a
    one-line message.
    """
    name = shell.strip().lower()
    if name == "direnv":
        return _direnv_script()
    if name not in PLUGIN_FILES:
        raise ValueError(_unknown(shell))
    text = _read(PLUGIN_FILES[name])
    if not text.endswith("\n"):
        text += "\n"
    if name == "bash":
        text += "\n# completion (from shell/bash/shellvault-completion.bash)\n"
        text += _read(_BASH_COMPLETION)
    elif name == "zsh":
        # The completion function is an autoload file (its body); the plugin
        # autoloads it from beside itself when sourced from a file. Evaluated
        # from `init`, there is no file, so define it here.
        body = _read(_ZSH_COMPLETION)
        text += (
            "\n# completion function (from shell/zsh/_shellvault)\n"
            "_shellvault() {\n" + body + ("" if body.endswith("\n") else "\n") + "}\n"
        )
    elif name == "fish":
        for rel in _FISH_COMPLETIONS:
            text += f"\n# completions (from shell/{rel})\n" + _read(rel)
    return text
