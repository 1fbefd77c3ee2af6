"""~/.ssh/config by OpenSSH's own rules: real ``ssh -G``, a real Include, real jump hosts.

The end-to-end tests run the collector as a real local account (``useradd``)
whose ``~/.ssh/config`` includes another file that sends one node through a
bastion sshd (ProxyJump) and another through ``ssh -W`` (ProxyCommand); the
bastion's own log proves the jump was used (docs/configuration.rst, "SSH
configuration"; docs/reliability.rst).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import sphinxcontrib_scmmonitor
from sphinxcontrib_scmmonitor.collect.local import CollectError
from sphinxcontrib_scmmonitor.collect.sshconfig import parse_jump, resolve
from tests.accounts import account, find_shell
from tests.helpers.backups import write_config
from tests.helpers.ssh_nodes import DAY, backups, plant
from tests.sshd import require_tool, sshd_available, start_sshd


@pytest.fixture
def openssh() -> None:
    require_tool(None if shutil.which("ssh") else "OpenSSH client (ssh) not installed")


def _config(folder: Path) -> Path:
    (folder / "conf.d").mkdir()
    (folder / "conf.d" / "nodes.conf").write_text(
        "Host cms01\n  HostName 127.0.0.1\n  Port 2222\n  User backup\n"
        "  IdentityFile ~/.ssh/id_cms01\n"
        "Match originalhost cms01\n  ProxyJump jump@bastion.example.org:2200,hop2\n"
        "Host weird\n  BindAddress 127.0.0.2\n"
        "Host viaproxy\n  ProxyCommand ssh -W %h:%p bastion\n")
    main = folder / "config"
    main.write_text(f"Include {folder}/conf.d/*.conf\nHost *\n  ServerAliveInterval 30\n")
    return main


def test_include_match_and_proxyjump_are_resolved_by_openssh_itself(openssh, tmp_path) -> None:
    target = resolve("cms01", config_file=str(_config(tmp_path)))

    assert (target.hostname, target.port, target.user) == ("127.0.0.1", 2222, "backup")
    assert target.identity_files == [os.path.expanduser("~/.ssh/id_cms01")]
    assert target.proxy_jump == ["jump@bastion.example.org:2200", "hop2"]
    assert target.proxy_command == ""


def test_the_node_config_user_and_port_win_over_ssh_config(openssh, tmp_path) -> None:
    target = resolve("cms01", user="root", port=22, config_file=str(_config(tmp_path)))

    assert (target.user, target.port) == ("root", 22)


def test_an_option_that_cannot_be_honoured_is_an_error_naming_it(openssh, tmp_path) -> None:
    with pytest.raises(CollectError) as err:
        resolve("weird", config_file=str(_config(tmp_path)))

    assert "sets `bindaddress 127.0.0.2` for weird, which scm-monitor cannot honour" \
        in str(err.value)


def test_proxycommand_is_kept_for_the_collector_to_run(openssh, tmp_path) -> None:
    target = resolve("viaproxy", config_file=str(_config(tmp_path)))

    assert target.proxy_command == "ssh -W %h:%p bastion"
    assert target.proxy_jump == []


def test_without_openssh_paramiko_reads_the_config_and_refuses_include(tmp_path,
                                                                       monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-ssh-here"))  # a node without OpenSSH
    plain = tmp_path / "plain"
    plain.write_text("Host cms01\n  HostName 127.0.0.1\n  Port 2222\n  User backup\n"
                     "  ProxyJump bastion\n")

    target = resolve("cms01", config_file=str(plain))

    assert (target.hostname, target.port, target.user) == ("127.0.0.1", 2222, "backup")
    assert target.proxy_jump == ["bastion"]
    with pytest.raises(CollectError) as err:
        resolve("cms01", config_file=str(_config(tmp_path)))
    assert "uses Include, which only OpenSSH's own client resolves" in str(err.value)


def test_without_openssh_paramiko_may_still_run_match_exec(tmp_path) -> None:
    """The process keeps paramiko's `invoke` out only where `ssh -G` reads the config."""
    probe = ("import sys\n"
             "from sphinxcontrib_scmmonitor.cli import run\n"
             "try:\n    run()\n"
             "finally:\n    print(sys.modules.get('invoke', 'absent') is None)\n")
    saw = {}
    for case, path in (("openssh", os.environ["PATH"]), ("none", str(tmp_path / "no-ssh"))):
        proc = subprocess.run([sys.executable, "-c", probe, "--help"], capture_output=True,
                              text=True, timeout=60, env={**os.environ, "PATH": path})
        saw[case] = proc.stdout.strip().splitlines()[-1]

    assert saw == {"openssh": "True", "none": "False"}


@pytest.mark.parametrize(("spec", "expected"), [
    ("bastion", ("", "bastion", 0)),
    ("jump@bastion:2200", ("jump", "bastion", 2200)),
    ("ssh://jump@bastion:2200", ("jump", "bastion", 2200)),
    ("[::1]:2200", ("", "::1", 2200)),
    ("a@b@bastion", ("a@b", "bastion", 0)),
])
def test_proxyjump_hops_are_read_like_openssh_does(spec, expected) -> None:
    assert parse_jump(spec) == expected


# --- end to end: a real account, its real ~/.ssh/config, two real sshd's --------------------


@pytest.fixture
def shared() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="scm-jump-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _as(user, argv: list[str]) -> subprocess.CompletedProcess[str]:
    setpriv = shutil.which("setpriv")
    require_tool(None if setpriv else "setpriv (util-linux) not installed")
    source = str(Path(sphinxcontrib_scmmonitor.__file__).parent.parent)
    env = {"HOME": str(user.home), "PATH": "/usr/local/bin:/usr/bin:/bin",
           "PYTHONPATH": source, "LANG": "C.UTF-8"}
    return subprocess.run([setpriv, f"--reuid={user.uid}", f"--regid={user.gid}",
                           "--clear-groups", "--", *argv], env=env, capture_output=True,
                          text=True, timeout=120, cwd=user.home, check=False)


def test_jump_hosts_and_proxycommand_from_an_included_ssh_config(shared) -> None:
    require_tool(sshd_available())
    require_tool(None if shutil.which("ssh") else "OpenSSH client (ssh) not installed")
    bastion = start_sshd(shared / "bastion", log_level="DEBUG1")
    target = start_sshd(shared / "target")
    root = shared / "backup"
    today = time.time() // DAY * DAY + 3 * 3600
    files = {plant(root, "svn/dybsvn", today - d * DAY, "dybsvn.tar.gz", 1000 + d): 1000 + d
             for d in range(3)}
    for dirpath, _dirs, _files in os.walk(root):
        os.chmod(dirpath, 0o755)
    try:
        with account(find_shell("bash"), shared) as user:
            user.write(".ssh/id_bastion", bastion.identity_file.read_text(), 0o600)
            user.write(".ssh/id_target", target.identity_file.read_text(), 0o600)
            known = user.write(".ssh/known_hosts", bastion.known_hosts.read_text()
                               + target.known_hosts.read_text())
            user.write(".ssh/config", "Include ~/.ssh/config.d/*\n")
            user.write(".ssh/config.d/backup-nodes",
                       f"Host bastion bastion-again\n  HostName 127.0.0.1\n  Port {bastion.port}\n"
                       "  User root\n  IdentityFile ~/.ssh/id_bastion\n"
                       f"Host cms01 cms02 cms03\n  HostName 127.0.0.1\n  Port {target.port}\n"
                       "  User root\n  IdentityFile ~/.ssh/id_target\n"
                       "Host cms01\n  ProxyJump bastion\n"
                       "Host cms03\n  ProxyJump bastion,bastion-again\n"
                       "Host cms02\n  ProxyCommand ssh -F /dev/null -i ~/.ssh/id_bastion "
                       "-o BatchMode=yes -o StrictHostKeyChecking=yes "
                       f"-o UserKnownHostsFile={known} -p {bastion.port} -W %h:%p "
                       "root@127.0.0.1\n")
            work = user.home / "work"
            work.mkdir()
            os.chown(work, user.uid, user.gid)
            node = {"root": str(root), "known_hosts": str(known), "connect_timeout": 10}
            cfg = write_config(work, {"J": {"host": "cms01", **node},
                                      "P": {"host": "cms02", **node},
                                      "M": {"host": "cms03", **node, "identity_file":
                                            str(user.home / ".ssh/id_target")}})
            done = _as(user, [sys.executable, "-m", "sphinxcontrib_scmmonitor.cli", "-c",
                              str(cfg), "collect", "--progress", "lines"])
            assert done.returncode == 0, done.stdout + done.stderr
            stored = backups(work / "store.db")
            with sqlite3.connect(work / "store.db") as conn:
                counts = dict(conn.execute("select n.name, count(*) from backups b join nodes n "
                                           "on n.id = b.node_id group by n.name"))

            # every hop's key is checked: without the bastion's, nothing is collected
            user.write(".ssh/known_hosts", target.known_hosts.read_text())
            refused = _as(user, [sys.executable, "-m", "sphinxcontrib_scmmonitor.cli", "-c",
                                 str(cfg), "collect", "J", "--progress", "lines"])
    finally:
        bastion.stop()
        target.stop()

    assert {p: s for p, (s, _) in stored.items()} == files  # the same paths for J and P
    assert counts == {"J": len(files), "P": len(files), "M": len(files)}
    # all three went through the bastion: it logs every connection it forwarded; M's
    # second hop is the bastion again, reached through itself
    log = bastion.log.read_text().splitlines()
    forwarded = [line for line in log if "server_request_direct_tcpip" in line
                 and line.endswith(f"target 127.0.0.1 port {target.port}")]
    assert len(forwarded) >= 3, "\n".join(log[-40:])
    assert any(line.endswith(f"target 127.0.0.1 port {bastion.port}") for line in log
               if "server_request_direct_tcpip" in line)
    assert refused.returncode == 1
    assert f"host key of [127.0.0.1]:{bastion.port} is not known" in refused.stdout
