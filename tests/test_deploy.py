"""docs/deployment.rst's pieces: the shipped systemd unit runs as written, `make serve` serves.

The unit's ``ExecStart=`` lines are taken from the file the package ships and
run with only its paths swapped for a temporary demo config, database and
HTML folder, so a typo in the unit (an option that does not exist, a wrong
order) fails here and not on the operator's first start.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sphinxcontrib_scmmonitor import cli
from sphinxcontrib_scmmonitor.cli import init
from tests.helpers.backups import DAY, plant, today_at, write_config
from tests.sshd import require_tool

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = Path(sys.executable).parent / "scm-monitor"


def values(name: str, section: str, key: str) -> list[str]:
    """Every value of ``key`` in ``[section]`` of a shipped unit file, in order, as systemd
    reads them (repeated keys such as ``ExecStart=`` all count; comments skipped)."""
    out, current = [], ""
    for raw in (init.SYSTEMD_DIR / name).read_text().splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            current = line.strip("[]")
        elif current == section and line.partition("=")[0] == key:
            out.append(line.partition("=")[2])
    return out


def demo_site(tmp_path: Path) -> tuple[Path, Path]:
    """A demo config with a fresh node and a built-looking HTML folder."""
    root = tmp_path / "backup"
    for day in range(3):
        plant(root, "repos/env", today_at() - day * DAY, "env.tar.gz", 1000 + day)
    state = tmp_path / "var-lib-scm-monitor"
    state.mkdir()
    config = write_config(tmp_path, {"C": {"root": str(root)}},
                          database=f"sqlite:///{state / 'scmmonitor.db'}")
    html = tmp_path / "srv-www-docs-html"
    (html / "_static").mkdir(parents=True)
    return config, html


def test_the_units_exec_start_lines_run_as_written(tmp_path: Path) -> None:
    config, html = demo_site(tmp_path)
    service = "scm-monitor.service"
    (env_line,) = values(service, "Service", "Environment")
    name, _, shipped_config = env_line.partition("=")
    assert name == "SCMMONITOR_CONFIG" and shipped_config == "/etc/scmmonitor/scmmonitor.toml"
    env = {**os.environ, "PYTHONPATH": str(ROOT), name: str(config)}
    starts = values(service, "Service", "ExecStart")
    assert len(starts) == 2
    for line in starts:
        ignore_failure = line.startswith("-")
        argv = shlex.split(line.removeprefix("-"))
        assert argv[0] == init.SHIPPED_PROGRAM  # absolute: systemd has no PATH search here
        argv = [str(PROGRAM) if a == init.SHIPPED_PROGRAM
                else str(html) if a == "/srv/www/docs/html" else a for a in argv]
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, (line, proc.stdout, proc.stderr)
        if ignore_failure:
            assert argv[1] == "collect"  # only the collect may fail without stopping the mail
    assert (html / "_static" / "scmmonitor" / "data" / "C.json").is_file()
    assert (tmp_path / "var-lib-scm-monitor" / "scmmonitor.db").is_file()


def test_the_unit_creates_its_folders_and_writes_only_where_it_may() -> None:
    service = "scm-monitor.service"
    assert values(service, "Service", "User") == ["scmmonitor"]
    assert values(service, "Service", "StateDirectory") == ["scm-monitor"]
    assert values(service, "Service", "LogsDirectory") == ["scm-monitor"]
    assert values(service, "Service", "ProtectSystem") == ["strict"]
    # the database of docs/deployment.rst's config lives in the StateDirectory
    page = (ROOT / "docs" / "deployment.rst").read_text()
    assert 'database = "sqlite:////var/lib/scm-monitor/scmmonitor.db"' in page
    assert "useradd --system" in page
    assert values("scm-monitor.timer", "Install", "WantedBy") == ["timers.target"]


def test_init_systemd_writes_the_units_with_this_programs_absolute_path(tmp_path: Path,
                                                                       capsys) -> None:
    assert cli.main(["init", "--systemd", str(tmp_path)]) == 0
    text = (tmp_path / "scm-monitor.service").read_text()
    program = init.this_program()
    assert os.path.isabs(program)
    assert f"ExecStart=-{program} collect" in text
    assert (tmp_path / "scm-monitor.timer").read_text() == \
        (init.SYSTEMD_DIR / "scm-monitor.timer").read_text()
    # never over an existing file without --force
    assert cli.main(["init", "--systemd", str(tmp_path)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_systemd_analyze_verify_accepts_the_units(tmp_path: Path) -> None:
    """Proves little (it passes with a missing ExecStart program) but catches a bad key."""
    analyze = shutil.which("systemd-analyze")
    require_tool(None if analyze else "systemd-analyze is not installed (apt-get install systemd)")
    assert analyze is not None
    assert cli.main(["init", "--systemd", str(tmp_path)]) == 0
    proc = subprocess.run([analyze, "verify", "--man=no", str(tmp_path / "scm-monitor.service"),
                           str(tmp_path / "scm-monitor.timer")], capture_output=True, text=True,
                          timeout=60)
    if proc.returncode != 0 and "Failed to" in proc.stderr and "bus" in proc.stderr.lower():
        pytest.skip(f"systemd-analyze cannot run here: {proc.stderr.strip()}")
    assert "Unknown key" not in proc.stderr and "Unknown section" not in proc.stderr, proc.stderr


def test_make_serve_at_the_root_serves_the_demo_page_on_localhost() -> None:
    require_tool(None if shutil.which("make") else "make not installed")
    proc = subprocess.run(["make", "-n", "serve"], cwd=ROOT, capture_output=True, text=True,
                          check=True)
    assert "-m http.server --bind 127.0.0.1 --directory example_docs/_build/html 8000" \
        in proc.stdout
    proc = subprocess.run(["make", "-n", "serve", "PORT=9123"], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    assert "example_docs/_build/html 9123" in proc.stdout


def test_make_demo_names_the_command_that_serves_the_page() -> None:
    makefile = (ROOT / "example_docs" / "Makefile").read_text()
    demo = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert "make serve" in demo and "http.server" in demo
    assert "index.html" not in demo  # a file to open from disk would show no live chart
    docs = (ROOT / "docs" / "Makefile").read_text().split("\nhtml:", 1)[1].split("\n\n", 1)[0]
    assert "serve-docs" in docs and "http.server" in docs and "index.html" not in docs


def test_the_demo_config_gets_the_tree_in_its_values_and_keeps_its_comments(
        tmp_path: Path) -> None:
    """example_docs/write_config.py: the written scmmonitor.toml's comments still explain the
    placeholder (not "replacing /tmp/x with the absolute path"); every root is the tree's."""
    import tomllib

    for name in ("write_config.py", "scmmonitor.toml.in"):
        shutil.copy(ROOT / "example_docs" / name, tmp_path / name)
    tree = tmp_path / 'demo "backups" \\ # here'
    subprocess.run([sys.executable, str(tmp_path / "write_config.py"), str(tree)], check=True,
                   capture_output=True, timeout=60)
    written = (tmp_path / "scmmonitor.toml").read_text()
    template = (tmp_path / "scmmonitor.toml.in").read_text()
    comments = [line for line in template.splitlines() if line.lstrip().startswith("#")]
    assert "@DEMO_BACKUPS@" in "".join(comments)  # the test means something
    assert [line for line in written.splitlines() if line.lstrip().startswith("#")] == comments
    roots = [n["root"] for n in tomllib.loads(written)["nodes"].values()]
    assert roots and all(r.startswith(str(tree) + "/") for r in roots), roots
    assert "@DEMO_BACKUPS@" not in "".join(roots)
