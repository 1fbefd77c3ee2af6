"""A TCP latency proxy on 127.0.0.1: every chunk is delivered ``delay`` seconds after it arrived.

Run as its own process (``python -m benchmarks.latency TARGET_PORT DELAY_S``; it
prints its listening port on the first line and runs until stdin closes) so
that forwarding never competes with the collector for the GIL. Each direction
is a delay line: chunks keep their order and spacing, bandwidth is not limited.
A new connection waits one round trip before it reaches the target, as a TCP
handshake over the same link would. Only loopback addresses are used.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from types import TracebackType


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                delay: float) -> None:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def deliver() -> None:
        try:
            while True:
                due, data = await queue.get()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            return  # the receiving side is gone: nothing more to deliver

    task = asyncio.create_task(deliver())
    try:
        while True:
            data = await reader.read(65536)
            queue.put_nowait((loop.time() + delay, data))
            if not data:
                break
    except (ConnectionError, OSError):
        # a reset: what arrived before it is still in flight and is delivered first, as
        # on a real link (sshd resets a connection it closes with unread bytes in it)
        queue.put_nowait((loop.time() + delay, b""))
    try:
        await task
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            writer.close()


async def _serve(target: int, delay: float) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await asyncio.sleep(2 * delay)  # the TCP handshake's round trip
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target)
            except OSError:
                writer.close()
                return
            await asyncio.gather(_pipe(reader, up_writer, delay),
                                 _pipe(up_reader, writer, delay), return_exceptions=True)
        except asyncio.CancelledError:
            # the proxy is stopping with connections still open: they simply end (asyncio
            # would print the cancellation of each one as a traceback)
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=256)
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    loop = asyncio.get_running_loop()
    # stop when the parent goes away (stdin closes)
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


class LatencyProxy:
    """The proxy as a child process: ``with LatencyProxy(port, 0.05) as proxy: proxy.port``."""

    def __init__(self, target_port: int, delay_s: float) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.latency", str(target_port), str(delay_s)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            self.close()
            raise RuntimeError("latency proxy did not start")
        self.port = int(line)

    def close(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def __enter__(self) -> LatencyProxy:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


if __name__ == "__main__":
    asyncio.run(_serve(int(sys.argv[1]), float(sys.argv[2])))
