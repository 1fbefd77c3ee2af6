"""What changed in the store since a node was last read: one cheap key per node.

Everything a node's data holds arrives with a collection run (its backups, its
series' listed counts, its runs) or a content check (its verifications); a run
row is inserted per collection and updated when it ends. So the node's hub, its
latest run's id, state and end, and the count and latest time of its content
checks change whenever what :meth:`~.reads.Reads.node_data` returns can. A
docs build reads these for many nodes in one query instead of each node's
history (docs/sphinx.rst, "How the page gets its data").
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, text

from .engine import Database

# the content checks are few (only verified files): walked from them, each backup found by
# its id; a join would let the planner walk the backups, millions of rows, instead

_KEYS = text("""
SELECT n.name, n.hub, r.id, r.state, r.started_at, r.finished_at, v.checked, v.latest
FROM nodes n
LEFT JOIN runs r ON r.id = (SELECT r2.id FROM runs r2 WHERE r2.node_id = n.id
                            ORDER BY r2.started_at DESC, r2.id DESC LIMIT 1)
LEFT JOIN (SELECT node_id, COUNT(*) AS checked, MAX(checked_at) AS latest
           FROM (SELECT (SELECT b.node_id FROM backups b WHERE b.id = v2.backup_id) AS node_id,
                        v2.checked_at FROM verifications v2) AS checks
           GROUP BY node_id) v ON v.node_id = n.id
WHERE n.name IN :names
""").bindparams(bindparam("names", expanding=True))

#: the key of a node the store does not know yet
NEVER: tuple[object, ...] = ()


def change_keys(db: Database, names: Iterable[str]) -> dict[str, tuple[object, ...]]:
    """Node name -> a key that differs whenever the node's stored data may differ.

    One query for all ``names``; a name the store does not know gets :data:`NEVER`.
    """
    wanted = sorted(set(names))
    out = dict.fromkeys(wanted, NEVER)
    if not wanted:
        return out
    with db.read() as conn:
        for name, *rest in conn.execute(_KEYS, {"names": wanted}):
            out[name] = tuple(rest)
    return out
