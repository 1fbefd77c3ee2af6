"""One collector per node: two real ``scm-monitor collect`` processes, a SIGKILLed one,
and leases of other hosts, on SQLite and on PostgreSQL (docs/operations.rst)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from sphinxcontrib_scmmonitor import cli, config
from sphinxcontrib_scmmonitor.collect import collect_node
from sphinxcontrib_scmmonitor.collect.local import LocalLister
from sphinxcontrib_scmmonitor.store import Store
from tests.helpers.backups import build_tree
from tests.sshd import SshServer, require_tool, sshd_available, start_sshd

#: a `find` that waits while the gate file exists: the first collector is then surely
#: listing (its lease taken) when the second starts, with no race on timing
_GATED_FIND = """#!/bin/sh
while [ -e {gate} ]; do sleep 0.05; done
exec /usr/bin/find "$@"
"""


#: a `find` that says when the node's listing script first ran it
_MARKED_FIND = """#!/bin/sh
: >> {marker}
exec /usr/bin/find "$@"
"""


def query(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(sql), params)
            return [tuple(r) for r in result] if result.returns_rows else []
    finally:
        engine.dispose()


@pytest.fixture
def gated(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A real sshd whose `find` waits on a gate file, and a backup tree to list."""
    require_tool(sshd_available())
    bin_dir = tmp_path / "gated-bin"
    bin_dir.mkdir()
    gate = tmp_path / "gate"
    find = bin_dir / "find"
    find.write_text(_GATED_FIND.format(gate=gate))
    find.chmod(0o755)
    server = start_sshd(tmp_path / "sshd", path_prefix=bin_dir)
    root = tmp_path / "backup"
    files = build_tree(root)
    try:
        yield {"server": server, "gate": gate, "root": root, "files": files}
    finally:
        gate.unlink(missing_ok=True)
        server.stop()


@pytest.fixture
def marked(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A real sshd whose `find` leaves a marker file, and a backup tree to list."""
    require_tool(sshd_available())
    bin_dir = tmp_path / "marked-bin"
    bin_dir.mkdir()
    marker = tmp_path / "find-ran"
    find = bin_dir / "find"
    find.write_text(_MARKED_FIND.format(marker=marker))
    find.chmod(0o755)
    server = start_sshd(tmp_path / "sshd", path_prefix=bin_dir)
    root = tmp_path / "backup"
    files = build_tree(root)
    try:
        yield {"server": server, "marker": marker, "root": root, "files": files}
    finally:
        server.stop()


def write_config(folder: Path, server: SshServer, root: Path, url: str) -> Path:
    node = {"hub": "cms02", "host": server.host, "port": server.port, "user": server.user,
            "identity_file": str(server.identity_file), "known_hosts": str(server.known_hosts),
            "root": str(root), "connect_timeout": 5, "command_timeout": 60}
    lines = [f"database = {json.dumps(url)}", "", "[hubs.cms02]", "", "[nodes.C]"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in node.items()]
    path = folder / "scmmonitor.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def collector(cfg: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "sphinxcontrib_scmmonitor.cli", "-c",
                             str(cfg), "collect", "--progress", "lines"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_lease(url: str, proc: subprocess.Popen[str]) -> tuple[int, str]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            rows = query(url, "select pid, host from leases")
            # The lease is taken just before the run row is written: wait for both, so
            # the collector is really inside its run (held at the gate) when we look.
            running = query(url, "select id from runs where state = 'running'")
        except Exception:  # the schema is still being created by the collector
            rows, running = [], []
        if rows and running:
            return rows[0]
        time.sleep(0.05)
    raise AssertionError("the first collector never took its lease and began its run")


def runs(url: str) -> list[tuple[str, str | None]]:
    return query(url, "select state, error from runs order by id")


def test_a_second_collector_of_the_same_node_stops_naming_the_first(
        gated, backend_url, tmp_path) -> None:
    cfg = write_config(tmp_path, gated["server"], gated["root"], backend_url)
    gated["gate"].touch()
    first = collector(cfg)
    try:
        assert wait_for_lease(backend_url, first) == (first.pid, socket.gethostname())

        second = subprocess.run([sys.executable, "-m", "sphinxcontrib_scmmonitor.cli", "-c",
                                 str(cfg), "collect", "--progress", "lines"],
                                capture_output=True, text=True, timeout=120)
        assert runs(backend_url) == [("running", None)]  # the second began no run
    finally:
        gated["gate"].unlink()
    out, err = first.communicate(timeout=120)

    assert first.returncode == 0, out + err
    assert second.returncode == 1
    assert (f"node C is being collected by pid {first.pid} on {socket.gethostname()} since "
            in second.stdout)
    assert "nothing was collected by this run" in second.stdout
    assert "1 of 1 node(s) failed: C" in second.stderr
    for word in ("Traceback", "IntegrityError", "INSERT", "[SQL", "parameters"):
        assert word not in second.stdout + second.stderr
    assert runs(backend_url) == [("ok", None)]
    assert query(backend_url, "select count(*) from backups") == [(len(gated["files"]),)]
    assert query(backend_url, "select count(*) from leases") == [(0,)]  # given back


def test_the_lease_of_a_sigkilled_collector_expires_with_its_process(
        gated, backend_url, tmp_path, capsys) -> None:
    cfg = write_config(tmp_path, gated["server"], gated["root"], backend_url)
    gated["gate"].touch()
    killed = collector(cfg)
    try:
        pid, _host = wait_for_lease(backend_url, killed)
        killed.kill()
        killed.communicate(timeout=30)
    finally:
        gated["gate"].unlink()
    assert query(backend_url, "select pid from leases") == [(pid,)]  # left behind

    assert cli.main(["-c", str(cfg), "collect", "--progress", "lines"]) == 0

    states = runs(backend_url)
    assert [s for s, _e in states] == ["interrupted", "ok"]
    assert query(backend_url, "select count(*) from backups") == [(len(gated["files"]),)]
    assert query(backend_url, "select count(*) from leases") == [(0,)]


def _local_config(tmp_path: Path, url: str) -> tuple[Path, int]:
    root = tmp_path / "backup"
    files = build_tree(root)
    cfg = tmp_path / "local.toml"
    cfg.write_text(f'database = {json.dumps(url)}\n\n[hubs.cms02]\n\n[nodes.C]\n'
                   f'hub = "cms02"\nhost = "local"\nroot = {json.dumps(str(root))}\n')
    return cfg, len(files)


def _plant_lease(url: str, *, host: str, pid: int, since: float, expires_at: float) -> None:
    store = Store(url)
    store.ensure_schema()
    node_id = store.ensure_node("C", "cms02")
    store.close()
    query(url, "insert into leases (node_id, token, pid, host, since, expires_at) "
               "values (:n, 'other', :pid, :host, :since, :exp)",
          n=node_id, pid=pid, host=host, since=since, exp=expires_at)


def test_a_live_lease_of_another_host_is_respected_until_it_expires(
        backend_url, tmp_path, capsys) -> None:
    cfg, count = _local_config(tmp_path, backend_url)
    since = 1_764_590_400.0  # 2025-12-01 12:00:00 UTC
    _plant_lease(backend_url, host="backup-hub-2", pid=4242, since=since,
                 expires_at=time.time() + 3600)

    assert cli.main(["-c", str(cfg), "collect", "--progress", "lines"]) == 1
    out = capsys.readouterr().out
    assert ("node C is being collected by pid 4242 on backup-hub-2 since "
            "2025-12-01 12:00:00 UTC") in out
    assert runs(backend_url) == []

    query(backend_url, "update leases set expires_at = :t", t=time.time() - 1)
    assert cli.main(["-c", str(cfg), "collect", "--progress", "lines"]) == 0
    assert runs(backend_url) == [("ok", None)]
    assert query(backend_url, "select count(*) from backups") == [(count,)]
    assert query(backend_url, "select count(*) from leases") == [(0,)]


def test_a_lease_expires_after_the_budget_and_margin_even_for_a_live_pid(backend_url) -> None:
    store = Store(backend_url)
    store.ensure_schema()
    node_id = store.ensure_node("C", "cms02")
    # pid 1 is alive on this host, yet a lease this old protects nothing any more
    query(backend_url, "insert into leases (node_id, token, pid, host, since, expires_at) "
                       "values (:n, 't', 1, :host, 0, 100)", n=node_id, host=socket.gethostname())
    token = store.take_lease(node_id, "C", ttl=50, now=1000.0)
    lease = store.lease(node_id, "C")
    assert lease is not None and (lease.pid, lease.since, lease.expires_at) == \
        (os.getpid(), 1000.0, 1050.0)
    store.release_lease(node_id, token)
    assert store.lease(node_id, "C") is None
    store.close()


class _ListsEveryFileTwice(LocalLister):
    """A node whose listing names each file twice (e.g. a bind mount inside the root)."""

    def records(self, parser):  # type: ignore[no-untyped-def]
        for rec in super().records(parser):
            yield rec
            yield rec


def test_a_database_error_is_one_sentence_and_the_run_is_closed_failed(
        backend_url, tmp_path) -> None:
    cfg, _count = _local_config(tmp_path, backend_url)
    settings = config.load(cfg)
    store = Store(settings.database)
    store.ensure_schema()

    result = collect_node(store, settings.node("C"),
                          lister=_ListsEveryFileTwice(settings.node("C")))
    store.close()

    assert not result.ok and result.error is not None
    assert result.error.startswith(f"cannot write to database {store.safe_url}: ")
    assert result.error.count("\n") == 0 and len(result.error) < 400
    for word in ("INSERT", "COPY", "[SQL", "parameters", "Traceback", "DETAIL", "Key ("):
        assert word not in result.error
    assert "unique" in result.error.lower() or "UNIQUE" in result.error
    [(state, error)] = runs(backend_url)
    assert (state, error) == ("failed", result.error)  # closed, not left "running"
    assert query(backend_url, "select count(*) from backups") == [(0,)]
    assert query(backend_url, "select count(*) from leases") == [(0,)]


class _WriteLock:
    """Another writer holding the store's write lock (SQLite) or the leases table
    (PostgreSQL) until released: a collector cannot take a lease meanwhile."""

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite:///"):
            import sqlite3

            self.sqlite = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            self.sqlite.execute("BEGIN IMMEDIATE")
        else:
            self.engine = create_engine(url)
            self.conn = self.engine.connect()
            self.conn.execute(text("LOCK TABLE leases IN ACCESS EXCLUSIVE MODE"))

    def release(self) -> None:
        if self.url.startswith("sqlite:///"):
            self.sqlite.rollback()
            self.sqlite.close()
        else:
            self.conn.rollback()
            self.conn.close()
            self.engine.dispose()


def test_the_listing_runs_on_the_node_while_the_lease_waits_and_nothing_is_stored_before(
        marked, backend_url, tmp_path) -> None:
    """The node's find starts before the lease is taken (docs/operations.rst): a store busy
    with another writer delays the writing, not the node's listing."""
    cfg = write_config(tmp_path, marked["server"], marked["root"], backend_url)
    store = Store(backend_url)
    store.ensure_schema()
    store.close()
    lock = _WriteLock(backend_url)
    released = False
    try:
        proc = collector(cfg)
        deadline = time.monotonic() + 20  # well inside the store's 30 s lock wait
        while not marked["marker"].exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the listing did not start before the lease"
            time.sleep(0.05)
        lock.release()
        released = True
        out, err = proc.communicate(timeout=120)
    finally:
        if not released:
            lock.release()
    assert proc.returncode == 0, out + err
    assert out.startswith("C: ok, ") and f"({len(marked['files'])} new, " in out
    assert runs(backend_url) == [("ok", None)]
    assert query(backend_url, "select count(*) from backups") == [(len(marked["files"]),)]
    assert query(backend_url, "select count(*) from leases") == [(0,)]


def test_a_store_that_cannot_be_opened_gives_the_started_listing_up_with_one_message(
        marked, backend_url, tmp_path) -> None:
    """A store of a newer release: exit 2 and one line, at once; the listing that was
    started meanwhile is given up and nothing is stored."""
    store = Store(backend_url)
    store.ensure_schema()
    with store.engine.begin() as conn:
        conn.exec_driver_sql("update alembic_version set version_num = '0099_future'")
    store.close()
    cfg = write_config(tmp_path, marked["server"], marked["root"], backend_url)

    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "sphinxcontrib_scmmonitor.cli", "-c", str(cfg),
                           "collect", "--progress", "lines"],
                          capture_output=True, text=True, timeout=60)
    took = time.monotonic() - started

    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert "this database was written by a newer scm-monitor (revision 0099_future)" \
        in done.stderr
    assert "Traceback" not in done.stderr
    assert took < 15
    assert runs(backend_url) == []
    assert query(backend_url, "select count(*) from backups") == [(0,)]
    assert query(backend_url, "select count(*) from leases") == [(0,)]
