"""Reference pages generated from the code itself, so the docs can never drift.

``.. scmmonitor-config-reference::`` renders every key of :data:`config.SCHEMA`
(type, default, the tables where it may be set, help) and
``.. scmmonitor-cli-reference::`` renders every sub-command of
:func:`cli.build_parser` (usage, arguments, epilog examples). Both build
reStructuredText and hand it to the parser, so the same text is also
available to tests and to ``python -m sphinxcontrib_scmmonitor.docsgen``.

This is a documentation helper for this project's own ``docs/``; it is not
part of the ``sphinxcontrib_scmmonitor`` extension users load.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from . import cli
from . import config as config_mod

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

#: How each kind of value is called in the reference (TOML's own words).
TYPE_WORDS = {"str": "string", "int": "integer", "float": "number", "bool": "boolean",
              "path": "string (path)",
              "list[str]": "list of strings"}

#: Column width used for argparse's usage lines, so the pages do not depend on the terminal.
HELP_WIDTH = 80

#: Nagios-style meaning of each command's exit statuses (the contract of DESIGN.md).
EXIT_STATUSES: dict[str, tuple[tuple[int, str], ...]] = {
    "init": ((0, "the file was written (or printed)"),
             (1, "``--probe`` could not list the node; nothing was written"),
             (2, "the file exists (give ``--force``), or a usage error")),
    "collect": ((0, "every node was collected"),
                (1, "some node failed (the others are stored), or the export failed"),
                (2, "usage or configuration error")),
    "export": ((0, "every JSON file was written"), (2, "usage, configuration or write error")),
    "status": ((0, "OK"), (1, "WARNING"), (2, "CRITICAL"),
               (3, "UNKNOWN (a configuration error, or the store cannot be read)")),
    "notify": ((0, "mail sent, or nothing to send"), (1, "sending failed"),
               (2, "usage or configuration error")),
    "db upgrade": ((0, "the schema is up to date"), (1, "the upgrade failed"),
                   (2, "usage or configuration error")),
}


# --- configuration reference ---------------------------------------------------------------------


def toml_value(value: Any) -> str:
    """A Python default written the way it would be in scmmonitor.toml."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return repr(value)


def type_text(key: config_mod.Key) -> str:
    return TYPE_WORDS.get(key.kind, key.type_name)


def default_text(key: config_mod.Key) -> str:
    if key.required:
        return "required"
    if key.default in ("", [], 0) and key.kind != "bool":
        return f"``{toml_value(key.default)}`` (unset)"
    return f"``{toml_value(key.default)}``"


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
    example_value = toml_value(key.default) if not key.required else {
        "hub": '"cms02"', "host": '"cms01.example.org"',
        "root": '"/data/var/scm/backup/cms02"'}.get(key.name, '"..."')
    if key.name == "port":
        example_value = "2222"
    lines = [f".. _conf-{key.name}:", "", f"``{key.name}``", "~" * (len(key.name) + 4), "",
             _escape(key.help), "",
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


def _subcommands(parser: argparse.ArgumentParser,
                 prefix: str = "") -> Iterator[tuple[str, str, argparse.ArgumentParser]]:
    """(full name, one-line help, parser) for every sub-command, depth first."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                full = f"{prefix} {name}".strip()
                yield full, helps.get(name, ""), sub
                yield from _subcommands(sub, full)


def cli_commands(parser: argparse.ArgumentParser | None = None) -> list[str]:
    """Every sub-command's full name (``collect``, ``db``, ``db upgrade``, ...)."""
    return [name for name, _, _ in _subcommands(parser or cli.build_parser())]


def _has_subcommands(parser: argparse.ArgumentParser) -> bool:
    return any(isinstance(a, argparse._SubParsersAction) for a in parser._actions)


def _indent(text: str, prefix: str = "   ") -> list[str]:
    return [prefix + line if line.strip() else "" for line in text.rstrip().splitlines()]


_OPTION = re.compile(r"(?<![\w`-])(--?[A-Za-z][\w-]*)")


def _escape(text: str) -> str:
    """Help text as inline reStructuredText: markup shown literally, options as code."""
    for ch in ("\\", "*", "`", "|", "_"):
        text = text.replace(ch, "\\" + ch)
    # as literals, "--probe" is not turned into an en dash by smart quotes
    return _OPTION.sub(r"``\1``", text)


def _arguments_rst(parser: argparse.ArgumentParser) -> list[str]:
    formatter = parser._get_formatter()
    out: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        # argparse's own spelling ("--format {text,json}", "NODE ...") matches --help exactly
        names = formatter._format_action_invocation(action)
        if not action.option_strings and action.nargs == "*":
            names = f"[{names} ...]"
        elif not action.option_strings and action.nargs == "?":
            names = f"[{names}]"
        detail = _escape(action.help or "") if action.help != argparse.SUPPRESS else ""
        extras: list[str] = []
        if action.required and action.option_strings:
            extras.append("required")
        default = action.default
        if (default not in (None, False, argparse.SUPPRESS, [])
                and not isinstance(action, argparse._VersionAction)):
            extras.append(f"default ``{default}``")
        if extras:
            detail = (detail + " " if detail else "") + "(" + "; ".join(extras) + ")"
        out += [f"``{names}``", f"   {detail or '(no description)'}", ""]
    return out


def cli_reference_rst(parser: argparse.ArgumentParser | None = None) -> str:
    """The command-line reference as reStructuredText."""
    parser = parser or cli.build_parser()
    out: list[str] = []
    with _columns(HELP_WIDTH):
        out += ["Synopsis", "--------", "", ".. code-block:: text", ""]
        out += _indent(parser.format_help())
        out += ["", "Global options", "^^^^^^^^^^^^^^", "",
                "They go before the command (``-c`` and ``-v`` are accepted after it too).", ""]
        out += _arguments_rst(parser)
        for name, summary, sub in _subcommands(parser):
            anchor = "cli-" + name.replace(" ", "-")
            title = f"scm-monitor {name}"
            out += [f".. _{anchor}:", "", title, "-" * len(title), ""]
            if summary:
                out += [_escape(summary[0].upper() + summary[1:]) + ".", ""]
            if sub.description:
                out += [_escape(sub.description), ""]
            out += [".. code-block:: text", "", *_indent(sub.format_usage().strip()), ""]
            if _has_subcommands(sub):
                out += ["Actions: " + ", ".join(
                    f":ref:`{n.split()[-1]} <cli-{n.replace(' ', '-')}>`"
                    for n, _, _ in _subcommands(sub, name) if n.count(" ") == name.count(" ") + 1),
                    ""]
            else:
                out += ["Arguments", "^^^^^^^^^", "", *_arguments_rst(sub)]
            if sub.epilog:
                out += ["Examples", "^^^^^^^^", "", ".. code-block:: text", ""]
                out += [*_indent(sub.epilog), ""]
            statuses = EXIT_STATUSES.get(name)
            if statuses:
                out += ["Exit status", "^^^^^^^^^^^", ""]
                out += [f"``{code}``\n   {meaning}\n" for code, meaning in statuses]
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
    app.add_directive("scmmonitor-config-reference",
                      _directive(config_reference_rst, (config_mod.__file__,)))
    app.add_directive("scmmonitor-cli-reference",
                      _directive(cli_reference_rst, (cli.__file__,)))
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}


def main(argv: list[str] | None = None) -> int:
    """Print a generated reference: ``python -m sphinxcontrib_scmmonitor.docsgen config|cli``."""
    what = (argv if argv is not None else sys.argv[1:]) or ["config"]
    if what[0] not in ("config", "cli"):
        print("usage: python -m sphinxcontrib_scmmonitor.docsgen config|cli", file=sys.stderr)
        return 2
    sys.stdout.write(config_reference_rst() if what[0] == "config" else cli_reference_rst())
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["cli_commands", "cli_reference_rst", "config_keys", "config_reference_rst", "setup"]
