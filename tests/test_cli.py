"""``scm-monitor``: usage errors, every exit status, and the installed script end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sphinxcontrib_scmmonitor import cli
from sphinxcontrib_scmmonitor.pictures import write_manifest
from tests.helpers.backups import DAY, collect, plant, today_at, write_config

VENV_BIN = Path(sys.executable).parent


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def healthy(tmp_path: Path, **node: object) -> tuple[Path, Path]:
    """A node C with a fresh, steady series; returns (config, backup root)."""
    root = tmp_path / "backup"
    for day in range(3):
        plant(root, "repos/env", today_at() - day * DAY, "env.tar.gz", 1000 + day)
    return write_config(tmp_path, {"C": {"root": str(root), **node}}), root


# --- usage ----------------------------------------------------------------------------------


def test_no_command_prints_help_and_exits_2(capsys) -> None:
    code, out, _err = run([], capsys)
    assert code == 2
    assert "usage: scm-monitor" in out and "collect" in out and "db upgrade" in out


def test_unknown_command_exits_2_with_usage(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["frobnicate"])
    assert info.value.code == 2
    assert "invalid choice: 'frobnicate'" in capsys.readouterr().err


def test_db_without_an_action_exits_2(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["db"])
    assert info.value.code == 2
    assert "give an action: upgrade" in capsys.readouterr().err


def test_export_without_outdir_exits_2(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["export"])
    assert info.value.code == 2
    assert "--outdir" in capsys.readouterr().err


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("scm-monitor ")


@pytest.mark.parametrize("command", [["collect"], ["export", "--outdir", "x"]])
def test_unknown_node_on_the_command_line_exits_2(tmp_path, capsys, command) -> None:
    cfg, _root = healthy(tmp_path)
    code, out, err = run(["-c", str(cfg), *command, "C", "Nope"], capsys)
    assert code == 2
    assert out == ""
    assert err == f"scm-monitor: {cfg}: unknown node 'Nope' (configured: C)\n"


def test_status_of_a_node_no_longer_configured_is_unknown_on_its_one_line(tmp_path,
                                                                          capsys) -> None:
    # a Nagios service `status C H1` after H1 was retired from the config: UNKNOWN with
    # the reason, not CRITICAL with no output
    cfg, _root = healthy(tmp_path)
    code, out, err = run(["-c", str(cfg), "status", "C", "H1"], capsys)
    assert (code, err) == (3, "")
    assert out == f"SCM BACKUPS UNKNOWN: {cfg}: unknown node 'H1' (configured: C)\n"


@pytest.mark.parametrize(("args", "said"), [
    (["--format", "bogus"], "argument --format: invalid choice: 'bogus'"),
    (["--bogus"], "unrecognized arguments: --bogus"),
])
def test_a_usage_error_of_status_is_unknown_with_the_message_on_stdout(
        tmp_path, args, said) -> None:
    cfg, _root = healthy(tmp_path)
    # as Nagios runs it: a whole process
    done = subprocess.run([sys.executable, "-m", "sphinxcontrib_scmmonitor.cli", "-c",
                           str(cfg), "status", *args], capture_output=True, text=True,
                          timeout=60)
    code, out, err = done.returncode, done.stdout, done.stderr
    assert code == 3
    assert out.startswith(f"SCM BACKUPS UNKNOWN: usage error: {said}")
    assert out.count("\n") == 1
    assert err.startswith("usage: scm-monitor")


def test_collect_exits_2_when_the_store_cannot_be_opened(tmp_path, capsys) -> None:
    (tmp_path / "file").write_text("")
    cfg = write_config(tmp_path, {"C": {"root": str(tmp_path)}},
                       database=f"sqlite:///{tmp_path}/file/store.db")
    code, _out, err = run(["-c", str(cfg), "collect"], capsys)
    assert code == 2
    assert err.startswith("scm-monitor: cannot create database file ")


# --- status: Nagios exit codes -----------------------------------------------------------------


def test_status_0_when_everything_is_fresh(tmp_path, capsys) -> None:
    cfg, _root = healthy(tmp_path)
    assert collect(cfg) == 0
    capsys.readouterr()
    code, out, _err = run(["-c", str(cfg), "status"], capsys)
    assert code == 0
    assert out.startswith("SCM BACKUPS OK: 1 node(s) ok")


def test_status_1_when_the_newest_backup_shrank(tmp_path, capsys) -> None:
    cfg, root = healthy(tmp_path)
    plant(root, "repos/env", today_at() + 1, "env.tar.gz", 10)
    assert collect(cfg) == 0
    capsys.readouterr()
    code, out, _err = run(["-c", str(cfg), "status"], capsys)
    assert code == 1
    assert out.startswith("SCM BACKUPS WARNING: C warn")
    assert "shrunk" in out


def test_status_1_when_the_latest_collection_failed(tmp_path, capsys) -> None:
    cfg, root = healthy(tmp_path)
    assert collect(cfg) == 0
    root.rename(tmp_path / "away")
    assert collect(cfg) == 1
    capsys.readouterr()
    code, out, _err = run(["-c", str(cfg), "status", "--format", "json"], capsys)
    assert code == 1
    doc = json.loads(out)
    assert doc["exit_code"] == 1
    assert doc["nodes"][0]["reasons"][0]["reason"] == "unreachable"


def test_status_2_when_a_series_is_stale(tmp_path, capsys) -> None:
    root = tmp_path / "backup"
    plant(root, "svn/dybsvn", today_at() - 10 * DAY, "dybsvn.tar.gz", 5)
    cfg = write_config(tmp_path, {"C": {"root": str(root)}})
    assert collect(cfg) == 0
    capsys.readouterr()
    code, out, _err = run(["-c", str(cfg), "status"], capsys)
    assert code == 2
    assert out.startswith("SCM BACKUPS CRITICAL: C alarm")


def test_status_2_when_a_node_was_never_collected(tmp_path, capsys) -> None:
    cfg, _root = healthy(tmp_path)
    assert cli.main(["-c", str(cfg), "db", "upgrade"]) == 0
    code, out, _err = run(["-c", str(cfg), "status"], capsys)
    assert code == 2
    assert "collector-stale" in out and "never collected" in out


def test_status_3_when_there_is_no_store_yet(tmp_path, capsys) -> None:
    cfg, _root = healthy(tmp_path)
    code, out, _err = run(["-c", str(cfg), "status"], capsys)
    assert code == 3
    assert out.startswith("SCM BACKUPS UNKNOWN") and "scm-monitor collect" in out
    assert not (tmp_path / "store.db").exists()


def test_status_3_when_the_store_cannot_be_read(tmp_path, capsys) -> None:
    (tmp_path / "file").write_text("")
    cfg = write_config(tmp_path, {"C": {"root": "/b"}}, database=f"sqlite:///{tmp_path}/file/x.db")
    code, out, _err = run(["-c", str(cfg), "status"], capsys)
    assert code == 3
    assert out.startswith("SCM BACKUPS UNKNOWN: cannot read the store: ")


def test_status_output_file_holds_names_that_are_not_ascii(tmp_path, capsys) -> None:
    root = tmp_path / "backup"
    plant(root, "grüezi/env", today_at(), "env.tar.gz", 5)
    cfg = write_config(tmp_path, {"C": {"root": str(root)}})
    assert collect(cfg) == 0
    capsys.readouterr()
    report = tmp_path / "status.txt"
    code, out, _err = run(["-c", str(cfg), "status", "--output", str(report)], capsys)
    assert (code, out) == (0, "")
    assert "grüezi/env" in report.read_text(encoding="utf-8")


# --- the installed script -----------------------------------------------------------------------


def test_installed_script_collects_exports_and_reports_without_a_tty(tmp_path) -> None:
    cfg, root = healthy(tmp_path)
    missing = tmp_path / "gone"
    cfg = write_config(tmp_path, {"C": {"root": str(root)}, "H1": {"root": str(missing)}})
    script = str(VENV_BIN / "scm-monitor")
    (tmp_path / "html" / "_static").mkdir(parents=True)  # --export needs a built site
    # whose last build listed the nodes its pages show (without: one warning more)
    write_manifest(tmp_path / "html", {}, nodes=["C", "H1"])

    proc = subprocess.run([script, "collect", "--export", str(tmp_path / "html"), "-c", str(cfg)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          stdin=subprocess.DEVNULL)

    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert any(line.startswith("C: ok, 3 files (3 new, 0 changed, 0 gone) via local in ")
               for line in lines), proc.stdout
    assert any(line.startswith("H1: FAILED") and f"backup root {missing} does not exist" in line
               for line in lines), proc.stdout
    assert "\x1b[" not in proc.stdout  # no terminal control codes for cron mail
    assert proc.stderr.strip() == "scm-monitor: 1 of 2 node(s) failed: H1"
    assert (tmp_path / "html/_static/scmmonitor/data/C.json").exists()

    status = subprocess.run([script, "-c", str(cfg), "status", "C"], capture_output=True,
                            text=True, timeout=60)
    assert status.returncode == 0, status.stdout


def test_help_loads_neither_the_store_nor_ssh() -> None:
    """--help and config errors answer at once: the store, SSH and rich load per command."""
    probe = ("import sys; from sphinxcontrib_scmmonitor import cli; cli.build_parser(); "
             "print(sorted({m.split('.')[0] for m in sys.modules} & "
             "{'sqlalchemy', 'alembic', 'paramiko', 'rich', 'sphinx'}))")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60, check=True)
    assert proc.stdout.strip() == "[]"


# --- a wrong export folder is never silent (docs/cli.rst, docs/troubleshooting.rst) ------------


def test_export_refuses_a_folder_that_does_not_exist(tmp_path: Path, capsys) -> None:
    cfg, _root = healthy(tmp_path)
    assert collect(cfg) == 0
    capsys.readouterr()
    missing = tmp_path / "nonexistent" / "html"

    code, _out, err = run(["-c", str(cfg), "export", "--outdir", str(missing)], capsys)

    assert code == 2
    assert f"--outdir {missing}: does not exist" in err and "nothing was written" in err
    assert not missing.exists() and not missing.parent.exists()


def test_export_refuses_a_folder_that_is_not_a_sphinx_output(tmp_path: Path, capsys) -> None:
    cfg, _root = healthy(tmp_path)
    assert collect(cfg) == 0
    build = tmp_path / "_build"  # the parent of the HTML output: the easy slip
    (build / "html" / "_static").mkdir(parents=True)
    capsys.readouterr()

    code, _out, err = run(["-c", str(cfg), "export", "--outdir", str(build)], capsys)

    assert code == 2
    assert err == (f"scm-monitor: export: --outdir {build}: has no _static/ folder, so it is "
                   "not a Sphinx HTML output and no page there would read what is written "
                   f"(did you mean {build / 'html'}?); nothing was written\n")
    assert sorted(p.name for p in build.iterdir()) == ["html"]
    # collect --export: the collection is stored, the cron mail says why the page did not
    code, _out, err = run(["-c", str(cfg), "collect", "--progress", "lines", "--export",
                           str(build)], capsys)
    assert code == 1
    assert "has no _static/ folder" in err and "the collection was stored" in err
    # the real output folder, without the list of nodes a build of this release leaves:
    # written, with that one warning
    html = build / "html"
    code, _out, err = run(["-c", str(cfg), "export", "--outdir", str(html)], capsys)
    assert code == 0 and err.count("warning") == 1 and "pictures.json was not found" in err
    assert (html / "_static" / "scmmonitor" / "data" / "C.json").is_file()
    # a site a build of this release wrote: no warning
    write_manifest(html, {}, nodes=["C"])
    code, _out, err = run(["-c", str(cfg), "export", "--outdir", str(html)], capsys)
    assert code == 0 and err == ""


def test_collect_with_a_missing_export_folder_stores_and_exits_1(tmp_path: Path,
                                                                 capsys) -> None:
    cfg, _root = healthy(tmp_path)
    missing = tmp_path / "typo" / "html"

    code = collect(cfg, "--export", str(missing))

    out, err = capsys.readouterr()
    assert code == 1
    assert "C: ok" in out
    assert f"--export {missing}: does not exist" in err and "the collection was stored" in err
    assert not missing.exists()
    code, out, _err = run(["-c", str(cfg), "status"], capsys)
    assert code == 0 and "repos/env" in out  # the collection is in the store


def test_notify_dry_run_writes_the_html_part_to_a_file(tmp_path: Path, capsys) -> None:
    root = tmp_path / "backup"
    plant(root, "repos/env", today_at() - 5 * DAY, "env.tar.gz", 1000)  # stale: an alarm
    cfg = write_config(tmp_path, {"C": {"root": str(root)}})
    cfg.write_text(cfg.read_text().replace('[hubs."cms02"]\n',
                                           '[hubs."cms02"]\nemail = ["ops@example.org"]\n'))
    assert collect(cfg) == 0
    capsys.readouterr()
    page = tmp_path / "mail.html"

    code, out, _err = run(["-c", str(cfg), "notify", "--dry-run", "--html", str(page)], capsys)

    assert code == 0
    assert f"wrote the HTML part to {page}" in out
    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>") and "repos/env" in html
    # the table's words are status's (alarm), the heading status's first-line word
    assert ">alarm</td>" in html and "CRITICAL" in html
    code, _out, err = run(["-c", str(cfg), "notify", "--html", str(page)], capsys)
    assert code == 2 and "give --dry-run too" in err
