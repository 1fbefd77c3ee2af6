"""Running a test's command as user ``nobody``, so that file permissions apply (root ignores
them)."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys

from tests.sshd import require_tool

SETPRIV = ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]


@functools.cache
def _why_python_cannot_run_as_nobody() -> str | None:
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return "running as root and setpriv (util-linux) is missing"
    proc = subprocess.run([setpriv, *SETPRIV, sys.executable, "-c", "pass"],
                          capture_output=True, text=True, timeout=60, cwd="/")
    if proc.returncode != 0:
        # e.g. a pyenv Python under /root (0700) whose libpython nobody cannot load
        return (f"{sys.executable} cannot run as user nobody: "
                f"{proc.stderr.strip()[-300:] or proc.returncode}")
    return None


def as_nobody(argv: list[str]) -> list[str]:
    """``argv`` run as nobody when the tests run as root (skip, or fail under CI, if the
    test's Python cannot run as nobody)."""
    if os.geteuid() != 0:
        return argv
    require_tool(_why_python_cannot_run_as_nobody())
    return [str(shutil.which("setpriv")), *SETPRIV, *argv]
