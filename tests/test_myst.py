"""MyST Markdown as a first-class syntax: every directive, as docs/sphinx.rst writes it in
MyST, builds the same chart containers and status table as its reStructuredText twin.

The MyST examples are taken from docs/sphinx.rst itself (each ``myst`` code block), so
the documentation cannot drift from what works. A missing myst-parser skips locally and
fails under ``CI=true``.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

from tests.helpers.pages import charts, status_boxes
from tests.helpers.sphinx_site import Backups
from tests.sshd import require_tool

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "sphinx.rst"

CONF = """\
extensions = ["myst_parser", "sphinxcontrib_scmmonitor"]
source_suffix = {{".rst": "restructuredtext", ".md": "markdown"}}
scmmonitor_config = {config!r}
scmmonitor_render = "static"
exclude_patterns = ["_build"]
"""


def code_blocks(language: str) -> list[str]:
    """The bodies of docs/sphinx.rst's ``.. code-block:: <language>`` blocks."""
    text = DOCS.read_text()
    blocks = []
    for match in re.finditer(rf"^( *)\.\. code-block:: {language}\n\n((?:\1   .*\n|\n)+)",
                             text, re.M):
        indent = len(match.group(1)) + 3
        body = "\n".join(line[indent:] for line in match.group(2).splitlines())
        blocks.append(body.strip() + "\n")
    return blocks


def build(src: Path, out: Path) -> str:
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-E", str(src),
                           str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stderr


def test_every_directive_in_myst_builds_like_its_rst_twin(tmp_path: Path) -> None:
    require_tool(None if importlib.util.find_spec("myst_parser") else
                 "myst-parser is not installed (pip install -e '.[test]')")
    myst, rst = code_blocks("md"), [b for b in code_blocks("rst") if ".. scm-backup" in b]
    directives = {"scm-backup-chart", "scm-backup-status"}
    assert {d for d in directives if any("{" + d + "}" in b for b in myst)} == directives
    assert len(myst) == len(rst), "every rST directive example has its MyST twin"

    backups = Backups(tmp_path / "data")
    src = tmp_path / "docs"
    src.mkdir()
    (src / "conf.py").write_text(CONF.format(config=str(backups.config)))
    # the docs' examples use the demo's node names (C, H1): the same as the fixture's
    (src / "index.rst").write_text("Index\n=====\n\n.. toctree::\n\n   myst\n   rest\n")
    (src / "myst.md").write_text("# MyST\n\n" + "\n".join(myst))
    (src / "rest.rst").write_text("reST\n====\n\n" + "\n".join(rst))
    out = tmp_path / "out"
    warnings = build(src, out)
    assert warnings.strip() == "", warnings

    def containers(page: str) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
        found = charts(out / page)
        for chart in found:
            chart.pop("id")  # numbered per page; the rest must agree
        return found, status_boxes(out / page)

    md_charts, md_status = containers("myst.html")
    rst_charts, rst_status = containers("rest.html")
    assert md_charts and md_status
    assert md_charts == rst_charts
    assert md_status == rst_status
    # the options arrived: title, height, series, metric, scale and range as written
    first = md_charts[0]
    assert (first["data-scm-title"], first["data-scm-height"], first["data-scm-metric"],
            first["data-scm-scale"], first["data-scm-range"]) == (
        "cms02 backups on cms01", "500px", "size", "linear", "1y")
    table = (out / "myst.html").read_text()
    assert table.count("scmmonitor-status-table") == len(md_status)
