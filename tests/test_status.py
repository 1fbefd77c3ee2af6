"""``scm-monitor status``: every format, read back by a real parser, and the Nagios exit codes.

The store is a real SQLite file filled by the real collector from generated trees
(``host = "local"`` nodes), so the statuses are the ones an operator would see.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from docutils.core import publish_doctree
from prometheus_client.parser import text_string_to_metric_families

from sphinxcontrib_scmmonitor import cli, config, status
from sphinxcontrib_scmmonitor.checks import Report, evaluate
from sphinxcontrib_scmmonitor.checks.reasons import SEVERITY
from sphinxcontrib_scmmonitor.collect import collect_all
from sphinxcontrib_scmmonitor.store import Store
from tests.helpers.backups import plant, write_config

HOUR = 3600
DAY = 24 * HOUR
VENV_BIN = Path(sys.executable).parent
#: a directory name can hold anything but "/" and NUL: quotes, backslashes, newlines, markup
HOSTILE = 'odd/we"ird\\name\nwith <b>*markup*</b> |x|_'


def daily(root: Path, series: str | bytes, newest: float, sizes: list[int],
          name: str = "backup.tar.gz") -> None:
    """Backups one day apart ending at ``newest``, with ``sizes`` oldest first."""
    for i, size in enumerate(sizes):
        plant(root, series, int(newest - (len(sizes) - 1 - i) * DAY), name, size)


def collected(tmp_path: Path, trees: dict[str, Path], **node_keys: Any) -> config.Settings:
    """Config with one local node per tree, collected once into a fresh store."""
    cfg = write_config(tmp_path, {name: {"root": str(root), **node_keys}
                                  for name, root in trees.items()})
    settings = config.load(cfg)
    store = Store(settings.database)
    store.ensure_schema()
    results = collect_all(store, list(settings.nodes.values()))
    store.close()
    assert all(r.ok for r in results), results
    return settings


@pytest.fixture
def mixed(tmp_path: Path) -> tuple[config.Settings, Report]:
    """Node C with a healthy, a shrunk, a stale and a hostile-named series; node H1 healthy."""
    now = time.time()
    c, h1 = tmp_path / "c", tmp_path / "h1"
    daily(c, "tracs/env", now - 2 * HOUR, [1000, 1100, 1200])
    daily(c, "repos/env", now - 3 * HOUR, [10_000, 3_000])
    daily(c, "svn/dybsvn", now - 3 * DAY, [500, 500])
    daily(c, HOSTILE, now - HOUR, [77, 77])
    daily(h1, "tracs/env", now - HOUR, [1000, 1000])
    settings = collected(tmp_path, {"C": c, "H1": h1})
    store = Store(settings.database)
    report = evaluate(settings, store)
    store.close()
    return settings, report


def by_series(report: Report, node: str) -> dict[str, Any]:
    return {s.name: s for s in report.node(node).series}


# --- text ----------------------------------------------------------------------------------------


def test_text_is_a_table_with_one_line_per_series_headed_by_the_nagios_word(mixed) -> None:
    _settings, report = mixed
    out = status.render(report, "text")
    lines = out.splitlines()
    assert lines[0] == "SCM BACKUPS CRITICAL: C alarm"
    assert lines[2].split() == ["Node", "Series", "Status", "Newest", "Size", "Change", "Reason"]
    body = [line for line in lines[4:] if line and not line.startswith("checked ")]
    assert len(body) == 5  # 4 series on C, 1 on H1: a newline in a name makes no extra line
    shrunk = next(line for line in body if "repos/env" in line)
    assert shrunk.split()[:3] == ["C", "repos/env", "warn"]
    assert "-70.0 %" in shrunk and "shrunk: newest backup is -70 %" in shrunk
    assert 'odd/we"ird\\name\\x0awith' in out
    # every row's status column starts at the same place, hostile name or not
    column = lines[2].index("Status")
    assert {line[column:column + 5].strip() for line in body} <= {"ok", "warn", "alarm"}


def test_text_of_a_healthy_store_says_ok(tmp_path: Path) -> None:
    root = tmp_path / "b"
    daily(root, "tracs/env", time.time() - HOUR, [5, 6])
    settings = collected(tmp_path, {"C": root})
    store = Store(settings.database)
    out = status.render(evaluate(settings, store), "text")
    store.close()
    assert out.startswith("SCM BACKUPS OK: 1 node(s) ok\n")
    assert "alarm" not in out and "warn" not in out


# --- json ----------------------------------------------------------------------------------------


def test_json_has_conclusion_nodes_and_series_with_their_numbers(mixed) -> None:
    _settings, report = mixed
    doc = json.loads(status.render(report, "json"))
    assert (doc["conclusion"], doc["exit_code"]) == ("alarm", 2)
    assert doc["generated_at"].endswith("Z")
    nodes = {n["node"]: n for n in doc["nodes"]}
    assert (nodes["C"]["status"], nodes["C"]["reasons"]) == ("alarm", [])
    assert (nodes["H1"]["status"], nodes["H1"]["hub"]) == ("ok", "cms02")
    assert nodes["C"]["last_run_ok"] is True and nodes["C"]["last_good_run"].endswith("Z")
    series = {s["name"]: s for s in nodes["C"]["series"]}
    assert set(series) == {"tracs/env", "repos/env", "svn/dybsvn", HOSTILE}
    assert {k: series["repos/env"][k] for k in ("status", "reasons", "size", "previous_size",
                                                 "count")} == {
        "status": "warn", "reasons": ["shrunk"], "size": 3000, "previous_size": 10_000,
        "count": 2}
    assert series["svn/dybsvn"]["status"] == "alarm"
    assert series["svn/dybsvn"]["reasons"] == ["stale"]
    assert series["svn/dybsvn"]["age_hours"] == pytest.approx(72, abs=0.1)
    assert "limit 36 h" in series["svn/dybsvn"]["details"][0]
    healthy = series["tracs/env"]
    assert (healthy["status"], healthy["reasons"], healthy["size"]) == ("ok", [], 1200)
    assert healthy["newest"] == time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(by_series(report, "C")["tracs/env"].newest))
    assert series[HOSTILE]["status"] == "ok"  # the name survives JSON exactly


# --- rst -----------------------------------------------------------------------------------------


def test_rst_is_a_list_table_docutils_reads_back_cell_for_cell(mixed) -> None:
    _settings, report = mixed
    doctree = publish_doctree(status.render(report, "rst"),
                              settings_overrides={"report_level": 2, "halt_level": 2})
    rows = [[entry.astext() for entry in row.findall(lambda n: n.tagname == "entry")]
            for row in doctree.findall(lambda n: n.tagname == "row")]
    assert rows[0] == ["Node", "Series", "Status", "Newest", "Size", "Change", "Reason"]
    by_name = {row[1]: row for row in rows[1:]}
    # markup in a name stays text: no emphasis, no substitution, no reference
    assert 'odd/we"ird\\name\\x0awith <b>*markup*</b> |x|_' in by_name
    assert by_name["repos/env"][2] == "WARN"
    assert not list(doctree.findall(lambda n: n.tagname in ("emphasis", "reference",
                                                            "substitution_reference")))


@pytest.mark.parametrize("name", ["- looks like a list", "1. enumerated", "(a) enumerated",
                                  ".. a comment", "=====", "a::", "+ plus"])
def test_rst_cells_starting_like_block_markup_stay_plain_text(tmp_path: Path, name: str) -> None:
    root = tmp_path / "b"
    daily(root, name, time.time() - HOUR, [5, 5])
    settings = collected(tmp_path, {"C": root})
    store = Store(settings.database)
    doctree = publish_doctree(status.render(evaluate(settings, store), "rst"),
                              settings_overrides={"report_level": 2, "halt_level": 2})
    store.close()
    cells = [e.astext() for e in doctree.findall(lambda n: n.tagname == "entry")]
    assert name in cells
    assert not list(doctree.findall(lambda n: n.tagname in ("bullet_list", "enumerated_list",
                                                            "comment", "literal_block")))


# --- prometheus ----------------------------------------------------------------------------------


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        assert family.type == "gauge", family.name
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def key(metric: str, node: str, series: str | None = None) -> tuple[str, tuple[tuple[str, str],
                                                                               ...]]:
    labels = {"hub": "cms02", "node": node, **({"series": series} if series else {})}
    return metric, tuple(sorted(labels.items()))


def test_prometheus_text_parses_with_the_reference_parser(mixed) -> None:
    _settings, report = mixed
    got = samples(status.render(report, "prometheus"))
    s = by_series(report, "C")
    assert got[key("scmmonitor_backup_status", "C", "repos/env")] == 1
    assert got[key("scmmonitor_backup_status", "C", "svn/dybsvn")] == 2
    assert got[key("scmmonitor_backup_status", "C", "tracs/env")] == 0
    assert got[key("scmmonitor_backup_count", "C", "tracs/env")] == 3
    assert got[key("scmmonitor_backup_newest_size_bytes", "C", "repos/env")] == 3000
    assert got[key("scmmonitor_backup_newest_timestamp_seconds", "C", "tracs/env")] == \
        s["tracs/env"].newest
    assert got[key("scmmonitor_backup_newest_age_seconds", "C", "svn/dybsvn")] == \
        pytest.approx(report.generated_at - s["svn/dybsvn"].newest)
    assert got[key("scmmonitor_node_status", "C")] == 2
    assert got[key("scmmonitor_node_status", "H1")] == 0
    assert got[key("scmmonitor_node_last_run_success", "H1")] == 1
    assert got[key("scmmonitor_node_last_success_timestamp_seconds", "H1")] == \
        pytest.approx(report.node("H1").last_good_at)


def test_prometheus_labels_round_trip_quotes_backslashes_and_newlines(mixed) -> None:
    _settings, report = mixed
    got = samples(status.render(report, "prometheus"))
    assert got[key("scmmonitor_backup_count", "C", HOSTILE)] == 2
    names = {dict(labels).get("series") for _metric, labels in got}
    assert HOSTILE in names


def test_prometheus_of_a_node_never_collected_has_no_success_time(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, {"C": {"root": str(tmp_path / "nothing")}})
    settings = config.load(cfg)
    store = Store(settings.database)
    store.ensure_schema()
    got = samples(status.render(evaluate(settings, store), "prometheus"))
    store.close()
    findings = {k: v for k, v in got.items() if k[0] == "scmmonitor_findings"}
    assert {k: v for k, v in got.items() if k not in findings} == {
        key("scmmonitor_node_status", "C"): 2}
    # every reason of the node is a gauge (stable labels), only its own finding is 1
    assert {dict(k[1])["reason"]: v for k, v in findings.items()} == {
        reason: int(reason == "collector-stale") for reason in SEVERITY}


# --- the command: exit codes and --output --------------------------------------------------------


@pytest.fixture
def trees(tmp_path: Path) -> dict[str, Path]:
    """One tree per outcome: ok, warn (shrunk), alarm (stale)."""
    now = time.time()
    out = {name: tmp_path / name for name in ("ok", "warn", "alarm")}
    daily(out["ok"], "tracs/env", now - HOUR, [100, 100])
    daily(out["warn"], "tracs/env", now - HOUR, [100, 10])
    daily(out["alarm"], "tracs/env", now - 2 * DAY, [100, 100])
    return out


@pytest.mark.parametrize(("tree", "code", "word"), [("ok", 0, "OK"), ("warn", 1, "WARNING"),
                                                    ("alarm", 2, "CRITICAL")])
def test_status_exits_with_the_nagios_code_of_the_conclusion(tmp_path: Path, trees, capsys,
                                                             tree: str, code: int,
                                                             word: str) -> None:
    settings = collected(tmp_path, {"C": trees[tree]})
    assert settings.path is not None
    assert cli.main(["-c", str(settings.path), "status"]) == code
    assert capsys.readouterr().out.startswith(f"SCM BACKUPS {word}: ")
    assert cli.main(["-c", str(settings.path), "status", "--format", "json"]) == code
    assert json.loads(capsys.readouterr().out)["exit_code"] == code


def test_status_of_one_node_judges_only_that_node(tmp_path: Path, trees, capsys) -> None:
    settings = collected(tmp_path, {"A": trees["ok"], "B": trees["alarm"]})
    cfg = str(settings.path)
    assert cli.main(["-c", cfg, "status", "A"]) == 0
    assert cli.main(["-c", cfg, "status", "B"]) == 2
    assert cli.main(["-c", cfg, "status"]) == 2


def test_status_3_when_the_database_is_not_a_database(tmp_path: Path, capsys) -> None:
    (tmp_path / "store.db").write_bytes(b"this is a text file, not SQLite " * 40)
    cfg = write_config(tmp_path, {"C": {"root": str(tmp_path)}})
    for fmt in ("text", "json", "prometheus"):
        assert cli.main(["-c", str(cfg), "status", "--format", fmt]) == 3
        out = capsys.readouterr().out
        assert out.startswith("SCM BACKUPS UNKNOWN: cannot read the store: ")
        assert "file is not a database" in out


def test_status_3_when_the_database_path_runs_through_a_file(tmp_path: Path, capsys) -> None:
    (tmp_path / "plain-file").write_text("")
    cfg = write_config(tmp_path, {"C": {"root": str(tmp_path)}},
                       database="sqlite:///plain-file/sub/store.db")
    assert cli.main(["-c", str(cfg), "status"]) == 3
    assert "Not a directory" in capsys.readouterr().out


def test_status_3_when_the_database_folder_does_not_exist(tmp_path: Path, capsys) -> None:
    cfg = write_config(tmp_path, {"C": {"root": str(tmp_path)}},
                       database="sqlite:///no/such/folder/store.db")
    assert cli.main(["-c", str(cfg), "status"]) == 3
    assert not (tmp_path / "no").exists()


def test_output_replaces_the_file_atomically_by_rename(tmp_path: Path, trees, capsys) -> None:
    settings = collected(tmp_path, {"C": trees["warn"]})
    target = tmp_path / "textfile" / "scmmonitor.prom"
    target.parent.mkdir()
    target.write_text("old content\n")
    # a reader that opened the old file keeps reading whole old content: the new file is a
    # different inode put in place by rename, never the old one rewritten in place
    old_link = tmp_path / "reader-still-has-this"
    os.link(target, old_link)

    code = cli.main(["-c", str(settings.path), "status", "--format", "prometheus",
                     "--output", str(target)])

    assert code == 1
    assert capsys.readouterr().out == ""
    assert old_link.read_text() == "old content\n"
    assert os.stat(target).st_ino != os.stat(old_link).st_ino
    assert samples(target.read_text())[key("scmmonitor_backup_status", "C", "tracs/env")] == 1
    assert sorted(p.name for p in target.parent.iterdir()) == ["scmmonitor.prom"]  # no temp
    assert os.stat(target).st_mode & 0o777 == 0o644  # node_exporter runs as another user


def test_installed_script_reports_prometheus_and_the_exit_code(tmp_path: Path, trees) -> None:
    settings = collected(tmp_path, {"C": trees["alarm"]})
    proc = subprocess.run([str(VENV_BIN / "scm-monitor"), "-c", str(settings.path), "status",
                           "--format", "prometheus"], capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2, proc.stderr
    assert samples(proc.stdout)[key("scmmonitor_node_status", "C")] == 2
    assert proc.stderr == ""


# --- hostile label values, and when the data was observed ----------------------------------------

#: every kind of character a directory name can carry that a scraper must never get raw
CONTROL = "esc\x1b[31m cr\r tab\t del\x7f nel\x85 ls\u2028 bs\\ quote\" nl\nend"


def pure_report(now: float) -> Report:
    """A report judged from built data (no store): node C listed an hour ago, H1 never."""
    from sphinxcontrib_scmmonitor.checks import NodeStatus, SeriesStatus

    c = NodeStatus(node="C", hub="cms02", observed_at=now - HOUR, last_run_ok=True,
                   series=[SeriesStatus(name=CONTROL, newest=int(now - 2 * HOUR), size=5,
                                        count=1)])
    return Report(generated_at=now, nodes=[c, NodeStatus(node="H1", hub="cms02")])


def test_prometheus_labels_escape_or_spell_out_every_control_character() -> None:
    text = status.render(pure_report(time.time()), "prometheus")

    # nothing but the line breaks between samples is a control character
    assert all(line.isprintable() for line in text.split("\n")), text
    got = samples(text)
    names = {dict(labels)["series"] for _metric, labels in got if "series" in dict(labels)}
    assert names == {"esc\\x1b[31m cr\\x0d tab\\x09 del\\x7f nel\\x85 ls\\u2028 bs\\ quote\" "
                     "nl\nend"}


def test_every_format_says_when_each_node_was_observed() -> None:
    now = 1_764_331_200.0  # 2025-11-28 12:00 UTC
    report = pure_report(now)
    seen = "2025-11-28T11:00:00Z"

    last = status.render(report, "text").splitlines()[-1]
    assert last == f"checked 2025-11-28T12:00:00Z; observed C {seen}, H1 never"

    doc = json.loads(status.render(report, "json"))
    assert doc["observed_at"] == seen
    assert [(n["node"], n["observed_at"]) for n in doc["nodes"]] == [("C", seen), ("H1", None)]

    doctree = publish_doctree(status.render(report, "rst"),
                              settings_overrides={"report_level": 2, "halt_level": 2})
    (title,) = [t.astext() for t in doctree.findall(lambda n: n.tagname == "title")]
    assert title == (f"Backup status (OK, checked 2025-11-28T12:00:00Z, observed C {seen}, "
                     "H1 never)")

    got = samples(status.render(report, "prometheus"))
    assert got[key("scmmonitor_node_observed_timestamp_seconds", "C")] == now - HOUR
    assert key("scmmonitor_node_observed_timestamp_seconds", "H1") not in got


# --- status is a Nagios plugin: a config problem is UNKNOWN --------------------------------------


@pytest.mark.parametrize("doc", [
    {"nodes": {"C": {"hub": "cms02", "host": "local", "root": "relative"}}, "hubs": {"cms02": {}}},
    {"nodes": {"C": {"hub": "cms02", "host": "", "root": "/srv"}}, "hubs": {"cms02": {}}},
    "this is = not toml",
], ids=["relative-root", "empty-host", "not-toml"])
def test_status_3_with_one_line_on_a_config_error(tmp_path: Path, capsys, doc: Any) -> None:
    from tests.helpers.config_files import write

    path = write(tmp_path, doc, "bad.toml")
    for fmt in ("text", "prometheus"):
        assert cli.main(["-c", str(path), "status", "--format", fmt]) == 3
        out, err = capsys.readouterr()
        assert out.startswith(f"SCM BACKUPS UNKNOWN: config error: {path}: "), out
        assert out.count("\n") == 1 and err == ""


def test_status_3_for_a_missing_config_file(tmp_path: Path, capsys) -> None:
    assert cli.main(["-c", str(tmp_path / "nope.toml"), "status"]) == 3
    assert capsys.readouterr().out.startswith("SCM BACKUPS UNKNOWN: config error: ")


def test_installed_script_exits_3_on_a_config_error(tmp_path: Path) -> None:
    from tests.helpers.config_files import minimal, write

    path = write(tmp_path, minimal(pattern=""), "bad.toml")
    proc = subprocess.run([str(VENV_BIN / "scm-monitor"), "-c", str(path), "status"],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert (proc.returncode, proc.stderr) == (3, "")
    assert proc.stdout == (f"SCM BACKUPS UNKNOWN: config error: {path}: nodes.C.pattern: "
                           "must not be empty\n")


# --- the holes that once said OK, through the real collector -------------------------------------


def status_of(tmp_path: Path, root: Path, capsys, **node_keys: Any) -> tuple[int, str]:
    cfg = write_config(tmp_path, {"C": {"root": str(root), **node_keys}})
    assert cli.main(["-c", str(cfg), "collect", "--progress", "lines"]) == 0
    capsys.readouterr()
    code = cli.main(["-c", str(cfg), "status"])
    return code, capsys.readouterr().out


@pytest.mark.parametrize(("case", "node_keys", "words"), [
    ("empty-root", {}, ["no file matches pattern '*.gz'"]),
    ("tgz-against-tar-gz", {"pattern": "*.tgz"}, ["no file matches pattern '*.tgz'"]),
    ("wrong-date-layout", {"date_layout": "%Y-%m-%d"},
     ["2 file(s) match pattern '*.gz' but 2 have no date part in date_layout '%Y-%m-%d'",
      "/tracs/env/"]),
])
def test_a_node_whose_listing_holds_no_backup_is_critical(tmp_path: Path, capsys, case: str,
                                                          node_keys: dict[str, Any],
                                                          words: list[str]) -> None:
    root = tmp_path / "backup"
    root.mkdir()
    if case != "empty-root":
        daily(root, "tracs/env", time.time() - HOUR, [100, 100], name="env.tar.gz")

    code, out = status_of(tmp_path, root, capsys, **node_keys)

    assert code == 2, out
    assert out.startswith("SCM BACKUPS CRITICAL: C alarm")
    line = next(line for line in out.splitlines() if "no-backups" in line)
    assert "held no backup" in line and str(root) in line
    for word in words:
        assert word in line


def test_a_future_dated_folder_does_not_hide_a_dead_series(tmp_path: Path, capsys) -> None:
    root = tmp_path / "backup"
    now = time.time()
    daily(root, "repo", now - 3 * DAY, [100, 100], name="repo.tar.gz")
    plant(root, "repo", int(now + 200 * DAY), "repo.tar.gz", 100)

    code, out = status_of(tmp_path, root, capsys)

    assert code == 2, out
    row = next(line for line in out.splitlines() if line.startswith("C "))
    assert row.split()[:4] == ["C", "repo", "alarm", "3"]  # the newest is 3 d old
    assert "future: repo/" in row and "(200 d ahead)" in row and "stale: " in row


def test_a_zero_byte_file_in_a_two_file_backup_is_critical(tmp_path: Path, capsys) -> None:
    root = tmp_path / "backup"
    now = int(time.time())
    for when, trac in ((now - DAY - HOUR, 1_000_000), (now - HOUR, 0)):
        plant(root, "cms02/env", when, "svn.tar.gz", 9_000_000)
        plant(root, "cms02/env", when, "trac.tar.gz", trac)

    code, out = status_of(tmp_path, root, capsys)

    assert code == 2, out
    folder = time.strftime("%Y/%m/%d/%H%M%S", time.gmtime(now - HOUR))
    assert (f"empty: cms02/env/{folder}/trac.tar.gz has 0 bytes (1 of the 2 files of the "
            "newest backup)") in out
