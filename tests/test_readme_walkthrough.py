"""README.md's "Set up with a real AWS account", run as written.

The commands are read from the README itself (its ```sh blocks, in order) and typed
into a real bash on a pseudo-terminal, in an empty HOME, against moto (the README's
accounts: alice, her key and MFA device in 123456789012, the roles in 222222222222 and
333333333333, as the IAM console steps would leave them). The answers a person gives
are typed at the prompts: the key, "Y" for the MFA device found, a code. `terraform` is
a stand-in script that shows which account its credentials act in. The ```ini block
must be the config file the commands wrote, and each ```json block what the
`shellvault policy` command before it prints. So the README cannot drift from the
product.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pexpect

from tests.conftest import REPO_ROOT, require_program

SECTION = "## Set up with a real AWS account"
PS1 = "README-WALK$ "


def readme_blocks(path: Path = REPO_ROOT / "README.md") -> list[tuple[str, str]]:
    """(language, text) of every fenced block of the section, dedented, in order."""
    text = path.read_text()
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    section = text[start:end if end >= 0 else None]
    blocks = []
    for match in re.finditer(r"^( *)```(\w+)\n(.*?)^\1```", section, re.S | re.M):
        indent = len(match.group(1))
        body = "".join(line[indent:] + "\n" for line in match.group(3).splitlines())
        blocks.append((match.group(2), body))
    return blocks


def _stand_in_terraform(bin_dir: Path) -> None:
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "terraform"
    script.write_text(
        "#!/bin/sh\n"
        "# a stand-in: prove which account the credentials act in\n"
        'echo "terraform $*"\n'
        'aws sts get-caller-identity --query Account --output text\n'
        "aws s3 ls\n")
    script.chmod(0o755)


class Walk:
    """A bash on a pty, typing one README line at a time and answering its prompts."""

    def __init__(self, home: Any, world: Any) -> None:
        self.world = world
        bash = require_program("bash")
        env = dict(home.env)
        env.update(PS1=PS1, PROMPT_COMMAND="", TERM="dumb")
        self.child = pexpect.spawn(bash, ["--norc", "--noprofile", "-i"], env=env,
                                   encoding="utf-8", timeout=90, cwd=str(home.home),
                                   dimensions=(50, 400))
        self.child.logfile_read = io.StringIO()
        self.child.expect_exact(PS1)

    def transcript(self) -> str:
        return str(self.child.logfile_read.getvalue())

    def run(self, line: str) -> str:
        """Type ``line``, answer what it asks, return what it printed; its status must be 0."""
        child = self.child
        mark = len(self.transcript())
        child.sendline(line)
        answers = [
            (r"Access key ID: ", lambda: self.world.access_key_id),
            (r"Secret access key: ", lambda: self.world.secret_access_key),
            (r"Use MFA device \S+ for \S+\? \[Y/n\] ", lambda: "Y"),
            (r"MFA code for \S+: ", self.world.mfa_code),
        ]
        while True:
            index = child.expect([re.escape(PS1), *(a[0] for a in answers)])
            if index == 0:
                break
            child.sendline(answers[index - 1][1]())
        printed = self.transcript()[mark:]
        child.sendline('echo "status=$?"')
        child.expect(r"status=(\d+)")
        status = int(child.match.group(1))
        child.expect_exact(PS1)
        assert status == 0, f"README line failed ({status}): {line}\n{printed}"
        return printed

    def close(self) -> None:
        self.child.sendline("exit")
        self.child.expect(pexpect.EOF)
        self.child.close()


def test_the_readme_real_account_section_works_as_written(sv_home: Any, world: Any,
                                                          moto_server: Any) -> None:
    blocks = readme_blocks()
    assert [lang for lang, _ in blocks].count("sh") >= 4, blocks  # the section is there
    sv_home.env.update(world.env())
    sv_home.env.pop("SHELLVAULT_MFA_PROMPT", None)  # the default: the terminal
    stand_ins = sv_home.home / "stand-ins"
    _stand_in_terraform(stand_ins)
    sv_home.env["PATH"] = f"{stand_ins}:{sv_home.env['PATH']}"
    assert not sv_home.config_path.exists()  # an empty HOME

    walk = Walk(sv_home, world)
    policy_output: list[Any] = []
    checked = {"ini": 0, "json": 0}
    try:
        for lang, body in blocks:
            if lang == "sh":
                for line in body.splitlines():
                    if not line.strip() or line.lstrip().startswith("#"):
                        continue
                    printed = walk.run(line)
                    if line.startswith("shellvault policy") and "--apply" not in line:
                        done = sv_home.run(*line.split()[1:], check=True)
                        policy_output.append(json.loads(done.stdout))
                    if line.startswith("with-role account-b terraform plan"):
                        assert world.account_b in printed, printed
                        assert world.account_b_bucket in printed, printed
                        assert world.account_a_bucket not in printed, printed
            elif lang == "ini":
                assert sv_home.config_path.read_text() == body
                checked["ini"] += 1
            elif lang == "json":
                assert policy_output, "a JSON block with no shellvault policy command before it"
                assert json.loads(body) == policy_output[-1]
                checked["json"] += 1
        # The shell is in account-a now, as the README says; with-role left it alone.
        walk.child.sendline('echo "acct=$SHELLVAULT_PROFILE/$SHELLVAULT_ACCOUNT"')
        walk.child.expect(r"acct=(\S+)/(\d+)")
        assert walk.child.match.group(1) == "account-a"
        assert walk.child.match.group(2) == world.account_a
        walk.child.expect_exact(PS1)
    finally:
        transcript = walk.transcript()
        walk.close()
    assert checked == {"ini": 1, "json": 2}, checked
    assert world.secret_access_key not in transcript  # typed without echo
    # The MFA code was asked once for the whole walk (two roles, one MFA session).
    assert len(re.findall(r"MFA code for ", transcript)) == 1, transcript
    # The rc line the README added loads the plugin in every new shell.
    bashrc = (sv_home.home / ".bashrc").read_text()
    check = sv_home.run_program(["bash", "-c", bashrc + "\ntype -t with-role"])
    assert check.stdout.strip() == "function", check.stderr


def test_the_japanese_readme_walks_the_same_commands() -> None:
    """README.ja.md's section carries the same commands, config and policies, so the walk
    above proves it too (its prose is a translation; its blocks are the same)."""
    japanese = REPO_ROOT / "README.ja.md"
    text = japanese.read_text()
    heading = "## 実際の AWS アカウントでの設定"
    assert heading in text
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    section = text[start:end]
    blocks = [(m.group(2), "".join(line[len(m.group(1)):] + "\n"
                                   for line in m.group(3).splitlines()))
              for m in re.finditer(r"^( *)```(\w+)\n(.*?)^\1```", section, re.S | re.M)]
    assert blocks == readme_blocks()


def _outline(path: Path) -> list[tuple[int, list[str], int, int]]:
    """Per section: heading level, the fence languages of its blocks, its table rows and
    its list items (bullets, numbered steps): what a translation must carry over."""
    outline: list[tuple[int, list[str], int, int]] = []
    fence = False
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            if not fence and outline:
                outline[-1][1].append(stripped[3:] or "-")
            fence = not fence
        elif fence:
            continue
        elif re.match(r"#{1,4} ", line):
            outline.append((len(line.split(" ")[0]), [], 0, 0))
        elif outline and (line.startswith("|") or re.match(r"\s*([*-]|\d+\.) ", line)):
            level, blocks, rows, items = outline[-1]
            table = line.startswith("|")
            outline[-1] = (level, blocks, rows + table, items + (not table))
    return outline


def test_the_japanese_readme_has_every_section_and_block_of_the_english_one() -> None:
    english = _outline(REPO_ROOT / "README.md")
    japanese = _outline(REPO_ROOT / "README.ja.md")
    assert [section[0] for section in japanese] == [section[0] for section in english]
    assert japanese == english
    # AWS's Japanese documentation says 認証情報 for credentials.
    assert "クレデンシャル" not in (REPO_ROOT / "README.ja.md").read_text()
