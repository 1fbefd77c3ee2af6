"""The alert mail's table (docs/operations.rst, mail): grouped by node, problems first, and a
node that could not be listed is one line, not one "ok" row per series nobody saw."""

from __future__ import annotations

from sphinxcontrib_scmmonitor import config, notify
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


def test_the_text_part_has_the_same_rows_in_the_same_order_as_the_html() -> None:
    ok = [SeriesStatus("repos/env", newest=NOW - 3600, size=1), SeriesStatus("tracs/env")]
    report = Report(NOW, [
        NodeStatus("S", "cms02", series=[*ok, SeriesStatus("svn/gap", [Reason("gap", "x")])]),
        NodeStatus("H1", "cms02", reasons=[Reason("unreachable", "timed out after 10 s")],
                   series=[*ok, SeriesStatus("svn/x", [Reason("stale", "4 d old")])]),
    ])
    hub = config.parse({"hubs": {"cms02": {}}, "nodes": {"S": {
        "hub": "cms02", "host": "local", "root": "/b"}}}).hubs["cms02"]
    text = notify.text_body(hub, report, "alert", "test")
    table = [line.split()[:3] for line in text.splitlines()
             if line.split()[:1] in (["S"], ["H1"])]
    # grouped by node, each node's problems first, its healthy series one count
    assert table == [["S", "svn/gap", "warn"], ["S", "2", "series"],
                     ["H1", "svn/x", "alarm"], ["H1", "-", "warn"]]
    assert [(r["node"], r["series"]) for r in mail_rows(report)] == [
        ("S", "svn/gap"), ("S", "2 series"), ("H1", "svn/x"), ("H1", "-")]
