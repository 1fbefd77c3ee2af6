"""Walk a node's folders over SFTP, many requests in flight, names kept as bytes."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Protocol, cast

import paramiko
from paramiko.sftp import (
    CMD_CLOSE,
    CMD_HANDLE,
    CMD_NAME,
    CMD_OPENDIR,
    CMD_READDIR,
    CMD_STATUS,
)
from paramiko.sftp_attr import SFTPAttributes


class _SFTPInternals(Protocol):
    """The private ``SFTPClient`` methods the walk drives (not in paramiko's stubs;
    tests/test_paramiko_api.py checks they exist with these signatures)."""

    def _async_request(self, fileobj: object, t: int, *args: bytes) -> int: ...
    def _read_response(self, waitfor: int | None = None) -> object: ...
    def _convert_status(self, msg: paramiko.Message) -> None: ...


class _AttributesInternals(Protocol):
    """``SFTPAttributes``' private constructor from a reply (not in paramiko's stubs)."""

    def _from_msg(self, msg: paramiko.Message) -> SFTPAttributes: ...


_attributes = cast(_AttributesInternals, SFTPAttributes)


class PipelinedWalk:
    """Lists many folders over one SFTP channel with up to ``WINDOW`` requests in flight.

    A folder costs OPENDIR, READDIR until EOF, CLOSE: four round trips or more.
    One after the other that is ~4 RTT per folder (minutes for a tree of 40,000
    dated folders 20 ms away); in flight together the walk waits for the
    network about once per ``WINDOW`` requests. Names stay bytes: paramiko's own
    ``listdir_attr`` decodes them as UTF-8 and raises on anything else, which
    would lose a whole listing for one odd name.
    """

    WINDOW = 64

    def __init__(self, sftp: paramiko.SFTPClient, root: bytes) -> None:
        self.sftp = sftp
        self._internals = cast(_SFTPInternals, sftp)
        self.todo: deque[bytes] = deque([root])
        #: request number -> (what was asked, folder, handle)
        self.pending: dict[int, tuple[int, bytes, bytes]] = {}
        self.replies: dict[int, tuple[int, paramiko.Message]] = {}
        self.entries: dict[bytes, list[tuple[bytes, SFTPAttributes]]] = {}

    def add(self, folder: bytes) -> None:
        self.todo.append(folder)

    def _async_response(self, t: int, msg: paramiko.Message, num: int) -> None:
        # paramiko hands every reply to the object that sent the request
        self.replies[num] = (t, msg)

    def _send(self, t: int, folder: bytes, handle: bytes, *args: bytes) -> None:
        num = self._internals._async_request(self, t, *args)
        self.pending[num] = (t, folder, handle)

    def folders(self) -> Iterator[tuple[bytes, list[tuple[bytes, SFTPAttributes]] | OSError]]:
        """(folder, its entries or the error listing it), as soon as each is complete."""
        while self.todo or self.pending:
            while self.todo and len(self.pending) < self.WINDOW:
                folder = self.todo.popleft()
                self._send(CMD_OPENDIR, folder, b"", folder)
            while not self.replies:
                self._internals._read_response()
            for num in sorted(self.replies):
                t, msg = self.replies.pop(num)
                asked, folder, handle = self.pending.pop(num)
                done = self._handle(asked, folder, handle, t, msg)
                if done is not None:
                    yield folder, done

    def _handle(self, asked: int, folder: bytes, handle: bytes, t: int,
                msg: paramiko.Message) -> list[tuple[bytes, SFTPAttributes]] | OSError | None:
        if asked == CMD_CLOSE:
            return None  # its status does not change what was read
        if t == CMD_STATUS:
            try:
                self._internals._convert_status(msg)
            except EOFError:  # READDIR at the end of the folder
                return self._close(folder, handle)
            except OSError as exc:
                self._close(folder, handle)
                return exc
            return OSError(f"unexpected SFTP status reply to request {asked}")
        if asked == CMD_OPENDIR and t == CMD_HANDLE:
            handle = msg.get_binary()
            self.entries[folder] = []
            self._send(CMD_READDIR, folder, handle, handle)
            return None
        if asked == CMD_READDIR and t == CMD_NAME:
            out = self.entries[folder]
            for _ in range(msg.get_int()):
                name = msg.get_string()
                msg.get_string()  # longname, unused (and may not be UTF-8 either)
                attr = _attributes._from_msg(msg)
                if name not in (b".", b".."):
                    out.append((name, attr))
            self._send(CMD_READDIR, folder, handle, handle)
            return None
        self._close(folder, handle)
        return OSError(f"unexpected SFTP reply {t} to request {asked}")

    def _close(self, folder: bytes, handle: bytes) -> list[tuple[bytes, SFTPAttributes]]:
        """Close the folder's handle, if it was opened; what was read of it."""
        if handle:
            self._send(CMD_CLOSE, folder, handle, handle)
        return self.entries.pop(folder, [])


