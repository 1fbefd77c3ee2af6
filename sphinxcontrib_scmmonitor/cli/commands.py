"""One function per ``scm-monitor`` command, :func:`main`, which picks one, and :func:`run`."""

from __future__ import annotations

import argparse
import gc
import logging
import shutil
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn, cast

from .. import config as config_mod
from .exits import FAILED, INTERRUPTED, USAGE
from .parser import build_parser

if TYPE_CHECKING:
    from ..export import Selection
    from ..store import Store  # imported when a command needs it: --help stays fast

log = logging.getLogger("scmmonitor")

def run() -> NoReturn:
    """The ``scm-monitor`` process: :func:`main`, then its exit status.

    Cron and Nagios run these every few minutes, so the process spares what only a
    process can: paramiko's optional ``invoke`` is kept out where it is never used, and
    before the exit every object is frozen out of the garbage collector (the
    interpreter's last collections over paramiko's and SQLAlchemy's objects take about
    0.15 s, as long as a ``status`` itself; each command has closed its store and
    connections by then).
    """
    if shutil.which("ssh"):
        # paramiko loads `invoke` whenever it is installed, only to run an ssh_config's
        # `Match exec`; where OpenSSH's client resolves the config (`ssh -G`) paramiko
        # never reads it, and invoke is a tenth of a second of every collect's start
        sys.modules.setdefault("invoke", None)  # type: ignore[arg-type]
    status = main()
    gc.freeze()
    sys.exit(status)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(on_status_error=status_usage)
    args, extra = parser.parse_known_args(argv)
    if extra:  # as parse_args would say it, but status says it as a Nagios plugin must
        message = f"unrecognized arguments: {' '.join(extra)}"
        if args.command == "status":
            parser.print_usage(sys.stderr)
            return status_unknown(f"usage error: {message}")
        parser.error(message)
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
    """Why ``outdir`` cannot take the export (None: it can).

    A typo in a cron line's folder must not create a new folder nobody serves
    (docs/cli.rst): the folder must exist, and be a Sphinx HTML output (every one has
    ``_static/``). ``docs/_build`` for ``docs/_build/html`` is the easy slip: written
    into, no page would ever read it.
    """
    from pathlib import Path

    folder = Path(outdir)
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        return (f"{option} {outdir}: {what}; give the HTML output folder of a Sphinx build "
                "(the one holding _static/), e.g. docs/_build/html")
    if not (folder / "_static").is_dir():
        inside = sorted(p.parent.name for p in folder.glob("*/_static") if p.is_dir())
        hint = (f" (did you mean {folder / inside[0]}?)" if len(inside) == 1
                else " (give the folder of the built index.html)")
        return (f"{option} {outdir}: has no _static/ folder, so it is not a Sphinx HTML "
                f"output and no page there would read what is written{hint}")
    return None


def cmd_collect(settings: config_mod.Settings, args: argparse.Namespace) -> int:
    from ..collect import Collection
    from ..store import StoreError
    from .progress import LineReporter, LiveReporter

    names = _check_nodes(settings, args.nodes)
    # the listings start first, so that the nodes' find runs while the store is opened;
    # a store that cannot be opened gives them up unread (docs/operations.rst)
    with Collection([settings.nodes[n] for n in names], workers=settings.workers) as running:
        try:
            store = _open_store(settings, create=True)
        except StoreError as exc:
            print(f"scm-monitor: {exc}", file=sys.stderr)
            return USAGE
        live = args.progress == "live" or (args.progress == "auto" and sys.stdout.isatty())
        reporter = LiveReporter(names) if live else LineReporter()
        try:
            results = running.finish(store, reporter)
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
        # the nodes collected that the site's pages show, no others
        selection = _site_selection(settings, outdir, names, named=False)
        paths = export(settings, store, outdir, selection.nodes)
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
        selection = _site_selection(settings, args.outdir, names, named=bool(args.nodes))
        store = _open_store(settings, create=True)
        paths = export(settings, store, args.outdir, selection.nodes)
    except (ExportError, StoreError) as exc:
        print(f"scm-monitor: export failed: {exc}", file=sys.stderr)
        return USAGE
    for path in paths:
        print(path)
    return 0


def _site_selection(settings: config_mod.Settings, outdir: str, names: list[str], *,
                    named: bool) -> Selection:
    """The nodes an export into the built site ``outdir`` writes (those its pages show,
    docs/cli.rst), said with -v; a warning where the site cannot say, or where nodes
    named on the command line are left out."""

    from ..export import site_selection

    selection = site_selection(settings, outdir, names)
    if selection.warning is not None:
        print(f"scm-monitor: warning: {selection.warning}", file=sys.stderr)
        return selection
    if selection.manifest is None:
        return selection  # a damaged manifest: the pictures' redraw says so
    log.info("%s lists the nodes the pages show: exporting %s", selection.manifest,
             ", ".join(selection.nodes) or "none")
    if selection.not_shown:
        left_out = ", ".join(selection.not_shown)
        if named:
            print(f"scm-monitor: warning: no page of {outdir} shows {left_out} (as its "
                  f"last build listed them in {selection.manifest}): not exported, since "
                  "a build would delete their data files", file=sys.stderr)
        else:
            log.info("not exported, no page shows them: %s", left_out)
    return selection


def status_unknown(problem: str) -> int:
    """``status`` is a Nagios plugin: what stops it is UNKNOWN (3), said on stdout's line
    (a monitoring system shows that line; an empty one with CRITICAL says nothing)."""
    from ..checks import EXIT_CODES, NAGIOS_WORDS, UNKNOWN
    from ..status import HEAD

    print(f"{HEAD} {NAGIOS_WORDS[UNKNOWN]}: {problem}", flush=True)
    return EXIT_CODES[UNKNOWN]


def status_usage(message: str) -> NoReturn:
    """A usage error of ``status`` (its parser's ``error``): UNKNOWN, not argparse's 2."""
    raise SystemExit(status_unknown(f"usage error: {message}"))


def cmd_status(settings: config_mod.Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from .. import status as status_mod
    from ..atomic import WriteError, write_atomic
    from ..checks import evaluate
    from ..store import StoreError, open_reader

    try:
        names = _check_nodes(settings, args.nodes)
    except config_mod.ConfigError as exc:  # e.g. a node retired from the config, not Nagios'
        return status_unknown(str(exc))
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
    from ..store import StoreError, open_reader

    try:
        # a dry run writes nothing: it reads as status does (an SQLite file without
        # SQLAlchemy, docs/operations.rst "Large stores"); a real one records its mail
        store = (open_reader(settings.database) if args.dry_run
                 else _open_store(settings, create=False))
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

