"""What every row needs: timing, results, backup trees, an sshd, node settings.

Timings are wall-clock ``perf_counter`` medians. Variants of a row are run
interleaved (A B A B ...) rather than one after the other, so that drift in the
machine (page cache, CPU frequency, other load) hits both sides alike.
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sphinxcontrib_scmmonitor import config
from sphinxcontrib_scmmonitor.collect.listing import ListingParser
from sphinxcontrib_scmmonitor.collect.local import Lister
from sphinxcontrib_scmmonitor.config import NodeSettings, Settings
from sphinxcontrib_scmmonitor.store import Record, Store

REPO = Path(__file__).resolve().parent.parent
#: the console script a user runs, from the same interpreter's environment
SCM = str(Path(sys.executable).parent / "scm-monitor")
CACHE = Path(__file__).resolve().parent / ".cache"
DAY = 86400
#: first backup day of every generated tree (2016-01-01 16:10:02 UTC)
EPOCH = 1451664602


# --- results -----------------------------------------------------------------------------------


@dataclass
class Timing:
    """One variant's repeated measurements (seconds, or another unit for non-times)."""

    name: str
    values: list[float] = field(default_factory=list)
    unit: str = "s"
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else float("nan")


@dataclass
class Check:
    """One target: a measured number, how it compares and whether it passed."""

    what: str
    value: float
    target: str
    passed: bool | None  # None: not measured (skipped)
    unit: str = "x"


@dataclass
class RowResult:
    number: int
    title: str
    timings: list[Timing] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None
    seconds: float = 0.0

    def timing(self, name: str) -> Timing:
        for t in self.timings:
            if t.name == name:
                return t
        raise KeyError(name)

    @property
    def status(self) -> str:
        if self.skipped:
            return "SKIP"
        results = [c.passed for c in self.checks if c.passed is not None]
        if not results:
            return "SKIP"
        return "PASS" if all(results) else "MISS"


def at_most(what: str, value: float, limit: float, unit: str = "x") -> Check:
    return Check(what, value, f"<= {limit:g}{unit}", value <= limit, unit)


def at_least(what: str, value: float, limit: float, unit: str = "x") -> Check:
    return Check(what, value, f">= {limit:g}{unit}", value >= limit, unit)


def below(what: str, value: float, limit: float, unit: str = "x") -> Check:
    return Check(what, value, f"< {limit:g}{unit}", value < limit, unit)


# --- timing ------------------------------------------------------------------------------------


def interleave(variants: dict[str, Callable[[], float]], reps: dict[str, int],
               timings: dict[str, Timing] | None = None, *, budget_s: float = 300
               ) -> dict[str, Timing]:
    """Run every variant ``reps[name]`` times, round-robin; each call returns its own seconds.

    A variant times itself (and returns the figure) so that per-repetition set-up,
    such as making a fresh database, stays outside the measurement. A variant whose
    runs so far took more than ``budget_s`` is not repeated (it keeps at least one
    run), so one pathologically slow variant cannot blow the suite's time.
    """
    out = timings if timings is not None else {name: Timing(name) for name in variants}
    spent = dict.fromkeys(variants, 0.0)
    for i in range(max(reps.values())):
        for name, fn in variants.items():
            if i < reps[name] and (i == 0 or spent[name] < budget_s):
                t0 = time.perf_counter()
                out[name].values.append(fn())
                spent[name] += time.perf_counter() - t0
                log(f"    {name}: {out[name].values[-1]:.3f}")
    return out


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --- backup trees ------------------------------------------------------------------------------

_KINDS = ("repos", "tracs", "svn", "git/group")


def series_names(count: int) -> list[str]:
    """Realistic series: one or more path components (``repos/env``, ``git/group/x``)."""
    return [f"{_KINDS[i % len(_KINDS)]}/proj{i:04d}" for i in range(count)]


def backup_size(series: int, day: int) -> int:
    """Sizes from ~100 kB to ~5 GB across series (the old charts' scaling problem), growing."""
    base = 100_000 * (1.11 ** (series % 100))
    return int(base * (1 + day / 3650)) + series * 7 + day


def make_tree(root: Path, series: int, per_series: int, *, start: int = EPOCH) -> int:
    """Plant ``series x per_series`` sparse tarballs under ``root``; returns the file count.

    Paths are ``<root>/<series>/YYYY/MM/DD/HHMMSS/<name>.tar.gz``, one backup a day per
    series, mtime a few minutes after the backup time. Sparse files (truncate) cost no
    disk, so a 200,000-file tree takes seconds and a few hundred MB of inodes only.
    """
    made: set[bytes] = set()
    rootb = os.fsencode(root)
    os.makedirs(rootb, exist_ok=True)
    made.add(rootb)
    n = 0
    for s, name in enumerate(series_names(series)):
        base = os.path.join(rootb, name.encode())
        leaf = name.rsplit("/", 1)[-1].encode()
        offset = (s * 37) % 3600  # series finish at different minutes
        for day in range(per_series):
            when = start + day * DAY + offset
            folder = os.path.join(base, time.strftime("%Y/%m/%d/%H%M%S", time.gmtime(when))
                                  .encode())
            _mkdirs(folder, made)
            path = folder + b"/" + leaf + b".tar.gz"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                os.ftruncate(fd, backup_size(s, day))
            finally:
                os.close(fd)
            os.utime(path, (when + 300, when + 300))
            n += 1
    return n


def _mkdirs(folder: bytes, made: set[bytes]) -> None:
    if folder in made:
        return
    parent = os.path.dirname(folder)
    if parent not in made:
        _mkdirs(parent, made)
    with contextlib.suppress(FileExistsError):
        os.mkdir(folder)
    made.add(folder)


def tree_records(root: str, series: int, per_series: int, *, start: int = EPOCH
                 ) -> list[Record]:
    """The records the listing parser makes for :func:`make_tree`'s tree, without the disk."""
    out: list[Record] = []
    rootb = root.encode()
    for s, name in enumerate(series_names(series)):
        raw = name.encode()
        leaf = name.rsplit("/", 1)[-1].encode()
        offset = (s * 37) % 3600
        for day in range(per_series):
            when = start + day * DAY + offset
            path = b"%s/%s/%s/%s.tar.gz" % (rootb, raw, time.strftime(
                "%Y/%m/%d/%H%M%S", time.gmtime(when)).encode(), leaf)
            out.append(Record(path=path, series=raw, backup_at=when, size=backup_size(s, day),
                              mtime=float(when + 300)))
    return out


class ReplayLister(Lister):
    """A lister that hands out records already in memory: the store's side, with no I/O."""

    def __init__(self, node: NodeSettings, records: list[Record]) -> None:
        super().__init__(node)
        self._records = records

    def records(self, parser: ListingParser) -> Iterator[Record]:
        self.method = "replay"
        parser.stats.files_seen += len(self._records)
        yield from self._records


# --- the machine -------------------------------------------------------------------------------


def machine_info() -> list[tuple[str, str]]:
    cpu = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    os_name = platform.platform()
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip('"')
    info = [("CPU", f"{os.cpu_count()} x {cpu}"), ("memory", mem), ("OS", os_name),
            ("kernel", platform.release()), ("Python", platform.python_version())]
    import sqlite3

    import paramiko
    import sphinx
    import sqlalchemy

    info += [("SQLite", sqlite3.sqlite_version), ("SQLAlchemy", sqlalchemy.__version__),
             ("paramiko", paramiko.__version__), ("Sphinx", sphinx.__version__)]
    for label, cmd in (("OpenSSH", ["ssh", "-V"]), ("GNU find", ["find", "--version"]),
                       ("Chromium", ["chromium", "--version"])):
        info.append((label, _first_line(cmd)))
    return info


def _first_line(cmd: list[str]) -> str:
    if not shutil.which(cmd[0]):
        return "not installed"
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    text = (proc.stdout or proc.stderr).strip().splitlines()
    return text[0] if text else "?"


# --- settings and stores -----------------------------------------------------------------------


def node_table(root: Path | str, *, host: str = "local", port: int = 0, user: str = "",
               identity_file: str = "", known_hosts: str = "", command_timeout: float = 600,
               ) -> dict[str, Any]:
    table: dict[str, Any] = {"hub": "cms02", "host": host, "root": str(root),
                             "command_timeout": command_timeout, "connect_timeout": 30}
    if host != "local":
        table.update(port=port, user=user, identity_file=identity_file,
                     known_hosts=known_hosts)
    return table


def settings_for(nodes: dict[str, dict[str, Any]], database: str = "sqlite:///:memory:"
                 ) -> Settings:
    """Settings built in memory through the real validator (no file)."""
    return config.parse({"database": database, "hubs": {"cms02": {}}, "nodes": nodes})


def fresh_store(folder: Path, name: str) -> Store:
    """A new SQLite store with its schema (schema creation is never part of a timing)."""
    path = folder / f"{name}.db"
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{path}{suffix}")
    store = Store(f"sqlite:///{path}")
    store.ensure_schema()
    return store


def drop_store(store: Store) -> None:
    """Close a store and delete its files (keeps the tmp folder small between repetitions)."""
    store.close()
    db = store.engine.url.database
    if db:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{db}{suffix}")


def toml_value(value: Any) -> str:
    """A TOML value for the few types the configs below use (JSON's syntax is TOML's here)."""
    import json

    return json.dumps(value)


def write_config(path: Path, database: str, nodes: dict[str, dict[str, Any]], *,
                 defaults: dict[str, Any] | None = None,
                 hubs: dict[str, dict[str, Any]] | None = None, top: dict[str, Any] | None = None
                 ) -> Path:
    """A scmmonitor.toml as a user writes it, for the rows that run ``scm-monitor`` itself."""
    lines = [f"database = {toml_value(database)}"]
    lines += [f"{k} = {toml_value(v)}" for k, v in (top or {}).items()]
    lines += ["", "[defaults]", *(f"{k} = {toml_value(v)}" for k, v in (defaults or {}).items())]
    for hub, table in (hubs or {"cms02": {}}).items():
        lines += ["", f"[hubs.{hub}]", *(f"{k} = {toml_value(v)}" for k, v in table.items())]
    for name, table in nodes.items():
        lines += ["", f"[nodes.{name}]", *(f"{k} = {toml_value(v)}" for k, v in table.items())]
    path.write_text("\n".join(lines) + "\n")
    return path


def scm_env() -> dict[str, str]:
    """The environment of a ``scm-monitor`` process: this checkout's package first."""
    return {**os.environ, "PYTHONPATH": str(REPO)}


def run_scm(argv: list[str], *, ok: tuple[int, ...] = (0,), expect: str = "") -> float:
    """Seconds of one whole ``scm-monitor ARGV`` process (its output checked, not timed)."""
    t0 = time.perf_counter()
    proc = subprocess.run([SCM, *argv], capture_output=True, text=True, env=scm_env())
    dt = time.perf_counter() - t0
    if proc.returncode not in ok or expect not in proc.stdout:
        raise RuntimeError(f"scm-monitor {' '.join(argv)} exited {proc.returncode} "
                           f"(wanted {ok}, output with {expect!r}): "
                           f"{(proc.stdout + proc.stderr)[-600:]}")
    return dt


# --- the run's shared state --------------------------------------------------------------------


class Context:
    """Per run: the temp folder, the options, and one sshd shared by the ssh rows."""

    def __init__(self, *, quick: bool, keep: bool = False) -> None:
        self.quick = quick
        self.keep = keep
        self.tmp = Path(tempfile.mkdtemp(prefix="scmmonitor-bench-"))
        # backup trees go to tmpfs when there is room: a disk with online discard takes
        # minutes to make and delete 200,000 files; the stores stay on the real disk
        self.tree_dir = self.tmp / "trees"
        if _roomy("/dev/shm"):
            self.tree_dir = Path(tempfile.mkdtemp(prefix="scmmonitor-bench-", dir="/dev/shm"))
        self._sshd: Any = None
        self._trees: dict[str, Path] = {}

    def reps(self, full: int, quick: int = 1) -> int:
        return quick if self.quick else full

    @property
    def sshd(self) -> Any:
        """A real OpenSSH sshd on 127.0.0.1 (tests/sshd.py), started on first use."""
        if self._sshd is None:
            sys.path.insert(0, str(REPO))
            from tests.sshd import sshd_available, start_sshd

            problem = sshd_available()
            if problem:
                raise RuntimeError(problem)
            self._sshd = start_sshd(self.tmp / "sshd", extra_config=self.sshd_config())
        return self._sshd

    def sshd_config(self) -> str:
        """Extra sshd_config lines for every benchmark sshd: a session's HOME is an empty
        folder, so the login shell reads no rc file of whoever runs the benchmarks.

        Both sides of every ssh row go through that shell (the collector and plain
        ``ssh`` alike), but a developer's ``~/.bashrc`` (``pyenv init`` runs a rehash in
        each session, under a lock) is not a backup node's: it cost ~0.3 s a session
        and serialised 200 sessions into minutes, measuring the rc file, not ssh.
        """
        home = self.tmp / "ssh-home"
        home.mkdir(exist_ok=True)
        return f"SetEnv HOME={home}"

    def ssh_node(self, root: Path, **extra: Any) -> dict[str, Any]:
        s = self.sshd
        return node_table(root, host=s.host, port=s.port, user=s.user,
                          identity_file=str(s.identity_file), known_hosts=str(s.known_hosts),
                          **extra)

    def ssh_argv(self, port: int | None = None, known_hosts: str | None = None) -> list[str]:
        """Plain OpenSSH with the same key and host-key check the collector uses."""
        s = self.sshd
        return ["ssh", "-i", str(s.identity_file), "-o",
                f"UserKnownHostsFile={known_hosts or s.known_hosts}",
                "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
                "-o", "GlobalKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes",
                "-p", str(port or s.port), f"{s.user}@{s.host}"]

    def tree(self, key: str, series: int, per_series: int) -> Path:
        """A backup tree made once per run and shared by the rows that use the same shape."""
        if key not in self._trees:
            root = self.tree_dir / key / "backup" / "cms02"
            t0 = time.perf_counter()
            n = make_tree(root, series, per_series)
            log(f"  made {key}: {n:,} files in {time.perf_counter() - t0:.1f} s")
            self._trees[key] = root
        return self._trees[key]

    def drop_tree(self, key: str) -> None:
        root = self._trees.pop(key, None)
        if root is not None:
            shutil.rmtree(root.parent.parent, ignore_errors=True)

    def close(self) -> None:
        if self._sshd is not None:
            self._sshd.stop()
        if not self.keep:
            shutil.rmtree(self.tree_dir, ignore_errors=True)
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            log(f"kept {self.tmp}")


def _roomy(folder: str) -> bool:
    """At least 2 GiB and 2M inodes free (a 200,000-file tree of sparse files needs ~0.5M)."""
    try:
        st = os.statvfs(folder)
    except OSError:
        return False
    return os.access(folder, os.W_OK) and st.f_bavail * st.f_frsize >= 2 << 30 \
        and (st.f_favail == 0 or st.f_favail >= 2_000_000)  # tmpfs may report 0 = unlimited


@contextlib.contextmanager
def context(*, quick: bool, keep: bool = False) -> Iterator[Context]:
    ctx = Context(quick=quick, keep=keep)
    try:
        yield ctx
    finally:
        ctx.close()
