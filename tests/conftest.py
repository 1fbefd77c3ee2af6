"""Shared fixtures: real sshd servers and silent sockets on 127.0.0.1; Sphinx's test roots."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sphinx

from tests.sshd import BlackHole, SshServer, require_tool, sshd_available, start_sshd

pytest_plugins = ("sphinx.testing.fixtures",)


@pytest.fixture(scope="session")
def rootdir() -> Path:
    root = Path(__file__).parent / "roots"
    if sphinx.version_info < (7, 2):
        # Sphinx 7.0/7.1's test fixtures copy the roots with their own path class
        from sphinx.testing.path import path

        return path(root)  # type: ignore[no-any-return]
    return root


@pytest.fixture(scope="session")
def sshd_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    require_tool(sshd_available())
    server = start_sshd(tmp_path_factory.mktemp("sshd"))
    yield server
    server.stop()


@pytest.fixture
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    require_tool(sshd_available())
    server = start_sshd(tmp_path_factory.mktemp("sshd"))
    yield server
    server.stop()


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    hole = BlackHole()
    yield hole
    hole.close()
