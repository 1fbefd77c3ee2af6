"""Write files so that their readers see the old content or the new, never half of either.

Every file this package writes for others to read (the charts' JSON and its
``.gz``, ``status --output``, ``scm-monitor init``'s configuration, the PDF's
pictures) goes through here: a temporary file in the same folder, synced to
disk, then renamed over the target. One error type says what went wrong.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any, Literal, overload


class WriteError(OSError):
    """A file could not be written; the previous file (if any) is unchanged."""


def write_atomic(path: Path, content: str | bytes, mode: int = 0o644) -> None:
    """Write ``content`` (text as UTF-8) to ``path``; raises :class:`WriteError`."""
    write_all({path: content}, mode)


def write_all(files: Mapping[Path, str | bytes], mode: int = 0o644) -> None:
    """Every file written to a temp file and synced first, then all renamed into place.

    Nothing is renamed until every temp file is complete and synced, so a full disk leaves
    all the old files as they were, and none with a stranger beside it.
    ``mode`` is the new files' permission bits. Raises :class:`WriteError`.
    """
    temps: dict[Path, str] = {}
    current: Path | None = None
    try:
        for path, content in files.items():
            current = path
            # UTF-8: the JSON is ASCII anyway, but status --output text may name "grüezi"
            data = content.encode("utf-8") if isinstance(content, str) else content
            fd, temps[path] = _temp_file(path)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.chmod(temps[path], mode)
        # synced after all are written: the first sync's journal commit carries them all,
        # where a sync after each write would wait for one commit per file
        for path, temp in temps.items():
            current = path
            fd = os.open(temp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        for path in files:
            current = path
            os.replace(temps.pop(path), path)
    except WriteError:
        raise
    except (OSError, UnicodeError) as exc:
        raise _failed(current, exc) from None
    finally:
        for tmp in temps.values():
            with contextlib.suppress(OSError):
                os.unlink(tmp)


@overload
def atomic_file(path: Path, *, binary: Literal[False] = ...,
                mode: int = ...) -> contextlib.AbstractContextManager[IO[str]]: ...
@overload
def atomic_file(path: Path, *, binary: Literal[True],
                mode: int = ...) -> contextlib.AbstractContextManager[IO[bytes]]: ...
def atomic_file(path: Path, *, binary: bool = False,
                mode: int = 0o644) -> contextlib.AbstractContextManager[IO[Any]]:
    """A file to write in a ``with`` block (for writers that want a file object, such as
    matplotlib's); it replaces ``path`` when the block ends without an exception.

    Text is UTF-8. Raises :class:`WriteError`.
    """
    return _atomic_file(path, binary, mode)


@contextlib.contextmanager
def _atomic_file(path: Path, binary: bool, mode: int) -> Iterator[IO[Any]]:
    tmp: str | None = None
    try:
        fd, tmp = _temp_file(path)
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
        raise _failed(path, exc) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


#: folders made here are read by web servers and docs builds as other users: 0755 whatever
#: the umask (077 would hide the charts' data from the web server, 000 let anyone swap it)
FOLDER_MODE = 0o755


def _temp_file(path: Path) -> tuple[int, str]:
    """A private (0600) temporary file beside ``path``, its folder made when missing."""
    try:
        make_folders(path.parent)
    except OSError as exc:
        raise WriteError(f"cannot create {path.parent}: {exc.strerror or exc}") from None
    return tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)


def make_folders(folder: Path) -> None:
    """``mkdir -p`` whose new folders are :data:`FOLDER_MODE`; existing ones stay as they are."""
    missing: list[Path] = []
    while not folder.is_dir():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for new in reversed(missing):
        try:
            new.mkdir()
        except FileExistsError:
            if not new.is_dir():  # a file where the folder should be
                raise
            continue  # another writer made it meanwhile
        os.chmod(new, FOLDER_MODE)


def _failed(path: Path | None, exc: OSError | UnicodeError) -> WriteError:
    problem = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
    return WriteError(f"cannot write {path}: {problem}; the previous file is unchanged")
