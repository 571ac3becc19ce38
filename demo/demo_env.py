"""The throwaway world of ``scripts/demo``: one temp dir holding a local AWS emulator
and one or more demo HOMEs, each ready to start a shell with the plugin loaded.

``Demo`` (a context manager) makes the temp dir, starts ``moto_server`` on 127.0.0.1
(a free port, stopped by PID on exit), and builds the README walkthrough in it with
``testkit/world.py`` (the same world the tests use). ``Demo.make_home(shell)`` then
gives a ``DemoHome``: a fresh HOME with the walkthrough's ``~/.aws/config``,
alice's keys stored with ``shellvault add central --env`` (encrypted file backend,
``DEMO_PASSPHRASE``), an rc file that loads the plugin and nothing of the user's own
configuration, and the environment and argv to start that shell with.

Used by ``demo/demo_main.py`` (the interactive tour) and ``demo/demo_check.py``
(the unattended run under a pseudo-terminal).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

# The moto launcher (free port, recorder, stop by PID tree) and the walkthrough world
# the tests use too: testkit/, not the test suite.
from testkit.moto import MotoServer  # noqa: E402
from testkit.world import World, build_world  # noqa: E402

SHELLS: tuple[str, ...] = ("bash", "zsh", "fish")

#: The encrypted file store's passphrase in the demo (a real user keeps the keys
#: in the OS keyring, or picks a passphrase of their own).
DEMO_PASSPHRASE = "shellvault-demo"

#: Any six digits pass the emulator's MFA check; the tour suggests this one.
DEMO_MFA_CODE = "123456"

#: What every demo prompt shows after the plugin's segment (the check waits for it).
PROMPT_LABEL = "[shellvault demo]"

# Outer variables a demo shell keeps: the terminal and the locale. Everything else
# (AWS_*, SHELLVAULT_*, DBUS_*, ZDOTDIR, EDITOR, ...) stays outside.
_KEEP = ("TERM", "COLORTERM", "LANG", "LANGUAGE", "TZ", "USER", "LOGNAME", "TMPDIR")


def venv_bin() -> Path:
    """The bin directory of this interpreter (``.venv/bin``): shellvault, aws."""
    return Path(sysconfig.get_path("scripts"))


def default_shell() -> str:
    """The user's shell (``$SHELL``) if the demo has a plugin for it, else bash."""
    name = os.path.basename(os.environ.get("SHELL", "")).lstrip("-")
    return name if name in SHELLS else "bash"


def eval_line(shell: str, profile: str = "account-a") -> str:
    """What a user types to load PROFILE's credentials into SHELL."""
    if shell == "fish":
        return f"shellvault env {profile} | source"
    return f'eval "$(shellvault env {profile})"'


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _rc_text(shell: str) -> str:
    head = (
        "shellvault demo: a temporary rc file in a temporary HOME.\n"
        "Nothing of your own shell configuration is read.\n"
    )
    if shell == "bash":
        return "".join(f"# {line}\n" for line in head.splitlines()) + (
            "PS1='" + PROMPT_LABEL + " \\W \\$ '\n"
            "# The plugin puts its segment (aws:PROFILE TIME-LEFT) in front of PS1:\n"
            "SHELLVAULT_PROMPT_AUTO=1\n"
            'eval "$(shellvault init bash)"\n'
        )
    if shell == "zsh":
        return "".join(f"# {line}\n" for line in head.splitlines()) + (
            "bindkey -e\n"
            'autoload -Uz compinit && compinit -u -d "$HOME/.zcompdump"\n'
            "PROMPT='" + PROMPT_LABEL + " %1~ %# '\n"
            "# The plugin puts its segment (aws:PROFILE TIME-LEFT) in front of PROMPT\n"
            "# (SHELLVAULT_PROMPT_AUTO=1 would use RPROMPT):\n"
            "SHELLVAULT_PROMPT_AUTO=left\n"
            'eval "$(shellvault init zsh)"\n'
        )
    if shell == "fish":
        return "".join(f"# {line}\n" for line in head.splitlines()) + (
            "set -g fish_greeting ''\n"
            "function fish_prompt\n"
            "    printf '" + PROMPT_LABEL + " %s > ' (prompt_pwd)\n"
            "end\n"
            "function fish_right_prompt; end\n"
            "# The plugin puts its segment (aws:PROFILE TIME-LEFT) in front of fish_prompt\n"
            "# (SHELLVAULT_PROMPT_AUTO=1 would use fish_right_prompt):\n"
            "set -g SHELLVAULT_PROMPT_AUTO left\n"
            "shellvault init fish | source\n"
        )
    raise ValueError(f"no demo for shell {shell!r} (expected one of {', '.join(SHELLS)})")


@dataclass
class DemoHome:
    """One demo user: ``home``, the shell to start (``argv`` with ``env``, from
    ``cwd``), and the rc file that shell reads."""

    shell: str
    home: Path
    rc_path: Path
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)

    @property
    def cwd(self) -> str:
        return str(self.home)


class DemoError(RuntimeError):
    """A setup step failed; the message says which and how."""


class Demo:
    """The temp dir, the emulator and the world (see the module docstring)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="shellvault-demo."))
        self.moto = MotoServer(self._dir("moto"))
        self.world: World | None = None
        self._homes = 0

    def _dir(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        return path

    # -------------------------------------------------------------- lifecycle
    def start(self) -> Demo:
        """Start moto on 127.0.0.1 and build the walkthrough world in it."""
        try:
            self.moto.start()
        except (RuntimeError, TimeoutError, OSError) as exc:
            raise DemoError(f"the local AWS emulator (moto_server) did not start: {exc}") from exc
        try:
            self.world = build_world(self.moto.url)
        except Exception as exc:
            raise DemoError(f"building the demo world in moto failed: {exc!r}") from exc
        return self

    def close(self) -> None:
        """Stop moto (by PID) and delete the temp dir. Ctrl-C cannot interrupt it."""
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            self.moto.stop()
            shutil.rmtree(self.root, ignore_errors=True)
        finally:
            signal.signal(signal.SIGINT, previous)

    def __enter__(self) -> Demo:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -------------------------------------------------------------- homes
    def base_env(self, home: Path) -> dict[str, str]:
        """A demo user's environment, built from scratch (see ``_KEEP``)."""
        assert self.world is not None
        env = {k: v for k, v in os.environ.items() if k in _KEEP or k.startswith("LC_")}
        env.setdefault("LANG", "C.UTF-8")
        env.setdefault("TERM", "xterm")
        xdg = {
            "XDG_CONFIG_HOME": home / ".config",
            "XDG_DATA_HOME": home / ".local" / "share",
            "XDG_STATE_HOME": home / ".local" / "state",
            "XDG_CACHE_HOME": home / ".cache",
            "XDG_RUNTIME_DIR": home / ".run",
        }
        for d in xdg.values():
            d.mkdir(mode=0o700, parents=True, exist_ok=True)
        env.update({k: str(v) for k, v in xdg.items()})
        env.update(
            HOME=str(home),
            PATH=os.pathsep.join([str(venv_bin()), os.environ.get("PATH", os.defpath)]),
            AWS_CONFIG_FILE=str(home / ".aws" / "config"),
            AWS_SHARED_CREDENTIALS_FILE=str(home / ".aws" / "credentials"),
            AWS_EC2_METADATA_DISABLED="true",
            SHELLVAULT_BACKEND="file",
            SHELLVAULT_FILE_PASSPHRASE=DEMO_PASSPHRASE,
            SHELLVAULT_MFA_PROMPT="terminal",
            SHELLVAULT_DEMO="1",
            **self.world.env(),  # AWS_ENDPOINT_URL: the emulator
        )
        return env

    def make_home(self, shell: str) -> DemoHome:
        """A fresh demo user for SHELL: config written, alice's keys stored."""
        assert self.world is not None
        exe = shutil.which(shell)
        if exe is None:
            how = f"brew install {shell}" if sys.platform == "darwin" else (
                f"your package manager, e.g. apt-get install {shell}")
            raise DemoError(f"{shell} is not installed ({how}); or pick another with --shell")
        self._homes += 1
        home = self._dir(f"home-{self._homes}-{shell}")
        env = self.base_env(home)
        env["SHELL"] = exe
        aws = home / ".aws"
        aws.mkdir(mode=0o700, exist_ok=True)
        (aws / "config").write_text(self.world.config_text())

        add = subprocess.run(
            [str(venv_bin() / "shellvault"), "add", "central", "--env"],
            env={
                **env,
                "AWS_ACCESS_KEY_ID": self.world.access_key_id,
                "AWS_SECRET_ACCESS_KEY": self.world.secret_access_key,
            },
            cwd=home,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            start_new_session=True,
            check=False,
        )
        if add.returncode != 0:
            raise DemoError(
                f"`shellvault add central --env` failed (exit {add.returncode}):\n"
                f"{add.stderr.strip()}"
            )

        rc_text = _rc_text(shell)
        if shell == "bash":
            rc = home / ".bashrc"
            argv = [exe, "--noprofile", "--rcfile", str(rc), "-i"]
        elif shell == "zsh":
            rc = home / ".zshrc"
            (home / ".zshenv").write_text("")
            # -d: no /etc/zsh/zprofile, zshrc, zlogin; ~/.zshrc is the demo's one.
            argv = [exe, "-d", "-i"]
        else:
            rc = home / ".config" / "fish" / "config.fish"
            # --no-config: no /etc/fish or vendor conf.d; the demo's rc explicitly.
            argv = [exe, "--no-config", "-i", "-C", f"source {_fish_quote(str(rc))}"]
        rc.parent.mkdir(parents=True, exist_ok=True)
        rc.write_text(rc_text)
        return DemoHome(shell=shell, home=home, rc_path=rc, argv=argv, env=env)
