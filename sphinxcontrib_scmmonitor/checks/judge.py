"""Judge nodes from the store: each node's own findings, its series' and its copies'.

:func:`evaluate` reads what the checks need (each node once, a copy's source
whole) and :func:`check_node` joins the node-level findings (node.py), the
series' (series.py) and the copy checks (copies.py) into one row per node. A
node's series are judged *as observed*, as of the end of its latest good
collection (docs/concepts.rst); retired series are not judged at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from ..config import NodeSettings, Settings
from ..store.records import FUTURE_AFTER_S, LookBack
from .backups import Backups
from .copies import Originals, check_copy, corrupt
from .history import SIZE_HISTORY, USUAL_OF
from .node import judge_runs, no_backups, observed_at, unverified
from .reasons import Reason
from .results import NodeStatus, Report, SeriesStatus
from .series import check_series, series_history

#: what the checks judge of a series beyond its present backups (history.py, backups.py)
LOOK_BACK = LookBack(backups=USUAL_OF + 1, before_newest=SIZE_HISTORY,
                     future_s=FUTURE_AFTER_S)

if TYPE_CHECKING:  # the CLI's exit-status table imports checks: --help must not load SQLAlchemy
    from ..store import NodeData, Reader


def evaluate(settings: Settings, store: Reader, nodes: Iterable[str] | None = None,
             now: float | None = None) -> Report:
    """Judge the configured nodes (all by default) from what the store holds."""
    now = time.time() if now is None else now
    names = list(nodes) if nodes is not None else list(settings.nodes)
    read = judged_reader(settings, store)
    out = [check_node(settings.node(n), read(n), now, originals_for(settings, n, read))
           for n in names]
    return Report(generated_at=now, nodes=out)


def reader(settings: Settings, store: Reader) -> Callable[[str], NodeData]:
    """``name -> NodeData``, each node read from the store once (a source for itself and
    for every copy judged against it)."""
    cache: dict[str, NodeData] = {}

    def read(name: str) -> NodeData:
        if name not in cache:
            cache[name] = store.node_data(name, settings.node(name).hub)
        return cache[name]

    return read


def judged_reader(settings: Settings, store: Reader) -> Callable[[str], NodeData]:
    """Like :func:`reader`, but what the checks judge only: recent backups, in time set by
    nodes and series (``Store.recent_node_data``).

    A hub's source is read whole: each copy is judged against every original from the
    copy's oldest backup on, however far back that goes (docs/concepts.rst).
    """
    cache: dict[str, NodeData] = {}

    def read(name: str) -> NodeData:
        if name not in cache:
            node = settings.node(name)
            if node.source == node.name:
                cache[name] = store.node_data(name, node.hub)
            else:
                # the gap check looks gap_days back from the node's last good listing; a
                # day more keeps the backup just before that window, whatever the rhythm
                cache[name] = store.recent_node_data(name, node.hub,
                                                     window_s=(node.gap_days + 1) * 86400,
                                                     look_back=LOOK_BACK)
        return cache[name]

    return read


def originals_for(settings: Settings, name: str,
                  read: Callable[[str], NodeData]) -> Originals | None:
    """The hub's source as the copy ``name`` is judged against it (None: not a copy)."""
    node = settings.node(name)
    if not node.is_copy or node.source not in settings.nodes:
        return None
    source = settings.node(node.source)
    data = read(source.name)
    return Originals.of(source.name, data.series, data.verified, stored_root(source, data),
                        observed_at(data))


def stored_root(node: NodeSettings, data: NodeData) -> str | bytes:
    """The root the node's stored paths are under: the configured one may have changed
    since the last collection, which moves them (docs/configuration.rst, ``root``)."""
    return data.root if data.root is not None else node.root


def check_node(node: NodeSettings, data: NodeData, now: float,
               originals: Originals | None = None) -> NodeStatus:
    """The findings for one node from its stored data; pure, no I/O.

    ``originals``: the hub's source, when ``node`` is one of its copies
    (:func:`originals_for`); without it the copy checks are not made.
    """
    result = judge_runs(node, data, now)
    max_age = node.max_age_hours * 3600
    # as observed: a node nobody could list for three days is one node-level finding,
    # not every series stale by three more days
    as_of = result.observed_at if result.observed_at is not None else now
    copy = originals is not None and node.is_copy
    root = stored_root(node, data)
    extra: dict[str, list[Reason]] = {}
    for name, found in corrupt(data.series, data.verified, root,
                               originals if copy else None).items():
        extra.setdefault(name, []).extend(found)
    if copy:
        assert originals is not None
        for name, found in check_copy(
                node.name, data.series, data.verified, root, result.observed_at,
                originals, grace_hours=node.copy_grace_hours, verify=node.verify,
                retired=node.retires).items():
            extra.setdefault(name, []).extend(found)
    seen: set[str] = set()
    any_present = False
    rows: dict[str, SeriesStatus] = {}
    for series in data.series:
        seen.add(series.name)
        backups = Backups.of(series, root, as_of)
        any_present = any_present or bool(backups.present) or bool(backups.future)
        if node.retires(series.name):
            continue
        st = check_series(node, backups, as_of, now, max_age)
        st.reasons.extend(series_history(node, backups, st, result.observed_at, copy))
        rows[series.name] = st
    empty = no_backups(node, data, any_present)
    if empty is not None:
        result.reasons.append(empty)
    result.reasons.extend(unverified(node, data))
    for name, found in extra.items():
        if node.retires(name):
            continue
        # a source series the copy never had is a row of its own
        rows.setdefault(name, SeriesStatus(name=name)).reasons.extend(found)
    # absence is only known from a listing: a node never listed has nothing "missing" yet
    # (its collector-stale/unreachable finding already says why nothing is known)
    expected = node.select if result.observed_at is not None else ()
    for name in dict.fromkeys(s.strip("/") for s in expected):
        already = rows[name].reasons if name in rows else []
        if name not in seen and not any(r.reason == "missing" for r in already):
            rows.setdefault(name, SeriesStatus(name=name)).reasons.append(Reason(
                "missing", f"selected for hub {node.hub} but no backup of it on {node.name}"))
    result.series = sorted(rows.values(), key=lambda s: s.name)
    return result


def same_findings_until(node: NodeSettings, status: NodeStatus, judged_at: float) -> float:
    """Until when :func:`check_node` on the same data finds what it found at ``judged_at``.

    The series are judged as of the latest good listing, so with no new data only
    the clock moves the findings: ``collector-stale`` appears once ``max_age_hours``
    have passed since that listing (and then counts the age), and a ``stale``
    series names how long ago that listing was once an hour has passed. A caller
    that keeps findings across runs (the docs build) may reuse them strictly
    before the time returned; ``judged_at`` itself means never.
    """
    if status.observed_at is None:
        return judged_at  # judged as of now: every moment is another judgement
    since = judged_at - status.observed_at
    max_age = node.max_age_hours * 3600
    if since > max_age:
        return judged_at
    until = status.observed_at + max_age
    if any(r.reason == "stale" for s in status.series for r in s.reasons):
        if since >= 3600:
            return judged_at
        until = min(until, status.observed_at + 3600)
    return until
