"""Real local accounts for the tests: made with ``useradd``, removed with ``userdel`` after.

A node's login shell (bash, zsh, tcsh, fish, nologin) and its rc files decide
what sshd runs and what the collector reads, so the tests log in as real
accounts of each kind instead of pretending.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.sshd import require_tool


@dataclass(frozen=True)
class Account:
    name: str
    home: Path
    shell: str
    uid: int
    gid: int

    def write(self, relative: str, text: str, mode: int = 0o644) -> Path:
        """A file in the account's home, owned by the account (folders too)."""
        path = self.home / relative
        for folder in reversed(path.relative_to(self.home).parents[:-1]):
            (self.home / folder).mkdir(exist_ok=True)
            os.chown(self.home / folder, self.uid, self.gid)
        path.write_text(text)
        path.chmod(mode)
        os.chown(path, self.uid, self.gid)
        return path


def why_no_accounts() -> str | None:
    if os.geteuid() != 0:
        return "making local accounts needs root"
    for tool in ("useradd", "userdel"):
        if shutil.which(tool) is None:
            return f"{tool} not found: apt-get install passwd"
    return None


def find_shell(name: str) -> str:
    """The shell's path (skip, or fail under CI, when it is not installed)."""
    path = shutil.which(name) or (name if os.path.exists(name) else None)
    require_tool(None if path else f"login shell {name} not installed (apt-get install {name})")
    assert path is not None
    return path


@contextmanager
def account(shell: str, base: Path) -> Iterator[Account]:
    """A fresh account with ``shell`` as login shell and its home in ``base``."""
    require_tool(why_no_accounts())
    name = f"scmt{secrets.token_hex(4)}"
    home = base / name
    # "*" rather than useradd's locked "!": without PAM, sshd refuses locked accounts
    subprocess.run(["useradd", "-m", "-d", str(home), "-s", shell, "-p", "*", name],
                   check=True, capture_output=True)
    try:
        import pwd

        entry = pwd.getpwnam(name)
        yield Account(name, home, shell, entry.pw_uid, entry.pw_gid)
    finally:
        # -f: even if one of its sessions is still ending
        subprocess.run(["userdel", "-r", "-f", name], check=False, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)
