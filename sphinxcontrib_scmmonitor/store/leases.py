"""One collector per node: a lease row taken before listing and given back after.

A lease names the collector (pid, host, since). Another collector of the same
node meets :class:`NodeBusyError` and stops before listing, so cron overlaps
never write the same rows twice. A lease is stale, and is taken over, when its
process is gone (same host, no such pid) or it outlived ``expires_at`` (another
host, or a reused pid): a collector killed with SIGKILL blocks nobody for long.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time

from sqlalchemy import Connection, delete, insert, select

from .engine import Database
from .records import Lease, NodeBusyError
from .tables import leases as leases_t
from .tables import nodes as nodes_t

#: tokens of the leases this process holds now: a lease naming this very process that is
#: not among them was left behind by a failed release (e.g. the database was locked)
_HELD: set[str] = set()
_HELD_LOCK = threading.Lock()


def this_host() -> str:
    return socket.gethostname()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def stale(lease: Lease, token: str, now: float) -> bool:
    """Whether a lease no longer protects a running collector."""
    if now >= lease.expires_at:
        return True
    if lease.host != this_host():
        return False  # a pid on another machine cannot be asked
    if lease.pid == os.getpid():
        with _HELD_LOCK:
            return token not in _HELD
    return not _alive(lease.pid)


def claim(conn: Connection, node_id: int, node: str, *, ttl: float, now: float) -> str:
    """Take the node's lease inside a write transaction that already holds the node's row
    (``SELECT ... FOR UPDATE``: that serialises two collectors of one node on
    PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already does). Returns the token.

    Raises :class:`NodeBusyError` while another collector's lease is live.
    """
    token = secrets.token_hex(16)
    row = conn.execute(select(leases_t.c.token, leases_t.c.pid, leases_t.c.host,
                              leases_t.c.since, leases_t.c.expires_at)
                       .where(leases_t.c.node_id == node_id)).first()
    if row is not None:
        held_now = Lease(node, row.pid, row.host, row.since, row.expires_at)
        if not stale(held_now, row.token, now):
            raise NodeBusyError(held_now)
        conn.execute(delete(leases_t).where(leases_t.c.node_id == node_id))
    # held from before the row is visible (no thread of ours may find it unheld, hence
    # stale); if the transaction rolls back, no row carries this token and it is inert
    with _HELD_LOCK:
        _HELD.add(token)
    conn.execute(insert(leases_t).values(node_id=node_id, token=token, pid=os.getpid(),
                                         host=this_host()[:255], since=now,
                                         expires_at=now + ttl))
    return token


def forget(token: str) -> None:
    """Stop counting a lease as held, before the write that deletes it: should that write
    fail (e.g. the database is locked), the row left behind is stale (see :func:`stale`)."""
    with _HELD_LOCK:
        _HELD.discard(token)


def give_back(conn: Connection, node_id: int, token: str) -> None:
    """Delete our lease (already forgotten) inside a write transaction; a lease another
    collector took over meanwhile is left alone."""
    conn.execute(delete(leases_t).where(leases_t.c.node_id == node_id,
                                        leases_t.c.token == token))


class Leases(Database):
    """The lease part of :class:`~.db.Store`.

    A collection takes its lease together with its run (``Writes.begin_run``) and
    usually gives it back with the run's result (``Writes.finish_run``); these
    methods are the same steps on their own.
    """

    def take_lease(self, node_id: int, node: str, *, ttl: float,
                   now: float | None = None) -> str:
        """Take the node's lease for ``ttl`` seconds; returns the token to give it back.

        Raises :class:`NodeBusyError` (naming pid, host and since) while another
        collector holds a lease that is not stale.
        """
        with self.write() as conn:
            conn.execute(select(nodes_t.c.id).where(nodes_t.c.id == node_id).with_for_update())
            token = claim(conn, node_id, node, ttl=ttl,
                          now=time.time() if now is None else now)
        return token

    def release_lease(self, node_id: int, token: str) -> None:
        """Give a lease back; a lease another collector took over meanwhile is left alone."""
        forget(token)
        self.begun_states.pop(node_id, None)  # the run's series state is no longer held
        with self.write() as conn:
            give_back(conn, node_id, token)

    def lease(self, node_id: int, node: str) -> Lease | None:
        """The node's lease as stored (stale or not), or None."""
        with self.read() as conn:
            row = conn.execute(select(leases_t.c.pid, leases_t.c.host, leases_t.c.since,
                                      leases_t.c.expires_at)
                               .where(leases_t.c.node_id == node_id)).first()
        return None if row is None else Lease(node, row.pid, row.host, row.since,
                                              row.expires_at)
