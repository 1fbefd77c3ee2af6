"""What a docs build reads from the store, counted with SQLite's own trace callback.

A build reads and exports only the nodes its pages show; a site whose pages show
none does not open the store; an unchanged store is rebuilt from one query of
change keys, with the findings the last build kept; and kept findings never
outlive the clock: a collection that goes stale with no new run is judged again
(docs/sphinx.rst, "How the page gets its data").
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sphinx.testing.util import SphinxTestApp
from sqlalchemy import Engine, event

from sphinxcontrib_scmmonitor.store import Store, lite
from tests.helpers.sphinx_site import Backups, warnings

CONF = """\
extensions = ["sphinxcontrib_scmmonitor"]
scmmonitor_config = {config!r}
scmmonitor_render = "static"
html_theme = "basic"
"""
#: the statement every read of one node's data starts with (store/reads.py)
_NODE_READ = re.compile(r"FROM nodes\s+WHERE (?:nodes\.)?name = '([^']+)'")


class Trace:
    """Every statement SQLite runs on connections opened while it is installed."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, dbapi_conn: object, _record: object) -> None:
        dbapi_conn.set_trace_callback(self.statements.append)  # type: ignore[attr-defined]

    def take(self) -> list[str]:
        out, self.statements = self.statements, []
        return out


@pytest.fixture
def trace(monkeypatch: pytest.MonkeyPatch) -> Iterator[Trace]:
    """Traces both ways a build opens a store: SQLAlchemy's engines, and sqlite3 itself for
    a plain SQLite file (store/lite.py)."""
    found = Trace()
    real_connect = lite.connect

    def traced(path: str, busy_timeout: float) -> sqlite3.Connection:
        conn = real_connect(path, busy_timeout)
        found(conn, None)
        return conn

    monkeypatch.setattr(lite, "connect", traced)
    event.listen(Engine, "connect", found)
    try:
        yield found
    finally:
        event.remove(Engine, "connect", found)


def node_reads(statements: list[str]) -> list[str]:
    return [m.group(1) for s in statements for m in [_NODE_READ.search(s)] if m]


def backup_reads(statements: list[str]) -> list[str]:
    """Statements that read backup rows (the change-key query only finds the node of each
    content check, walking the checks: not one)."""
    return [s for s in statements if re.search(r"FROM backups\b", s) and "FROM nodes n" not in s]


def site(folder: Path, config: Path, pages: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "conf.py").write_text(CONF.format(config=str(config)))
    for name, body in pages.items():
        (folder / f"{name}.rst").write_text(body)
    return folder


def build(make_app, src: Path) -> SphinxTestApp:  # type: ignore[no-untyped-def]
    """A build as by a new sphinx-build: its own app, the same source and output folders."""
    app = make_app("html", srcdir=src)
    app.build()
    # a second app in one process registers Sphinx's own nodes again: not ours to judge
    assert [w for w in warnings(app) if "is already registered" not in w] == []
    return app


def data_files(app: SphinxTestApp) -> dict[str, tuple[int, int]]:
    data = Path(app.outdir, "_static", "scmmonitor", "data")
    if not data.is_dir():
        return {}
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in data.iterdir()}


INDEX = "Backups\n=======\n\nNo data here.\n\n.. toctree::\n\n   charts\n"


def test_a_site_showing_no_node_never_opens_the_store(tmp_path: Path, make_app) -> None:  # type: ignore[no-untyped-def]
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store's folder would be\n")
    config = tmp_path / "scmmonitor.toml"
    config.write_text(f'database = "sqlite:///{blocker}/store.db"\n\n[hubs.cms02]\n\n'
                      '[nodes.C]\nhub = "cms02"\nhost = "local"\nroot = "/data/C"\n')
    src = site(tmp_path / "docs", config, {"index": "Plain\n=====\n\nNo directive.\n"})
    app = build(make_app, src)  # no warning: the store that cannot open was never opened
    assert data_files(app) == {}
    # the same store read by a page that shows a node: the build says it cannot
    (src / "index.rst").write_text("Plain\n=====\n\n.. scm-backup-status:: C\n")
    app = make_app("html", srcdir=src)
    app.build()
    assert any("cannot" in w and "store.db" in w for w in warnings(app)), warnings(app)


def test_only_the_nodes_the_pages_show_are_read_and_exported(
        tmp_path: Path, make_app, trace: Trace) -> None:  # type: ignore[no-untyped-def]
    backups = Backups(tmp_path / "data", days=8)
    src = site(tmp_path / "docs", backups.config,
               {"index": INDEX, "charts": "Charts\n======\n\n.. scm-backup-chart:: C\n"})
    trace.take()
    app = build(make_app, src)
    first = trace.take()
    # C read once (whole: its data file is written), H1 never
    assert node_reads(first) == ["C"]
    assert sorted(data_files(app)) == ["C.json", "C.json.gz"]

    # unchanged: one query of change keys, no backup row read, no file written
    before = data_files(app)
    app = build(make_app, src)
    again = trace.take()
    assert node_reads(again) == [] and backup_reads(again) == [], again
    assert sum("FROM nodes n" in s for s in again) == 1
    assert data_files(app) == before

    # H1 shown too (a status table): read once, exported; C still not read
    (src / "index.rst").write_text(INDEX + "\n.. scm-backup-status:: H1\n")
    app = build(make_app, src)
    assert node_reads(trace.take()) == ["H1"]
    assert {"C.json", "H1.json", "H1.json.gz"} <= set(data_files(app))
    status = Path(app.outdir, "index.html").read_text()
    assert "H1" in status and "repos/<wbr>env" in status  # a name breaks after "/"

    # the status table gone again: H1's data file goes, nothing is read
    (src / "index.rst").write_text(INDEX)
    app = build(make_app, src)
    assert node_reads(trace.take()) == []
    assert sorted(data_files(app)) == ["C.json", "C.json.gz"]


def test_kept_findings_do_not_outlive_the_clock(tmp_path: Path, make_app,  # type: ignore[no-untyped-def]
                                                trace: Trace) -> None:
    backups = Backups(tmp_path / "data", days=8)
    store = Store(f"sqlite:///{backups.database}")
    observed = max(r.finished_at or 0 for r in store.node_data("C", "cms02").runs)
    store.close()
    # no new run after this: the collection turns stale ~25 s from now by the clock alone
    stale_at = time.time() + 25
    text = backups.config.read_text().replace(
        "[hubs.cms02]", f"[defaults]\nmax_age_hours = {(stale_at - observed) / 3600!r}\n\n"
                        "[hubs.cms02]")
    backups.config.write_text(text)
    src = site(tmp_path / "docs", backups.config,
               {"index": "Status\n======\n\n.. scm-backup-status:: C\n"})
    c_json = Path(src, "_build", "html", "_static", "scmmonitor", "data", "C.json")

    def reasons() -> list[str]:
        return [r["reason"] for r in json.loads(c_json.read_text())["reasons"]]

    trace.take()
    app = build(make_app, src)
    assert time.time() < stale_at, "the first build took too long to test anything"
    page = Path(app.outdir, "index.html").read_text()
    assert "collector-stale" not in page and "collector-stale" not in reasons()
    assert node_reads(trace.take()) == ["C"]
    build(make_app, src)  # still in time: the kept findings hold, nothing is read
    assert time.time() < stale_at
    assert node_reads(trace.take()) == []

    time.sleep(max(0.0, stale_at - time.time()) + 1)
    app = build(make_app, src)  # the same store, later: judged again, and it says so
    assert node_reads(trace.take()) == ["C"]
    page = Path(app.outdir, "index.html").read_text()
    assert "collector-stale" in page
    assert "collector-stale" in reasons()


# --- how long findings hold with no new data (checks.same_findings_until), pure ----------------


@pytest.mark.parametrize(("newest_age_h", "judged_after_h", "until_h"), [
    (1, 0.2, 24),       # fresh: until the collection is max_age_hours old
    (30, 0.2, 1),       # a stale series: until its detail says "as of the last good listing"
    (30, 2, None),      # ... which it says already: judged again every time
    (1, 25, None),      # collector-stale already: its detail counts the age
])
def test_findings_hold_exactly_as_long_as_the_clock_cannot_change_them(
        newest_age_h: float, judged_after_h: float, until_h: float | None) -> None:
    from sphinxcontrib_scmmonitor.checks import check_node, same_findings_until
    from tests.helpers.node_data import HOUR, NOW, daily, node_data, node_settings, run, series

    node = node_settings(max_age_hours=24)
    data = node_data(series("repos/env", *daily(NOW - newest_age_h * HOUR, *[10**9] * 10)),
                     runs=[run(NOW)])  # observed at NOW, and no collection after it
    judged_at = NOW + judged_after_h * HOUR
    found = check_node(node, data, judged_at)
    until = same_findings_until(node, found, judged_at)
    if until_h is None:
        assert until == judged_at
        return
    assert until == NOW + until_h * HOUR
    for t in (judged_at + 1, (judged_at + until) / 2, until - 1):
        assert check_node(node, data, t) == found
    # and just after, they differ: the limit is the checks' own, not a cautious guess
    assert check_node(node, data, until + 1) != found


def test_a_node_never_collected_is_judged_every_time() -> None:
    from sphinxcontrib_scmmonitor.checks import check_node, same_findings_until
    from tests.helpers.node_data import NOW, node_data, node_settings

    node = node_settings()
    found = check_node(node, node_data(runs=[]), NOW)
    assert same_findings_until(node, found, NOW) == NOW


def test_loading_the_extension_loads_no_database_layer() -> None:
    # a site whose pages show no node pays for Sphinx only (BENCHMARKS.md row 12)
    import subprocess
    import sys

    code = ("import sys, sphinxcontrib_scmmonitor.sphinxext; "
            "print(sorted(m for m in sys.modules if m.startswith('sqlalchemy'))[:3])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parent.parent).stdout
    assert out.strip() == "[]"


def test_a_rebuild_over_an_unchanged_sqlite_store_loads_no_sqlalchemy(tmp_path: Path) -> None:
    """The change keys and kept findings are read with sqlite3 (store/lite.py): a rebuild
    whose data did not change pays no SQLAlchemy import, as a whole sphinx-build."""
    import subprocess
    import sys

    backups = Backups(tmp_path / "data", days=8)
    src = site(tmp_path / "docs", backups.config,
               {"index": INDEX + "\n.. scm-backup-status::\n",
                "charts": "Charts\n======\n\n.. scm-backup-chart:: C\n"})
    code = ("import sys; from sphinx.cmd.build import build_main; "
            "code = build_main(['-q', '-b', 'html', sys.argv[1], sys.argv[2]]); "
            "print(code, sorted(m for m in sys.modules if m.startswith('sqlalchemy'))[:2])")
    out = tmp_path / "html"

    def sphinx_build() -> str:
        return subprocess.run([sys.executable, "-c", code, str(src), str(out)],
                              capture_output=True, text=True, check=True,
                              cwd=Path(__file__).resolve().parent.parent).stdout.strip()

    first = sphinx_build()
    assert first.startswith("0 "), first  # the first build reads the nodes whole
    assert sphinx_build() == "0 []"
    assert "repos/<wbr>env" in (out / "index.html").read_text()  # the table is still there


def test_the_change_key_moves_with_every_write_a_node_data_read_sees(backend_url: str) -> None:
    from sphinxcontrib_scmmonitor.store import Changes, Record
    from sphinxcontrib_scmmonitor.store.queries import NEVER

    store = Store(backend_url)
    store.ensure_schema()
    try:
        assert store.change_keys(["C", "H1"]) == {"C": NEVER, "H1": NEVER}
        node = store.ensure_node("C", "cms02")
        store.ensure_node("H1", "cms02")
        seen = [store.change_keys(["C"])["C"]]
        run = store.start_run(node, 100.0)
        seen.append(store.change_keys(["C"])["C"])
        path = b"/r/tracs/env/2012/11/13/161002/env.tar.gz"
        store.finish_run(node, run, changes=Changes(added=[
            Record(path, b"tracs/env", 1_352_794_202, 70, 1.5)]), complete=True, ok=True,
            error=None, method="local", files_seen=1, unparsed=0, unparsed_sample=None,
            now=101.0)
        seen.append(store.change_keys(["C"])["C"])
        store.record_sha256("C", {path: "0" * 64}, checked_at=102)
        seen.append(store.change_keys(["C"])["C"])
        store.rename_hub("cms02", "cms03")
        seen.append(store.change_keys(["C"])["C"])
        assert len(set(seen)) == len(seen), seen
        # H1's own key did not move with C's writes, but for the hub both were renamed in
        assert store.change_keys(["H1"])["H1"][0] == "cms03"
        assert store.change_keys(["C"])["C"] == seen[-1]  # a read changes nothing
    finally:
        store.close()
