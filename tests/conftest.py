"""Every shared fixture, one per thing: real sshd and PostgreSQL servers, silent sockets,
folders another user may enter, Sphinx's test roots, Highcharts from npm and the docs'
own extension.

The servers themselves are started by plain helpers (tests/sshd.py, tests/pg.py) that
scripts and benchmarks use too; this file only decides how long each one lives.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import sphinx

from tests.pg import ENV_URL, PgServer, external_server, postgres_available, start_postgres
from tests.sshd import BlackHole, SshServer, require_tool, sshd_available, start_sshd

pytest_plugins = ("sphinx.testing.fixtures",)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "example_docs"
OUTPUT = ROOT / "test-output"


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


# --- the page's chart library -----------------------------------------------------------------


@pytest.fixture(scope="session")
def highcharts() -> Path:
    """Highcharts as example_docs/package.json pins it, installed once into test-output/."""
    pinned = json.loads((EXAMPLE / "package.json").read_text())["dependencies"]["highcharts"]
    folder = OUTPUT / "npm" / f"highcharts-{pinned}"
    installed = folder / "node_modules" / "highcharts"
    if not (installed / "highstock.js").is_file():
        npm = shutil.which("npm")
        if npm is None:
            require_tool("npm is not installed (apt-get install npm)")
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            if (EXAMPLE / name).is_file():
                shutil.copyfile(EXAMPLE / name, folder / name)
        proc = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
                              cwd=folder, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            require_tool(f"npm install highcharts failed: {proc.stderr.strip()[-500:]}")
    return installed


# --- sshd -----------------------------------------------------------------------------------------


def _serve_sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    require_tool(sshd_available())
    server = start_sshd(tmp_path_factory.mktemp("sshd"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sshd_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    """One sshd for the whole session: for tests that only read through it."""
    yield from _serve_sshd(tmp_path_factory)


@pytest.fixture
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    """An sshd of the test's own: for tests that change its configuration or kill it."""
    yield from _serve_sshd(tmp_path_factory)


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    hole = BlackHole()
    yield hole
    hole.close()


# --- PostgreSQL -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres() -> Iterator[PgServer]:
    """One PostgreSQL server for the whole session."""
    require_tool(postgres_available())
    if os.environ.get(ENV_URL):
        yield external_server(os.environ[ENV_URL])
        return
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(postgres: PgServer) -> str:
    """A fresh, empty database on the session's server, as a SQLAlchemy URL."""
    return postgres.create_database()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store's URL, once a SQLite file and once a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("pg_url"))


# --- files ----------------------------------------------------------------------------------------


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder the `nobody` user may enter (pytest's own tmp is private to root).

    0755: tests that let `nobody` write there open up what they need themselves.
    """
    folder = Path(tempfile.mkdtemp(prefix="scm-shared-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        # a test may have taken the permissions away to provoke an error
        for dirpath, dirnames, _files in os.walk(folder):
            for d in dirnames:
                os.chmod(os.path.join(dirpath, d), 0o755)
        shutil.rmtree(folder)


# --- the docs -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def docsgen() -> ModuleType:
    """docs/_ext/docsgen.py, the docs' own Sphinx extension (not part of the package)."""
    path = ROOT / "docs" / "_ext" / "docsgen.py"
    spec = importlib.util.spec_from_file_location("docsgen", path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
