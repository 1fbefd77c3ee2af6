"""Host keys the way OpenSSH's known_hosts files hold them: match, refuse revoked, remember.

paramiko's own reader takes a line's first field as the host even on
``@revoked`` and ``@cert-authority`` lines (and a bad line ends the whole
connection with ``InvalidHostKey``), knows no ``*``/``?``/``!`` patterns, and
its writer appends to a file that may not end in a newline. So the collector
reads and writes the files itself (docs/reliability.rst, known_hosts rows):

- hashed names (``|1|salt|hash``), patterns with ``*``, ``?`` and ``!``
  negation, ``[host]:port`` for a port other than 22;
- a key on an ``@revoked`` line is refused, for any host, with the file and line;
- ``@cert-authority`` lines are skipped with one warning: paramiko cannot
  verify host certificates, so such a host needs its own key listed;
- a line that cannot be read is skipped, as OpenSSH does;
- a first-seen key (only with ``trust_unknown_hosts``) is appended under an
  exclusive lock, after a newline when the file lacks its last one, in one
  ``write``; a new file is 0644 and a new folder 0700 whatever the umask.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import hashlib
import hmac
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import paramiko

from .local import CollectError

log = logging.getLogger(__name__)

_warned_cert_authority: set[str] = set()


@dataclass(frozen=True)
class _Entry:
    patterns: tuple[str, ...]
    key: paramiko.PKey
    where: str  # "FILE line N"


@dataclass
class KnownHosts:
    """The host keys of every known_hosts file a connection consults."""

    entries: list[_Entry] = field(default_factory=list)
    revoked: list[_Entry] = field(default_factory=list)

    @classmethod
    def load(cls, files: list[str]) -> KnownHosts:
        known = cls()
        seen: set[str] = set()
        for name in files:
            path = os.path.abspath(os.path.expanduser(name))
            if path in seen:
                continue
            seen.add(path)
            try:
                data = Path(path).read_bytes()
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise CollectError(f"cannot read known hosts file {path}: "
                                   f"{exc.strerror or exc}") from None
            for lineno, raw in enumerate(data.splitlines(), 1):
                known._read_line(raw, path, lineno)
        return known

    def _read_line(self, raw: bytes, path: str, lineno: int) -> None:
        text = raw.decode("utf-8", "replace").strip()
        if not text or text.startswith("#"):
            return
        fields = text.split()
        marker = fields.pop(0) if fields[0].startswith("@") else None
        where = f"{path} line {lineno}"
        if marker == "@cert-authority":
            if path not in _warned_cert_authority:
                _warned_cert_authority.add(path)
                log.warning("skipping the @cert-authority line(s) of %s (first: line %d): "
                            "host certificates are not verified here; list the host's own "
                            "key (ssh-keyscan) for each node behind that authority",
                            path, lineno)
            return
        if marker not in (None, "@revoked") or len(fields) < 3:
            log.debug("skipping unreadable line %s", where)
            return
        key = _key(fields[1], fields[2])
        if key is None:
            log.debug("skipping %s: not a key paramiko can read", where)
            return
        entry = _Entry(tuple(fields[0].split(",")), key, where)
        (self.revoked if marker else self.entries).append(entry)

    def keys_for(self, name: str) -> list[_Entry]:
        return [e for e in self.entries if _matches(name, e.patterns)]

    def check(self, name: str, key: paramiko.PKey) -> paramiko.PKey | None:
        """None when ``key`` is known for ``name``; the expected key when it differs.

        Raises :class:`CollectError` for a revoked key; raises ``LookupError`` when the
        host has no key at all (a first-seen host).
        """
        blob = key.asbytes()
        for entry in self.revoked:
            if entry.key.asbytes() == blob:
                raise CollectError(
                    f"host key of {name} ({key.get_name()} {fingerprint(key)}) is REVOKED "
                    f"(@revoked in {entry.where}); refused, nothing was collected. The node "
                    "must get a new host key")
        entries = self.keys_for(name)
        if not entries:
            raise LookupError(name)
        if any(e.key.asbytes() == blob for e in entries):
            return None
        same = [e for e in entries if e.key.get_name() == key.get_name()]
        return (same or entries)[0].key

    def key_types(self, name: str) -> list[str]:
        """The key types known for ``name``, to ask the server for those first."""
        return list(dict.fromkeys(e.key.get_name() for e in self.keys_for(name)))

    def remember(self, path_name: str, name: str, key: paramiko.PKey) -> Path:
        """Append ``name``'s key to ``path_name``, keeping every other byte as it was."""
        path = Path(os.path.expanduser(path_name))
        _make_folders(path.parent)
        line = f"{name} {key.get_name()} {key.get_base64()}\n".encode("ascii")
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # two collectors trusting at once stay two lines
            size = os.fstat(fd).st_size
            if size == 0:
                os.fchmod(fd, 0o644)  # new (or empty): whatever the umask made of it
            elif os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line
            os.write(fd, line)
        finally:
            os.close(fd)
        self.entries.append(_Entry((name,), key, f"{path} (just added)"))
        return path


def _make_folders(folder: Path) -> None:
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for new in reversed(missing):
        new.mkdir(mode=0o700, exist_ok=True)
        os.chmod(new, 0o700)


def _key(kind: str, data: str) -> paramiko.PKey | None:
    try:
        return paramiko.PKey.from_type_string(kind, base64.b64decode(data, validate=True))
    except (binascii.Error, ValueError, paramiko.SSHException, TypeError, IndexError):
        return None
    except Exception:  # paramiko raises odd types for odd blobs; a bad line is skipped
        return None


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    """OpenSSH's rule: no negated pattern may match, and at least one plain one must."""
    name = name.lower()
    hit = False
    for pattern in patterns:
        if pattern.startswith("|1|"):
            hit = hit or _hashed(name, pattern)
        elif pattern.startswith("!"):
            if _glob(pattern[1:], name):
                return False
        elif _glob(pattern, name):
            hit = True
    return hit


def _glob(pattern: str, name: str) -> bool:
    # only * and ? are special (fnmatch would read "[127.0.0.1]:22" as a character set)
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lower())
    return re.fullmatch(rx, name, re.DOTALL) is not None


def _hashed(name: str, field_: str) -> bool:
    try:
        _, _, salt, digest = field_.split("|", 3)
        want = base64.b64decode(digest)
        got = hmac.new(base64.b64decode(salt), name.encode(), hashlib.sha1).digest()
    except (ValueError, binascii.Error):
        return False
    return hmac.compare_digest(want, got)


def fingerprint(key: paramiko.PKey) -> str:
    return key.fingerprint if hasattr(key, "fingerprint") else key.get_base64()[:16]


def host_name(hostname: str, port: int) -> str:
    """How known_hosts names a host: ``[host]:port`` unless the port is 22."""
    return hostname if port == 22 else f"[{hostname}]:{port}"
