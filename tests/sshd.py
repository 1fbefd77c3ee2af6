"""Throwaway OpenSSH servers (and silent sockets) on 127.0.0.1 for the collector's tests."""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

SSHD = "/usr/sbin/sshd"


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
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connections are refused)."""
    return free_port()


def keygen(path: Path, kind: str = "ed25519") -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "scmmonitor-test",
                    "-f", str(path)], check=True)
    return path


@dataclass
class SshServer:
    """A running sshd and what a client needs to reach it."""

    port: int
    user: str
    identity_file: Path
    known_hosts: Path
    host_key_pub: str
    folder: Path
    process: subprocess.Popen[bytes]
    host: str = "127.0.0.1"
    log: Path = field(default_factory=Path)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def kill(self) -> None:
        """SIGKILL the listening sshd and every session it forked."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(5)


def start_sshd(folder: Path, *, extra_config: str = "", path_prefix: Path | None = None,
               host_key_type: str = "ed25519") -> SshServer:
    """Start ``sshd -D`` on a free loopback port with fresh host and user keys."""
    folder.mkdir(parents=True, exist_ok=True)
    folder = folder.resolve()
    host_key = keygen(folder / f"host_{host_key_type}", host_key_type)
    user_key = keygen(folder / "user_ed25519")
    authorized = folder / "authorized_keys"
    authorized.write_text(Path(f"{user_key}.pub").read_text())
    port = free_port()
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation folder
    lines = [
        "ListenAddress 127.0.0.1", f"Port {port}", f"HostKey {host_key}",
        f"PidFile {folder / 'sshd.pid'}", f"AuthorizedKeysFile {authorized}",
        "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no",
        "StrictModes no", "PermitRootLogin prohibit-password", "Subsystem sftp internal-sftp",
        "LogLevel VERBOSE", "MaxStartups 100:30:200", "MaxSessions 50",
    ]
    if path_prefix is not None:
        lines.append(f"SetEnv PATH={path_prefix}:/usr/local/bin:/usr/bin:/bin")
    config = folder / "sshd_config"
    config.write_text("\n".join(lines) + "\n" + extra_config + "\n")
    log = folder / "sshd.log"
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=subprocess.DEVNULL,
                            stderr=open(log, "wb"), start_new_session=True)  # noqa: SIM115
    pub = " ".join(Path(f"{host_key}.pub").read_text().split()[:2])
    known = folder / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {pub}\n")
    server = SshServer(port=port, user=getpass.getuser(), identity_file=user_key,
                       known_hosts=known, host_key_pub=pub, folder=folder, process=proc, log=log)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1) as s:
            s.settimeout(2)
            if s.recv(64).startswith(b"SSH-2.0"):
                return server
        time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"sshd did not come up on port {port}:\n{log.read_text()}")


class BlackHole:
    """Accepts TCP connections on 127.0.0.1 and never says a word (no SSH banner)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(50)
        self.port: int = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()
