"""List a remote node's backups over SSH (paramiko).

One command per node: GNU ``find`` prints NUL-separated records that are
parsed while they stream in; stdout and stderr are drained together so a big
listing can never deadlock. A node without GNU find is walked over SFTP
instead, reading names as bytes. Host keys are always verified: an unknown
key is refused unless ``trust_unknown_hosts`` is set, a changed key always.
"""

from __future__ import annotations

import logging
import os
import select
import shlex
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko
from paramiko.sftp import (
    CMD_CLOSE,
    CMD_HANDLE,
    CMD_NAME,
    CMD_OPENDIR,
    CMD_READDIR,
    CMD_STATUS,
)
from paramiko.sftp_attr import SFTPAttributes

from ..config import NodeSettings
from ..store import Record
from .listing import ListingParser, printable
from .local import CollectError, Lister, matches

log = logging.getLogger(__name__)

EXIT_NO_GNU_FIND = 97
EXIT_NO_ROOT = 98
_STDERR_CAP = 16 * 1024
_CHUNK = 256 * 1024

# Runs under the login shell as `sh -c '<this>'`; root and pattern are quoted with
# shlex.quote, so nothing from the config is ever interpreted by a shell.
_SCRIPT = """\
LC_ALL=C; export LC_ALL
root={root}
if [ ! -d "$root" ]; then echo "backup root $root does not exist or is not a folder" >&2; \
exit {no_root}; fi
if find /dev/null -maxdepth 0 -printf '' >/dev/null 2>&1; then
  exec find -H "$root" -type f -name {pattern} -printf '%s\\t%T@\\t%p\\0'
fi
exit {no_find}
"""


def listing_command(root: str, pattern: str) -> str:
    """The one remote command that lists a node (also used by the benchmarks)."""
    script = _SCRIPT.format(root=shlex.quote(root), pattern=shlex.quote(pattern),
                            no_root=EXIT_NO_ROOT, no_find=EXIT_NO_GNU_FIND)
    return "sh -c " + shlex.quote(script)


class _RefuseUnknown(paramiko.MissingHostKeyPolicy):
    """Refuse a first-seen host key with a message that says how to trust it."""

    def __init__(self, known_hosts: str) -> None:
        self.known_hosts = known_hosts

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str,
                         key: paramiko.PKey) -> None:
        host, port = _split_host(hostname)
        scan = f"ssh-keyscan {'-p ' + port + ' ' if port else ''}-t {_short_type(key)} {host}"
        raise CollectError(
            f"host key of {hostname} is not known ({key.get_name()} {_fingerprint(key)}); "
            f"check it with the node's admin, then add it: `{scan} >> "
            f"{self.known_hosts or '~/.ssh/known_hosts'}` (or set trust_unknown_hosts = true "
            "for this node to accept it once)")


class _TrustFirstSeen(paramiko.MissingHostKeyPolicy):
    """trust_unknown_hosts = true: accept a first-seen key, remember it, and say so."""

    def __init__(self, known_hosts: str) -> None:
        self.known_hosts = known_hosts

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str,
                         key: paramiko.PKey) -> None:
        path = Path(self.known_hosts or os.path.expanduser("~/.ssh/known_hosts"))
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        entry = paramiko.hostkeys.HostKeyEntry([hostname], key)
        with open(path, "a", encoding="ascii") as fh:
            fh.write(entry.to_line())
        client.get_host_keys().add(hostname, key.get_name(), key)
        log.warning("trusted first-seen host key of %s (%s %s) and saved it to %s",
                    hostname, key.get_name(), _fingerprint(key), path)


class SshLister(Lister):
    """Lists one remote node; ``abort()`` may be called from another thread."""

    def __init__(self, node: NodeSettings) -> None:
        super().__init__(node)
        self.client: paramiko.SSHClient | None = None

    def abort(self) -> None:
        client = self.client
        if client is not None:
            client.close()

    def records(self, parser: ListingParser) -> Iterator[Record]:
        node = self.node
        self.client = client = self._connect()
        try:
            self.method = "find"
            status = yield from self._run_find(client, parser)
            if status == EXIT_NO_GNU_FIND:
                self.method = "sftp"
                self.problems.clear()
                yield from self._walk_sftp(client, parser)
            elif status == EXIT_NO_ROOT:
                raise CollectError(self.problems[0] if self.problems else
                                   f"backup root {node.root} does not exist on the node")
            elif status != 0:
                self.complete = False
                if not self.problems:
                    self.problems.append(f"listing command exited with status {status}")
        finally:
            client.close()
            self.client = None

    # --- connecting

    def _connect(self) -> paramiko.SSHClient:
        node = self.node
        opts = _ssh_config(node.host)
        hostname = opts.get("hostname", node.host)
        port = node.port or int(opts.get("port", 22))
        user = node.user or opts.get("user") or _current_user()
        keys = [node.identity_file] if node.identity_file else \
            [os.path.expanduser(p) for p in opts.get("identityfile", [])]
        keys = [k for k in keys if os.path.exists(k)] or None
        client = paramiko.SSHClient()
        for system in ("/etc/ssh/ssh_known_hosts", os.path.expanduser("~/.ssh/known_hosts")):
            if os.path.exists(system):
                client.load_system_host_keys(system)
        if node.known_hosts and os.path.exists(node.known_hosts):
            client.load_host_keys(node.known_hosts)
        policy_cls = _TrustFirstSeen if node.trust_unknown_hosts else _RefuseUnknown
        client.set_missing_host_key_policy(policy_cls(node.known_hosts))
        sock: Any = None
        if opts.get("proxycommand"):
            sock = paramiko.ProxyCommand(opts["proxycommand"])
        where = f"{user}@{hostname}:{port}"
        t = node.connect_timeout
        try:
            client.connect(hostname, port=port, username=user, key_filename=keys, timeout=t,
                           banner_timeout=t, auth_timeout=t, channel_timeout=t, sock=sock,
                           allow_agent=True, look_for_keys=True)
        except CollectError:
            client.close()
            raise
        except paramiko.BadHostKeyException as exc:
            client.close()
            host = f"[{hostname}]:{port}" if port != 22 else hostname
            raise CollectError(
                f"host key of {host} has CHANGED (possible man-in-the-middle attack): it "
                f"offered {exc.key.get_name()} {_fingerprint(exc.key)}, known_hosts has "
                f"{_fingerprint(exc.expected_key)}; nothing was collected. If the change is "
                f"legitimate, remove the old key with `ssh-keygen -R '{host}'` and add the "
                "new one") from None
        except paramiko.AuthenticationException as exc:
            client.close()
            raise CollectError(f"authentication as {where} refused ({exc}); check user and "
                               "identity_file, or load the key into ssh-agent") from None
        except TimeoutError:
            client.close()
            raise CollectError(f"connecting to {where} timed out after {t:g} s") from None
        except paramiko.SSHException as exc:
            client.close()
            text = str(exc)
            # a peer that accepts TCP but never speaks SSH surfaces as any of these
            if any(s in text.lower() for s in ("banner", "no existing session", "negotiat")):
                text = (f"no SSH banner/handshake within {t:g} s (a firewall black hole, or "
                        "not an SSH server on that port?)")
            raise CollectError(f"SSH to {where} failed: {text}") from None
        except paramiko.ssh_exception.NoValidConnectionsError as exc:
            client.close()
            first = next(iter(exc.errors.values()), exc)
            reason = (os.strerror(first.errno) if getattr(first, "errno", None)
                      else str(first)).lower()
            raise CollectError(f"cannot connect to {where}: {reason}") from None
        except OSError as exc:
            client.close()
            reason = exc.strerror or str(exc)
            raise CollectError(f"cannot connect to {where}: {reason}") from None
        return client

    # --- GNU find

    def _run_find(self, client: paramiko.SSHClient,
                  parser: ListingParser) -> Iterator[Record]:
        node = self.node
        deadline = time.monotonic() + node.command_timeout
        transport = client.get_transport()
        assert transport is not None
        chan = transport.open_session(timeout=node.connect_timeout)
        try:
            chan.exec_command(listing_command(node.root, node.pattern))
            stderr = bytearray()
            stdout_open = True
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.complete = False
                    raise CollectError(f"listing timed out after {node.command_timeout:g} s "
                                       f"({parser.stats.files_seen} files read so far)")
                got = False
                while chan.recv_stderr_ready():
                    data = chan.recv_stderr(_CHUNK)
                    if len(stderr) < _STDERR_CAP:
                        stderr += data[:_STDERR_CAP - len(stderr)]
                    got = True
                # after EOF or close, recv() returns b"" at once when the buffer is empty
                if stdout_open and (chan.recv_ready() or chan.eof_received or chan.closed):
                    data = chan.recv(_CHUNK)
                    if data:
                        yield from parser.feed(data)
                    else:
                        stdout_open = False
                    got = True
                if got:
                    continue
                # Done only once stdout has reached EOF: sshd may send exit-status while
                # the last of find's output is still in its pipe, so an exit status with
                # an empty buffer is not the end (BENCHMARKS.md row 2: 16 nodes under
                # 100 ms latency, one listing ended after 1,882 of 2,000 files, status 0).
                if not stdout_open:
                    if chan.exit_status_ready():  # also true once the channel is closed
                        break
                    chan.status_event.wait(min(remaining, 1.0))
                    continue
                select.select([chan], [], [], min(remaining, 1.0))
            status = chan.recv_exit_status() if chan.exit_status_ready() else -1
        finally:
            chan.close()
        parser.close()
        # the node's stderr goes into the store, the terminal, cron mail and the charts:
        # escape control characters per line, so a hostile node cannot drive a terminal
        lines = [printable(line) for line in bytes(stderr).strip().splitlines()]
        text = "; ".join(lines)
        if status == -1:
            self.complete = False
            self.problems.append("connection closed before the listing finished"
                                 + (f": {text}" if text else ""))
        elif status not in (0, EXIT_NO_GNU_FIND) and text:
            more = f" (+{len(lines) - 3} more lines)" if len(lines) > 3 else ""
            self.problems.append("; ".join(lines[:3]) + more)
        return status

    # --- SFTP, for nodes without GNU find

    def _walk_sftp(self, client: paramiko.SSHClient,
                   parser: ListingParser) -> Iterator[Record]:
        node = self.node
        deadline = time.monotonic() + node.command_timeout
        sftp = client.open_sftp()
        sftp.get_channel().settimeout(node.command_timeout)
        pattern = os.fsencode(node.pattern)
        root = node.root.encode("utf-8", "surrogateescape")
        try:
            try:
                top = sftp.stat(root)
            except OSError:
                raise CollectError(f"backup root {node.root} does not exist on the node") \
                    from None
            if top.st_mode is None or not (top.st_mode & 0o040000):
                raise CollectError(f"backup root {node.root} is not a folder")
            walk = _PipelinedWalk(sftp, root)
            for folder, entries in walk.folders():
                if time.monotonic() > deadline:
                    self.complete = False
                    raise CollectError(f"SFTP walk timed out after {node.command_timeout:g} s")
                if isinstance(entries, OSError):
                    self.complete = False
                    self.problems.append(f"cannot list {printable(folder)}: "
                                         f"{entries.strerror or entries}")
                    continue
                for name, attr in entries:
                    mode = attr.st_mode or 0
                    path = folder.rstrip(b"/") + b"/" + name
                    if mode & 0o170000 == 0o040000:
                        walk.add(path)
                    elif mode & 0o170000 == 0o100000 and matches(name, pattern):
                        rec = parser.path_record(path, attr.st_size or 0,
                                                 float(attr.st_mtime or 0))
                        if rec is not None:
                            yield rec
        finally:
            sftp.close()


class _PipelinedWalk:
    """Lists many folders over one SFTP channel with up to ``WINDOW`` requests in flight.

    A folder costs OPENDIR, READDIR until EOF, CLOSE: four round trips or more.
    One after the other that is ~4 RTT per folder (minutes for a tree of 40,000
    dated folders 20 ms away); in flight together the walk waits for the
    network about once per ``WINDOW`` requests. Names stay bytes: paramiko's own
    ``listdir_attr`` decodes them as UTF-8 and raises on anything else, which
    would lose a whole listing for one odd name.
    """

    WINDOW = 64

    def __init__(self, sftp: paramiko.SFTPClient, root: bytes) -> None:
        self.sftp = sftp
        self.todo: deque[bytes] = deque([root])
        #: request number -> (what was asked, folder, handle)
        self.pending: dict[int, tuple[int, bytes, bytes]] = {}
        self.replies: dict[int, tuple[int, paramiko.Message]] = {}
        self.entries: dict[bytes, list[tuple[bytes, SFTPAttributes]]] = {}

    def add(self, folder: bytes) -> None:
        self.todo.append(folder)

    def _async_response(self, t: int, msg: paramiko.Message, num: int) -> None:
        # paramiko hands every reply to the object that sent the request
        self.replies[num] = (t, msg)

    def _send(self, t: int, folder: bytes, handle: bytes, *args: bytes) -> None:
        num = self.sftp._async_request(self, t, *args)
        self.pending[num] = (t, folder, handle)

    def folders(self) -> Iterator[tuple[bytes, list[tuple[bytes, SFTPAttributes]] | OSError]]:
        """(folder, its entries or the error listing it), as soon as each is complete."""
        while self.todo or self.pending:
            while self.todo and len(self.pending) < self.WINDOW:
                folder = self.todo.popleft()
                self._send(CMD_OPENDIR, folder, b"", folder)
            while not self.replies:
                self.sftp._read_response()
            for num in sorted(self.replies):
                t, msg = self.replies.pop(num)
                asked, folder, handle = self.pending.pop(num)
                done = self._handle(asked, folder, handle, t, msg)
                if done is not None:
                    yield folder, done

    def _handle(self, asked: int, folder: bytes, handle: bytes, t: int,
                msg: paramiko.Message) -> list[tuple[bytes, SFTPAttributes]] | OSError | None:
        if asked == CMD_CLOSE:
            return None  # its status does not change what was read
        if t == CMD_STATUS:
            try:
                self.sftp._convert_status(msg)
            except EOFError:  # READDIR at the end of the folder
                return self._close(folder, handle)
            except OSError as exc:
                self._close(folder, handle)
                return exc
            return OSError(f"unexpected SFTP status reply to request {asked}")
        if asked == CMD_OPENDIR and t == CMD_HANDLE:
            handle = msg.get_binary()
            self.entries[folder] = []
            self._send(CMD_READDIR, folder, handle, handle)
            return None
        if asked == CMD_READDIR and t == CMD_NAME:
            out = self.entries[folder]
            for _ in range(msg.get_int()):
                name = msg.get_string()
                msg.get_string()  # longname, unused (and may not be UTF-8 either)
                attr = SFTPAttributes._from_msg(msg)
                if name not in (b".", b".."):
                    out.append((name, attr))
            self._send(CMD_READDIR, folder, handle, handle)
            return None
        self._close(folder, handle)
        return OSError(f"unexpected SFTP reply {t} to request {asked}")

    def _close(self, folder: bytes, handle: bytes) -> list[tuple[bytes, SFTPAttributes]]:
        """Close the folder's handle, if it was opened; what was read of it."""
        if handle:
            self._send(CMD_CLOSE, folder, handle, handle)
        return self.entries.pop(folder, [])


def _ssh_config(host: str) -> dict[str, Any]:
    path = os.path.expanduser("~/.ssh/config")
    if not os.path.exists(path):
        return {}
    try:
        return dict(paramiko.SSHConfig.from_path(path).lookup(host))
    except (OSError, paramiko.ssh_exception.ConfigParseError) as exc:
        log.warning("ignoring %s: %s", path, exc)
        return {}


def _current_user() -> str:
    import getpass

    return getpass.getuser()


def _fingerprint(key: paramiko.PKey) -> str:
    return key.fingerprint if hasattr(key, "fingerprint") else key.get_base64()[:16]


def _short_type(key: paramiko.PKey) -> str:
    name = key.get_name()
    return {"ssh-ed25519": "ed25519", "ssh-rsa": "rsa"}.get(
        name, "ecdsa" if name.startswith("ecdsa") else name)


def _split_host(hostname: str) -> tuple[str, str]:
    if hostname.startswith("[") and "]:" in hostname:
        host, port = hostname[1:].split("]:", 1)
        return host, port
    return hostname, ""
