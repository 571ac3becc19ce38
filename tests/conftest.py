"""The shellvault test harness: real servers, isolated users.

Fixtures (see each docstring):

* ``moto_server`` (session): a real ``moto_server`` process on 127.0.0.1, with
  ``.url .port .pid .reset() .mark() .sts_calls()``.
* ``world`` (session): the README walkthrough built in that moto (``testkit/world.py``).
* ``secret_service``: gnome-keyring's Secret Service on a private D-Bus session,
  started once per session (``secret_service_session``); yields the env vars
  (``DBUS_SESSION_BUS_ADDRESS``) a subprocess needs, default collection unlocked.
* ``sv_home`` (function): an isolated user for running the ``shellvault`` console script.
* ``aws_home`` (function): ``sv_home`` + the world's ``~/.aws/config`` + alice's keys added.
* ``aws_keyring_home`` (function): the same with the keyring backend on the private bus.

Plain helpers: ``require_program(name)`` (``testkit.programs``); ``lock_default_collection(env)``,
``unlock_default_collection(env, password)`` and friends in ``testkit/world.py``.

The classes behind the fixtures live in ``testkit/`` (the demo and the benchmarks use
them too). Every wait has a deadline; every process the harness starts is stopped by
its PID.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from testkit import programs
from testkit.home import ShellvaultFailed, SvHome
from testkit.keyring import SecretService
from testkit.moto import MotoServer, RecordedCall
from testkit.programs import IN_CI, require_program, venv_bin
from testkit.world import (
    SECRET_SERVICE_PASSWORD,
    World,
    build_world,
    lock_default_collection,
    unlock_default_collection,
)

__all__ = [
    "IN_CI",
    "OUTER_ENVIRON",
    "REPO_ROOT",
    "SECRET_SERVICE_PASSWORD",
    "MotoServer",
    "RecordedCall",
    "SecretService",
    "ShellvaultFailed",
    "SvHome",
    "lock_default_collection",
    "require_program",
    "unlock_default_collection",
    "venv_bin",
]

REPO_ROOT = Path(__file__).resolve().parent.parent

#: The environment pytest was started with, before ``pytest_configure`` scrubbed it.
OUTER_ENVIRON: dict[str, str] = dict(os.environ)

#: Outer variables that must never leak into the suite (in-process or subprocesses).
_SCRUBBED_PREFIXES = ("AWS_", "SHELLVAULT_")
_SCRUBBED_NAMES = ("DBUS_SESSION_BUS_ADDRESS",)


def pytest_configure(config: pytest.Config) -> None:
    """Drop the developer's AWS_*, SHELLVAULT_* and session-bus address from this
    process, so that nothing in-process reaches a real account or a real keyring."""
    for name in list(os.environ):
        if name.startswith(_SCRUBBED_PREFIXES) or name in _SCRUBBED_NAMES:
            del os.environ[name]


# --------------------------------------------------------------------------- programs


def _missing_program(message: str) -> NoReturn:
    """A program the tests need is absent: skip locally, fail in CI (``CI=true``): CI
    must have everything (``scripts/test`` installs the Debian packages as root)."""
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


programs.on_missing = _missing_program
# Older names, for helpers that import them from here.
_stop_pid_tree = programs.stop_pid_tree
_wait_until = programs.wait_until


# --------------------------------------------------------------------------- zsh


@pytest.fixture(scope="session", autouse=True)
def _zsh_compdump_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """zsh sessions (testkit/shellsession.py) share one compinit dump per test process."""
    from testkit import shellsession

    shellsession.ZCOMPDUMP_CACHE = tmp_path_factory.mktemp("zsh") / "zcompdump"


# --------------------------------------------------------------------------- moto


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    server = MotoServer(tmp_path_factory.mktemp("moto"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def world(moto_server: MotoServer) -> World:
    """The README walkthrough in moto (see testkit/world.py). ``moto_server.reset()``
    rebuilds it in place."""
    built = build_world(moto_server.url)
    moto_server.after_reset.append(built.rebuild)
    moto_server.mark()
    return built


# --------------------------------------------------------------------------- Secret Service


@pytest.fixture(scope="session")
def secret_service_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecretService]:
    """The one gnome-keyring Secret Service of the test session (started on first use)."""
    service = SecretService(tmp_path_factory.mktemp("secret-service"))
    service.start()
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
def secret_service(secret_service_session: SecretService) -> Iterator[dict[str, str]]:
    """Env vars (``DBUS_SESSION_BUS_ADDRESS``) of the session's private gnome-keyring
    Secret Service. The daemon lives for the whole session; this handle is per test:
    the default collection is unlocked (``SECRET_SERVICE_PASSWORD``) before and after
    each test, so a test that locks it need not undo that. Items persist between tests
    (``sv_home.use_keyring`` and ``clear_default_collection`` empty the collection)."""
    env = dict(secret_service_session.env)
    unlock_default_collection(env, secret_service_session.password)
    yield env
    unlock_default_collection(env, secret_service_session.password)


# --------------------------------------------------------------------------- isolated users


@pytest.fixture
def sv_home(tmp_path: Path) -> SvHome:
    """A fresh isolated user (file backend, random passphrase) under ``tmp_path/home``."""
    return SvHome(tmp_path / "home")


def _with_world(home: SvHome, world: World, moto_server: MotoServer) -> SvHome:
    home.world = world
    home.write_config(world.config_text())
    home.env.update(world.env())
    home.add_keys("central", world.access_key_id, world.secret_access_key)
    moto_server.mark()
    return home


@pytest.fixture
def aws_home(sv_home: SvHome, world: World, moto_server: MotoServer) -> SvHome:
    """``sv_home`` + the walkthrough's ``~/.aws/config`` + ``AWS_ENDPOINT_URL`` (moto)
    + alice's keys stored with ``shellvault add central --env`` (file backend).
    ``moto_server`` is marked at the end: ``sts_calls()`` starts empty."""
    return _with_world(sv_home, world, moto_server)


@pytest.fixture
def aws_keyring_home(
    sv_home: SvHome, world: World, moto_server: MotoServer, secret_service: dict[str, str]
) -> SvHome:
    """``aws_home`` with ``SHELLVAULT_BACKEND=keyring`` on the private Secret Service."""
    sv_home.use_keyring(secret_service)
    return _with_world(sv_home, world, moto_server)


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [f"shellvault harness: python {sys.version.split()[0]}, venv {venv_bin()}, CI={IN_CI}"]
