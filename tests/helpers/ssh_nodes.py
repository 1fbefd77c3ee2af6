"""Nodes reached over the test sshd: their config keys, their backups, what the store kept.

``ssh_node`` is a node's keys for a tests/sshd.py server, ``plant`` a backup file
whose mtime is its backup time (as a backup script leaves it), ``backups`` the
stored backups still on the node. The configuration itself is written by
``tests.helpers.backups.write_config``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.helpers import backups as trees

DAY = trees.DAY


def ssh_node(sshd: Any, root: Path, **extra: object) -> dict[str, object]:
    """The keys of a node on ``sshd`` (a tests/sshd.py ``SshServer``) backed up below ``root``."""
    return {"host": sshd.host, "port": sshd.port, "user": sshd.user,
            "identity_file": str(sshd.identity_file), "known_hosts": str(sshd.known_hosts),
            "root": str(root), "connect_timeout": 3, "command_timeout": 20, **extra}


def plant(root: Path, series: str, when: float, name: str | bytes, size: int) -> bytes:
    """A sparse backup file at <root>/<series>/<YYYY/MM/DD/HHMMSS>/<name>; returns its path."""
    return trees.plant(root, series, int(when), name, size, mtime=when)


def backups(db: Path) -> dict[bytes, tuple[int, int]]:
    """path -> (size, backup_at) of every stored backup not marked gone."""
    return {path: (size, at) for path, (size, at, _) in trees.present(db).items()}
