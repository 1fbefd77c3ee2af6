"""The TCP connection to a node, opened while this process is still loading paramiko.

A collect's start is what cron and Nagios pay every few minutes: opening the
socket first lets the round trip of the TCP handshake and the node's sshd
starting its session overlap with the interpreter loading paramiko (about a
tenth of a second). Only a node reached directly is dialled early; one behind
a jump host or a ProxyCommand is reached the way collect/connection.py does it.

What goes wrong is kept, not raised: it is raised where paramiko's own connect
would have failed, so the operator reads the same words either way.
"""

from __future__ import annotations

import socket

from .sshconfig import Target


class Dialed:
    """One node's socket, or why it could not be opened; taken once."""

    def __init__(self, sock: socket.socket | None, error: OSError | None) -> None:
        self._sock = sock
        self._error = error

    def take(self) -> socket.socket:
        """The connected socket (it is the caller's now), or the dial's own error."""
        sock, error = self._sock, self._error
        self._sock = self._error = None
        if error is not None:
            raise error
        if sock is None:
            raise RuntimeError("a dialled socket is taken once")
        return sock

    def close(self) -> None:
        """Close the socket if nobody took it (the collection was given up)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def dial(target: Target, timeout: float) -> Dialed | None:
    """``target``'s socket, connected; None for a host that is not reached directly."""
    if target.proxy_jump or target.proxy_command:
        return None
    try:
        # every address the name has, one after the other, as paramiko's connect tries them
        sock = socket.create_connection((target.hostname, target.port), timeout=timeout)
    except OSError as exc:
        return Dialed(None, exc)
    return Dialed(sock, None)
