"""Node data as the store reads it back, built by hand for the pure checks' tests.

Node C of hub cms02, its series from (time, size[, file name]) triples, its runs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sphinxcontrib_scmmonitor import config
from sphinxcontrib_scmmonitor.config import NodeSettings
from sphinxcontrib_scmmonitor.store import BackupFile, NodeData, RunInfo, SeriesData

HOUR = 3600
DAY = 24 * HOUR
NOW = 1_764_331_200.0  # 2025-11-28 12:00 UTC
GB = 1024**3
ROOT = "/backup/cms02"  # node C's root in node_settings()


def node_settings(defaults: dict[str, Any] | None = None, hub: dict[str, Any] | None = None,
                  **node: Any) -> NodeSettings:
    """Settings for node C of hub cms02, through the real config precedence."""
    return config.parse({
        "defaults": defaults or {},
        "hubs": {"cms02": hub or {}},
        "nodes": {"C": {"hub": "cms02", "host": "local", "root": ROOT, **node}},
    }).node("C")


def run(at: float, state: str = "ok", error: str | None = None, *, files_seen: int = 10,
        unparsed: int = 0, unparsed_sample: str | None = None) -> RunInfo:
    return RunInfo(started_at=at - 5, finished_at=at, state=state, error=error,
                   method="find", files_seen=files_seen, unparsed=unparsed,
                   unparsed_sample=unparsed_sample)


def series(name: str, *backups: tuple[float, int] | tuple[float, int, str],
           gone: dict[float, float] | None = None, seen: dict[float, float] | None = None
           ) -> SeriesData:
    """A series from (time, size[, file name]) triples, as the store reads it back.

    The file lies in the dated folder of its time below node C's root (one folder may hold
    several files); ``gone`` maps a backup's time to when it left the node, ``seen`` to the
    collection that first saw it (else ten minutes after its time).
    """
    gone, seen = gone or {}, seen or {}
    rows = []
    for at, size, *file in backups:
        folder = datetime.fromtimestamp(at, UTC).strftime("%Y/%m/%d/%H%M%S")
        base = file[0] if file else f"{name.rpartition('/')[2]}.tar.gz"
        rows.append(BackupFile(backup_at=int(at), size=size,
                               gone_at=int(gone[at]) if at in gone else None,
                               path=f"{ROOT}/{name}/{folder}/{base}".encode(),
                               first_seen_at=int(seen.get(at, at + 600))))
    rows.sort(key=lambda b: (b.backup_at, b.path))
    return SeriesData(name=name, raw_name=name.encode(), backups=rows)


def daily(newest: float, *sizes: int) -> list[tuple[float, int]]:
    """Backups one day apart, oldest first, the last one at ``newest``."""
    return [(newest - (len(sizes) - 1 - i) * DAY, size) for i, size in enumerate(sizes)]


def node_data(*all_series: SeriesData, runs: list[RunInfo] | None = None) -> NodeData:
    return NodeData(name="C", hub="cms02", series=list(all_series),
                    runs=[run(NOW - HOUR)] if runs is None else runs)
