"""``host = "local"``: the collector over a real file tree into a real SQLite store.

The tree, config and store helpers are tests/helpers/backups.py, shared with the
store, export and CLI tests.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sphinxcontrib_scmmonitor import config
from sphinxcontrib_scmmonitor.collect import collect_node
from sphinxcontrib_scmmonitor.store import Store
from tests.helpers.backups import (
    build_tree,
    collect,
    plant,
    present,
    runs,
    today_at,
    write_config,
)


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, dict[bytes, tuple[int, int]]]:
    root = tmp_path / "backup" / "cms02"
    return root, build_tree(root)


# --- the tree collected -----------------------------------------------------------------------


def test_collect_stores_exact_byte_sizes_and_utc_times(tmp_path, tree, capsys) -> None:
    root, files = tree
    cfg = write_config(tmp_path, {"C": {"root": str(root)}})

    assert collect(cfg) == 0

    stored = present(tmp_path / "store.db")
    assert {p: (s, a) for p, (s, a, _m) in stored.items()} == files
    for path, (_s, _a, mtime) in stored.items():
        assert mtime == os.stat(path).st_mtime_ns // 10**9  # whole seconds, as SFTP has
    # sparse: the disk holds almost nothing, the store has the real byte size
    big = next(p for p in files if p.endswith(b"env.tar.gz") and b"tracs" in p)
    assert os.stat(big).st_blocks * 512 < 1_000_000 < files[big][0]
    out = capsys.readouterr().out
    assert "C: ok, 11 files (10 new, 0 changed, 0 gone), 1 without a date part via local" in out


def test_symlinks_are_not_followed_so_nothing_is_collected_twice(tmp_path, tree) -> None:
    root, files = tree
    cfg = write_config(tmp_path, {"C": {"root": str(root)}})
    assert collect(cfg) == 0
    stored = present(tmp_path / "store.db")
    assert len(stored) == len(files)
    assert not any(b"/last" in p for p in stored)


def test_non_utf8_name_is_collected_byte_for_byte(tmp_path, tree) -> None:
    root, _files = tree
    cfg = write_config(tmp_path, {"C": {"root": str(root)}})
    assert collect(cfg) == 0
    [odd] = [p for p in present(tmp_path / "store.db") if b"\xff" in p]
    assert odd.endswith(b"/env-\xff\xfe-\xe9t\xe9.tar.gz")
    assert os.path.exists(odd)


def test_stray_undated_file_is_counted_and_named_in_the_run(tmp_path, tree) -> None:
    root, _files = tree
    cfg = write_config(tmp_path, {"C": {"root": str(root)}})
    assert collect(cfg) == 0
    [run] = runs(tmp_path / "store.db", "C")
    assert run["state"] == "ok" and run["error"] is None and run["method"] == "local"
    assert run["files_seen"] == 11 and run["unparsed"] == 1 and run["added"] == 10
    assert run["unparsed_sample"] == f"{root}/stray.tar.gz"


def test_pattern_selects_the_backups(tmp_path, tree) -> None:
    root, files = tree
    cfg = write_config(tmp_path, {"C": {"root": str(root), "pattern": "dybsvn.*"}})
    assert collect(cfg) == 0
    assert set(present(tmp_path / "store.db")) == {p for p in files if b"dybsvn" in p}


def test_times_in_a_node_time_zone_are_stored_as_utc(tmp_path) -> None:
    root = tmp_path / "zurich"
    at = {
        "winter": int(datetime(2012, 11, 13, 15, 10, 2, tzinfo=UTC).timestamp()),
        "summer": int(datetime(2012, 7, 1, 10, 0, 0, tzinfo=UTC).timestamp()),
        # 02:30 local on 2012-10-28 exists twice: the first one (CEST) is read
        "repeated": int(datetime(2012, 10, 28, 0, 30, 0, tzinfo=UTC).timestamp()),
    }
    for series, when in at.items():
        plant(root, series, when, f"{series}.tar.gz", 1, zone="Europe/Zurich")
    assert (root / "winter/2012/11/13/161002").is_dir()
    cfg = write_config(tmp_path, {"Z": {"root": str(root), "timezone": "Europe/Zurich"}})
    assert collect(cfg) == 0
    stored = {p.split(b"/")[-6].decode(): a for p, (_s, a, _m) in
              present(tmp_path / "store.db").items()}
    assert stored == at


def test_other_date_layout(tmp_path) -> None:
    root = tmp_path / "b"
    when = int(datetime(2024, 2, 29, 23, 59, tzinfo=UTC).timestamp())
    path = plant(root, "git/gitea", when, "gitea.tar.gz", 5, layout="%Y-%m-%d_%H%M")
    assert path.endswith(b"/git/gitea/2024-02-29_2359/gitea.tar.gz")
    cfg = write_config(tmp_path, {"C": {"root": str(root), "date_layout": "%Y-%m-%d_%H%M"}})
    assert collect(cfg) == 0
    assert present(tmp_path / "store.db") == {path: (5, when, when + 123)}  # whole seconds


def test_empty_root_is_a_good_collection_of_nothing(tmp_path) -> None:
    (tmp_path / "empty").mkdir()
    cfg = write_config(tmp_path, {"C": {"root": str(tmp_path / "empty")}})
    assert collect(cfg) == 0
    [run] = runs(tmp_path / "store.db", "C")
    assert run["state"] == "ok" and run["files_seen"] == 0


def test_collect_node_directly_reports_what_it_did(tmp_path, tree) -> None:
    root, files = tree
    cfg = write_config(tmp_path, {"C": {"root": str(root)}})
    settings = config.load(cfg)
    store = Store(settings.database)
    store.ensure_schema()
    result = collect_node(store, settings.node("C"))
    assert (result.ok, result.method, result.files, result.unparsed, result.added) == \
        (True, "local", len(files) + 1, 1, len(files))
    again = collect_node(store, settings.node("C"))
    assert (again.added, again.changed, again.gone) == (0, 0, 0)
    store.close()


# --- exit codes ------------------------------------------------------------------------------


def test_exit_0_when_every_node_was_collected(tmp_path, tree) -> None:
    root, _files = tree
    other = tmp_path / "other"
    plant(other, "repos/env", today_at(), "env.tar.gz", 3)
    cfg = write_config(tmp_path, {"C": {"root": str(root)}, "H1": {"root": str(other)}})
    assert collect(cfg) == 0
    assert {r["state"] for n in ("C", "H1") for r in runs(tmp_path / "store.db", n)} == {"ok"}


def test_exit_1_when_a_root_is_missing_and_the_other_nodes_are_still_stored(tmp_path, tree,
                                                                           capsys) -> None:
    root, files = tree
    missing = tmp_path / "not-there"
    cfg = write_config(tmp_path, {"C": {"root": str(root)}, "H1": {"root": str(missing)}})

    assert collect(cfg) == 1

    db = tmp_path / "store.db"
    assert set(present(db, "C")) == set(files)
    [failed] = runs(db, "H1")
    assert failed["state"] == "failed"
    assert failed["error"] == f"backup root {missing} does not exist or is not a folder"
    _out, err = capsys.readouterr()
    assert "1 of 2 node(s) failed: H1" in err


def test_a_file_as_root_fails_that_node(tmp_path) -> None:
    (tmp_path / "file").write_text("x")
    cfg = write_config(tmp_path, {"C": {"root": str(tmp_path / "file")}})
    assert collect(cfg) == 1
    assert "not a folder" in runs(tmp_path / "store.db", "C")[0]["error"]


def test_exit_2_for_a_config_error(tmp_path, tree, capsys) -> None:
    root, _files = tree
    cfg = write_config(tmp_path, {"C": {"root": str(root), "timezone": "Mars/Base"}})
    assert collect(cfg) == 2
    assert "nodes.C.timezone: unknown time zone 'Mars/Base'" in capsys.readouterr().err
    assert not (tmp_path / "store.db").exists()


def test_exit_2_for_an_unknown_node_on_the_command_line(tmp_path, tree, capsys) -> None:
    root, _files = tree
    cfg = write_config(tmp_path, {"C": {"root": str(root)}, "H1": {"root": str(root)}})
    assert collect(cfg, "C", "X") == 2
    err = capsys.readouterr().err
    assert "unknown node 'X' (configured: C, H1)" in err
    assert err.count("\n") == 1
    assert not (tmp_path / "store.db").exists()


def test_only_the_nodes_named_are_collected(tmp_path, tree) -> None:
    root, _files = tree
    cfg = write_config(tmp_path, {"C": {"root": str(root)}, "H1": {"root": str(root)}})
    assert collect(cfg, "H1") == 0
    db = tmp_path / "store.db"
    assert runs(db, "C") == [] and len(runs(db, "H1")) == 1


def test_a_spring_forward_night_keeps_two_backups_apart(tmp_path) -> None:
    """Folders 02:30 (a time the clocks skipped) and 03:30 on 2026-03-29 in Berlin: two
    backups at two UTC times, not one point of double size."""
    root = tmp_path / "berlin"
    for folder in ("2026/03/29/023000", "2026/03/29/033000"):
        (root / "svn" / folder).mkdir(parents=True)
        (root / "svn" / folder / "svn.tar.gz").write_bytes(b"x" * 100)
    cfg = write_config(tmp_path, {"B": {"root": str(root), "timezone": "Europe/Berlin"}})

    assert collect(cfg) == 0

    stored = sorted(a for _s, a, _m in present(tmp_path / "store.db").values())
    assert stored == [int(datetime(2026, 3, 29, 1, 0, tzinfo=UTC).timestamp()),
                      int(datetime(2026, 3, 29, 1, 30, tzinfo=UTC).timestamp())]
