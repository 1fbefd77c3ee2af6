"""The schema revisions this release ships, and what a store of another revision is told.

Both ways of opening a store judge its revision here: :class:`~.db.Store` (any
database, through SQLAlchemy) and :class:`~.lite.LiteStore` (SQLite read with
the standard library, for ``status``), so both say the same (docs/operations.rst,
"Upgrading").
"""

from __future__ import annotations

from .records import StoreError

#: every revision in migrations/versions, oldest first (tests/test_scale_outputs.py
#: checks them against Alembic's own view of the scripts)
REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006")
HEAD = REVISIONS[-1]


def known(current: str | None, safe_url: str) -> str | None:
    """``current`` when this release knows it (None: no schema yet); else a :class:`StoreError`."""
    if current is not None and current not in REVISIONS:
        raise StoreError(f"database {safe_url}: this database was written by a newer "
                         f"scm-monitor (revision {current}): upgrade the package")
    return current


def refuse(current: str | None, safe_url: str) -> StoreError:
    """Why a store of revision ``current`` (not :data:`HEAD`) is not used as it is."""
    if current is None:
        return StoreError(f"database {safe_url} has no schema yet: run "
                          "`scm-monitor collect` (or `scm-monitor db upgrade`) first")
    return StoreError(f"database {safe_url} has schema {current}, this version needs "
                      f"{HEAD}: run `scm-monitor db upgrade` first")
