"""The store: one database with its schema, reads and writes, as one object.

Only this package knows SQL. Writers hand in plain records and get plain
values (``records.py``) back; each part of :class:`Store` lives in the module
of its job (``engine``, ``schema``, ``reads``, ``writes``).
"""

from __future__ import annotations

from .reads import Reads
from .schema import Schema
from .writes import Writes


class Store(Schema, Writes, Reads):
    """One database, opened from a SQLAlchemy URL."""
