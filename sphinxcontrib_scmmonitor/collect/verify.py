"""The verify steps of a collection: hash and test each series' newest backup, once per file.

After a node's listing is stored, ``collect`` runs the steps of the node's
``verify`` that are due (docs/configuration.rst, "Content verification"):
``"sha256"`` hashes every file of the newest dated folder of each series,
``"gzip"`` tests them with ``gzip -t`` (on the hub's source when there is one,
else on every node). The store keeps each result with the file's size and
mtime, so only files it has no result for are checked: an unchanged second
run checks nothing and opens no connection.

A remote node runs one framed script (collect/remote.py: the login shell sees
only the constant command, the script goes on stdin), bounded by
``command_timeout``. File names are quoted into the script with
:func:`shlex.quote` (the script travels as bytes, so a non-UTF-8 name arrives
byte for byte) and never come back: each file is opened by the shell and fed
to ``sha256sum`` / ``gzip -t`` on stdin, and the answer is a NUL-terminated
record naming the file by its index in our own list. A node on this machine
(``host = "local"``) is checked in-process with :mod:`hashlib` and :mod:`zlib`.

What cannot be checked (no ``sha256sum`` or ``gzip`` on the node, an
unreadable file, the time ran out) is a problem of the verify step, said once
per node on ``collect``'s line; it never fails the listing, which is already
stored (docs/troubleshooting.rst, "sha256sum not found").
"""

from __future__ import annotations

import hashlib
import logging
import re
import shlex
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO, TypeVar

from ..config import NodeSettings
from ..store import Record, StoreError
from .listing import display, printable
from .local import CollectError, Lister
from .remote import ScriptTimeout, run_script

if TYPE_CHECKING:
    import paramiko

    from ..store import Store

T = TypeVar("T")
log = logging.getLogger(__name__)

#: a backup dated this far after its listing is not taken as the series' newest (a wrong
#: clock or layout: docs/concepts.rst, ``future``); hashing it would check the wrong night
FUTURE_AFTER_S = 24 * 3600
#: how much of gzip's message is kept (it is one line; a broken gzip may say more)
MESSAGE_MAX = 300
_CHUNK = 1024 * 1024
#: the most decompressed bytes held at once when testing a local archive (a zip bomb
#: must not take the collector's memory)
_INFLATE_MAX = 4 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"


def steps(node: NodeSettings) -> tuple[bool, bool]:
    """(hash, test): which content checks ``collect`` runs on this node."""
    # gzip once per backup: on the source when the hub has one (a copy is a copy of it,
    # and copy-differs catches a copy whose bytes are not the original's)
    return node.verifies("sha256"), node.verifies("gzip") and not node.is_copy


def extra_time(node: NodeSettings) -> float:
    """How much longer than the listing a node may take for its verify steps."""
    return 3 * node.connect_timeout + node.command_timeout if any(steps(node)) else 0.0


class Newest:
    """While a listing streams by: the files of each series' newest dated folder."""

    def __init__(self, now: float) -> None:
        self.limit = now + FUTURE_AFTER_S
        self.series: dict[bytes, tuple[int, list[bytes]]] = {}

    def feed(self, rec: Record) -> None:
        at = rec.backup_at
        if at > self.limit:
            return
        held = self.series.get(rec.series)
        if held is None or at > held[0]:
            self.series[rec.series] = (at, [rec.path])
        elif at == held[0]:
            held[1].append(rec.path)

    def paths(self, retired: Callable[[str], bool] = lambda name: False) -> list[bytes]:
        """Every file to check, series by series (retired series are never judged)."""
        return [path for raw in sorted(self.series) if not retired(display(raw))
                for path in sorted(self.series[raw][1])]


@dataclass
class Outcome:
    """What a node's verify steps did in this run."""

    hashed: int = 0
    tested: int = 0
    #: of the tested files, how many ``gzip -t`` refused (the ``corrupt`` finding)
    failed: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass
class _Found:
    """Results as they come in, kept even when the run is cut short."""

    hashes: dict[bytes, str] = field(default_factory=dict)
    gzip: dict[bytes, str | None] = field(default_factory=dict)
    missing_tools: list[str] = field(default_factory=list)
    #: file -> why it could not be read or checked (not a finding about the file)
    unreadable: dict[bytes, str] = field(default_factory=dict)

    def clear(self) -> None:
        self.hashes.clear()
        self.gzip.clear()
        self.unreadable.clear()


def verify_node(store: Store, node: NodeSettings, files: Sequence[bytes],
                lister: Lister | None = None, now: float | None = None) -> Outcome:
    """Run the due verify steps on ``files`` of ``node`` and store the results.

    ``lister`` is the node's lister: a remote node's verify connection is made as its
    listing's was, and ``lister.abort()`` (a node over its time) closes it too. Never
    raises for node trouble: that becomes one of the outcome's problems.
    """
    hash_on, test_on = steps(node)
    outcome = Outcome()
    if not files or not (hash_on or test_on):
        return outcome
    try:
        to_hash = store.unverified(node.name, files, "sha256") if hash_on else []
        to_test = store.unverified(node.name, files, "gzip") if test_on else []
    except StoreError as exc:
        outcome.problems.append(f"verify skipped: {exc}")
        return outcome
    if not to_hash and not to_test:
        return outcome
    found = _Found()
    deadline = time.monotonic() + node.command_timeout
    try:
        if node.is_local:
            _check_local(to_hash, to_test, found, deadline, node.command_timeout)
        else:
            _check_remote(node, lister, to_hash, to_test, found)
    except CollectError as exc:
        outcome.problems.append(f"verify: {exc}")
    except Exception as exc:  # a dropped connection must not lose the stored listing
        log.debug("node %s: verify failed", node.name, exc_info=True)
        outcome.problems.append(f"verify: {type(exc).__name__}: {exc}")
    checked_at = time.time() if now is None else now
    try:
        if found.hashes:
            store.record_sha256(node.name, found.hashes, checked_at=checked_at)
        if found.gzip:
            store.record_gzip(node.name, found.gzip, checked_at=checked_at)
    except StoreError as exc:
        outcome.problems.append(f"verify results not stored (checked again next run): {exc}")
    else:
        outcome.hashed = len(found.hashes)
        outcome.tested = len(found.gzip)
        outcome.failed = sum(1 for err in found.gzip.values() if err is not None)
    outcome.problems[:0] = [_tool_missing(tool, node) for tool in found.missing_tools]
    if found.unreadable:
        path, why = next(iter(found.unreadable.items()))
        more = len(found.unreadable) - 1
        outcome.problems.append(
            f"could not read {len(found.unreadable)} file(s) to verify: {printable(path)}: "
            f"{why}" + (f" (and {more} more)" if more else "")
            + "; the collecting account must be able to read the backups")
    left = (len(set(to_hash) - found.hashes.keys() - found.unreadable.keys())
            + len(set(to_test) - found.gzip.keys() - found.unreadable.keys()))
    if left and not found.missing_tools and not outcome.problems:
        outcome.problems.append(f"verify left {left} check(s) undone (the node's script "
                                "ended early); they are done next run")
    return outcome


def _tool_missing(tool: str, node: NodeSettings) -> str:
    step = {"sha256sum": "sha256", "gzip": "gzip"}[tool]
    package = {"sha256sum": "coreutils", "gzip": "gzip"}[tool]
    return (f"{tool} not found on {node.name}: install {package} there (in the PATH of the "
            f"collecting account's non-interactive shell) or remove \"{step}\" from its verify")


# --- on this machine ----------------------------------------------------------------------------


def _check_local(to_hash: Sequence[bytes], to_test: Sequence[bytes], found: _Found,
                 deadline: float, timeout: float) -> None:
    def in_time() -> None:
        if time.monotonic() > deadline:
            raise CollectError(f"timed out after {timeout:g} s; what was checked is kept, "
                               "the rest is checked next run")

    for path, answer in _each_file(to_hash, lambda fh: _sha256(fh, in_time), found, in_time):
        found.hashes[path] = answer
    for path, error in _each_file(to_test, lambda fh: gzip_error(fh, in_time), found, in_time):
        found.gzip[path] = error


def _each_file(paths: Sequence[bytes], check: Callable[[BinaryIO], T], found: _Found,
               in_time: Callable[[], None]) -> Iterator[tuple[bytes, T]]:
    """Each local file's answer; one that cannot be read goes to ``found.unreadable``."""
    for path in paths:
        in_time()
        try:
            with open(path, "rb") as fh:
                answer = check(fh)
        except OSError as exc:
            found.unreadable[path] = exc.strerror or str(exc)
            continue
        yield path, answer


def _sha256(fh: BinaryIO, in_time: Callable[[], None]) -> str:
    digest = hashlib.sha256()
    while chunk := fh.read(_CHUNK):
        digest.update(chunk)  # hashlib lets other nodes' threads run meanwhile
        in_time()
    return digest.hexdigest()


def gzip_error(fh: BinaryIO, in_time: Callable[[], None] = lambda: None) -> str | None:
    """What ``gzip -t`` would object to in the stream (None: it decompresses), in its words.

    Like gzip, members follow each other and trailing garbage after a whole member is
    only a warning (exit status 2): the archive still restores.
    """
    data = fh.read(_CHUNK)
    if data[:2] != _GZIP_MAGIC:
        return "not in gzip format" if data else "unexpected end of file"
    inflate = zlib.decompressobj(31)
    while data:
        try:
            inflate.decompress(data, _INFLATE_MAX)
            while inflate.unconsumed_tail:
                inflate.decompress(inflate.unconsumed_tail, _INFLATE_MAX)
        except zlib.error as exc:
            return f"invalid compressed data--{_zlib_words(exc)}"
        if inflate.eof:
            rest = inflate.unused_data
            while len(rest) < 2 and (more := fh.read(_CHUNK)):
                rest += more
            if rest[:2] != _GZIP_MAGIC:
                return None  # end, or garbage gzip would warn about and ignore
            inflate = zlib.decompressobj(31)
            data = rest
            continue
        in_time()
        data = fh.read(_CHUNK)
    return "unexpected end of file"


def _zlib_words(exc: zlib.error) -> str:
    text = str(exc)
    if "incorrect data check" in text or "incorrect length check" in text:
        return "crc error"
    return "format violated"


# --- on a node over SSH -------------------------------------------------------------------------

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

    def __init__(self, files: Sequence[bytes], found: _Found) -> None:
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


def _check_remote(node: NodeSettings, lister: Lister | None, to_hash: Sequence[bytes],
                  to_test: Sequence[bytes], found: _Found) -> None:
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
