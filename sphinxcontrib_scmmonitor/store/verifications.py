"""The content checks' results per backup file (sha256, gzip test), kept so none runs twice.

A result is stored with the size and mtime the file had when it was checked.
A file listed again unchanged keeps its result, and :meth:`Verifications.unverified`
leaves it out; a file changed in place (another size or mtime) counts as never
checked, and its old result is no longer read back. Files are named by their
full path as listed on the node (``BackupFile.path``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from sqlalchemy import Connection, and_, bindparam, insert, or_, select, update

from .engine import Database, runner
from .queries import read_verified
from .records import Verification
from .tables import backups as backups_t
from .tables import nodes as nodes_t
from .tables import verifications as verifications_t
from .util import batches

Check = Literal["sha256", "gzip"]
_IN_BATCH = 500
_UNCHANGED = and_(verifications_t.c.size == backups_t.c.size,
                  verifications_t.c.mtime == backups_t.c.mtime)


class Verifications(Database):
    """The content-check part of :class:`~.db.Store`."""

    def record_sha256(self, node: str, hashes: Mapping[bytes, str], *,
                      checked_at: float) -> int:
        """Keep each file's SHA-256 (hex); returns how many files of the node were known."""
        return self._record(node, {p: {"sha256": h} for p, h in hashes.items()}, checked_at)

    def record_gzip(self, node: str, results: Mapping[bytes, str | None], *,
                    checked_at: float) -> int:
        """Keep each file's ``gzip -t`` outcome: None when it passed, else gzip's message."""
        return self._record(node, {p: {"gzip_ok": err is None, "gzip_error": err}
                                   for p, err in results.items()}, checked_at)

    def verified(self, node: str) -> dict[bytes, Verification]:
        """full path -> what was found, for the node's files unchanged since their check."""
        with self.read() as conn:
            node_id = _node_id(conn, node)
            return {} if node_id is None else verified_files(conn, node_id)

    def unverified(self, node: str, paths: Iterable[bytes], check: Check) -> list[bytes]:
        """Which of ``paths`` still need ``check``, in the order given.

        Only files the store holds as present on the node are answered: a path it
        does not know (or knows as gone) could not keep a result, so it is left out.
        """
        done_col = {"sha256": verifications_t.c.sha256,
                    "gzip": verifications_t.c.gzip_ok}[check]
        wanted = list(dict.fromkeys(paths))
        todo: set[bytes] = set()
        with self.read() as conn:
            node_id = _node_id(conn, node)
            if node_id is None:
                return []
            for batch in batches(wanted, _IN_BATCH):
                query = (select(backups_t.c.path)
                         .select_from(backups_t.outerjoin(verifications_t))
                         .where(backups_t.c.node_id == node_id, backups_t.c.path.in_(batch),
                                backups_t.c.gone_at.is_(None),
                                or_(verifications_t.c.backup_id.is_(None), done_col.is_(None),
                                    ~_UNCHANGED)))
                todo.update(bytes(r[0]) for r in conn.execute(query))
        return [p for p in wanted if p in todo]

    def _record(self, node: str, values: dict[bytes, dict[str, Any]], checked_at: float) -> int:
        stamp = int(checked_at)
        known = 0
        with self.write() as conn:
            node_id = _node_id(conn, node)
            if node_id is None:
                return 0
            paths = list(values)
            for batch in batches(paths, _IN_BATCH):
                rows = conn.execute(
                    select(backups_t.c.id, backups_t.c.path, backups_t.c.size, backups_t.c.mtime,
                           verifications_t.c.backup_id, verifications_t.c.size.label("v_size"),
                           verifications_t.c.mtime.label("v_mtime"))
                    .select_from(backups_t.outerjoin(verifications_t))
                    .where(backups_t.c.node_id == node_id, backups_t.c.path.in_(batch))).all()
                known += len(rows)
                keep, fresh = [], []
                for r in rows:
                    found = values[bytes(r.path)]
                    if r.backup_id is not None and (r.v_size, r.v_mtime) == (r.size, r.mtime):
                        keep.append({"b_id": r.id, "b_at": stamp, **found})
                    else:  # never checked, or checked before the file changed: start afresh
                        fresh.append((r.id, r.backup_id is not None,
                                      {"size": r.size, "mtime": r.mtime, "sha256": None,
                                       "gzip_ok": None, "gzip_error": None, "checked_at": stamp,
                                       **found}))
                _keep(conn, keep)
                _fresh(conn, fresh)
        return known


def verified_files(conn: Connection, node_id: int) -> dict[bytes, Verification]:
    """What :meth:`Verifications.verified` returns, inside a read already open."""
    return read_verified(runner(conn), node_id)  # the SQL status reads too (queries.py)


def _node_id(conn: Connection, node: str) -> int | None:
    row = conn.execute(select(nodes_t.c.id).where(nodes_t.c.name == node)).first()
    return None if row is None else int(row[0])


def _keep(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Add one check's result to files whose other result still holds."""
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        by_columns.setdefault(tuple(sorted(k for k in row if not k.startswith("b_"))),
                              []).append(row)
    for columns, group in by_columns.items():
        conn.execute(update(verifications_t)
                     .where(verifications_t.c.backup_id == bindparam("b_id"))
                     .values(checked_at=bindparam("b_at"),
                             **{c: bindparam(c) for c in columns}), group)


def _fresh(conn: Connection, rows: list[tuple[int, bool, dict[str, Any]]]) -> None:
    stale = [{"b_id": backup_id, **{f"v_{k}": v for k, v in values.items()}}
             for backup_id, existed, values in rows if existed]
    if stale:
        columns = list(rows[0][2])
        conn.execute(update(verifications_t)
                     .where(verifications_t.c.backup_id == bindparam("b_id"))
                     .values(**{c: bindparam(f"v_{c}") for c in columns}), stale)
    new = [{"backup_id": backup_id, **values} for backup_id, existed, values in rows
           if not existed]
    if new:
        conn.execute(insert(verifications_t), new)
