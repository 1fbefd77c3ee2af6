"""The alert mail's table (docs/operations.rst, mail): grouped by node, problems first, and a
node that could not be listed is one line, not one "ok" row per series nobody saw."""

from __future__ import annotations

from sphinxcontrib_scmmonitor.checks import NodeStatus, Reason, Report, SeriesStatus
from sphinxcontrib_scmmonitor.notify import mail_rows

NOW = 1_800_000_000


def test_rows_are_grouped_by_node_and_an_unreachable_node_is_one_line() -> None:
    ok = [SeriesStatus("repos/env", newest=NOW - 3600, size=1), SeriesStatus("tracs/env")]
    report = Report(NOW, [
        NodeStatus("S", "cms02", series=[SeriesStatus("svn/gap", [Reason("gap", "no backup")]),
                                         *ok]),
        NodeStatus("H1", "cms02", reasons=[Reason("unreachable", "timed out after 10 s")],
                   series=[*ok, SeriesStatus("svn/x", [Reason("stale", "4 d old")])]),
        NodeStatus("C", "cms02", series=[*ok, SeriesStatus("repos/data", [Reason(
            "not-copied", "2026/11/29/031002 is on S, not on C")])]),
    ])
    got = [(r["node"], r["series"], r["status"]) for r in mail_rows(report)]
    assert got == [
        # findings in full, the healthy series as one count per node
        ("S", "svn/gap", "warn"), ("S", "2 series", "ok"),
        ("H1", "svn/x", "alarm"), ("H1", "-", "warn"),
        ("C", "repos/data", "alarm"), ("C", "2 series", "ok"),
    ]
    copy = next(r for r in mail_rows(report) if r["series"] == "repos/data")
    assert copy["reason"] == "not-copied: 2026/11/29/031002 is on S, not on C"
