"""The store on a real SQLite file: schema by Alembic, WAL, and history that is never lost."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from sphinxcontrib_scmmonitor import cli, config
from sphinxcontrib_scmmonitor.store import Store, StoreError
from tests.helpers.backups import (
    DAY,
    build_tree,
    collect,
    plant,
    present,
    runs,
    today_at,
    write_config,
)
from tests.helpers.store import head_revision, upgrade_to
from tests.privileges import as_nobody

VENV_BIN = Path(sys.executable).parent


def dump(db: Path, table: str, *, without: tuple[str, ...] = ()) -> list[tuple]:
    """Every row of a table, every column but ``without``, in id order."""
    with sqlite3.connect(db) as conn:
        cols = [r[1] for r in conn.execute(f"pragma table_info({table})")
                if r[1] not in without]
        return conn.execute(f"select {', '.join(cols)} from {table} order by 1").fetchall()


def backup_row(db: Path, path: bytes) -> dict:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return dict(conn.execute("select * from backups where path = ?", (path,)).fetchone())


@pytest.fixture
def node(tmp_path: Path) -> tuple[Path, Path, dict[bytes, tuple[int, int]]]:
    """(config, backup root, files) of one local node C over a freshly built tree."""
    root = tmp_path / "backup"
    files = build_tree(root)
    return write_config(tmp_path, {"C": {"root": str(root)}}), root, files


# --- schema ---------------------------------------------------------------------------------


def test_fresh_sqlite_file_gets_the_schema_from_alembic(tmp_path) -> None:
    db = tmp_path / "new.db"
    store = Store(f"sqlite:///{db}")
    store.ensure_schema()
    store.close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("select version_num from alembic_version").fetchall() == \
            [(head_revision(),)]
        tables = {r[0] for r in conn.execute("select name from sqlite_master "
                                             "where type = 'table'")}
    assert {"nodes", "series", "backups", "runs", "alembic_version"} <= tables


def test_collect_on_a_fresh_file_creates_the_schema(tmp_path, node) -> None:
    cfg, _root, _files = node
    assert collect(cfg) == 0
    with sqlite3.connect(tmp_path / "store.db") as conn:
        assert conn.execute("select version_num from alembic_version").fetchone()[0] == \
            head_revision()


def test_db_upgrade_on_an_empty_and_on_an_up_to_date_database(tmp_path, capsys) -> None:
    db = tmp_path / "scm.db"
    cfg = write_config(tmp_path, {"C": {"root": "/srv"}}, database=f"sqlite:///{db}")
    head = head_revision()

    assert cli.main(["-c", str(cfg), "db", "upgrade"]) == 0
    assert capsys.readouterr().out == f"sqlite:///{db}: schema upgraded from empty to {head}\n"

    assert cli.main(["-c", str(cfg), "db", "upgrade"]) == 0
    assert capsys.readouterr().out == f"sqlite:///{db}: schema is up to date ({head})\n"


def test_db_upgrade_that_cannot_create_the_file_exits_1_with_a_message(tmp_path, capsys) -> None:
    (tmp_path / "a-file").write_text("")
    db = tmp_path / "a-file" / "scm.db"
    cfg = write_config(tmp_path, {"C": {"root": "/srv"}}, database=f"sqlite:///{db}")
    assert cli.main(["-c", str(cfg), "db", "upgrade"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("scm-monitor: ") and str(db) in err and err.count("\n") == 1


def test_store_refuses_a_database_it_cannot_create(tmp_path) -> None:
    (tmp_path / "a-file").write_text("")
    with pytest.raises(StoreError, match="cannot create"):
        Store(f"sqlite:///{tmp_path / 'a-file' / 'scm.db'}")


def test_store_refuses_a_bad_url() -> None:
    with pytest.raises(StoreError, match="not valid"):
        Store("no url at all")


def test_an_older_schema_is_refused_until_upgraded(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade_to(url, "0001")
    store = Store(url)
    with pytest.raises(StoreError, match=r"has schema 0001, this version needs .*: run "
                                         r"`scm-monitor db upgrade` first"):
        store.ensure_schema()
    assert store.upgrade() == ("0001", head_revision())
    store.ensure_schema()
    store.close()


# --- SQLite set-up --------------------------------------------------------------------------


def test_wal_mode_and_busy_timeout_are_on(tmp_path, node) -> None:
    cfg, _root, _files = node
    assert collect(cfg) == 0
    with sqlite3.connect(tmp_path / "store.db") as conn:
        assert conn.execute("pragma journal_mode").fetchone()[0] == "wal"
    store = Store(config.load(cfg).database)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("pragma busy_timeout").scalar() == 30_000
        assert conn.exec_driver_sql("pragma journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("pragma foreign_keys").scalar() == 1
    store.close()


def test_database_file_is_created_owner_and_group_only(tmp_path, node) -> None:
    cfg, _root, _files = node
    old = os.umask(0)  # even with a permissive umask
    try:
        assert collect(cfg) == 0
    finally:
        os.umask(old)
    for name in ("store.db", "store.db-wal", "store.db-shm"):
        path = tmp_path / name
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) == 0o640, name


def test_a_reader_can_read_while_a_writer_holds_a_transaction(tmp_path, node) -> None:
    cfg, _root, files = node
    assert collect(cfg) == 0
    url = config.load(cfg).database
    writer, reader = Store(url), Store(url)
    with writer.write() as conn:
        conn.exec_driver_sql("update backups set size = size + 1")
        data = reader.node_data("C")  # WAL: not blocked, sees the last commit
        assert sum(len(s.backups) for s in data.series) == len(files)
        assert {p: s for p, (s, _a, _m) in present(tmp_path / "store.db").items()} == \
            {p: s for p, (s, _a) in files.items()}
    writer.close()
    reader.close()


# --- history --------------------------------------------------------------------------------


def test_recollecting_an_unchanged_tree_changes_nothing_but_last_seen(tmp_path, node) -> None:
    cfg, _root, _files = node
    db = tmp_path / "store.db"
    assert collect(cfg) == 0
    before = {t: dump(db, t, without=("last_seen_at",)) for t in ("nodes", "series", "backups")}
    seen_before = dump(db, "backups")

    assert collect(cfg) == 0

    after = {t: dump(db, t, without=("last_seen_at",)) for t in ("nodes", "series", "backups")}
    assert after == before
    assert len(seen_before) == len(dump(db, "backups"))
    second = runs(db, "C")[-1]
    assert (second["state"], second["added"], second["changed"], second["gone"]) == \
        ("ok", 0, 0, 0)
    assert len(runs(db, "C")) == 2


def test_deleted_file_is_marked_gone_and_comes_back_when_it_reappears(tmp_path, node) -> None:
    cfg, _root, files = node
    db = tmp_path / "store.db"
    assert collect(cfg) == 0
    victim = min(p for p in files if b"dybsvn" in p)
    kept = victim + b".kept"
    os.rename(victim, kept)

    assert collect(cfg) == 0
    row = backup_row(db, victim)
    assert row["gone_at"] is not None
    assert runs(db, "C")[-1]["gone"] == 1
    assert victim not in present(db) and len(present(db)) == len(files) - 1

    os.rename(kept, victim)
    assert collect(cfg) == 0
    back = backup_row(db, victim)
    assert back["gone_at"] is None
    assert (back["id"], back["first_seen_at"], back["size"]) == \
        (row["id"], row["first_seen_at"], row["size"])
    assert runs(db, "C")[-1]["changed"] == 1


def test_changed_size_is_updated_in_place(tmp_path, node) -> None:
    cfg, _root, files = node
    db = tmp_path / "store.db"
    assert collect(cfg) == 0
    path = next(p for p in files if b"repos/env" in p)
    before = backup_row(db, path)
    os.truncate(path, 12345)
    assert collect(cfg) == 0
    after = backup_row(db, path)
    assert after["size"] == 12345
    assert (after["id"], after["first_seen_at"], after["backup_at"]) == \
        (before["id"], before["first_seen_at"], before["backup_at"])
    assert runs(db, "C")[-1]["changed"] == 1


def test_two_files_in_one_dated_folder_are_one_backup_summed(tmp_path, node) -> None:
    cfg, _root, files = node
    assert collect(cfg) == 0
    store = Store(config.load(cfg).database)
    series = {s.name: s for s in store.node_data("C").series}
    store.close()
    repos = series["repos/env"]
    assert len(repos.backups) == 2  # each file is still stored
    [(at, total)] = repos.totals()
    assert total == 77 + 23
    assert at == today_at() - DAY
    assert series["tracs/env"].totals() == \
        sorted((a, s) for p, (s, a) in files.items() if b"tracs" in p)


def test_totals_can_leave_out_gone_backups(tmp_path, node) -> None:
    cfg, _root, files = node
    assert collect(cfg) == 0
    oldest = min((a, p) for p, (_s, a) in files.items() if b"tracs" in p)[1]
    os.unlink(oldest)
    assert collect(cfg) == 0
    store = Store(config.load(cfg).database)
    tracs = next(s for s in store.node_data("C").series if s.name == "tracs/env")
    store.close()
    assert len(tracs.totals()) == 5
    assert len(tracs.totals(present_only=True)) == 4


def test_a_run_killed_midway_is_recorded_as_interrupted(tmp_path, node) -> None:
    cfg, _root, files = node
    url = config.load(cfg).database
    # a collector that started a run and was then killed with SIGKILL
    script = ("import os, signal, time\n"
              "from sphinxcontrib_scmmonitor.store import Store\n"
              f"store = Store({url!r}); store.ensure_schema()\n"
              "store.start_run(store.ensure_node('C', 'cms02'), time.time())\n"
              "os.kill(os.getpid(), signal.SIGKILL)\n")
    proc = subprocess.run([sys.executable, "-c", script], timeout=60)
    assert proc.returncode == -9
    assert [r["state"] for r in runs(tmp_path / "store.db", "C")] == ["running"]

    assert collect(cfg) == 0

    killed, good = runs(tmp_path / "store.db", "C")
    assert killed["state"] == "interrupted"
    assert "stopped before finishing" in killed["error"]
    assert good["state"] == "ok" and good["added"] == len(files)


def test_start_run_then_a_new_collection_marks_the_first_interrupted(tmp_path, node) -> None:
    cfg, _root, _files = node
    store = Store(config.load(cfg).database)
    store.ensure_schema()
    store.start_run(store.ensure_node("C", "cms02"), 1.0)
    store.close()
    assert collect(cfg) == 0
    assert [r["state"] for r in runs(tmp_path / "store.db", "C")] == ["interrupted", "ok"]


# --- a partial listing marks nothing gone ------------------------------------------------------


def test_partial_listing_marks_nothing_gone_and_stores_what_it_could_read(shared_dir) -> None:
    root = shared_dir / "backup"
    newest = today_at()
    kept = {plant(root, "repos/env", newest - d * DAY, "env.tar.gz", 100 + d) for d in range(3)}
    hidden = {plant(root, "tracs/env", newest - d * DAY, "env.tar.gz", 200 + d)
              for d in range(3)}
    for dirpath, _dirs, _files in os.walk(shared_dir):
        os.chmod(dirpath, 0o777)
    cfg = write_config(shared_dir, {"C": {"root": str(root)}})
    cfg.chmod(0o644)
    db = shared_dir / "store.db"
    command = as_nobody([str(VENV_BIN / "scm-monitor"), "-c", str(cfg), "collect",
                          "--progress", "lines"])

    first = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd="/")
    assert first.returncode == 0, first.stderr
    assert set(present(db)) == kept | hidden

    unreadable = root / "tracs" / "env"
    unreadable.chmod(0)
    new = plant(root, "repos/env", newest + 60, "env.tar.gz", 999)
    os.chmod(os.path.dirname(new), 0o777)
    try:
        second = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd="/")
    finally:
        unreadable.chmod(0o777)

    assert second.returncode == 1
    assert "1 of 1 node(s) failed: C" in second.stderr
    assert set(present(db)) == kept | hidden | {new}  # nothing gone, the new one stored
    run = runs(db, "C")[-1]
    assert run["state"] == "failed" and run["gone"] == 0 and run["added"] == 1
    assert run["error"] == (f"partial listing, nothing marked gone: cannot list {unreadable}: "
                            "Permission denied")
