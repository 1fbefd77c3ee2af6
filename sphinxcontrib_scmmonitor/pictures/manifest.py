"""The site's list of pictures (``_static/scmmonitor/pictures.json``) and redrawing them.

A Sphinx build writes the manifest: every chart on every page, with its
options and its picture's file name, and the nodes the pages show.
``scm-monitor export`` (and ``collect --export``) read it, write the JSON of
those nodes only, as the build does, and redraw the pictures from the store, so a picture is
never older than the JSON and fresh data needs no rebuild. A picture's file
name is a hash of its chart's options, so it stays the same across exports and
the pages keep finding it; a picture whose data did not change is not redrawn.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..atomic import write_all
from ..checks import NodeStatus, check_node, originals_for, reader
from ..config import Settings
from ..export import ExportError, write_atomic
from ..store import NodeData
from . import svg as svg_writer
from .options import ChartOptions
from .scene import RENDERER_VERSION, draw

if TYPE_CHECKING:
    from ..store import Reader

MANIFEST = ("_static", "scmmonitor", "pictures.json")
PICTURE_DIR = ("_static", "scmmonitor", "pictures")
FORMAT = 1
_PICTURE_NAME = re.compile(r"[0-9a-f]{16}\.svg\Z")
_DRAWN_FROM = re.compile(rb'data-drawn-from="([0-9a-f]+)"')


class PictureError(ExportError):
    """The manifest cannot be read or a picture cannot be written."""


def manifest_path(outdir: str | os.PathLike[str]) -> Path:
    return Path(outdir).joinpath(*MANIFEST)


def picture_dir(outdir: str | os.PathLike[str]) -> Path:
    return Path(outdir).joinpath(*PICTURE_DIR)


def write_manifest(outdir: str | os.PathLike[str],
                   pages: Mapping[str, Iterable[ChartOptions]],
                   nodes: Iterable[str] | None = None) -> dict[str, Any]:
    """Write the manifest for ``pages`` (page name -> its charts) and ``nodes`` (the nodes
    the pages show: charts, status tables, calendars); returns it."""
    pictures: dict[str, dict[str, Any]] = {}
    for page in sorted(pages):
        for options in pages[page]:
            entry = pictures.setdefault(options.file_name(),
                                        {"options": options.to_json(), "pages": []})
            if page not in entry["pages"]:
                entry["pages"].append(page)
    body = json.dumps(pictures, sort_keys=True, ensure_ascii=True)
    doc = {"format": FORMAT, "renderer": RENDERER_VERSION,
           # changes whenever the set of charts does: a cache-busting token for pages
           "revision": hashlib.sha1(body.encode(), usedforsecurity=False).hexdigest()[:12],
           "pictures": pictures}
    if nodes is not None:
        doc["nodes"] = sorted(set(nodes))
    path = manifest_path(outdir)
    text = json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=True) + "\n"
    with contextlib.suppress(OSError):
        if path.read_text(encoding="utf-8") == text:
            return doc  # unchanged: an incremental build leaves the file alone
    write_atomic(path, text)
    return doc


def read_manifest(outdir: str | os.PathLike[str]) -> dict[str, ChartOptions] | None:
    """Picture file name -> its chart; None when the folder holds no built site."""
    path = manifest_path(outdir)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeError, ValueError) as exc:
        raise PictureError(f"cannot read {path}: {exc}; rebuild the docs with sphinx-build "
                           "to write it again") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or \
            not isinstance(doc.get("pictures"), dict):
        raise PictureError(f"{path} is not a picture manifest of format {FORMAT}; rebuild the "
                           "docs with sphinx-build to write it again")
    out: dict[str, ChartOptions] = {}
    for name, entry in doc["pictures"].items():
        try:
            options = ChartOptions.from_json(entry.get("options") if isinstance(entry, dict)
                                             else None)
        except ValueError as exc:
            raise PictureError(f"{path}: pictures.{name}: {exc}") from None
        if name != options.file_name():
            raise PictureError(f"{path}: pictures.{name}: the name is not its options' hash "
                               f"({options.file_name()}); rebuild the docs")
        out[name] = options
    return out


def shown_nodes(outdir: str | os.PathLike[str]) -> list[str] | None:
    """The nodes the built site's pages show, as its last build listed them in the
    manifest; None when there is no manifest or it has no such list (written by a
    release before the list was added). Raises :class:`PictureError` when damaged."""
    path = manifest_path(outdir)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeError, ValueError) as exc:
        raise PictureError(f"cannot read {path}: {exc}; rebuild the docs with sphinx-build "
                           "to write it again") from None
    nodes = doc.get("nodes") if isinstance(doc, dict) else None
    if nodes is None:
        return None
    if not isinstance(nodes, list) or not all(isinstance(n, str) for n in nodes):
        raise PictureError(f"{path}: nodes is not a list of node names; rebuild the docs "
                           "with sphinx-build to write it again")
    return nodes


def data_key(options: ChartOptions, data: NodeData, status: NodeStatus,
             retired: Iterable[str]) -> str:
    """What a picture depends on, cheaply: new backups only arrive with a new run."""
    runs = [(r.started_at, r.finished_at, r.state) for r in data.runs[-1:]]
    judged = [(s.name, s.newest, s.size, [(r.reason, r.at) for r in s.reasons])
              for s in status.series]
    text = repr((RENDERER_VERSION, options.key, len(data.runs), runs, judged,
                 [(r.reason, r.detail) for r in status.reasons], status.last_good_at,
                 sorted(retired)))
    return hashlib.sha1(text.encode("utf-8", "surrogateescape"),
                        usedforsecurity=False).hexdigest()[:16]


def drawn_from(path: Path) -> str | None:
    """The data key an existing picture was drawn from (None: none, or not ours)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(1024)
    except OSError:
        return None
    match = _DRAWN_FROM.search(head)
    return match.group(1).decode() if match else None


def draw_svg(options: ChartOptions, data: NodeData, status: NodeStatus,
             retired: frozenset[str]) -> str:
    scene = draw(data, status, options, retires=retired)
    scene.key = data_key(options, data, status, retired)
    return svg_writer.write(scene)


def rewrite(outdir: str | os.PathLike[str], settings: Settings, store: Reader | None = None,
            nodes: Iterable[str] | None = None, now: float | None = None,
            data: Mapping[str, tuple[NodeData, NodeStatus]] | None = None,
            read: Callable[[str], NodeData] | None = None) -> list[Path]:
    """Redraw the pictures the manifest in ``outdir`` lists (of ``nodes``; default all;
    a node's picture that does not exist yet is drawn whatever ``nodes`` says).

    Node data comes from ``data`` where given, else from ``read`` (a caller's full
    read, e.g. a docs build's, read once per node) or ``store`` (one read per node
    that has a picture). A picture is redrawn only when what it shows
    changed (:func:`data_key`); picture files the manifest no longer names are
    removed; a node no longer configured keeps its last picture until the next
    build drops its chart. No manifest (a folder no Sphinx build wrote): nothing
    to do, and nothing is read.
    """
    manifest = read_manifest(outdir)
    if manifest is None:
        return []
    now = time.time() if now is None else now
    folder = picture_dir(outdir)
    wanted = None if nodes is None else set(nodes)
    by_node: dict[str, list[tuple[str, ChartOptions]]] = {}
    for name, options in manifest.items():
        if options.node in settings.nodes:
            by_node.setdefault(options.node, []).append((name, options))
    if wanted is not None:
        # the nodes asked for, and any node with a picture not drawn yet (a chart the
        # last build added, a file removed by hand): a page never names a missing file
        by_node = {node: charts for node, charts in by_node.items() if node in wanted or
                   any(not (folder / name).is_file() for name, _ in charts)}
    written: list[Path] = []
    if read is None and store is not None:
        read = reader(settings, store)
    for node_name, charts in by_node.items():
        node = settings.node(node_name)
        if data is not None and node_name in data:
            node_data, status = data[node_name]
        elif read is not None:
            node_data = read(node_name)
            status = check_node(node, node_data, now, originals_for(settings, node_name, read))
        else:
            continue
        retired = frozenset(s.name for s in node_data.series if node.retires(s.name))
        drawn: dict[Path, str | bytes] = {}
        for name, options in charts:
            path = folder / name
            key = data_key(options, node_data, status, retired)
            if drawn_from(path) == key:
                continue  # the same data: the picture on disk is this picture
            drawn[path] = draw_svg(options, node_data, status, retired)
        # a node's pictures written together: one sync for them all (atomic.write_all)
        write_all(drawn)
        written.extend(drawn)
    _prune(folder, set(manifest))
    return written


def drop_unlisted(outdir: str | os.PathLike[str]) -> None:
    """Remove the picture files the manifest in ``outdir`` no longer names."""
    _prune(picture_dir(outdir), set(read_manifest(outdir) or {}))


def placeholder(outdir: str | os.PathLike[str], message: str) -> None:
    """Where the store could not be read: a picture that says why, not a broken image."""
    manifest = read_manifest(outdir) or {}
    folder = picture_dir(outdir)
    for name, options in manifest.items():
        path = folder / name
        if path.exists():
            continue  # an older picture says more than a message
        write_atomic(path, svg_writer.message(options.width, options.height, options.title,
                                              message))


def _prune(folder: Path, keep: set[str]) -> None:
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if _PICTURE_NAME.match(name) and name not in keep:
            with contextlib.suppress(OSError):
                (folder / name).unlink()
