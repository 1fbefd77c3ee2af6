"""Source and copies end to end: a hub's source S (``host = "local"``), copy C (local) and
copy H1 over a real sshd, one fault planted per series, collected by ``scm-monitor collect``.

``scm-monitor status --format json`` must name each fault with its reason on the right node
and dated folder, and nothing else (docs/concepts.rst, "Copies and history checks"); the
calendar (docs/sphinx.rst) must show the gap and the night not copied in real Chromium,
read from the DOM: each cell's class and its title in words.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sphinxcontrib_scmmonitor import cli
from sphinxcontrib_scmmonitor.checks.reasons import SEVERITY
from sphinxcontrib_scmmonitor.text import human_size
from tests.helpers.backups import plant, toml
from tests.js.check_page import serve
from tests.sshd import SshServer

HOUR = 3600
DAY = 24 * HOUR
MB = 1024 * 1024
ZONE = "Europe/Berlin"
NIGHTS = 12
#: nights counted back from the newest (0)
CUT, NOT_COPIED, SKIPPED = 3, 5, 2
NOW = time.time()


def at(night: int) -> int:
    return int(NOW - 8 * HOUR - night * DAY)


def folder(night: int) -> str:
    return datetime.fromtimestamp(at(night), ZoneInfo(ZONE)).strftime("%Y/%m/%d/%H%M%S")


def local_day(night: int) -> str:
    return datetime.fromtimestamp(at(night), ZoneInfo(ZONE)).date().isoformat()


def tree(root: Path, plan: dict[str, dict[int, int]]) -> None:
    for series, nights in plan.items():
        for night, size in nights.items():
            plant(root, series, at(night), "x.tar.gz", size, zone=ZONE)


def every(size: int, *, but: tuple[int, ...] = ()) -> dict[int, int]:
    return {n: size + n for n in range(NIGHTS) if n not in but}


def source_plan() -> dict[str, dict[int, int]]:
    return {
        "repos/env": every(4 * MB),                                  # healthy everywhere
        "tracs/env": every(2 * MB),                                  # cut on C
        "repos/data": every(8 * MB),                                 # a night not on C
        "svn/gap": every(3 * MB, but=(SKIPPED,)),                    # the hub skipped a night
        "git/source-only": every(MB),                                # never copied
    }


def copy_plan(node: str) -> dict[str, dict[int, int]]:
    plan = {k: dict(v) for k, v in source_plan().items() if k != "git/source-only"}
    if node == "C":
        plan["tracs/env"][CUT] = int(plan["tracs/env"][CUT] * 0.9)
        del plan["repos/data"][NOT_COPIED]
    return plan


@pytest.fixture(scope="module")
def hub(sshd_session: SshServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("copies")
    roots = {name: base / name for name in ("S", "C", "H1")}
    tree(roots["S"], source_plan())
    tree(roots["C"], copy_plan("C"))
    tree(roots["H1"], copy_plan("H1"))
    server = sshd_session
    nodes = {
        "S": {"host": "local", "root": str(roots["S"])},
        "C": {"host": "local", "root": str(roots["C"])},
        "H1": {"host": server.host, "port": server.port, "user": server.user,
               "identity_file": str(server.identity_file),
               "known_hosts": str(server.known_hosts), "root": str(roots["H1"]),
               "connect_timeout": 5, "command_timeout": 30},
    }
    lines = [f"database = {toml('sqlite:///' + str(base / 'store.db'))}", "",
             "[defaults]", f"timezone = {toml(ZONE)}", "", "[hubs.cms02]",
             'source = "S"', ""]
    for name, keys in nodes.items():
        lines += [f"[nodes.{name}]", 'hub = "cms02"'] + [f"{k} = {toml(v)}"
                                                         for k, v in keys.items()] + [""]
    cfg = base / "scmmonitor.toml"
    cfg.write_text("\n".join(lines), encoding="utf-8")
    assert cli.main(["-c", str(cfg), "collect", "--progress", "lines"]) == 0
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(["-c", str(cfg), "status", "--format", "json"])
    doc = json.loads(out.getvalue())
    series = {(n["node"], s["name"]): s for n in doc["nodes"] for s in n["series"]}
    return {"cfg": cfg, "base": base, "code": code, "doc": doc, "series": series}


def test_each_planted_fault_is_its_reason_on_its_node_and_nothing_else(hub) -> None:
    reasons = {key: s["reasons"] for key, s in hub["series"].items()}
    assert reasons == {
        ("S", "repos/env"): [], ("S", "tracs/env"): [], ("S", "repos/data"): [],
        ("S", "svn/gap"): ["gap"], ("S", "git/source-only"): [],
        ("C", "repos/env"): [], ("C", "tracs/env"): ["copy-differs"],
        ("C", "repos/data"): ["not-copied"], ("C", "svn/gap"): [],
        ("C", "git/source-only"): ["missing"],
        ("H1", "repos/env"): [], ("H1", "tracs/env"): [], ("H1", "repos/data"): [],
        ("H1", "svn/gap"): [], ("H1", "git/source-only"): ["missing"],
    }
    assert all(not n["reasons"] for n in hub["doc"]["nodes"])  # every node reachable
    assert hub["code"] == 2


def test_the_details_name_the_dated_folder_and_both_values(hub) -> None:
    cut = hub["series"][("C", "tracs/env")]["findings"][0]
    size = 2 * MB + CUT
    short = int(size * 0.9)
    assert cut["detail"] == (f"tracs/env/{folder(CUT)}/x.tar.gz is {human_size(short)} "
                             f"({short} B) on C, {human_size(size)} ({size} B) on S")
    assert cut["at"] == [at(CUT)] and cut["level"] == "alarm"
    missed = hub["series"][("C", "repos/data")]["findings"][0]
    assert missed["detail"] == f"{folder(NOT_COPIED)} is on S, not on C"
    assert missed["at"] == [at(NOT_COPIED)]
    gap = hub["series"][("S", "svn/gap")]["findings"][0]
    assert gap["detail"].startswith(f"no backup on {local_day(SKIPPED)} ({ZONE})")


def test_prometheus_has_every_reason_of_every_node_with_its_count(hub) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        cli.main(["-c", str(hub["cfg"]), "status", "--format", "prometheus"])
    lines = [line for line in out.getvalue().splitlines()
             if line.startswith("scmmonitor_findings{")]
    assert 'scmmonitor_findings{hub="cms02",node="C",reason="not-copied",level="alarm"} 1' in lines
    assert 'scmmonitor_findings{hub="cms02",node="H1",reason="not-copied",level="alarm"} 0' in lines
    assert 'scmmonitor_findings{hub="cms02",node="S",reason="gap",level="warn"} 1' in lines
    assert len(lines) == 3 * len(SEVERITY) == 3 * 16  # 3 nodes x every reason, 0 included


@pytest.mark.browser
def test_the_calendar_shows_the_gap_and_the_night_not_copied_in_chromium(hub, browser) -> None:
    src = hub["base"] / "docs"
    src.mkdir()
    (src / "conf.py").write_text('extensions = ["sphinxcontrib_scmmonitor"]\n'
                                 f"scmmonitor_config = {str(hub['cfg'])!r}\n")
    (src / "index.rst").write_text("Calendar\n========\n\n.. scm-backup-calendar:: S C\n"
                                   "   :days: 14\n")
    out = hub["base"] / "html"
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-q", "-b", "html", str(src),
                           str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    url, stop = serve(out)
    try:
        page = browser.new_page()
        try:
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(url + "index.html")
            page.wait_for_selector(".scmmonitor-calendar.scmmonitor-live", timeout=20000)
            cells = page.evaluate("""() => Array.from(document.querySelectorAll(
                '.scmmonitor-calendar tr.scmmonitor-calendar-row')).map((tr) => [
                tr.dataset.scmNode, tr.dataset.scmSeries,
                Array.from(tr.querySelectorAll('td')).map((td) => [td.dataset.scmDay,
                  td.className, td.title])])""")
            legend = page.inner_text(".scmmonitor-calendar-legend")
        finally:
            page.close()
    finally:
        stop()
    assert not errors
    rows = {(node, series): {day: (cls, title) for day, cls, title in tds}
            for node, series, tds in cells}
    assert len(rows) == 10 and all(len(r) == 14 for r in rows.values())
    not_copied = rows[("C", "repos/data")][local_day(NOT_COPIED)]
    assert not_copied == ("scmmonitor-night scmmonitor-night-copy",
                          f"{local_day(NOT_COPIED)}: differs from the source or not copied")
    cut = rows[("C", "tracs/env")][local_day(CUT)]
    assert cut[0] == "scmmonitor-night scmmonitor-night-copy"
    gap = rows[("S", "svn/gap")][local_day(SKIPPED)]
    assert gap == ("scmmonitor-night scmmonitor-night-none", f"{local_day(SKIPPED)}: no backup")
    healthy = rows[("S", "repos/env")]
    assert {cls for cls, _ in list(healthy.values())[-NIGHTS:]} == {
        "scmmonitor-night scmmonitor-night-backup"}
    assert "no backup" in legend and "differs from the source or not copied" in legend
