"""Row 14: ``collect`` with ``verify = ["size", "sha256"]`` of a source and a copy over ssh.

Two nodes (a source and its copy, each behind the same loopback sshd), 100
series whose newest backup is one real file of ``SIZE_MB`` MB (random bytes,
not sparse: hashing reads every byte), plus older sparse backups that are
listed but never hashed. Everything is timed as whole processes:

- ``scm-monitor collect`` on a fresh store: lists both nodes and hashes the
  200 newest files (the first run);
- the floor: plain OpenSSH ``ssh node sha256sum <the same 100 files>`` on
  both nodes at once (two ``ssh`` processes started together, wall until
  both are done);
- ``scm-monitor collect`` again, nothing changed: the store already holds
  every hash, so nothing is hashed and no verify session is opened;
- the same unchanged ``collect`` with ``verify = ["size"]``.

``SCMMONITOR_BENCH_VERIFY_MB`` sets the file size (default 50; ``--quick``: 5).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .common import DAY, REPO, Context, RowResult, at_most, fresh_store, interleave, log

SERIES = 100
OLDER = 3  # older backups per series: listed, never hashed
NEWEST_AT = 1764558602  # 2025-12-01 03:10:02 UTC


def _size_mb(ctx: Context) -> int:
    return int(os.environ.get("SCMMONITOR_BENCH_VERIFY_MB") or (5 if ctx.quick else 50))


def _folder(root: Path, series: int, when: int) -> Path:
    return root / f"repos/r{series:03d}" / time.strftime("%Y/%m/%d/%H%M%S", time.gmtime(when))


def _make_trees(ctx: Context, size: int) -> tuple[Path, Path, list[str]]:
    """(source root, copy root, the newest files' paths relative to a root)."""
    base = ctx.tmp / "verify"  # real disk: tmpfs would hold 2 x 100 x SIZE_MB of RAM
    source, copy = base / "S", base / "C"
    block = os.urandom(size)
    newest: list[str] = []
    t0 = time.perf_counter()
    for s in range(SERIES):
        for day in range(OLDER, 0, -1):
            folder = _folder(source, s, NEWEST_AT - day * DAY)
            folder.mkdir(parents=True, exist_ok=True)
            with open(folder / "env.tar.gz", "wb") as fh:
                fh.truncate(size - day)
        folder = _folder(source, s, NEWEST_AT)
        folder.mkdir(parents=True, exist_ok=True)
        # each file its own bytes (the first 8 differ), so no two hashes are alike
        (folder / "env.tar.gz").write_bytes(s.to_bytes(8, "big") + block[8:])
        newest.append(str((folder / "env.tar.gz").relative_to(source)))
    # the copy: real files of its own, not hard links (each node reads its own bytes)
    shutil.copytree(source, copy)
    log(f"  made 2 x {SERIES} x {size // 2**20} MB in {time.perf_counter() - t0:.1f} s")
    return source, copy, newest


def _config(ctx: Context, source: Path, copy: Path, verify: list[str], name: str) -> Path:
    s = ctx.sshd
    node = (f'host = "{s.host}"\nport = {s.port}\nuser = "{s.user}"\n'
            f'identity_file = "{s.identity_file}"\nknown_hosts = "{s.known_hosts}"\n'
            "command_timeout = 600\nconnect_timeout = 30\n")
    text = (f'database = "sqlite:///{name}.db"\n\n[defaults]\nverify = {json.dumps(verify)}\n\n'
            '[hubs.cms02]\nsource = "S"\n\n'
            + f'[nodes.S]\nhub = "cms02"\nroot = "{source}"\n{node}\n'
            + f'[nodes.C]\nhub = "cms02"\nroot = "{copy}"\n{node}')
    path = ctx.tmp / f"{name}.toml"
    path.write_text(text)
    return path


def _collect(cfg: Path, expect: str) -> float:
    """Seconds of one whole ``scm-monitor collect`` process; checks what it said it did."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "sphinxcontrib_scmmonitor.cli", "-c", str(cfg),
                           "collect", "--progress", "lines"], capture_output=True, text=True,
                          env=env)
    dt = time.perf_counter() - t0
    lines = proc.stdout.splitlines()
    if proc.returncode != 0 or len(lines) != 2 or not all(expect in line for line in lines):
        raise RuntimeError(f"collect did not do what the row measures (wanted {expect!r}): "
                           f"{proc.stdout} {proc.stderr}")
    if expect == "" and any("hashed" in line for line in lines):
        raise RuntimeError(f"an unchanged run hashed something: {proc.stdout}")
    return dt


def row14(ctx: Context) -> RowResult:
    size_mb = _size_mb(ctx)
    row = RowResult(14, f"collect with verify = [size, sha256] of a source and a copy, "
                       f"{SERIES} series x {size_mb} MB newest backup, over ssh")
    source, copy, newest = _make_trees(ctx, size_mb * 2**20)
    with_verify = _config(ctx, source, copy, ["size", "sha256"], "row14-verify")
    without = _config(ctx, source, copy, ["size"], "row14-size")
    ssh = ctx.ssh_argv()
    commands = ["sha256sum " + " ".join(shlex.quote(str(root / rel)) for rel in newest)
                for root in (source, copy)]

    def floor() -> float:
        t0 = time.perf_counter()
        procs = [subprocess.Popen([*ssh, cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for cmd in commands]
        outs = [p.communicate() for p in procs]
        dt = time.perf_counter() - t0
        for p, (out, err) in zip(procs, outs, strict=True):
            if p.returncode != 0 or out.count(b"\n") != SERIES:
                raise RuntimeError(f"ssh sha256sum failed: {err.decode(errors='replace')}")
        return dt

    def first() -> float:
        fresh_store(ctx.tmp, "row14-verify").close()  # schema made outside the timing
        return _collect(with_verify, f", {SERIES} hashed in ")

    def again() -> float:
        return _collect(with_verify, "")

    def plain_again() -> float:
        return _collect(without, "")

    reps = ctx.reps(3, 1)
    log("  first runs vs plain ssh sha256sum on both nodes")
    timings = interleave({"floor": floor, "first": first}, {"floor": reps, "first": reps},
                         budget_s=900)
    # the unchanged runs: the store of the last first run already holds every hash
    fresh_store(ctx.tmp, "row14-size").close()
    _collect(without, "")  # its own store's first listing (untimed)
    log("  unchanged runs, with and without verify")
    more = interleave({"again": again, "plain again": plain_again},
                      {"again": ctx.reps(7, 2), "plain again": ctx.reps(7, 2)})
    names = {"first": f"scm-monitor collect, verify = [size, sha256], fresh store "
                      f"(lists 2 x {SERIES * (OLDER + 1)} files, hashes 2 x {SERIES})",
             "floor": f"floor: ssh node sha256sum <the {SERIES} files>, both nodes at once",
             "again": "scm-monitor collect again, unchanged (verify on: nothing to hash)",
             "plain again": "scm-monitor collect again, unchanged, verify = [size]"}
    for key, t in [*timings.items(), *more.items()]:
        t.name = names[key]
        row.timings.append(t)
    ratio = timings["first"].median / timings["floor"].median
    row.checks.append(at_most("collect with sha256 / ssh sha256sum on both nodes", ratio, 1.2))
    again_ratio = more["again"].median / more["plain again"].median
    row.checks.append(at_most("unchanged run with verify / without", again_ratio, 1.1))
    hashed = 2 * SERIES * size_mb
    row.facts.append(("bytes hashed by a first run", f"2 x {SERIES} x {size_mb} MB = "
                                                      f"{hashed / 1024:.1f} GB"))
    row.facts.append(("hash rate of the floor",
                      f"{hashed / timings['floor'].median:.0f} MB/s over both nodes"))
    row.notes += [
        "Each node's hashing runs after its own listing is stored (the files to hash are the "
        "series' newest, known only from the listing), over a second SSH connection made "
        "the way the listing's was; the two nodes run in parallel. So a first run is the "
        "floor's hashing plus a listing of 400 files and a second handshake per node, the "
        "interpreter's start and the imports (row 1), and storing 200 hashes. What limits "
        "it: `sha256sum` reading 2 x 100 files on the nodes' disks (here both on the one "
        "disk of this machine, as the floor is).",
        "An unchanged run finds a stored hash for every newest file (unchanged since it was "
        "hashed: docs/configuration.rst) and opens no second connection at all, so it costs "
        "what a run without `verify` costs.",
    ]
    if size_mb != 50:
        row.notes.append(f"Scaled down to {size_mb} MB files (the target is stated for 50 MB): "
                         "set SCMMONITOR_BENCH_VERIFY_MB=50 for the full size.")
    shutil.rmtree(ctx.tmp / "verify", ignore_errors=True)
    return row
