"""``<html>/_static/scmmonitor/data/<node>.json``: format 2 (docs/sphinx.rst), HTML-safe, atomic."""

from __future__ import annotations

import calendar
import gzip
import json
import os
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sphinxcontrib_scmmonitor import cli, config, export
from sphinxcontrib_scmmonitor.checks import SEVERITY, check_node
from sphinxcontrib_scmmonitor.store import BackupFile, NodeData, RunInfo, SeriesData
from tests.helpers.backups import (
    DAY,
    build_tree,
    collect,
    html_output,
    plant,
    today_at,
    write_config,
)

ISO_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\Z")


def json_path(outdir: Path, node: str = "C") -> Path:
    return outdir / "_static" / "scmmonitor" / "data" / f"{node}.json"


def run_export(cfg: Path, outdir: Path, *nodes: str) -> int:
    return cli.main(["-c", str(cfg), "export", "--outdir", str(outdir), *nodes])


@pytest.fixture
def collected(tmp_path: Path) -> tuple[Path, dict[bytes, tuple[int, int]]]:
    """A config whose node C was collected once from a real tree; and the tree's files."""
    root = tmp_path / "backup"
    files = build_tree(root)
    cfg = write_config(tmp_path, {"C": {"root": str(root)}},
                       defaults={"select": ["tracs/env", "repos/env", "git/gone"]})
    assert collect(cfg) == 0
    return cfg, files


# --- the format -------------------------------------------------------------------------------


def points(s: dict) -> list[tuple[int, int, int]]:
    """A format-2 series decoded: (epoch seconds, bytes, backups present) per backup time."""
    return list(zip(export.undelta(s["t"]), export.undelta(s["size"]),
                    export.undelta(s["count"]), strict=True))


def test_json_matches_the_documented_format_2(tmp_path, collected, capsys) -> None:
    cfg, _files = collected
    out = html_output(tmp_path)
    assert run_export(cfg, out) == 0
    assert capsys.readouterr().out.splitlines()[-1] == str(json_path(out))

    doc = json.loads(json_path(out).read_text())
    assert list(doc) == ["format", "node", "hub", "source", "timezone", "generated_at",
                         "observed_at", "status", "reasons", "series", "runs"]
    assert doc["format"] == 2
    assert (doc["node"], doc["hub"], doc["source"]) == ("C", "cms02", None)
    assert ISO_Z.match(doc["generated_at"]) and ISO_Z.match(doc["observed_at"])
    assert doc["observed_at"] <= doc["generated_at"]
    assert doc["status"] == "alarm"  # svn/dybsvn is stale, git/gone is missing
    by_name = {s["name"]: s for s in doc["series"]}
    assert set(by_name) == {"tracs/env", "repos/env", "svn/dybsvn", "git/gone"}
    for s in doc["series"]:
        assert list(s) == ["name", "status", "retired", "reasons", "t", "size", "count"]
        assert s["status"] in ("ok", "warn", "alarm")
        assert len(s["t"]) == len(s["size"]) == len(s["count"])
        assert all(t > 0 for t in s["t"][1:])  # strictly ascending
        for r in s["reasons"]:
            assert list(r) == ["reason", "level", "detail", "at"]
            assert r["level"] == SEVERITY[r["reason"]]
    assert by_name["tracs/env"]["status"] == "ok"
    [stale] = by_name["svn/dybsvn"]["reasons"]
    assert (stale["reason"], stale["level"]) == ("stale", "alarm")
    assert stale["detail"].startswith("newest backup is ")
    [missing] = by_name["git/gone"]["reasons"]
    assert missing["reason"] == "missing" and by_name["git/gone"]["t"] == []
    [run] = doc["runs"]
    assert set(run) == {"at", "ok", "error"} and run["ok"] is True and run["error"] is None
    assert run["at"] == calendar.timegm(time.strptime(doc["observed_at"], "%Y-%m-%dT%H:%M:%SZ"))


def test_the_gz_beside_every_file_holds_the_same_bytes(tmp_path, collected) -> None:
    cfg, _files = collected
    out = html_output(tmp_path)
    assert run_export(cfg, out) == 0
    raw = json_path(out).read_bytes()
    packed = json_path(out).with_name("C.json.gz").read_bytes()
    assert gzip.decompress(packed) == raw
    assert packed == gzip.compress(raw, 9, mtime=0)  # level 9, no timestamp: reproducible
    assert sorted(os.listdir(json_path(out).parent)) == ["C.json", "C.json.gz"]
    for path in (json_path(out), json_path(out).with_name("C.json.gz")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_node_reasons_carry_their_level_and_the_hub_source_is_named(tmp_path) -> None:
    data = NodeData(name="C", hub="cms02", series=[], runs=[
        RunInfo(NOW - 7200, NOW - 7100, "ok", None, "local", 0, 0),
        RunInfo(NOW - 600, NOW - 590, "failed", "timed out after 10 s", "local", 0, 0)])
    doc = export.node_document(NODE, data, check_node(NODE, data, NOW), NOW, source="S")
    assert doc["source"] == "S"
    assert doc["observed_at"] == export.iso(NOW - 7100)
    # its good listing held nothing: that is no-backups (docs/concepts.rst)
    assert [(r["reason"], r["level"]) for r in doc["reasons"]] == [("unreachable", "warn"),
                                                                   ("no-backups", "alarm")]
    assert doc["reasons"][0] == {"reason": "unreachable", "level": "warn",
                                 "detail": "timed out after 10 s", "at": []}
    assert [(r["at"], r["ok"]) for r in doc["runs"]] == [(NOW - 590, False)]


def test_data_is_seconds_and_bytes_strictly_ascending_and_summed(tmp_path, collected) -> None:
    cfg, files = collected
    out = html_output(tmp_path)
    assert run_export(cfg, out) == 0
    doc = json.loads(json_path(out).read_text())
    expected: dict[str, dict[int, int]] = {}
    for path, (size, at) in files.items():
        series = path.split(b"/backup/")[1].rsplit(b"/", 5)[0].decode()
        expected.setdefault(series, {})
        expected[series][at] = expected[series].get(at, 0) + size
    for s in doc["series"]:
        times = [t for t, _v, _n in points(s)]
        assert times == sorted(set(times)), s["name"]
        if s["name"] in expected:
            assert [(t, v) for t, v, _n in points(s)] == sorted(expected[s["name"]].items())
    repos = next(s for s in doc["series"] if s["name"] == "repos/env")
    assert points(repos) == [(today_at() - DAY, 77 + 23, 1)]
    tracs = next(s for s in doc["series"] if s["name"] == "tracs/env")
    assert all(size > 5 * 2**30 for _t, size, _n in points(tracs))  # bytes, not KiB or blocks
    assert points(tracs)[-1][2] == 5


def test_failed_runs_become_flags_with_their_error(tmp_path, collected) -> None:
    cfg, _files = collected
    root = tmp_path / "backup"
    root.rename(tmp_path / "away")
    assert collect(cfg) == 1
    (tmp_path / "away").rename(root)
    assert collect(cfg) == 0
    out = html_output(tmp_path)
    assert run_export(cfg, out) == 0
    runs = json.loads(json_path(out).read_text())["runs"]
    assert [(r["ok"], r["error"]) for r in runs] == [
        (False, f"backup root {root} does not exist or is not a folder"), (True, None)]
    assert runs[0]["at"] <= runs[1]["at"] <= time.time()  # epoch seconds, not ms


def test_node_never_collected_exports_an_empty_chart(tmp_path) -> None:
    cfg = write_config(tmp_path, {"C": {"root": "/nowhere"}})
    out = html_output(tmp_path)
    assert run_export(cfg, out) == 0
    doc = json.loads(json_path(out).read_text())
    assert (doc["series"], doc["runs"], doc["status"]) == ([], [], "alarm")


def test_collect_with_export_writes_the_json_too(tmp_path) -> None:
    root = tmp_path / "b"
    plant(root, "repos/env", today_at(), "env.tar.gz", 42)
    cfg = write_config(tmp_path, {"C": {"root": str(root)}, "H1": {"root": str(root)}})
    out = html_output(tmp_path)
    assert collect(cfg, "--export", str(out)) == 0
    for node in ("C", "H1"):
        doc = json.loads(json_path(out, node).read_text())
        assert points(doc["series"][0]) == [(today_at(), 42, 1)]
        assert json_path(out, node).with_name(f"{node}.json.gz").is_file()


def test_export_of_named_nodes_only(tmp_path) -> None:
    cfg = write_config(tmp_path, {"C": {"root": "/x"}, "H1": {"root": "/y"}})
    out = html_output(tmp_path)
    assert run_export(cfg, out, "H1") == 0
    assert sorted(os.listdir(json_path(out).parent)) == ["H1.json", "H1.json.gz"]
    assert run_export(cfg, out, "nope") == 2


# --- hostile names are data, never markup ------------------------------------------------------

HOSTILE_SERIES = [
    ("<script>alert(1)<", "script>"),          # a name that closes a script tag
    ("a&amp;b>c\"'",),
    ("x\u2028y\u2029z",),                        # JS line terminators
    ("`${document.cookie}`",),
]


def test_hostile_series_names_are_escaped_and_round_trip(tmp_path) -> None:
    root = tmp_path / "b"
    names = ["/".join(parts) for parts in HOSTILE_SERIES]
    for name in names:
        plant(root, name, today_at(), "x.tar.gz", 1)
    plant(root, b"bad-\xff", today_at(), "x.tar.gz", 1)
    cfg = write_config(tmp_path, {"C": {"root": str(root)}})
    assert collect(cfg) == 0
    out = html_output(tmp_path)
    assert run_export(cfg, out) == 0

    raw = json_path(out).read_bytes()
    assert raw.isascii()
    for ch in (b"<", b">", b"&"):
        assert ch not in raw
    assert b"\\u003c/script\\u003e" in raw
    assert b"\\u2028" in raw and b"\\u2029" in raw
    got = {s["name"] for s in json.loads(raw)["series"]}
    assert got == {*names, "bad-\\xff"}


# --- written atomically ------------------------------------------------------------------------


def test_file_mode_is_0644_whatever_the_umask(tmp_path, collected) -> None:
    cfg, _files = collected
    out = html_output(tmp_path)
    old = os.umask(0o077)
    try:
        assert run_export(cfg, out) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(json_path(out).stat().st_mode) == 0o644


@pytest.mark.parametrize("umask", [0o000, 0o077])
def test_folders_the_export_makes_are_0755_whatever_the_umask(tmp_path, collected, umask) -> None:
    cfg, _files = collected
    out = html_output(tmp_path)  # a built site: Sphinx made _static/
    old = os.umask(umask)
    try:
        assert run_export(cfg, out) == 0
    finally:
        os.umask(old)
    # the web server (another user) must read them; nobody else may write into them
    for folder in (out / "_static" / "scmmonitor", json_path(out).parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o755, folder


def test_rewrite_replaces_the_file_and_leaves_no_temporary_files(tmp_path, collected) -> None:
    cfg, _files = collected
    out = html_output(tmp_path)
    assert run_export(cfg, out) == 0
    inode = json_path(out).stat().st_ino
    assert run_export(cfg, out) == 0
    assert json_path(out).stat().st_ino != inode  # a new file renamed over, not rewritten
    assert sorted(os.listdir(json_path(out).parent)) == ["C.json", "C.json.gz"]


_LIMITED_EXPORT = """\
import resource, signal, sys
from sphinxcontrib_scmmonitor import config
from sphinxcontrib_scmmonitor.export import ExportError, export
from sphinxcontrib_scmmonitor.store import Store

settings = config.load(sys.argv[1])
store = Store(settings.database)
store.node_data("C")  # the store is open and read before the limit: only the export is limited
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
limit = int(sys.argv[3])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
try:
    export(settings, store, sys.argv[2])
except ExportError as exc:
    print(exc)
    sys.exit(3)
"""


def test_disk_full_leaves_the_old_file_intact_with_a_clear_error(tmp_path, collected) -> None:
    cfg, _files = collected
    out = html_output(tmp_path)
    assert run_export(cfg, out) == 0
    old = json_path(out).read_bytes()
    (tmp_path / "backup/tracs/env/new/2030/01/01/000000").mkdir(parents=True)
    (tmp_path / "backup/tracs/env/new/2030/01/01/000000/x.gz").write_bytes(b"1")
    assert collect(cfg) == 0

    proc = subprocess.run([sys.executable, "-c", _LIMITED_EXPORT, str(cfg), str(out), "64"],
                          capture_output=True, text=True, timeout=60)

    assert proc.returncode == 3, proc.stderr
    assert proc.stdout == (f"cannot write {json_path(out)}: File too large; "
                           "the previous file is unchanged\n")
    assert json_path(out).read_bytes() == old
    assert sorted(os.listdir(json_path(out).parent)) == ["C.json", "C.json.gz"]


def test_unwritable_data_folder_is_a_clear_error_exit_2(tmp_path, collected, capsys) -> None:
    cfg, _files = collected
    out = html_output(tmp_path)
    (out / "_static" / "scmmonitor").write_text("a file where a folder should be")
    assert run_export(cfg, out) == 2
    err = capsys.readouterr().err
    assert err.startswith("scm-monitor: export failed: cannot create ")
    assert str(out / "_static" / "scmmonitor" / "data") in err
    assert (out / "_static" / "scmmonitor").read_text() == "a file where a folder should be"


def test_write_atomic_writes_utf8_and_keeps_the_old_file_on_an_encoding_error(tmp_path) -> None:
    target = tmp_path / "d" / "status.txt"
    export.write_atomic(target, "grüezi <ok>\n")
    assert target.read_bytes() == "grüezi <ok>\n".encode()
    with pytest.raises(export.ExportError, match="the previous file is unchanged"):
        export.write_atomic(target, "lone \udcff surrogate")  # fails before the rename
    assert target.read_text() == "grüezi <ok>\n"
    assert os.listdir(target.parent) == ["status.txt"]


# --- round trip of random series ---------------------------------------------------------------

NODE = config.parse({"hubs": {"cms02": {}},
                     "nodes": {"C": {"hub": "cms02", "host": "local", "root": "/b"}}}).node("C")
NOW = 1_800_000_000.0

backup = st.builds(lambda at, size, gone: (at, size, None if gone is None else at + gone),
                   st.integers(0, 2**33), st.integers(0, 2**53),
                   st.one_of(st.none(), st.integers(0, 2**20)))
series_map = st.dictionaries(st.text(max_size=24), st.lists(backup, max_size=12), max_size=5)
run_info = st.builds(
    lambda start, dur, state, error: RunInfo(start, start + dur, state,
                                             error if state != "ok" else None, "local", 0, 0),
    st.floats(0, 2e9, allow_nan=False), st.floats(0, 1e4, allow_nan=False),
    st.sampled_from(["ok", "failed", "interrupted"]), st.text(max_size=30))


def expected_points(backups: list[tuple[int, int, int | None]]) -> list[tuple[int, int, int]]:
    """What the store holds, worked out the slow way: per backup time the summed size and
    the dated folders present just after it (a folder is gone when all its files are)."""
    size: dict[int, int] = {}
    gone: dict[int, list[int | None]] = {}
    for at, nbytes, gone_at in backups:
        size[at] = size.get(at, 0) + nbytes
        gone.setdefault(at, []).append(gone_at)
    ended = {at: None if None in g else max(g) for at, g in gone.items()}  # type: ignore[type-var]
    return [(t, size[t], sum(1 for at, end in ended.items()
                             if at <= t and (end is None or end > t))) for t in sorted(size)]


@settings(max_examples=500, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(series=series_map, runs=st.lists(run_info, max_size=5).map(
    lambda rs: sorted(rs, key=lambda r: r.started_at)))
def test_random_histories_round_trip_through_format_2(tmp_path_factory, series, runs) -> None:
    data = NodeData(name="C", hub="cms02", runs=runs, series=[
        SeriesData(name=name, raw_name=name.encode(),
                   backups=[BackupFile(*x) for x in sorted(b, key=lambda x: x[0])])
        for name, b in sorted(series.items())])
    status = check_node(NODE, data, NOW)
    doc = export.node_document(NODE, data, status, NOW)
    path = tmp_path_factory.getbasetemp() / "fuzz" / "C.json"
    export.write_document(path, doc)

    raw = path.read_bytes()
    assert raw.isascii() and gzip.decompress(path.with_name("C.json.gz").read_bytes()) == raw
    assert not any(ch in raw for ch in (b"<", b">", b"&"))
    back = json.loads(raw)
    assert back == json.loads(json.dumps(doc))  # nothing lost or changed by the HTML escaping
    assert (back["format"], back["generated_at"]) == (2, "2027-01-15T08:00:00Z")
    assert [s["name"] for s in back["series"]] == sorted(series)
    for s in back["series"]:
        assert points(s) == expected_points(series[s["name"]])
        assert all(dt > 0 for dt in s["t"][1:])
        assert all(n >= 0 for _t, _v, n in points(s))
    for got, want in zip(back["series"], status.series, strict=False):
        if got["name"] == want.name:
            assert got["reasons"] == [{"reason": r.reason, "level": SEVERITY[r.reason],
                                       "detail": r.detail, "at": list(r.at)}
                                      for r in want.reasons]
    flagged = [r for r in runs if not r.ok] + ([runs[-1]] if runs and runs[-1].ok else [])
    assert [(r["ok"], r["error"]) for r in back["runs"]] == [(r.ok, r.error) for r in flagged]
    assert all(isinstance(r["at"], int) for r in back["runs"])
