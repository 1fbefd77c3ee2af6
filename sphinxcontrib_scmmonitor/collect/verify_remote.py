"""The verify steps on a node over SSH: one framed script, its records parsed as they come.

The script runs framed (collect/remote.py: the login shell sees only the
constant command, the script goes on stdin), bounded by ``command_timeout``.
File names are quoted into the script with :func:`shlex.quote` (the script
travels as bytes, so a non-UTF-8 name arrives byte for byte) and never come
back: each file is opened by the shell and fed to ``sha256sum`` / ``gzip -t``
on stdin, and the answer is a NUL-terminated record naming the file by its
index in our own list.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..config import NodeSettings
from .listing import printable
from .local import CollectError, Lister
from .remote import ScriptTimeout, run_script

if TYPE_CHECKING:
    import paramiko

    from .verify import Found

#: how much of gzip's message is kept (it is one line; a broken gzip may say more)
MESSAGE_MAX = 300

# The script's one command: every record is NUL-terminated and names its file by index.
#   T <tool>                    the tool is not on the node (its checks are skipped)
#   H <i> <status> <output>     sha256sum's exit status and what it printed
#   G <i> <status> <output>     gzip -t's exit status and what it printed
#   U <i> <why>                 the file could not be opened
# The shell opens each file itself (`command exec`, so a failed open does not end the
# script), and the tool reads it on stdin: no name is ever printed back, escaped or not.
_FUNCTIONS = """\
scm_sha=; scm_gz=
scm_open() {
  if { command exec 4<"$2"; } 2>/dev/null; then return 0; fi
  scm_o=$( { : <"$2"; } 2>&1 )
  printf 'U\\t%s\\t%s\\0' "$1" "${scm_o##*: }"
  return 1
}
scm_h() {
  [ -n "$scm_sha" ] || return 0
  scm_open "$1" "$2" || return 0
  scm_o=$(sha256sum <&4 2>&1); scm_s=$?
  exec 4<&-
  printf 'H\\t%s\\t%s\\t%s\\0' "$1" "$scm_s" "$scm_o"
}
scm_g() {
  [ -n "$scm_gz" ] || return 0
  scm_open "$1" "$2" || return 0
  scm_o=$(gzip -t <&4 2>&1); scm_s=$?
  exec 4<&-
  printf 'G\\t%s\\t%s\\t%s\\0' "$1" "$scm_s" "$scm_o"
}
"""

_TOOL_CHECK = """\
  if command -v {tool} >/dev/null 2>&1; then {var}=1; else printf 'T\\t{tool}\\0'; fi
"""

_SHA_LINE = re.compile(r"([0-9a-f]{64}) +\*?-?")


def verify_script(to_hash: Sequence[bytes], to_test: Sequence[bytes]) -> tuple[str, list[bytes]]:
    """(body of the framed script, the files its records' indexes name).

    Each file is tested right after it is hashed, so it is read from disk once and from
    the page cache the second time.
    """
    files = list(dict.fromkeys([*to_hash, *to_test]))
    hash_set, test_set = set(to_hash), set(to_test)
    lines = [_FUNCTIONS, "scm_verify() {\n"]
    if hash_set:
        lines.append(_TOOL_CHECK.format(tool="sha256sum", var="scm_sha"))
    if test_set:
        lines.append(_TOOL_CHECK.format(tool="gzip", var="scm_gz"))
    for i, path in enumerate(files):
        # surrogateescape: the script is sent encoded the same way, so the name's bytes
        # reach the node as they were listed, whatever they are
        quoted = shlex.quote(path.decode("utf-8", "surrogateescape"))
        if path in hash_set:
            lines.append(f"  scm_h {i} {quoted}\n")
        if path in test_set:
            lines.append(f"  scm_g {i} {quoted}\n")
    lines.append("}\nscm_run scm_verify\n")
    return "".join(lines), files


class VerifyParser:
    """Turns the script's NUL-terminated records into results, as they stream in."""

    def __init__(self, files: Sequence[bytes], found: Found) -> None:
        self.files = files
        self.found = found
        self.bad = 0
        self._rest = b""

    def feed(self, data: bytes) -> None:
        data = self._rest + data
        *records, self._rest = data.split(b"\0")
        for raw in records:
            if not self._record(raw):
                self.bad += 1

    def _record(self, raw: bytes) -> bool:
        kind, _, rest = raw.partition(b"\t")
        if kind == b"T":
            tool = rest.decode("ascii", "replace")
            if tool in ("sha256sum", "gzip") and tool not in self.found.missing_tools:
                self.found.missing_tools.append(tool)
                return True
            return False
        index, _, rest = rest.partition(b"\t")
        if not index.isdigit() or int(index) >= len(self.files):
            return False
        path = self.files[int(index)]
        if kind == b"U":
            self.found.unreadable[path] = printable(rest[:MESSAGE_MAX]) or "cannot open"
            return True
        status, _, output = rest.partition(b"\t")
        if not status.isdigit():
            return False
        said = output.decode("utf-8", "backslashreplace").strip()
        if kind == b"H":
            m = _SHA_LINE.fullmatch(said)
            if status == b"0" and m:
                self.found.hashes[path] = m[1]
            else:
                self.found.unreadable[path] = (f"sha256sum exited {int(status)}: "
                                               f"{printable(output[:MESSAGE_MAX]).strip()}")
            return True
        if kind == b"G":
            code = int(status)
            if code in (0, 2):  # 2: a warning (e.g. trailing garbage); it still restores
                self.found.gzip[path] = None
            elif code == 1:
                self.found.gzip[path] = _gzip_message(said) or "gzip -t failed"
            else:  # killed, or not the gzip we know: says nothing about the file
                self.found.unreadable[path] = (f"gzip -t exited {code}: "
                                               f"{printable(output[:MESSAGE_MAX]).strip()}")
            return True
        return False


def _gzip_message(said: str) -> str:
    """gzip's own words, without the "gzip: stdin: " every message of ours starts with."""
    lines = [line.strip() for line in said.splitlines() if line.strip()]
    text = "; ".join(re.sub(r"^(?:\S*gzip: )?(?:stdin: )?", "", line) for line in lines)
    return text[:MESSAGE_MAX]


def check_remote(node: NodeSettings, lister: Lister | None, to_hash: Sequence[bytes],
                 to_test: Sequence[bytes], found: Found) -> None:
    """Run the verify script on the node, its results into ``found``; a connection made
    as the listing's was (``lister``, when it is the node's :class:`SshLister`)."""
    from .ssh import SshLister

    ssh = lister if isinstance(lister, SshLister) else SshLister(node)
    body, files = verify_script(to_hash, to_test)
    parser = VerifyParser(files, found)
    # connected the way the listing was (jump hosts, host keys); kept on the lister so
    # that collect_all's abort() of a node over its time closes this connection too
    client: paramiko.SSHClient = ssh.connect()
    try:
        transport = client.get_transport()
        if transport is None:
            raise CollectError("the connection closed before the verify steps ran")
        try:
            result = run_script(transport, body, parser.feed, timeout=node.command_timeout,
                                open_timeout=node.connect_timeout, what="the verify steps")
        except ScriptTimeout:
            # what came before the time ran out was framed and whole record by record,
            # as a timed-out listing's records are kept
            raise CollectError(
                f"timed out after {node.command_timeout:g} s (command_timeout); what was "
                f"checked is kept ({len(found.hashes)} hashed, {len(found.gzip)} tested), "
                "the rest is checked next run") from None
        except CollectError:
            found.clear()  # something printed into the output: none of it is believed
            raise
    finally:
        ssh.close()
    if parser.bad:
        found.clear()
        raise CollectError(f"{parser.bad} malformed record(s) in the verify output")
    if not result.ended:
        raise CollectError("the connection closed before the verify steps finished"
                           + (f": {'; '.join(result.stderr[:3])}" if result.stderr else ""))
    if result.status != 0:
        said = "; ".join(result.stderr[:3])
        raise CollectError(f"the verify script exited with status {result.status}"
                           + (f": {said}" if said else ""))
