"""The findings about a node as a whole, not about one of its series.

``unreachable``: its latest collection failed; ``collector-stale``: no good
collection within ``max_age_hours``; ``no-backups``: its latest good listing
held none; ``unverified``: a configured verify step cannot run there, its tool
is missing (docs/concepts.rst).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config import VERIFY_TOOLS, NodeSettings
from ..text import human_age, iso_utc
from .reasons import Reason
from .results import NodeStatus
from .words import named

if TYPE_CHECKING:
    from ..store import NodeData, RunInfo


def observed_at(data: NodeData) -> float | None:
    """The end of the node's latest good collection: its series are judged as of then."""
    good = _good_runs(data)
    return (good[-1].finished_at or good[-1].started_at) if good else None


def judge_runs(node: NodeSettings, data: NodeData, now: float) -> NodeStatus:
    """The node's row from its collections alone: when it was last collected and observed,
    ``unreachable`` and ``collector-stale``."""
    result = NodeStatus(node=node.name, hub=node.hub)
    finished = [r for r in data.runs if r.state != "running"]
    if finished:
        last = finished[-1]
        result.last_run_at = last.finished_at or last.started_at
        result.last_run_ok = last.ok
        if not last.ok:
            result.reasons.append(Reason("unreachable", last.error or last.state))
    result.observed_at = observed_at(data)
    if result.observed_at is None or now - result.observed_at > node.max_age_hours * 3600:
        since = ("never collected" if result.observed_at is None
                 else f"last one {human_age(now - result.observed_at)} ago")
        result.reasons.append(Reason(
            "collector-stale", f"no successful collection within {node.max_age_hours:g} h "
            f"({since})"))
    return result


def no_backups(node: NodeSettings, data: NodeData, any_present: bool) -> Reason | None:
    """``no-backups`` when the latest good listing held none (None: it held some, or none
    was good)."""
    good = _good_runs(data)
    if not good or any_present or _listed(good[-1]) != 0:
        return None
    return Reason("no-backups", _no_backups(node, good[-1]))


def unverified(node: NodeSettings, data: NodeData) -> list[Reason]:
    """``unverified`` for each configured verify step whose tool the node lacked when its
    steps last ran: stored, so it is said until a run finds the tool there."""
    found = []
    for step, (tool, package) in VERIFY_TOOLS.items():
        since = data.verify_missing.get(tool)
        if since is None or not node.verifies(step):
            continue
        found.append(Reason("unverified", (
            f"{tool} not found on {node.name} (since {iso_utc(since)}): \"{step}\" is not "
            f"checked there; install {package} (in the PATH of the collecting account's "
            f"non-interactive shell) or remove \"{step}\" from its verify")))
    return found


def _good_runs(data: NodeData) -> list[RunInfo]:
    return [r for r in data.runs if r.state != "running" and r.ok]


def _listed(run: RunInfo) -> int:
    """How many backups (files with a date part) a listing held."""
    return run.files_seen - run.unparsed


def _no_backups(node: NodeSettings, run: RunInfo) -> str:
    where = (f"the last good listing ({iso_utc(run.finished_at or run.started_at)}) of "
             f"{node.root} held no backup")
    if not run.files_seen:
        return (f"{where}: no file matches pattern {node.pattern!r} (date_layout "
                f"{node.date_layout!r}); is the disk mounted and the pattern right?")
    sample = [line for line in (run.unparsed_sample or "").split("\n") if line]
    example = f", e.g. {named(sample)}" if sample else ""
    return (f"{where}: {run.files_seen} file(s) match pattern {node.pattern!r} but "
            f"{run.unparsed} have no date part in date_layout {node.date_layout!r}{example}")
