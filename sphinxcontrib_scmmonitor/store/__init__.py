"""The store: the history of every node's backups and collection runs (SQLAlchemy)."""

from .db import (
    Changes,
    Differ,
    Known,
    ListingDiffer,
    NodeData,
    NodeOwnerError,
    Record,
    RunInfo,
    SeriesData,
    SeriesState,
    Store,
    StoreError,
    diff,
)

__all__ = ["Changes", "Differ", "Known", "ListingDiffer", "NodeData", "NodeOwnerError",
           "Record", "RunInfo", "SeriesData", "SeriesState", "Store", "StoreError", "diff"]
