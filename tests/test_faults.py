"""Fault catalogue (docs/reliability.rst): each fault made real, what users see, what is stored.

Real parts only: throwaway OpenSSH servers on 127.0.0.1 (tests/sshd.py), a socket
that accepts and stays silent, SIGKILL, files unreadable to an unprivileged user,
a tiny or read-only tmpfs, a SQLite writer holding its lock, and a real
PostgreSQL (tests/pg.py). docs/reliability.rst has the table: fault -> what the
user sees -> what is stored -> the test below that proves it.

The SSH nodes run a stand-in ``find`` first in their PATH (``FAKE_FIND``) that
does what the real one does unless told to misbehave: stream slowly and stall,
print garbage, run as ``nobody``, or be missing (so the collector walks SFTP).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from sphinxcontrib_scmmonitor import cli, config
from sphinxcontrib_scmmonitor.collect import collect_all, collect_node
from sphinxcontrib_scmmonitor.collect.local import LocalLister
from sphinxcontrib_scmmonitor.pictures import write_manifest
from sphinxcontrib_scmmonitor.store import Store, StoreError, engine
from tests.helpers.backups import (
    HOSTILE_NAMES,
    build_tree,
    html_output,
    plant,
    present,
    runs,
    today_at,
    write_config,
)
from tests.privileges import as_nobody
from tests.sshd import (
    SSHD,
    SshServer,
    _wait_for_banner,
    closed_port,
    keygen,
    require_tool,
    sshd_available,
    start_sshd,
)

#: Stands in for GNU find on a test node; reads what to do from ``mode`` at every run.
FAKE_FIND = """\
#!/bin/sh
echo $$ >> {state}/pids
mode=$(cat {state}/mode 2>/dev/null)
unprivileged="setpriv --reuid=nobody --regid=nogroup --clear-groups --"
[ "$mode" = nofind ] && exit 1                        # no GNU find: the collector uses SFTP
[ "$1" = /dev/null ] && exec /usr/bin/find "$@"       # the collector's probe for GNU find
case "$mode" in
  slow)     /usr/bin/find "$@" | {{ head -c {slow_bytes}; : > {state}/mark; exec sleep 300; }} ;;
  garbage)  exec cat {state}/garbage ;;
  nobody)   cd / && exec $unprivileged /usr/bin/find "$@" ;;
  *)        exec /usr/bin/find "$@" ;;
esac
"""
SLOW_BYTES = 400_000  # what the stalling find lets through: ~4,000 records, the last one cut


@dataclass
class Node:
    """A test backup node: a real sshd whose ``find`` can be told to misbehave."""

    server: SshServer
    state: Path

    def mode(self, mode: str) -> None:
        (self.state / "mode").write_text(mode)

    def wait_for_stall(self, timeout: float = 60) -> None:
        """Until the slow find has sent its first part and stalls."""
        deadline = time.monotonic() + timeout
        while not (self.state / "mark").exists():
            assert time.monotonic() < deadline, "the slow find never started"
            time.sleep(0.02)

    def kill_remote_commands(self) -> None:
        """The remote find runs in a session of its own: end it (and its sleep) by its id."""
        pids = self.state / "pids"
        for pid in (pids.read_text().split() if pids.exists() else []):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(int(pid), signal.SIGKILL)

    def config(self, root: Path, **extra: Any) -> dict[str, Any]:
        server = self.server
        return {"host": server.host, "port": server.port, "user": server.user,
                "identity_file": str(server.identity_file),
                "known_hosts": str(server.known_hosts), "root": str(root),
                "connect_timeout": 5, "command_timeout": 60, **extra}


@pytest.fixture
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    require_tool(sshd_available())
    # outside pytest's private tmp: `nobody` must be able to run the stand-in find
    state = Path(tempfile.mkdtemp(prefix="scm-node-"))
    state.chmod(0o755)
    (state / "bin").mkdir(mode=0o755)
    fake = state / "bin" / "find"
    fake.write_text(FAKE_FIND.format(state=state, slow_bytes=SLOW_BYTES))
    fake.chmod(0o755)
    server = start_sshd(tmp_path_factory.mktemp("sshd"), path_prefix=state / "bin")
    test_node = Node(server, state)
    try:
        yield test_node
    finally:
        test_node.kill_remote_commands()
        server.stop()
        shutil.rmtree(state, ignore_errors=True)


def collect(cfg: Path, *args: str) -> int:
    return cli.main(["-c", str(cfg), "collect", "--progress", "lines", *args])


def scm_monitor(*args: str, **kwargs: Any) -> subprocess.Popen[str]:
    """The command line in a process of its own, as cron would run it."""
    return subprocess.Popen([sys.executable, "-m", "sphinxcontrib_scmmonitor.cli", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **kwargs)


def run_rows(db_path: Path, node: str) -> list[tuple[str, str | None]]:
    return [(r["state"], r["error"]) for r in runs(db_path, node)]


def gone_count(db_path: Path) -> int:
    with sqlite3.connect(db_path) as conn:
        return int(conn.execute("select count(*) from backups where gone_at is not null")
                   .fetchone()[0])


def integrity(db_path: Path) -> str:
    with sqlite3.connect(db_path) as conn:
        return str(conn.execute("pragma integrity_check").fetchone()[0])


def many_files(root: Path, count: int, per_folder: int = 100) -> set[bytes]:
    """``count`` backups in three series, ``per_folder`` files a dated folder; raw paths."""
    paths: set[bytes] = set()
    start = today_at() - (count // per_folder) * 3600
    for folder_no in range(0, count // per_folder):
        at = start + folder_no * 3600
        folder = root / f"series{folder_no % 3}" / time.strftime("%Y/%m/%d/%H%M%S",
                                                                 time.gmtime(at))
        folder.mkdir(parents=True)
        for i in range(per_folder):
            path = folder / f"part{i:03d}.tar.gz"
            path.touch()
            paths.add(os.fsencode(path))
    return paths


# --- 1. the node's port is closed --------------------------------------------------------------


def test_closed_port_fails_that_node_with_connection_refused(node, tmp_path, capsys) -> None:
    root = tmp_path / "backup"
    files = build_tree(root)
    port = closed_port()
    cfg = write_config(tmp_path, {"good": node.config(root),
                                  "refused": node.config(root, port=port)})

    assert collect(cfg) == 1

    db_path = tmp_path / "store.db"
    [(state, error)] = run_rows(db_path, "refused")
    assert state == "failed"
    assert error == f"cannot connect to {node.server.user}@127.0.0.1:{port}: connection refused"
    assert present(db_path, "refused") == {}
    assert set(present(db_path, "good")) == set(files)
    out, err = capsys.readouterr()
    assert "refused: FAILED, 0 files (0 new, 0 changed, 0 gone) in " in out
    assert "1 of 2 node(s) failed: refused" in err


# --- 2. the node accepts TCP and never says a word --------------------------------------------


def test_black_hole_fails_within_its_own_timeout_and_the_good_node_takes_its_usual_time(
        node, tmp_path, black_hole) -> None:
    root = tmp_path / "backup"
    build_tree(root)
    alone = write_config(tmp_path, {"good": node.config(root)}, name="alone.toml",
                         database="sqlite:///alone.db")
    assert collect(alone) == 0
    [usual] = runs(tmp_path / "alone.db", "good")
    usual_s = usual["finished_at"] - usual["started_at"]
    cfg = write_config(tmp_path, {"good": node.config(root),
                                  "silent": node.config(root, port=black_hole.port,
                                                        connect_timeout=2)})
    started = time.monotonic()

    assert collect(cfg) == 1

    took = time.monotonic() - started
    db_path = tmp_path / "store.db"
    [good] = runs(db_path, "good")
    [silent] = runs(db_path, "silent")
    assert good["state"] == "ok"
    assert good["finished_at"] - good["started_at"] < usual_s + 2.0  # not held up
    assert silent["state"] == "failed"
    assert "no SSH banner/handshake within 2 s" in silent["error"]
    assert 1.5 <= silent["finished_at"] - silent["started_at"] < 8  # its own timeout
    assert took < 12
    assert black_hole.accepted >= 1
    assert present(db_path, "silent") == {}


# --- 3. authentication refused ----------------------------------------------------------------


def test_a_key_the_node_does_not_accept_is_refused_and_stores_nothing(node, tmp_path) -> None:
    root = tmp_path / "backup"
    build_tree(root)
    stranger = keygen(tmp_path / "stranger_ed25519")
    cfg = write_config(tmp_path, {"C": node.config(root, identity_file=str(stranger))})

    assert collect(cfg) == 1

    [(state, error)] = run_rows(tmp_path / "store.db", "C")
    assert state == "failed"
    assert error.startswith(f"authentication as {node.server.user}@127.0.0.1:"
                            f"{node.server.port} refused")
    assert "check user and identity_file" in error
    assert present(tmp_path / "store.db") == {}


# --- 4. the host key changed --------------------------------------------------------------------


def restart_with_a_new_host_key(server: SshServer) -> None:
    """The same sshd, port and config, but a new host key: what a reinstall (or an
    attacker in the middle) looks like to the collector."""
    server.stop()
    host_key = server.folder / "host_ed25519"
    host_key.unlink()
    Path(f"{host_key}.pub").unlink()
    keygen(host_key)
    with open(server.log, "ab") as log:
        server.process = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(server.folder / "sshd_config")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
            start_new_session=True)
    assert _wait_for_banner(server.process, server.port), server.log.read_text()


def test_a_changed_host_key_is_refused_and_nothing_is_stored_for_that_node(node,
                                                                          tmp_path) -> None:
    root = tmp_path / "backup"
    files = build_tree(root)
    known = node.server.known_hosts.read_text()
    # trust_unknown_hosts only ever accepts a first-seen key, never a changed one
    cfg = write_config(tmp_path, {"C": node.config(root, trust_unknown_hosts=True)})
    assert collect(cfg) == 0
    db_path = tmp_path / "store.db"
    before = present(db_path)
    restart_with_a_new_host_key(node.server)
    # what the impostor shows: one backup less, one more; neither may reach the store
    os.unlink(min(files))
    plant(root, "tracs/env", today_at() + 60, "planted-by-impostor.tar.gz", 1)

    assert collect(cfg) == 1

    state, error = run_rows(db_path, "C")[-1]
    assert state == "failed"
    assert f"host key of [127.0.0.1]:{node.server.port} has CHANGED" in error
    assert "possible man-in-the-middle attack" in error and "nothing was collected" in error
    assert f"ssh-keygen -R '[127.0.0.1]:{node.server.port}'" in error
    assert present(db_path) == before and gone_count(db_path) == 0
    assert node.server.known_hosts.read_text() == known  # not "fixed" behind the user's back


# --- 5. sshd killed in the middle of a large listing ----------------------------------------------


def test_sshd_killed_mid_listing_stores_nothing_as_complete_and_marks_nothing_gone(
        node, tmp_path) -> None:
    root = tmp_path / "backup"
    files = many_files(root, 60_000)
    cfg = write_config(tmp_path, {"C": node.config(root)})
    assert collect(cfg) == 0
    db_path = tmp_path / "store.db"
    assert set(present(db_path)) == files
    node.mode("slow")

    def crash_the_node() -> None:
        node.wait_for_stall()
        node.server.kill()  # SIGKILL to sshd and its per-connection processes

    killer = threading.Thread(target=crash_the_node)
    killer.start()
    started = time.monotonic()
    code = collect(cfg)
    killer.join()

    assert code == 1
    assert time.monotonic() - started < 30  # the dropped connection is noticed, not waited out
    last = runs(db_path, "C")[-1]
    assert last["state"] == "failed"
    assert last["error"].startswith("partial listing, nothing marked gone: ")
    assert "connection closed before the listing finished" in last["error"]
    assert "malformed listing record(s) (listing cut off)" in last["error"]
    assert 0 < last["files_seen"] < len(files)
    assert (last["added"], last["changed"], last["gone"]) == (0, 0, 0)
    assert set(present(db_path)) == files and gone_count(db_path) == 0


def test_a_node_that_stalls_mid_listing_is_cut_off_at_command_timeout(node, tmp_path) -> None:
    """The quiet variant of a crash (power cut, a cable pulled: no TCP reset comes)."""
    root = tmp_path / "backup"
    files = many_files(root, 10_000)
    cfg = write_config(tmp_path, {"C": node.config(root, command_timeout=3)})
    assert collect(cfg) == 0
    node.mode("slow")
    started = time.monotonic()

    assert collect(cfg) == 1

    assert time.monotonic() - started < 3 + 10
    db_path = tmp_path / "store.db"
    last = runs(db_path, "C")[-1]
    assert last["state"] == "failed"
    assert last["error"].startswith("listing timed out after 3 s (")
    assert set(present(db_path)) == files and gone_count(db_path) == 0


# --- 6. backup root missing; a subtree that cannot be read ---------------------------------------


@pytest.mark.parametrize("over", ["ssh", "local"])
def test_a_vanished_backup_root_fails_the_node_and_marks_nothing_gone(over, node,
                                                                     tmp_path) -> None:
    root = tmp_path / "backup"
    files = build_tree(root)
    keys = node.config(root) if over == "ssh" else {"root": str(root)}
    cfg = write_config(tmp_path, {"C": keys})
    assert collect(cfg) == 0
    root.rename(tmp_path / "unmounted")  # the backup disk did not come back after a reboot

    assert collect(cfg) == 1

    db_path = tmp_path / "store.db"
    state, error = run_rows(db_path, "C")[-1]
    assert state == "failed"
    assert error.startswith(f"backup root {root} does not exist")
    assert set(present(db_path)) == set(files) and gone_count(db_path) == 0


def test_a_subtree_unreadable_on_the_node_keeps_its_backups_and_stores_the_rest(
        node, shared_dir) -> None:
    root = shared_dir / "backup"
    files = build_tree(root)
    node.mode("nobody")  # the node's find runs as an unprivileged user, as on many nodes
    cfg = write_config(shared_dir, {"C": node.config(root)})
    assert collect(cfg) == 0
    db_path = shared_dir / "store.db"
    assert set(present(db_path)) == set(files)
    hidden = root / "tracs" / "env"
    new = plant(root, "repos/env", today_at() + 60, "env.tar.gz", 5)
    hidden.chmod(0)

    assert collect(cfg) == 1

    last = runs(db_path, "C")[-1]
    assert last["state"] == "failed"
    assert last["error"].startswith("partial listing, nothing marked gone: ")
    assert last["error"].endswith(f"find: '{hidden}': Permission denied")  # find's own words
    assert (last["added"], last["gone"]) == (1, 0)
    assert set(present(db_path)) == set(files) | {new}


def test_an_unreadable_folder_with_a_non_utf8_name_is_reported_not_fatal(shared_dir) -> None:
    """Was a bug: the error named the folder with surrogates, which SQLite could not store,
    so the run's whole result was lost and the run left `running`."""
    root = shared_dir / "backup"
    kept = plant(root, "repos/env", today_at(), "env.tar.gz", 7)
    odd = os.fsencode(root) + b"/\xff\x1b[2J-odd"
    os.mkdir(odd, 0)
    for dirpath, _dirs, _files in os.walk(shared_dir):
        if os.fsencode(dirpath) != odd:
            os.chmod(dirpath, 0o777)
    cfg = write_config(shared_dir, {"C": {"root": str(root)}})
    cfg.chmod(0o644)

    proc = subprocess.run(as_nobody([sys.executable, "-m", "sphinxcontrib_scmmonitor.cli",
                                     "-c", str(cfg), "collect", "--progress", "lines"]),
                          capture_output=True, text=True, timeout=120, cwd="/")

    assert proc.returncode == 1, proc.stderr
    db_path = shared_dir / "store.db"
    assert set(present(db_path)) == {kept}
    [(state, error)] = run_rows(db_path, "C")
    assert state == "failed"
    assert error == (f"partial listing, nothing marked gone: cannot list {root}/\\xff\\x1b[2J-odd: "
                     "Permission denied")
    assert "\x1b" not in proc.stdout + proc.stderr  # nothing from the disk drives the terminal


# --- 7. hostile file names ------------------------------------------------------------------------

SHELL_MARKERS = ("pwned", "pwned2", "pwned3")
HOSTILE_SERIES = b"svn/evil$(touch pwned2);`touch pwned3`<script>alert(1)<\\script>\xff"


@pytest.mark.parametrize("lister", ["find", "sftp", "local"])
def test_hostile_file_names_are_collected_exactly_and_never_run_or_render(
        lister, node, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "backup"
    at = today_at()
    planted = {plant(root, "repos/env", at, name, 10 + i): 10 + i
               for i, name in enumerate(HOSTILE_NAMES)}
    planted[plant(root, HOSTILE_SERIES, at, b"x;touch pwned.tar.gz", 3)] = 3
    if lister == "sftp":
        node.mode("nofind")
    keys = {"root": str(root)} if lister == "local" else node.config(root)
    cfg = write_config(tmp_path, {"C": keys})

    assert collect(cfg) == 0

    db_path = tmp_path / "store.db"
    assert {p: s for p, (s, _a, _m) in present(db_path).items()} == planted
    [run] = runs(db_path, "C")
    assert run["method"] == lister
    with sqlite3.connect(db_path) as conn:
        series = {bytes(r[0]) for r in conn.execute("select raw_name from series")}
    assert series == {b"repos/env", HOSTILE_SERIES}
    # nothing ran: not on the node (its home), not here
    for folder in (Path.home(), tmp_path, root, Path.cwd()):
        assert not any((folder / m).exists() for m in SHELL_MARKERS), folder

    html = html_output(tmp_path)
    assert cli.main(["-c", str(cfg), "export", "--outdir", str(html)]) == 0
    raw = (html / "_static/scmmonitor/data/C.json").read_bytes()
    assert raw.isascii() and not any(c in raw for c in (b"<", b">", b"&"))
    names = {s["name"] for s in json.loads(raw)["series"]}
    assert names == {"repos/env", HOSTILE_SERIES.decode("utf-8", "backslashreplace")}


# --- 8. garbage and truncated listing records --------------------------------------------------


def test_garbage_and_a_cut_off_record_are_counted_and_mark_nothing_gone(node, tmp_path) -> None:
    root = tmp_path / "backup"
    files = build_tree(root)
    cfg = write_config(tmp_path, {"C": node.config(root)})
    assert collect(cfg) == 0
    r = os.fsencode(root)
    new = r + b"/repos/env/2030/01/02/030405/new.tar.gz"
    garbage = [
        b"123\t1352794202.5\t" + new,                 # the one good record
        b"no tabs at all",
        b"12\tnot-a-time\t" + r + b"/x/2012/11/13/161002/a.gz",
        b"-5\t1.0\t" + r + b"/x/2012/11/13/161002/b.gz",   # negative size
        b"5\t1.0\trelative/2012/11/13/161002/c.gz",        # not an absolute path
        b"5\tnan\t" + r + b"/x/2012/11/13/161002/d.gz",
        b"99999999999999999999999\t1\t" + r + b"/x/2012/11/13/161002/e.gz",
        b"\xff\xfe\x00\x01binary",
    ]
    (node.state / "garbage").write_bytes(b"\0".join(garbage) + b"\0"
                                         + b"7\t1352794202.0\t" + r + b"/repos/env/2012/1")
    node.mode("garbage")

    assert collect(cfg) == 1

    db_path = tmp_path / "store.db"
    last = runs(db_path, "C")[-1]
    assert last["state"] == "failed"
    # \xff\xfe is one malformed record, \x01binary another (the NUL splits them)
    assert last["error"] == ("partial listing, nothing marked gone: "
                             "9 malformed listing record(s) (listing cut off)")
    assert (last["files_seen"], last["added"], last["gone"]) == (1, 1, 0)
    assert set(present(db_path)) == set(files) | {new}
    assert present(db_path)[new][0] == 123


# --- 9. the database is locked by another writer ------------------------------------------------


@pytest.fixture
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> float:
    monkeypatch.setattr(engine, "BUSY_TIMEOUT_S", 1.5)
    return 1.5


def test_a_locked_database_is_waited_for_then_a_clear_error_and_nothing_written(
        tmp_path, short_busy_timeout, capsys) -> None:
    root = tmp_path / "backup"
    files = build_tree(root)
    cfg = write_config(tmp_path, {"C": {"root": str(root)}})
    assert collect(cfg) == 0
    db_path = tmp_path / "store.db"
    plant(root, "tracs/env", today_at() + 60, "env.tar.gz", 1)  # something to write
    before = (present(db_path), runs(db_path, "C"))
    capsys.readouterr()
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the lock and does not let go
    try:
        started = time.monotonic()
        code = collect(cfg)
        waited = time.monotonic() - started
    finally:
        other.rollback()
        other.close()

    assert code == 1
    assert waited >= short_busy_timeout
    out = capsys.readouterr().out
    assert f"stayed locked by another writer for {short_busy_timeout:g} s; nothing was " \
           "written (another scm-monitor still running?)" in out
    assert (present(db_path), runs(db_path, "C")) == before  # not even a run was begun
    assert collect(cfg) == 0  # the lock gone, the next run works
    assert len(present(db_path)) == len(files) + 1


class _LockHalfway(LocalLister):
    """Lists the node; halfway through, another writer takes the database's lock."""

    def __init__(self, node: config.NodeSettings, db_path: Path) -> None:
        super().__init__(node)
        self.db_path = db_path
        self.other: sqlite3.Connection | None = None

    def records(self, parser):  # type: ignore[no-untyped-def]
        for n, rec in enumerate(super().records(parser)):
            if n == 3:
                self.other = sqlite3.connect(self.db_path, isolation_level=None)
                self.other.execute("BEGIN IMMEDIATE")
            yield rec


def test_a_lock_taken_during_the_listing_never_leaves_a_half_written_run(
        tmp_path, short_busy_timeout) -> None:
    root = tmp_path / "backup"
    files = build_tree(root)
    cfg = write_config(tmp_path, {"C": {"root": str(root)}})
    settings = config.load(cfg)
    db_path = tmp_path / "store.db"
    store = Store(settings.database)
    store.ensure_schema()
    lister = _LockHalfway(settings.node("C"), db_path)

    [result] = collect_all(store, [settings.node("C")])
    assert result.ok
    os.unlink(min(files))
    new = plant(root, "tracs/env", today_at() + 60, "env.tar.gz", 1)
    before = present(db_path)

    try:
        with pytest.raises(StoreError, match="stayed locked"):
            collect_node(store, settings.node("C"), lister=lister)
    finally:
        assert lister.other is not None
        lister.other.rollback()
        lister.other.close()

    # the listing's changes (one new, one gone) were all or nothing: nothing
    assert present(db_path) == before and gone_count(db_path) == 0
    assert [r["state"] for r in runs(db_path, "C")] == ["ok", "running"]
    [again] = collect_all(store, [settings.node("C")])
    store.close()
    assert again.ok and (again.added, again.gone) == (1, 1)
    assert [r["state"] for r in runs(db_path, "C")] == ["ok", "interrupted", "ok"]
    assert new in present(db_path)


# --- 10. the collector is killed with SIGKILL -----------------------------------------------------


def test_collector_sigkilled_mid_listing_leaves_a_consistent_store_and_the_next_run_says_so(
        node, tmp_path) -> None:
    root = tmp_path / "backup"
    files = many_files(root, 20_000)
    cfg = write_config(tmp_path, {"C": node.config(root)})
    assert collect(cfg) == 0
    node.mode("slow")
    proc = scm_monitor("-c", str(cfg), "collect", "--progress", "lines")
    node.wait_for_stall()
    # the listing starts before the run is begun (docs/operations.rst): kill it once both
    db_path = tmp_path / "store.db"
    deadline = time.monotonic() + 60
    while "running" not in [s for s, _e in run_rows(db_path, "C")]:
        assert time.monotonic() < deadline, "the collector never began its run"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)  # kill -9: no handler, no cleanup
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    node.kill_remote_commands()

    assert integrity(db_path) == "ok"
    assert [s for s, _e in run_rows(db_path, "C")] == ["ok", "running"]
    node.mode("real")
    assert collect(cfg) == 0
    states = run_rows(db_path, "C")
    assert [s for s, _e in states] == ["ok", "interrupted", "ok"]
    assert "stopped before finishing" in str(states[1][1])
    assert set(present(db_path)) == files and gone_count(db_path) == 0


#: `scm-monitor collect` that SIGKILLs itself right after its second batch of new rows went to
#: the database, in the middle of the transaction that applies a listing
_DIE_MID_WRITE = """\
import os, signal, sys
from sphinxcontrib_scmmonitor import cli
from sphinxcontrib_scmmonitor.store import writes

real, batches = writes._insert_rows, []
def insert_then_die(*args, **kwargs):
    real(*args, **kwargs)
    batches.append(1)
    if len(batches) == 2:
        os.kill(os.getpid(), signal.SIGKILL)
writes._insert_rows = insert_then_die
sys.exit(cli.main(sys.argv[1:]))
"""


def test_collector_sigkilled_mid_write_loses_the_whole_transaction_not_part(
        backend_url, tmp_path) -> None:
    root = tmp_path / "backup"
    files = many_files(root, 12_000)  # three batches of new rows
    cfg = write_config(tmp_path, {"C": {"root": str(root)}}, database=backend_url)

    proc = subprocess.run([sys.executable, "-c", _DIE_MID_WRITE, "-c", str(cfg), "collect",
                           "--progress", "lines"], capture_output=True, text=True, timeout=120)

    assert proc.returncode == -signal.SIGKILL, proc.stderr
    engine = create_engine(backend_url)
    try:
        with engine.connect() as conn:
            if backend_url.startswith("sqlite"):
                assert conn.execute(text("pragma integrity_check")).scalar() == "ok"
            assert conn.execute(text("select count(*) from backups")).scalar() == 0
            assert conn.execute(text("select state from runs")).scalars().all() == ["running"]
    finally:
        engine.dispose()
    assert collect(cfg) == 0
    engine = create_engine(backend_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("select state from runs order by id")).scalars().all() \
                == ["interrupted", "ok"]
            assert conn.execute(text("select count(*) from backups")).scalar() == len(files)
    finally:
        engine.dispose()


# --- 11. the export folder is full or read-only ---------------------------------------------------


@pytest.fixture
def tiny_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs of our own (root in a container that allows mount), else skip."""
    mountpoint = tmp_path / "html"
    mountpoint.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        require_tool("mounting a tmpfs needs root and mount(8)")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0755", "tmpfs",
                           str(mountpoint)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        require_tool(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        (mountpoint / "_static").mkdir()  # a built site's output folder, as export needs
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def _grow(root: Path, count: int) -> None:
    """More backups, so the next JSON is bigger than the last (sizes that jump about, as
    real ones do, so that even delta-encoded each takes some 18 bytes)."""
    for i in range(count):
        plant(root, "tracs/more", today_at() - i * 3600, "more.tar.gz",
              10**9 + (i * 2654435761) % 10**9)


@pytest.mark.parametrize("how", ["disk-full", "read-only"])
def test_export_into_a_full_or_read_only_folder_keeps_the_old_json(how, tiny_tmpfs,
                                                                   tmp_path) -> None:
    root = tmp_path / "backup"
    build_tree(root)
    cfg = write_config(tmp_path, {"C": {"root": str(root)}})
    assert collect(cfg) == 0
    export = ("-c", str(cfg), "export", "--outdir", str(tiny_tmpfs))
    write_manifest(tiny_tmpfs, {}, nodes=["C"])  # a built site showing C: no other warning
    first = scm_monitor(*export)
    assert first.wait(60) == 0, first.communicate()
    data = tiny_tmpfs / "_static/scmmonitor/data"
    old = (data / "C.json").read_bytes()
    _grow(root, 3000)
    assert collect(cfg) == 0
    if how == "disk-full":
        with open(tiny_tmpfs / "filler", "wb", buffering=0) as fh, \
                contextlib.suppress(OSError):
            while True:
                fh.write(b"\0" * 4096)
    else:
        subprocess.run(["mount", "-o", "remount,ro", str(tiny_tmpfs)], check=True)

    proc = scm_monitor(*export)
    out, err = proc.communicate(timeout=60)

    assert proc.returncode == 2
    problem = "No space left on device" if how == "disk-full" else "Read-only file system"
    assert err == (f"scm-monitor: export failed: cannot write {data / 'C.json'}: {problem}; "
                   "the previous file is unchanged\n")
    assert out == ""
    assert (data / "C.json").read_bytes() == old
    assert sorted(os.listdir(data)) == ["C.json", "C.json.gz"]  # no temporary file left behind


def test_export_with_a_file_size_limit_keeps_the_old_json(tmp_path) -> None:
    """The same disk-full outcome without mount: the process may not grow a file past 40 KiB
    (RLIMIT_FSIZE; SIGXFSZ ignored, so the write fails with EFBIG)."""
    root = tmp_path / "backup"
    build_tree(root)
    cfg = write_config(tmp_path, {"C": {"root": str(root)}})
    assert collect(cfg) == 0
    out = html_output(tmp_path)
    write_manifest(out, {}, nodes=["C"])  # a built site showing C: no other warning
    assert cli.main(["-c", str(cfg), "export", "--outdir", str(out)]) == 0
    data = out / "_static/scmmonitor/data"
    old = (data / "C.json").read_bytes()
    _grow(root, 3000)
    assert collect(cfg) == 0

    def limit_file_size() -> None:
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (40960, 40960))

    proc = scm_monitor("-c", str(cfg), "export", "--outdir", str(out),
                       preexec_fn=limit_file_size)
    _out, err = proc.communicate(timeout=60)

    assert proc.returncode == 2
    assert err == (f"scm-monitor: export failed: cannot write {data / 'C.json'}: File too large; "
                   "the previous file is unchanged\n")
    assert (data / "C.json").read_bytes() == old
    assert sorted(os.listdir(data)) == ["C.json", "C.json.gz"]


# --- 12. a reader (the Sphinx build) while a collection writes --------------------------------


def test_a_reader_during_a_big_collection_sees_the_old_or_the_new_data_never_an_error(
        backend_url, tmp_path) -> None:
    root = tmp_path / "backup"
    first = many_files(root, 2_000)
    cfg = write_config(tmp_path, {"C": {"root": str(root)}}, database=backend_url)
    assert collect(cfg) == 0
    more = many_files(root / "later", 20_000)  # 20,000 new backups to write in one go
    seen: list[int] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def sphinx_like_reader() -> None:
        reader = Store(backend_url)  # its own engine, as a docs build in another process
        try:
            while not done.is_set():
                data = reader.node_data("C")
                seen.append(sum(len(s.backups) for s in data.series))
        except BaseException as exc:
            errors.append(exc)
        finally:
            reader.close()

    thread = threading.Thread(target=sphinx_like_reader)
    thread.start()
    try:
        code = collect(cfg)
    finally:
        done.set()
        thread.join(60)

    assert code == 0
    assert errors == []
    assert len(seen) >= 2
    assert set(seen) <= {len(first), len(first) + len(more)}  # a snapshot, never half a run


# --- 14. a bad configuration ----------------------------------------------------------------


@pytest.mark.parametrize(("toml", "expected"), [
    pytest.param('database = "sqlite:///s.db"\n[defaults]\nmax_age_hour = 3\n'
                 '[hubs.h]\n[nodes.C]\nhub = "h"\nhost = "local"\nroot = "/srv"\n',
                 "{cfg}: defaults.max_age_hour: unknown key (did you mean 'max_age_hours'?)",
                 id="typo"),
    pytest.param('[hubs.h]\n[nodes.C]\nhub = "h"\nhost = "local"\nroot = "/srv"\nport = "22"\n',
                 "{cfg}: nodes.C.port: must be an integer, got string '22'", id="wrong-type"),
    pytest.param('[hubs.h]\n[nodes."a/b"]\nhub = "h"\nhost = "local"\nroot = "/srv"\n',
                 "{cfg}: nodes.a/b: bad node name 'a/b': must match "
                 "[A-Za-z0-9][A-Za-z0-9_.-]* (node names become file names)", id="slash"),
    pytest.param('[hubs.h]\n[nodes.".."]\nhub = "h"\nhost = "local"\nroot = "/srv"\n',
                 "{cfg}: nodes...: bad node name '..': must match "
                 "[A-Za-z0-9][A-Za-z0-9_.-]* (node names become file names)", id="dotdot"),
    pytest.param('[hubs.h]\n[nodes."../../etc/cron.d/x"]\nhub = "h"\nhost = "local"\n'
                 'root = "/srv"\n',
                 "{cfg}: nodes.../../etc/cron.d/x: bad node name '../../etc/cron.d/x': must "
                 "match [A-Za-z0-9][A-Za-z0-9_.-]* (node names become file names)",
                 id="traversal"),
    pytest.param("[nodes.C\nhub = ", "{cfg}: invalid TOML: ", id="not-toml"),
])
def test_a_bad_config_is_one_clear_line_and_exit_2(toml, expected, tmp_path) -> None:
    cfg = tmp_path / "scmmonitor.toml"
    cfg.write_text(toml)
    for command in (["collect"], ["export", "--outdir", str(tmp_path / "html")], ["status"]):
        proc = scm_monitor("-c", str(cfg), *command, cwd=tmp_path)
        out, err = proc.communicate(timeout=60)
        # status is a Nagios plugin: UNKNOWN (3), said on its one stdout line (docs/cli.rst)
        plugin = command == ["status"]
        said, rest = (out, err) if plugin else (err, out)
        assert proc.returncode == (3 if plugin else 2), (command, out, err)
        assert said.startswith(("SCM BACKUPS UNKNOWN: " if plugin else "scm-monitor: ")
                               + "config error: " + expected.format(cfg=cfg))
        assert said.count("\n") == 1 and "Traceback" not in said
        assert rest == ""
    assert sorted(os.listdir(tmp_path)) == ["scmmonitor.toml"]  # no store, no html, no etc


def test_a_missing_config_file_is_one_clear_line_and_exit_2(tmp_path) -> None:
    missing = tmp_path / "nope.toml"
    proc = scm_monitor("-c", str(missing), "collect")
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert err == (f"scm-monitor: config error: {missing}: file not found (give -c FILE, set "
                   "$SCMMONITOR_CONFIG, or run `scm-monitor init` to write one)\n")


def test_a_node_argument_with_a_path_in_it_is_refused_before_any_file_is_written(
        tmp_path) -> None:
    cfg = write_config(tmp_path, {"C": {"root": str(tmp_path)}})
    outdir = tmp_path / "html"
    proc = scm_monitor("-c", str(cfg), "export", "--outdir", str(outdir), "../../../tmp/x")
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert err == f"scm-monitor: {cfg}: unknown node '../../../tmp/x' (configured: C)\n"
    assert not outdir.exists()


# --- 15. a directive that tries path traversal or HTML injection ----------------------------------

HOSTILE_DOC = """\
Backups
=======

.. scm-backup-chart:: ../../../../tmp/scm-escape

.. scm-backup-chart:: C/../../../etc/passwd

.. scm-backup-chart:: C
   :title: </script><script>alert("title")</script>
   :height: 100px;background:url(javascript:alert(1))
   :series: "><img src=x onerror=alert(1)> tracs/env
   :metric: size"><script>alert(2)</script>
   :scale: log' onmouseover='alert(3)
   :range: all</script>

.. scm-backup-status:: C ../../x <b>bold</b> "quoted"
"""


def test_directive_arguments_and_options_cannot_escape_the_page_or_the_output(
        tmp_path) -> None:
    root = tmp_path / "backup"
    build_tree(root)
    src = tmp_path / "docs"
    src.mkdir()
    cfg = write_config(src, {"C": {"root": str(root)}})
    assert collect(cfg) == 0
    (src / "conf.py").write_text(
        'extensions = ["sphinxcontrib_scmmonitor"]\n'
        'scmmonitor_config = "scmmonitor.toml"\n'
        'scmmonitor_highcharts = "https://code.highcharts.com/stock/"\n')
    (src / "index.rst").write_text(HOSTILE_DOC)
    out = tmp_path / "out"
    escape = Path("/tmp/scm-escape.json")
    escape.unlink(missing_ok=True)

    proc = subprocess.run([sys.executable, "-m", "sphinx", "-q", "-b", "html", str(src),
                           str(out)], capture_output=True, text=True, timeout=300)

    assert proc.returncode == 0, proc.stderr
    warnings = proc.stderr
    assert f"{src / 'index.rst'}:4: WARNING: scm-backup-chart: '../../../../tmp/scm-escape' " \
           "is not a valid node name" in warnings
    assert f"{src / 'index.rst'}:6: WARNING: scm-backup-chart: 'C/../../../etc/passwd' " \
           "is not a valid node name" in warnings
    assert ":height: '100px;background:url(javascript:alert(1))' is not a CSS length" \
        in warnings
    assert "scm-backup-status: '../../x' is not a valid node name" in warnings
    page = (out / "index.html").read_text()
    for injected in ('<script>alert("title")', "<img src=x", "<script>alert(2)",
                     "onmouseover='alert(3)", "javascript:alert", "<b>bold</b>"):
        assert injected not in page, injected
    assert "&lt;/script&gt;&lt;script&gt;alert(" in page  # the title is shown, as text
    # only the configured node's data is written, and only inside the output folder
    data = out / "_static/scmmonitor/data"
    assert sorted(os.listdir(data)) == ["C.json", "C.json.gz"]
    assert not escape.exists() and not Path("/etc/passwd.json").exists()
    # every chart's own attributes stay attributes: none of them opens a tag
    assert page.count("<script") == page.count("</script>")
