"""List a remote node's backups over SSH (paramiko).

One framed script per node (collect/remote.py): GNU ``find`` prints
NUL-separated records, which are parsed while they stream in and handed on
once the end marker has proved the listing whole and unpolluted. A node
without GNU find is walked over SFTP instead, reading names as bytes. The
connection is made as ``ssh`` would make it, host keys checked
(collect/connection.py).
"""

from __future__ import annotations

import os
import shlex
import time
from collections.abc import Generator, Iterator
from dataclasses import replace

import paramiko
from paramiko.sftp import SFTPError

from ..config import NodeSettings
from ..store import Record
from .connection import open_connection
from .dial import Dialed
from .listing import ListingParser, printable
from .local import CollectError, Lister, matches
from .remote import REMOTE_COMMAND, ScriptTimeout, StartedScript, framed_script, start_script
from .sftp import PipelinedWalk
from .sshconfig import Target

EXIT_NO_GNU_FIND = 97
EXIT_NO_ROOT = 98

# Run by /bin/sh from stdin (never by the login shell); root and pattern are quoted with
# shlex.quote for that sh, so nothing from the config is ever interpreted by a shell.
_LISTING = """\
root={root}
if [ ! -d "$root" ]; then
  echo "backup root $root does not exist or is not a folder" >&2; scm_done {no_root}
fi
find /dev/null -maxdepth 0 -printf '' >/dev/null 2>&1 || scm_done {no_find}
scm_run find -H "$root" -type f -name {pattern} -printf '%s\\t%T@\\t%p\\0'
"""


def listing_script(root: str, pattern: str) -> str:
    """The body of the one remote script that lists a node (also used by the benchmarks).

    It runs framed (collect/remote.py), as :data:`REMOTE_COMMAND` with the script on stdin.
    """
    return _LISTING.format(root=shlex.quote(root), pattern=shlex.quote(pattern),
                           no_root=EXIT_NO_ROOT, no_find=EXIT_NO_GNU_FIND)


def listing_command(root: str, pattern: str) -> tuple[str, str]:
    """(command for the login shell, framed script for its stdin) that list a node."""
    from .remote import Frame

    return REMOTE_COMMAND, framed_script(listing_script(root, pattern), Frame.new())


class SshLister(Lister):
    """Lists one remote node; ``abort()`` may be called from another thread."""

    def __init__(self, node: NodeSettings, target: Target | None = None,
                 dialed: Dialed | None = None) -> None:
        super().__init__(node)
        #: the node's host resolved by ``ssh -G`` (collect/sshconfig.py), if done before
        self.target = target
        #: its socket, if opened before (collect/dial.py); the first connect takes it
        self.dialed = dialed
        self.client: paramiko.SSHClient | None = None
        self.hops: list[paramiko.SSHClient] = []
        #: bytes the login shell printed before the listing script started
        self.shell_noise = 0
        self._started: StartedScript | None = None
        self._start_failed: Exception | None = None

    def abort(self) -> None:
        if self.dialed is not None:
            self.dialed.close()
        for client in [self.client, *self.hops]:
            if client is not None:
                client.close()

    def connect(self) -> paramiko.SSHClient:
        """The node's connection, held here so that :meth:`abort` closes it (and its hops)."""
        dialed, self.dialed = self.dialed, None
        self.client = open_connection(self.node, self.hops,
                                      replace(self.target) if self.target else None, dialed)
        return self.client

    def close(self) -> None:
        """Close the connection and forget it: the next :meth:`connect` opens a new one."""
        self.abort()
        self.client = None
        self.hops = []

    def begin(self) -> None:
        """Connect and send the listing script; :meth:`records` reads what it prints.

        Called before the node's lease is taken, so that the node's ``find`` runs while
        this process opens the store (docs/operations.rst, "One collector per node"): the
        listing only reads the node, and nothing is stored before the lease is held. What
        goes wrong here is raised by :meth:`records`, so it becomes the run's error.
        """
        try:
            client = self.connect()
            transport = client.get_transport()
            assert transport is not None
            self._started = start_script(transport, listing_script(self.node.root,
                                                                   self.node.pattern),
                                         open_timeout=self.node.connect_timeout,
                                         what="the listing")
        except Exception as exc:  # raised where records() would have raised it
            self._start_failed = exc

    def records(self, parser: ListingParser) -> Iterator[Record]:
        self.start()
        try:
            if self._start_failed is not None:
                raise self._start_failed
            assert self._started is not None and self.client is not None
            self.method = "find"
            status = yield from self._run_find(self._started, parser)
            if status == EXIT_NO_GNU_FIND:
                self.method = "sftp"
                self.problems.clear()
                yield from self._walk_sftp(self.client, parser)
            elif status == EXIT_NO_ROOT:
                raise CollectError(self.problems[0] if self.problems else
                                   f"backup root {self.node.root} does not exist on the node")
            elif status != 0:
                self.complete = False
                if not self.problems:
                    self.problems.append(f"listing command exited with status {status}")
        finally:
            self._started = None
            self._start_failed = None
            self.forget_start()
            self.close()

    # --- GNU find

    def _run_find(self, script: StartedScript,
                  parser: ListingParser) -> Generator[Record, None, int]:
        """The listing's records, then (as the generator's value) the script's exit status."""
        node = self.node
        # held until the end marker proves the listing whole and unpolluted: what a
        # polluted listing said is never stored (the store holds every record anyway)
        held: list[Record] = []

        def on_data(data: bytes) -> None:
            held.extend(parser.feed(data))

        try:
            result = script.read(on_data, timeout=node.command_timeout)
        except ScriptTimeout:
            self.complete = False
            parser.close()
            yield from held
            raise CollectError(f"listing timed out after {node.command_timeout:g} s "
                               f"({parser.stats.files_seen} files read so far)") from None
        self.shell_noise = result.noise
        parser.close()
        yield from held
        text = "; ".join(result.stderr)
        status = result.status
        if status == -1:
            self.complete = False
            self.problems.append("connection closed before the listing finished"
                                 + (f": {text}" if text else ""))
        elif not result.ended:
            self.complete = False
            self.problems.append(f"the listing was cut off after {parser.stats.files_seen} "
                                 "record(s): no end marker came")
        elif status not in (0, EXIT_NO_GNU_FIND) and text:
            lines = result.stderr
            more = f" (+{len(lines) - 3} more lines)" if len(lines) > 3 else ""
            self.problems.append("; ".join(lines[:3]) + more)
        return status

    # --- SFTP, for nodes without GNU find

    def _walk_sftp(self, client: paramiko.SSHClient,
                   parser: ListingParser) -> Iterator[Record]:
        node = self.node
        deadline = time.monotonic() + node.command_timeout
        try:
            sftp = client.open_sftp()
        except (paramiko.SSHException, SFTPError, EOFError, OSError) as exc:
            raise CollectError(self._sftp_broken(exc)) from None
        channel = sftp.get_channel()
        assert channel is not None  # open_sftp() always runs over a channel
        channel.settimeout(node.command_timeout)
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
            walk = PipelinedWalk(sftp, root)
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
        except (paramiko.SSHException, SFTPError) as exc:
            self.complete = False
            raise CollectError(self._sftp_broken(exc)) from None
        finally:
            sftp.close()

    def _sftp_broken(self, exc: BaseException) -> str:
        said = str(exc) or type(exc).__name__
        noisy = (f"the login shell printed {self.shell_noise} bytes before the listing "
                 "script ran, and " if self.shell_noise else "")
        return (f"SFTP failed ({said}): {noisy}the node's SFTP server runs under the "
                "account's login shell, so anything its rc files (.bashrc, .cshrc, "
                "config.fish) print corrupts SFTP: make them print nothing for "
                "non-interactive sessions")
