"""The collector against real accounts whose login shells and rc files get in the way.

Each test makes real local accounts (``useradd``) with sh, bash, zsh, tcsh, csh
or fish as login shell, whose rc files print to stdout and stderr, with and
without a final newline, and lists a backup root whose name holds a quote, a
backtick, ``$(...)`` and a space through a real sshd. What the login shell
printed must change nothing stored, and nothing in the root may run
(docs/reliability.rst, login-shell rows).
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from sphinxcontrib_scmmonitor import cli
from tests.accounts import Account, account, find_shell
from tests.helpers.backups import write_config
from tests.helpers.ssh_nodes import DAY, backups, plant
from tests.sshd import SshServer, require_tool, sshd_available, start_sshd

#: What each rc file prints on stdout before sshd's command runs: a line, then "9"
#: without a newline (the byte that once turned 10,004,000 bytes into 910,004,000).
NOISE = "Welcome to {shell}\n9"
#: and on stderr, without a newline either
ERR_NOISE = "rc file on stderr"

RC_FILES = {
    "bash": (".bashrc", "printf 'Welcome to bash\\n9'; printf '%s' '{err}' >&2\n"),
    "zsh": (".zshenv", "printf 'Welcome to zsh\\n9'; printf '%s' '{err}' >&2\n"),
    "tcsh": (".tcshrc", "printf 'Welcome to tcsh\\n9'; sh -c \"printf '%s' '{err}' >&2\"\n"),
    "csh": (".cshrc", "printf 'Welcome to csh\\n9'; sh -c \"printf '%s' '{err}' >&2\"\n"),
    "fish": (".config/fish/config.fish",
             "printf 'Welcome to fish\\n9'; printf '%s' '{err}' >&2\n"),
    "sh": None,  # dash reads no rc file when not interactive
}
HOSTILE_ROOT = "it's `touch {m}/tick` $(touch {m}/dollar) a b"


@pytest.fixture(scope="module")
def shared() -> Iterator[Path]:
    """A folder every test account can read (pytest's own tmp is root-only)."""
    folder = Path(tempfile.mkdtemp(prefix="scm-shells-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def server(shared: Path) -> Iterator[SshServer]:
    require_tool(sshd_available())
    srv = start_sshd(shared / "sshd")
    yield srv
    srv.stop()


def hostile_tree(shared: Path, label: str) -> tuple[Path, Path, dict[bytes, int]]:
    """(root, markers folder, {path: size}) under a root named to run things if it could."""
    markers = shared / f"markers-{label}"
    markers.mkdir()
    markers.chmod(0o777)  # so that an executed `touch` could not fail for want of rights
    root = shared / f"tree-{label}" / HOSTILE_ROOT.format(m=markers)
    today = time.time() // DAY * DAY + 3 * 3600
    files = {plant(root, "svn/dybsvn", today - day * DAY, "dybsvn.tar.gz",
                   10_004_000 + day): 10_004_000 + day for day in range(3)}
    odd = plant(root, "repos/it's `id`", today, b"$(touch x) `id`.tar.gz", 5)
    files[odd] = 5
    for dirpath, _dirs, _files in os.walk(shared / f"tree-{label}"):
        os.chmod(dirpath, 0o755)
    return root, markers, files


def node_for(server: SshServer, user: Account, root: Path, **extra: object) -> dict[str, object]:
    return {"host": server.host, "port": server.port, "user": user.name,
            "identity_file": str(server.identity_file),
            "known_hosts": str(server.known_hosts), "root": str(root),
            "connect_timeout": 10, "command_timeout": 30, **extra}


@contextmanager
def noisy_account(shell: str, shared: Path) -> Iterator[Account]:
    """An account whose rc file prints :data:`NOISE` and :data:`ERR_NOISE`."""
    with account(find_shell(shell), shared) as user:
        rc = RC_FILES[shell]
        if rc is not None:
            user.write(rc[0], rc[1].replace("{err}", ERR_NOISE))
        yield user


@pytest.mark.parametrize("shell", list(RC_FILES))
def test_every_login_shell_lists_a_hostile_root_exactly_and_runs_nothing(
        shell, shared, server, tmp_path, caplog) -> None:
    root, markers, files = hostile_tree(shared, shell)
    with noisy_account(shell, shared) as user:
        cfg = write_config(tmp_path, {"C": node_for(server, user, root)})
        with caplog.at_level(logging.DEBUG, logger="sphinxcontrib_scmmonitor.collect"):
            code = cli.main(["-c", str(cfg), "collect", "--progress", "lines"])

    assert code == 0
    # byte sizes exactly: the "9" the rc file printed is not part of any record
    assert {p: s for p, (s, _) in backups(tmp_path / "store.db").items()} == files
    assert list(markers.iterdir()) == []  # neither backtick nor $(...) ran
    with sqlite3.connect(tmp_path / "store.db") as conn:
        assert conn.execute("select state, method, error from runs").fetchall() == [
            ("ok", "find", None)]
    said = [r.getMessage() for r in caplog.records if "the login shell printed" in r.getMessage()]
    if RC_FILES[shell] is None:
        assert said == []
    else:
        noise = len(NOISE.format(shell=shell))
        assert said == [f"the login shell printed {noise} bytes before the listing started"]


def test_a_nologin_account_fails_with_what_its_shell_said(shared, server, tmp_path) -> None:
    root, _markers, _files = hostile_tree(shared, "nologin")
    with account(find_shell("/usr/sbin/nologin"), shared) as user:
        cfg = write_config(tmp_path, {"C": node_for(server, user, root)})
        assert cli.main(["-c", str(cfg), "collect"]) == 1

    with sqlite3.connect(tmp_path / "store.db") as conn:
        (state, error), = conn.execute("select state, error from runs").fetchall()
    assert state == "failed"
    assert error.startswith("the node's login shell did not run the listing (exit status 1, "
                            "it said: This account is currently not available.")
    assert "nologin" in error


def test_an_rc_file_that_corrupts_sftp_is_named_as_the_likely_cause(shared, tmp_path) -> None:
    """No GNU find on the node (BusyBox's), and an sftp-server that sshd starts through
    the login shell: the noisy .bashrc corrupts SFTP, and the error says so."""
    require_tool(sshd_available())
    busybox = Path("/bin/busybox")
    require_tool(None if busybox.exists() else "busybox not installed: apt-get install busybox")
    sftp_server = Path("/usr/lib/openssh/sftp-server")
    require_tool(None if sftp_server.exists() else "openssh-sftp-server is not installed")
    bin_dir = shared / "busybox-bin"
    bin_dir.mkdir(exist_ok=True)
    if not (bin_dir / "find").exists():
        (bin_dir / "find").symlink_to(busybox)
    root, _markers, files = hostile_tree(shared, "sftp")
    srv = start_sshd(shared / "sshd-sftp", path_prefix=bin_dir, sftp=str(sftp_server))
    try:
        with noisy_account("bash", shared) as user:
            cfg = write_config(tmp_path, {"C": node_for(srv, user, root)})
            assert cli.main(["-c", str(cfg), "collect"]) == 1
            with sqlite3.connect(tmp_path / "store.db") as conn:
                (state, method, error), = conn.execute(
                    "select state, method, error from runs").fetchall()
            # the same account with a quiet .bashrc is walked over SFTP, exactly
            user.write(".bashrc", "# quiet\n")
            assert cli.main(["-c", str(cfg), "collect"]) == 0
    finally:
        srv.stop()

    assert (state, method) == ("failed", "sftp")
    assert error.startswith("SFTP failed (")
    assert (f"the login shell printed {len(NOISE.format(shell='bash'))} bytes before the "
            "listing script ran") in error
    assert ".bashrc" in error
    assert {p: s for p, (s, _) in backups(tmp_path / "store.db").items()} == files
