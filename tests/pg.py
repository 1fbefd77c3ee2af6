"""A throwaway PostgreSQL server on 127.0.0.1 for the store's tests, scripts and benchmarks.

The tests get it through the ``postgres``, ``pg_url`` and ``backend_url`` fixtures of
tests/conftest.py: one session-scoped server however many modules use it.

The cluster is Debian's ``postgresql`` (``/usr/lib/postgresql/<version>/bin``),
initialised into a fresh folder, listening on 127.0.0.1 at a free port and on a
Unix socket in that folder only, with a random password (SCRAM) for TCP logins:
the URLs the tests use carry a real password, as a user's would. ``initdb``
refuses to run as root, so as root the server runs as the ``postgres`` user
(created by the Debian package) through ``setpriv``.

``SCMMONITOR_TEST_POSTGRES=postgresql+psycopg://admin:pw@host/db`` uses an
existing server instead (each test still gets a database of its own).
A missing PostgreSQL skips the tests locally and fails them under ``CI=true``.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.sshd import free_port

ENV_URL = "SCMMONITOR_TEST_POSTGRES"
BIN_GLOB = "/usr/lib/postgresql/*/bin"
ADMIN = "scm_admin"
START_TIMEOUT_S = 30
_counter = itertools.count(1)


def bindir() -> Path | None:
    """The newest installed PostgreSQL's bin folder, or None."""
    found = sorted(glob.glob(BIN_GLOB), key=lambda p: int(Path(p).parent.name)
                   if Path(p).parent.name.isdigit() else 0)
    for folder in reversed(found):
        if os.access(Path(folder) / "postgres", os.X_OK):
            return Path(folder)
    return None


def postgres_available() -> str | None:
    """None when a throwaway server can be started (or one is given), else why not."""
    if os.environ.get(ENV_URL):
        return None
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed: pip install -e '.[dev]'"
    if bindir() is None:
        return f"no PostgreSQL server in {BIN_GLOB}: apt-get install postgresql"
    if not shutil.which("setpriv"):
        return "setpriv (util-linux) is missing"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run the server as"
    return None


@dataclass
class PgServer:
    """A PostgreSQL server the tests may create databases on."""

    host: str
    port: int
    user: str
    password: str
    folder: Path | None = None  # None: an external server we did not start
    process: subprocess.Popen[bytes] | None = None

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of one database, as a user would write it in scmmonitor.toml."""
        return (f"postgresql+psycopg://{self.user}:{self.password}@{self.host}:{self.port}/"
                f"{database}")

    def connect(self, dbname: str = "postgres"):  # type: ignore[no-untyped-def]
        import psycopg

        return psycopg.connect(host=self.host, port=self.port, user=self.user,
                               password=self.password, dbname=dbname, autocommit=True,
                               connect_timeout=5)

    def create_database(self, prefix: str = "scm_test") -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        name = f"{prefix}_{os.getpid()}_{next(_counter)}"
        with self.connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Shut down and remove the folder; a no-op for an external server."""
        self.halt()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)

    def halt(self) -> None:
        """Fast shutdown (SIGINT: connections are cut, nothing waits for clients)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def _as_owner(argv: list[str], *, pdeathsig: bool = False) -> list[str]:
    """Run a PostgreSQL tool as the server's owner: ourselves, or `postgres` when we are root.

    setpriv execs in place (runuser would stay as a parent process), so the server is
    our own child, and ``--pdeathsig SIGQUIT`` (immediate shutdown) ends it when the
    test process dies, even by SIGKILL: no cluster outlives its test run.
    """
    prefix = ["setpriv"]
    if os.geteuid() == 0:
        prefix += ["--reuid=postgres", "--regid=postgres", "--init-groups"]
    if pdeathsig:
        prefix += ["--pdeathsig", "SIGQUIT"]
    return [*prefix, "--", *argv]


def start_postgres(*, durable: bool = False) -> PgServer:
    """initdb a new cluster and run ``postgres`` in the foreground as our child.

    Durability is off for the tests (a test database need not survive a power cut);
    ``durable`` keeps the server's own defaults (fsync, full page writes), as an
    operator's server runs, for the benchmarks that compare PostgreSQL with SQLite.

    Raises RuntimeError with the server's log if it does not accept connections in
    ``START_TIMEOUT_S``. The folder is made with mkdtemp under the system temp dir
    rather than pytest's tmp_path: pytest's folders are private to root, which the
    `postgres` user could not enter.
    """
    bins = bindir()
    assert bins is not None
    folder = Path(tempfile.mkdtemp(prefix="scmmonitor-pg-"))
    data, sockets, log = folder / "data", folder / "sockets", folder / "server.log"
    password = secrets.token_hex(16)
    pwfile = folder / "pwfile"
    pwfile.write_text(password + "\n")
    sockets.mkdir()
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        for path in (folder, sockets, pwfile):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    folder.chmod(0o700)
    server = PgServer("127.0.0.1", 0, ADMIN, password, folder=folder)
    try:
        init = subprocess.run(
            _as_owner([str(bins / "initdb"), "-D", str(data), "--username", ADMIN,
                       "--pwfile", str(pwfile), "--auth-local=trust",
                       "--auth-host=scram-sha-256", "--encoding=UTF8", "--no-locale",
                       "--no-sync"]),
            capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
        if init.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{init.stdout}\n{init.stderr}")
        errors = []
        for _attempt in range(3):  # the free port may be taken before the server binds it
            server.port = free_port()
            argv = [str(bins / "postgres"), "-D", str(data), "-p", str(server.port),
                    "-k", str(sockets), "-c", "listen_addresses=127.0.0.1",
                    "-c", "max_connections=100"]
            if not durable:
                argv += ["-c", "fsync=off", "-c", "synchronous_commit=off",
                         "-c", "full_page_writes=off"]
            with open(log, "wb") as log_fh:
                server.process = subprocess.Popen(
                    _as_owner(argv, pdeathsig=True), stdin=subprocess.DEVNULL,
                    stdout=log_fh, stderr=subprocess.STDOUT)
            if _wait_ready(server):
                return server
            server.halt()
            errors.append(log.read_text(errors="replace"))
            if "already in use" not in errors[-1]:
                break
        raise RuntimeError("PostgreSQL did not start:\n" + "\n".join(errors))
    except BaseException:
        server.stop()
        raise


def _wait_ready(server: PgServer) -> bool:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert server.process is not None
        if server.process.poll() is not None:
            return False
        try:
            with server.connect():
                return True
        except Exception:  # starting up: refused, or "the database system is starting up"
            time.sleep(0.1)
    return False


def external_server(url: str) -> PgServer:
    """A server given by $SCMMONITOR_TEST_POSTGRES (its user must be allowed CREATE DATABASE)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return PgServer(host=parsed.host or "127.0.0.1", port=parsed.port or 5432,
                    user=parsed.username or "postgres", password=parsed.password or "")


@contextlib.contextmanager
def running_postgres() -> Iterator[PgServer]:
    """For scripts and benchmarks: a throwaway server for the length of a ``with`` block."""
    reason = postgres_available()
    if reason is not None:
        raise RuntimeError(reason)
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()
