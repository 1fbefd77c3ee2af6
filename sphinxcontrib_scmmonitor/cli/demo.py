"""Writes a demo backup tree (sparse files, real layout) for the example docs, the docs and tests.

The layout is the one a hub writes on its backup nodes::

    <dest>/<node>/<hub>/<series...>/<YYYY>/<MM>/<DD>/<HHMMSS>/<file>

Files are sparse (``os.truncate``): a 2 GB backup costs no disk, yet ``stat``
and ``find -printf %s`` report its full size. Run it as
``python -m sphinxcontrib_scmmonitor.cli.demo DEST [--days N] [--seed S] [--now ISO]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

MB = 1_000_000
GB = 1_000_000_000

#: the hub's nightly backup starts at this time (UTC, the nodes' default timezone)
BACKUP_TIME = time(16, 10, 0)
#: the start drifts by up to this many seconds from night to night
JITTER_S = 90
#: the dated folders below a series (the default ``date_layout``)
FOLDER_LAYOUT = "%Y/%m/%d/%H%M%S"


@dataclass(frozen=True)
class SeriesSpec:
    """How one demo series looks: its file name and how its size evolves."""

    name: str
    file: str  # "{rev}" is replaced by a growing revision number
    start: int  # size in bytes of the oldest backup
    daily_growth: float  # mean relative growth per day
    noise: float  # relative night-to-night jitter of the compressed size
    jump_chance: float = 0.01  # chance per day of a burst (an import, a big commit)


#: sizes of very different magnitude, as on the real hub (5 MB next to 2 GB)
SERIES: tuple[SeriesSpec, ...] = (
    SeriesSpec("repos/env", "env.tar.gz", 48 * MB, 0.0009, 0.002),
    SeriesSpec("tracs/env", "env.tar.gz", 5 * MB, 0.0006, 0.004),
    SeriesSpec("repos/data", "data.tar.gz", 310 * MB, 0.0004, 0.001),
    SeriesSpec("tracs/data", "data.tar.gz", 820_000, 0.0012, 0.006),
    SeriesSpec("svn/dybsvn", "dybsvn-{rev}.tar.gz", 2 * GB, 0.0003, 0.0005, 0.02),
)

#: node name -> {series: days without backups before ``now``}; H1's copy of dybsvn stopped
DEMO_NODES: dict[str, dict[str, int]] = {"C": {}, "H1": {"svn/dybsvn": 3}}


@dataclass(frozen=True)
class NodePlan:
    """One node of the demo hub and the faults planted on it (nights counted back from
    the newest: 0 is the newest night)."""

    stale: Mapping[str, int] = field(default_factory=dict)
    skip: Mapping[str, Sequence[int]] = field(default_factory=dict)
    truncate: Mapping[str, Mapping[int, float]] = field(default_factory=dict)


#: the demo hub: its own backups on S (host "local"), copied to C and H1, with one fault of
#: each kind the copy and history checks catch (docs/quickstart.rst, "Demo")
HUB_NODES: dict[str, NodePlan] = {
    # the hub skipped a night of repos/data: a gap on the source (its copies lack it too)
    "S": NodePlan(skip={"repos/data": (2,)}),
    # one night of tracs/env never reached C, and yesterday's repos/env is cut at 90 %
    "C": NodePlan(skip={"repos/data": (2,), "tracs/env": (4,)},
                  truncate={"repos/env": {1: 0.9}}),
    # H1's copies of svn/dybsvn stopped 3 days ago: stale, and those nights not copied
    "H1": NodePlan(stale={"svn/dybsvn": 3}, skip={"repos/data": (2,)}),
}


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC).replace(microsecond=0)
    # a naive time is taken as UTC, the timezone the demo's paths are written in
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def backup_times(now: datetime, days: int, rng: random.Random) -> list[datetime]:
    """One backup time per night for ``days`` nights, the newest one at or before ``now``."""
    newest_day: date = now.date()
    # tonight's backup counts only once it is surely done, jitter included
    if now < datetime.combine(newest_day, BACKUP_TIME, UTC) + timedelta(seconds=JITTER_S):
        newest_day -= timedelta(days=1)
    first = newest_day - timedelta(days=days - 1)
    return [datetime.combine(first + timedelta(days=i), BACKUP_TIME, UTC)
            + timedelta(seconds=rng.randrange(JITTER_S)) for i in range(days)]


def size_history(spec: SeriesSpec, count: int, rng: random.Random) -> list[int]:
    """``count`` plausible sizes: steady growth, rare bursts, small compression noise."""
    sizes: list[int] = []
    content = float(spec.start)
    for _ in range(count):
        content *= 1 + max(0.0, rng.gauss(spec.daily_growth, spec.daily_growth))
        if rng.random() < spec.jump_chance:
            content *= 1 + rng.uniform(0.01, 0.05)
        elif spec.name.startswith("tracs/") and rng.random() < 0.005:
            content *= 1 - rng.uniform(0.01, 0.08)  # a Trac clean-up; never a "shrunk" alarm
        sizes.append(max(1, int(content * (1 + rng.gauss(0, spec.noise)))))
    return sizes


def _write_sparse(path: Path, size: int, mtime: datetime) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.ftruncate(fd, size)
        stamp = int(mtime.timestamp() * 1_000_000_000)
        os.utime(fd, ns=(stamp, stamp))
    finally:
        os.close(fd)


def _check_sparse(folder: Path) -> None:
    # on a filesystem without holes the tree would be ~2 TB of real zeros: stop before that
    probe = folder / ".sparse-probe"
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.ftruncate(fd, 64 * MB)
        allocated = os.fstat(fd).st_blocks * 512
    finally:
        os.close(fd)
        probe.unlink()
    if allocated > 32 * MB:
        raise RuntimeError(f"{folder} does not support sparse files; the demo tree would "
                           "fill the disk: choose a folder on another filesystem")


def _makedirs(folder: str, made: set[str]) -> None:
    # nightly folders share their year/month/day parents: a failing mkdir per level
    # (what makedirs does) doubles the syscalls, and they dominate the run time
    if folder in made:
        return
    parent = os.path.dirname(folder)
    if parent not in made and parent != folder:
        _makedirs(parent, made)
    with contextlib.suppress(FileExistsError):
        os.mkdir(folder)
    made.add(folder)


def _relink(link: Path, target: str) -> None:
    tmp = link.with_name(f".{link.name}.tmp")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target)
    os.replace(tmp, link)  # atomic, and replaces a link left by an earlier run


def _write_series(base: Path, plan: list[tuple[str, int, datetime]]) -> dict[str, Any]:
    base.mkdir(parents=True, exist_ok=True)
    made = {str(base)}
    for name, size, when in plan:
        folder = os.path.join(base, when.strftime(FOLDER_LAYOUT))
        _makedirs(folder, made)
        _write_sparse(Path(folder, name), size, when)
    info: dict[str, Any] = {"files": len(plan), "bytes": sum(size for _, size, _ in plan),
                            "newest": None, "newest_size": None}
    if plan:
        _, newest_size, newest = plan[-1]
        _relink(base / "last", newest.strftime(FOLDER_LAYOUT))
        info.update(newest=newest.isoformat(), newest_size=newest_size)
    return info


def make_demo_tree(dest: Path, *, days: int = 400, now: datetime | None = None, seed: int = 1,
                   hub: str = "cms02", stale: Mapping[str, int] | None = None,
                   series: Sequence[SeriesSpec] = SERIES,
                   skip: Mapping[str, Sequence[int]] | None = None,
                   truncate: Mapping[str, Mapping[int, float]] | None = None) -> dict[str, Any]:
    """Write ``days`` nightly backups of every series under ``dest/<hub>/``.

    ``stale`` maps a series to how many days before ``now`` its backups stopped;
    ``skip`` to the nights (0 = the newest) it has no backup; ``truncate`` to
    {night: fraction} of a backup cut short (an interrupted copy).
    Returns ``{"root", "files", "bytes", "series": {name: {"files", "bytes",
    "newest", "newest_size"}}}``; ``bytes`` is the sum of the (sparse) sizes.
    """
    if days < 1:
        raise ValueError(f"days must be at least 1, not {days}")
    now = _utc(now)
    stale = dict(stale or {})
    nights_skipped: dict[str, set[int]] = {name: set(nights)
                                           for name, nights in (skip or {}).items()}
    truncate = dict(truncate or {})
    unknown = (set(stale) | set(nights_skipped) | set(truncate)) - {s.name for s in series}
    if unknown:
        raise ValueError(f"stale names unknown series: {sorted(unknown)}")
    root = Path(dest) / hub
    root.mkdir(parents=True, exist_ok=True)
    _check_sparse(root)
    rng = random.Random(seed)
    plans: dict[str, list[tuple[str, int, datetime]]] = {}
    # draw every random number first, in a fixed order, so the tree depends on the seed only
    for spec in series:
        times = backup_times(now, days, rng)
        sizes = size_history(spec, days, rng)
        rev = rng.randrange(4000, 9000)
        cutoff = now - timedelta(days=stale.get(spec.name, 0))
        plan = plans[spec.name] = []
        skipped, cut = nights_skipped.get(spec.name, set()), truncate.get(spec.name, {})
        for i, (when, size) in enumerate(zip(times, sizes, strict=True)):
            rev += rng.randrange(0, 25)  # the revision moves on whether or not it is copied
            night = days - 1 - i
            if when <= cutoff and night not in skipped:
                plan.append((spec.file.format(rev=rev), int(size * cut.get(night, 1.0)), when))
    # mkdir/open dominate and wait on the filesystem: series are separate subtrees, so overlap
    with ThreadPoolExecutor(max_workers=len(plans) or 1) as pool:
        done = dict(zip(plans, pool.map(_write_series, [root / n for n in plans],
                                        plans.values()), strict=True))
    summary: dict[str, Any] = {"root": str(root), "files": 0, "bytes": 0, "series": done}
    for info in done.values():
        summary["files"] += info["files"]
        summary["bytes"] += info["bytes"]
    return summary


def make_demo_nodes(dest: Path, *, days: int = 400, now: datetime | None = None, seed: int = 1,
                    hub: str = "cms02") -> dict[str, Any]:
    """Write the demo's two backup nodes, ``dest/C/<hub>`` and ``dest/H1/<hub>``.

    Both hold copies of the same nightly tarballs (same seed, so same sizes),
    except that H1's ``svn/dybsvn`` stopped 3 days before ``now``: a stale series.
    Returns ``{"nodes": {node: make_demo_tree summary}, "files", "bytes", "now"}``.
    """
    now = _utc(now)
    with ThreadPoolExecutor(max_workers=len(DEMO_NODES)) as pool:
        futures = {name: pool.submit(make_demo_tree, Path(dest) / name, days=days, now=now,
                                     seed=seed, hub=hub, stale=stale)
                   for name, stale in DEMO_NODES.items()}
        nodes = {name: future.result() for name, future in futures.items()}
    return {"nodes": nodes, "now": now.isoformat(),
            "files": sum(n["files"] for n in nodes.values()),
            "bytes": sum(n["bytes"] for n in nodes.values())}


def make_demo_hub(dest: Path, *, days: int = 400, now: datetime | None = None, seed: int = 1,
                  hub: str = "cms02") -> dict[str, Any]:
    """Write the demo hub's source ``dest/S/<hub>`` and its copies ``dest/C/<hub>`` and
    ``dest/H1/<hub>`` (:data:`HUB_NODES`: the same tarballs, with the planted faults).

    Returns what :func:`make_demo_nodes` does, for the three nodes.
    """
    now = _utc(now)
    with ThreadPoolExecutor(max_workers=len(HUB_NODES)) as pool:
        futures = {name: pool.submit(make_demo_tree, Path(dest) / name, days=days, now=now,
                                     seed=seed, hub=hub, stale=plan.stale, skip=plan.skip,
                                     truncate=plan.truncate)
                   for name, plan in HUB_NODES.items()}
        nodes = {name: future.result() for name, future in futures.items()}
    return {"nodes": nodes, "now": now.isoformat(),
            "files": sum(n["files"] for n in nodes.values()),
            "bytes": sum(n["bytes"] for n in nodes.values())}


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: write the demo nodes and print their summary as JSON."""
    parser = argparse.ArgumentParser(
        prog="python -m sphinxcontrib_scmmonitor.cli.demo",
        description="Write a demo backup tree (sparse files) for hub cms02: its source S and "
                    "its copies C and H1, with a truncated copy, a night not copied and a gap.")
    parser.add_argument("dest", type=Path,
                        help="folder to write DEST/S/cms02, DEST/C/cms02 and DEST/H1/cms02")
    parser.add_argument("--days", type=int, default=400, help="nights of history (default 400)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--now", type=datetime.fromisoformat, default=None,
                        help="the demo's present, ISO 8601 (default: now; naive means UTC)")
    args = parser.parse_args(argv)
    if args.days < 1:
        parser.error("--days must be at least 1")
    summary = make_demo_hub(args.dest, days=args.days, now=args.now, seed=args.seed)
    brief = {"now": summary["now"], "files": summary["files"], "bytes": summary["bytes"],
             "nodes": {name: {"root": n["root"], "files": n["files"]}
                       for name, n in summary["nodes"].items()}}
    print(json.dumps(brief, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
