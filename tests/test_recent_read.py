"""The checks' store read loads only recent rows, and judges exactly as the full read does.

``Store.recent_node_data`` (docs/operations.rst, "Large stores") must give the same
Report as ``Store.node_data`` on a modelled year of a source and two copies
(tests/backup_nights.py), with faults planted, while reading far fewer rows.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sphinxcontrib_scmmonitor.checks import LOOK_BACK, evaluate
from sphinxcontrib_scmmonitor.store import BackupFile
from tests import backup_nights as bn
from tests.helpers.modelled_store import full_report, modelled_settings, modelled_store


def _faulty_year() -> bn.Hub:
    hub = bn.healthy_year()
    # a missed night inside the gap window, and a backup that shrank
    svn = hub.series[b"svn/repo03"]
    svn.remove(hub.at(b"svn/repo03", "2026-11-28"))
    newest = svn[-1]
    newest.files = {name: size // 4 for name, size in newest.files.items()}
    return hub


@pytest.mark.parametrize("at", [bn.END, bn.berlin("2026-06-15", 4), bn.berlin("2025-12-20", 4)])
@pytest.mark.parametrize("faulty", [False, True])
def test_recent_read_gives_the_full_reads_report(tmp_path: Path, at: int, faulty: bool) -> None:
    nodes = bn.three_nodes()
    nodes = (nodes[0], bn.with_node(nodes[1], keep_of={b"svn/repo01": 12}), nodes[2])
    hub = _faulty_year() if faulty else bn.healthy_year()
    observed = bn.observe_all(hub, nodes, at)
    store = modelled_store(tmp_path, observed)
    settings = modelled_settings(tmp_path / "scm.db", nodes)
    now = at + 3600
    assert evaluate(settings, store, now=now) == full_report(settings, store, now)


def test_history_and_copy_checks_find_the_same_on_the_recent_read(tmp_path: Path) -> None:
    """What check_node hands the history and copy checks: the same findings either way."""
    nodes = bn.three_nodes()
    hub = _faulty_year()
    observed = bn.observe_all(hub, nodes)
    store = modelled_store(tmp_path, observed)
    window = (bn.Limits().gap_days + 1) * bn.DAY

    def read(o: bn.Observed, recent: bool) -> bn.Observed:
        data = (store.recent_node_data(o.node.name, "cms02", window_s=window,
                                       look_back=LOOK_BACK) if recent
                else store.node_data(o.node.name, "cms02"))
        series = [bn.Series(s.name, s.raw_name, s.backups) for s in data.series]
        return o._replace(series=series)

    full = [read(o, False) for o in observed]
    # the source is read whole (its copies are judged against all of it), the copies recent
    recent = [full[0], *(read(o, True) for o in observed[1:])]
    assert bn.reasons(recent) == bn.reasons(full)
    assert bn.findings(full)  # the planted faults are found: the comparison is not empty
    # and it is the narrower read: the copies' year is mostly left in the store
    for o in observed[1:]:
        whole = sum(len(s.backups) for s in store.node_data(o.node.name, "cms02").series)
        part = sum(len(s.backups) for s in store.recent_node_data(
            o.node.name, "cms02", window_s=window, look_back=LOOK_BACK).series)
        assert part < whole / 2, (o.node.name, part, whole)


def test_a_present_backup_older_than_the_window_makes_its_series_read_whole(
        tmp_path: Path) -> None:
    nodes = bn.three_nodes()
    observed = bn.observe_all(bn.healthy_year(), nodes)
    # H1 still holds its oldest backup of svn/repo00: the purge missed it
    h1 = observed[2]
    s = next(s for s in h1.series if s.raw_name == b"svn/repo00")
    s.backups[0] = s.backups[0]._replace(gone_at=None)
    store = modelled_store(tmp_path, observed)
    data = store.recent_node_data("H1", "cms02", window_s=4 * bn.DAY)
    got = next(x for x in data.series if x.raw_name == b"svn/repo00")
    assert got.backups == store.node_data("H1", "cms02").series[
        [x.raw_name for x in data.series].index(b"svn/repo00")].backups
    settings = modelled_settings(tmp_path / "scm.db", nodes)
    assert evaluate(settings, store, now=bn.END) == full_report(settings, store, bn.END)


def _file(root: str, series: str, n: int, at: int, *, seen: int, gone: int | None,
          size: int = 10_000_000) -> BackupFile:
    return BackupFile(at, size, gone, f"{root.rstrip('/')}/{series}/x{n:05d}/db.tar.gz".encode(),
                      seen)


def _hard_cases(observed: list[bn.Observed]) -> bn.Observed:
    """H1 with what can push a judged backup out of a window counted in backups."""
    h1 = observed[2]
    at, root = h1.observed_at, h1.node.root
    by_name = {s.raw_name: s for s in h1.series}
    # 40 future-dated backups (a node clock years ahead) and one whose first file was seen
    # long before its time, a later one not: future as a whole (checks/backups.py)
    future = by_name[b"svn/repo02"].backups
    future += [_file(root, "svn/repo02", i, at + (i + 2) * bn.DAY, seen=at, gone=None)
               for i in range(40)]
    future += [_file(root, "svn/repo02", 100, at - 10 * bn.DAY, seen=at - 12 * bn.DAY, gone=None),
               _file(root, "svn/repo02", 101, at - 10 * bn.DAY, seen=at - 10 * bn.DAY,
                     gone=None)]
    # reruns: a second backup 20 minutes after each of the last 30 nights' (one gone)
    reruns = by_name[b"svn/repo01"].backups
    nights = sorted({b.backup_at for b in reruns})[-30:]
    reruns += [_file(root, "svn/repo01", i, t + 1200, seen=t + 3600,
                     gone=at - 3600 if i == 3 else None) for i, t in enumerate(nights)]
    # a weekly series: 80 weeks seen, the newest 30 on the node, the last week missed
    weekly = [_file(root, "svn/weekly", i, at - (81 - i) * 7 * bn.DAY + 3 * 3600,
                    seen=at - (81 - i) * 7 * bn.DAY + 4 * 3600,
                    gone=None if i >= 49 else at - (50 - i) * 7 * bn.DAY)
              for i in range(80)]
    for s in (by_name[b"svn/repo02"], by_name[b"svn/repo01"]):
        s.backups.sort(key=lambda b: (b.backup_at, b.path))
    return h1._replace(series=[*h1.series, bn.Series("svn/weekly", b"svn/weekly", weekly)])


@pytest.mark.parametrize("at", [bn.END, bn.berlin("2026-03-29", 4), bn.berlin("2026-10-25", 4)])
def test_the_recent_read_judges_as_the_full_read_in_the_hard_cases(tmp_path: Path,
                                                                    at: int) -> None:
    """Future-dated backups, reruns in one night, a weekly series, DST nights (the listings
    at the clock changes) and a copy keeping more than the checks look back at (C keeps
    60): the same Report, and still the narrower read."""
    nodes = bn.three_nodes()
    observed = bn.observe_all(_faulty_year(), nodes, at)
    observed[2] = _hard_cases(observed)
    store = modelled_store(tmp_path, observed)
    settings = modelled_settings(tmp_path / "scm.db", nodes)
    now = at + 3600
    report = evaluate(settings, store, now=now)
    assert report == full_report(settings, store, now)
    h1 = next(n for n in report.nodes if n.node == "H1")
    found = {r.reason for s in h1.series for r in s.reasons}
    assert "future" in found, found  # the planted cases are judged, not lost
    # narrower: H1 keeps 30 nights of a longer past; C keeps 60, all read (every present
    # backup is), and less than its whole past
    for name, share in (("C", 1.0), ("H1", 0.5)):
        whole = sum(len(s.backups) for s in store.node_data(name, "cms02").series)
        part = sum(len(s.backups) for s in store.recent_node_data(
            name, "cms02", window_s=(bn.Limits().gap_days + 1) * bn.DAY,
            look_back=LOOK_BACK).series)
        assert part < whole * share, (name, part, whole)


def test_a_series_whose_window_lacks_the_usual_intervals_backups_is_read_whole(
        tmp_path: Path) -> None:
    """Six future-dated backups among the 32 newest leave 27 up to the listing, fewer
    than the usual interval's 29: the series is read whole, the others stay narrow."""
    nodes = bn.three_nodes()
    observed = bn.observe_all(bn.healthy_year(), nodes)
    h1 = observed[2]
    at, root = h1.observed_at, h1.node.root
    s = next(s for s in h1.series if s.raw_name == b"svn/repo00")
    present = [i for i, b in enumerate(s.backups) if b.gone_at is None]
    for i in present[:len(present) - 26]:  # it keeps 26 nights, and 6 dated ahead
        s.backups[i] = s.backups[i]._replace(gone_at=at - bn.DAY)
    s.backups.extend(_file(root, "svn/repo00", i, at + (i + 2) * bn.DAY, seen=at, gone=None)
                     for i in range(6))
    store = modelled_store(tmp_path, observed)

    def backups(data, raw: bytes) -> list[BackupFile]:
        return next(x.backups for x in data.series if x.raw_name == raw)

    recent = store.recent_node_data("H1", "cms02", window_s=4 * bn.DAY, look_back=LOOK_BACK)
    full = store.node_data("H1", "cms02")
    assert backups(recent, b"svn/repo00") == backups(full, b"svn/repo00")
    assert len(backups(recent, b"svn/repo01")) < len(backups(full, b"svn/repo01")) / 2
