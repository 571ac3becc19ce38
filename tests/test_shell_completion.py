"""Completion data comes from click's own definitions (shellvault/completion.py) and the
checked-in files match it: a command or option added without regenerating fails here.

Regenerate with:  .venv/bin/python -m shellvault.completion --write
"""

from __future__ import annotations

import click

from shellvault import completion
from shellvault.cli import cli
from tests.shellharness import SHELL_DIR


def test_checked_in_completion_files_match_the_commands() -> None:
    stale = [str(p) for p, text in completion.targets().items() if p.read_text() != text]
    assert stale == [], "run `.venv/bin/python -m shellvault.completion --write`"
    assert completion.main(["--check"]) == 0


def test_every_command_and_option_is_in_every_shell() -> None:
    files = {
        "bash": (SHELL_DIR / "bash" / "shellvault-completion.bash").read_text(),
        "zsh": (SHELL_DIR / "zsh" / "_shellvault").read_text(),
        "fish": (SHELL_DIR / "fish" / "completions" / "shellvault.fish").read_text(),
    }
    specs = completion.specs()
    top = specs[0]
    assert {n for n, c in cli.commands.items() if not c.hidden} <= set(top.subcommands)
    assert {"ls", "rm"} <= set(top.subcommands)  # the aliases too
    for spec in specs[1:]:
        for names, _, _ in spec.options:
            for name in names:
                assert name in files["bash"] and name in files["zsh"], (spec.path, name)
                assert f"'{name}'\\t" in files["fish"], (spec.path, name)


def test_a_new_command_changes_the_generated_text() -> None:
    """The generator follows click: a command, option, choice or group added to a CLI
    shows up in all three shells' data (so the drift test above can fail)."""

    @click.group()
    def fake() -> None: ...

    @fake.command("rotate")
    @click.argument("profile")
    @click.option("--kind", type=click.Choice(["key", "role"]))
    def rotate(profile: str, kind: str) -> None: ...

    @fake.group("sso")
    def sso() -> None: ...

    @sso.command("login")
    @click.argument("profile")
    def login(profile: str) -> None: ...

    specs = completion.specs(fake)
    paths = [s.path for s in specs]
    assert paths == ["", "rotate", "sso", "sso login"]
    assert specs[1].args == ["profile"] and specs[1].values["--kind"] == ["key", "role"]
    bash, zsh, fish = completion.bash(specs), completion.zsh(specs), completion.fish(specs)
    assert "'rotate') __sv_opts='--kind --help' __sv_vopts='--kind' __sv_args='profile'" in bash
    assert "'rotate --kind') __sv_vals='key role'" in bash
    assert "'sso login')" in bash and "__sv_subs='login'" in bash
    assert "--kind=[]:kind:(key role)" in zsh and "'sso login')" in zsh
    assert "set -g __sv_vopts --kind\n            set -g __sv_args profile\n" in fish
    assert "'--kind' '--help'" in fish
    assert "case 'sso login'\n            set -g __sv_args profile" in fish
    assert "case 'rotate --kind'\n            set -g __sv_out 'key' 'role'\n" in fish
