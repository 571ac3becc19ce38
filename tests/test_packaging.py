"""The wheel a `pipx install .` user gets carries the shell plugins and runs from them."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w",
                           str(out), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    (built,) = out.glob("shellvault-*.whl")
    return built


def test_the_wheel_ships_every_plugin(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in ("bash/shellvault.bash", "zsh/shellvault.plugin.zsh", "zsh/_shellvault",
                    "fish/conf.d/shellvault.fish", "fish/completions/shellvault.fish",
                    "fish/completions/with-role.fish", "bash/shellvault-completion.bash",
                    "direnv/shellvault.sh"):
        assert f"shellvault/shell/{shipped}" in names


def test_the_installed_wheel_prints_its_own_plugins(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(target), str(wheel)], check=True, timeout=300)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(target), "HOME": str(tmp_path)}
    for shell, rel in (("bash", "bash/shellvault.bash"), ("direnv", "direnv/shellvault.sh")):
        done = subprocess.run([sys.executable, "-m", "shellvault", "init", shell], env=env,
                              capture_output=True, text=True, timeout=60, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        # the plugin itself first (bash's completion file follows it)
        assert done.stdout.startswith((target / "shellvault" / "shell" / rel).read_text())
    where = subprocess.run([sys.executable, "-c",
                            "import shellvault.shells as s; print(s.shell_dir())"],
                           env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert where.stdout.strip() == str(target / "shellvault" / "shell")
    version = subprocess.run([sys.executable, "-m", "shellvault", "--version"], env=env,
                             capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert version.returncode == 0 and "0.1.0" in version.stdout
