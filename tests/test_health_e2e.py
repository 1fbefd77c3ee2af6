"""Health end to end: trees planted with one fault each, collected from a real sshd.

Node C holds one series per fault, H1 a healthy tree (in Europe/Zurich time, with the
clutter real nodes have), DEAD listens nowhere. ``scm-monitor collect`` then
``scm-monitor status --format json`` must name each fault with its reason, and nothing
else: a healthy series with any reason at all is a false alarm.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sphinxcontrib_scmmonitor import cli, config
from sphinxcontrib_scmmonitor.checks import evaluate
from sphinxcontrib_scmmonitor.store import Store
from tests.helpers.backups import plant, write_config
from tests.sshd import SshServer, closed_port

HOUR = 3600
DAY = 24 * HOUR
MB = 1024 * 1024


def ssh_node(server: SshServer, root: Path, **extra: Any) -> dict[str, Any]:
    return {"host": server.host, "port": server.port, "user": server.user,
            "identity_file": str(server.identity_file), "known_hosts": str(server.known_hosts),
            "root": str(root), "connect_timeout": 5, "command_timeout": 30, **extra}


def daily(root: Path, series: str, newest_age_h: float, sizes: list[int], *,
          zone: str = "UTC", names: tuple[str, ...] = ("backup.tar.gz",)) -> None:
    """One backup a day ending ``newest_age_h`` hours ago, sizes oldest first; each backup
    split over ``names`` (several files in one dated folder are one backup)."""
    newest = time.time() - newest_age_h * HOUR
    for i, size in enumerate(sizes):
        when = int(newest - (len(sizes) - 1 - i) * DAY)
        for name in names:
            plant(root, series, when, name, size // len(names), zone=zone)


def faulty_tree(root: Path) -> None:
    daily(root, "repos/env", 2, [4 * MB, 4 * MB, 5 * MB])               # healthy
    daily(root, "svn/old", 72, [2 * MB, 2 * MB])                        # stale
    daily(root, "tracs/env", 2, [10 * MB, 10 * MB, 3 * MB])             # shrunk to 30 %
    daily(root, "svn/dybsvn", 2, [5 * MB, 5 * MB, 0])                   # empty
    daily(root, "git/retired", 2, [MB, MB])                             # vanished, later


def healthy_tree(root: Path) -> None:
    zone = "Europe/Zurich"
    daily(root, "repos/env", 1, [3 * MB, 3 * MB + 10, 3 * MB + 20], zone=zone)
    daily(root, "tracs/env", 5, [8 * MB, 9 * MB, 9 * MB], zone=zone,
          names=("env.tar.gz", "env-attachments.tar.gz"))
    daily(root, "svn/dybsvn/trunk", 20, [700 * MB, 710 * MB], zone=zone)
    newest = sorted((root / "repos/env").glob("*/*/*/*"))[-1]
    (root / "repos/env/last").symlink_to(newest.relative_to(root / "repos/env"))
    (root / "stray-undated.tar.gz").write_bytes(b"x")  # counted as unparsed, never an alarm
    (root / "README").write_text("not a backup\n")


@dataclass
class Collected:
    cfg: Path
    settings: config.Settings
    doc: dict[str, Any]
    code: int

    def series(self, node: str) -> dict[str, dict[str, Any]]:
        return {s["name"]: s for s in self.node(node)["series"]}

    def node(self, name: str) -> dict[str, Any]:
        return next(n for n in self.doc["nodes"] if n["node"] == name)


@pytest.fixture(scope="module")
def collected(sshd_session: SshServer, tmp_path_factory: pytest.TempPathFactory) -> Collected:
    folder = tmp_path_factory.mktemp("health")
    c_root, h1_root = folder / "c", folder / "h1"
    faulty_tree(c_root)
    healthy_tree(h1_root)
    cfg = write_config(folder, {
        "C": ssh_node(sshd_session, c_root, select=["repos/env", "svn/missing"]),
        "H1": ssh_node(sshd_session, h1_root, timezone="Europe/Zurich"),
        "DEAD": ssh_node(sshd_session, c_root, port=closed_port(), connect_timeout=3),
    })
    assert cli.main(["-c", str(cfg), "collect", "--progress", "lines"]) == 1  # DEAD failed
    shutil.rmtree(c_root / "git/retired")
    assert cli.main(["-c", str(cfg), "collect", "--progress", "lines"]) == 1

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(["-c", str(cfg), "status", "--format", "json"])
    return Collected(cfg, config.load(cfg), json.loads(out.getvalue()), code)


# --- each fault, with its reason and nothing else --------------------------------------------


def test_every_planted_fault_is_named_and_the_healthy_series_has_no_reason(collected) -> None:
    reasons = {name: s["reasons"] for name, s in collected.series("C").items()}
    assert reasons == {
        "repos/env": [],
        "svn/old": ["stale"],
        "tracs/env": ["shrunk"],
        "svn/dybsvn": ["empty"],
        "svn/missing": ["missing"],
        "git/retired": ["vanished"],
    }
    assert collected.node("C")["reasons"] == []  # reachable and freshly collected


def test_stale_series_is_an_alarm_with_its_age(collected) -> None:
    stale = collected.series("C")["svn/old"]
    assert stale["status"] == "alarm"
    assert stale["age_hours"] == pytest.approx(72, abs=0.2)
    assert stale["details"] == ["newest backup is 3 d old (limit 36 h)"]


def test_shrunk_series_is_a_warning_with_both_sizes(collected) -> None:
    shrunk = collected.series("C")["tracs/env"]
    assert (shrunk["status"], shrunk["size"], shrunk["previous_size"]) == (
        "warn", 3 * MB, 10 * MB)
    # against the median of the (up to) 7 before it (docs/concepts.rst)
    assert shrunk["details"] == ["newest backup is -70 % against the median 10.0 MB of the "
                                 "2 before it (3.0 MB, limit 0.5x)"]


def test_empty_series_is_an_alarm(collected) -> None:
    empty = collected.series("C")["svn/dybsvn"]
    assert (empty["status"], empty["size"], empty["previous_size"]) == ("alarm", 0, 5 * MB)


def test_missing_series_is_an_alarm_naming_hub_and_node(collected) -> None:
    missing = collected.series("C")["svn/missing"]
    assert (missing["status"], missing["count"], missing["newest"]) == ("alarm", 0, None)
    assert missing["details"] == ["selected for hub cms02 but no backup of it on C"]


def test_vanished_series_is_an_alarm_after_its_files_left_the_node(collected) -> None:
    vanished = collected.series("C")["git/retired"]
    assert (vanished["status"], vanished["count"]) == ("alarm", 0)


def test_unreachable_node_carries_the_connection_error(collected) -> None:
    dead = collected.node("DEAD")
    assert dead["status"] == "alarm"
    assert [r["reason"] for r in dead["reasons"]] == ["unreachable", "collector-stale"]
    assert "refused" in dead["reasons"][0]["detail"].lower()
    assert "never collected" in dead["reasons"][1]["detail"]
    assert dead["series"] == []  # nothing is known about its series, so nothing is claimed


def test_healthy_tree_gives_no_reason_at_all(collected, capsys) -> None:
    h1 = collected.node("H1")
    assert (h1["status"], h1["reasons"]) == ("ok", [])
    assert {name: (s["status"], s["reasons"]) for name, s in collected.series("H1").items()} == {
        "repos/env": ("ok", []), "tracs/env": ("ok", []), "svn/dybsvn/trunk": ("ok", [])}
    # both files of a dated folder make one backup
    assert collected.series("H1")["tracs/env"]["size"] == 9 * MB
    assert cli.main(["-c", str(collected.cfg), "status", "H1"]) == 0
    assert capsys.readouterr().out.startswith("SCM BACKUPS OK: 1 node(s) ok")


def test_status_of_the_combined_tree_exits_2(collected) -> None:
    assert collected.code == 2
    assert collected.doc["conclusion"] == "alarm"


def test_collector_stale_when_no_collection_succeeded_within_max_age(collected) -> None:
    store = Store(collected.settings.database)
    report = evaluate(collected.settings, store, ["H1"], now=time.time() + 40 * HOUR)
    store.close()
    (h1,) = report.nodes
    assert [r.reason for r in h1.reasons] == ["collector-stale"]
    assert h1.reasons[0].detail.startswith("no successful collection within 36 h (last one 40 h")


# --- a node that goes away ---------------------------------------------------------------------


def test_a_node_that_stops_answering_is_unreachable_a_warning(sshd: SshServer, tmp_path: Path,
                                                              capsys) -> None:
    root = tmp_path / "b"
    healthy_tree(root)
    cfg = write_config(tmp_path, {"H1": ssh_node(sshd, root, timezone="Europe/Zurich")})
    assert cli.main(["-c", str(cfg), "collect", "--progress", "lines"]) == 0
    sshd.stop()
    assert cli.main(["-c", str(cfg), "collect", "--progress", "lines"]) == 1
    capsys.readouterr()

    assert cli.main(["-c", str(cfg), "status", "--format", "json"]) == 1

    doc = json.loads(capsys.readouterr().out)
    (node,) = doc["nodes"]
    assert [r["reason"] for r in node["reasons"]] == ["unreachable"]
    assert "refused" in node["reasons"][0]["detail"].lower()
    # the backups seen an hour ago are still judged, and are fine
    assert {s["name"]: s["reasons"] for s in node["series"]} == {
        "repos/env": [], "tracs/env": [], "svn/dybsvn/trunk": []}
