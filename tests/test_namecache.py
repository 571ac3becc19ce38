"""The profile-name cache the shells' TAB reads (shellvault/namecache.py): its layout, when it
is rewritten, and bash words that read back as exactly the name, checked in a real bash."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shellvault import namecache
from tests.conftest import require_program

HOSTILE = [
    "a]b", " spaced ", "$(touch pwned)", "my prof", "`id`", "it's", 'say "hi"', "back\\slash",
    "tab\there", "bell\x07", "esc\x1b[31m", "~tilde", "#hash", "semi;colon", "glob*?[x]",
    "amp&pipe|", "brace{a,b}", "!bang", "日本語-プロファイル", "nbsp\u00a0x", "bad\udcffbyte",
    "new\u2028line-sep", "plain-name_1.2@x+y=z:w,v/u%t",
]


def read_cache(cache: Path) -> tuple[list[str], list[str], list[str]]:
    """(header fields, quoted names, plain names); both files carry the same header."""
    def lines(path: Path) -> tuple[str, list[str]]:
        text = path.read_bytes().decode("utf-8", "surrogateescape")
        head, _, rest = text.partition("\n")
        assert rest == "" or rest.endswith("\n")
        return head, rest.split("\n")[:-1]

    head, plain = lines(cache)
    qhead, quoted = lines(namecache.quoted_path(cache))
    assert qhead == head and len(quoted) == len(plain) == int(head.split(" ")[-1])
    return head.split(" "), quoted, plain


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "AWS_CONFIG_FILE": str(tmp_path / "config")}


def test_bash_words_read_back_as_the_names_in_a_real_bash() -> None:
    require_program("bash")
    script = "".join(f"w={namecache.bash_word(n)}; printf '%s\\0' \"$w\"\n" for n in HOSTILE)
    done = subprocess.run(["bash", "--norc", "-c", script], capture_output=True, check=True,
                          env={"PATH": os.environ["PATH"], "LC_ALL": "C.UTF-8"})
    got = done.stdout.split(b"\0")[:-1]
    assert got == [n.encode("utf-8", "surrogateescape") for n in HOSTILE]


def test_a_printable_name_quotes_to_a_word_its_prefixes_quote_into() -> None:
    # readline inserts the longest common prefix of the words: it must read as a prefix
    for name in ("my prof", "$(touch pwned)", "a]b", "日本語 x"):
        word = namecache.bash_word(name)
        for k in range(len(name)):
            assert word.startswith(namecache.bash_word(name[:k]))
    assert namecache.bash_word("account-a") == "account-a"


def test_cache_layout_sorted_by_bytes_both_halves_aligned(env: dict[str, str]) -> None:
    cfg = Path(env["AWS_CONFIG_FILE"])
    cfg.write_text("[profile b]\n[profile  spaced ]\n[profile a]b]\n[default]\n[profile Z]\n"
                   "[profile é]\n[profile my prof]\n[sso-session s]\n[profile b]\n")
    config, cache = namecache.refresh(env)
    assert config == cfg and cache.parent == Path(env["XDG_CACHE_HOME"]) / "shellvault" / "profiles"
    header, quoted, plain = read_cache(cache)
    assert header[:2] == ["shellvault-names", "3"] and header[3] == "7"
    assert plain == [" spaced ", "Z", "a]b", "b", "default", "my prof", "é"]
    assert quoted == [namecache.bash_word(n) for n in plain]
    assert quoted[0] == "\\ spaced\\ " and quoted[2] == "a\\]b"
    st = cfg.stat()
    assert header[2] == f"{st.st_mtime_ns}:{st.st_size}:{st.st_ino}"
    assert cache.stat().st_mtime_ns == st.st_mtime_ns  # what the shells compare
    assert oct(cache.stat().st_mode & 0o777) == "0o600"
    assert oct(namecache.quoted_path(cache).stat().st_mode & 0o777) == "0o600"


def test_rewritten_only_when_the_config_changed_or_forced(env: dict[str, str]) -> None:
    cfg = Path(env["AWS_CONFIG_FILE"])
    cfg.write_text("[profile one]\n")
    _, cache = namecache.refresh(env)
    inode = cache.stat().st_ino
    namecache.refresh(env)
    assert cache.stat().st_ino == inode  # fresh: left alone
    namecache.refresh(env, force=True)
    assert cache.stat().st_ino != inode
    cfg.write_text("[profile one]\n[profile two]\n")
    namecache.refresh(env)
    assert read_cache(cache)[2] == ["one", "two"]
    # a cache of another format, or a truncated one, is made again
    cache.write_bytes(b"shellvault-names 1 x")
    os.utime(cache, ns=(cfg.stat().st_atime_ns, cfg.stat().st_mtime_ns))
    namecache.refresh(env)
    assert read_cache(cache)[2] == ["one", "two"]
    assert not [p for p in cache.parent.iterdir() if p.name.startswith(".")]  # no leftovers


def test_broken_config_gives_an_empty_fresh_cache_and_no_config_no_cache(
    env: dict[str, str],
) -> None:
    cfg = Path(env["AWS_CONFIG_FILE"])
    config, cache = namecache.refresh(env)
    assert config == cfg and not cache.exists()
    cfg.write_text("[profile unclosed\n")
    _, cache = namecache.refresh(env)
    assert read_cache(cache)[0][3] == "0"
    assert namecache.is_fresh(cache, cfg.stat())


def test_a_read_only_cache_directory_is_no_error(env: dict[str, str], tmp_path: Path) -> None:
    if os.geteuid() == 0:
        # root writes anywhere: use a path whose parent is a file instead
        env["XDG_CACHE_HOME"] = str(tmp_path / "config" / "x")
    else:
        (tmp_path / "ro").mkdir(mode=0o500)
        env["XDG_CACHE_HOME"] = str(tmp_path / "ro")
    Path(env["AWS_CONFIG_FILE"]).write_text("[profile one]\n")
    _, cache = namecache.refresh(env)
    assert not cache.exists()


def test_the_prompt_answer_says_where_the_names_are(env: dict[str, str]) -> None:
    Path(env["AWS_CONFIG_FILE"]).write_text("[profile one]\n")
    done = subprocess.run(
        [sys.executable, "-m", "shellvault", "hook", "bash", "--pwd", env["HOME"], "--", "prompt"],
        capture_output=True, text=True, check=True, env={**env, "PATH": os.environ["PATH"]})
    cache = Path(env["XDG_CACHE_HOME"]) / "shellvault" / "profiles"
    made = cache / next(p.name for p in cache.iterdir() if not p.name.endswith(".bash"))
    assert f"__sv_ccache={made}" in done.stdout.replace("'", "")
    assert f"__sv_cquoted={namecache.quoted_path(made)}" in done.stdout.replace("'", "")
    assert read_cache(made)[2] == ["one"]


def test_bash_completes_from_the_quoted_file_or_quotes_itself_without_it(
    env: dict[str, str],
) -> None:
    """The real bash plugin against the real cache: a prefix's names come from the quoted
    file; with that file gone or of another generation, bash quotes the same names itself."""
    require_program("bash")
    Path(env["AWS_CONFIG_FILE"]).write_text(
        "".join(f"[profile {n}]\n" for n in ("my prof", "my-other", "$(touch pwned)", "zz")))
    plugin = Path(__file__).resolve().parent.parent / "shell" / "bash" / "shellvault.bash"
    script = f"""
    . {plugin}
    _shellvault_hook
    show() {{ _shellvault_complete_profiles "$1"; printf '%s|' "${{COMPREPLY[@]}}"; echo; }}
    show my; show '\\$'; show ''; show q
    printf 'other generation\\n' >"$__sv_cquoted"
    show my
    rm "$__sv_cquoted"
    show my; show ''
    """
    done = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", script], capture_output=True, text=True,
        check=True, env={**env, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"})
    everything = "\\$\\(touch\\ pwned\\)|my\\ prof|my-other|zz|"
    assert done.stdout.splitlines() == [
        "my\\ prof|my-other|", "\\$\\(touch\\ pwned\\)|", everything, "|",
        "my\\ prof|my-other|", "my\\ prof|my-other|", everything,
    ]
    assert not (Path(env["HOME"]) / "pwned").exists()
