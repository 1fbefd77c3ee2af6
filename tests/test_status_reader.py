"""``status``'s reader: an SQLite store read with sqlite3 gives what SQLAlchemy gives.

docs/operations.rst ("Large stores"): ``status`` on an SQLite file reads it
without SQLAlchemy (``store/lite.py``), running the same SQL text as ``Store``
(``store/queries.py``); every other URL opens a ``Store``. Both must hand the
checks the same data, say the same about a missing, older or newer store, and
the recent read must keep the content checks' results of every file it reads.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import insert

from sphinxcontrib_scmmonitor.checks import evaluate
from sphinxcontrib_scmmonitor.store import Store, StoreError, open_reader
from sphinxcontrib_scmmonitor.store.lite import LiteStore, sqlite_file
from sphinxcontrib_scmmonitor.store.tables import metadata
from tests import backup_nights as bn
from tests.helpers.modelled_store import full_report, modelled_settings, modelled_store
from tests.helpers.store import upgrade_to

WINDOW = (bn.Limits().gap_days + 1) * bn.DAY


@pytest.fixture
def modelled(tmp_path: Path) -> tuple[Path, list[bn.Observed]]:
    """A year of a source and two copies, with content checks' results on some files."""
    observed = bn.observe_all(bn.healthy_year(), bn.three_nodes())
    store = modelled_store(tmp_path, observed)
    for o in observed:
        every = [b for s in o.series for b in s.backups]
        present = [b.path for b in every if b.gone_at is None]
        gone = [b.path for b in every if b.gone_at is not None]
        # the newest present file fails gzip -t; old gone files were checked long ago
        store.record_gzip(o.node.name, {present[-1]: "unexpected end of file",
                                        **dict.fromkeys(present[:-1])}, checked_at=bn.END)
        store.record_sha256(o.node.name, {p: f"{i:064x}" for i, p in enumerate(gone[:40])},
                            checked_at=bn.END)
    store.close()
    return tmp_path / "scm.db", observed


def test_the_sqlite3_reader_reads_what_sqlalchemy_reads(modelled) -> None:
    db, observed = modelled
    url = f"sqlite:///{db}"
    lite, store = open_reader(url), Store(url, create=False)
    assert isinstance(lite, LiteStore)
    for o in observed:
        name = o.node.name
        assert lite.node_data(name, "cms02") == store.node_data(name, "cms02")
        assert lite.recent_node_data(name, "cms02", window_s=WINDOW) == \
            store.recent_node_data(name, "cms02", window_s=WINDOW)
        assert lite.node_data(name, "other-hub") == store.node_data(name, "other-hub")
    assert lite.node_data("nowhere") == store.node_data("nowhere")
    store.record_notification("cms02", "alarm", "f1", 1234.5)
    assert lite.last_notification("cms02") == store.last_notification("cms02") \
        == ("alarm", "f1", 1234.5)
    assert lite.last_notification("none") is None
    lite.close()
    store.close()


def test_the_recent_read_keeps_the_checks_results_of_every_file_it_reads(modelled) -> None:
    db, observed = modelled
    settings = modelled_settings(db, bn.three_nodes())
    lite = open_reader(f"sqlite:///{db}")
    for o in observed[1:]:  # the copies: the source is read whole
        full = lite.node_data(o.node.name, "cms02")
        recent = lite.recent_node_data(o.node.name, "cms02", window_s=WINDOW)
        read = {b.path for s in recent.series for b in s.backups}
        assert recent.verified == {p: v for p, v in full.verified.items() if p in read}
        # every present file is among them, and the old gone ones are left in the store
        assert all(b.path in recent.verified for s in full.series for b in s.backups
                   if b.gone_at is None)
        assert len(recent.verified) < len(full.verified)
        assert any(v.gzip_ok is False for v in recent.verified.values())
    report = evaluate(settings, lite, now=bn.END)
    assert report == full_report(settings, Store(f"sqlite:///{db}"), bn.END)
    assert any(r.reason == "corrupt" for n in report.nodes for s in n.series for r in s.reasons)


@pytest.mark.postgres
def test_postgresql_reads_the_same_through_sqlalchemy(modelled, pg_url: str) -> None:
    db, observed = modelled
    pg = Store(pg_url)
    pg.ensure_schema()
    source = sqlite3.connect(db)
    with pg.engine.begin() as conn:
        for table in metadata.sorted_tables:  # parents first: the foreign keys hold
            cols = [c.name for c in table.columns]
            rows = source.execute(f"SELECT {', '.join(cols)} FROM {table.name}").fetchall()
            if rows:
                conn.execute(insert(table), [dict(zip(cols, r, strict=True)) for r in rows])
    source.close()
    lite = open_reader(f"sqlite:///{db}")
    for o in observed:
        name = o.node.name
        assert pg.node_data(name, "cms02") == lite.node_data(name, "cms02")
        assert pg.recent_node_data(name, "cms02", window_s=WINDOW) == \
            lite.recent_node_data(name, "cms02", window_s=WINDOW)
    pg.close()


@pytest.mark.parametrize("url", ["sqlite:///{db}?timeout=5", "sqlite://", "sqlite:///:memory:",
                                 "sqlite:///{dir}/caf\u00e9.db", "sqlite:///{dir}/a#b.db"])
def test_other_urls_are_opened_through_sqlalchemy(tmp_path: Path, url: str) -> None:
    url = url.format(db=tmp_path / "scm.db", dir=tmp_path)
    assert sqlite_file(url) is None
    if url.startswith("sqlite:///" + str(tmp_path)):
        Store(url).ensure_schema()
    try:
        reader = open_reader(url)
    except StoreError as exc:  # memory: no schema yet, said by Store as ever
        assert "has no schema yet" in str(exc)
        return
    assert isinstance(reader, Store)
    reader.close()


def test_a_missing_file_and_a_broken_one_are_told_as_sqlalchemy_tells_them(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nowhere.db'}"
    with pytest.raises(StoreError) as lite_said:
        open_reader(url)
    with pytest.raises(StoreError) as store_said:
        Store(url, create=False)
    assert str(lite_said.value) == str(store_said.value)
    assert "does not exist yet: run `scm-monitor collect`" in str(lite_said.value)
    assert not (tmp_path / "nowhere.db").exists()

    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    url = f"sqlite:///{junk}"
    with pytest.raises(StoreError) as lite_said:
        open_reader(url)
    with pytest.raises(StoreError) as store_said:
        Store(url, create=False).ensure_schema(create=False)
    assert str(lite_said.value) == str(store_said.value)
    assert str(lite_said.value) == f"cannot open database {url}: file is not a database"


@pytest.mark.parametrize("revision", [None, "0001", "0099_future"])
def test_an_empty_older_or_newer_schema_is_refused_in_the_same_words(
        tmp_path: Path, revision: str | None) -> None:
    db = tmp_path / "scm.db"
    url = f"sqlite:///{db}"
    if revision == "0001":
        upgrade_to(url, "0001")
    elif revision is not None:
        Store(url).ensure_schema()
        with sqlite3.connect(db) as conn:
            conn.execute("UPDATE alembic_version SET version_num = ?", (revision,))
    else:
        sqlite3.connect(db).close()  # a file without tables
    with pytest.raises(StoreError) as lite_said:
        open_reader(url)
    with pytest.raises(StoreError) as store_said:
        Store(url, create=False).ensure_schema(create=False)
    assert str(lite_said.value) == str(store_said.value)
    assert str(lite_said.value).startswith(f"database {url}")


def test_the_reader_sets_sqlite_up_as_the_store_does(tmp_path: Path) -> None:
    db = tmp_path / "scm.db"
    Store(f"sqlite:///{db}").ensure_schema()
    lite = LiteStore(f"sqlite:///{db}", str(db), busy_timeout=2.5)
    with lite.read():
        conn = lite._connection()
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 2500
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.in_transaction  # one snapshot for every statement of a read
    assert not conn.in_transaction
    lite.close()


_AS_READER = """\
import sys
from sphinxcontrib_scmmonitor.store import Store, StoreError, open_reader
url = sys.argv[1]
said = []
for opener in (open_reader, lambda u: Store(u, create=False)):
    try:
        store = opener(url)
        if isinstance(store, Store):
            store.ensure_schema(create=False)
        said.append(repr(store.recent_node_data("C", window_s=86400 * 8)))
    except StoreError as exc:
        said.append(str(exc))
print(said[0] == said[1], said[0][:200], "|", said[1][:200])
"""


def test_a_user_who_may_only_read_the_store_reads_it_as_sqlalchemy_would(
        shared_dir: Path) -> None:
    """Nagios' user may be one that can read the store but write nothing there."""
    from tests.helpers.backups import collect, plant, today_at, write_config
    from tests.privileges import as_nobody

    root = shared_dir / "backup"
    plant(root, "repos/env", today_at(), "env.tar.gz", 7)
    cfg = write_config(shared_dir, {"C": {"root": str(root)}})
    assert collect(cfg) == 0
    for path in shared_dir.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    proc = subprocess.run(as_nobody([sys.executable, "-c", _AS_READER,
                                     f"sqlite:///{shared_dir / 'store.db'}"]),
                          capture_output=True, text=True, timeout=120, cwd="/")
    assert proc.returncode == 0, proc.stderr
    same, said = proc.stdout.split(" ", 1)
    assert same == "True", said
    # today a WAL store needs its -shm file writable: both say so in one sentence
    assert said.startswith(("NodeData(name='C'", "cannot open database sqlite:///")), said
    assert "Traceback" not in proc.stderr
