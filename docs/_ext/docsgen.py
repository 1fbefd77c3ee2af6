"""A local Sphinx extension of this project's docs: reference pages generated from the code.

``.. scmmonitor-config-reference::`` renders every key of :data:`config.SCHEMA`
(type, default, the tables where it may be set, help),
``.. scmmonitor-cli-reference::`` every sub-command of :func:`cli.build_parser`
(usage, arguments, epilog examples, exit statuses) and
``.. scmmonitor-exit-statuses::`` the table of :data:`cli.exits.EXIT_STATUSES`.
They build reStructuredText and hand it to the parser, so the same text is also
available to the tests and to ``python docs/_ext/docsgen.py config|cli|exits``.

docs/conf.py loads it from ``docs/_ext``; it is not part of the package users install.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sphinxcontrib_scmmonitor import cli, text
from sphinxcontrib_scmmonitor import config as config_mod
from sphinxcontrib_scmmonitor.cli import exits

if TYPE_CHECKING:
    from sphinx.application import Sphinx

#: How each level is written in scmmonitor.toml.
LEVEL_TABLES = {"top": "top level", "defaults": "``[defaults]``", "hub": "``[hubs.NAME]``",
                "node": "``[nodes.NAME]``"}

#: The groups the reference is split into, by the levels a key may be set at.
GROUPS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("Top level", ("top",),
     "Keys written before any ``[table]`` in the file."),
    ("Collecting and checking", config_mod.INHERITED,
     "Set them once in ``[defaults]``; override them for one hub in ``[hubs.NAME]`` or for "
     "one node in ``[nodes.NAME]``. The most specific value wins: "
     "defaults < hub < node."),
    ("Mail, per hub", config_mod.HUB_LEVELS,
     "Who hears about problems and how the mail is sent. Set them in ``[defaults]`` to "
     "share them between hubs, or per hub."),
    ("Source and copies, per hub", ("hub",),
     "Only in a ``[hubs.NAME]`` table: which node holds the hub's originals. The name must "
     "be a node of that hub."),
    ("Where a node is", ("node",),
     "Only in a ``[nodes.NAME]`` table. The node's name (``NAME``) must match "
     "``[A-Za-z0-9][A-Za-z0-9_.-]*``: it becomes a file name and part of a URL."),
)

#: Column width used for argparse's usage lines, so the pages do not depend on the terminal.
HELP_WIDTH = 80

# --- configuration reference ---------------------------------------------------------------------


def type_text(key: config_mod.Key) -> str:
    return key.type_name


def default_text(key: config_mod.Key) -> str:
    if key.required:
        return "required"
    if key.default in ("", [], 0) and key.kind != "bool":
        return f"``{text.toml_value(key.default)}`` (unset)"
    return f"``{text.toml_value(key.default)}``"


def config_keys() -> list[str]:
    """Every key the loader accepts (what the reference must list)."""
    return [k.name for k in config_mod.SCHEMA]


def config_reference_rst() -> str:
    """The configuration reference as reStructuredText."""
    out: list[str] = []
    seen: set[str] = set()
    out += ["Summary", "-------", "",
            ".. list-table::", "   :header-rows: 1", "   :widths: 22 18 22 38", "",
            "   * - key", "     - type", "     - default", "     - may be set in"]
    for key in config_mod.SCHEMA:
        out += [f"   * - :ref:`{key.name} <conf-{key.name}>`", f"     - {type_text(key)}",
                f"     - {default_text(key)}",
                "     - " + ", ".join(LEVEL_TABLES[lv] for lv in key.levels)]
    out.append("")
    for title, levels, intro in GROUPS:
        keys = [k for k in config_mod.SCHEMA if k.levels == levels]
        if not keys:
            continue
        out += [title, "-" * len(title), "", intro, ""]
        for key in keys:
            seen.add(key.name)
            out += _key_rst(key)
    # A key whose levels match no group must still be listed: the test compares with SCHEMA.
    rest = [k for k in config_mod.SCHEMA if k.name not in seen]
    if rest:
        out += ["Other keys", "----------", ""]
        for key in rest:
            out += _key_rst(key)
    return "\n".join(out) + "\n"


def _key_rst(key: config_mod.Key) -> list[str]:
    example_table = {"top": "", "defaults": "[defaults]", "hub": "[hubs.cms02]",
                     "node": "[nodes.C]"}[key.levels[0] if key.levels[0] != "top" else "top"]
    example_value = text.toml_value(key.default) if not key.required else {
        "hub": '"cms02"', "host": '"cms01.example.org"',
        "root": '"/data/var/scm/backup/cms02"'}.get(key.name, '"..."')
    if key.name == "port":
        example_value = "2222"
    lines = [f".. _conf-{key.name}:", "", f"``{key.name}``", "~" * (len(key.name) + 4), "",
             escape_rst(key.help), "",
             f":type: {type_text(key)}",
             f":default: {default_text(key)}",
             ":may be set in: " + ", ".join(LEVEL_TABLES[lv] for lv in key.levels),
             "", ".. code-block:: toml", ""]
    if example_table:
        lines.append(f"   {example_table}")
    lines += [f"   {key.name} = {example_value}", ""]
    return lines


# --- command-line reference ----------------------------------------------------------------------


@contextlib.contextmanager
def _columns(width: int) -> Iterator[None]:
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width)
    try:
        yield
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old


def subcommands(parser: cli.Parser, prefix: str = "") -> Iterator[tuple[str, str, cli.Parser]]:
    """(full name, one-line help, parser) for every sub-command, depth first."""
    for name, summary, sub in parser.commands:
        full = f"{prefix} {name}".strip()
        yield full, summary, sub
        yield from subcommands(sub, full)


def cli_commands(parser: cli.Parser | None = None) -> list[str]:
    """Every sub-command's full name (``collect``, ``db``, ``db upgrade``, ...)."""
    return [name for name, _, _ in subcommands(parser or cli.build_parser())]


def _indent(text: str, prefix: str = "   ") -> list[str]:
    return [prefix + line if line.strip() else "" for line in text.rstrip().splitlines()]


_OPTION = re.compile(r"(?<![\w`-])(--?[A-Za-z][\w-]*)")


def escape_rst(text: str) -> str:
    """Help text as inline reStructuredText: markup shown literally, options as code."""
    for ch in ("\\", "*", "`", "|", "_"):
        text = text.replace(ch, "\\" + ch)
    # as literals, "--probe" is not turned into an en dash by smart quotes
    return _OPTION.sub(r"``\1``", text)


def invocation(action: argparse.Action) -> str:
    """How an argument is written: ``-c, --config CONFIG``, ``--format {text,json}``, ``NODE``."""
    if action.metavar is not None:
        metavar = action.metavar
    elif action.choices is not None:
        metavar = "{" + ",".join(map(str, action.choices)) + "}"
    else:
        metavar = action.dest if not action.option_strings else action.dest.upper()
    words = " ".join(metavar) if isinstance(metavar, tuple) else metavar
    if not action.option_strings:
        return words
    names = ", ".join(action.option_strings)
    return names if action.nargs == 0 else f"{names} {words}"


def _arguments_rst(parser: cli.Parser) -> list[str]:
    out: list[str] = []
    for action in parser.arguments:
        names = invocation(action)
        if not action.option_strings and action.nargs == "*":
            names = f"[{names} ...]"
        elif not action.option_strings and action.nargs == "?":
            names = f"[{names}]"
        detail = escape_rst(action.help or "") if action.help != argparse.SUPPRESS else ""
        extras: list[str] = []
        if action.required and action.option_strings:
            extras.append("required")
        if action.default not in (None, False, argparse.SUPPRESS, []):
            extras.append(f"default ``{action.default}``")
        if extras:
            detail = (detail + " " if detail else "") + "(" + "; ".join(extras) + ")"
        out += [f"``{names}``", f"   {detail or '(no description)'}", ""]
    return out


def _exit_rst(statuses: Sequence[exits.Exit]) -> list[str]:
    return [f"``{e.code}``\n   {e.meaning}\n" for e in statuses]


def exit_statuses_rst() -> str:
    """Every command's exit statuses in one table (the top of docs/cli.rst)."""
    out = [".. list-table::", "   :header-rows: 1", "   :widths: 22 78", "",
           "   * - command", "     - exit status"]
    for name, statuses in exits.EXIT_STATUSES.items():
        out += [f"   * - :ref:`{name} <cli-{name.replace(' ', '-')}>`"]
        out += [f"     {'-' if i == 0 else ' '} * ``{e.code}`` {e.meaning}"
                for i, e in enumerate(statuses)]
    out += ["", "Every command: " + "; ".join(f"``{e.code}`` {e.meaning}" for e in exits.COMMON)
            + ".", ""]
    return "\n".join(out)


def cli_reference_rst(parser: cli.Parser | None = None) -> str:
    """The command-line reference as reStructuredText."""
    parser = parser or cli.build_parser()
    out: list[str] = []
    with _columns(HELP_WIDTH):
        out += ["Synopsis", "--------", "", ".. code-block:: text", ""]
        out += _indent(parser.format_help())
        out += ["", "Global options", "^^^^^^^^^^^^^^", "",
                "They go before the command (``-c`` and ``-v`` are accepted after it too).", ""]
        out += _arguments_rst(parser)
        for name, summary, sub in subcommands(parser):
            anchor = "cli-" + name.replace(" ", "-")
            title = f"scm-monitor {name}"
            out += [f".. _{anchor}:", "", title, "-" * len(title), ""]
            if summary:
                out += [escape_rst(summary[0].upper() + summary[1:]) + ".", ""]
            if sub.description:
                out += [escape_rst(sub.description), ""]
            out += [".. code-block:: text", "", *_indent(sub.format_usage().strip()), ""]
            if sub.commands:
                out += ["Actions: " + ", ".join(
                    f":ref:`{n} <cli-{name.replace(' ', '-')}-{n}>`"
                    for n, _, _ in sub.commands), ""]
            else:
                out += ["Arguments", "^^^^^^^^^", "", *_arguments_rst(sub)]
            if sub.epilog:
                out += ["Examples", "^^^^^^^^", "", ".. code-block:: text", ""]
                out += [*_indent(sub.epilog), ""]
            statuses = exits.EXIT_STATUSES.get(name)
            if statuses:
                out += ["Exit status", "^^^^^^^^^^^", "", *_exit_rst(statuses)]
    return "\n".join(out) + "\n"


# --- the Sphinx side -----------------------------------------------------------------------------


def _directive(make_rst: Callable[[], str], sources: tuple[str, ...]) -> type:
    from docutils import nodes
    from docutils.statemachine import StringList
    from sphinx.util.docutils import SphinxDirective

    class Generated(SphinxDirective):
        has_content = False

        def run(self) -> list[nodes.Node]:
            for path in sources:
                # the page must be rebuilt when the schema or the parser changes
                self.env.note_dependency(path)
            text = make_rst()
            if hasattr(self, "parse_text_to_nodes"):  # Sphinx >= 7.4
                return list(self.parse_text_to_nodes(text, allow_section_headings=True))
            from sphinx.util.nodes import nested_parse_with_titles

            holder = nodes.Element()
            lines = StringList(text.splitlines(), source=f"<generated by {self.name}>")
            nested_parse_with_titles(self.state, lines, holder)
            return list(holder.children)

    return Generated


def setup(app: Sphinx) -> dict[str, Any]:
    sources = tuple(str(Path(m.__file__ or "")) for m in (config_mod, text, cli.parser, exits))
    app.add_directive("scmmonitor-config-reference", _directive(config_reference_rst, sources))
    app.add_directive("scmmonitor-cli-reference", _directive(cli_reference_rst, sources))
    app.add_directive("scmmonitor-exit-statuses", _directive(exit_statuses_rst, sources))
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}


GENERATORS: dict[str, Callable[[], str]] = {
    "config": config_reference_rst, "cli": cli_reference_rst, "exits": exit_statuses_rst}


def main(argv: list[str] | None = None) -> int:
    """Print a generated reference: ``python docs/_ext/docsgen.py config|cli|exits``."""
    what = (argv if argv is not None else sys.argv[1:]) or ["config"]
    if what[0] not in GENERATORS:
        print("usage: python docs/_ext/docsgen.py " + "|".join(GENERATORS), file=sys.stderr)
        return 2
    sys.stdout.write(GENERATORS[what[0]]())
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["cli_commands", "cli_reference_rst", "config_keys", "config_reference_rst",
           "exit_statuses_rst", "setup", "subcommands"]
