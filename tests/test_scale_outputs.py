"""Outputs that stay readable and commands that start fast, however big the hub.

The Nagios line stays under ~200 characters however many nodes are bad, the alert
mail lists the findings in full and each node's healthy series as a count, and
``status`` loads neither Alembic, SSH, Sphinx nor rich (docs/operations.rst,
"Large stores").
"""

from __future__ import annotations

import subprocess
import sys
from importlib import resources
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

from sphinxcontrib_scmmonitor import status
from sphinxcontrib_scmmonitor.checks import NodeStatus, Reason, Report, SeriesStatus
from sphinxcontrib_scmmonitor.store import schema
from tests.helpers.backups import plant, write_config

HOUR = 3600


def _hub(nodes: int, bad: set[int]) -> Report:
    out = []
    for i in range(nodes):
        series = [SeriesStatus(name=f"svn/repo{j:02d}", newest=1_000_000, size=10, count=3)
                  for j in range(20)]
        node = NodeStatus(node=f"node{i:03d}", hub="cms02", series=series,
                          observed_at=1_000_000)
        if i in bad:
            node.reasons.append(Reason("unreachable", "ssh: connection refused"))
        out.append(node)
    return Report(generated_at=1_000_100, nodes=out)


def test_the_first_status_line_names_the_first_bad_nodes_and_counts_the_rest() -> None:
    report = _hub(150, set(range(137)))
    head = status.text(report).splitlines()[0]
    assert len(head) <= status.HEAD_CHARS
    assert head.startswith("SCM BACKUPS WARNING: node000 warn, node001 warn, ")
    named = head.split(": ", 1)[1].rsplit(" and ", 1)
    assert named[1].endswith(" more")
    assert len(named[0].split(", ")) + int(named[1].split()[0]) == 137


def test_a_few_bad_nodes_are_all_named() -> None:
    head = status.text(_hub(10, {2, 7})).splitlines()[0]
    assert head == "SCM BACKUPS WARNING: node002 warn, node007 warn"


def test_the_mail_counts_the_healthy_series_per_node_and_lists_every_finding() -> None:
    report = _hub(150, {3})
    report.nodes[5].series[4].reasons.append(Reason("shrunk", "newest backup is -80 %"))
    mail = status.text(report, healthy_counted=True)
    full = status.text(report)
    assert "shrunk: newest backup is -80 %" in mail
    assert "unreachable: ssh: connection refused" in mail
    lines = mail.splitlines()
    assert sum(1 for line in lines if line.startswith("node005 ") and "19 series" in line) == 1
    assert sum(1 for line in lines if line.startswith("node005 ")) == 2
    assert sum(1 for line in lines if line.startswith("node100 ")) == 1
    assert len(mail) < len(full) / 10


def test_the_shipped_revisions_are_the_migration_scripts() -> None:
    """The schema check reads revisions from constants, not Alembic: they must agree."""
    cfg = Config()
    cfg.set_main_option("script_location",
                        str(resources.files("sphinxcontrib_scmmonitor.store") / "migrations"))
    scripts = ScriptDirectory.from_config(cfg)
    walked = [s.revision for s in scripts.walk_revisions()]
    assert tuple(reversed(walked)) == schema.REVISIONS
    assert scripts.get_current_head() == schema.HEAD


_PROBE = """\
import sys
from sphinxcontrib_scmmonitor import cli
code = cli.main(sys.argv[1:])
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"alembic", "paramiko", "sphinx", "rich",
                                                         "mako", "matplotlib", "docutils",
                                                         "sqlalchemy"})
print("LOADED", heavy, code, file=sys.stderr)
"""


def test_status_and_notify_dry_run_load_no_alembic_ssh_sphinx_or_rich(tmp_path: Path) -> None:
    """Nor SQLAlchemy, for status and notify --dry-run on an SQLite store (docs/operations.rst,
    "Large stores"): a dry run writes nothing, so it reads as status does."""
    root = tmp_path / "backup"
    plant(root, "svn/repo", 1_700_000_000, "dump.tar.gz", 100)
    cfg = write_config(tmp_path, {"C": {"root": str(root)}})
    subprocess.run([sys.executable, "-m", "sphinxcontrib_scmmonitor.cli", "-c", str(cfg),
                    "collect"], check=True, capture_output=True, timeout=120)
    for command in (["status"], ["status", "--format", "prometheus"], ["notify", "--dry-run"]):
        proc = subprocess.run([sys.executable, "-c", _PROBE, "-c", str(cfg), *command],
                              capture_output=True, text=True, timeout=120)
        loaded = [line for line in proc.stderr.splitlines() if line.startswith("LOADED")]
        assert loaded, proc.stderr
        assert loaded[0].startswith("LOADED [] "), (command, loaded[0])
