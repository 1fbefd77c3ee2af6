"""The store: the history of every node's backups and collection runs.

The plain record types and the differ need no SQLAlchemy; :class:`Store` is
imported on first use, so a pure parser that only builds :class:`Record`
(``collect/listing.py``) never loads the database layer. :func:`open_reader`
opens a store for ``status``: an SQLite file without SQLAlchemy (``lite.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .ingest import Differ, ListingDiffer
from .records import (
    WINDOW_ONLY,
    BackupFile,
    Changes,
    Known,
    Lease,
    LookBack,
    NodeBusyError,
    NodeData,
    NodeOwnerError,
    Record,
    RunInfo,
    SeriesData,
    SeriesState,
    StoreError,
    Verification,
    root_prefix,
)

if TYPE_CHECKING:
    from .db import Store
    from .lite import Reader, open_reader

__all__ = [
    "WINDOW_ONLY",
    "BackupFile",
    "Changes",
    "Differ",
    "Known",
    "Lease",
    "ListingDiffer",
    "LookBack",
    "NodeBusyError",
    "NodeData",
    "NodeOwnerError",
    "Reader",
    "Record",
    "RunInfo",
    "SeriesData",
    "SeriesState",
    "Store",
    "StoreError",
    "Verification",
    "open_reader",
    "root_prefix",
]


def __getattr__(name: str) -> Any:
    if name == "Store":
        from .db import Store

        return Store
    if name in ("open_reader", "Reader"):
        from . import lite

        return getattr(lite, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
