"""`AwsConfig`: the config file's bytes, read lazily, and the operations on it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .ini import IniFile
from .profile import Profile
from .resolve import resolve

__all__ = ["AwsConfig", "config_path"]


def config_path() -> Path:
    """``$AWS_CONFIG_FILE`` if set and non-empty, else ``~/.aws/config``."""
    from ..paths import aws_config_file

    return aws_config_file()


def _read(path: Path, shown: Path) -> bytes:
    """The file's bytes; a missing file is empty."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return b""
    except OSError as e:
        raise ConfigError(f"cannot read {shown}: {e.strerror or e}", path=shown) from None


class AwsConfig:
    """The AWS config file, read lazily: sections are parsed when first needed."""

    def __init__(self, path: Path, data: bytes) -> None:
        self.path = path
        self.ini = IniFile(path, data)

    @classmethod
    def load(cls, path: Path | None = None) -> AwsConfig:
        """Read the file once; a missing file is an empty config."""
        p = config_path() if path is None else Path(path)
        return cls(p, _read(p, p))

    def profile_names(self) -> list[str]:
        """Profile names in file order; ``default`` included when ``[default]`` exists."""
        return self.ini.profile_names()

    def has_profile(self, name: str) -> bool:
        return self.ini.has_profile(name)

    def sso_session_names(self) -> list[str]:
        """The names of the ``[sso-session NAME]`` sections, in file order."""
        return [s[len("sso-session "):] for s in self.ini.section_names()
                if s.startswith("sso-session ")]

    def sso_session(self, name: str) -> dict[str, str] | None:
        """The keys of ``[sso-session NAME]`` (sso_start_url, sso_region,
        sso_registration_scopes, ...), None if there is no such section."""
        return self.ini.effective("sso-session " + name)

    def resolve(self, name: str, environ: Mapping[str, str] | None = None, *,
                keys_stored: bool = False) -> Profile:
        """The profile with its include chain, ``[default]``, env vars and source chain;
        ``keys_stored``: the vault holds keys under ``name`` (see `resolve.resolve`)."""
        return resolve(self.ini, name, os.environ if environ is None else environ,
                       keys_stored=keys_stored)

    def sdk_config(self, name: str) -> dict[str, Any]:
        """The part of the file botocore needs for profile ``name``'s clients, in the shape
        of botocore's ``Session.full_config``: the profile's own section (nested values as
        dicts) and the ``[services X]`` and ``[sso-session Y]`` sections it names.  Handing
        botocore this instead of the path keeps its parser (quadratic in a long line) off
        the user's file, and makes it read the keys as shellvault (and aws-vault) do."""
        section = "default" if name == "default" else "profile " + name
        own = self.ini.section(section)
        if own is None:
            return {"profiles": {}}
        profile: dict[str, Any] = dict(own)
        profile.update(_nested_dicts(self.ini.nested(section)))
        return {
            "profiles": {name: profile},
            "services": self._named_sections("services", own.get("services", "")),
            "sso_sessions": self._named_sections("sso-session", own.get("sso_session", "")),
        }

    def _named_sections(self, kind: str, name: str) -> dict[str, Any]:
        """``{name: keys}`` of ``[kind name]`` (nested values as dicts), {} without it."""
        keys = self.ini.section(f"{kind} {name}") if name else None
        if keys is None:
            return {}
        return {name: {**keys, **_nested_dicts(self.ini.nested(f"{kind} {name}"))}}

    def add_profile(self, name: str, values: Mapping[str, str]) -> None:
        """Append ``[profile NAME]`` (``[default]`` for default) with ``values`` unless
        the section exists; existing bytes are kept exactly.  Locked and atomic
        (``configedit``); creates the file, and its directory with mode 0700, when absent.
        """
        from ..configedit import edit, profile_section
        from .write import check_name

        check_name(name, self.path)
        with edit(self.path) as cfg:
            cfg.add_section(profile_section(name), values)
        self.ini = IniFile(self.path, cfg.data)


def _nested_dicts(nested: Mapping[str, list[str]]) -> dict[str, dict[str, str]]:
    """Nested lines as botocore reads them: ``k = v`` each, other lines ignored."""
    out: dict[str, dict[str, str]] = {}
    for key, lines in nested.items():
        values = out.setdefault(key, {})
        for line in lines:
            k, sep, v = line.partition("=")
            if sep:
                values[k.strip()] = v.strip()
    return out
