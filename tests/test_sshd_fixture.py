"""The test helpers themselves: a real sshd that ssh and paramiko trust, silent and closed
ports, a PATH prefix for a node without GNU find, and the demo backup tree."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paramiko
import pytest

from sphinxcontrib_scmmonitor.cli.demo import SERIES, make_demo_nodes, make_demo_tree
from tests.sshd import BlackHole, SshServer, closed_port, require_tool, sshd_available, start_sshd

NOW = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)


def need_ssh_client() -> None:
    require_tool(None if shutil.which("ssh") else "ssh not found: apt-get install openssh-client")


def run_ssh(server: SshServer, command: str) -> subprocess.CompletedProcess[str]:
    # the exact command line an operator would type, strict about the host key
    argv = ["ssh", "-i", str(server.identity_file),
            "-o", f"UserKnownHostsFile={server.known_hosts}", "-o", "StrictHostKeyChecking=yes",
            "-o", "BatchMode=yes", "-F", "/dev/null",
            "-p", str(server.port), f"{server.user}@{server.host}", command]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL)


def paramiko_client(server: SshServer, known_hosts: Path) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    client.load_host_keys(str(known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(server.host, port=server.port, username=server.user,
                   key_filename=str(server.identity_file), look_for_keys=False,
                   allow_agent=False, timeout=10, banner_timeout=10, auth_timeout=10)
    return client


# --- sshd -------------------------------------------------------------------------------


def test_known_hosts_uses_the_bracket_form_for_a_non_default_port(sshd_session) -> None:
    text = sshd_session.known_hosts.read_text()
    assert re.fullmatch(rf"\[127\.0\.0\.1\]:{sshd_session.port} ssh-ed25519 AAAA\S+\n", text)
    assert text.split(" ", 1)[1].strip() == sshd_session.host_key_pub
    assert sshd_session.port != 22 and sshd_session.host == "127.0.0.1"


def test_openssh_client_logs_in_with_strict_host_key_checking(sshd_session) -> None:
    need_ssh_client()
    done = run_ssh(sshd_session, "echo hi")
    assert done.returncode == 0, done.stderr + sshd_session.log.read_text()
    assert done.stdout == "hi\n"
    assert sshd_session.ssh_argv("true")[0] == "ssh"
    assert subprocess.run(sshd_session.ssh_argv("true"), timeout=30,
                          stdin=subprocess.DEVNULL).returncode == 0


def test_paramiko_connects_with_reject_policy_and_the_known_hosts(sshd_session) -> None:
    client = paramiko_client(sshd_session, sshd_session.known_hosts)
    try:
        _, stdout, _ = client.exec_command("echo hi", timeout=10)
        assert stdout.read() == b"hi\n"
        assert stdout.channel.recv_exit_status() == 0
    finally:
        client.close()


def test_paramiko_refuses_the_server_when_its_key_is_not_known(sshd_session,
                                                              tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(paramiko.SSHException, match="not found in known_hosts"):
        paramiko_client(sshd_session, empty)


def test_path_prefix_comes_first_in_the_session_path(tmp_path: Path) -> None:
    require_tool(sshd_available())
    need_ssh_client()
    busybox = Path("/bin/busybox")
    require_tool(None if busybox.exists() else "busybox not installed: apt-get install busybox")
    bin_dir = tmp_path / "busybox-bin"
    bin_dir.mkdir()
    (bin_dir / "find").symlink_to(busybox)
    with start_sshd(tmp_path / "sshd", path_prefix=bin_dir) as server:
        done = run_ssh(server, "command -v find; find --help 2>&1 | head -n 1")
    assert done.returncode == 0, done.stderr
    first, banner = done.stdout.splitlines()[:2]
    assert first == str(bin_dir.resolve() / "find")
    assert "BusyBox" in banner


def test_other_host_key_types_are_written_to_known_hosts(tmp_path: Path) -> None:
    require_tool(sshd_available())
    with start_sshd(tmp_path / "sshd", host_key_type="ecdsa") as server:
        assert server.host_key_pub.startswith("ecdsa-sha2-nistp256 ")
        client = paramiko_client(server, server.known_hosts)
        client.close()


def test_sshd_that_cannot_start_raises_with_its_log(tmp_path: Path) -> None:
    require_tool(sshd_available())
    with pytest.raises(RuntimeError, match=r"(?s)did not come up.*NoSuchOption"):
        start_sshd(tmp_path / "sshd", extra_config="NoSuchOption yes")


def test_kill_leaves_the_port_refusing_connections(sshd: SshServer) -> None:
    sshd.kill()
    assert sshd.process.poll() is not None
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((sshd.host, sshd.port), 2).close()
    sshd.stop()  # harmless on a dead server: the fixture calls it again


# --- silent and closed ports ------------------------------------------------------------


def test_black_hole_accepts_but_never_sends_a_banner(black_hole: BlackHole) -> None:
    with socket.create_connection(("127.0.0.1", black_hole.port), 2) as s:
        s.settimeout(0.5)
        with pytest.raises(TimeoutError):
            s.recv(64)
    assert black_hole.accepted >= 1


def test_black_hole_close_stops_listening() -> None:
    hole = BlackHole()
    port = hole.port
    hole.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), 2).close()


def test_closed_port_refuses() -> None:
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", closed_port()), 2).close()


def test_require_tool_fails_under_ci_and_skips_elsewhere(monkeypatch) -> None:
    require_tool(None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="required under CI: gone"):
        require_tool("gone")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="gone"):
        require_tool("gone")


# --- demo backup tree -------------------------------------------------------------------


def walk_files(root: Path) -> dict[str, os.stat_result]:
    """Every regular file under root (symlinks not followed), by path relative to root."""
    found = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = Path(folder, name)
            if not path.is_symlink():
                found[str(path.relative_to(root))] = path.lstat()
    return found


def folder_time(relpath: str) -> datetime:
    y, m, d, hms = relpath.split("/")[-5:-1]
    return datetime.strptime(f"{y}{m}{d}{hms}", "%Y%m%d%H%M%S").replace(tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    dest = tmp_path_factory.mktemp("demo")
    return dest, make_demo_nodes(dest, days=30, now=NOW, seed=7)


def test_demo_nodes_have_one_backup_per_night_and_series(demo) -> None:
    dest, summary = demo
    c = walk_files(dest / "C" / "cms02")
    h1 = walk_files(dest / "H1" / "cms02")
    assert len(c) == 30 * len(SERIES) == summary["nodes"]["C"]["files"]
    assert len(h1) == 30 * len(SERIES) - 3 == summary["nodes"]["H1"]["files"]
    assert summary["files"] == len(c) + len(h1)
    assert summary["bytes"] == sum(st.st_size for st in [*c.values(), *h1.values()])
    pattern = re.compile(r"(repos|tracs)/(env|data)/\d{4}/\d\d/\d\d/\d{6}/\2\.tar\.gz"
                         r"|svn/dybsvn/\d{4}/\d\d/\d\d/\d{6}/dybsvn-\d+\.tar\.gz")
    assert all(pattern.fullmatch(p) for p in c), sorted(c)[:5]
    # H1 holds copies of the same tarballs: same names, same sizes
    assert all(c[p].st_size == st.st_size for p, st in h1.items())


def test_demo_files_are_sparse_with_the_backup_time_as_mtime(demo) -> None:
    dest, _ = demo
    files = walk_files(dest / "C" / "cms02")
    for path, st in files.items():
        assert st.st_blocks * 512 < 1_000_000, path
        assert datetime.fromtimestamp(st.st_mtime, UTC) == folder_time(path), path
    newest = {name: max((p for p in files if p.startswith(name + "/")), key=folder_time)
              for name in ("tracs/env", "svn/dybsvn")}
    assert 3_000_000 < files[newest["tracs/env"]].st_size < 10_000_000
    assert files[newest["svn/dybsvn"]].st_size > 1_000_000_000


def test_demo_sizes_grow_without_alarming_drops(demo) -> None:
    dest, _ = demo
    files = walk_files(dest / "C" / "cms02")
    for spec in SERIES:
        sizes = [files[p].st_size for p in sorted(files, key=folder_time)
                 if p.startswith(spec.name + "/")]
        assert all(b > 0.5 * a for a, b in itertools.pairwise(sizes)), spec.name
        assert sizes[-1] > sizes[0] * 0.95, spec.name


def test_demo_last_links_point_to_the_newest_folder(demo) -> None:
    dest, _ = demo
    for node in ("C", "H1"):
        for spec in SERIES:
            base = dest / node / "cms02" / spec.name
            last = base / "last"
            assert last.is_symlink()
            target = os.readlink(last)
            assert not os.path.isabs(target)
            newest = max(base.glob("*/*/*/*"), key=lambda p: p.relative_to(base).as_posix())
            assert last.resolve() == newest.resolve()


def test_demo_h1_dybsvn_is_stale_and_the_rest_fresh(demo) -> None:
    dest, summary = demo

    def newest(node: str, series: str) -> datetime:
        return datetime.fromisoformat(summary["nodes"][node]["series"][series]["newest"])

    assert NOW - newest("H1", "svn/dybsvn") >= timedelta(days=3)
    for node in ("C", "H1"):
        for spec in SERIES:
            if (node, spec.name) != ("H1", "svn/dybsvn"):
                assert timedelta(0) < NOW - newest(node, spec.name) < timedelta(hours=36)
    stale_link = dest / "H1" / "cms02" / "svn" / "dybsvn" / "last"
    assert folder_time(os.readlink(stale_link) + "/x") == newest("H1", "svn/dybsvn")


def test_demo_is_reproducible_and_naive_now_means_utc(tmp_path: Path) -> None:
    a = make_demo_tree(tmp_path / "a", days=5, now=NOW, seed=3)
    b = make_demo_tree(tmp_path / "b", days=5, now=NOW.replace(tzinfo=None), seed=3)
    assert a["series"] == b["series"]
    def shape(root: Path) -> dict[str, tuple[int, int]]:
        return {p: (st.st_size, st.st_mtime_ns) for p, st in walk_files(root).items()}

    assert shape(tmp_path / "a") == shape(tmp_path / "b")
    c = make_demo_tree(tmp_path / "c", days=5, now=NOW, seed=4)
    assert c["series"] != a["series"]
    with pytest.raises(ValueError, match="unknown series"):
        make_demo_tree(tmp_path / "d", days=5, now=NOW, stale={"nope": 1})


def test_demo_command_line_writes_the_source_and_both_copies(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    done = subprocess.run([sys.executable, "-m", "sphinxcontrib_scmmonitor.cli.demo",
                           str(tmp_path / "demo"), "--days", "40", "--now", "2026-11-28T12:00:00Z"],
                          capture_output=True, text=True, check=True, timeout=120, env=env)
    summary = json.loads(done.stdout)
    # S, C and H1, 40 nights each, less the demo's planted faults: the night the hub
    # skipped (on all three), the night not copied to C, H1's three nights since it stopped
    assert sorted(summary["nodes"]) == ["C", "H1", "S"]
    assert summary["files"] == 40 * len(SERIES) * 3 - 3 - 1 - 3
    assert summary["nodes"]["H1"]["root"] == str(tmp_path / "demo" / "H1" / "cms02")
    assert len(walk_files(tmp_path / "demo")) == summary["files"]
