"""Write a file so that its readers see the old content or the new, never half of either.

Every file this package writes for others to read (the charts' JSON, ``status
--output``, ``scm-monitor init``'s configuration, the PDF's pictures) goes
through :func:`atomic_file`: a temporary file in the same folder, flushed to
disk, then renamed over the target. One error type says what went wrong.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal, overload


class WriteError(OSError):
    """A file could not be written; the previous file (if any) is unchanged."""


@overload
def atomic_file(path: Path, *, binary: Literal[False] = ...,
                mode: int = ...) -> contextlib.AbstractContextManager[IO[str]]: ...
@overload
def atomic_file(path: Path, *, binary: Literal[True],
                mode: int = ...) -> contextlib.AbstractContextManager[IO[bytes]]: ...
def atomic_file(path: Path, *, binary: bool = False,
                mode: int = 0o644) -> contextlib.AbstractContextManager[IO[Any]]:
    """A file to write in a ``with`` block; it replaces ``path`` when the block ends well.

    Text is UTF-8. ``mode`` is the new file's permission bits (a temporary file
    is private, 0600, until then). Raises :class:`WriteError`.
    """
    return _atomic_file(path, binary, mode)


@contextlib.contextmanager
def _atomic_file(path: Path, binary: bool, mode: int) -> Iterator[IO[Any]]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(f"cannot create {path.parent}: {exc.strerror or exc}") from None
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        # UTF-8: the JSON is ASCII anyway, but status --output text may name "grüezi"
        with (os.fdopen(fd, "wb") if binary else
              os.fdopen(fd, "w", encoding="utf-8")) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
        tmp = None
    except WriteError:
        raise
    except (OSError, UnicodeError) as exc:
        problem = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise WriteError(f"cannot write {path}: {problem}; "
                         "the previous file is unchanged") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def write_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically; raises :class:`WriteError`."""
    with atomic_file(path, mode=mode) as fh:
        fh.write(text)
