"""Drive real bash, zsh and fish through a pseudo-terminal (pexpect).

``ShellSession`` starts a shell with a clean rc file (nothing of the machine's
own config), the shellvault plugin sourced and a known prompt
``SVPROMPT[<segment>]> `` whose bracket shows shellvault's prompt segment.
``run()`` executes one command line and returns its output and exit status,
read between markers that the echoed command line itself cannot contain.
Used by the shell tests (tests/shellharness.py) and the benchmarks.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pexpect

REPO = Path(__file__).resolve().parent.parent
SHELL_DIR = REPO / "shell"
PLUGINS = {
    "bash": SHELL_DIR / "bash" / "shellvault.bash",
    "zsh": SHELL_DIR / "zsh" / "shellvault.plugin.zsh",
    "fish": SHELL_DIR / "fish" / "conf.d" / "shellvault.fish",
}
FISH_COMPLETIONS = ("shellvault.fish", "with-role.fish")

# CSI/OSC escape sequences and the bracketed-paste toggles, for reading text.
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[=>()][0-9A-Za-z]?"
)
# The test prompt: a counter that grows with every prompt drawn (so a repaint
# of an old prompt is never taken for a new one), shellvault's segment and $?.
PROMPT_RE = re.compile(r"SVPROMPT<(\d+)>\[(.*?)\]\{(\d+)\}> ", re.S)


def strip_ansi(text: str) -> str:
    text = _ANSI.sub("", text)
    return text.replace("\x01", "").replace("\x02", "").replace("\r", "")


@dataclass
class Result:
    output: str
    status: int
    after: str = ""  # what the prompt hook printed before the next prompt
    prompt: str = ""  # the segment shown in that prompt (raw, with escapes)

    @property
    def lines(self) -> list[str]:
        return [ln for ln in self.output.splitlines() if ln.strip()]


# ------------------------------------------------------------------ stub shellvault
# The stand-in's code is tests/stub_shellvault.py (checked by ruff and mypy); this is
# only the executable that runs it with this interpreter.
# ------------------------------------------------------------------ sessions
def init_command(shell: str) -> str:
    """The rc line of the `init` way of loading, run with this interpreter
    (the same text `shellvault init SHELL` prints)."""
    py = shlex.quote(sys.executable)
    code = shlex.quote(
        f"from shellvault.shells import init_script; print(init_script({shell!r}), end='')"
    )
    if shell == "fish":
        return f"env PYTHONPATH={shlex.quote(str(REPO))} {py} -c {code} | source"
    return f'eval "$(PYTHONPATH={shlex.quote(str(REPO))} {py} -c {code})"'


COMPINIT = "autoload -Uz compinit && compinit -u -d ~/.zcompdump"

#: Where a zsh session that ran compinit "before" leaves a copy of its ~/.zcompdump for
#: the next such session (None: every session dumps afresh, ~0.7 s of CPU). Set by the
#: test suite's conftest; the benchmarks leave it None. compinit still checks the copy
#: (file count of fpath, zsh version) and dumps again if it does not match.
ZCOMPDUMP_CACHE: Path | None = None


def _rc_for(
    shell: str, plugin: Path | None, before: str, after: str, load: str, compinit: str = "before"
) -> str:
    if load == "init":
        src = init_command(shell) + "\n"
    elif load == "source" and plugin:
        src = f"source {shlex.quote(str(plugin))}\n"
    else:
        src = ""
    if shell == "bash":
        return (
            "__svn=0\nPS1='SVPROMPT<$((__svn+=1))>[${SHELLVAULT_PROMPT_SEGMENT-}]{$?}> '\n"
            "PS2='> '\nHISTFILE=/dev/null\n" + before + "\n" + src + after + "\n"
        )
    if shell == "zsh":
        return (
            "bindkey -e\nsetopt prompt_subst\nunsetopt prompt_sp beep\n"
            "__svn=0\nPROMPT='SVPROMPT<$((__svn+=1))>[${SHELLVAULT_PROMPT_SEGMENT-}]{%?}> '\n"
            "RPROMPT=\nHISTFILE=/dev/null\n"
            + (COMPINIT + "\n" if compinit == "before" else "")
            + before
            + "\n"
            + src
            + after
            + "\n"
            + (COMPINIT + "\n" if compinit == "after" else "")
        )
    if shell == "fish":
        return (
            "set -g fish_greeting ''\n"
            "set -g __svn 0\n"
            "function __svtest_count --on-event fish_prompt; set -g __svn (math $__svn + 1); end\n"
            "function fish_prompt; set -l st $status; set -l seg (shellvault_prompt 2>/dev/null)\n"
            "  printf 'SVPROMPT<%s>[%s]{%s}> ' $__svn \"$seg\" $st; end\n"
            "function fish_right_prompt; end\n"
            "function fish_title; end\n" + before + "\n" + src + after + "\n"
        )
    raise ValueError(shell)


@dataclass
class ShellSession:
    shell: str
    home: Path
    env: dict[str, str] = field(default_factory=dict)
    before: str = ""  # rc lines before the plugin is sourced
    after: str = ""  # rc lines after it
    plugin: Path | None = None  # default: the shell's plugin file
    source_plugin: bool = True
    # How the plugin is loaded: "source" (rc sources the file), "init" (rc
    # evals init_script's text), "confd" (fish: conf.d + completions/ dirs).
    load: str = ""
    compinit: str = "before"  # zsh: run compinit before the plugin, "after" it, or "none"
    timeout: float = 15
    child: pexpect.spawn | None = None
    _n: int = 0
    last_prompt: str = ""
    last_status: int = 0  # $? shown by the last prompt
    prompt_n: int = 0

    # -------------------------------------------------------------- start/stop
    def start(self) -> ShellSession:
        exe = shutil.which(self.shell)
        if exe is None:
            raise RuntimeError(f"{self.shell} is not installed")
        plugin = (self.plugin or PLUGINS[self.shell]) if self.source_plugin else None
        load = self.load or ("confd" if self.shell == "fish" else "source")
        if not self.source_plugin:
            load = "none"
        rc = _rc_for(self.shell, plugin, self.before, self.after, load, self.compinit)
        env = {
            "HOME": str(self.home),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "TERM": "dumb" if self.shell == "fish" else "xterm",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "USER": os.environ.get("USER", "root"),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "XDG_STATE_HOME": str(self.home / ".local" / "state"),
            "XDG_DATA_HOME": str(self.home / ".local" / "share"),
            "XDG_CACHE_HOME": str(self.home / ".cache"),
        }
        env.update(self.env)
        if self.shell == "bash":
            rcfile = self.home / ".svtest_bashrc"
            rcfile.write_text(rc)
            args = ["--noprofile", "--rcfile", str(rcfile), "-i"]
        elif self.shell == "zsh":
            zdot = self.home / ".svtest_zdotdir"
            zdot.mkdir(exist_ok=True)
            (zdot / ".zshenv").write_text("")
            (zdot / ".zshrc").write_text(rc)
            env["ZDOTDIR"] = str(zdot)
            args = ["-i"]
            self._seed_zcompdump()
        else:
            # A user's layout: ~/.config/fish/{config.fish,conf.d,completions}.
            conf = self.home / ".config" / "fish"
            for sub in ("conf.d", "completions", "functions"):
                (conf / sub).mkdir(parents=True, exist_ok=True)
            confd = conf / "conf.d" / "shellvault.fish"
            comps = [conf / "completions" / name for name in FISH_COMPLETIONS]
            for link in (confd, *comps):
                if link.is_symlink() or link.exists():
                    link.unlink()
            if load == "confd":
                confd.symlink_to(plugin or PLUGINS["fish"])
            if load in ("confd", "source"):
                for comp in comps:
                    comp.symlink_to(SHELL_DIR / "fish" / "completions" / comp.name)
            (conf / "config.fish").write_text(rc)
            args = ["-i"]
        self.child = pexpect.spawn(
            exe,
            args,
            env=env,
            cwd=str(self.home),
            encoding="utf-8",
            codec_errors="replace",
            timeout=self.timeout,
            dimensions=(50, 250),
        )
        self.child.delaybeforesend = None
        self._expect_prompt()
        self._keep_zcompdump()
        return self

    def _shares_zcompdump(self) -> bool:
        # compinit "before" sees zsh's default fpath only (no FPATH, nothing of the
        # test's rc yet): the same dump for every such session on this machine.
        return (
            ZCOMPDUMP_CACHE is not None
            and self.shell == "zsh"
            and self.compinit == "before"
            and "FPATH" not in self.env
        )

    def _seed_zcompdump(self) -> None:
        cache, dump = ZCOMPDUMP_CACHE, self.home / ".zcompdump"
        if cache and self._shares_zcompdump() and cache.exists() and not dump.exists():
            shutil.copyfile(cache, dump)

    def _keep_zcompdump(self) -> None:
        cache, dump = ZCOMPDUMP_CACHE, self.home / ".zcompdump"
        if cache and self._shares_zcompdump() and not cache.exists() and dump.exists():
            tmp = cache.with_name(f"{cache.name}.{os.getpid()}")
            shutil.copyfile(dump, tmp)
            os.replace(tmp, cache)

    def close(self) -> None:
        if self.child is not None and self.child.isalive():
            self.child.sendline("exit")
            with contextlib.suppress(pexpect.TIMEOUT, pexpect.EOF):
                self.child.expect(pexpect.EOF, timeout=3)
            if self.child.isalive():
                self.child.terminate(force=True)
        self.child = None

    def __enter__(self) -> ShellSession:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pid(self) -> int:
        assert self.child is not None
        return self.child.pid

    # -------------------------------------------------------------- reading
    def _expect_prompt(self, timeout: float | None = None) -> str:
        """Wait for a prompt newer than the last one seen; return all the text
        before it (repaints of older prompts included)."""
        assert self.child is not None
        text = ""
        while True:
            self.child.expect(PROMPT_RE, timeout=timeout if timeout is not None else self.timeout)
            text += self.child.before
            n = int(self.child.match.group(1))
            if n > self.prompt_n:
                self.prompt_n = n
                self.last_prompt = self.child.match.group(2)
                self.last_status = int(self.child.match.group(3))
                return text
            text += self.child.after

    @property
    def segment(self) -> str:
        """The last prompt's segment, escapes removed."""
        return strip_ansi(self.last_prompt)

    def _marker(self, word: str) -> tuple[str, str]:
        # Written as '__SV_B''EGIN_7__' on the command line, so the echo of
        # the line never contains the marker itself.
        self._n += 1
        m = f"__SV_{word}_{self._n}__"
        return m, f"'{m[:5]}''{m[5:]}'"

    def run(self, cmd: str, timeout: float | None = None) -> Result:
        """Run one command line; return its output (stdout+stderr), its exit
        status, what the prompt hook printed afterwards, and the new prompt."""
        assert self.child is not None
        begin, begin_q = self._marker("BEGIN")
        end, end_q = self._marker("END")
        status = "$status" if self.shell == "fish" else "$?"
        line = f"printf '%s\\n' {begin_q}; {cmd}; printf '%s %s\\n' {end_q} {status}"
        self.child.sendline(line)
        tmo = timeout if timeout is not None else self.timeout
        self.child.expect(re.escape(end) + r" (\d+)", timeout=tmo)
        st = int(self.child.match.group(1))
        text = self.child.before
        after = self._expect_prompt()
        out = strip_ansi(text)
        if begin in out:
            out = out.split(begin, 1)[1]
        out = out.lstrip("\n")
        if self.shell == "fish":
            out = _fish_clean(out)
        after = strip_ansi(after)
        if self.shell == "fish":
            # fish's "missing newline" mark: ⏎ and a line of spaces
            after = "\n".join(ln for ln in after.split("\n") if ln.strip(" \u23ce"))
        return Result(output=out, status=st, after=after.strip("\n"), prompt=self.last_prompt)

    def run_raw(self, line: str, timeout: float | None = None) -> tuple[str, str]:
        """Send a line as typed; return (everything before the next prompt,
        that prompt's segment). For `$?`/prompt tests where wrapping would
        change what is measured."""
        assert self.child is not None
        self.child.sendline(line)
        before = self._expect_prompt(timeout)
        return strip_ansi(before), self.last_prompt

    def enter(self) -> str:
        """Press Enter on an empty line; return the new prompt's segment."""
        self.run_raw("")
        return self.segment

    def get(self, var: str) -> str | None:
        """A variable's value in the shell (None when unset)."""
        if self.shell == "fish":
            r = self.run(f"if set -q {var}; printf 'SET:%s\\n' \"${var}\"; else; echo UNSET; end")
        else:
            r = self.run(
                f'if [ -n "${{{var}+x}}" ]; then printf \'SET:%s\\n\' "${{{var}}}"; '
                "else echo UNSET; fi"
            )
        last = r.lines[-1] if r.lines else ""
        return None if last == "UNSET" else last[4:] if last.startswith("SET:") else last

    def environment(self, prefixes: tuple[str, ...] = ("AWS_", "SHELLVAULT_")) -> dict[str, str]:
        """Exported variables whose names start with one of ``prefixes``, as
        the shell's children see them."""
        marker = "__SV_ENV__"
        r = self.run(
            f"{shlex.quote(sys.executable)} -c "
            f"'import os,json;print(\"{marker}\"+json.dumps(dict(os.environ)))'"
        )
        for ln in r.output.splitlines():
            if ln.startswith(marker):
                import json

                data = json.loads(ln[len(marker) :])
                return {k: v for k, v in data.items() if k.startswith(prefixes)}
        raise AssertionError(f"no environment dump in {r.output!r}")

    # -------------------------------------------------------------- completion
    def complete(self, partial: str) -> list[str]:
        """Type ``partial``, press TAB once, and return the words of the
        resulting command line (read back by running `printf` on it)."""
        assert self.child is not None
        m, mq = self._marker("COMP")
        self.child.send(partial + "\t")
        time.sleep(0.3 if self.shell != "fish" else 0.6)
        # Ctrl-A: to the start of the line; then make the line print itself.
        self.child.send("\x01" + f"printf {mq[:-1]}[%s]\\n' ")
        self.child.send("\r")
        text = strip_ansi(self._expect_prompt())
        words = re.findall(re.escape(m) + r"\[(.*?)\]\n", text)
        return words

    def complete_list(self, partial: str) -> str:
        """Type ``partial`` and ask for the list of candidates (TAB TAB);
        return the screen text shown (to search for candidate names), then
        cancel the line."""
        assert self.child is not None
        keys = "\t\t" if self.shell == "bash" else "\t"
        self.child.send(partial + keys)
        time.sleep(0.8)
        text = ""
        try:
            while True:
                text += self.child.read_nonblocking(100000, timeout=0.3)
        except (pexpect.TIMEOUT, pexpect.EOF):
            pass
        self.child.send("\x03")
        self._expect_prompt()
        return strip_ansi(text)

    # -------------------------------------------------------------- processes
    def count_processes(self, action, settle: float = 0.3) -> tuple[int, str]:
        """Run ``action()`` with strace attached to the shell; return how many
        processes the shell started (fork/vfork/clone without CLONE_THREAD,
        and execve), and the trace."""
        out = self.home / f".strace.{self._n}.{time.monotonic_ns()}"
        proc = subprocess.Popen(
            [
                "strace",
                "-f",
                "-e",
                "trace=execve,clone,clone3,fork,vfork",
                "-p",
                str(self.pid),
                "-o",
                str(out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        # strace says "Process N attached" once it has seized the shell.
        assert proc.stderr is not None
        deadline = time.monotonic() + 10
        seen = ""
        while "attached" not in seen:
            ready, _, _ = select.select([proc.stderr], [], [], 0.1)
            if ready:
                line = proc.stderr.readline()
                if not line:
                    break
                seen += line
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                proc.wait()
                raise RuntimeError(f"strace did not attach: {seen!r}")
        time.sleep(settle)
        try:
            action()
            time.sleep(settle)
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=10)
            proc.stderr.close()
        trace = out.read_text() if out.exists() else ""
        count = 0
        for ln in trace.splitlines():
            if "resumed" in ln:
                continue
            started = "execve(" in ln or re.search(r"\b(v?fork)\(", ln)
            # a clone() that makes a process, not one of fish's threads
            forked = re.search(r"\bclone3?\(", ln) and "CLONE_THREAD" not in ln
            if started or forked:
                count += 1
        return count, trace


def _fish_clean(text: str) -> str:
    # fish on a dumb terminal repaints the whole line at each keystroke; the
    # command output itself is unaffected, but prompt remnants may precede
    # the END marker's line. Drop lines that are prompt repaints.
    keep = [ln for ln in text.split("\n") if "SVPROMPT<" not in ln]
    return "\n".join(keep)
