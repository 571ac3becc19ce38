"""Every file and directory shellvault uses, derived from the environment (XDG rules)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path


def _xdg(environ: Mapping[str, str], var: str, default: str) -> Path:
    value = environ.get(var, "")
    # XDG says relative paths are invalid and must be ignored.
    if value and os.path.isabs(value):
        return Path(value)
    return Path(environ.get("HOME") or os.path.expanduser("~")) / default


def state_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """Non-secret state: session index, stamps, locks."""
    override = environ.get("SHELLVAULT_STATE_DIR", "")
    if override:
        return Path(override)
    return _xdg(environ, "XDG_STATE_HOME", ".local/state") / "shellvault"


def data_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """The encrypted file store lives here."""
    return _xdg(environ, "XDG_DATA_HOME", ".local/share") / "shellvault"


def config_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """The user's own shellvault settings (saved directory scopes)."""
    return _xdg(environ, "XDG_CONFIG_HOME", ".config") / "shellvault"


def aws_config_file(environ: Mapping[str, str] = os.environ) -> Path:
    """``$AWS_CONFIG_FILE`` if set and non-empty, else ``~/.aws/config`` (the AWS CLI's rule)."""
    return Path(os.path.expanduser(environ.get("AWS_CONFIG_FILE", "") or "~/.aws/config"))


def directories_file(environ: Mapping[str, str] = os.environ) -> Path:
    """``with-role --save`` scopes: ``<dir><TAB><profile>`` lines."""
    return config_dir(environ) / "directories"


def cache_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """Files that can be rebuilt at any time (the completion cache)."""
    return _xdg(environ, "XDG_CACHE_HOME", ".cache") / "shellvault"


def completion_cache(config: Path, environ: Mapping[str, str] = os.environ) -> Path:
    """The profile names of one AWS config file, for the shells' TAB (one file per config)."""
    from .digest import sha256_hex  # not hashlib: a prompt answer names this file

    digest = sha256_hex([os.fsencode(config)])[:16]
    return cache_dir(environ) / "profiles" / digest


def profile_file_name(profile: str) -> str:
    """A profile name as one path component; the shell plugins and direnv do the same."""
    return profile.replace("%", "%25").replace("/", "%2F")


def stamp_path(profile: str, environ: Mapping[str, str] = os.environ) -> Path:
    return state_dir(environ) / "stamps" / profile_file_name(profile)


def ensure_private_dir(path: Path) -> Path:
    """Create `path` with mode 0700, and any missing parent with 0700 too (XDG says so for
    ~/.local/share and friends; `mkdir -p` would give them 0777 under umask 000);
    tighten `path` if it already exists."""
    missing: list[Path] = []
    parent = path
    while not parent.exists() and parent != parent.parent:
        missing.append(parent)
        parent = parent.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=0o700)
        except FileExistsError:
            continue  # another process made it first: fine, it is still a directory
        except OSError as exc:  # name the directory that was asked for
            raise OSError(exc.errno, exc.strerror, str(path)) from None
        directory.chmod(0o700)  # mkdir's mode is masked by the umask; 0700 whatever it is
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path


def write_private_file(path: Path, data: bytes, times_ns: tuple[int, int] | None = None) -> None:
    """Atomic write with mode 0600: a reader sees the old file or the new one, never half
    (and with `times_ns`, never the new one with another (atime, mtime))."""
    ensure_private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if times_ns is not None:
            os.utime(tmp, ns=times_ns)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def touch_stamp(profile: str, expires: int | None, environ: Mapping[str, str] = os.environ) -> None:
    """Tell watchers (direnv's watch_file, other shells) that a profile's session changed."""
    path = stamp_path(profile, environ)
    try:
        before = path.stat().st_mtime
    except OSError:
        before = 0.0
    # A stamp is a courtesy to watchers; never fail the real work over it.
    with contextlib.suppress(OSError):
        write_private_file(path, f"{expires or ''}\n".encode())
        # direnv compares whole seconds: a second change within the same second must still
        # move the mtime forward, or the reload it should cause is lost.
        if int(path.stat().st_mtime) <= int(before):
            os.utime(path, (int(before) + 1, int(before) + 1))
