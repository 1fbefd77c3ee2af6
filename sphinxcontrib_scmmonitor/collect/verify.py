"""The verify steps of a collection: hash and test each series' newest backup, once per file.

After a node's listing is stored, ``collect`` runs the steps of the node's
``verify`` that are due (docs/configuration.rst, "Content verification"):
``"sha256"`` hashes every file of the newest dated folder of each series,
``"gzip"`` tests them with ``gzip -t`` (on the hub's source when there is one,
else on every node). The store keeps each result with the file's size and
mtime, so only files it has no result for are checked: an unchanged second
run checks nothing and opens no connection.

This module decides what is due and stores what was found. A remote node runs
one framed script (collect/verify_remote.py); a node on this machine
(``host = "local"``) is checked in-process (collect/verify_local.py).

What cannot be checked (no ``sha256sum`` or ``gzip`` on the node, an
unreadable file, the time ran out) is a problem of the verify step, said once
per node on ``collect``'s line; it never fails the listing, which is already
stored (docs/troubleshooting.rst, "sha256sum not found").
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..config import VERIFY_TOOLS, NodeSettings
from ..store.records import FUTURE_AFTER_S, Record, StoreError
from .listing import display, printable
from .local import CollectError, Lister
from .verify_local import check_local, gzip_error

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["FUTURE_AFTER_S", "Found", "Newest", "Outcome", "extra_time", "gzip_error", "steps",
           "verify_node"]

log = logging.getLogger(__name__)



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
class Found:
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
    found = Found()
    deadline = time.monotonic() + node.command_timeout
    # the tools this run asked the node for: known to be there once the script ran through
    asked = [VERIFY_TOOLS[step][0] for step, due in (("sha256", to_hash), ("gzip", to_test))
             if due]
    present: list[str] = []
    try:
        if node.is_local:
            check_local(to_hash, to_test, found, deadline, node.command_timeout)
        else:
            from .verify_remote import check_remote  # paramiko: loaded only if needed

            check_remote(node, lister, to_hash, to_test, found)
        present = [tool for tool in asked if tool not in found.missing_tools]
    except CollectError as exc:
        outcome.problems.append(f"verify: {exc}")
    except Exception as exc:  # a dropped connection must not lose the stored listing
        log.debug("node %s: verify failed", node.name, exc_info=True)
        outcome.problems.append(f"verify: {type(exc).__name__}: {exc}")
    checked_at = time.time() if now is None else now
    try:
        # stored, so that status, mail and the page keep saying it (``unverified``)
        store.record_missing_tools(node.name, found.missing_tools, present, at=checked_at)
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
    step, package = next((step, package) for step, (name, package) in VERIFY_TOOLS.items()
                         if name == tool)
    return (f"{tool} not found on {node.name}: install {package} there (in the PATH of the "
            f"collecting account's non-interactive shell) or remove \"{step}\" from its verify")
