"""The verify steps on this machine (``host = "local"``): :mod:`hashlib` and :mod:`zlib`.

The same answers as ``sha256sum`` and ``gzip -t`` on a node (collect/verify.py),
in-process and bounded by ``command_timeout``; a zip bomb is inflated a few MiB
at a time, never held whole.
"""

from __future__ import annotations

import hashlib
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, BinaryIO, TypeVar

from .local import CollectError

if TYPE_CHECKING:
    from .verify import Found

T = TypeVar("T")

_CHUNK = 1024 * 1024
#: the most decompressed bytes held at once when testing a local archive (a zip bomb
#: must not take the collector's memory)
_INFLATE_MAX = 4 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"


def check_local(to_hash: Sequence[bytes], to_test: Sequence[bytes], found: Found,
                deadline: float, timeout: float) -> None:
    """Hash ``to_hash`` and test ``to_test`` into ``found``, until ``deadline``."""
    def in_time() -> None:
        if time.monotonic() > deadline:
            raise CollectError(f"timed out after {timeout:g} s; what was checked is kept, "
                               "the rest is checked next run")

    for path, answer in _each_file(to_hash, lambda fh: _sha256(fh, in_time), found, in_time):
        found.hashes[path] = answer
    for path, error in _each_file(to_test, lambda fh: gzip_error(fh, in_time), found, in_time):
        found.gzip[path] = error


def _each_file(paths: Sequence[bytes], check: Callable[[BinaryIO], T], found: Found,
               in_time: Callable[[], None]) -> Iterator[tuple[bytes, T]]:
    """Each local file's answer; one that cannot be read goes to ``found.unreadable``."""
    for path in paths:
        in_time()
        try:
            with open(path, "rb") as fh:
                answer = check(fh)
        except OSError as exc:
            found.unreadable[path] = exc.strerror or str(exc)
            continue
        yield path, answer


def _sha256(fh: BinaryIO, in_time: Callable[[], None]) -> str:
    digest = hashlib.sha256()
    while chunk := fh.read(_CHUNK):
        digest.update(chunk)  # hashlib lets other nodes' threads run meanwhile
        in_time()
    return digest.hexdigest()


def gzip_error(fh: BinaryIO, in_time: Callable[[], None] = lambda: None) -> str | None:
    """What ``gzip -t`` would object to in the stream (None: it decompresses), in its words.

    Like gzip, members follow each other and trailing garbage after a whole member is
    only a warning (exit status 2): the archive still restores.
    """
    data = fh.read(_CHUNK)
    if data[:2] != _GZIP_MAGIC:
        return "not in gzip format" if data else "unexpected end of file"
    inflate = zlib.decompressobj(31)
    while data:
        try:
            inflate.decompress(data, _INFLATE_MAX)
            while inflate.unconsumed_tail:
                inflate.decompress(inflate.unconsumed_tail, _INFLATE_MAX)
        except zlib.error as exc:
            return f"invalid compressed data--{_zlib_words(exc)}"
        if inflate.eof:
            rest = inflate.unused_data
            while len(rest) < 2 and (more := fh.read(_CHUNK)):
                rest += more
            if rest[:2] != _GZIP_MAGIC:
                return None  # end, or garbage gzip would warn about and ignore
            inflate = zlib.decompressobj(31)
            data = rest
            continue
        in_time()
        data = fh.read(_CHUNK)
    return "unexpected end of file"


def _zlib_words(exc: zlib.error) -> str:
    text = str(exc)
    if "incorrect data check" in text or "incorrect length check" in text:
        return "crc error"
    return "format violated"
