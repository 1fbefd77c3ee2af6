"""The project's own docs: ``sphinx-build -W`` passes, and the references cannot drift.

The build runs once per session in a subprocess (like CI and tox do), into a
temporary folder, with its demo tree there too (``$SCMMONITOR_DOCS_DEMO``).
The references are checked against the code they are generated from: every
key of ``config.SCHEMA`` and every sub-command and option of
``cli.build_parser()`` must be in the built HTML.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest
from docutils.nodes import make_id

from sphinxcontrib_scmmonitor import cli, config
from sphinxcontrib_scmmonitor.checks import SEVERITY
from sphinxcontrib_scmmonitor.cli import exits

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("docs-html")
    env = {**os.environ, "SCMMONITOR_DOCS_DEMO": str(out.parent / "docs-demo")}
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q",
                           "-b", "html", str(DOCS), str(out)],
                          capture_output=True, text=True, env=env, timeout=900)
    print(f"docs build: {time.monotonic() - started:.1f} s")
    assert proc.returncode == 0, f"sphinx-build -W failed:\n{proc.stdout}\n{proc.stderr}"
    return out


def page_text(path: Path) -> str:
    """The visible text of a page, entities decoded, white space folded."""
    raw = path.read_text(encoding="utf-8")
    raw = re.sub(r"<(script|style)\b.*?</\1>", " ", raw, flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", " ", raw))
    # Sphinx's smart quotes turn ' and " into typographic ones in prose
    text = text.translate(str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"',
                                         "\u201d": '"'}))
    return re.sub(r"\s+", " ", text)


def fold(text: str) -> str:
    return re.sub(r"\s+", " ", text)


# --- the build -----------------------------------------------------------------------------------


def test_docs_build_with_warnings_as_errors(built: Path) -> None:
    for page in ("index", "quickstart", "install", "concepts", "configuration", "cli", "sphinx",
                 "operations", "migrating", "troubleshooting"):
        assert (built / f"{page}.html").is_file(), page


def test_docs_pages_show_real_charts_of_the_demo(built: Path) -> None:
    data = built / "_static" / "scmmonitor" / "data"
    for node in ("C", "H1"):
        doc = json.loads((data / f"{node}.json").read_text())
        assert doc["node"] == node and doc["series"], node
        assert any(s["t"] for s in doc["series"]), node
    index = (built / "index.html").read_text()
    assert "scmmonitor.js" in index  # the extension's own script, no inline script


def test_config_reference_lists_every_key_of_the_schema(built: Path, docsgen: ModuleType) -> None:
    raw = (built / "configuration.html").read_text(encoding="utf-8")
    text = page_text(built / "configuration.html")
    for key in config.SCHEMA:
        assert f'id="{make_id("conf-" + key.name)}"' in raw, f"{key.name} has no section"
        assert key.help in text, f"{key.name}: help text missing"
        assert docsgen.default_text(key).replace("``", "") in text, f"{key.name}: default"
        for level in key.levels:
            assert docsgen.LEVEL_TABLES[level].replace("``", "") in text


def test_config_reference_keys_are_exactly_the_loader_keys(docsgen: ModuleType) -> None:
    rst = docsgen.config_reference_rst()
    documented = set(re.findall(r"^\.\. _conf-([a-z_]+):$", rst, re.MULTILINE))
    assert documented == set(config.KEYS)


def test_cli_reference_lists_every_subcommand_and_option(built: Path, docsgen: ModuleType) -> None:
    raw = (built / "cli.html").read_text(encoding="utf-8")
    text = page_text(built / "cli.html")
    parser = cli.build_parser()
    names = docsgen.cli_commands(parser)
    assert {"init", "collect", "export", "status", "notify", "db", "db upgrade"} <= set(names)
    for name, summary, sub in docsgen.subcommands(parser):
        assert f'id="{make_id("cli-" + name)}"' in raw, f"{name} has no section"
        assert f"scm-monitor {name}" in text
        assert fold(summary)[1:40] in text, f"{name}: help missing"  # [1:]: capitalised
        if sub.epilog:
            for line in sub.epilog.splitlines():
                assert fold(line).strip() in text, f"{name}: epilog line {line!r}"
        for action in sub.arguments:
            for option in action.option_strings:
                assert option in text, f"{name}: {option}"
            if action.help and action.help != argparse.SUPPRESS:
                assert fold(action.help)[:30] in text, f"{name}: help of {action.dest}"
    for name in exits.EXIT_STATUSES:
        assert name in names, f"exit statuses documented for unknown command {name}"


def test_sphinx_reference_lists_every_directive_option_and_config_value(built: Path) -> None:
    from sphinxcontrib_scmmonitor.sphinxext import directives

    text = page_text(built / "sphinx.html")
    for option in directives.BackupChart.option_spec:
        assert f":{option}:" in text, option
    for choices in (directives.METRICS, directives.SCALES, directives.RANGES):
        for choice in choices:
            assert choice in text
    source = (ROOT / "sphinxcontrib_scmmonitor" / "sphinxext" / "__init__.py").read_text()
    values = re.findall(r'add_config_value\(\s*"(\w+)"', source)
    assert values, "no config values found in the extension's setup()"
    for value in values:
        assert value in text, f"conf.py value {value} is not documented"
    assert "scm-backup-chart" in text and "scm-backup-status" in text


def test_concepts_explain_every_status_reason(built: Path) -> None:
    text = page_text(built / "concepts.html")
    for reason, level in SEVERITY.items():
        assert reason in text, reason
        assert level in text


def test_no_page_embeds_raw_html() -> None:
    # the migration guide shows the old raw-HTML page from a .txt file, never as a directive
    for rst in DOCS.rglob("*.rst"):
        assert ".. raw::" not in rst.read_text(), rst


def test_generator_escapes_help_text(docsgen: ModuleType) -> None:
    assert docsgen.escape_rst("a *b* `c` --force") == "a \\*b\\* \\`c\\` ``--force``"


def test_every_command_help_has_examples(docsgen: ModuleType) -> None:
    parser = cli.build_parser()
    assert "scm-monitor" in (parser.epilog or "")
    for name, _, sub in docsgen.subcommands(parser):
        example = re.compile(rf"scm-monitor (-c \S+ )?{name.split()[0]}\b")
        assert sub.epilog and example.search(sub.epilog), \
            f"`scm-monitor {name} --help` shows no example"


def test_every_command_documents_its_exit_statuses(built: Path, docsgen: ModuleType) -> None:
    text = page_text(built / "cli.html")
    parser = cli.build_parser()
    leaves = {name for name, _, sub in docsgen.subcommands(parser) if not sub.commands}
    assert leaves == set(exits.EXIT_STATUSES), "a command without documented exit statuses"
    for name, summary, _ in docsgen.subcommands(parser):
        if name in exits.EXIT_STATUSES:
            assert exits.summary(name) in summary, f"{name}: --help hides its exit statuses"
    # literals become their own HTML elements: compare without white space
    squashed = re.sub(r"\s", "", text)
    for name, statuses in exits.EXIT_STATUSES.items():
        for status in statuses:
            assert re.sub(r"\s|``", "", status.meaning) in squashed, f"{name}: {status}"
    assert all(re.sub(r"\s", "", e.meaning) in squashed for e in exits.COMMON)
