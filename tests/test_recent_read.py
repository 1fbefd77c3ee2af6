"""The checks' store read loads only recent rows, and judges exactly as the full read does.

``Store.recent_node_data`` (docs/operations.rst, "Large stores") must give the same
Report as ``Store.node_data`` on a modelled year of a source and two copies
(tests/backup_nights.py), with faults planted, while reading far fewer rows.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sphinxcontrib_scmmonitor.checks import evaluate
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
        data = (store.recent_node_data(o.node.name, "cms02", window_s=window) if recent
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
            o.node.name, "cms02", window_s=window).series)
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
