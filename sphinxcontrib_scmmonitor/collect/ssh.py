"""List a remote node's backups over SSH (paramiko).

One framed script per node (collect/remote.py): GNU ``find`` prints
NUL-separated records, which are parsed while they stream in and handed on
once the end marker has proved the listing whole and unpolluted. A node
without GNU find is walked over SFTP instead, reading names as bytes. The
host is reached the way ``ssh`` would reach it (collect/sshconfig.py: jump
hosts, ProxyCommand), and every host key on the way is verified
(collect/knownhosts.py): an unknown key is refused unless
``trust_unknown_hosts`` is set, a changed or revoked key always.
"""

from __future__ import annotations

import logging
import os
import shlex
import time
from collections.abc import Generator, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import paramiko
from paramiko.sftp import SFTPError

from ..config import NodeSettings
from ..store import Record
from .knownhosts import KnownHosts, fingerprint, host_name
from .listing import ListingParser, printable
from .local import CollectError, Lister, matches
from .remote import REMOTE_COMMAND, ScriptTimeout, framed_script, run_script
from .sftp import PipelinedWalk
from .sshconfig import Target, expand_proxy_command, parse_jump, resolve

if TYPE_CHECKING:
    from paramiko.transport import _SocketLike

log = logging.getLogger(__name__)

EXIT_NO_GNU_FIND = 97
EXIT_NO_ROOT = 98
_MAX_HOPS = 8

# Run by /bin/sh from stdin (never by the login shell); root and pattern are quoted with
# shlex.quote for that sh, so nothing from the config is ever interpreted by a shell.
_LISTING = """\
root={root}
if [ ! -d "$root" ]; then
  echo "backup root $root does not exist or is not a folder" >&2; scm_done {no_root}
fi
find /dev/null -maxdepth 0 -printf '' >/dev/null 2>&1 || scm_done {no_find}
scm_run find -H "$root" -type f -name {pattern} -printf '%s\\t%T@\\t%p\\0'
"""


def listing_script(root: str, pattern: str) -> str:
    """The body of the one remote script that lists a node (also used by the benchmarks).

    It runs framed (collect/remote.py), as :data:`REMOTE_COMMAND` with the script on stdin.
    """
    return _LISTING.format(root=shlex.quote(root), pattern=shlex.quote(pattern),
                           no_root=EXIT_NO_ROOT, no_find=EXIT_NO_GNU_FIND)


def listing_command(root: str, pattern: str) -> tuple[str, str]:
    """(command for the login shell, framed script for its stdin) that list a node."""
    from .remote import Frame

    return REMOTE_COMMAND, framed_script(listing_script(root, pattern), Frame.new())


class _KnownHostsPolicy(paramiko.MissingHostKeyPolicy):
    """Checks every host key itself: paramiko's client holds none, so it always asks here."""

    trust = False

    def __init__(self, known: KnownHosts, known_hosts: str, name: str) -> None:
        self.known = known
        self.known_hosts = known_hosts
        self.name = name  # as known_hosts names the host (HostKeyAlias applied)

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str,
                         key: paramiko.PKey) -> None:
        try:
            expected = self.known.check(self.name, key)
        except LookupError:
            self.first_seen(key)
            return
        if expected is not None:
            raise paramiko.BadHostKeyException(self.name, key, expected)

    def first_seen(self, key: paramiko.PKey) -> None:
        host, port = _split_host(self.name)
        scan = f"ssh-keyscan {'-p ' + port + ' ' if port else ''}-t {_short_type(key)} {host}"
        raise CollectError(
            f"host key of {self.name} is not known ({key.get_name()} {fingerprint(key)}); "
            f"check it with the node's admin, then add it: `{scan} >> "
            f"{self.known_hosts or '~/.ssh/known_hosts'}` (or set trust_unknown_hosts = true "
            "for this node to accept it once)")


class _RefuseUnknown(_KnownHostsPolicy):
    """Refuse a first-seen host key with a message that says how to trust it."""


class _TrustFirstSeen(_KnownHostsPolicy):
    """trust_unknown_hosts = true: accept a first-seen key, remember it, and say so."""

    def first_seen(self, key: paramiko.PKey) -> None:
        try:
            path = self.known.remember(self.known_hosts or "~/.ssh/known_hosts", self.name, key)
        except OSError as exc:
            raise CollectError(f"cannot remember the host key of {self.name} in "
                               f"{self.known_hosts}: {exc.strerror or exc}") from None
        log.warning("trusted first-seen host key of %s (%s %s) and saved it to %s",
                    self.name, key.get_name(), fingerprint(key), path)


class SshLister(Lister):
    """Lists one remote node; ``abort()`` may be called from another thread."""

    def __init__(self, node: NodeSettings) -> None:
        super().__init__(node)
        self.client: paramiko.SSHClient | None = None
        self.hops: list[paramiko.SSHClient] = []
        #: bytes the login shell printed before the listing script started
        self.shell_noise = 0

    def abort(self) -> None:
        for client in [self.client, *self.hops]:
            if client is not None:
                client.close()

    def records(self, parser: ListingParser) -> Iterator[Record]:
        node = self.node
        self.client = client = self._connect()
        try:
            self.method = "find"
            status = yield from self._run_find(client, parser)
            if status == EXIT_NO_GNU_FIND:
                self.method = "sftp"
                self.problems.clear()
                yield from self._walk_sftp(client, parser)
            elif status == EXIT_NO_ROOT:
                raise CollectError(self.problems[0] if self.problems else
                                   f"backup root {node.root} does not exist on the node")
            elif status != 0:
                self.complete = False
                if not self.problems:
                    self.problems.append(f"listing command exited with status {status}")
        finally:
            self.abort()
            self.client = None
            self.hops = []

    # --- connecting

    def _connect(self) -> paramiko.SSHClient:
        node = self.node
        target = resolve(node.host, user=node.user, port=node.port)
        if node.identity_file:
            target.identity_files = [node.identity_file]
        # the node's own file first: a first-seen key is remembered there
        known = KnownHosts.load([node.known_hosts, *target.known_hosts_files])
        chain = self._jump_chain(target)
        sock: Any = None
        for i, hop in enumerate(chain):
            nxt = chain[i + 1] if i + 1 < len(chain) else target
            # the first hop is reached directly or by its own ProxyCommand, the others
            # through a channel of the one before (their own proxy settings do not apply)
            client = self._open(hop, known, sock, via=chain[i - 1] if i else None)
            self.hops.append(client)
            sock = self._forward(client, hop, nxt)
        return self._open(target, known, sock, via=chain[-1] if chain else None)

    def _jump_chain(self, target: Target) -> list[Target]:
        """The jump hosts in the order they are reached, each resolved like ``ssh -J`` does."""
        chain: list[Target] = []
        specs = list(target.proxy_jump)
        while specs:
            user, host, port = parse_jump(specs.pop(0))
            hop = resolve(host, user=user, port=port)
            if not chain and hop.proxy_jump:  # the first hop may itself be behind one
                again = f"{user + '@' if user else ''}{host}{':' + str(port) if port else ''}"
                specs = [*hop.proxy_jump, again, *specs]
                if len(specs) > _MAX_HOPS:
                    raise CollectError(f"ProxyJump of {target.host} loops or has more than "
                                       f"{_MAX_HOPS} hops")
                continue
            chain.append(hop)
            if len(chain) > _MAX_HOPS:
                raise CollectError(f"ProxyJump of {target.host} has more than {_MAX_HOPS} hops")
        return chain

    def _proxy_command(self, target: Target) -> paramiko.ProxyCommand:
        command = expand_proxy_command(target.proxy_command, target)
        # as OpenSSH does it: `exec` the command under a shell (an explicit argv, not
        # shell=True: the command comes from the operator's own ssh config)
        try:
            return paramiko.ProxyCommand("/bin/sh -c " + shlex.quote("exec " + command))
        except Exception as exc:  # paramiko wraps the Popen error its own way
            raise CollectError(f"ProxyCommand for {target.host} could not start: {exc}") \
                from None

    def _forward(self, hop_client: paramiko.SSHClient, hop: Target,
                 nxt: Target) -> paramiko.Channel:
        transport = hop_client.get_transport()
        assert transport is not None
        try:
            return transport.open_channel("direct-tcpip", (nxt.hostname, nxt.port),
                                          ("127.0.0.1", 0), timeout=self.node.connect_timeout)
        except paramiko.ChannelException as exc:
            raise CollectError(f"jump host {hop} could not reach {nxt.hostname}:{nxt.port} "
                               f"({exc.text or exc.code})") from None
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise CollectError(f"jump host {hop} could not reach {nxt.hostname}:{nxt.port} "
                               f"({exc or type(exc).__name__})") from None

    def _open(self, target: Target, known: KnownHosts, sock: Any,
              via: Target | None) -> paramiko.SSHClient:
        node = self.node
        if sock is None and target.proxy_command:
            sock = self._proxy_command(target)
        name = host_name(target.host_key_alias or target.hostname, target.port)
        keys = [k for k in target.identity_files if os.path.exists(k)] or None
        client = paramiko.SSHClient()
        policy_cls = _TrustFirstSeen if node.trust_unknown_hosts else _RefuseUnknown
        client.set_missing_host_key_policy(policy_cls(known, node.known_hosts, name))
        preferred = known.key_types(name)

        def transport_factory(s: _SocketLike, /, *,
                              disabled_algorithms: Mapping[str, Iterable[str]] | None = None,
                              **_gss: bool) -> paramiko.Transport:
            # paramiko 3.x also passes gss_kex/gss_deleg_creds; GSS-API is never used
            t = paramiko.Transport(s, disabled_algorithms=disabled_algorithms)
            # ask for the key types known_hosts holds first, as ssh does
            want = [k for k in preferred if k != "ssh-rsa"]
            if "ssh-rsa" in preferred:
                want += ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]
            opts = t.get_security_options()
            opts.key_types = ([k for k in want if k in opts.key_types]
                              + [k for k in opts.key_types if k not in want])
            return t

        where = str(target) + (f" via {via}" if via else "")
        t = node.connect_timeout
        try:
            client.connect(target.hostname, port=target.port, username=target.user,
                           # paramiko takes a list of key files; its stubs say str only
                           key_filename=keys,  # type: ignore[arg-type]
                           timeout=t, banner_timeout=t, auth_timeout=t,
                           channel_timeout=t, sock=sock, allow_agent=not target.identities_only,
                           look_for_keys=not target.identities_only,
                           transport_factory=transport_factory)
        except CollectError:
            client.close()
            raise
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise CollectError(
                f"host key of {name} has CHANGED (possible man-in-the-middle attack): it "
                f"offered {exc.key.get_name()} {fingerprint(exc.key)}, known_hosts has "
                f"{fingerprint(exc.expected_key)}; nothing was collected. If the change is "
                f"legitimate, remove the old key with `ssh-keygen -R '{name}'` and add the "
                "new one") from None
        except paramiko.AuthenticationException as exc:
            client.close()
            raise CollectError(f"authentication as {where} refused ({exc}); check user and "
                               "identity_file, or load the key into ssh-agent") from None
        except TimeoutError:
            client.close()
            raise CollectError(f"connecting to {where} timed out after {t:g} s") from None
        except paramiko.SSHException as exc:
            client.close()
            text = str(exc)
            # a peer that accepts TCP but never speaks SSH surfaces as any of these
            if any(s in text.lower() for s in ("banner", "no existing session", "negotiat")):
                text = (f"no SSH banner/handshake within {t:g} s (a firewall black hole, or "
                        "not an SSH server on that port?)")
            elif "no authentication methods" in text.lower():
                text = ("no key to log in with: set identity_file, an IdentityFile in "
                        "~/.ssh/config, or load a key into ssh-agent")
            raise CollectError(f"SSH to {where} failed: {text}") from None
        except paramiko.ssh_exception.NoValidConnectionsError as exc:
            client.close()
            first = next(iter(exc.errors.values()), exc)
            errno: int | None = getattr(first, "errno", None)
            reason = (os.strerror(errno) if errno else str(first)).lower()
            raise CollectError(f"cannot connect to {where}: {reason}") from None
        except (OSError, EOFError) as exc:
            client.close()
            reason = getattr(exc, "strerror", None) or str(exc) or "connection closed"
            raise CollectError(f"cannot connect to {where}: {reason}") from None
        return client

    # --- GNU find

    def _run_find(self, client: paramiko.SSHClient,
                  parser: ListingParser) -> Generator[Record, None, int]:
        """The listing's records, then (as the generator's value) the script's exit status."""
        node = self.node
        transport = client.get_transport()
        assert transport is not None
        # held until the end marker proves the listing whole and unpolluted: what a
        # polluted listing said is never stored (the store holds every record anyway)
        held: list[Record] = []

        def on_data(data: bytes) -> None:
            held.extend(parser.feed(data))

        try:
            result = run_script(transport, listing_script(node.root, node.pattern), on_data,
                                timeout=node.command_timeout, open_timeout=node.connect_timeout,
                                what="the listing")
        except ScriptTimeout:
            self.complete = False
            parser.close()
            yield from held
            raise CollectError(f"listing timed out after {node.command_timeout:g} s "
                               f"({parser.stats.files_seen} files read so far)") from None
        self.shell_noise = result.noise
        parser.close()
        yield from held
        text = "; ".join(result.stderr)
        status = result.status
        if status == -1:
            self.complete = False
            self.problems.append("connection closed before the listing finished"
                                 + (f": {text}" if text else ""))
        elif not result.ended:
            self.complete = False
            self.problems.append(f"the listing was cut off after {parser.stats.files_seen} "
                                 "record(s): no end marker came")
        elif status not in (0, EXIT_NO_GNU_FIND) and text:
            lines = result.stderr
            more = f" (+{len(lines) - 3} more lines)" if len(lines) > 3 else ""
            self.problems.append("; ".join(lines[:3]) + more)
        return status

    # --- SFTP, for nodes without GNU find

    def _walk_sftp(self, client: paramiko.SSHClient,
                   parser: ListingParser) -> Iterator[Record]:
        node = self.node
        deadline = time.monotonic() + node.command_timeout
        try:
            sftp = client.open_sftp()
        except (paramiko.SSHException, SFTPError, EOFError, OSError) as exc:
            raise CollectError(self._sftp_broken(exc)) from None
        channel = sftp.get_channel()
        assert channel is not None  # open_sftp() always runs over a channel
        channel.settimeout(node.command_timeout)
        pattern = os.fsencode(node.pattern)
        root = node.root.encode("utf-8", "surrogateescape")
        try:
            try:
                top = sftp.stat(root)
            except OSError:
                raise CollectError(f"backup root {node.root} does not exist on the node") \
                    from None
            if top.st_mode is None or not (top.st_mode & 0o040000):
                raise CollectError(f"backup root {node.root} is not a folder")
            walk = PipelinedWalk(sftp, root)
            for folder, entries in walk.folders():
                if time.monotonic() > deadline:
                    self.complete = False
                    raise CollectError(f"SFTP walk timed out after {node.command_timeout:g} s")
                if isinstance(entries, OSError):
                    self.complete = False
                    self.problems.append(f"cannot list {printable(folder)}: "
                                         f"{entries.strerror or entries}")
                    continue
                for name, attr in entries:
                    mode = attr.st_mode or 0
                    path = folder.rstrip(b"/") + b"/" + name
                    if mode & 0o170000 == 0o040000:
                        walk.add(path)
                    elif mode & 0o170000 == 0o100000 and matches(name, pattern):
                        rec = parser.path_record(path, attr.st_size or 0,
                                                 float(attr.st_mtime or 0))
                        if rec is not None:
                            yield rec
        except (paramiko.SSHException, SFTPError) as exc:
            self.complete = False
            raise CollectError(self._sftp_broken(exc)) from None
        finally:
            sftp.close()

    def _sftp_broken(self, exc: BaseException) -> str:
        said = str(exc) or type(exc).__name__
        noisy = (f"the login shell printed {self.shell_noise} bytes before the listing "
                 "script ran, and " if self.shell_noise else "")
        return (f"SFTP failed ({said}): {noisy}the node's SFTP server runs under the "
                "account's login shell, so anything its rc files (.bashrc, .cshrc, "
                "config.fish) print corrupts SFTP: make them print nothing for "
                "non-interactive sessions")


def _short_type(key: paramiko.PKey) -> str:
    name = key.get_name()
    return {"ssh-ed25519": "ed25519", "ssh-rsa": "rsa"}.get(
        name, "ecdsa" if name.startswith("ecdsa") else name)


def _split_host(hostname: str) -> tuple[str, str]:
    if hostname.startswith("[") and "]:" in hostname:
        host, port = hostname[1:].split("]:", 1)
        return host, port
    return hostname, ""
