"""The collector against a real OpenSSH sshd on 127.0.0.1."""

from __future__ import annotations

import ast
import json
import os
import sqlite3
import subprocess
import sys
import time
from calendar import timegm
from pathlib import Path

import pytest

from sphinxcontrib_scmmonitor import cli
from sphinxcontrib_scmmonitor.collect.ssh import listing_command
from tests.helpers.backups import html_output, write_config
from tests.helpers.ssh_nodes import DAY, backups, plant, ssh_node


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, object]:
    """A backup tree with a healthy and a stale series, odd names, a stray file and a symlink."""
    root = tmp_path / "backup" / "cms02"
    now = time.time()
    today = now - now % DAY + 16 * 3600
    files: dict[bytes, int] = {}
    for day in range(5):
        when = today - day * DAY
        files[plant(root, "tracs/env", when, "env.tar.gz", 5_000_000 + day)] = 5_000_000 + day
    for day in range(10, 13):
        when = today - day * DAY
        files[plant(root, "svn/dybsvn", when, "dybsvn.tar.gz", 2_000_000_000 + day)] = \
            2_000_000_000 + day
    odd = plant(root, "repos/env", today - DAY, b"env-\xff\tname\n$(rm -rf x);<script>.tar.gz", 77)
    files[odd] = 77
    (root / "stray.tar.gz").write_bytes(b"x" * 10)
    newest = (root / "tracs/env").joinpath(time.strftime("%Y/%m/%d/%H%M%S", time.gmtime(today)))
    (root / "tracs/env/last").symlink_to(newest.relative_to(root / "tracs/env"))
    return {"root": root, "files": files, "today": today}


def dump(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute("select id, node_id, series_id, path, backup_at, size, mtime, "
                            "first_seen_at, gone_at from backups order by id").fetchall()


def test_collect_stores_exact_sizes_and_utc_times(sshd, tree, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, {"C": ssh_node(sshd, tree["root"])})

    assert cli.main(["-c", str(cfg), "collect"]) == 0

    stored = backups(tmp_path / "store.db")
    assert {p: s for p, (s, _) in stored.items()} == tree["files"]
    for path, (_, at) in stored.items():
        stamp = path.split(b"/")[-5:-1]
        expected = timegm(time.strptime(b"/".join(stamp).decode(), "%Y/%m/%d/%H%M%S"))
        assert at == expected
    with sqlite3.connect(tmp_path / "store.db") as conn:
        state, method, seen, unparsed = conn.execute(
            "select state, method, files_seen, unparsed from runs").fetchone()
    # the stray undated file is counted, not fatal; the `last` symlink is not followed
    assert (state, method, unparsed) == ("ok", "find", 1)
    assert seen == len(tree["files"]) + 1


def test_second_collect_changes_no_backup_rows(sshd, tree, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, {"C": ssh_node(sshd, tree["root"])})
    assert cli.main(["-c", str(cfg), "collect"]) == 0
    before = dump(tmp_path / "store.db")

    assert cli.main(["-c", str(cfg), "collect"]) == 0

    assert dump(tmp_path / "store.db") == before
    with sqlite3.connect(tmp_path / "store.db") as conn:
        assert conn.execute("select count(*) from runs where state = 'ok'").fetchone() == (2,)


def test_removed_backup_is_marked_gone_not_deleted(sshd, tree, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, {"C": ssh_node(sshd, tree["root"])})
    assert cli.main(["-c", str(cfg), "collect"]) == 0
    victim = next(p for p in tree["files"] if b"dybsvn" in p)
    os.unlink(victim)

    assert cli.main(["-c", str(cfg), "collect"]) == 0

    with sqlite3.connect(tmp_path / "store.db") as conn:
        (gone_at,) = conn.execute("select gone_at from backups where path = ?",
                                  (victim,)).fetchone()
    assert gone_at is not None


def test_dead_node_and_wrong_host_key_fail_only_themselves(sshd, tree, tmp_path: Path,
                                                           black_hole) -> None:
    from tests.sshd import closed_port

    wrong_known = tmp_path / "wrong_known_hosts"
    other_key = tmp_path / "other"
    os.system(f"ssh-keygen -q -t ed25519 -N '' -f {other_key}")
    wrong_known.write_text(f"[{sshd.host}]:{sshd.port} "
                           + " ".join(Path(f"{other_key}.pub").read_text().split()[:2]) + "\n")
    cfg = write_config(tmp_path, {
        "good": ssh_node(sshd, tree["root"]),
        "refused": ssh_node(sshd, tree["root"], port=closed_port()),
        "silent": ssh_node(sshd, tree["root"], port=black_hole.port, connect_timeout=1),
        "changedkey": ssh_node(sshd, tree["root"], known_hosts=str(wrong_known)),
    })
    started = time.monotonic()

    assert cli.main(["-c", str(cfg), "collect"]) == 1

    # the silent node costs its own timeout, not the sum of everyone's
    assert time.monotonic() - started < 15
    with sqlite3.connect(tmp_path / "store.db") as conn:
        runs = dict(conn.execute("select n.name, r.state || ': ' || coalesce(r.error, '') "
                                 "from runs r join nodes n on n.id = r.node_id"))
        counts = dict(conn.execute("select n.name, count(b.id) from nodes n left join backups b "
                                   "on b.node_id = n.id group by n.name"))
    assert runs["good"] == "ok: "
    assert "refused" in runs["refused"].lower()
    assert "banner" in runs["silent"].lower()
    assert "CHANGED" in runs["changedkey"]
    assert counts == {"good": len(tree["files"]), "refused": 0, "silent": 0, "changedkey": 0}


def test_unknown_host_key_is_refused_with_the_command_to_trust_it(sshd, tree, tmp_path,
                                                                  capsys) -> None:
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    cfg = write_config(tmp_path, {"C": ssh_node(sshd, tree["root"], known_hosts=str(empty))})

    assert cli.main(["-c", str(cfg), "collect", "--progress", "lines"]) == 1

    out = capsys.readouterr().out
    assert "is not known" in out
    assert f"ssh-keyscan -p {sshd.port} -t ed25519 {sshd.host}" in out
    assert empty.read_text() == ""  # refusing never writes the key


def test_trust_unknown_hosts_accepts_and_remembers_a_first_seen_key(sshd, tree,
                                                                     tmp_path) -> None:
    fresh = tmp_path / "fresh_known_hosts"
    cfg = write_config(tmp_path, {"C": ssh_node(sshd, tree["root"], known_hosts=str(fresh),
                                                trust_unknown_hosts=True)})

    assert cli.main(["-c", str(cfg), "collect"]) == 0

    remembered = fresh.read_text()
    assert f"[{sshd.host}]:{sshd.port} ssh-ed25519 " in remembered
    # and the remembered key is now checked like any other
    cfg2 = write_config(tmp_path, {"C": ssh_node(sshd, tree["root"], known_hosts=str(fresh))})
    assert cli.main(["-c", str(cfg2), "collect"]) == 0


def test_missing_root_fails_the_node_with_a_clear_error(sshd, tmp_path) -> None:
    cfg = write_config(tmp_path, {"C": ssh_node(sshd, tmp_path / "nope")})

    assert cli.main(["-c", str(cfg), "collect"]) == 1

    with sqlite3.connect(tmp_path / "store.db") as conn:
        (error,) = conn.execute("select error from runs").fetchone()
    assert "does not exist" in error and str(tmp_path / "nope") in error


def test_node_without_gnu_find_is_walked_over_sftp(tmp_path, tree) -> None:
    from tests.sshd import require_tool, sshd_available, start_sshd

    require_tool(sshd_available())
    bin_dir = tmp_path / "busybox-bin"
    bin_dir.mkdir()
    busybox = Path("/bin/busybox")
    require_tool(None if busybox.exists() else "busybox not installed: apt-get install busybox")
    (bin_dir / "find").symlink_to(busybox)
    server = start_sshd(tmp_path / "sshd-busybox", path_prefix=bin_dir)
    try:
        cfg = write_config(tmp_path, {"C": ssh_node(server, tree["root"])})
        assert cli.main(["-c", str(cfg), "collect"]) == 0
    finally:
        server.stop()

    assert {p: s for p, (s, _) in backups(tmp_path / "store.db").items()} == tree["files"]
    with sqlite3.connect(tmp_path / "store.db") as conn:
        assert conn.execute("select method from runs").fetchone() == ("sftp",)


def test_sftp_walk_of_many_folders_keeps_what_it_read_past_an_unreadable_one(
        tmp_path, capsys) -> None:
    """No GNU find (BusyBox), and the node's sftp-server runs as nobody, so permissions
    apply. ~1,000 folders: far more than the walk keeps requests in flight. First walk:
    everything, exactly. Then one dated folder unreadable: the rest is stored, the
    error names the folder, the run is not ok and nothing is marked gone."""
    import shutil
    import tempfile

    from tests.privileges import as_nobody
    from tests.sshd import require_tool, sshd_available, start_sshd

    require_tool(sshd_available())
    busybox = Path("/bin/busybox")
    require_tool(None if busybox.exists() else "busybox not installed: apt-get install busybox")
    sftp_server = Path("/usr/lib/openssh/sftp-server")
    require_tool(None if sftp_server.exists() else "openssh-sftp-server is not installed")
    bin_dir = tmp_path / "busybox-bin"
    bin_dir.mkdir()
    (bin_dir / "find").symlink_to(busybox)
    shared = Path(tempfile.mkdtemp(prefix="scm-sftp-"))  # pytest's tmp is root-only
    shared.chmod(0o755)
    try:
        root = shared / "backup"
        today = time.time() // DAY * DAY + 2 * 3600
        files = {plant(root, series, today - day * DAY, f"{series.split('/')[1]}.tar.gz",
                       1000 + day): 1000 + day
                 for series in ("repos/env", "tracs/env", "svn/dybsvn") for day in range(80)}
        odd = plant(root, "repos/env", today - 3 * DAY + 60, b"odd-\xff\nname.tar.gz", 5)
        files[odd] = 5
        for dirpath, _dirs, _files in os.walk(shared):
            os.chmod(dirpath, 0o755)
        unprivileged = " ".join(as_nobody([str(sftp_server)]))
        server = start_sshd(tmp_path / "sshd-sftp", path_prefix=bin_dir, sftp=unprivileged)
        try:
            cfg = write_config(tmp_path, {"C": ssh_node(server, root)})
            assert cli.main(["-c", str(cfg), "collect", "--progress", "lines"]) == 0
            first = {p: s for p, (s, _) in backups(tmp_path / "store.db").items()}

            hidden = root / "tracs/env" / time.strftime("%Y/%m", time.gmtime(today - 40 * DAY))
            hidden.chmod(0)
            try:
                capsys.readouterr()
                assert cli.main(["-c", str(cfg), "collect", "--progress", "lines"]) == 1
                line = capsys.readouterr().out
            finally:
                hidden.chmod(0o755)
        finally:
            server.stop()
    finally:
        shutil.rmtree(shared)

    assert first == files
    assert f"cannot list {hidden}: Permission denied" in line
    assert {p: s for p, (s, _) in backups(tmp_path / "store.db").items()} == files  # none gone
    with sqlite3.connect(tmp_path / "store.db") as conn:
        assert conn.execute("select method, state from runs order by id").fetchall() == [
            ("sftp", "ok"), ("sftp", "failed")]


def test_export_after_collect_matches_the_design(sshd, tree, tmp_path) -> None:
    cfg = write_config(tmp_path, {"C": ssh_node(sshd, tree["root"])})
    html = html_output(tmp_path)

    assert cli.main(["-c", str(cfg), "collect", "--export", str(html)]) == 0

    doc = json.loads((html / "_static/scmmonitor/data/C.json").read_text())
    assert doc["format"] == 2 and doc["node"] == "C" and doc["hub"] == "cms02"
    assert doc["generated_at"].endswith("Z")
    by_name = {s["name"]: s for s in doc["series"]}
    assert set(by_name) == {"tracs/env", "svn/dybsvn", "repos/env"}
    from sphinxcontrib_scmmonitor.export import undelta

    tracs = by_name["tracs/env"]
    times = list(undelta(tracs["t"]))
    assert times == sorted(set(times))  # strictly ascending
    assert list(undelta(tracs["size"])) == [5_000_004, 5_000_003, 5_000_002, 5_000_001,
                                            5_000_000]
    assert by_name["svn/dybsvn"]["status"] == "alarm"
    assert [r["reason"] for r in by_name["svn/dybsvn"]["reasons"]] == ["stale"]
    assert by_name["tracs/env"]["status"] == "ok"


def test_the_login_shell_sees_one_constant_command_whatever_the_root() -> None:
    import shlex

    from sphinxcontrib_scmmonitor.collect.remote import REMOTE_COMMAND

    command, script = listing_command("/srv/it's $(reboot)", "*.gz'; reboot; '")
    # no config value reaches the login shell: csh, fish and sh all read this the same
    assert command == REMOTE_COMMAND == "exec /bin/sh -s"
    assert listing_command("/other", "*")[0] == command
    # the script for /bin/sh quotes root and pattern for sh, and is framed by markers
    # made fresh for every run
    assert "root=" + shlex.quote("/srv/it's $(reboot)") + "\n" in script
    assert shlex.quote("*.gz'; reboot; '") in script
    assert script != listing_command("/srv/it's $(reboot)", "*.gz'; reboot; '")[1]


def test_live_progress_still_shows_the_whole_error_of_a_failed_node(sshd, tree, tmp_path,
                                                                    capsys) -> None:
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    cfg = write_config(tmp_path, {"C": ssh_node(sshd, tree["root"], known_hosts=str(empty))})

    assert cli.main(["-c", str(cfg), "collect", "--progress", "live"]) == 1

    out = " ".join(capsys.readouterr().out.split())
    assert f"ssh-keyscan -p {sshd.port} -t ed25519 {sshd.host} >> {empty}" in out


def test_switching_between_find_and_sftp_changes_no_backup(sshd, tree, tmp_path) -> None:
    """find's %T@ has nanoseconds, SFTP whole seconds: compared as they come, every file
    of a node listed once each way would be "changed". mtimes are kept in whole seconds."""
    from tests.sshd import require_tool, start_sshd

    for path in tree["files"]:
        st = os.stat(path)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 987_654_321))
    busybox = Path("/bin/busybox")
    require_tool(None if busybox.exists() else "busybox not installed: apt-get install busybox")
    bin_dir = tmp_path / "busybox-bin"
    bin_dir.mkdir()
    (bin_dir / "find").symlink_to(busybox)
    no_find = start_sshd(tmp_path / "sshd-busybox", path_prefix=bin_dir)
    try:
        for server in (sshd, no_find, sshd):
            cfg = write_config(tmp_path, {"C": ssh_node(server, tree["root"])})
            assert cli.main(["-c", str(cfg), "collect"]) == 0
    finally:
        no_find.stop()

    with sqlite3.connect(tmp_path / "store.db") as conn:
        assert conn.execute("select method, added, changed, gone from runs order by id"
                            ).fetchall() == [("find", len(tree["files"]), 0, 0),
                                             ("sftp", 0, 0, 0), ("find", 0, 0, 0)]
        mtimes = [m for (m,) in conn.execute("select mtime from backups")]
    assert all(m == int(m) for m in mtimes)


def test_bytes_printed_into_the_listing_fail_the_run_and_store_nothing(tree, tmp_path) -> None:
    """A `find` that writes one byte around the counted stream (as a program started by an
    rc file could, on the inherited stdout): "9" before the first record would have read
    as 9 in front of its size. The end marker's count does not add up: failed, no data."""
    from tests.sshd import require_tool, sshd_available, start_sshd

    require_tool(sshd_available())
    bin_dir = tmp_path / "polluting-bin"
    bin_dir.mkdir()
    fake = bin_dir / "find"
    fake.write_text('#!/bin/sh\n[ "$1" = /dev/null ] || printf 9 >&3\nexec /usr/bin/find "$@"\n')
    fake.chmod(0o755)
    server = start_sshd(tmp_path / "sshd-polluted", path_prefix=bin_dir)
    try:
        cfg = write_config(tmp_path, {"C": ssh_node(server, tree["root"])})
        assert cli.main(["-c", str(cfg), "collect"]) == 1
    finally:
        server.stop()

    with sqlite3.connect(tmp_path / "store.db") as conn:
        (state, error), = conn.execute("select state, error from runs").fetchall()
        assert conn.execute("select count(*) from backups").fetchone() == (0,)
    assert state == "failed"
    n = len(tree["files"]) + 1  # and the stray file
    assert error.startswith(f"the output of the listing does not add up: the node wrote {n} "
                            f"record(s) in ")
    assert "something printed into it" in error


# --- a collect's start (docs/operations.rst, "Large stores" and cron) -------------------------

_START_PROBE = """\
import importlib.abc, sys, time
events = []
class SlowParamiko(importlib.abc.MetaPathFinder):
    # paramiko made to load slowly, so that what happens meanwhile is not left to a race
    def find_spec(self, name, path, target=None):
        if name != "paramiko.transport":
            return None
        sys.meta_path.remove(self)
        from importlib.util import find_spec
        spec = find_spec(name)
        run = spec.loader.exec_module
        def exec_module(module):
            time.sleep(1.5)
            run(module)
            events.append("paramiko loaded")
        spec.loader.exec_module = exec_module
        return spec
sys.meta_path.insert(0, SlowParamiko())
def hook(event, args):
    if event == "socket.connect" and isinstance(args[1], tuple):
        events.append("connect")
    elif event == "import" and args[0] == "sqlalchemy":
        events.append("import sqlalchemy")
sys.addaudithook(hook)
sys.argv = ["scm-monitor", *sys.argv[1:]]
from sphinxcontrib_scmmonitor.cli import run
try:
    run()
finally:
    print([*events, "invoke loaded" if sys.modules.get("invoke") else ""], file=sys.stderr)
"""


def test_a_collect_connects_while_paramiko_loads_and_never_loads_invoke(sshd, tree,
                                                                        tmp_path) -> None:
    """The node's TCP handshake and its sshd's start overlap with loading paramiko; invoke
    (paramiko's helper for an ssh_config's `Match exec`) is never imported."""
    cfg = write_config(tmp_path, {"C": ssh_node(sshd, tree["root"])})

    proc = subprocess.run([sys.executable, "-c", _START_PROBE, "-c", str(cfg), "collect"],
                          capture_output=True, text=True, timeout=120)

    assert proc.returncode == 0, proc.stdout + proc.stderr
    events = ast.literal_eval(proc.stderr.strip().splitlines()[-1])
    assert events.index("connect") < events.index("paramiko loaded") \
        < events.index("import sqlalchemy"), events
    assert events[-1] == ""  # invoke was not loaded
