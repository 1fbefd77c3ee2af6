"""Stores of other versions: a 0.1.0 store upgrades keeping every row, a newer one is refused."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from sphinxcontrib_scmmonitor import cli
from sphinxcontrib_scmmonitor.store import Store
from tests.helpers.store import head_revision

#: written by 0.1.0 (tests/data/make-store-0.1.0.py): 3 nodes, gone files, failed runs, alerts
STORE_0_1_0 = Path(__file__).parent / "data" / "store-0.1.0.sqlite"
OLD_TABLES = ("nodes", "series", "backups", "runs", "notifications")


def tables(db: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(db) as conn:
        names = [r[0] for r in conn.execute("select name from sqlite_master where type = "
                                            "'table' order by name")]
        return {t: sorted(conn.execute(f"select * from {t}").fetchall(), key=repr) for t in names}


def write_config(folder: Path, url: str) -> Path:
    cfg = folder / "scmmonitor.toml"
    cfg.write_text(f'database = "{url}"\n\n[hubs.cms02]\n\n[hubs.hub2]\n\n'
                   '[nodes.cms01]\nhub = "cms02"\nhost = "local"\nroot = "/nonexistent"\n\n'
                   '[nodes.dyb]\nhub = "cms02"\nhost = "local"\nroot = "/nonexistent"\n\n'
                   '[nodes."cms02-copy"]\nhub = "hub2"\nhost = "local"\n'
                   'root = "/nonexistent"\n')
    return cfg


def scm_monitor(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sphinxcontrib_scmmonitor.cli", *args],
                          capture_output=True, text=True, timeout=120)


def test_db_upgrade_of_a_0_1_0_store_keeps_every_row_and_the_new_code_reads_it(
        tmp_path) -> None:
    db = tmp_path / "store.db"
    shutil.copy(STORE_0_1_0, db)
    before = tables(db)
    assert before["alembic_version"] == [("0002",)]
    assert {t: len(before[t]) for t in OLD_TABLES} == \
        {"nodes": 3, "series": 9, "backups": 111, "runs": 13, "notifications": 2}
    cfg = write_config(tmp_path, f"sqlite:///{db}")

    done = scm_monitor("-c", str(cfg), "db", "upgrade")

    assert done.returncode == 0, done.stderr
    assert done.stdout == f"sqlite:///{db}: schema upgraded from 0002 to {head_revision()}\n"
    after = tables(db)
    for table in OLD_TABLES:
        if table != "nodes":
            assert after[table] == before[table], table
    # nodes gained the root its paths were listed under, read back from those paths
    assert [row[:-1] for row in after["nodes"]] == before["nodes"]
    with sqlite3.connect(db) as conn:
        for node_id, root in conn.execute("select id, root from nodes"):
            paths = [bytes(p) for (p,) in conn.execute(
                "select path from backups where node_id = ?", (node_id,))]
            name = conn.execute("select name from nodes where id = ?", (node_id,)).fetchone()[0]
            assert bytes(root).endswith(b"/trees/" + name.encode() + b"/")
            assert paths and all(p.startswith(bytes(root)) for p in paths)
    assert after["alembic_version"] == [(head_revision(),)]
    assert after["leases"] == [] and after["verifications"] == []
    assert after["verify_missing"] == []

    store = Store(f"sqlite:///{db}")
    store.ensure_schema(create=False)
    dyb = store.node_data("dyb")
    cms01 = store.node_data("cms01")
    store.close()
    assert [s.name for s in dyb.series] == ["repos/\\xff-odd", "svn/dybsvn", "tracs/env"]
    assert sum(len(s.backups) for s in dyb.series) == 37
    assert sum(b.gone_at is not None for s in cms01.series for b in s.backups) == 4
    assert all(b.path.startswith(b"/") and b.first_seen_at for s in dyb.series
               for b in s.backups)
    assert [r.state for r in dyb.runs] == ["ok", "ok", "ok", "interrupted", "ok"]
    # and every command that opens it works on the upgraded store
    status = scm_monitor("-c", str(cfg), "status")
    assert status.stdout.startswith("SCM BACKUPS ") and "Traceback" not in status.stderr


@pytest.fixture
def newer_store(backend_url: str, tmp_path: Path) -> tuple[str, Path]:
    """A store whose schema a later release moved to a revision this one does not ship."""
    store = Store(backend_url)
    store.ensure_schema()
    with store.engine.begin() as conn:
        conn.exec_driver_sql("update alembic_version set version_num = '0099_future'")
    store.close()
    return backend_url, write_config(tmp_path, backend_url)


def test_a_store_of_a_newer_version_is_refused_by_every_command(newer_store) -> None:
    url, cfg = newer_store
    said = "this database was written by a newer scm-monitor (revision 0099_future): " \
           "upgrade the package"

    upgrade = scm_monitor("-c", str(cfg), "db", "upgrade")
    assert upgrade.returncode == 1
    assert said in upgrade.stderr and upgrade.stderr.count("\n") == 1
    assert "Can't locate revision" not in upgrade.stderr and "Traceback" not in upgrade.stderr

    status = scm_monitor("-c", str(cfg), "status")
    assert status.returncode == 3
    assert status.stdout.startswith("SCM BACKUPS UNKNOWN: cannot read the store: ")
    assert said in status.stdout

    for command in (["collect"], ["notify", "--dry-run"], ["db", "rename-hub", "x", "hub2"]):
        done = scm_monitor("-c", str(cfg), *command)
        assert done.returncode != 0, command
        assert said in done.stderr + done.stdout, command
        assert "Traceback" not in done.stderr, command
    # nothing was changed by any of them
    store = Store(url)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("select version_num from alembic_version").all() == \
            [("0099_future",)]
    store.close()


def test_cli_db_upgrade_in_process_says_the_same(newer_store, capsys) -> None:
    _url, cfg = newer_store
    assert cli.main(["-c", str(cfg), "db", "upgrade"]) == 1
    assert "written by a newer scm-monitor (revision 0099_future)" in capsys.readouterr().err


def test_the_migrations_build_exactly_the_tables_the_code_declares(backend_url) -> None:
    """Alembic's autogenerate finds nothing to add: tables.py and migrations/ agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from sphinxcontrib_scmmonitor.store.tables import metadata

    store = Store(backend_url)
    store.ensure_schema()
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    store.close()
    assert diff == []


def _rows(url: str) -> dict[str, list[tuple]]:
    store = Store(url)
    with store.engine.connect() as conn:
        out = {t: sorted(map(tuple, conn.exec_driver_sql(f"select * from {t}")), key=repr)
               for t in (*OLD_TABLES, "verifications", "leases", "verify_missing")}
    store.close()
    return out


def test_upgrade_to_one_backup_key_keeps_every_row_and_the_content_checks(backend_url) -> None:
    """0004 -> 0005 rebuilds ``backups`` on SQLite; the results that refer to it stay."""
    from sqlalchemy.exc import IntegrityError

    from sphinxcontrib_scmmonitor.store import tables as t
    from tests.helpers.store import upgrade_to

    upgrade_to(backend_url, "0004")
    store = Store(backend_url)
    backup = {"first_seen_at": 10, "last_seen_at": 10, "gone_at": None}
    with store.engine.begin() as conn:
        conn.execute(t.nodes.insert(), [{"id": 1, "name": "cms01", "hub": "cms02"},
                                        {"id": 2, "name": "dyb", "hub": "cms02"}])
        conn.execute(t.series.insert(), [{"id": i, "node_id": n, "raw_name": r, "name": r.decode()}
                                         for i, n, r in ((1, 1, b"a"), (2, 1, b"b"), (3, 2, b"a"))])
        conn.execute(t.runs.insert(), {"node_id": 1, "started_at": 10, "finished_at": 11,
                                       "state": "ok"})
        conn.execute(t.backups.insert(), [
            {**backup, "id": 1, "node_id": 1, "series_id": 1, "path": b"/r/a/1.gz",
             "backup_at": 100, "size": 5, "mtime": 1.5},
            {**backup, "id": 2, "node_id": 1, "series_id": 1, "path": b"/r/a/2.gz",
             "backup_at": 200, "size": 6, "mtime": 2.5, "gone_at": 20},
            {**backup, "id": 3, "node_id": 1, "series_id": 2, "path": b"/r/b/1.gz",
             "backup_at": 100, "size": 7, "mtime": 3.5},
            {**backup, "id": 4, "node_id": 2, "series_id": 3, "path": b"/r/a/1.gz",
             "backup_at": 100, "size": 8, "mtime": 4.5}])
        conn.execute(t.verifications.insert(), [
            {"backup_id": 1, "size": 5, "mtime": 1.5, "sha256": "ab", "gzip_ok": True,
             "gzip_error": None, "checked_at": 30},
            {"backup_id": 4, "size": 8, "mtime": 4.5, "sha256": None, "gzip_ok": False,
             "gzip_error": "crc error", "checked_at": 31}])
        conn.execute(t.verify_missing.insert(), {"node_id": 2, "tool": "gzip", "since": 40})
    store.close()
    before = _rows(backend_url)

    store = Store(backend_url)
    assert store.upgrade() == ("0004", head_revision())
    data = store.node_data("cms01")
    store.close()

    after = _rows(backend_url)
    # 0006 adds each node's root, read back from its stored paths; every other value stays
    assert after["nodes"] == [(*row, b"/r/") for row in before["nodes"]]
    assert {k: v for k, v in after.items() if k != "nodes"} == \
        {k: v for k, v in before.items() if k != "nodes"}
    assert set(data.verified) == {b"/r/a/1.gz"} and data.verified[b"/r/a/1.gz"].sha256 == "ab"
    # the one key holds a backup to its series' node, and to a series that exists
    store = Store(backend_url)
    for node_id, series_id in ((2, 1), (1, 9)):
        with pytest.raises(IntegrityError), store.engine.begin() as conn:
            conn.execute(t.backups.insert(), {**backup, "node_id": node_id,
                                              "series_id": series_id, "path": b"/x",
                                              "backup_at": 1, "size": 1, "mtime": 1.0})
    store.close()
