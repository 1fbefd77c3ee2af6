"""Throwaway OpenSSH servers (and silent or closed ports) on 127.0.0.1 for the collector's tests.

A plain module, so benchmarks and scripts can start a real sshd too; only
``require_tool`` needs pytest, and imports it when called.
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

SSHD = "/usr/sbin/sshd"
#: sshd's privilege separation folder; Debian's package makes it at boot, containers lack it
PRIVSEP_DIR = Path("/run/sshd")
START_TIMEOUT_S = 10.0


def sshd_available() -> str | None:
    """None when a real sshd can be started here, else why not."""
    if not os.path.exists(SSHD):
        return f"{SSHD} not found: apt-get install openssh-server"
    if not shutil.which("ssh-keygen"):
        return "ssh-keygen not found: apt-get install openssh-client"
    return None


def require_tool(reason: str | None) -> None:
    """Skip locally when a tool is missing, but fail under CI, where it must be there."""
    if reason is None:
        return
    import pytest

    if os.environ.get("CI") == "true":
        pytest.fail(f"required under CI: {reason}")
    pytest.skip(reason)


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connections are refused)."""
    return free_port()


def keygen(path: Path, kind: str = "ed25519") -> Path:
    """A new key pair without passphrase at ``path`` and ``path.pub``."""
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "scmmonitor-test",
                    "-f", str(path)], check=True, stdin=subprocess.DEVNULL)
    return path


@functools.cache
def sshd_version() -> tuple[int, int]:
    """OpenSSH's (major, minor) version of ``SSHD``, (0, 0) when it cannot be told."""
    # sshd has no version flag: an unknown one makes it print its usage, version included
    out = subprocess.run([SSHD, "-V"], capture_output=True, text=True, check=False)
    found = re.search(r"OpenSSH_(\d+)\.(\d+)", out.stdout + out.stderr)
    return (int(found[1]), int(found[2])) if found else (0, 0)


@dataclass
class SshServer:
    """A running sshd and what a client needs to reach it."""

    port: int
    user: str
    identity_file: Path
    known_hosts: Path
    host_key_pub: str  # "ssh-ed25519 AAAA..."
    folder: Path
    process: subprocess.Popen[bytes]
    host: str = "127.0.0.1"
    log: Path = field(default_factory=Path)
    _group_killed: bool = field(default=False, repr=False)

    def ssh_argv(self, *command: str) -> list[str]:
        """An ``ssh`` client command line that reaches this server non-interactively."""
        return ["ssh", "-i", str(self.identity_file), "-p", str(self.port),
                "-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "StrictHostKeyChecking=yes",
                "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=10",
                "-F", "/dev/null", f"{self.user}@{self.host}", *command]

    def stop(self) -> None:
        """Stop the listening sshd (SIGTERM, then SIGKILL) and what is left of its sessions."""
        # looked up while the listener lives: once it is gone they are no longer its children
        sessions = _descendants(self.process.pid)
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._kill_group()
        _kill_all(sessions)

    def kill(self) -> None:
        """SIGKILL the listening sshd and every session it forked, as a crash would."""
        sessions = _descendants(self.process.pid)
        self._kill_group()
        # sshd calls setsid() for each connection, so the group kill above misses them:
        # without this, "killing sshd" would leave every open connection working
        _kill_all(sessions)
        self.process.wait(5)

    def _kill_group(self) -> None:
        # once only: after that the group id may be reused by processes that are not ours
        if self._group_killed:
            return
        self._group_killed = True
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def __enter__(self) -> SshServer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux /proc; empty where there is none)."""
    children: dict[int, list[int]] = {}
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:  # ended meanwhile
                continue
            # the name in (...) may hold spaces: the parent's pid is 2nd after the last ")"
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _kill_all(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def _config_lines(folder: Path, port: int, host_key: Path, authorized: Path,
                  path_prefix: Path | None, sftp: str, log_level: str) -> list[str]:
    lines = [
        "ListenAddress 127.0.0.1", f"Port {port}", f"HostKey {host_key}",
        f"PidFile {folder / 'sshd.pid'}", f"AuthorizedKeysFile {authorized}",
        "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no",
        # pytest's temporary folders are not root-only the way StrictModes wants
        "StrictModes no", "PermitRootLogin prohibit-password", f"Subsystem sftp {sftp}",
        f"LogLevel {log_level}", "PrintMotd no", "PrintLastLog no", "UseDNS no",
        # tests open many connections at once, some of them left silent on purpose
        "MaxStartups 100:30:200", "MaxSessions 50",
    ]
    if sshd_version() >= (9, 8):
        # 9.8+ would lock 127.0.0.1 out after the tests' deliberate failures
        lines.append("PerSourcePenalties no")
    if path_prefix is not None:
        lines.append(f"SetEnv PATH={Path(path_prefix).resolve()}:/usr/local/bin:/usr/bin:/bin")
    return lines


def start_sshd(tmpdir: Path, *, extra_config: str = "", path_prefix: Path | None = None,
               host_key_type: str = "ed25519", sftp: str = "internal-sftp",
               log_level: str = "VERBOSE") -> SshServer:
    """Start ``sshd -D`` on a free loopback port with fresh host and user keys in ``tmpdir``.

    ``sftp`` is the SFTP subsystem's command (e.g. a real sftp-server run as another user).
    ``log_level`` ``DEBUG1`` makes sshd log each forwarded connection (a jump host's).

    Returns once the port answers with an ``SSH-2.0`` banner; raises RuntimeError with
    sshd's log when it does not within ``START_TIMEOUT_S``.
    """
    tmpdir.mkdir(parents=True, exist_ok=True)
    folder = tmpdir.resolve()  # sshd insists on absolute paths everywhere
    host_key = keygen(folder / f"host_{host_key_type}", host_key_type)
    user_key = keygen(folder / "user_ed25519")
    authorized = folder / "authorized_keys"
    authorized.write_text(Path(f"{user_key}.pub").read_text())
    with contextlib.suppress(PermissionError):  # only root's sshd needs it
        PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
    pub = " ".join(Path(f"{host_key}.pub").read_text().split()[:2])
    log = folder / "sshd.log"
    errors: list[str] = []
    # the free port may be taken between our probe and sshd's bind: try a few
    for _attempt in range(3):
        port = free_port()
        config = folder / "sshd_config"
        lines = _config_lines(folder, port, host_key, authorized, path_prefix, sftp,
                              log_level)
        config.write_text("\n".join(lines) + "\n" + extra_config + "\n")
        known = folder / "known_hosts"
        known.write_text(f"[127.0.0.1]:{port} {pub}\n")  # the bracket form for a port != 22
        with open(log, "wb") as log_fh:
            proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=log_fh, start_new_session=True)
        server = SshServer(port=port, user=getpass.getuser(), identity_file=user_key,
                           known_hosts=known, host_key_pub=pub, folder=folder, process=proc,
                           log=log)
        if _wait_for_banner(proc, port):
            return server
        server.stop()
        errors.append(log.read_text(errors="replace"))
        if "Address already in use" not in errors[-1]:
            break
    raise RuntimeError(f"sshd did not come up on 127.0.0.1 ({SSHD} -D -e -f {config}):\n"
                       + "\n".join(errors))


def _wait_for_banner(proc: subprocess.Popen[bytes], port: int) -> bool:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1) as s:
            s.settimeout(2)
            if s.recv(64).startswith(b"SSH-2.0"):
                return True
        time.sleep(0.05)
    return False


class BlackHole:
    """Accepts TCP connections on 127.0.0.1 and never says a word (no SSH banner)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(50)
        # closing a socket does not wake a thread blocked in accept() on Linux: poll instead
        self.sock.settimeout(0.1)
        self.port: int = self.sock.getsockname()[1]
        self.host = "127.0.0.1"
        self.held: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="black-hole", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.held.append(conn)  # kept open, so the client waits rather than sees EOF

    @property
    def accepted(self) -> int:
        """How many connections came in so far."""
        with self._lock:
            return len(self.held)

    def close(self) -> None:
        """Stop listening and drop every held connection."""
        self._closed.set()
        self._thread.join(2)
        self.sock.close()
        with self._lock:
            for conn in self.held:
                conn.close()
            self.held.clear()

    def __enter__(self) -> BlackHole:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
