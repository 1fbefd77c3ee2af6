"""The backup calendar (docs/sphinx.rst, "The backup calendar"): the nights Python computes
for the build-time calendar and the ones the page's calendar.js computes from the same data
file are the same cells, in the node's local dates, and each planted fault marks its night.

A missing ``node`` skips the JavaScript half locally and fails under ``CI=true``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sphinxcontrib_scmmonitor import config, export, nights
from sphinxcontrib_scmmonitor.checks import check_node, originals_for
from sphinxcontrib_scmmonitor.store import BackupFile, NodeData, RunInfo, SeriesData, Verification
from tests.sshd import require_tool

ROOT = Path(__file__).resolve().parent.parent
MODULES = ROOT / "sphinxcontrib_scmmonitor" / "static" / "scmmonitor"
ZONE = ZoneInfo("Europe/Berlin")
#: 40 nights ending after the end of daylight-saving time (2026-10-25 in Berlin)
FIRST = datetime(2026, 9, 25, 3, 10, tzinfo=ZONE)
NIGHTS = 40
#: nights counted from the first: the fault planted on each
NOT_COPIED, CUT, EMPTY, CORRUPT = 25, 33, NIGHTS - 1, 35
MB = 1024**2


def local(n: int) -> datetime:
    # the wall clock at 03:10 each night, whatever the UTC offset that night
    return (FIRST + timedelta(days=n)).replace(tzinfo=ZONE)


def when(n: int) -> int:
    return int(local(n).timestamp())


def folder(n: int) -> str:
    return local(n).strftime("%Y/%m/%d/%H%M%S")


def series(root: str, name: str, nights_: dict[int, int]) -> SeriesData:
    rows = [BackupFile(when(n), size, None, f"{root}/{name}/{folder(n)}/x.tar.gz".encode(),
                       when(n) + 600) for n, size in sorted(nights_.items())]
    return SeriesData(name=name, raw_name=name.encode(), backups=rows)


@pytest.fixture(scope="module")
def hub() -> tuple[config.Settings, dict[str, NodeData], float]:
    settings = config.parse({
        "defaults": {"timezone": "Europe/Berlin"},
        "hubs": {"cms02": {"source": "S"}},
        "nodes": {"S": {"hub": "cms02", "host": "local", "root": "/s"},
                  "C": {"hub": "cms02", "host": "local", "root": "/c"}},
    })
    now = when(NIGHTS - 1) + 4 * 3600
    run = [RunInfo(now - 65, now - 60, "ok", None, "local", 100, 0)]
    daily = {n: 10 * MB + n for n in range(NIGHTS)}
    # the hub skipped one night of svn/gap, two days before the newest: a gap on both nodes
    gap = {n: s for n, s in daily.items() if n != NIGHTS - 3}
    empty = {**daily, EMPTY: 0}
    source = [series("/s", "repos/env", daily), series("/s", "svn/gap", gap),
              series("/s", "tracs/env", empty)]
    copy_env = {n: s for n, s in daily.items() if n != NOT_COPIED}
    copy_env[CUT] = int(daily[CUT] * 0.9)
    copy = [series("/c", "repos/env", copy_env), series("/c", "svn/gap", gap),
            series("/c", "tracs/env", empty)]
    bad = f"/c/repos/env/{folder(CORRUPT)}/x.tar.gz".encode()
    data = {"S": NodeData("S", "cms02", source, run),
            "C": NodeData("C", "cms02", copy, run,
                          {bad: Verification(None, False, "unexpected end of file", now)})}
    return settings, data, now


def documents(hub: tuple[config.Settings, dict[str, NodeData], float]) -> dict[str, dict]:
    settings, data, now = hub
    out = {}
    for name in ("S", "C"):
        node = settings.node(name)
        status = check_node(node, data[name], now, originals_for(settings, name, data.__getitem__))
        out[name] = export.node_document(node, data[name], status, now, source="S")
    return out


def cells(rows: list[nights.Row]) -> dict[tuple[str, str], dict[str, str]]:
    return {(r.node, r.series): {n.day: n.kind for n in r.nights} for r in rows}


def day(n: int) -> str:
    return local(n).date().isoformat()


def test_each_fault_marks_its_night_in_the_nodes_local_dates(hub) -> None:
    docs = documents(hub)
    c = cells(nights.rows(docs["C"], 30))
    s = cells(nights.rows(docs["S"], 30))
    assert list(c[("C", "repos/env")])[-1] == day(NIGHTS - 1)  # newest right
    assert len(c[("C", "repos/env")]) == 30
    assert c[("C", "repos/env")][day(NOT_COPIED)] == "copy"
    assert c[("C", "repos/env")][day(CUT)] == "copy"
    assert c[("C", "repos/env")][day(CORRUPT)] == "corrupt"
    assert c[("C", "tracs/env")][day(EMPTY)] == "empty"
    assert s[("S", "svn/gap")][day(NIGHTS - 3)] == "none"
    # every other night of every series holds a backup, across the end of summer time
    odd = {(key, d) for key, row in {**c, **s}.items() for d, k in row.items() if k != "backup"}
    assert odd == {(("C", "repos/env"), day(NOT_COPIED)), (("C", "repos/env"), day(CUT)),
                   (("C", "repos/env"), day(CORRUPT)), (("C", "tracs/env"), day(EMPTY)),
                   (("S", "tracs/env"), day(EMPTY)), (("C", "svn/gap"), day(NIGHTS - 3)),
                   (("S", "svn/gap"), day(NIGHTS - 3))}
    words = {n.day: n.words for r in nights.rows(docs["C"], 30) for n in r.nights
             if r.series == "repos/env"}
    assert words[day(NOT_COPIED)] == f"{day(NOT_COPIED)}: differs from the source or not copied"


def test_tonight_not_written_yet_ends_the_calendar_with_last_night(hub) -> None:
    doc = documents(hub)["S"]
    doc = {**doc, "observed_at": (local(NIGHTS - 1) + timedelta(hours=22)).astimezone(
        ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")}
    assert [n.day for n in nights.rows(doc, 3)[0].nights][-1] == day(NIGHTS - 1)


@pytest.fixture(scope="module")
def node_js() -> str:
    found = shutil.which("node") or shutil.which("nodejs")
    require_tool(None if found else "node is not installed (apt-get install nodejs)")
    assert found is not None
    return found


@pytest.mark.parametrize("days", [1, 30, 45])
def test_the_page_script_draws_the_same_cells_as_the_build(hub, node_js: str, tmp_path: Path,
                                                           days: int) -> None:
    for name, doc in documents(hub).items():
        path = tmp_path / f"{name}.json"
        export.write_document(path, doc)
        code = ("import { readFileSync } from 'node:fs';"
                "import { parseDocument } from './data.js';"
                "import { calendarRows } from './calendar.js';"
                f"const d = parseDocument(readFileSync({json.dumps(str(path))}, 'utf8'));"
                f"console.log(JSON.stringify(calendarRows(d, {days})))")
        proc = subprocess.run([node_js, "--input-type=module", "-e", code], cwd=MODULES,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        got = json.loads(proc.stdout)
        want = [{"node": r.node, "series": r.series,
                 "nights": [{"day": n.day, "kind": n.kind, "words": n.words} for n in r.nights]}
                for r in nights.rows(doc, days)]
        assert got == want


def test_the_kinds_and_their_words_are_the_same_in_both(node_js: str) -> None:
    code = ("import { NIGHT_KINDS, REASON_NIGHT } from './calendar.js';"
            "console.log(JSON.stringify([NIGHT_KINDS, REASON_NIGHT]))")
    proc = subprocess.run([node_js, "--input-type=module", "-e", code], cwd=MODULES,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [[list(kv) for kv in nights.KINDS.items()],
                                       dict(nights.REASON_KIND)]
