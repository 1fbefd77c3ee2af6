"""The store: one database with its schema, reads, writes, leases and content checks.

Only this package knows SQL. Writers hand in plain records and get plain
values (``records.py``) back; each part of :class:`Store` lives in the module
of its job (``engine``, ``schema``, ``reads``, ``writes``, ``leases``,
``verifications``).
"""

from __future__ import annotations

from .leases import Leases
from .reads import Reads
from .schema import Schema
from .verifications import Verifications
from .writes import Writes


class Store(Schema, Leases, Verifications, Writes, Reads):
    """One database, opened from a SQLAlchemy URL."""
