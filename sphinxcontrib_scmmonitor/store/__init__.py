"""The store: the history of every node's backups and collection runs (SQLAlchemy)."""

from .db import (
    Changes,
    Differ,
    Known,
    NodeData,
    Record,
    RunInfo,
    SeriesData,
    Store,
    StoreError,
    diff,
)

__all__ = ["Changes", "Differ", "Known", "NodeData", "Record", "RunInfo", "SeriesData", "Store",
           "StoreError", "diff"]
