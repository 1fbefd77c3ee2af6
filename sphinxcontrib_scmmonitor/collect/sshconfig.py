"""Resolve a node's host the way ``ssh`` would: OpenSSH's own ``ssh -G``, else paramiko's parser.

``ssh -G HOST`` prints every option as OpenSSH itself resolved it from
``~/.ssh/config`` and ``/etc/ssh/ssh_config`` (``Include``, ``Match``,
``Host`` patterns, ``CanonicalizeHostname``). Running it at the same time with
``-F /dev/null`` gives OpenSSH's built-in defaults, so the options a config
actually set are the ones that differ. Each of those is either honoured,
harmless to ignore (it cannot change which host is reached, as whom, or how
its key is verified), or an error that names it: nothing a config says about
reaching a node is silently dropped. docs/configuration.rst lists the three
groups. Without an OpenSSH client, paramiko's ``SSHConfig`` reads
``~/.ssh/config``; it knows no ``Include``, which is then an error.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .local import CollectError

#: What the collector does with these, the way ``ssh`` would.
HONOURED = frozenset({
    "host", "hostname", "user", "port", "identityfile", "identitiesonly", "proxyjump",
    "proxycommand", "userknownhostsfile", "globalknownhostsfile", "hostkeyalias",
})
#: Ignoring these cannot reach another host, log in as someone else or weaken a host
#: key check: tuning, forwarding, terminal and client-side conveniences. Host keys are
#: always checked strictly (``StrictHostKeyChecking``, ``VerifyHostKeyDNS`` and
#: ``CheckHostIP`` are ignored on purpose), and the node's ``connect_timeout`` applies.
HARMLESS = frozenset({
    "addkeystoagent", "batchmode", "canonicaldomains", "canonicalizefallbacklocal",
    "canonicalizehostname", "canonicalizemaxdots", "canonicalizepermittedcnames",
    "casignaturealgorithms", "checkhostip", "ciphers", "clearallforwardings", "compression",
    "connectionattempts", "connecttimeout", "controlmaster", "controlpath", "controlpersist",
    "dynamicforward", "enableescapecommandline", "enablesshkeysign", "escapechar",
    "exitonforwardfailure", "fingerprinthash", "forkafterauthentication", "forwardagent",
    "forwardx11", "forwardx11timeout", "forwardx11trusted", "gatewayports",
    "gssapiauthentication", "gssapidelegatecredentials", "gssapikeyexchange",
    "gssapikexalgorithms", "gssapirenewalforcesrekey", "gssapiserveridentity",
    "gssapitrustdns", "gssapiclientidentity", "hashknownhosts", "hostbasedacceptedalgorithms",
    "hostbasedauthentication", "hostkeyalgorithms", "ipqos", "kbdinteractiveauthentication",
    "kbdinteractivedevices", "kexalgorithms", "localcommand", "localforward", "loglevel",
    "logverbose", "macs", "nohostauthenticationforlocalhost", "numberofpasswordprompts",
    "passwordauthentication", "permitlocalcommand", "permitremoteopen",
    "preferredauthentications", "pubkeyacceptedalgorithms", "pubkeyacceptedkeytypes",
    "pubkeyauthentication", "rekeylimit", "remotecommand", "remoteforward", "requesttty",
    "requiredrsasize", "securitykeyprovider", "sendenv", "serveralivecountmax",
    "serveraliveinterval", "sessiontype", "setenv", "stdinnull", "streamlocalbindmask",
    "streamlocalbindunlink", "stricthostkeychecking", "syslogfacility", "tcpkeepalive",
    "tunnel", "tunneldevice", "updatehostkeys", "verifyhostkeydns", "visualhostkey",
    "xauthlocation", "obscurekeystroketiming", "channeltimeout", "tag", "match",
})
_SSH_TIMEOUT = 15


@dataclass
class Target:
    """Where and how to reach one host (a node or one of its jump hosts)."""

    host: str  # as given (an alias, perhaps)
    hostname: str
    port: int
    user: str
    identity_files: list[str] = field(default_factory=list)
    identities_only: bool = False
    proxy_jump: list[str] = field(default_factory=list)
    proxy_command: str = ""
    known_hosts_files: list[str] = field(default_factory=list)
    host_key_alias: str = ""
    source: str = "ssh -G"  # who resolved it, for messages

    def __str__(self) -> str:
        return f"{self.user}@{self.hostname}:{self.port}"


def resolve(host: str, *, user: str = "", port: int = 0, config_file: str = "") -> Target:
    """``host`` resolved by ``ssh -G`` where OpenSSH is installed, else by paramiko."""
    ssh = shutil.which("ssh")
    if ssh is not None:
        return _resolve_openssh(ssh, host, user, port, config_file)
    return _resolve_paramiko(host, user, port, config_file)


def parse_jump(spec: str) -> tuple[str, str, int]:
    """(user, host, port) of one ProxyJump hop: ``[user@]host[:port]`` or ``ssh://...``."""
    text = spec.removeprefix("ssh://")
    user, _, rest = text.rpartition("@")
    m = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?|([^:]+)(?::(\d+))?", rest)
    if m is None or not (m[1] or m[3]):
        raise CollectError(f"cannot read the ProxyJump hop {spec!r}")
    return user, m[1] or m[3], int(m[2] or m[4] or 0)


def _start_g(ssh: str, host: str, user: str, port: int,
             config_file: str) -> subprocess.Popen[bytes]:
    argv = [ssh, "-G"]
    if config_file:
        argv += ["-F", config_file]
    if user:
        argv += ["-l", user]
    if port:
        argv += ["-p", str(port)]
    argv += ["--", host]
    try:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
    except OSError as exc:
        raise CollectError(f"`ssh -G {host}` failed: {exc}") from None


def _options(proc: subprocess.Popen[bytes], host: str) -> dict[str, list[str]]:
    """What one ``ssh -G`` printed, by option name."""
    try:
        out, err = proc.communicate(timeout=_SSH_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        proc.kill()
        proc.communicate()
        raise CollectError(f"`ssh -G {host}` failed: {exc}") from None
    if proc.returncode != 0:
        said = " ".join(err.decode("utf-8", "replace").split() if err else ["no message"])
        raise CollectError(f"OpenSSH cannot read its configuration for {host} "
                           f"(`ssh -G {host}`): {said[:300]}")
    options: dict[str, list[str]] = {}
    for line in out.decode("utf-8", "surrogateescape").splitlines():
        key, _, value = line.partition(" ")
        options.setdefault(key.lower(), []).append(value)
    return options


def _resolve_openssh(ssh: str, host: str, user: str, port: int, config_file: str) -> Target:
    # both at once: a node's connection waits for them
    with _home_config(config_file) as wrapper:
        configured = _start_g(ssh, host, user, port, wrapper or config_file)
        try:
            builtin = _start_g(ssh, host, user, port, os.devnull)
        except CollectError:
            configured.kill()
            configured.communicate()
            raise
        try:
            opts = _options(configured, host)
        except CollectError:
            builtin.kill()
            builtin.communicate()
            raise
    defaults = _options(builtin, host)
    where = config_file or "~/.ssh/config or /etc/ssh/ssh_config"
    for key, values in opts.items():
        if values != defaults.get(key) and key not in HONOURED | HARMLESS:
            if key == "identityagent" and values[0] in ("none", "SSH_AUTH_SOCK"):
                continue
            if key == "addressfamily" and values[0] == "any":
                continue
            _cannot_honour(key, values, host, where)
    target = Target(host=host, hostname=opts["hostname"][0], port=int(opts["port"][0]),
                    user=opts["user"][0])
    target.identity_files = [os.path.expanduser(p) for p in opts.get("identityfile", [])]
    target.identities_only = opts.get("identitiesonly", ["no"])[0] == "yes"
    if opts.get("identityagent", [""])[0] == "none":
        target.identities_only = True
    jump = opts.get("proxyjump", ["none"])[0]
    target.proxy_jump = [] if jump == "none" else jump.split(",")
    command = opts.get("proxycommand", ["none"])[0]
    target.proxy_command = "" if command == "none" else command
    for key in ("globalknownhostsfile", "userknownhostsfile"):
        for value in opts.get(key, []):
            target.known_hosts_files += value.split()
    alias = opts.get("hostkeyalias", ["none"])[0]
    target.host_key_alias = "" if alias == "none" else alias
    return target


@contextmanager
def _home_config(config_file: str) -> Iterator[str]:
    """A config that reads ``$HOME/.ssh/config`` when ``$HOME`` is not the account's home.

    ``ssh`` finds ``~/.ssh/config`` through the password database, while every other
    ``~`` of scm-monitor (``known_hosts``, ``identity_file``) is ``$HOME``: one meaning
    of ``~`` for both. The wrapper includes the user's file, then the system's, the
    order in which ``ssh`` reads them.
    """
    home = os.environ.get("HOME", "")
    try:
        account_home = pwd.getpwuid(os.getuid()).pw_dir
    except KeyError:
        account_home = ""
    user_config = Path(home, ".ssh", "config")
    if (config_file or not home or os.path.realpath(home) == os.path.realpath(account_home)
            or not user_config.exists()):
        yield ""
        return
    lines = [f'Include "{user_config}"']
    if os.path.exists("/etc/ssh/ssh_config"):
        lines.append('Include "/etc/ssh/ssh_config"')
    with tempfile.NamedTemporaryFile("w", prefix="scm-ssh-config-", suffix=".conf") as fh:
        fh.write("\n".join(lines) + "\n")
        fh.flush()
        yield fh.name


def _resolve_paramiko(host: str, user: str, port: int, config_file: str) -> Target:
    import getpass

    import paramiko

    path = config_file or os.path.expanduser("~/.ssh/config")
    opts: dict[str, object] = {}
    if os.path.exists(path):
        try:
            opts = dict(paramiko.SSHConfig.from_path(path).lookup(host))
        except Exception as exc:  # paramiko raises what its parser meets, typed or not
            raise CollectError(f"cannot read {path} (no OpenSSH client installed, read by "
                               f"paramiko): {exc}") from None
        text = Path(path).read_text(encoding="utf-8", errors="replace")
        if re.search(r"(?im)^\s*include\b", text):
            raise CollectError(
                f"{path} uses Include, which only OpenSSH's own client resolves: install it "
                "(apt-get install openssh-client) so `ssh -G` can be used")
    for key, value in opts.items():
        if key not in HONOURED | HARMLESS:
            _cannot_honour(key, value if isinstance(value, list) else [str(value)], host, path)
    files = opts.get("identityfile", [])
    target = Target(host=host, hostname=str(opts.get("hostname", host)),
                    port=port or int(str(opts.get("port", 22))),
                    user=user or str(opts.get("user", "")) or getpass.getuser(),
                    source=f"{path} (paramiko)")
    target.identity_files = [os.path.expanduser(str(p)) for p in
                             (files if isinstance(files, list) else [files])]
    target.identities_only = str(opts.get("identitiesonly", "no")).lower() == "yes"
    jump = str(opts.get("proxyjump", "none"))
    target.proxy_jump = [] if jump == "none" else jump.split(",")
    command = str(opts.get("proxycommand", "none"))
    target.proxy_command = "" if command == "none" else command
    target.known_hosts_files = ["/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"]
    target.known_hosts_files += str(opts.get("userknownhostsfile",
                                             "~/.ssh/known_hosts ~/.ssh/known_hosts2")).split()
    target.host_key_alias = str(opts.get("hostkeyalias", ""))
    return target


def _cannot_honour(key: str, values: list[str], host: str, where: str) -> None:
    shown = " ".join(values)[:120]
    raise CollectError(
        f"the SSH configuration ({where}) sets `{key} {shown}` for {host}, which scm-monitor "
        "cannot honour (docs/configuration.rst lists what it can); remove it for this host "
        "or reach the node another way")


def expand_proxy_command(command: str, target: Target) -> str:
    """OpenSSH's ``%h``, ``%p``, ``%r``, ``%n`` and ``%%`` in a ProxyCommand."""
    values = {"h": target.hostname, "p": str(target.port), "r": target.user,
              "n": target.host, "%": "%"}

    def one(m: re.Match[str]) -> str:
        if m[1] not in values:
            raise CollectError(f"ProxyCommand for {target.host} uses %{m[1]}, which "
                               "scm-monitor does not expand (it knows %h %p %r %n %%)")
        return values[m[1]]

    return re.sub(r"%(.)", one, command)
