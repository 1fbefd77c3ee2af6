"""Connect to a node the way ``ssh`` would, every host key on the way checked.

The host is resolved from the operator's ssh config (collect/sshconfig.py:
jump hosts, ProxyCommand, HostKeyAlias, IdentityFile) and each host key is
checked against known_hosts (collect/knownhosts.py): an unknown key is refused
unless ``trust_unknown_hosts`` is set, a changed or revoked key always. What
goes wrong (a refused login, a timeout, a black-holed port) becomes one
:class:`CollectError` that says what to do.
"""

from __future__ import annotations

import logging
import os
import shlex
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import paramiko

from ..config import NodeSettings
from .dial import Dialed
from .knownhosts import KnownHosts, fingerprint, host_name
from .local import CollectError
from .sshconfig import Target, expand_proxy_command, parse_jump, resolve

if TYPE_CHECKING:
    from paramiko.transport import _SocketLike

log = logging.getLogger(__name__)

_MAX_HOPS = 8


def open_connection(node: NodeSettings, hops: list[paramiko.SSHClient],
                    target: Target | None = None,
                    dialed: Dialed | None = None) -> paramiko.SSHClient:
    """The node's connection, through its jump hosts, every host key on the way checked.

    ``target`` is the node's host as :func:`resolve` gave it, if that was done before;
    ``dialed`` its socket, if that was opened before (collect/dial.py).
    Each jump host's client is put in ``hops`` as soon as it is open, so that a caller's
    ``abort()`` from another thread closes the hops opened so far too.
    """
    target = target or resolve(node.host, user=node.user, port=node.port)
    if node.identity_file:
        target.identity_files = [node.identity_file]
    # the node's own file first: a first-seen key is remembered there
    known = KnownHosts.load([node.known_hosts, *target.known_hosts_files])
    chain = _jump_chain(target)
    sock: Any = None
    for i, hop in enumerate(chain):
        nxt = chain[i + 1] if i + 1 < len(chain) else target
        # the first hop is reached directly or by its own ProxyCommand, the others
        # through a channel of the one before (their own proxy settings do not apply)
        client = _open(node, hop, known, sock, via=chain[i - 1] if i else None)
        hops.append(client)
        sock = _forward(client, hop, nxt, node.connect_timeout)
    if chain and dialed is not None:  # not reached directly after all
        dialed.close()
        dialed = None
    return _open(node, target, known, sock, via=chain[-1] if chain else None, dialed=dialed)

def _jump_chain(target: Target) -> list[Target]:
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

def _proxy_command(target: Target) -> paramiko.ProxyCommand:
    command = expand_proxy_command(target.proxy_command, target)
    # as OpenSSH does it: `exec` the command under a shell (an explicit argv, not
    # shell=True: the command comes from the operator's own ssh config)
    try:
        return paramiko.ProxyCommand("/bin/sh -c " + shlex.quote("exec " + command))
    except Exception as exc:  # paramiko wraps the Popen error its own way
        raise CollectError(f"ProxyCommand for {target.host} could not start: {exc}") \
            from None

def _forward(hop_client: paramiko.SSHClient, hop: Target, nxt: Target,
             timeout: float) -> paramiko.Channel:
    transport = hop_client.get_transport()
    assert transport is not None
    try:
        return transport.open_channel("direct-tcpip", (nxt.hostname, nxt.port),
                                      ("127.0.0.1", 0), timeout=timeout)
    except paramiko.ChannelException as exc:
        raise CollectError(f"jump host {hop} could not reach {nxt.hostname}:{nxt.port} "
                           f"({exc.text or exc.code})") from None
    except (paramiko.SSHException, OSError, EOFError) as exc:
        raise CollectError(f"jump host {hop} could not reach {nxt.hostname}:{nxt.port} "
                           f"({exc or type(exc).__name__})") from None

def _open(node: NodeSettings, target: Target, known: KnownHosts, sock: Any,
          via: Target | None, dialed: Dialed | None = None) -> paramiko.SSHClient:
    if sock is None and target.proxy_command:
        sock = _proxy_command(target)
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
        if dialed is not None:  # its error, if any, is said below like paramiko's own
            sock = dialed.take()
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
        # in lower case, as paramiko's own connect's reasons are (above)
        reason = reason[:1].lower() + reason[1:]
        raise CollectError(f"cannot connect to {where}: {reason}") from None
    return client


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


def _short_type(key: paramiko.PKey) -> str:
    name = key.get_name()
    return {"ssh-ed25519": "ed25519", "ssh-rsa": "rsa"}.get(
        name, "ecdsa" if name.startswith("ecdsa") else name)


def _split_host(hostname: str) -> tuple[str, str]:
    if hostname.startswith("[") and "]:" in hostname:
        host, port = hostname[1:].split("]:", 1)
        return host, port
    return hostname, ""
