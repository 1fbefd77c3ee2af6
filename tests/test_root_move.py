"""A node's ``root`` changed in the configuration (a mount point moved, a typo fixed): its
history moves with it (docs/configuration.rst, ``root``).

The store keeps the root its paths were listed under. ``status`` before the next collect
cuts relative paths from that one, so a copy is still matched to its source; the next
collect moves the stored paths and finds every file unchanged: no backup is counted twice,
no size doubles, nothing is "gone".
"""

from __future__ import annotations

import contextlib
import io
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from sphinxcontrib_scmmonitor import cli
from tests.helpers.backups import plant, write_config

DAY = 86400
NIGHTS = 10
NOW = int(time.time())
SERIES = ("repos/env", "tracs/env")


def nights(root: Path) -> None:
    for series in SERIES:
        for night in range(NIGHTS):
            plant(root, series, NOW - 6 * 3600 - night * DAY, "x.tar.gz", 5_000_000 + night)


def status(cfg: Path) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(["-c", str(cfg), "status", "--format", "json"])
    return code, json.loads(out.getvalue())


def findings(doc: dict[str, Any]) -> dict[str, list[str]]:
    found = {n["node"]: [r["reason"] for r in n["reasons"]] for n in doc["nodes"]}
    for n in doc["nodes"]:
        for s in n["series"]:
            found[n["node"]] += [r["reason"] for r in s["findings"]]
    return found


def collect(cfg: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = cli.main(["-c", str(cfg), "collect", "--progress", "lines"])
    return code, capsys.readouterr().out


def stored(db: Path, node: str) -> list[tuple[bytes, int, int, int | None]]:
    with sqlite3.connect(db) as conn:
        return sorted((bytes(p), at, size, gone) for p, at, size, gone in conn.execute(
            "select b.path, b.backup_at, b.size, b.gone_at from backups b join nodes n"
            " on n.id = b.node_id where n.name = ?", (node,)))


@pytest.fixture
def hub(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    s_root, c_root = tmp_path / "S", tmp_path / "mnt-old" / "C"
    nights(s_root)
    nights(c_root)
    db = tmp_path / "store.db"

    def config(c: Path) -> Path:
        cfg = write_config(tmp_path, {"S": {"root": str(s_root)}, "C": {"root": str(c)}},
                           database=f"sqlite:///{db}")
        # C is judged as a copy of S: the check a moved root would break first
        cfg.write_text(cfg.read_text().replace('[hubs."cms02"]',
                                               '[hubs."cms02"]\nsource = "S"'))
        return cfg

    cfg = config(c_root)
    assert collect(cfg, capsys)[0] == 0
    code, doc = status(cfg)
    assert (code, findings(doc)) == (0, {"S": [], "C": []})
    return {"tmp": tmp_path, "db": db, "config": config, "c_root": c_root, "doc": doc}


def moved(hub: dict[str, Any]) -> tuple[Path, Path]:
    """C's disk mounted elsewhere: the same files under a new root, and the config says so."""
    new_root = hub["tmp"] / "mounted-elsewhere" / "C"  # not the old one's length
    new_root.parent.mkdir()
    hub["c_root"].rename(new_root)
    return new_root, hub["config"](new_root)


def test_status_after_the_root_changed_judges_the_history_under_the_old_one(hub) -> None:
    _, cfg = moved(hub)

    code, doc = status(cfg)

    assert (code, findings(doc)) == (0, {"S": [], "C": []})


def test_the_next_collect_moves_the_history_and_finds_every_file_unchanged(hub, capsys) -> None:
    before = stored(hub["db"], "C")
    new_root, cfg = moved(hub)

    code, out = collect(cfg, capsys)

    old = str(hub["c_root"])
    line = next(ln for ln in out.splitlines() if ln.startswith("C: "))
    assert code == 0
    assert f"{NIGHTS * len(SERIES)} files (0 new, 0 changed, 0 gone)" in line
    assert line.endswith(f"; root changed from {old}: {NIGHTS * len(SERIES)} stored backups "
                         f"moved to {new_root}")
    after = stored(hub["db"], "C")
    old_b, new_b = str(hub["c_root"]).encode(), str(new_root).encode()
    assert after == sorted((new_b + p[len(old_b):], at, size, gone)
                           for p, at, size, gone in before)
    assert all(gone is None for *_, gone in after)
    code, doc = status(cfg)
    assert (code, findings(doc)) == (0, {"S": [], "C": []})
    # the sizes as the checks, the table and the charts see them: not summed twice
    sizes = {s["name"]: s["size"] for n in doc["nodes"] if n["node"] == "C" for s in n["series"]}
    assert sizes == {s["name"]: s["size"] for n in hub["doc"]["nodes"] if n["node"] == "C"
                     for s in n["series"]}
    # and a collect after that has nothing left to move
    code, out = collect(cfg, capsys)
    assert code == 0 and "root changed" not in out


def test_a_mistyped_root_is_a_failed_run_not_every_backup_missing(hub, capsys) -> None:
    cfg = hub["config"](hub["tmp"] / "mnt-old" / "Cx")

    code, out = collect(cfg, capsys)

    assert code == 1 and "does not exist" in out
    code, doc = status(cfg)
    found = findings(doc)
    assert found["S"] == [] and "not-copied" not in found["C"] and "missing" not in found["C"]
    # fixed again: the history is where it was, nothing new, nothing gone
    cfg = hub["config"](hub["c_root"])
    code, out = collect(cfg, capsys)
    assert code == 0 and "(0 new, 0 changed, 0 gone)" in out
    assert all(gone is None for *_, gone in stored(hub["db"], "C"))
