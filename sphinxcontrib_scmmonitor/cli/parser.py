"""The argument parser of ``scm-monitor``: every command, option and help text.

The CLI reference in the docs is generated from :class:`Parser`'s own lists
(docs/_ext/docsgen.py), so what ``--help`` says and what the docs say is one text.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from .._version import __version__
from .exits import USAGE, summary

EPILOG = textwrap.dedent("""\
    examples:
      scm-monitor init --probe cms01.example.org /data/var/scm/backup/cms02
      scm-monitor collect                      # every node, in parallel
      scm-monitor -c /etc/scmmonitor/scmmonitor.toml collect C H1 --export /srv/www/docs/html
      scm-monitor export --outdir docs/_build/html
      scm-monitor status --format prometheus \
          --output /var/lib/prometheus/node-exporter/scmmonitor.prom
      scm-monitor notify --dry-run --html /tmp/mail.html
      scm-monitor db upgrade

    The configuration is -c FILE, else $SCMMONITOR_CONFIG, else ./scmmonitor.toml.
    """)


class Parser(argparse.ArgumentParser):
    """argparse's parser, keeping what the CLI reference lists: its arguments and commands.

    The docs are generated from :attr:`arguments` and :attr:`commands`, never from
    argparse's private attributes.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.arguments: list[argparse.Action] = []
        #: (name, one-line help, parser) of each sub-command, in the order they were added
        self.commands: list[tuple[str, str, Parser]] = []
        super().__init__(*args, **kwargs)

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        if kwargs.get("action") != "help":  # -h is on every page; the reference skips it
            self.arguments.append(action)
        return action

    def add_commands(self, *, dest: str, metavar: str,
                     parents: Sequence[Parser] = ()) -> Commands:
        """Sub-commands; each takes ``parents``' arguments (the options every command has)."""
        return Commands(self, self.add_subparsers(dest=dest, metavar=metavar,
                                                  parser_class=Parser), parents)

    #: how this (sub-)command reports a usage error instead of argparse's exit 2 (status is
    #: a Nagios plugin: UNKNOWN); set by :func:`build_parser`
    on_error: Callable[[str], NoReturn] | None = None

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        if self.on_error is not None:
            self.on_error(message)
        self.exit(USAGE, f"{self.prog}: error: {message}\n")


class Commands:
    """The sub-commands of one :class:`Parser`: adds them to argparse and to its list."""

    def __init__(self, owner: Parser, action: Any, parents: Sequence[Parser]) -> None:
        self.owner = owner
        self.action = action
        self.parents = list(parents)

    def add_parser(self, name: str, *, help: str, examples: Sequence[str] = (),
                   after: str = "", **kwargs: Any) -> Parser:
        """One sub-command; ``examples``: command lines its ``--help`` ends with (then
        ``after``), each as typed, a ``# comment`` after it where it helps."""
        if examples:
            heading = "example" if len(examples) == 1 else "examples"
            lines = "\n".join(f"  {line}" for line in examples)
            kwargs["epilog"] = f"{heading}:\n{lines}" + (f"\n\n{after}" if after else "")
        parser: Parser = self.action.add_parser(
            name, help=help, parents=self.parents,
            formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)
        # argparse copies a parent's arguments without add_argument: list them first, as it does
        parser.arguments[:0] = [a for parent in self.parents for a in parent.arguments]
        self.owner.commands.append((name, help, parser))
        return parser


def build_parser(*, on_status_error: Callable[[str], NoReturn] | None = None) -> Parser:
    """Every command, option and help text; ``on_status_error``: how ``status`` reports
    a usage error (the CLI's: an UNKNOWN line, exit 3)."""
    common = Parser(add_help=False)
    # SUPPRESS: a -c after the command only counts when given, never resets one given before
    common.add_argument("-c", "--config", default=argparse.SUPPRESS,
                        help="scmmonitor.toml to use")
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="log more (paramiko and SQL problems in detail)")

    parser = Parser(prog="scm-monitor", description="Watch backup tarballs on remote "
                     "backup nodes: collect, store, check, alert, chart.", epilog=EPILOG,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-c", "--config", default=None, help="scmmonitor.toml to use")
    parser.add_argument("-v", "--verbose", action="store_true", default=False,
                        help="log more (paramiko and SQL problems in detail)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_commands(dest="command", metavar="COMMAND", parents=[common])

    p = sub.add_parser("init", help="write a commented scmmonitor.toml to fill in; --probe "
                       f"lists a node first and proposes the settings ({summary('init')})",
                       examples=["scm-monitor init",
                                 "scm-monitor init /etc/scmmonitor/scmmonitor.toml --probe "
                                 "cms01.example.org /data/var/scm/backup/cms02",
                                 "scm-monitor init --probe root@hep1:2222 "
                                 "/var/scm/backup/cms02 --node H1",
                                 "scm-monitor init --probe hep1 /var/scm/backup/cms02 --node H1 "
                                 "--add   # one more node",
                                 "scm-monitor init --systemd /etc/systemd/system",
                                 "scm-monitor init - --probe local /var/scm/backup/cms02   "
                                 "# print, write nothing"],
                       after="PATH defaults to -c, else $SCMMONITOR_CONFIG, else "
                       "./scmmonitor.toml.\n--probe uses the same SSH settings and host-key "
                       "checks as collect\n(~/.ssh/config, known_hosts, the agent).")
    p.add_argument("path", nargs="?", metavar="PATH",
                   help="file to write (- prints it instead)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.add_argument("--add", action="store_true",
                   help="add the probed node as one more table to the existing PATH (needs "
                   "--probe), keeping every line already there; refuses a node already in it")
    p.add_argument("--systemd", metavar="DIR", help="write scm-monitor.service and "
                   "scm-monitor.timer into DIR (e.g. /etc/systemd/system), running this "
                   "scm-monitor by its absolute path")
    p.add_argument("--probe", nargs=2, metavar=("HOST", "ROOT"),
                   help="list ROOT on HOST ([USER@]HOST[:PORT], or 'local') and fill in the "
                   "date layout, pattern, series and select found there")
    p.add_argument("--hub", metavar="NAME", help="name of the hub (default: from ROOT)")
    p.add_argument("--node", metavar="NAME", help="name of the node (default: from HOST)")

    p = sub.add_parser("collect", help="list every node's backups into the store "
                       f"({summary('collect')})",
                       examples=["scm-monitor collect",
                                 "scm-monitor collect C --export docs/_build/html"])
    p.add_argument("nodes", nargs="*", metavar="NODE", help="only these nodes")
    p.add_argument("--export", metavar="DIR", help="then write the charts' JSON and pictures "
                   "into this HTML output folder, of the nodes its pages show (no Sphinx "
                   "rebuild needed)")
    p.add_argument("--progress", choices=("auto", "live", "lines"), default="auto",
                   help="live display on a terminal (auto) or plain lines for cron")

    p = sub.add_parser("export", help="write DIR/_static/scmmonitor/data/<node>.json "
                       f"({summary('export')})",
                       examples=["scm-monitor export --outdir docs/_build/html"])
    p.add_argument("--outdir", required=True, metavar="DIR", help="the HTML output folder; "
                   "only the nodes its pages show are written, as its last build listed them")
    p.add_argument("nodes", nargs="*", metavar="NODE", help="only these nodes")

    p = sub.add_parser("status", help=f"evaluate the checks ({summary('status')})",
                       examples=["scm-monitor status", "scm-monitor status --format json",
                                 "scm-monitor status --format prometheus --output "
                                 "/var/lib/prometheus/node-exporter/scmmonitor.prom"])
    p.on_error = on_status_error
    p.add_argument("--format", choices=("text", "json", "rst", "prometheus"), default="text")
    p.add_argument("--output", metavar="FILE", help="write there atomically instead of stdout")
    p.add_argument("nodes", nargs="*", metavar="NODE", help="only these nodes")

    p = sub.add_parser("notify", help="mail each hub's operators when its status is not OK "
                       f"({summary('notify')})",
                       examples=["scm-monitor notify --dry-run", "scm-monitor notify --always",
                                 "scm-monitor notify --dry-run --html /tmp/mail.html"
                                 "   # open it in a browser"])
    p.add_argument("--dry-run", action="store_true", help="print the mail instead of sending")
    p.add_argument("--html", metavar="FILE", help="also write the HTML part of each mail the "
                   "dry run shows to FILE (one hub) or to FILE with the name of the hub before "
                   "its suffix, to open in a browser (needs --dry-run)")
    p.add_argument("--always", action="store_true",
                   help="send even if the status did not change since the last mail")

    db_examples = ("example (after upgrading the package; back the database up first):\n"
                   "  scm-monitor -c /etc/scmmonitor/scmmonitor.toml db upgrade")
    rename_examples = ("example (hub cms02 is now called scm01 in scmmonitor.toml; its nodes "
                       "keep their history):\n"
                       "  scm-monitor -c /etc/scmmonitor/scmmonitor.toml db rename-hub cms02 scm01")
    p = sub.add_parser("db", help="manage the store (schema, hub names)",
                       epilog=f"{db_examples}\n\n{rename_examples}")
    dbsub = p.add_commands(dest="db_command", metavar="ACTION", parents=[common])
    dbsub.add_parser("upgrade", help=f"bring the schema up to date ({summary('db upgrade')})",
                     epilog=db_examples)
    p = dbsub.add_parser("rename-hub",
                         help="move the stored nodes of a renamed hub to its new "
                         f"name ({summary('db rename-hub')})",
                         description="Collect refuses a node whose stored hub differs from "
                         "the configured one (two hubs sharing a database must not mix up "
                         "their nodes). After renaming a hub in scmmonitor.toml, this moves "
                         "its nodes, their history and its alert state to the new name.",
                         epilog=rename_examples)
    p.add_argument("old", metavar="OLD", help="the hub's name in the database")
    p.add_argument("new", metavar="NEW", help="its name in scmmonitor.toml now")
    return parser
