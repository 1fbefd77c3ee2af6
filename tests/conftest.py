"""Shared fixtures: real sshd servers and silent sockets on 127.0.0.1; Sphinx's test roots."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sphinx

from tests.sshd import BlackHole, SshServer, require_tool, sshd_available, start_sshd

pytest_plugins = ("sphinx.testing.fixtures",)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    """The session's one Playwright: a second sync Playwright in this thread would refuse."""
    from tests.js.check_page import CHROMIUM

    require_tool(None if Path(CHROMIUM).exists()
                 else f"{CHROMIUM} is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_tool("playwright is not installed (pip install playwright)")
        raise
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Any) -> Iterator[Any]:
    """Debian's Chromium, headless, shared by every browser test."""
    from tests.js.check_page import launch_browser

    chromium = launch_browser(playwright)
    yield chromium
    chromium.close()


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
