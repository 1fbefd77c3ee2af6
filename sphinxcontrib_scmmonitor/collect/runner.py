"""Collect every node in parallel into the store.

One thread per node (bounded pool), each with its own connection; a node's
failure is stored as a failed run and never stops the others. A node that
overruns its own time budget is aborted from here, so one stuck host cannot
hold the whole collection. Each node is listed under its lease in the store:
a second collector of the same node (a cron overlap) stops at once with a
failed result naming the first (docs/operations.rst, "One collector per node").
A node's listing is sent before its lease is taken, and a collection's listings
before the store is even open (:class:`Collection`): they only read the node, so
the node's ``find`` runs while this process imports and opens the store, and
nothing is stored before the lease is held. Once a node's listing is stored,
its due verify steps run under the same lease (collect/verify.py); what they
could not do is said on the node's result and never fails the listing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import suppress
from dataclasses import dataclass, replace
from types import TracebackType
from typing import TYPE_CHECKING, Protocol

from ..config import NodeSettings
from ..store import ListingDiffer, NodeBusyError, StoreError, root_prefix

if TYPE_CHECKING:  # the store's engine is loaded by whoever opens the store, not by importing us
    from ..store import Store
    from ..store.writes import RootMove, RunStart
from .dial import Dialed, dial
from .listing import DateLayout, ListingParser, display
from .local import CollectError, Lister, LocalLister
from .sshconfig import Target, resolve
from .verify import Newest, extra_time, steps, verify_node

log = logging.getLogger(__name__)
_PROGRESS_EVERY = 2000
#: how long a lease outlives the node's budget: the final write may wait for another
#: writer's lock (the store's busy timeout) on top of this
LEASE_MARGIN_S = 60.0


@dataclass(frozen=True)
class NodeResult:
    """How one node's collection went."""

    node: str
    ok: bool
    method: str
    files: int
    unparsed: int
    added: int
    changed: int
    gone: int
    seconds: float
    error: str | None = None
    #: files hashed (sha256) and tested (gzip -t) by this run's verify steps
    hashed: int = 0
    tested: int = 0
    #: of the tested files, how many gzip refused
    corrupt: int = 0
    #: what the verify steps could not do (no sha256sum on the node, time ran out, ...)
    verify_problems: tuple[str, ...] = ()
    #: the stored paths this run moved because the node's root changed, in words
    root_moved: str | None = None


class Reporter(Protocol):
    def started(self, node: str) -> None: ...
    def progress(self, node: str, files: int) -> None: ...
    def finished(self, result: NodeResult) -> None: ...


class _Silent:
    def started(self, node: str) -> None:
        pass

    def progress(self, node: str, files: int) -> None:
        pass

    def finished(self, result: NodeResult) -> None:
        pass


def make_lister(node: NodeSettings, target: Target | None = None,
                dialed: Dialed | None = None) -> Lister:
    """The node's lister; ``target``: its host already resolved (collect/sshconfig.py),
    ``dialed``: its socket already opened (collect/dial.py)."""
    if node.is_local:
        return LocalLister(node)
    from .ssh import SshLister

    return SshLister(node, target, dialed)


def collect_node(store: Store, node: NodeSettings, reporter: Reporter | None = None,
                 lister: Lister | None = None) -> NodeResult:
    """List one node and store the result as one run; never raises for node trouble.

    The listing starts before the lease is taken (unless ``lister`` was started before);
    a node that another collector holds has its listing given up unread.
    """
    reporter = reporter or _Silent()
    reporter.started(node.name)
    lister = lister or make_lister(node)
    # the run (and its seconds) began with its listing, which may have been started before
    started_at, t0 = lister.start()
    try:
        begun = store.begin_run(node.name, node.hub, started_at=started_at,
                                ttl=budget(node) + LEASE_MARGIN_S + store.busy_timeout,
                                root=root_prefix(node.root))
    except NodeBusyError as exc:  # no run of ours: the other collector's run is the one
        lister.abort()
        lister.forget_start()
        result = NodeResult(node=node.name, ok=False, method="", files=0, unparsed=0,
                            added=0, changed=0, gone=0, seconds=time.monotonic() - t0,
                            error=str(exc))
        reporter.finished(result)
        return result
    except BaseException:
        lister.abort()
        lister.forget_start()
        raise
    given_back = False
    try:
        result, given_back = _collect_leased(store, node, begun, reporter, lister, t0)
    finally:
        lister.forget_start()
        if not given_back:
            try:
                store.release_lease(begun.node_id, begun.lease)
            except StoreError:  # e.g. locked: the lease expires by itself (see leases.py)
                log.debug("node %s: lease not given back", node.name, exc_info=True)
    if begun.moved is not None:
        result = replace(result, root_moved=_moved_words(begun.moved))
    reporter.finished(result)
    return result


def _moved_words(move: RootMove) -> str:
    """What a collection says when its node's stored paths moved to a new root."""
    words = (f"root changed from {display(move.old.rstrip(b'/') or b'/')}: "
             f"{move.moved} stored backups moved to {display(move.new.rstrip(b'/') or b'/')}")
    if move.kept:
        words += (f" ({move.kept} kept under the old root, as a file of that path was "
                  "already stored)")
    return words


def _collect_leased(store: Store, node: NodeSettings, begun: RunStart, reporter: Reporter,
                    lister: Lister, t0: float) -> tuple[NodeResult, bool]:
    """The run begun under its lease; also whether the lease went back with its result."""
    node_id, run_id = begun.node_id, begun.run_id
    parser = ListingParser(node.root, DateLayout(node.date_layout, node.timezone))
    # reads one row per series now, and at the end only the rows of series that changed
    differ = ListingDiffer(store, node_id)
    newest = Newest(time.time()) if any(steps(node)) else None
    error: str | None = None
    try:
        for n, rec in enumerate(lister.records(parser), 1):
            differ.feed(rec)
            if newest is not None:
                newest.feed(rec)
            if n % _PROGRESS_EVERY == 0:
                reporter.progress(node.name, parser.stats.files_seen)
        parser.close()
    except CollectError as exc:
        lister.complete = False
        error = str(exc)
    except Exception as exc:  # a lister bug or a dropped connection must not lose other nodes
        lister.complete = False
        error = f"{type(exc).__name__}: {exc}"
        log.debug("node %s failed", node.name, exc_info=True)
    stats = parser.stats
    if stats.bad_records:
        lister.complete = False
        lister.problems.append(f"{stats.bad_records} malformed listing record(s)"
                               + (" (listing cut off)" if stats.truncated else ""))
    problems = ([error] if error else []) + lister.problems
    complete = lister.complete and not error
    ok = complete and not problems
    changes = differ.finish(complete=complete)
    message = "; ".join(problems) or None
    if not complete and error is None:
        message = f"partial listing, nothing marked gone: {message}"
    if message is not None:
        # an exception text may carry a file name decoded with surrogateescape: those
        # cannot be stored (UTF-8) and would lose the run's result, so spell them \udcxx
        message = message.encode("utf-8", "backslashreplace").decode("utf-8")
    sample = "\n".join(stats.unparsed_sample) or None
    names = {rec.series: display(rec.series) for rec in changes.added}
    # only after a whole listing: a partial one may have missed a series' newest folder,
    # and the store answers (and keeps results) for the files it holds as present
    verifying = newest is not None and complete
    try:
        store.finish_run(node_id, run_id, changes=changes, complete=complete, ok=ok,
                         error=message, method=lister.method or None,
                         files_seen=stats.files_seen, unparsed=stats.unparsed,
                         unparsed_sample=sample, now=time.time(), series_names=names,
                         lease=None if verifying else begun.lease)
    except StoreError as exc:
        # the listing's changes are lost with their transaction; close the run as failed
        # with the store's own message so it is not left "running" (if even that write
        # fails, e.g. still locked, the next collection marks it interrupted)
        store.finish_run(node_id, run_id, changes=None, complete=False, ok=False,
                         error=str(exc), method=lister.method or None,
                         files_seen=stats.files_seen, unparsed=stats.unparsed,
                         unparsed_sample=sample, now=time.time(), lease=begun.lease)
        return NodeResult(node=node.name, ok=False, method=lister.method,
                          files=stats.files_seen, unparsed=stats.unparsed, added=0, changed=0,
                          gone=0, seconds=time.monotonic() - t0, error=str(exc)), True
    result = NodeResult(node=node.name, ok=ok, method=lister.method, files=stats.files_seen,
                        unparsed=stats.unparsed, added=len(changes.added),
                        changed=len(changes.changed) + len(changes.returned),
                        gone=len(changes.gone), seconds=time.monotonic() - t0, error=message)
    if not verifying:
        return result, True
    assert newest is not None
    outcome = verify_node(store, node, newest.paths(node.retires), lister)
    return replace(result, seconds=time.monotonic() - t0, hashed=outcome.hashed,
                   tested=outcome.tested, corrupt=outcome.failed,
                   verify_problems=tuple(_storable(p) for p in outcome.problems)), False


def _storable(text: str) -> str:
    """A message as UTF-8 can carry it (a name decoded with surrogateescape cannot)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def budget(node: NodeSettings) -> float:
    """The longest a node may take: connect, banner and auth, then the listing (and, with
    content checks, the same again for the verify steps)."""
    return 3 * node.connect_timeout + node.command_timeout + 10 + extra_time(node)


def collect_all(store: Store, nodes: Sequence[NodeSettings], *, workers: int = 16,
                reporter: Reporter | None = None) -> list[NodeResult]:
    """Collect nodes in parallel; results in the order the nodes were given."""
    with Collection(nodes, workers=workers) as collection:
        return collection.finish(store, reporter)


class Collection:
    """A collection under way before its store is open.

    Made, it starts on the first ``workers`` nodes at once: their ``ssh -G`` run while
    paramiko loads here, then each connects and sends its listing script. :meth:`finish`
    hands it the store and collects every node under its lease. Left without
    :meth:`finish` (the store could not be opened, an interrupt), it gives the listings
    up: nothing was stored.
    """

    def __init__(self, nodes: Sequence[NodeSettings], *, workers: int = 16) -> None:
        self.nodes = list(nodes)
        self.workers = max(1, min(workers, len(self.nodes)))
        #: each node's lister once its worker made it (abort() reaches it there)
        self.listers: dict[str, Lister] = {}
        self.reporter: Reporter = _Silent()
        #: the store once open; None: given up
        self._store: Future[Store | None] = Future()
        self._pool = ThreadPoolExecutor(max_workers=self.workers,
                                        thread_name_prefix="scm-collect")
        self._deadlines: dict[Future[NodeResult | None], tuple[NodeSettings, float]] = {}
        for node in self.nodes:
            fut = self._pool.submit(self._collect, node)
            self._deadlines[fut] = (node, time.monotonic() + budget(node) * (
                1 + len(self.nodes) // max(1, workers)))
        if not all(node.is_local for node in self.nodes):
            from . import ssh  # noqa: F401  # paramiko, loaded while the workers run ssh -G

    def __enter__(self) -> Collection:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if not self._store.done():
            self.cancel()
        self._pool.shutdown(wait=True)

    def _collect(self, node: NodeSettings) -> NodeResult | None:
        target = dialed = None
        if not node.is_local:
            with suppress(CollectError):  # said again by the connection, as the node's error
                target = resolve(node.host, user=node.user, port=node.port)
            if target is not None and not self._store.done():
                dialed = dial(target, node.connect_timeout)
        try:
            # waits for paramiko, which the main thread is loading meanwhile
            lister = self.listers[node.name] = make_lister(node, target, dialed)
        except BaseException:
            if dialed is not None:
                dialed.close()
            raise
        if self._store.done() and self._store.result() is None:
            lister.abort()  # given up meanwhile (its socket, if dialled, closed)
            return None
        lister.start()
        store = self._store.result()
        if store is None:
            lister.abort()
            return None
        return collect_node(store, node, self.reporter, lister)

    def cancel(self) -> None:
        """Give every listing up unread; nothing is stored."""
        if not self._store.done():
            self._store.set_result(None)
        self._pool.shutdown(wait=False, cancel_futures=True)
        for lister in list(self.listers.values()):
            lister.abort()

    def finish(self, store: Store, reporter: Reporter | None = None) -> list[NodeResult]:
        """Collect every node into ``store``; results in the order the nodes were given."""
        self.reporter = reporter or _Silent()
        self._store.set_result(store)
        results: dict[str, NodeResult] = {}
        pending = set(self._deadlines)
        while pending:
            done, pending = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
            for fut in done:
                node, _ = self._deadlines[fut]
                try:
                    result = fut.result()
                except Exception as exc:  # the store write itself failed for this node
                    # the store's own errors say what to do; anything else is a bug report
                    why = (str(exc) if isinstance(exc, StoreError)
                           else f"{type(exc).__name__}: {exc}")
                    result = NodeResult(node.name, False, "", 0, 0, 0, 0, 0, 0.0, why)
                    self.reporter.finished(result)
                assert result is not None  # None only once given up
                results[node.name] = result
            now = time.monotonic()
            for fut in pending:
                node, deadline = self._deadlines[fut]
                if now > deadline and node.name in self.listers:
                    self.listers[node.name].abort()
        return [results[node.name] for node in self.nodes]
