"""The same store behaviour on SQLite and on a real PostgreSQL server.

Every test that takes ``backend_url`` (from tests/conftest.py) runs twice: on a
SQLite file and on a fresh database of the throwaway PostgreSQL server (skipped
locally without PostgreSQL, a failure under ``CI=true``). Tests read the tables back with
plain SQL through SQLAlchemy, so they check what is stored, not what the store's
own reader makes of it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, inspect, text

from sphinxcontrib_scmmonitor import cli, config
from sphinxcontrib_scmmonitor.collect import collect_node
from sphinxcontrib_scmmonitor.store import BackupFile, Changes, Record, Store
from tests.helpers.backups import (
    DAY,
    HOSTILE_NAMES,
    build_tree,
    plant,
    today_at,
    write_config,
)
from tests.helpers.store import head_revision

HEAD = head_revision()


def query(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                    for row in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def present(url: str, node: str | None = None) -> dict[bytes, tuple[int, int, float]]:
    """path -> (size, backup_at, mtime) of every backup not marked gone."""
    sql = ("select b.path, b.size, b.backup_at, b.mtime from backups b join nodes n "
           "on n.id = b.node_id where b.gone_at is null"
           + (" and n.name = :node" if node else ""))
    return {p: (s, a, m) for p, s, a, m in query(url, sql, node=node)}


def backups_table(url: str) -> list[tuple[Any, ...]]:
    """Every backup row but ``last_seen_at``, in path order."""
    return query(url, "select id, node_id, series_id, path, backup_at, size, mtime, "
                      "first_seen_at, gone_at from backups order by node_id, path")


def run_states(url: str, node: str) -> list[tuple[str, str | None]]:
    return query(url, "select r.state, r.error from runs r join nodes n on n.id = r.node_id "
                      "where n.name = :node order by r.id", node=node)


def collect(cfg: Path, *args: str) -> int:
    return cli.main(["-c", str(cfg), "collect", "--progress", "lines", *args])


@pytest.fixture
def node_tree(tmp_path: Path, backend_url: str) -> tuple[Path, Path, dict[bytes, tuple[int, int]]]:
    """(config, root, files) of one local node C whose store is ``backend_url``."""
    root = tmp_path / "backup"
    files = build_tree(root)
    return write_config(tmp_path, {"C": {"root": str(root)}}, database=backend_url), root, files


# --- schema ----------------------------------------------------------------------------------


def test_db_upgrade_creates_the_schema_then_finds_it_current(backend_url, tmp_path,
                                                            capsys) -> None:
    cfg = write_config(tmp_path, {"C": {"root": "/srv"}}, database=backend_url)

    assert cli.main(["-c", str(cfg), "db", "upgrade"]) == 0
    first = capsys.readouterr().out
    assert cli.main(["-c", str(cfg), "db", "upgrade"]) == 0
    second = capsys.readouterr().out

    assert first.endswith(f": schema upgraded from empty to {HEAD}\n")
    assert second.endswith(f": schema is up to date ({HEAD})\n")
    engine = create_engine(backend_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"nodes", "series", "backups", "runs", "notifications", "alembic_version"} <= tables
    assert query(backend_url, "select version_num from alembic_version") == [(HEAD,)]
    # the URL is shown to say which database, never with its password
    if "@" in backend_url:
        password = backend_url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
        assert password not in first + second
        assert ":***@" in first


def test_schema_created_by_collect_equals_the_one_from_db_upgrade(backend_url, tmp_path,
                                                                 pg_or_sqlite_twin) -> None:
    """Whether `collect` creates the schema or `db upgrade` does, the tables are the same."""
    by_collect = write_config(tmp_path, {"C": {"root": str(tmp_path)}}, database=backend_url,
                              name="a.toml")
    by_upgrade = write_config(tmp_path, {"C": {"root": str(tmp_path)}},
                              database=pg_or_sqlite_twin, name="b.toml")
    assert collect(by_collect) == 0
    assert cli.main(["-c", str(by_upgrade), "db", "upgrade"]) == 0

    assert _schema(backend_url) == _schema(pg_or_sqlite_twin)


@pytest.fixture
def pg_or_sqlite_twin(request: pytest.FixtureRequest, backend_url: str, tmp_path: Path) -> str:
    """A second empty store of the same kind as ``backend_url``."""
    if backend_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'twin.db'}"
    return str(request.getfixturevalue("postgres").create_database("scm_twin"))


def _schema(url: str) -> dict[str, list[tuple[str, str, bool]]]:
    engine = create_engine(url)
    try:
        insp = inspect(engine)
        return {t: sorted((c["name"], str(c["type"]), bool(c["nullable"]))
                          for c in insp.get_columns(t))
                for t in insp.get_table_names()}
    finally:
        engine.dispose()


# --- collecting into each backend -----------------------------------------------------------


def test_collect_stores_every_file_exactly(node_tree, backend_url) -> None:
    cfg, _root, files = node_tree

    assert collect(cfg) == 0

    stored = present(backend_url)
    assert {p: (s, a) for p, (s, a, _m) in stored.items()} == files
    for path, (_s, _a, mtime) in stored.items():
        # whole seconds (docs/configuration.rst), a double that round-trips on both
        assert mtime == os.stat(path).st_mtime_ns // 10**9
    assert run_states(backend_url, "C") == [("ok", None)]


def test_recollecting_an_unchanged_tree_writes_no_backup_row(node_tree, backend_url) -> None:
    cfg, _root, _files = node_tree
    assert collect(cfg) == 0
    before = backups_table(backend_url)

    assert collect(cfg) == 0

    assert backups_table(backend_url) == before
    assert query(backend_url, "select state, added, changed, gone from runs order by id") == \
        [("ok", len(before), 0, 0), ("ok", 0, 0, 0)]


def test_removed_file_is_marked_gone_and_unmarked_when_it_returns(node_tree,
                                                                   backend_url) -> None:
    cfg, _root, files = node_tree
    assert collect(cfg) == 0
    victim = min(p for p in files if b"dybsvn" in p)
    os.rename(victim, victim + b".away")

    assert collect(cfg) == 0
    [(gone_at,)] = query(backend_url, "select gone_at from backups where path = :p", p=victim)
    assert gone_at is not None
    assert victim not in present(backend_url)

    os.rename(victim + b".away", victim)
    assert collect(cfg) == 0
    assert query(backend_url, "select gone_at from backups where path = :p", p=victim) == \
        [(None,)]
    assert len(present(backend_url)) == len(files)


def test_runs_are_ok_failed_or_interrupted(node_tree, backend_url, tmp_path) -> None:
    cfg, root, _files = node_tree
    # a collector that started a run and died before finishing it
    store = Store(backend_url)
    store.ensure_schema()
    store.start_run(store.ensure_node("C", "cms02"), time.time() - 60)
    store.close()

    assert collect(cfg) == 0
    root.rename(tmp_path / "moved")
    assert collect(cfg) == 1

    states = run_states(backend_url, "C")
    assert [s for s, _e in states] == ["interrupted", "ok", "failed"]
    assert "stopped before finishing" in str(states[0][1])
    assert states[2][1] == f"backup root {root} does not exist or is not a folder"
    # a failed run marks nothing gone
    assert query(backend_url, "select count(*) from backups where gone_at is not null") == [(0,)]


def test_node_data_round_trips_series_backups_and_runs(backend_url) -> None:
    store = Store(backend_url)
    store.ensure_schema()
    node = store.ensure_node("C", "cms02")
    at = 1_352_794_202
    series_raw = b"repos/\xff-odd"
    records = [
        Record(b"/r/tracs/env/2012/11/13/161002/env.tar.gz", b"tracs/env", at, 5 * 2**30, 1.5),
        Record(b"/r/tracs/env/2012/11/14/161002/env.tar.gz", b"tracs/env", at + DAY, 7, 2.25),
        Record(b"/r/repos/\xff-odd/2012/11/13/161002/a.gz", series_raw, at, 70, 3.0),
        Record(b"/r/repos/\xff-odd/2012/11/13/161002/b.gz", series_raw, at, 30, 3.0),
    ]
    run = store.start_run(node, 100.0)
    store.finish_run(node, run, changes=Changes(added=records), complete=True, ok=True,
                     error=None, method="local", files_seen=5, unparsed=1,
                     unparsed_sample="/r/stray.gz", now=101.0,
                     series_names={series_raw: "repos/\\xff-odd"})
    failed = store.start_run(node, 200.0)
    store.finish_run(node, failed, changes=None, complete=False, ok=False, error="timed out",
                     method=None, files_seen=0, unparsed=0, unparsed_sample=None, now=201.0)
    assert store.rename_hub("cms02", "cms03") == 1  # the hub was renamed

    data = store.node_data("C")
    store.close()

    assert data.hub == "cms03"
    assert [(s.name, s.raw_name) for s in data.series] == \
        [("repos/\\xff-odd", series_raw), ("tracs/env", b"tracs/env")]
    repos, tracs = data.series
    assert repos.totals() == [(at, 100)]
    assert tracs.backups == [
        BackupFile(at, 5 * 2**30, None, b"/r/tracs/env/2012/11/13/161002/env.tar.gz", 101),
        BackupFile(at + DAY, 7, None, b"/r/tracs/env/2012/11/14/161002/env.tar.gz", 101)]
    assert [b.path for b in repos.backups] == [records[2].path, records[3].path]
    assert [(r.started_at, r.finished_at, r.state, r.error, r.method, r.files_seen,
             r.unparsed, r.unparsed_sample) for r in data.runs] == [
        (100.0, 101.0, "ok", None, "local", 5, 1, "/r/stray.gz"),
        (200.0, 201.0, "failed", "timed out", None, 0, 0, None)]


def test_notification_state_is_kept_per_hub(backend_url) -> None:
    store = Store(backend_url)
    store.ensure_schema()
    assert store.last_notification("cms02") is None

    store.record_notification("cms02", "alarm", "f1", 10.5)
    store.record_notification("other", "warn", "f9", 11.0)
    store.record_notification("cms02", "ok", "f2", 20.25)

    assert store.last_notification("cms02") == ("ok", "f2", 20.25)
    assert store.last_notification("other") == ("warn", "f9", 11.0)
    store.close()


# --- the same bytes on both -------------------------------------------------------------------


@pytest.mark.postgres
def test_odd_file_names_are_stored_byte_for_byte_the_same_on_both(tmp_path, pg_url) -> None:
    root = tmp_path / "odd"
    at = today_at()
    planted = {plant(root, "repos/env", at, name, 10 + i): 10 + i
               for i, name in enumerate(HOSTILE_NAMES)}
    planted[plant(root, b"svn/\xff\xfe-<b>", at, "x.tar.gz", 5)] = 5  # a series not UTF-8
    sqlite_url = f"sqlite:///{tmp_path / 'odd.db'}"
    rows = {}
    for name, url in (("sqlite", sqlite_url), ("postgresql", pg_url)):
        cfg = write_config(tmp_path, {"C": {"root": str(root)}}, database=url,
                           name=f"{name}.toml")
        assert collect(cfg) == 0
        rows[name] = query(url, "select b.path, s.raw_name, s.name, b.size, b.backup_at, "
                                "b.mtime from backups b join series s on s.id = b.series_id "
                                "order by b.path")

    assert rows["sqlite"] == rows["postgresql"]
    assert {r[0]: r[3] for r in rows["postgresql"]} == planted
    assert all(isinstance(r[0], bytes) and isinstance(r[1], bytes) for r in rows["postgresql"])
    names = {r[1]: r[2] for r in rows["postgresql"]}
    assert names[b"svn/\xff\xfe-<b>"] == "svn/\\xff\\xfe-<b>"  # display form: never raises


# --- two collectors at once (fault 13) --------------------------------------------------------


def _hub_trees(base: Path, hub: str, nodes: tuple[str, ...], files: int) -> dict[str, Path]:
    """A local backup tree per node: ``files`` dated backups in a few series."""
    roots = {}
    start = today_at() - files * 3600
    for node in nodes:
        root = base / hub / node
        for i in range(files):
            plant(root, f"series{i % 7}/{hub}", start + i * 3600, f"{node}.tar.gz", 1000 + i)
        roots[node] = root
    return roots


def _collector(cfg: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "sphinxcontrib_scmmonitor.cli", "-c",
                             str(cfg), "collect", "--progress", "lines"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _files_on_disk(root: Path) -> set[bytes]:
    return {os.fsencode(os.path.join(d, f)) for d, _dirs, names in os.walk(root)
            for f in names}


@pytest.fixture
def two_hubs(tmp_path: Path, backend_url: str) -> Iterator[dict[str, Any]]:
    """Two hubs, two configs, one store: hub A collects a1 a2, hub B collects b1 b2."""
    hubs: dict[str, Any] = {"url": backend_url, "configs": [], "roots": {}}
    for hub, nodes in (("hubA", ("a1", "a2")), ("hubB", ("b1", "b2"))):
        roots = _hub_trees(tmp_path, hub, nodes, files=1500)
        folder = tmp_path / f"{hub}-etc"
        folder.mkdir()
        hubs["configs"].append(write_config(
            folder, {n: {"root": str(r), "hub": hub} for n, r in roots.items()},
            database=backend_url, hubs=(hub,)))
        hubs["roots"].update(roots)
    yield hubs


def test_two_collectors_of_two_hubs_write_one_store_at_the_same_time(two_hubs) -> None:
    """Fault 13: both start on a new, empty database (so both try to create the schema),
    then run three more rounds at once while their trees change; no error, no lost row."""
    url, roots = two_hubs["url"], two_hubs["roots"]
    for round_ in range(4):
        if round_:
            for node, root in roots.items():  # one backup leaves, one arrives, per node
                os.unlink(min(_files_on_disk(root)))
                plant(root, "series0/new", today_at() + round_, f"{node}-{round_}.gz", round_)
        procs = [_collector(cfg) for cfg in two_hubs["configs"]]
        outcomes = [(p.wait(timeout=180), *p.communicate()) for p in procs]
        for code, out, err in outcomes:
            assert code == 0, f"{out}\n{err}"

    for node, root in roots.items():
        assert set(present(url, node)) == _files_on_disk(root), node
        assert [s for s, _e in run_states(url, node)] == ["ok"] * 4, node
    hubs = dict(query(url, "select name, hub from nodes"))
    assert hubs == {"a1": "hubA", "a2": "hubA", "b1": "hubB", "b2": "hubB"}
    assert query(url, "select version_num from alembic_version") == [(HEAD,)]


# --- one node name, two hubs ------------------------------------------------------------------


def test_a_node_name_of_another_hub_is_refused_and_its_history_kept(two_hubs, tmp_path,
                                                                    capsys) -> None:
    """Hub B's config also calls a machine "a1": its collect fails for that node, names
    both hubs and the fixes, and hub A's a1 loses nothing (no backup marked gone)."""
    url, roots = two_hubs["url"], two_hubs["roots"]
    assert collect(two_hubs["configs"][0]) == 0
    before = backups_table(url)
    other = tmp_path / "hubB-other"
    other.mkdir()
    plant(other, "repos/x", today_at(), "x.tar.gz", 10)
    clash = write_config(tmp_path, {"a1": {"root": str(other), "hub": "hubB"}},
                         database=url, hubs=("hubB",), name="clash.toml")
    capsys.readouterr()

    assert collect(clash) == 1

    line = capsys.readouterr().out  # the node's line of the run
    assert "node a1 is stored in" in line and "as a node of hub 'hubA'" in line
    assert "under hub 'hubB'; nothing was collected for it" in line
    assert "scm-monitor db rename-hub hubA hubB" in line
    assert "StoreError" not in line
    assert backups_table(url) == before
    assert set(present(url, "a1")) == _files_on_disk(roots["a1"])
    assert [s for s, _e in run_states(url, "a1")] == ["ok"]
    # and hub B's status does not show hub A's history as its own
    store = Store(url)
    assert store.node_data("a1", "hubB").series == []
    assert len(store.node_data("a1", "hubA").series) == 7
    store.close()


def test_rename_hub_moves_the_nodes_their_history_and_alert_state(node_tree, backend_url,
                                                                   tmp_path, capsys) -> None:
    cfg, root, _files = node_tree
    assert collect(cfg) == 0
    store = Store(backend_url)
    store.record_notification("cms02", "alarm", "f1", 10.5)
    store.close()
    before = backups_table(backend_url)
    renamed = write_config(tmp_path, {"C": {"root": str(root)}}, database=backend_url,
                           hubs=("scm01",), name="renamed.toml")
    capsys.readouterr()

    assert collect(renamed) == 1  # refused until the store is told
    assert "scm-monitor db rename-hub cms02 scm01" in capsys.readouterr().out
    assert cli.main(["-c", str(renamed), "db", "rename-hub", "cms02", "scm01"]) == 0
    assert "1 node(s) of hub 'cms02' are now of hub 'scm01'" in capsys.readouterr().out
    assert collect(renamed) == 0

    assert query(backend_url, "select name, hub from nodes") == [("C", "scm01")]
    assert backups_table(backend_url) == before
    assert [s for s, _e in run_states(backend_url, "C")] == ["ok", "ok"]  # none refused
    store = Store(backend_url)
    assert store.last_notification("scm01") == ("alarm", "f1", 10.5)
    assert store.last_notification("cms02") is None
    store.close()


def test_rename_hub_refuses_a_hub_the_config_does_not_have_or_the_store_does_not_know(
        node_tree, capsys) -> None:
    cfg, _root, _files = node_tree
    assert collect(cfg) == 0
    capsys.readouterr()

    assert cli.main(["-c", str(cfg), "db", "rename-hub", "cms02", "nope"]) == 1
    assert "hub 'nope' is not in" in capsys.readouterr().err
    assert cli.main(["-c", str(cfg), "db", "rename-hub", "gone", "cms02"]) == 1
    assert "has no nodes of hub 'gone'; nothing changed" in capsys.readouterr().err


# --- what a collection costs the database ----------------------------------------------------


def _collect_counting(store: Store, node: Any) -> tuple[Any, list[str], int]:
    """Collect one node; (its result, every statement sent, how many transactions)."""
    statements: list[str] = []
    transactions = [0]

    def sent(_conn, _cursor, statement, *_rest) -> None:  # type: ignore[no-untyped-def]
        words = statement.split()  # "INSERT INTO series", "UPDATE", "SELECT", ...
        statements.append(" ".join(words[:3]) if words[0] in ("INSERT", "DELETE") else words[0])

    def began(_conn) -> None:  # type: ignore[no-untyped-def]
        transactions[0] += 1

    event.listen(store.engine, "before_cursor_execute", sent)
    event.listen(store.engine, "begin", began)
    try:
        result = collect_node(store, node)
    finally:
        event.remove(store.engine, "before_cursor_execute", sent)
        event.remove(store.engine, "begin", began)
    return result, statements, transactions[0]


def test_a_new_nodes_collection_costs_as_many_statements_for_40_series_as_for_2(
        tmp_path, backend_url) -> None:
    """Each statement is a round trip to a PostgreSQL server: a new node's run takes the
    same few whatever its series count (every new series in one INSERT, the backups in one
    batch, node, lease and run in one transaction; docs/operations.rst)."""
    roots = {"TWO": (tmp_path / "two", 2), "FORTY": (tmp_path / "forty", 40)}
    for root, count in roots.values():
        for s in range(count):
            for day in range(3):
                plant(root, f"env/s{s:02d}", today_at() - day * DAY, "db.tar.gz", 100 + s)
    cfg = write_config(tmp_path, {name: {"root": str(root)} for name, (root, _n) in roots.items()},
                       database=backend_url)
    settings = config.load(cfg)
    store = Store(settings.database)
    store.ensure_schema()
    costs = {}
    try:
        for name, (_root, count) in roots.items():
            result, statements, transactions = _collect_counting(store, settings.node(name))
            assert (result.ok, result.added) == (True, 3 * count)
            costs[name] = (statements, transactions)
    finally:
        store.close()

    assert costs["FORTY"] == costs["TWO"]
    statements, transactions = costs["TWO"]
    # begin (node, lease, run, the series' digests), the result with the lease given back
    assert transactions == 2
    assert statements.count("INSERT INTO series") == 1
    assert statements.count("DELETE FROM leases") == 1
    assert len([s for s in statements if s not in ("BEGIN", "SELECT")]) <= 10, statements
    assert query(backend_url, "select count(*) from leases") == [(0,)]
    assert [s for s, _e in run_states(backend_url, "FORTY")] == ["ok"]


@pytest.mark.postgres
def test_the_stores_postgresql_sessions_commit_as_its_sqlite_files_do(pg_url) -> None:
    """synchronous_commit off, whatever the server's default (docs/operations.rst)."""
    database = pg_url.rsplit("/", 1)[1]
    engine = create_engine(pg_url)
    with engine.begin() as conn:  # a server that makes every commit wait for the disk
        conn.exec_driver_sql(f'ALTER DATABASE "{database}" SET synchronous_commit = on')
    engine.dispose()
    assert query(pg_url, "show synchronous_commit") == [("on",)]
    store = Store(pg_url)
    store.ensure_schema()
    try:
        with store.write() as conn:
            assert conn.exec_driver_sql("show synchronous_commit").scalar() == "off"
        with store.read() as conn:
            assert conn.exec_driver_sql("show synchronous_commit").scalar() == "off"
    finally:
        store.close()
