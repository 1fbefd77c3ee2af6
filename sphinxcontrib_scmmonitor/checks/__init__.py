"""Store -> statuses: every series and node judged, with the reasons why.

Per series: ``stale``, ``shrunk``, ``empty``, ``missing``, ``vanished``.
Per node: ``unreachable`` (its latest collection failed) and
``collector-stale`` (no good collection within ``max_age_hours``). Retired
series are not judged at all. A node is
its worst finding, the conclusion the worst node. All times are UTC epoch
seconds, so a daylight-saving change can never cause a false alarm.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..config import NodeSettings, Settings
from ..text import human_age, human_size  # re-exported: their home is text.py
from .reasons import (
    ALARM,
    EXIT_CODES,
    LEVELS,
    NAGIOS_WORDS,
    OK,
    SEVERITY,
    UNKNOWN,
    WARN,
    Reason,
    worst,
)

if TYPE_CHECKING:  # the CLI's exit-status table imports checks: --help must not load SQLAlchemy
    from ..store import NodeData, Store

__all__ = ["ALARM", "EXIT_CODES", "LEVELS", "NAGIOS_WORDS", "OK", "SEVERITY", "UNKNOWN", "WARN",
           "NodeStatus", "Reason", "Report", "SeriesStatus", "check_node", "evaluate",
           "human_age", "human_size", "worst"]


@dataclass
class SeriesStatus:
    name: str
    reasons: list[Reason] = field(default_factory=list)
    newest: int | None = None          # epoch seconds UTC of the newest present backup
    size: int | None = None            # its size (files of one dated folder summed)
    previous_size: int | None = None
    count: int = 0                     # backups present on the node now

    @property
    def status(self) -> str:
        return worst(r.level for r in self.reasons)

    def age_hours(self, now: float) -> float | None:
        return None if self.newest is None else (now - self.newest) / 3600


@dataclass
class NodeStatus:
    node: str
    hub: str
    reasons: list[Reason] = field(default_factory=list)
    series: list[SeriesStatus] = field(default_factory=list)
    last_run_at: float | None = None
    last_run_ok: bool | None = None
    last_good_at: float | None = None

    @property
    def status(self) -> str:
        return worst([*(r.level for r in self.reasons), *(s.status for s in self.series)])


@dataclass
class Report:
    generated_at: float
    nodes: list[NodeStatus]

    @property
    def conclusion(self) -> str:
        return worst(n.status for n in self.nodes)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.conclusion]

    def node(self, name: str) -> NodeStatus:
        return next(n for n in self.nodes if n.node == name)


def evaluate(settings: Settings, store: Store, nodes: Iterable[str] | None = None,
             now: float | None = None) -> Report:
    """Judge the configured nodes (all by default) from what the store holds."""
    now = time.time() if now is None else now
    names = list(nodes) if nodes is not None else list(settings.nodes)
    out = [check_node(settings.node(n), store.node_data(n, settings.node(n).hub), now)
           for n in names]
    return Report(generated_at=now, nodes=out)


def check_node(node: NodeSettings, data: NodeData, now: float) -> NodeStatus:
    """The findings for one node from its stored data; pure, no I/O."""
    result = NodeStatus(node=node.name, hub=node.hub)
    max_age = node.max_age_hours * 3600
    finished = [r for r in data.runs if r.state != "running"]
    good = [r for r in finished if r.ok]
    if finished:
        last = finished[-1]
        result.last_run_at = last.finished_at or last.started_at
        result.last_run_ok = last.ok
        if not last.ok:
            result.reasons.append(Reason("unreachable", last.error or last.state))
    result.last_good_at = (good[-1].finished_at or good[-1].started_at) if good else None
    if result.last_good_at is None or now - result.last_good_at > max_age:
        since = ("never collected" if result.last_good_at is None
                 else f"last one {_ago(now - result.last_good_at)} ago")
        result.reasons.append(Reason(
            "collector-stale", f"no successful collection within {node.max_age_hours:g} h "
            f"({since})"))

    seen: set[str] = set()
    for series in data.series:
        seen.add(series.name)
        if node.retires(series.name):
            continue
        result.series.append(_check_series(node, series.name, series.totals(present_only=True),
                                           series.totals(), now, max_age))
    # absence is only known from a listing: a node never listed has nothing "missing" yet
    # (its collector-stale/unreachable finding already says why nothing is known)
    expected = node.select if result.last_good_at is not None else ()
    for name in dict.fromkeys(s.strip("/") for s in expected):
        if name not in seen:
            result.series.append(SeriesStatus(name=name, reasons=[Reason(
                "missing", f"selected for hub {node.hub} but no backup of it on {node.name}")]))
    result.series.sort(key=lambda s: s.name)
    return result


def _check_series(node: NodeSettings, name: str, totals: list[tuple[int, int]],
                  history: list[tuple[int, int]], now: float, max_age: float) -> SeriesStatus:
    """``totals``: the backups on the node now; ``history``: every backup ever seen."""
    st = SeriesStatus(name=name, count=len(totals))
    if not totals:
        if history:
            st.reasons.append(Reason("vanished", "had backups, none is on the node now"))
        return st
    st.newest, st.size = totals[-1]
    # the previous backup may already be rotated away (a node keeping only the newest):
    # its size as last seen is still what the newest one should be compared with
    earlier = [size for at, size in history if at < st.newest]
    if earlier:
        st.previous_size = earlier[-1]
    age = now - st.newest
    if age > max_age:
        st.reasons.append(Reason("stale", f"newest backup is {_ago(age)} old "
                                          f"(limit {node.max_age_hours:g} h)"))
    if st.size == 0:
        st.reasons.append(Reason("empty", "newest backup has 0 bytes"))
    elif st.previous_size and st.size < node.min_size_ratio * st.previous_size:
        pct = 100 * (st.size - st.previous_size) / st.previous_size
        st.reasons.append(Reason("shrunk", f"newest backup is {pct:+.0f} % against the "
                                           f"previous one (limit {node.min_size_ratio:g}x)"))
    return st


def _ago(seconds: float) -> str:
    return human_age(seconds)
