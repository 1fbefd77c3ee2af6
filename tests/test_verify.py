"""The verify steps of ``collect`` (sha256sum, gzip -t) over a real sshd and on the local disk.

Real trees with real bytes: a copy of the same size with one byte flipped, a
real ``tar czf`` archive, random bytes named ``.tar.gz``; a node whose PATH
has no ``sha256sum`` or ``gzip``; names with quotes, newlines and non-UTF-8
bytes; a real account that cannot read a backup (docs/configuration.rst,
"Content verification").
"""

from __future__ import annotations

import gzip as gzip_mod
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sphinxcontrib_scmmonitor import cli, config
from sphinxcontrib_scmmonitor.checks import Reason
from sphinxcontrib_scmmonitor.checks.copies import Originals, check_copy, corrupt
from sphinxcontrib_scmmonitor.collect import collect_all
from sphinxcontrib_scmmonitor.collect.verify import gzip_error
from sphinxcontrib_scmmonitor.store import Store
from tests.sshd import SshServer, require_tool, sshd_available, start_sshd

HOUR = 3600
DAY = 86400
#: the newest backups are older than copy_grace_hours (6), so the copies are judged
NEWEST = int(time.time()) // HOUR * HOUR - 8 * HOUR
HOSTILE = b"it's\n$(touch x) `id` \xff\xfe -n.tar.gz"


def folder_of(root: Path, series: str, when: int) -> Path:
    return root / series / time.strftime("%Y/%m/%d/%H%M%S", time.gmtime(when))


def put(root: Path, series: str, when: int, name: str | bytes, data: bytes) -> bytes:
    """A real backup file with ``data`` as its bytes; returns its full path as listed."""
    folder = folder_of(root, series, when)
    folder.mkdir(parents=True, exist_ok=True)
    raw = os.fsencode(folder) + b"/" + os.fsencode(name)
    with open(raw, "wb") as fh:
        fh.write(data)
    os.utime(raw, (when, when))
    return raw


def tarball(tmp: Path, seed: int) -> bytes:
    """A real ``tar czf`` archive of a small tree."""
    src = tmp / f"tree-{seed}"
    (src / "db").mkdir(parents=True, exist_ok=True)
    (src / "db" / "revs").write_bytes(os.urandom(20_000) + bytes([seed]) * 5000)
    (src / "README").write_text(f"repository {seed}\n")
    out = tmp / f"archive-{seed}.tar.gz"
    subprocess.run(["tar", "czf", str(out), "-C", str(src), "."], check=True)
    return out.read_bytes()


def flipped(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


def toml(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, bool) else str(value).lower()


def write_config(folder: Path, nodes: dict[str, dict[str, Any]], *, hub: dict[str, Any] | None
                 = None) -> Path:
    lines = ['database = "sqlite:///store.db"', "", "[hubs.cms02]"]
    lines += [f"{k} = {toml(v)}" for k, v in (hub or {}).items()]
    for name, keys in nodes.items():
        lines += ["", f"[nodes.{name}]", 'hub = "cms02"']
        lines += [f"{k} = {toml(v)}" for k, v in keys.items()]
    path = folder / "scmmonitor.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def over_ssh(server: SshServer, root: Path, **extra: Any) -> dict[str, Any]:
    return {"host": server.host, "port": server.port, "user": server.user,
            "identity_file": str(server.identity_file), "known_hosts": str(server.known_hosts),
            "root": str(root), "connect_timeout": 5, "command_timeout": 30, **extra}


def collect(cfg: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = cli.main(["-c", str(cfg), "collect", "--progress", "lines"])
    return code, capsys.readouterr().out


def status(cfg: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    cli.main(["-c", str(cfg), "status", "--format", "json"])
    return json.loads(capsys.readouterr().out)


def findings(report: dict[str, Any], node: str) -> dict[str, list[dict[str, Any]]]:
    """series name ("" for the node itself) -> its reasons, of one node of a status report."""
    entry = next(n for n in report["nodes"] if n["node"] == node)
    out = {"": entry.get("reasons", [])}
    out.update({s["name"]: s.get("reasons", []) for s in entry["series"]})
    return out


def judged(store: Store, source: Path, copy: Path) -> tuple[dict[str, list[Reason]],
                                                          dict[str, list[Reason]]]:
    """The copy checks' findings on the stored results: (on the source, on the copy)."""
    s, c = store.node_data("S"), store.node_data("C")
    observed = {d.name: d.runs[-1].finished_at for d in (s, c)}
    originals = Originals.of("S", s.series, s.verified, str(source), observed["S"])
    on_copy = check_copy("C", c.series, c.verified, str(copy), observed["C"], originals,
                         grace_hours=6, verify=("size", "sha256"))
    for name, reasons in corrupt(c.series, c.verified, str(copy), originals).items():
        on_copy.setdefault(name, []).extend(reasons)
    return corrupt(s.series, s.verified, str(source)), on_copy


def line_of(out: str, node: str) -> str:
    lines = [line for line in out.splitlines() if line.startswith(f"{node}: ")]
    assert len(lines) == 1, out
    return lines[0]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def accepted(server: SshServer) -> int:
    """How many SSH logins the server has let in so far (from its own log)."""
    return server.log.read_text(errors="replace").count("Accepted publickey")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SshServer]:
    require_tool(sshd_available())
    srv = start_sshd(tmp_path / "sshd")
    yield srv
    srv.stop()


@pytest.fixture
def hub(tmp_path: Path) -> dict[str, Any]:
    """A source tree and its copy: one healthy series, one copy with a byte flipped, one
    archive that is not gzip at all, one series with a hostile file name."""
    source, copy = tmp_path / "S", tmp_path / "C"
    good, other = tarball(tmp_path, 1), tarball(tmp_path, 2)
    broken = os.urandom(30_000)
    older = {day: tarball(tmp_path, 10 + day) for day in (2, 1)}
    files: dict[str, dict[bytes, bytes]] = {"S": {}, "C": {}}
    for root, node in ((source, "S"), (copy, "C")):
        for day, data in older.items():  # older backups: never hashed, only the newest is
            put(root, "repos/env", NEWEST - day * DAY, "env.tar.gz", data)
        files[node][put(root, "repos/env", NEWEST, "env.tar.gz", good)] = good
        data = other if node == "S" else flipped(other, len(other) // 2)
        files[node][put(root, "tracs/env", NEWEST, "env.tar.gz", data)] = data
        files[node][put(root, "svn/broken", NEWEST, "broken.tar.gz", broken)] = broken
        files[node][put(root, "odd/names", NEWEST, HOSTILE, good)] = good
    return {"S": source, "C": copy, "files": files, "good": good, "other": other}


# --- sha256 and gzip over ssh ---------------------------------------------------------------


def test_copy_with_one_flipped_byte_differs_by_sha256_and_the_bad_tarball_is_corrupt(
        tmp_path, server, hub, capsys) -> None:
    cfg = write_config(tmp_path, {
        "S": {"host": "local", "root": str(hub["S"])},
        "C": over_ssh(server, hub["C"])},
        hub={"source": "S", "verify": ["size", "sha256", "gzip"]})
    code, out = collect(cfg, capsys)
    assert code == 0, out
    # every file of the newest folders hashed on both, tested on the source only
    assert ", 4 hashed, 4 tested, 1 failing gzip -t in " in line_of(out, "S")
    assert ", 4 hashed in " in line_of(out, "C")
    store = Store(config.load(cfg).database)
    for node in ("S", "C"):
        verified = store.verified(node)
        assert {p: v.sha256 for p, v in verified.items()} == \
            {p: sha(data) for p, data in hub["files"][node].items()}
    assert store.verified("C")[next(p for p in hub["files"]["C"] if b"/odd/names/" in p)] \
        .sha256 == sha(hub["good"])
    tested = {p: (v.gzip_ok, v.gzip_error) for p, v in store.verified("S").items()}
    assert sorted(tested.values(), key=str) == sorted(
        [(True, None)] * 3 + [(False, "not in gzip format")], key=str)
    assert all(v.gzip_ok is None for v in store.verified("C").values())  # copies: not tested

    s, c = judged(store, hub["S"], hub["C"])
    assert [r.reason for r in s["svn/broken"]] == ["corrupt"]
    assert "broken.tar.gz: not in gzip format" in s["svn/broken"][0].detail
    assert [r.reason for r in c["tracs/env"]] == ["copy-differs"]
    detail = c["tracs/env"][0].detail
    assert sha(hub["other"]) in detail
    assert sha(flipped(hub["other"], len(hub["other"]) // 2)) in detail
    assert c["tracs/env"][0].at == (NEWEST,)
    assert set(s) == {"svn/broken"} and set(c) == {"tracs/env"}  # the rest is healthy


def test_a_second_unchanged_run_hashes_and_tests_nothing_and_opens_no_extra_session(
        tmp_path, server, hub, capsys) -> None:
    cfg = write_config(tmp_path, {"C": over_ssh(server, hub["C"],
                                                verify=["size", "sha256", "gzip"])})
    collect(cfg, capsys)
    store = Store(config.load(cfg).database)
    first = store.verified("C")
    assert len(first) == 4 and all(v.sha256 and v.gzip_ok is not None for v in first.values())
    logins = accepted(server)
    assert logins == 2  # the listing's and the verify step's
    settings = config.load(cfg)
    [result] = collect_all(store, [settings.nodes["C"]])
    assert result.ok and (result.hashed, result.tested, result.verify_problems) == (0, 0, ())
    assert accepted(server) == logins + 1  # the listing only
    assert store.verified("C") == first  # nothing checked again, not even re-stamped

    # a new night: only its files are checked
    new = put(hub["C"], "repos/env", NEWEST + DAY // 2, "env.tar.gz", hub["good"])
    [result] = collect_all(store, [settings.nodes["C"]])
    assert (result.hashed, result.tested) == (1, 1)
    assert store.verified("C")[new].sha256 == sha(hub["good"])


def tools_but(bare: Path, missing: tuple[str, ...]) -> Path:
    """A folder for a PATH with every tool of this machine but ``missing`` (symlinks)."""
    bare.mkdir()
    for folder in ("/usr/local/bin", "/usr/bin", "/bin"):
        for tool in os.listdir(folder):
            if tool not in missing and not os.path.lexists(bare / tool):
                (bare / tool).symlink_to(os.path.join(folder, tool))
    return bare


def test_a_node_without_sha256sum_or_gzip_says_so_once_and_its_listing_stays_good(
        tmp_path, hub, capsys) -> None:
    require_tool(sshd_available())
    # the collecting account's PATH: every tool of this machine but sha256sum and gzip
    bare = tools_but(tmp_path / "bin", ("sha256sum", "gzip"))
    srv = start_sshd(tmp_path / "sshd", extra_config=f"SetEnv PATH={bare}")
    try:
        cfg = write_config(tmp_path, {"C": over_ssh(srv, hub["C"],
                                                    verify=["size", "sha256", "gzip"])})
        code, out = collect(cfg, capsys)
        assert code == 0, out
        line = line_of(out, "C")
        assert line.startswith("C: ok, 6 files (6 new, 0 changed, 0 gone) via find")
        assert line.count("sha256sum not found on C") == 1
        assert ('sha256sum not found on C: install coreutils there (in the PATH of the '
                'collecting account\'s non-interactive shell) or remove "sha256" from its '
                'verify') in line
        assert line.count("gzip not found on C") == 1
        assert "hashed" not in line and "tested" not in line
        store = Store(config.load(cfg).database)
        assert store.verified("C") == {}
        data = store.node_data("C")
        assert [r.state for r in data.runs] == ["ok"] and data.runs[0].error is None
        report = status(cfg, capsys)
        assert all(r["reason"] not in ("unreachable", "stale", "collector-stale")
                   for reasons in findings(report, "C").values() for r in reasons)
    finally:
        srv.stop()


def test_a_missing_sha256sum_is_unverified_in_status_and_the_page_until_the_tool_appears(
        tmp_path, capsys) -> None:
    """Said by collect once, but stored: every later status, mail and page says it too
    (docs/concepts.rst, ``unverified``), until a run finds the tool."""
    require_tool(sshd_available())
    bare = tools_but(tmp_path / "bin", ("sha256sum",))
    srv = start_sshd(tmp_path / "sshd", extra_config=f"SetEnv PATH={bare}")
    root = tmp_path / "C"
    put(root, "repos/env", NEWEST, "env.tar.gz", gzip_mod.compress(os.urandom(5000)))
    hashed = {"C": over_ssh(srv, root, verify=["size", "sha256"])}
    cfg = write_config(tmp_path, hashed)

    def node_findings() -> tuple[int, list[dict[str, Any]]]:
        capsys.readouterr()
        code = cli.main(["-c", str(cfg), "status", "--format", "json"])
        return code, findings(json.loads(capsys.readouterr().out), "C")[""]

    try:
        code, out = collect(cfg, capsys)
        assert code == 0 and "sha256sum not found on C" in line_of(out, "C"), out
        code, [finding] = node_findings()
        assert code == 1  # WARNING: nothing on C is hashed, and status must not say OK
        assert (finding["reason"], finding["level"]) == ("unverified", "warn")
        since = re.fullmatch(r'sha256sum not found on C \(since (\d{4}-\d\d-\d\dT[\d:]{8}Z)\): '
                             r'"sha256" is not checked there; install coreutils \(in the PATH of '
                             r"the collecting account's non-interactive shell\) or remove "
                             r'"sha256" from its verify', finding["detail"])
        assert since, finding["detail"]
        capsys.readouterr()
        assert cli.main(["-c", str(cfg), "status"]) == 1
        assert "unverified" in capsys.readouterr().out
        (tmp_path / "html" / "_static").mkdir(parents=True)  # a built site's output folder
        assert cli.main(["-c", str(cfg), "export", "--outdir", str(tmp_path / "html")]) == 0
        page = json.loads((tmp_path / "html/_static/scmmonitor/data/C.json").read_text())
        assert [r["reason"] for r in page["reasons"]] == ["unverified"]

        # a second run still lacks it: the finding keeps the time it was first seen
        assert collect(cfg, capsys)[0] == 0
        assert node_findings()[1] == [finding]

        # "sha256" taken out of verify: nothing is asked of the node, nothing to say
        write_config(tmp_path, {"C": {**hashed["C"], "verify": ["size"]}})
        assert node_findings() == (0, [])
        write_config(tmp_path, hashed)

        # the tool appears: the next run hashes the backup and the finding is gone
        (bare / "sha256sum").symlink_to(shutil.which("sha256sum") or "/usr/bin/sha256sum")
        code, out = collect(cfg, capsys)
        assert code == 0 and ", 1 hashed in " in line_of(out, "C"), out
        assert node_findings() == (0, [])
    finally:
        srv.stop()


def test_hostile_names_are_hashed_byte_for_byte_and_nothing_in_them_runs(
        tmp_path, server, capsys) -> None:
    root = tmp_path / "C"
    names = [b"it's.tar.gz", b"new\nline.tar.gz", b"latin1-\xe9\xff.tar.gz",
             b"$(touch ran-dollar).tar.gz", b"`touch ran-backtick`.tar.gz",
             b"-n.tar.gz", b"back\\slash.tar.gz", b"sp ace\t\ttab.tar.gz"]
    planted = {put(root, "odd/" + str(i), NEWEST, name, os.urandom(1000 + i)): i
               for i, name in enumerate(names)}
    cfg = write_config(tmp_path, {"C": over_ssh(server, root, verify=["size", "sha256"])})
    code, out = collect(cfg, capsys)
    assert code == 0 and f", {len(names)} hashed in " in line_of(out, "C"), out
    hashed = Store(config.load(cfg).database).verified("C")
    assert {p: v.sha256 for p, v in hashed.items()} == \
        {p: sha(Path(os.fsdecode(p)).read_bytes()) for p in planted}
    assert not list(tmp_path.rglob("ran-*")) and not list(Path.home().glob("ran-*"))


def test_a_file_the_account_cannot_read_is_a_problem_not_a_finding(tmp_path, capsys) -> None:
    from tests.accounts import account, find_shell

    require_tool(sshd_available())
    shared = Path(tempfile.mkdtemp(prefix="scm-verify-"))
    try:
        shared.chmod(0o755)
        root = shared / "C"
        readable = put(root, "a/ok", NEWEST, "ok.tar.gz", gzip_mod.compress(b"fine"))
        secret = put(root, "b/secret", NEWEST, "secret.tar.gz", gzip_mod.compress(b"x"))
        for dirpath, _dirs, _files in os.walk(root):
            os.chmod(dirpath, 0o755)
        os.chmod(readable, 0o644)
        os.chmod(secret, 0o600)  # root's; the collecting account may list it, not read it
        srv = start_sshd(shared / "sshd")
        try:
            with account(find_shell("bash"), shared) as user:
                node = over_ssh(srv, root, user=user.name, verify=["size", "sha256", "gzip"])
                cfg = write_config(tmp_path, {"C": node})
                code, out = collect(cfg, capsys)
        finally:
            srv.stop()
        assert code == 0, out
        line = line_of(out, "C")
        assert ", 1 hashed, 1 tested in " in line
        assert re.search(r"could not read 1 file\(s\) to verify: \S*/secret\.tar\.gz: "
                         r"Permission denied; the collecting account must be able to read",
                         line), line
        verified = Store(config.load(cfg).database).verified("C")
        assert list(verified) == [readable] and verified[readable].gzip_ok is True
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def test_verify_over_ssh_stops_at_command_timeout_and_keeps_what_it_checked(
        tmp_path, server, capsys) -> None:
    root = tmp_path / "C"
    small = put(root, "a/small", NEWEST, "small.tar.gz", b"small")
    big = folder_of(root, "z/big", NEWEST) / "big.tar.gz"
    big.parent.mkdir(parents=True)
    with open(big, "wb") as fh:
        fh.truncate(3 * 1024**3)  # sparse: several seconds of sha256sum, no disk
    cfg = write_config(tmp_path, {"C": over_ssh(server, root, verify=["size", "sha256"],
                                                command_timeout=2)})
    t0 = time.monotonic()
    code, out = collect(cfg, capsys)
    took = time.monotonic() - t0
    assert code == 0, out
    line = line_of(out, "C")
    assert "verify: timed out after 2 s (command_timeout); what was checked is kept " \
           "(1 hashed, 0 tested), the rest is checked next run" in line
    assert ", 1 hashed in " in line
    assert took < 2 + 2 + 6, took  # listing and verify each within command_timeout
    assert list(Store(config.load(cfg).database).verified("C")) == [small]


# --- this machine's own disk ----------------------------------------------------------------


def test_a_local_source_is_hashed_and_tested_in_process(tmp_path, hub, capsys) -> None:
    cfg = write_config(tmp_path, {"S": {"host": "local", "root": str(hub["S"]),
                                        "verify": ["size", "sha256", "gzip"]}})
    code, out = collect(cfg, capsys)
    assert code == 0 and ", 4 hashed, 4 tested, 1 failing gzip -t in " in line_of(out, "S")
    verified = Store(config.load(cfg).database).verified("S")
    assert {p: v.sha256 for p, v in verified.items()} == \
        {p: sha(data) for p, data in hub["files"]["S"].items()}
    assert sorted((v.gzip_ok, v.gzip_error) for v in verified.values()
                  if not v.gzip_ok) == [(False, "not in gzip format")]
    code, out = collect(cfg, capsys)
    assert "hashed" not in line_of(out, "S") and "tested" not in line_of(out, "S")


def test_local_verify_stops_at_command_timeout(tmp_path, capsys) -> None:
    root = tmp_path / "S"
    big = folder_of(root, "big", NEWEST) / "big.tar.gz"
    big.parent.mkdir(parents=True)
    with open(big, "wb") as fh:
        fh.truncate(64 * 1024**3)  # sparse: a minute of hashing, no disk
    cfg = write_config(tmp_path, {"S": {"host": "local", "root": str(root),
                                        "verify": ["size", "sha256"], "command_timeout": 1}})
    t0 = time.monotonic()
    code, out = collect(cfg, capsys)
    assert code == 0 and time.monotonic() - t0 < 8
    assert "verify: timed out after 1 s; what was checked is kept" in line_of(out, "S")
    assert Store(config.load(cfg).database).verified("S") == {}


# --- the local gzip test says what gzip -t says -------------------------------------------------


def _cases(tmp_path: Path) -> dict[str, bytes]:
    good = tarball(tmp_path, 7)
    member = gzip_mod.compress(b"second member\n" * 100)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("big")
        payload = os.urandom(200_000)
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    return {
        "healthy": good,
        "two members": good + member,
        "trailing zeros": good + b"\0" * 512,
        "trailing garbage": good + b"garbage!",
        "truncated": good[: len(good) * 9 // 10],
        "crc flipped": flipped(buf.getvalue(), len(buf.getvalue()) - 6),
        "data flipped": flipped(buf.getvalue(), len(buf.getvalue()) // 2),
        "not gzip": os.urandom(5000),
        "empty": b"",
        "magic only": b"\x1f\x8b",
    }


def test_the_local_gzip_test_agrees_with_real_gzip_t(tmp_path) -> None:
    require_tool(None if shutil.which("gzip") else "gzip not found: apt-get install gzip")
    for name, data in _cases(tmp_path).items():
        real = subprocess.run(["gzip", "-t"], input=data, capture_output=True)
        passes = real.returncode in (0, 2)
        ours = gzip_error(io.BytesIO(data))
        assert (ours is None) == passes, (name, ours, real.stderr)
        if not passes:
            said = real.stderr.decode().strip().removeprefix("gzip: stdin: ")
            assert ours == said or ours.split("--")[0] == said.split("--")[0], (name, ours, said)
