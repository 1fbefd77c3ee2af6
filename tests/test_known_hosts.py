"""known_hosts files as OpenSSH writes them, against a real sshd (docs/reliability.rst).

A file without its final newline, a umask of 000, ``@revoked`` and
``@cert-authority`` lines, hashed names and patterns: each is read or
written the way OpenSSH would, and checked with OpenSSH's own ``ssh-keygen``.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest

from sphinxcontrib_scmmonitor import cli
from tests.helpers.backups import build_tree, write_config
from tests.helpers.ssh_nodes import ssh_node
from tests.sshd import keygen


def other_key(tmp_path: Path, name: str = "other") -> str:
    """'ssh-ed25519 AAAA...' of a key that is not the server's."""
    path = keygen(tmp_path / name)
    return " ".join(Path(f"{path}.pub").read_text().split()[:2])


def collect(cfg: Path) -> int:
    return cli.main(["-c", str(cfg), "collect", "--progress", "lines"])


def error_of(tmp_path: Path) -> tuple[str, str | None]:
    with sqlite3.connect(tmp_path / "store.db") as conn:
        return conn.execute("select state, error from runs order by id desc").fetchone()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "backup"
    build_tree(folder)
    return folder


def test_trusting_a_key_into_a_file_without_final_newline_keeps_both_lines(
        sshd, root, tmp_path) -> None:
    known = tmp_path / "known_hosts"
    before = f"other.example.org {other_key(tmp_path)}".encode()  # no final newline
    known.write_bytes(before)
    cfg = write_config(tmp_path, {"C": ssh_node(sshd, root, known_hosts=str(known),
                                                trust_unknown_hosts=True)})

    assert collect(cfg) == 0

    name = f"[127.0.0.1]:{sshd.port}"
    assert known.read_bytes() == before + f"\n{name} {sshd.host_key_pub}\n".encode()
    # OpenSSH reads both lines, and so does the next run, now without trusting anything
    for host in ("other.example.org", name):
        found = subprocess.run(["ssh-keygen", "-F", host, "-f", str(known)],
                               capture_output=True, text=True, check=False)
        assert found.returncode == 0, host
    cfg = write_config(tmp_path, {"C": ssh_node(sshd, root, known_hosts=str(known))})
    assert collect(cfg) == 0


def test_a_new_known_hosts_file_is_0644_in_a_0700_folder_whatever_the_umask(
        sshd, root, tmp_path) -> None:
    known = tmp_path / "new-ssh" / "known_hosts"
    cfg = write_config(tmp_path, {"C": ssh_node(sshd, root, known_hosts=str(known),
                                                trust_unknown_hosts=True)})
    old = os.umask(0)
    try:
        assert collect(cfg) == 0
    finally:
        os.umask(old)

    assert stat.S_IMODE(known.stat().st_mode) == 0o644
    assert stat.S_IMODE(known.parent.stat().st_mode) == 0o700


def test_a_revoked_key_is_refused_naming_the_file_and_line(sshd, root, tmp_path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(f"# keys\n@revoked * {sshd.host_key_pub}\n"
                     f"[127.0.0.1]:{sshd.port} {sshd.host_key_pub}\n")
    for trust in (False, True):
        cfg = write_config(tmp_path, {"C": ssh_node(sshd, root, known_hosts=str(known),
                                                    trust_unknown_hosts=trust)})

        assert collect(cfg) == 1

        state, error = error_of(tmp_path)
        assert state == "failed"
        assert error.startswith(f"host key of [127.0.0.1]:{sshd.port} (ssh-ed25519 SHA256:")
        assert f"is REVOKED (@revoked in {known} line 2); refused, nothing was collected" \
            in error
    with sqlite3.connect(tmp_path / "store.db") as conn:
        assert conn.execute("select count(*) from backups").fetchone() == (0,)


def test_cert_authority_lines_are_skipped_with_one_warning(sshd, root, tmp_path,
                                                           caplog) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(f"@cert-authority *.example.org {other_key(tmp_path, 'ca')}\n"
                     f"@cert-authority * {other_key(tmp_path, 'ca2')}\n"
                     f"[127.0.0.1]:{sshd.port} {sshd.host_key_pub}\n")
    cfg = write_config(tmp_path, {"C": ssh_node(sshd, root, known_hosts=str(known))})

    with caplog.at_level(logging.WARNING, logger="sphinxcontrib_scmmonitor"):
        assert collect(cfg) == 0
        assert collect(cfg) == 0

    warnings = [r.getMessage() for r in caplog.records if "@cert-authority" in r.getMessage()]
    assert warnings == [f"skipping the @cert-authority line(s) of {known} (first: line 1): "
                        "host certificates are not verified here; list the host's own key "
                        "(ssh-keyscan) for each node behind that authority"]
    assert "InvalidHostKey" not in caplog.text


def test_hashed_names_patterns_and_negation_match_like_openssh(sshd, root, tmp_path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{sshd.port} {sshd.host_key_pub}\n")
    subprocess.run(["ssh-keygen", "-H", "-f", str(known)], check=True, capture_output=True)
    assert "|1|" in known.read_text()
    cfg = write_config(tmp_path, {"C": ssh_node(sshd, root, known_hosts=str(known))})
    assert collect(cfg) == 0  # hashed

    known.write_text(f"[127.0.0.?]:*,other {sshd.host_key_pub}\n")
    assert collect(cfg) == 0  # a pattern

    known.write_text(f"[127.0.0.?]:*,!{f'[127.0.0.1]:{sshd.port}'} {sshd.host_key_pub}\n")
    assert collect(cfg) == 1  # negated: not known
    assert "is not known" in error_of(tmp_path)[1]


def test_a_garbled_line_is_skipped_not_fatal(sshd, root, tmp_path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text("garbage\nhost ssh-ed25519 not*base64\n@nonsense x y z\n"
                     f"[127.0.0.1]:{sshd.port} {sshd.host_key_pub}\n")
    cfg = write_config(tmp_path, {"C": ssh_node(sshd, root, known_hosts=str(known))})

    assert collect(cfg) == 0
