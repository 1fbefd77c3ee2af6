"""Settings and store for one Sphinx build: nodes read once, findings kept between builds."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from sphinx.util import logging

from .. import config as config_mod
from .._version import __version__
from ..atomic import write_atomic
from ..checks import (
    NodeStatus,
    Reason,
    SeriesStatus,
    check_node,
    judged_reader,
    originals_for,
    same_findings_until,
)
from ..export import data_keys, hub_source, node_document
from ..store import NodeData, StoreError
from .assets import Highcharts

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

    from ..pictures import ChartOptions
    from ..store import Reader

logger = logging.getLogger(__name__)
T = TypeVar("T")

#: below the doctree folder: the findings of the last build, reused while they hold
FINDINGS_FILE = "scmmonitor-findings.json"


class Kept(NamedTuple):
    """A node's findings as one build judged them, for the next builds."""

    key: str          # the data key they were judged from (export.data_keys)
    judged_at: float
    until: float      # they hold strictly before this (checks.same_findings_until)
    status: NodeStatus

    @property
    def expires(self) -> bool:
        """They hold for a while, and then change for sure (the clock crosses a limit)."""
        return self.until > self.judged_at


@dataclass
class BuildData:
    """What the directives, visitors and events of one build share.

    The settings are read on first use (a site whose pages show no node never
    reads them); the store is opened on first use, once per process (a parallel
    build forks, and a SQLAlchemy engine must not be shared across a fork).
    Each node is read at most once per process and build: its findings from the
    store's recent read (or kept from the last build, see :meth:`node_status`),
    its whole history only where a chart's data or picture is written.
    """

    config_path: Path
    _settings: config_mod.Settings | None = None
    #: why there are no settings (set: they were not read, and will not be)
    _error: str | None = None
    _loaded: bool = False
    #: where the findings are kept between builds (None: not kept)
    findings_path: Path | None = None
    #: a node judged afresh is read whole: the build exports it (HTML), and one read
    #: serves both its findings and its data file
    whole_when_changed: bool = False
    _store: Reader | None = None
    _store_pid: int = 0
    _store_error: str | None = None
    _schema_checked: bool = False
    _cache_pid: int = 0
    _node_cache: dict[str, NodeData] = field(default_factory=dict)
    _status_cache: dict[str, NodeStatus] = field(default_factory=dict)
    _judged: Callable[[str], NodeData] | None = None
    _keys: dict[str, str] | None = None
    #: the last build's findings per node (read on first use)
    _kept: dict[str, Kept] | None = None
    #: this build's, written by :meth:`keep_findings`
    _judgements: dict[str, Kept] = field(default_factory=dict)
    #: where the pages load Highcharts from (None: not found, the one warning was given)
    highcharts: Highcharts | None = None
    #: PNG files drawn in this build (by this process)
    rendered: set[str] = field(default_factory=set)
    #: what the chart pages load differs from the last build's: they are written again
    assets_changed: bool = False
    #: the chart directives' settled node attributes and picture, per node and options
    #: (directives.py): they depend on the settings only, which stay for the build
    charts: dict[tuple[object, ...], tuple[dict[str, Any], ChartOptions]] = field(
        default_factory=dict)

    @property
    def settings(self) -> config_mod.Settings | None:
        """The settings of ``scmmonitor_config``; None when it is bad (one warning)."""
        if not self._loaded:
            self._loaded = True
            try:
                self._settings = config_mod.load(self.config_path)
            except config_mod.ConfigError as exc:
                self._error = str(exc)
                logger.warning("scmmonitor: %s; the charts will have no data and the status "
                               "tables show nothing (scmmonitor_config in conf.py names this "
                               "file)", exc, type="scmmonitor", subtype="config")
        return self._settings

    @property
    def error(self) -> str | None:
        """Why :attr:`settings` is None."""
        return self._error if self.settings is None else None

    def store(self) -> Reader:
        """The store of this process; raises :class:`StoreError` (remembered per process).

        A plain SQLite file at this release's schema is read with the standard
        library's sqlite3 (``store.open_reader``): a rebuild that only looks at the
        nodes' change keys then never imports SQLAlchemy. Anything else (another
        database, a file or schema not there yet) goes through ``Store``, which
        creates an empty store or says to run ``scm-monitor db upgrade``.
        """
        if self.settings is None:
            raise StoreError(self.error or "no settings")
        pid = os.getpid()
        if self._store is not None and self._store_pid == pid:
            return self._store
        if self._store is not None:
            # inherited from the parent process: leave its connections to the parent
            self._store.forget()
            self._store = None
        if self._store_error is not None and self._store_pid == pid:
            raise StoreError(self._store_error)
        self._store_pid = pid
        from ..store.lite import LiteStore, sqlite_file

        url = self.settings.database
        path = sqlite_file(url)
        if path is not None:
            with contextlib.suppress(StoreError):  # not there yet, or another schema
                lite = LiteStore(url, path)
                try:
                    lite.ensure_schema()
                except StoreError:
                    lite.close()
                    raise
                self._store = lite
                return lite
        # here, not at import: a site whose pages show no node never loads SQLAlchemy
        from ..store import Store

        try:
            self._store = Store(url)
        except StoreError as exc:
            self._store_error = str(exc)
            raise
        return self._store

    def read(self, fn: Callable[[Reader], T]) -> T:
        """``fn(store)``; any database problem becomes a :class:`StoreError`.

        The schema is checked only when a read fails: a docs build reads, and
        checking first would import Alembic (~0.15 s) on every build. A missing
        schema is created (an empty store), an old one gets the message that
        says to run ``scm-monitor db upgrade``.
        """
        store = self.store()
        # SQLAlchemy's errors can only come from SQLAlchemy: not imported, none to catch
        sqla = sys.modules.get("sqlalchemy.exc")
        errors: tuple[type[Exception], ...] = (StoreError,) if sqla is None else (
            StoreError, sqla.SQLAlchemyError)
        try:
            return fn(store)
        except errors as exc:
            if self._schema_checked:
                raise StoreError(str(exc)) from exc
            self._schema_checked = True
        try:
            store.ensure_schema()
            return fn(store)
        except errors as exc:
            raise StoreError(f"cannot read {store.safe_url}: {exc}") from exc

    def _this_process(self) -> None:
        """A forked reader starts with its own caches (the parent's are the parent's)."""
        if self._cache_pid != os.getpid():
            self._forget()
            self._cache_pid = os.getpid()

    def _forget(self) -> None:
        self._node_cache, self._status_cache, self._judgements = {}, {}, {}
        self._judged = self._keys = self._kept = None
        self._cache_pid = 0

    def data_keys(self) -> dict[str, str]:
        """Every configured node's data key, read in one query before any node's data."""
        assert self.settings is not None
        self._this_process()
        if self._keys is None:
            settings = self.settings
            self._keys = self.read(lambda store: data_keys(settings, store, settings.nodes))
        return self._keys

    def node_data(self, name: str) -> NodeData:
        """A node's whole history, read once per process and build (see :meth:`refresh`)."""
        assert self.settings is not None
        self.data_keys()  # first: data read after its key is never older than the key says
        if name not in self._node_cache:
            hub = self.settings.node(name).hub
            self._node_cache[name] = self.read(lambda store: store.node_data(name, hub))
        return self._node_cache[name]

    def judged_data(self, name: str) -> NodeData:
        """What the checks judge of a node: the whole read if made already, else the
        store's recent read (checks.judged_reader), once per process and build."""
        self.data_keys()
        if name in self._node_cache:
            return self._node_cache[name]
        if self._judged is None:
            settings = self.settings
            assert settings is not None
            self._judged = self.read(lambda store: judged_reader(settings, store))
        judged = self._judged
        return self.read(lambda store: judged(name))

    def document(self, name: str, now: float) -> dict[str, Any]:
        """The node's JSON document, exactly as ``scm-monitor export`` writes it."""
        assert self.settings is not None
        node = self.settings.node(name)
        return node_document(node, self.node_data(name), self.node_status(name, now), now,
                             source=hub_source(self.settings, node.hub))

    def node_status(self, name: str, now: float) -> NodeStatus:
        """The node's findings as of ``now``, judged once per process and build.

        Findings the last build judged from the same data key are reused while the
        clock alone cannot have changed them (checks.same_findings_until): the same
        data judged again would give the same findings, so an unchanged store costs
        no read, and a collection that went stale meanwhile is judged again.
        """
        assert self.settings is not None
        keys = self.data_keys()
        if name in self._status_cache:
            return self._status_cache[name]
        node = self.settings.node(name)
        kept = self._kept_findings().get(name)
        if kept is not None and kept.key != keys[name]:
            kept = None  # judged from other data
        if kept is not None and now < kept.until and name not in self._node_cache:
            status = kept.status
        else:
            if self.whole_when_changed and (kept is None or kept.expires):
                # new data, or findings the clock changed for sure: its data file is
                # written again, so the one read is the whole one, here
                self.node_data(name)
            status = check_node(node, self.judged_data(name), now,
                                originals_for(self.settings, name, self.judged_data))
            kept = Kept(keys[name], now, same_findings_until(node, status, now), status)
        self._status_cache[name] = status
        self._judgements[name] = kept
        return status

    def _kept_findings(self) -> dict[str, Kept]:
        self._this_process()
        if self._kept is None:
            self._kept = {}
            if self.findings_path is not None:
                self._kept = _read_findings(self.findings_path)
        return self._kept

    def keep_findings(self, names: Iterable[str]) -> None:
        """Keep this build's findings of ``names`` (the nodes the pages use) for the next."""
        if self.findings_path is None:
            return
        nodes = {n: self._judgements[n] for n in names if n in self._judgements}
        if nodes == self._kept_findings():
            return
        doc = {"version": __version__,
               "nodes": {n: [k.key, k.judged_at, k.until, dataclasses.asdict(k.status)]
                         for n, k in nodes.items()}}
        with contextlib.suppress(OSError):
            self.findings_path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.findings_path, json.dumps(doc, sort_keys=True) + "\n")

    def refresh(self) -> None:
        """Forget what was read and drawn: the next read sees the store as it is now."""
        self._forget()
        self.rendered.clear()

    def close(self) -> None:
        self._forget()
        if self._store is not None and self._store_pid == os.getpid():
            self._store.close()
        self._store = None
        self._store_error = None


def _read_findings(path: Path) -> dict[str, Kept]:
    """The findings :meth:`BuildData.keep_findings` wrote; none when unreadable, damaged
    or another release's (whose checks may judge otherwise)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("version") != __version__:
            return {}
        out = {}
        for name, (key, judged_at, until, status) in doc["nodes"].items():
            series = [SeriesStatus(**{**s, "reasons": _reasons(s["reasons"])})
                      for s in status["series"]]
            out[name] = Kept(str(key), float(judged_at), float(until), NodeStatus(**{
                **status, "reasons": _reasons(status["reasons"]), "series": series}))
        return out
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def _reasons(items: list[dict[str, Any]]) -> list[Reason]:
    return [Reason(r["reason"], r["detail"], tuple(r["at"])) for r in items]


_BUILDS: weakref.WeakKeyDictionary[BuildEnvironment, BuildData] = weakref.WeakKeyDictionary()


def load(app: Sphinx) -> BuildData:
    """This build's data; ``scmmonitor_config`` (relative to conf.py's folder) is read on
    first use, with one warning if it is bad."""
    old = _BUILDS.get(app.env)
    if old is not None:
        old.close()
    build = _BUILDS[app.env] = BuildData(
        config_path=Path(app.confdir, app.config.scmmonitor_config),
        findings_path=Path(app.doctreedir, FINDINGS_FILE))
    return build


def get(env: BuildEnvironment) -> BuildData:
    build = _BUILDS.get(env)
    if build is None:  # pragma: no cover - builder-inited always runs first
        build = _BUILDS[env] = BuildData(config_path=Path(), _loaded=True,
                                         _error="the extension was not initialised")
    return build
