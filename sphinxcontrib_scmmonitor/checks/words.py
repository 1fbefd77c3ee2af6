"""How a finding names what it is about: remote names printable, long lists cut short."""

from __future__ import annotations

from collections.abc import Sequence

# a remote name for a message, undecodable bytes and control characters as \xNN: the
# collector's rule too (one home, text.py), so the checks do not import the collector
from ..text import remote_name as shown

__all__ = ["NAMED", "named", "shown"]

#: a finding lists this many files or dated folders by name, then counts the rest
NAMED = 3


def named(items: Sequence[str], sep: str = ", ") -> str:
    """'a, b, c and 2 more'."""
    if len(items) <= NAMED:
        return sep.join(items)
    return f"{sep.join(items[:NAMED])} and {len(items) - NAMED} more"
