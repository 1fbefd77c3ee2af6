"""``scm-monitor init``: the written file loads, lists every key, and --probe reads real trees."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import sys
import time
import tomllib
from pathlib import Path

import pytest

from sphinxcontrib_scmmonitor import cli, config
from sphinxcontrib_scmmonitor.cli import init, probe
from sphinxcontrib_scmmonitor.config import SCHEMA

DAY = 86400


def plant(root: Path, series: str, when: float, name: str, size: int,
          layout: str = "%Y/%m/%d/%H%M%S") -> Path:
    folder = root / series / time.strftime(layout, time.gmtime(when))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with open(path, "wb") as fh:
        fh.truncate(size)
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """Three series, a checksum beside every tarball, a stray undated file and a symlink."""
    root = tmp_path / "backup" / "cms02"
    now = time.time() - 3600
    for series, name, size in (("tracs/env", "env.tar.gz", 5_000_000),
                               ("repos/env", "env.tar.gz", 80_000_000),
                               ("svn/dybsvn", "dybsvn.tar.gz", 2_000_000_000)):
        for day in range(4):
            tarball = plant(root, series, now - day * DAY, name, size + day)
            (tarball.parent / (name + ".md5")).write_text("d41d8cd98f00b204e9800998ecf8427e\n")
    (root / "stray.tar.gz").write_bytes(b"x")
    (root / "tracs" / "env" / "last").symlink_to(root / "tracs" / "env")
    return root


def uncomment_all(text: str) -> str:
    """Every ``#key = value`` line of a schema key made active."""
    names = "|".join(k.name for k in SCHEMA)
    return re.sub(rf"^#(({names}) = .*)$", r"\1", text, flags=re.MULTILINE)


# --- the plain template --------------------------------------------------------------------------


def test_init_writes_a_file_that_loads_and_lists_every_key(tmp_path: Path, capsys) -> None:
    target = tmp_path / "scmmonitor.toml"

    assert cli.main(["init", str(target)]) == 0

    text = target.read_text()
    settings = config.load(target)
    assert list(settings.nodes) == ["C"] and list(settings.hubs) == ["cms02"]
    for key in SCHEMA:
        assert re.search(rf"^#?{key.name} = ", text, re.MULTILINE), key.name
        assert key.help in text, key.name
    # optional keys are commented out, required ones are set
    for key in SCHEMA:
        active = re.search(rf"^{key.name} = ", text, re.MULTILINE) is not None
        assert active == key.required, key.name
    assert "collect" in capsys.readouterr().out


def test_every_commented_default_is_valid_when_uncommented(tmp_path: Path) -> None:
    text = uncomment_all(init.render())
    path = tmp_path / "all.toml"
    path.write_text(text)

    settings = config.load(path)

    node = settings.nodes["C"]
    for key in SCHEMA:
        if key.levels == config.INHERITED and key.name != "select":
            assert getattr(node, key.name) is not None
    assert node.select == ("repos/env", "tracs/env")


def test_existing_file_is_refused_without_force(tmp_path: Path, capsys) -> None:
    target = tmp_path / "scmmonitor.toml"
    target.write_text("# mine\n")

    assert cli.main(["init", str(target)]) == 2

    err = capsys.readouterr().err
    assert str(target) in err and "--force" in err and "nothing was written" in err
    assert target.read_text() == "# mine\n"

    assert cli.main(["init", str(target), "--force"]) == 0
    config.load(target)


def test_existing_file_is_refused_before_a_probe_runs(tmp_path: Path, capsys) -> None:
    target = tmp_path / "scmmonitor.toml"
    target.write_text("# mine\n")

    status = cli.main(["init", str(target), "--probe", "local", str(tmp_path / "nope")])

    assert status == 2
    assert "probing" not in capsys.readouterr().err


def test_path_defaults_to_config_option_then_env_then_cwd(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(config.ENV_VAR, raising=False)
    assert cli.main(["init"]) == 0
    assert (tmp_path / "scmmonitor.toml").exists()

    monkeypatch.setenv(config.ENV_VAR, str(tmp_path / "env.toml"))
    assert cli.main(["init"]) == 0
    assert (tmp_path / "env.toml").exists()

    assert cli.main(["-c", str(tmp_path / "opt.toml"), "init"]) == 0
    assert (tmp_path / "opt.toml").exists()


def test_dash_prints_the_file_and_writes_nothing(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)

    assert cli.main(["init", "-"]) == 0

    out = capsys.readouterr().out
    config.parse(tomllib.loads(out))
    assert list(tmp_path.iterdir()) == []


def test_init_needs_no_existing_config(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(config.ENV_VAR, str(tmp_path / "missing" / "scmmonitor.toml"))

    assert cli.main(["init"]) == 0  # other commands would stop at "file not found"

    config.load(tmp_path / "missing" / "scmmonitor.toml")


def test_bad_hub_name_is_a_usage_error(tmp_path: Path, capsys) -> None:
    assert cli.main(["init", str(tmp_path / "x.toml"), "--hub", "no/slash"]) == 2
    assert "--hub" in capsys.readouterr().err
    assert not (tmp_path / "x.toml").exists()


def test_help_has_examples(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["init", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--probe HOST ROOT" in out and "examples:" in out and "--force" in out


# --- probing -----------------------------------------------------------------------------------


def test_probe_local_proposes_layout_pattern_series_and_select(tree: Path, tmp_path: Path,
                                                               capsys) -> None:
    target = tmp_path / "scmmonitor.toml"

    assert cli.main(["init", str(target), "--probe", "local", str(tree)]) == 0

    out = capsys.readouterr().out
    assert "date_layout = '%Y/%m/%d/%H%M%S'" in out
    assert "pattern = '*.gz'" in out and "*.md5" in out  # the checksums lose the tie on size
    for series in ("repos/env", "svn/dybsvn", "tracs/env"):
        assert re.search(rf"^  {re.escape(series)} +4 ", out, re.MULTILINE), out
    assert "1 file(s) match the pattern but have no date part" in out
    assert "stray.tar.gz" in out
    settings = config.load(target)
    node = settings.nodes["local"]
    assert node.root == str(tree) and node.host == "local" and node.hub == "cms02"
    assert settings.hubs["cms02"].select == ("repos/env", "svn/dybsvn", "tracs/env")
    assert node.date_layout == "%Y/%m/%d/%H%M%S" and node.pattern == "*.gz"


def test_probed_config_collects_what_the_probe_showed(tree: Path, tmp_path: Path) -> None:
    target = tmp_path / "scmmonitor.toml"
    assert cli.main(["init", str(target), "--probe", "local", str(tree), "--node", "C"]) == 0

    assert cli.main(["-c", str(target), "collect", "--progress", "lines"]) == 0

    with sqlite3.connect(tmp_path / "scmmonitor.db") as conn:
        series = {row[0] for row in conn.execute("select name from series")}
        (files,) = conn.execute("select count(*) from backups").fetchone()
    assert series == {"repos/env", "svn/dybsvn", "tracs/env"}
    assert files == 12
    assert cli.main(["-c", str(target), "status"]) == 0


def test_probe_finds_another_layout_and_pattern(tmp_path: Path, capsys) -> None:
    root = tmp_path / "dumps"
    now = time.time() - 3600
    for day in range(6):
        plant(root, "git/gitea", now - day * DAY, "gitea.tar.xz", 1000 + day, "%Y-%m-%d")
        plant(root, "svn/main", now - day * DAY, "main.svndump.xz", 9000 + day, "%Y-%m-%d")
    target = tmp_path / "scmmonitor.toml"

    assert cli.main(["init", str(target), "--probe", "local", str(root), "--hub", "gitea1"]) == 0

    settings = config.load(target)
    node = next(iter(settings.nodes.values()))
    assert node.date_layout == "%Y-%m-%d" and node.pattern == "*.xz"
    assert settings.hubs["gitea1"].select == ("git/gitea", "svn/main")
    assert cli.main(["-c", str(target), "collect", "--progress", "lines"]) == 0


def test_probe_of_a_tree_without_dates_keeps_the_default_and_says_so(tmp_path: Path,
                                                                     capsys) -> None:
    root = tmp_path / "flat"
    root.mkdir()
    (root / "a.tar.gz").write_bytes(b"x")

    assert cli.main(["init", str(tmp_path / "c.toml"), "--probe", "local", str(root)]) == 0

    out = capsys.readouterr().out
    assert "no file has dated folders" in out and "set it by hand" in out
    config.load(tmp_path / "c.toml")


def test_probe_of_a_missing_root_fails_and_writes_nothing(tmp_path: Path, capsys) -> None:
    target = tmp_path / "scmmonitor.toml"

    assert cli.main(["init", str(target), "--probe", "local", str(tmp_path / "nope")]) == 1

    err = capsys.readouterr().err
    assert "cannot list" in err and str(tmp_path / "nope") in err and "does not exist" in err
    assert not target.exists()


def test_probe_with_a_relative_root_is_a_usage_error(tmp_path: Path, capsys) -> None:
    assert cli.main(["init", str(tmp_path / "c.toml"), "--probe", "local", "backup"]) == 2
    assert "absolute path" in capsys.readouterr().err


@pytest.mark.parametrize(("target", "expected"), [
    ("cms01.example.org", ("", "cms01.example.org", 0)),
    ("root@cms01", ("root", "cms01", 0)),
    ("root@cms01:2222", ("root", "cms01", 2222)),
    ("[::1]:2222", ("", "::1", 2222)),
    ("::1", ("", "::1", 0)),
    ("local", ("", "local", 0)),
])
def test_split_target(target: str, expected: tuple[str, str, int]) -> None:
    assert probe.split_target(target) == expected


def test_implausible_dates_do_not_win_the_layout_vote() -> None:
    root = "/b"
    # "%Y%m%d" would read the time folder 150214 as the year 1502: it must not count
    files = [(f"/b/s/2024/03/0{d}/150214/s.gz".encode(), 10, 0.0) for d in range(1, 8)]

    result = probe.analyse(files, root)

    assert result.layout == "%Y/%m/%d/%H%M%S"
    assert result.layout_counts["%Y%m%d"] == 0
    assert [s.name for s in result.series] == ["s"] and result.series[0].backups == 7


def test_files_of_one_folder_are_one_backup() -> None:
    files = [(b"/b/svn/2024/03/01/010203/a.gz", 10, 0.0),
             (b"/b/svn/2024/03/01/010203/b.gz", 5, 0.0)]

    (series,) = probe.analyse(files, "/b").series

    assert (series.backups, series.files, series.newest_size) == (1, 2, 15)


def test_control_characters_in_names_never_reach_the_terminal(capsys) -> None:
    files = [(b"/b/evil\x1b[2J\n/2024/03/01/010203/a.gz", 10, 0.0)]
    result = probe.analyse(files, "/b")
    result.host = "local"

    probe.report(result, sys.stdout)

    out = capsys.readouterr().out
    assert "\x1b" not in out and "evil\\x1b[2J\\x0a" in out


def test_odd_names_are_shown_but_not_proposed() -> None:
    files = [(b"/b/ok/2024/03/01/010203/a.gz", 10, 0.0),
             (b"/b/bad\xff/2024/03/01/010203/a.gz", 10, 0.0)]

    result = probe.analyse(files, "/b")

    assert [s.name for s in result.series] == ["bad\\xff", "ok"]
    assert result.select == ["ok"]


# --- probing over SSH (a real sshd on 127.0.0.1) ------------------------------------------------


def ssh_home(tmp_path: Path, sshd, *, known: bool = True, alias: str | None = None) -> Path:
    """A HOME whose ~/.ssh is what a first-time operator would have."""
    home = tmp_path / "home"
    dot_ssh = home / ".ssh"
    dot_ssh.mkdir(parents=True, mode=0o700)
    (dot_ssh / "known_hosts").write_text(sshd.known_hosts.read_text() if known else "")
    lines = [f"Host {alias or sshd.host}", f"  IdentityFile {sshd.identity_file}"]
    if alias:
        lines += [f"  HostName {sshd.host}", f"  Port {sshd.port}", f"  User {sshd.user}"]
    (dot_ssh / "config").write_text("\n".join(lines) + "\n")
    return home


@pytest.fixture
def no_agent(monkeypatch) -> None:
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)


def test_probe_over_ssh_with_an_ssh_config_alias(sshd, tree, tmp_path, monkeypatch,
                                                 no_agent, capsys) -> None:
    monkeypatch.setenv("HOME", str(ssh_home(tmp_path, sshd, alias="backupnode")))
    target = tmp_path / "scmmonitor.toml"

    assert cli.main(["init", str(target), "--probe", "backupnode", str(tree)]) == 0

    out = capsys.readouterr().out
    assert "via find" in out
    settings = config.load(target)
    node = settings.nodes["backupnode"]
    assert node.host == "backupnode" and node.port == 0 and node.user == ""
    assert settings.hubs["cms02"].select == ("repos/env", "svn/dybsvn", "tracs/env")
    # and collect, with the same ~/.ssh, sees what the probe saw
    assert cli.main(["-c", str(target), "collect", "--progress", "lines"]) == 0


def test_probe_over_ssh_with_user_and_port(sshd, tree, tmp_path, monkeypatch, no_agent,
                                           capsys) -> None:
    monkeypatch.setenv("HOME", str(ssh_home(tmp_path, sshd)))
    target = tmp_path / "scmmonitor.toml"
    spec = f"{sshd.user}@{sshd.host}:{sshd.port}"

    assert cli.main(["init", str(target), "--probe", spec, str(tree), "--node", "C"]) == 0

    node = config.load(target).nodes["C"]
    assert (node.host, node.port, node.user) == (sshd.host, sshd.port, sshd.user)


def test_probe_refuses_an_unknown_host_key_with_the_keyscan_line(sshd, tree, tmp_path,
                                                                  monkeypatch, no_agent,
                                                                  capsys) -> None:
    home = ssh_home(tmp_path, sshd, known=False)
    monkeypatch.setenv("HOME", str(home))
    target = tmp_path / "scmmonitor.toml"

    status = cli.main(["init", str(target), "--probe", f"{sshd.host}:{sshd.port}", str(tree)])

    assert status == 1
    err = capsys.readouterr().err
    assert "is not known" in err
    assert f"ssh-keyscan -p {sshd.port} -t ed25519 {sshd.host}" in err
    assert not target.exists()
    assert (home / ".ssh" / "known_hosts").read_text() == ""


def test_probe_of_a_node_without_gnu_find_uses_sftp(tree, tmp_path, monkeypatch, no_agent,
                                                   capsys) -> None:
    from tests.sshd import require_tool, sshd_available, start_sshd

    require_tool(sshd_available())
    busybox = shutil.which("busybox") or "/bin/busybox"
    require_tool(None if os.path.exists(busybox) else "busybox not installed")
    bin_dir = tmp_path / "bb"
    bin_dir.mkdir()
    (bin_dir / "find").symlink_to(busybox)
    server = start_sshd(tmp_path / "sshd-bb", path_prefix=bin_dir)
    try:
        monkeypatch.setenv("HOME", str(ssh_home(tmp_path, server)))
        spec = f"{server.host}:{server.port}"
        assert cli.main(["init", "-", "--probe", spec, str(tree)]) == 0
    finally:
        server.stop()

    captured = capsys.readouterr()
    assert "via sftp" in captured.err
    assert 'select = ["repos/env", "svn/dybsvn", "tracs/env"]' in captured.out


def test_a_file_that_cannot_be_written_exits_2_not_the_probe_failures_1(tmp_path, capsys) -> None:
    from sphinxcontrib_scmmonitor.cli import exits

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    target = blocker / "scmmonitor.toml"
    assert cli.main(["init", str(target)]) == exits.USAGE == 2
    err = capsys.readouterr().err
    assert err.startswith(f"scm-monitor init: cannot create {blocker}: ")
    assert not target.exists() and blocker.read_text() == ""


# --- --add: one more node, everything else byte for byte ---------------------------------------


def test_add_appends_one_node_and_keeps_every_byte_of_the_file(tmp_path: Path, tree: Path,
                                                               capsys) -> None:
    target = tmp_path / "scmmonitor.toml"
    assert cli.main(["init", str(target), "--probe", "local", str(tree), "--node", "C"]) == 0
    # the operator's own edits: comments, odd spacing, a mail block, no final newline
    edited = target.read_bytes().replace(
        b"[hubs.cms02]\n", b"[hubs.cms02]\nemail = [ \"ops@example.org\" ]   # who\n", 1)
    edited += b"\n# my note, with trailing spaces   \n[nodes.C2]\nhub='cms02'\nhost=\"local\"\n" \
              + f"root = {str(tree)!r}".encode()
    target.write_bytes(edited)
    target.chmod(0o640)
    before = target.read_bytes()

    assert cli.main(["init", str(target), "--probe", "local", str(tree), "--node", "H1",
                     "--add"]) == 0

    after = target.read_bytes()
    assert after[:len(before)] == before  # the untouched part, byte for byte
    added = after[len(before):].decode()
    assert added.startswith("\n\n# added by `scm-monitor init --add`")
    assert "[hubs." not in added  # the hub exists: only the node's table
    settings = config.load(target)
    assert set(settings.nodes) == {"C", "C2", "H1"}
    assert settings.nodes["H1"].root == str(tree) and settings.nodes["H1"].hub == "cms02"
    assert settings.hubs["cms02"].email == ("ops@example.org",)
    assert target.stat().st_mode & 0o777 == 0o640
    assert "added [nodes.H1]" in capsys.readouterr().out


def test_add_refuses_a_node_that_is_already_there_before_probing(tmp_path: Path, tree: Path,
                                                                 capsys) -> None:
    target = tmp_path / "scmmonitor.toml"
    assert cli.main(["init", str(target), "--probe", "local", str(tree), "--node", "C"]) == 0
    before = target.read_bytes()
    capsys.readouterr()

    assert cli.main(["init", str(target), "--probe", "local", str(tmp_path / "nowhere"),
                     "--node", "C", "--add"]) == 2

    err = capsys.readouterr().err
    assert "node 'C' is already in" in err and "nothing was added" in err
    assert "cannot list" not in err  # refused before the probe
    assert target.read_bytes() == before


def test_add_to_a_missing_file_says_to_run_without_add(tmp_path: Path, tree: Path,
                                                       capsys) -> None:
    target = tmp_path / "scmmonitor.toml"
    assert cli.main(["init", str(target), "--probe", "local", str(tree), "--add"]) == 2
    assert "run without --add" in capsys.readouterr().err
    assert not target.exists()


def test_add_writes_a_new_hub_and_a_differing_pattern_into_the_new_tables(tmp_path: Path,
                                                                          capsys) -> None:
    target = tmp_path / "scmmonitor.toml"
    gz = tmp_path / "gz" / "cms02"
    xz = tmp_path / "xz" / "gitea01"
    now = time.time() - 3600
    plant(gz, "repos/env", now, "env.tar.gz", 10)
    plant(xz, "git/all", now, "all.tar.xz", 10)
    assert cli.main(["init", str(target), "--probe", "local", str(gz), "--node", "C"]) == 0
    before = target.read_bytes()

    assert cli.main(["init", str(target), "--probe", "local", str(xz), "--node", "G",
                     "--hub", "gitea01", "--add"]) == 0

    assert target.read_bytes().startswith(before)
    settings = config.load(target)
    assert settings.nodes["G"].pattern == "*.xz" and settings.nodes["C"].pattern == "*.gz"
    assert settings.hubs["gitea01"].select == ("git/all",)


def test_probe_points_out_a_series_whose_newest_backup_is_days_old(tmp_path: Path,
                                                                  capsys) -> None:
    root = tmp_path / "backup" / "cms02"
    now = time.time()
    plant(root, "repos/env", now - 3600, "env.tar.gz", 10)
    plant(root, "svn/old", now - 5 * DAY, "old.tar.gz", 10)

    assert cli.main(["init", "-", "--probe", "local", str(root)]) == 0

    err = capsys.readouterr().err
    assert "note: the newest backup of svn/old is already 5 d old" in err
    assert "repos/env is already" not in err
