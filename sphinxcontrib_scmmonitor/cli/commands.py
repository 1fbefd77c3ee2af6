"""The argument parser of ``scm-monitor`` and one function per command."""

from __future__ import annotations

import argparse
import logging
import sys
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn, cast

from .. import config as config_mod
from .._version import __version__
from .exits import FAILED, INTERRUPTED, USAGE, summary

if TYPE_CHECKING:
    from ..store import Store  # imported when a command needs it: --help stays fast

log = logging.getLogger("scmmonitor")

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

    def add_commands(self, *, dest: str, metavar: str) -> Commands:
        return Commands(self, self.add_subparsers(dest=dest, metavar=metavar,
                                                  parser_class=Parser))

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(USAGE, f"{self.prog}: error: {message}\n")


class Commands:
    """The sub-commands of one :class:`Parser`: adds them to argparse and to its list."""

    def __init__(self, owner: Parser, action: Any) -> None:
        self.owner = owner
        self.action = action

    def add_parser(self, name: str, *, help: str, parents: Sequence[Parser] = (),
                   **kwargs: Any) -> Parser:
        parser: Parser = self.action.add_parser(name, help=help, parents=list(parents),
                                                **kwargs)
        # argparse copies a parent's arguments without add_argument: list them first, as it does
        parser.arguments[:0] = [a for parent in parents for a in parent.arguments]
        self.owner.commands.append((name, help, parser))
        return parser


def build_parser() -> Parser:
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
    sub = parser.add_commands(dest="command", metavar="COMMAND")

    p = sub.add_parser("init", parents=[common], help="write a commented scmmonitor.toml to "
                       "fill in; --probe lists a node first and proposes the settings "
                       f"({summary('init')})",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="examples:\n  scm-monitor init\n  scm-monitor init "
                       "/etc/scmmonitor/scmmonitor.toml --probe cms01.example.org "
                       "/data/var/scm/backup/cms02"
                       "\n  scm-monitor init --probe root@hep1:2222 /var/scm/backup/cms02 "
                       "--node H1\n  scm-monitor init --probe hep1 /var/scm/backup/cms02 "
                       "--node H1 --add"
                       "   # one more node\n  scm-monitor init --systemd /etc/systemd/system"
                       "\n  scm-monitor init - --probe local /var/scm/backup/cms02   "
                       "# print, write nothing\n\nPATH defaults to -c, else $SCMMONITOR_CONFIG, "
                       "else ./scmmonitor.toml.\n--probe uses the same SSH settings and "
                       "host-key checks as collect\n(~/.ssh/config, known_hosts, the agent).")
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

    p = sub.add_parser("collect", parents=[common], help="list every node's backups into the "
                       f"store ({summary('collect')})",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="examples:\n  scm-monitor collect\n  scm-monitor collect C "
                       "--export docs/_build/html")
    p.add_argument("nodes", nargs="*", metavar="NODE", help="only these nodes")
    p.add_argument("--export", metavar="DIR", help="then write the charts' JSON into this "
                   "HTML output folder (no Sphinx rebuild needed)")
    p.add_argument("--progress", choices=("auto", "live", "lines"), default="auto",
                   help="live display on a terminal (auto) or plain lines for cron")

    p = sub.add_parser("export", parents=[common], help="write DIR/_static/scmmonitor/data/"
                       f"<node>.json ({summary('export')})",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="example:\n  scm-monitor export --outdir docs/_build/html")
    p.add_argument("--outdir", required=True, metavar="DIR", help="the HTML output folder")
    p.add_argument("nodes", nargs="*", metavar="NODE", help="only these nodes")

    p = sub.add_parser("status", parents=[common], help="evaluate the checks "
                       f"({summary('status')})",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="examples:\n  scm-monitor status\n  scm-monitor status --format "
                       "json\n  scm-monitor status --format prometheus --output "
                       "/var/lib/prometheus/node-exporter/scmmonitor.prom")
    p.add_argument("--format", choices=("text", "json", "rst", "prometheus"), default="text")
    p.add_argument("--output", metavar="FILE", help="write there atomically instead of stdout")
    p.add_argument("nodes", nargs="*", metavar="NODE", help="only these nodes")

    p = sub.add_parser("notify", parents=[common], help="mail each hub's operators when its "
                       f"status is not OK ({summary('notify')})",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="examples:\n  scm-monitor notify --dry-run\n  scm-monitor "
                       "notify --always\n  scm-monitor notify --dry-run --html /tmp/mail.html"
                       "   # open it in a browser")
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
    p = sub.add_parser("db", parents=[common], help="manage the store (schema, hub names)",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog=f"{db_examples}\n\n{rename_examples}")
    dbsub = p.add_commands(dest="db_command", metavar="ACTION")
    dbsub.add_parser("upgrade", parents=[common], help="bring the schema up to date "
                     f"({summary('db upgrade')})",
                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=db_examples)
    p = dbsub.add_parser("rename-hub", parents=[common],
                         help="move the stored nodes of a renamed hub to its new "
                         f"name ({summary('db rename-hub')})",
                         description="Collect refuses a node whose stored hub differs from "
                         "the configured one (two hubs sharing a database must not mix up "
                         "their nodes). After renaming a hub in scmmonitor.toml, this moves "
                         "its nodes, their history and its alert state to the new name.",
                         formatter_class=argparse.RawDescriptionHelpFormatter,
                         epilog=rename_examples)
    p.add_argument("old", metavar="OLD", help="the hub's name in the database")
    p.add_argument("new", metavar="NEW", help="its name in scmmonitor.toml now")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="scm-monitor: %(levelname)s: %(message)s")
    if not args.verbose:
        logging.getLogger("paramiko").setLevel(logging.CRITICAL)
    if args.command is None:
        parser.print_help()
        return USAGE
    if args.command == "init":
        return cmd_init(args)
    if args.command == "db" and args.db_command is None:
        parser.exit(USAGE, "scm-monitor db: give an action: upgrade or rename-hub\n")
    try:
        settings = config_mod.load(args.config)
    except config_mod.ConfigError as exc:
        if args.command == "status":
            return status_unknown(f"config error: {exc}")
        print(f"scm-monitor: config error: {exc}", file=sys.stderr)
        return USAGE
    handler = {"collect": cmd_collect, "export": cmd_export, "status": cmd_status,
               "notify": cmd_notify, "db": cmd_db}[args.command]
    try:
        return handler(settings, args)
    except config_mod.ConfigError as exc:
        print(f"scm-monitor: {exc}", file=sys.stderr)
        return USAGE
    except KeyboardInterrupt:
        print("scm-monitor: interrupted", file=sys.stderr)
        return INTERRUPTED


def _open_store(settings: config_mod.Settings, *, create: bool) -> Store:
    from ..store import Store

    store = Store(settings.database, create=create)
    store.ensure_schema(create=create)
    return store


def _check_nodes(settings: config_mod.Settings, names: Sequence[str]) -> list[str]:
    for name in names:
        settings.node(name)  # raises ConfigError naming the configured ones
    return list(names) or list(settings.nodes)


def cmd_init(args: argparse.Namespace) -> int:
    from . import init

    path = args.path or str(config_mod.find_config(args.config))
    return init.run(path, force=args.force, probe_target=args.probe, hub=args.hub,
                    node=args.node, add_node=args.add, systemd=args.systemd)


def check_outdir(outdir: str, option: str) -> str | None:
    """Why ``outdir`` cannot take the export (None: it can); warns when it looks wrong.

    A typo in a cron line's folder must not create a new folder nobody serves
    (docs/cli.rst): the folder must exist. One without ``_static/`` is not a Sphinx
    HTML output, so the page there will not read what is written: a warning.
    """
    from pathlib import Path

    folder = Path(outdir)
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        return (f"{option} {outdir}: {what}; give the HTML output folder of a Sphinx build "
                "(the one holding _static/), e.g. docs/_build/html")
    if not (folder / "_static").exists():  # a file there: the write error says so
        print(f"scm-monitor: warning: {option} {outdir} has no _static/ folder, so it is not "
              "a Sphinx HTML output: no page there reads the JSON written into it (give the "
              "folder of the built index.html)", file=sys.stderr)
    return None


def cmd_collect(settings: config_mod.Settings, args: argparse.Namespace) -> int:
    from ..collect import collect_all
    from ..store import StoreError
    from .progress import LineReporter, LiveReporter

    names = _check_nodes(settings, args.nodes)
    try:
        store = _open_store(settings, create=True)
    except StoreError as exc:
        print(f"scm-monitor: {exc}", file=sys.stderr)
        return USAGE
    live = args.progress == "live" or (args.progress == "auto" and sys.stdout.isatty())
    reporter = LiveReporter(names) if live else LineReporter()
    try:
        results = collect_all(store, [settings.nodes[n] for n in names],
                              workers=settings.workers, reporter=reporter)
    finally:
        reporter.close()
    failed = [r for r in results if not r.ok]
    exported = _export_after_collect(settings, store, args.export, names) \
        if args.export else True
    store.close()
    if failed:
        print(f"scm-monitor: {len(failed)} of {len(results)} node(s) failed: "
              + ", ".join(r.node for r in failed), file=sys.stderr)
    return FAILED if failed or not exported else 0


def _export_after_collect(settings: config_mod.Settings, store: Store, outdir: str,
                          names: list[str]) -> bool:
    """``collect --export DIR``'s second half; False (and why on stderr) when it failed.

    The collection is stored whatever happens here (docs/cli.rst): a wrong folder costs
    the page its update, never the history.
    """
    from ..export import ExportError, export
    from ..store import StoreError

    problem = check_outdir(outdir, "--export")
    if problem is not None:
        print(f"scm-monitor: export failed: {problem}; the collection was stored",
              file=sys.stderr)
        return False
    try:
        paths = export(settings, store, outdir, names)
    except (ExportError, StoreError) as exc:
        print(f"scm-monitor: export failed: {exc}", file=sys.stderr)
        return False
    print(f"exported {len(paths)} node(s) to {paths[0].parent}" if paths else "")
    return True


def cmd_export(settings: config_mod.Settings, args: argparse.Namespace) -> int:
    from ..export import ExportError, export
    from ..store import StoreError

    names = _check_nodes(settings, args.nodes)
    problem = check_outdir(args.outdir, "--outdir")
    if problem is not None:
        print(f"scm-monitor: export: {problem}; nothing was written", file=sys.stderr)
        return USAGE
    try:
        store = _open_store(settings, create=True)
        paths = export(settings, store, args.outdir, names)
    except (ExportError, StoreError) as exc:
        print(f"scm-monitor: export failed: {exc}", file=sys.stderr)
        return USAGE
    for path in paths:
        print(path)
    return 0


def status_unknown(problem: str) -> int:
    """``status`` is a Nagios plugin: what stops it is UNKNOWN (3), said on stdout's line."""
    from ..checks import EXIT_CODES, UNKNOWN

    print(f"SCM BACKUPS UNKNOWN: {problem}")
    return EXIT_CODES[UNKNOWN]


def cmd_status(settings: config_mod.Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from .. import status as status_mod
    from ..atomic import WriteError, write_atomic
    from ..checks import evaluate
    from ..store import StoreError, open_reader

    names = _check_nodes(settings, args.nodes)  # a usage error (2), as for every command
    try:
        # an SQLite store is read without SQLAlchemy: status starts fast (docs/operations.rst)
        store = open_reader(settings.database)
        # the checks read through node_data and recent_node_data only (store.Reader)
        report = evaluate(settings, cast("Store", store), names)
    except StoreError as exc:
        return status_unknown(f"cannot read the store: {exc}")
    text = status_mod.render(report, args.format)
    if args.output:
        try:
            write_atomic(Path(args.output), text)
        except WriteError as exc:
            return status_unknown(str(exc))
    else:
        sys.stdout.write(text)
    return report.exit_code


def cmd_notify(settings: config_mod.Settings, args: argparse.Namespace) -> int:
    from .. import notify
    from ..store import StoreError

    try:
        store = _open_store(settings, create=False)
        if args.html and not args.dry_run:
            print("scm-monitor notify: --html writes the mail that --dry-run shows: give "
                  "--dry-run too", file=sys.stderr)
            return USAGE
        return notify.run(settings, store, dry_run=args.dry_run, always=args.always,
                          html_to=args.html)
    except StoreError as exc:
        print(f"scm-monitor: cannot read the store: {exc}", file=sys.stderr)
        return FAILED


def cmd_db(settings: config_mod.Settings, args: argparse.Namespace) -> int:
    from ..store import Store, StoreError

    if args.db_command == "rename-hub":
        return _rename_hub(settings, args.old, args.new)
    try:
        store = Store(settings.database)
        before, after = store.upgrade()
    except StoreError as exc:
        print(f"scm-monitor: {exc}", file=sys.stderr)
        return FAILED
    if before == after:
        print(f"{store.safe_url}: schema is up to date ({after})")
    else:
        print(f"{store.safe_url}: schema upgraded from {before or 'empty'} to {after}")
    return 0


def _rename_hub(settings: config_mod.Settings, old: str, new: str) -> int:
    from ..store import StoreError

    if new not in settings.hubs:
        print(f"scm-monitor: hub {new!r} is not in {settings.path}: rename the hub there "
              "first, then run this", file=sys.stderr)
        return FAILED
    try:
        store = _open_store(settings, create=False)
        moved = store.rename_hub(old, new)
    except StoreError as exc:
        print(f"scm-monitor: {exc}", file=sys.stderr)
        return FAILED
    if not moved:
        print(f"scm-monitor: {store.safe_url} has no nodes of hub {old!r}; nothing changed",
              file=sys.stderr)
        return FAILED
    print(f"{store.safe_url}: {moved} node(s) of hub {old!r} are now of hub {new!r}")
    return 0

