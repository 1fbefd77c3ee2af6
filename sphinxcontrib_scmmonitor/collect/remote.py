"""Run a shell script on a node over SSH so that no login shell can misread or pollute it.

sshd hands the command string to the user's login shell (``$SHELL -c
COMMAND``), and login shells differ: csh/tcsh quote differently from POSIX
shells, fish has no ``'...'"'"'...'`` trick, and rc files (``.bashrc``,
``.cshrc``, ``config.fish``) may print anything. So the login shell only ever
sees the constant :data:`REMOTE_COMMAND`, which means the same in sh, bash,
zsh, csh, tcsh and fish; the script itself travels on stdin to ``/bin/sh``.

The script's output is framed by markers made fresh for every run: what the
login shell printed before the start marker is dropped (and counted), and the
end marker carries how many NUL-terminated records and bytes the node wrote,
so a listing that was cut off or that something else printed into is a failed
run with its cause named, never data (docs/reliability.rst).
"""

from __future__ import annotations

import logging
import re
import secrets
import select
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import paramiko

from .listing import printable
from .local import CollectError

log = logging.getLogger(__name__)

#: The only command string a node's login shell ever gets: no config value in it.
REMOTE_COMMAND = "exec /bin/sh -s"

_CHUNK = 256 * 1024
_STDERR_CAP = 16 * 1024
_NOISE_KEPT = 200  # bytes of the login shell's output quoted in an error
_NOISE_MAX = 1024 * 1024  # more than this before the start marker: not our script
_TRAILER_MAX = 256

# Runs first: markers on stdout and stderr, then the framed command. ``scm_run`` pipes a
# command's stdout through ``tee`` to the channel and counts what passed (NULs and bytes,
# with ``wc -lc`` after turning NUL into newline); where the channel cannot be reopened
# as /dev/fd/3 (an sshd that uses socket pairs) the command runs uncounted ("-").
_PREAMBLE = """\
exec 3>&1
scm_end='{end}'
printf '%s\\n' '{start}'
printf '%s\\n' '{start}' >&2
LC_ALL=C; export LC_ALL
scm_status=0
scm_run() {{
  if {{ : >/dev/fd/3; }} 2>/dev/null; then
    scm_out=$( {{ {{ "$@"; echo "$?" >&5; }} | tee /dev/fd/3 | tr '\\000\\n' '\\n\\001' \\
               | wc -lc >&5; }} 5>&1 )
    set -- $scm_out
    scm_status=$1
    printf '%s %s %s\\n' "$scm_end" "$2" "$3"
  else
    "$@"
    scm_status=$?
    printf '%s - -\\n' "$scm_end"
  fi
}}
scm_done() {{
  printf '%s 0 0\\n' "$scm_end"
  exit "$1"
}}
"""


class ScriptTimeout(CollectError):
    """The script did not finish within its time."""


@dataclass(frozen=True)
class Frame:
    """The markers of one run: random, so nothing on the node can print them by chance."""

    start: bytes
    end: bytes

    @classmethod
    def new(cls) -> Frame:
        token = secrets.token_hex(16)
        return cls(start=f"scm-monitor-{token}-start".encode(),
                   end=f"scm-monitor-{token}-end".encode())


def framed_script(body: str, frame: Frame) -> str:
    """The whole script for ``/bin/sh -s``; ``body`` ends with ``scm_run CMD`` or ``scm_done N``.

    The brace group makes sh read the whole script before it runs any of it, and
    its ``</dev/null`` keeps a command from eating the rest of the script.
    """
    preamble = _PREAMBLE.format(start=frame.start.decode(), end=frame.end.decode())
    return "{\n" + preamble + body.rstrip("\n") + '\nexit "$scm_status"\n} </dev/null\n'


class _Unframe:
    """Separates the framed part of one stream from what the login shell printed before it."""

    def __init__(self, start: bytes, end: bytes | None) -> None:
        self.start = start + b"\n"
        self.end = end
        self.started = False
        self.ended = False
        self.noise = 0
        self.noise_head = bytearray()
        self.trailer = bytearray()
        self._hold = b""

    def feed(self, data: bytes) -> bytes:
        """The framed bytes in ``data`` (between the markers)."""
        if self.ended:
            self._keep_trailer(data)
            return b""
        data = self._hold + data if self._hold else data
        self._hold = b""
        if not self.started:
            at = data.find(self.start)
            if at < 0:
                keep = len(self.start) - 1
                self._noise(data[:-keep] if len(data) > keep else b"")
                self._hold = data[-keep:] if len(data) > keep else data
                return b""
            self._noise(data[:at])
            self.started = True
            data = data[at + len(self.start):]
        if self.end is None:
            return data
        at = data.find(self.end)
        if at >= 0:
            self.ended = True
            self._keep_trailer(data[at:])
            return data[:at]
        # hold back only what may be the start of the end marker: the rest is passed on
        # now, so a run cut off by its timeout has handed on every whole record it sent
        keep = _marker_start(data, self.end)
        if keep:
            self._hold = data[-keep:]
            return data[:-keep]
        return data

    def flush(self) -> bytes:
        """End of the stream: what was held back to look for a marker across chunks."""
        rest, self._hold = self._hold, b""
        if not self.started:
            self._noise(rest)
            return b""
        return b"" if self.ended else rest

    def _noise(self, data: bytes) -> None:
        self.noise += len(data)
        if len(self.noise_head) < _NOISE_KEPT:
            self.noise_head += data[:_NOISE_KEPT - len(self.noise_head)]
        if self.noise > _NOISE_MAX:
            raise CollectError(
                f"the node printed more than {_NOISE_MAX // 1024} KiB without starting the "
                f"script (it began {printable(bytes(self.noise_head))!r}); is its login shell "
                "a real shell?")

    def _keep_trailer(self, data: bytes) -> None:
        self.trailer += data[:_TRAILER_MAX - len(self.trailer)]


def _marker_start(data: bytes, marker: bytes) -> int:
    """How many of ``data``'s last bytes are the beginning of ``marker`` (0: none)."""
    at = data.find(marker[:1], max(0, len(data) - len(marker) + 1))
    while at >= 0:
        if marker.startswith(data[at:]):
            return len(data) - at
        at = data.find(marker[:1], at + 1)
    return 0


@dataclass
class ScriptResult:
    """How a framed script ended: its exit status and what it said on stderr."""

    status: int  # -1: the connection closed before the script's exit status came
    stderr: list[str] = field(default_factory=list)
    records: int = 0
    size: int = 0
    counted: bool = False
    ended: bool = False
    noise: int = 0


_TRAILER = re.compile(rb" (\d+|-) (\d+|-)\n")
_ANY_START = re.compile(rb"scm-monitor-([0-9a-f]{32})-start\n")


def framed_body(stdout: bytes) -> bytes:
    """The framed part of a script's whole stdout, for callers that ran it without paramiko
    (tests, benchmarks); empty when the script never started."""
    m = _ANY_START.search(stdout)
    if m is None:
        return b""
    body = stdout[m.end():]
    end = body.find(b"scm-monitor-" + m[1] + b"-end")
    return body if end < 0 else body[:end]


def run_script(transport: paramiko.Transport, body: str, on_data: Callable[[bytes], None],
               *, timeout: float, open_timeout: float, what: str = "the script") -> ScriptResult:
    """Run ``body`` framed on the node; ``on_data`` gets the framed stdout as it streams in.

    :func:`start_script` then :meth:`StartedScript.read`: see there.
    """
    return start_script(transport, body, open_timeout=open_timeout, what=what).read(
        on_data, timeout=timeout)


def start_script(transport: paramiko.Transport, body: str, *, open_timeout: float,
                 what: str = "the script") -> StartedScript:
    """Send ``body`` framed to the node and return at once: it runs there while we do other
    work (paramiko's transport thread keeps receiving its output, up to the channel's window).

    Raises :class:`CollectError` when the node refused the session or the command.
    """
    frame = Frame.new()
    try:
        chan = transport.open_session(timeout=open_timeout)
    except (paramiko.SSHException, EOFError, OSError) as exc:
        raise CollectError(f"the node refused a session for {what}: "
                           f"{exc or type(exc).__name__}") from None
    try:
        chan.exec_command(REMOTE_COMMAND)
    except (paramiko.SSHException, EOFError, OSError) as exc:
        chan.close()
        raise CollectError(f"the node did not run {what}: "
                           f"{exc or type(exc).__name__}") from None
    try:
        chan.sendall(framed_script(body, frame).encode("utf-8", "surrogateescape"))
        chan.shutdown_write()
    except (paramiko.SSHException, EOFError, OSError):
        # a login shell that exits at once (nologin) closes the channel: what it said
        # is read by StartedScript.read and makes the error
        log.debug("the node closed the session before it had %s", what, exc_info=True)
    return StartedScript(chan, frame, what)


class StartedScript:
    """A framed script sent to the node, its output not read yet."""

    def __init__(self, chan: paramiko.Channel, frame: Frame, what: str) -> None:
        self.chan = chan
        self.frame = frame
        self.what = what

    def read(self, on_data: Callable[[bytes], None], *, timeout: float) -> ScriptResult:
        """Read the script's output to its end; ``timeout`` counts from now.

        Raises :class:`CollectError` when the run timed out, when the script never started
        (the login shell refused to run it), or when the framed output does not add up to
        what the node counted: something else printed into it. A result whose ``ended`` is
        false was cut off (``status`` -1 when the connection closed).
        """
        chan, frame, what = self.chan, self.frame, self.what
        out = _Unframe(frame.start, frame.end)
        err = _Unframe(frame.start, None)
        stderr = bytearray()
        got_records = got_bytes = 0
        deadline = time.monotonic() + timeout
        try:
            stdout_open = True
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ScriptTimeout(f"{what} timed out after {timeout:g} s")
                got = False
                while chan.recv_stderr_ready():
                    data = err.feed(chan.recv_stderr(_CHUNK))
                    if len(stderr) < _STDERR_CAP:
                        stderr += data[:_STDERR_CAP - len(stderr)]
                    got = True
                # after EOF or close, recv() returns b"" at once when the buffer is empty
                if stdout_open and (chan.recv_ready() or chan.eof_received or chan.closed):
                    data = chan.recv(_CHUNK)
                    if data:
                        framed = out.feed(data)
                    else:
                        stdout_open = False
                        framed = out.flush()
                    if framed:
                        got_records += framed.count(b"\0")
                        got_bytes += len(framed)
                        on_data(framed)
                    got = True
                if got:
                    continue
                # Done only once stdout has reached EOF: sshd may send exit-status while the
                # last of the output is still in its pipe, so an exit status with an empty
                # buffer is not the end (BENCHMARKS.md row 2: 16 nodes under 100 ms latency,
                # one listing ended after 1,882 of 2,000 files, status 0).
                if not stdout_open:
                    if chan.exit_status_ready():  # also true once the channel is closed
                        break
                    chan.status_event.wait(min(remaining, 1.0))
                    continue
                select.select([chan], [], [], min(remaining, 1.0))
            status = chan.recv_exit_status() if chan.exit_status_ready() else -1
            while chan.recv_stderr_ready():  # what came with the exit status
                data = err.feed(chan.recv_stderr(_CHUNK))
                stderr += data[:max(0, _STDERR_CAP - len(stderr))]
        finally:
            chan.close()
        stderr += err.flush()[:max(0, _STDERR_CAP - len(stderr))]
        lines = [printable(line) for line in bytes(stderr if err.started else b"").strip()
                 .splitlines()]
        noise = out.noise
        if noise:
            log.debug("the login shell printed %d bytes before %s started", noise, what)
        if not out.started:
            said = printable(bytes(out.noise_head)) + " " + printable(bytes(err.noise_head))
            said = " ".join(said.split())
            raise CollectError(
                f"the node's login shell did not run {what} (exit status {status}"
                + (f", it said: {said[:_NOISE_KEPT]}" if said else "")
                + "); is the account's shell a real shell (not nologin), and does an rc file "
                "exit?")
        result = ScriptResult(status=status, stderr=lines, noise=noise, ended=out.ended)
        if not out.ended:
            return result
        trailer = bytes(out.trailer)[len(frame.end):]
        m = _TRAILER.match(trailer)
        if m is None:
            raise CollectError(f"{what} ended with a malformed end marker; something on the "
                               "node printed into its output")
        after = len(trailer) - m.end()
        if after:
            raise CollectError(f"the node printed {after} bytes after the end of {what}'s "
                               "output (a program started by a login-shell rc file?)")
        if m[1] != b"-":
            result.counted = True
            result.records, result.size = int(m[1]), int(m[2])
            if (got_records, got_bytes) != (result.records, result.size):
                raise CollectError(
                    f"the output of {what} does not add up: the node wrote {result.records} "
                    f"record(s) in {result.size} bytes, {got_records} in {got_bytes} arrived; "
                    "something printed into it (a program started by a login-shell rc file?)")
        return result
