"""Security review, pinned down: host keys, shell quoting, secrets, escaping, file modes.

Each test states one rule of the review (docs/reliability.rst lists them with their
findings) and proves it against real parts: the package's own source for what must
never be written, a real ``sh``/``bash`` for the remote command, a real sshd for
host keys, a real SQLite file and real exported files for secrets and modes.
"""

from __future__ import annotations

import ast
import dataclasses
import html
import json
import logging
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import sphinxcontrib_scmmonitor
from sphinxcontrib_scmmonitor import cli, config, notify, status
from sphinxcontrib_scmmonitor.checks import evaluate
from sphinxcontrib_scmmonitor.collect.remote import framed_body
from sphinxcontrib_scmmonitor.collect.ssh import listing_command
from sphinxcontrib_scmmonitor.store import Store
from tests.helpers.backups import HOSTILE_NAMES, build_tree, plant, today_at, write_config
from tests.sshd import require_tool

PACKAGE = Path(sphinxcontrib_scmmonitor.__file__).parent
SOURCES = sorted(PACKAGE.rglob("*.py"))
SECRET = "s3cr3t-Pa55w0rd-that-must-never-show"


# --- nothing in the package may open these doors -----------------------------------------------


def _calls(tree: ast.AST) -> list[tuple[str, ast.Call]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            out.append((ast.unparse(node.func), node))
    return out


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_shell_no_auto_trust_no_eval_in_the_package(source: Path) -> None:
    text = source.read_text()
    tree = ast.parse(text)
    for name, call in _calls(tree):
        for kw in call.keywords:
            assert not (kw.arg == "shell" and not (isinstance(kw.value, ast.Constant)
                                                   and kw.value.value is False)), \
                f"{source}:{call.lineno}: {name}(shell=...)"
        assert name not in ("os.system", "os.popen", "eval", "exec", "pickle.loads",
                            "pickle.load", "yaml.load", "paramiko.AutoAddPolicy",
                            "paramiko.WarningPolicy"), f"{source}:{call.lineno}: {name}"
        if name.endswith("set_missing_host_key_policy"):
            # only our two policies: refuse, or trust-first-seen when configured (and logged)
            assert ast.unparse(call.args[0]).startswith("policy_cls("), source
    for banned in ("AutoAddPolicy", "WarningPolicy"):
        assert banned not in text, f"{source}: {banned}"


def test_trust_on_first_use_is_opt_in_and_refusal_is_the_default() -> None:
    from sphinxcontrib_scmmonitor.collect import connection

    source = Path(connection.__file__).read_text()
    assert "policy_cls = _TrustFirstSeen if node.trust_unknown_hosts else _RefuseUnknown" \
        in source
    assert config.KEYS["trust_unknown_hosts"].default is False


def test_trusting_a_first_seen_key_logs_a_warning_and_stores_exactly_that_key(
        sshd, tmp_path, caplog) -> None:
    fresh = tmp_path / "known_hosts"
    root = tmp_path / "backup"
    build_tree(root)
    cfg = write_config(tmp_path, {"C": {
        "host": sshd.host, "port": sshd.port, "user": sshd.user,
        "identity_file": str(sshd.identity_file), "known_hosts": str(fresh),
        "trust_unknown_hosts": True, "root": str(root), "connect_timeout": 5}})

    with caplog.at_level(logging.WARNING, logger="sphinxcontrib_scmmonitor"):
        assert cli.main(["-c", str(cfg), "collect", "--progress", "lines"]) == 0

    [warning] = [r for r in caplog.records if "first-seen host key" in r.getMessage()]
    assert warning.levelno == logging.WARNING
    assert warning.getMessage().startswith(
        f"trusted first-seen host key of [127.0.0.1]:{sshd.port} (ssh-ed25519 SHA256:")
    assert fresh.read_text() == f"[127.0.0.1]:{sshd.port} {sshd.host_key_pub}\n"


# --- the one remote command: nothing from the config reaches a shell unquoted -----------------


def _run_listing(shell: str, root: str, pattern: str, cwd: Path) -> bytes:
    """What the node's login shell does with the command the collector sends."""
    command, script = listing_command(root, pattern)
    proc = subprocess.run([shell, "-c", command], cwd=cwd, input=script.encode(),
                          capture_output=True, timeout=30, check=False)
    assert proc.returncode in (0, 98), proc.stderr  # 98: root missing, said so
    return framed_body(proc.stdout)


INJECTIONS = ["$(touch {m}/p1)", "`touch {m}/p2`", "'; touch {m}/p3; '", '"; touch {m}/p4; "',
              "; touch {m}/p5", "| touch {m}/p6", "&& touch {m}/p7", "\n touch {m}/p8 \n",
              "$((1+1))${{HOME}}$HOME", "\\'\\\"", "-exec touch {m}/p9 ;", "-delete",
              "--version", "*", "{{}}", "!", "~root", "a b\tc"]


@pytest.mark.parametrize("shell", ["sh", "bash"])
@pytest.mark.parametrize("injection", INJECTIONS)
def test_hostile_root_and_pattern_are_data_to_the_shell(shell, injection, tmp_path) -> None:
    require_tool(None if shutil.which(shell) else f"{shell} not installed")
    markers = tmp_path / "markers"
    markers.mkdir()
    evil = injection.format(m=markers)
    # the root's last folder and the backup file are both named by the injection
    root = tmp_path / "r" / evil.replace("\0", "")
    if evil.startswith("-"):
        root = tmp_path / "r" / ("x" + evil)
    backup = root / "s" / "2012/11/13/161002"
    backup.mkdir(parents=True)
    name = "f" + evil.replace("/", "_") + ".gz"
    (backup / name).write_bytes(b"12345")

    # the file's own name as a glob, its glob characters escaped: the backslashes must
    # reach find intact through both shells for it to match
    literal = re.sub(r"([*?\[\\])", r"\\\1", name)
    for pattern in ("*.gz", literal):
        out = _run_listing(shell, str(root), pattern, tmp_path)
        records = [r for r in out.split(b"\0") if r]
        assert len(records) == 1, (pattern, out)
        size, _mtime, path = records[0].split(b"\t", 2)
        assert (size, path) == (b"5", os.fsencode(backup / name))
    assert list(markers.iterdir()) == []


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(component=st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\0/"),
                         min_size=1, max_size=20).filter(lambda s: s not in (".", "..")),
       glob=st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\0"),
                    max_size=10))
@example(component="it's $(touch pwned) `id` ; \" \\ \n", glob="*'\"; touch pwned;")
def test_any_root_and_any_pattern_never_run_anything(tmp_path_factory, component,
                                                     glob) -> None:
    base = tmp_path_factory.mktemp("q")
    root = base / component
    try:
        (root / "s/2012/11/13/161002").mkdir(parents=True)
    except OSError:  # a name the file system refuses (too long in bytes): not our case
        return
    (root / "s/2012/11/13/161002/x.gz").write_bytes(b"1")

    out = _run_listing("sh", str(root), glob, base)

    # whatever the glob matched, every record is a file under the root, and nothing else
    # appeared anywhere (an executed injection would have to create or print something)
    for record in (r for r in out.split(b"\0") if r):
        assert record.split(b"\t", 2)[2].startswith(os.fsencode(root) + b"/")
    assert sorted(p.name for p in base.iterdir()) == [component]


# --- secrets never leave their file -----------------------------------------------------------


def _everything_written(folder: Path, db_path: Path) -> str:
    """All text the runs below produced on disk: exported JSON and every stored text."""
    parts = [p.read_text(errors="replace") for p in folder.rglob("*.json")]
    with sqlite3.connect(db_path) as conn:
        for (table,) in conn.execute("select name from sqlite_master where type = 'table'"):
            parts += [repr(row) for row in conn.execute(f"select * from {table}")]
    return "\n".join(parts)


def test_the_smtp_password_never_reaches_logs_output_json_or_the_store(tmp_path) -> None:
    password_file = tmp_path / "smtp-password"
    password_file.write_text(SECRET + "\n")
    password_file.chmod(0o600)
    root = tmp_path / "backup"
    build_tree(root)
    cfg = tmp_path / "scmmonitor.toml"
    cfg.write_text(f"""\
database = "sqlite:///store.db"
[hubs.cms02]
email = ["ops@example.org"]
smtp = "127.0.0.1:9"
smtp_user = "monitor"
smtp_password_file = "{password_file}"
smtp_starttls = true
[nodes.C]
hub = "cms02"
host = "local"
root = "{root}"
[nodes.H1]
hub = "cms02"
host = "local"
root = "{tmp_path / 'missing'}"
""")
    html_dir = tmp_path / "html"
    seen = []
    for args in (["collect", "--export", str(html_dir)], ["status"],
                 ["status", "--format", "json"], ["status", "--format", "rst"],
                 ["status", "--format", "prometheus"], ["notify", "--dry-run"],
                 ["notify"]):  # a real send attempt: the server is not there, port 9
        proc = subprocess.run([sys.executable, "-m", "sphinxcontrib_scmmonitor.cli", "-v",
                               "-c", str(cfg), *args], capture_output=True, text=True,
                              timeout=120, cwd=tmp_path)
        seen.append((args, proc.returncode, proc.stdout + proc.stderr))
    codes = {tuple(a): c for a, c, _ in seen}
    assert codes[("notify",)] == 1  # it did try, and failed to connect
    assert "login as monitor" in dict((tuple(a), o) for a, _, o in seen)[("notify", "--dry-run")]

    for args, _code, output in seen:
        assert SECRET not in output, args
    assert SECRET not in _everything_written(html_dir, tmp_path / "store.db")


def test_a_passphrase_protected_key_fails_clearly_and_leaks_no_key_material(sshd,
                                                                          tmp_path) -> None:
    """The collector never asks for or holds a passphrase (use ssh-agent); a locked key is
    an authentication failure that says so, and no part of the key is logged or stored."""
    locked = tmp_path / "locked_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", SECRET, "-f", str(locked)],
                   check=True, stdin=subprocess.DEVNULL)
    # authorize it, so only the passphrase stands in the way
    authorized = Path(sshd.folder) / "authorized_keys"
    authorized.write_text(authorized.read_text() + Path(f"{locked}.pub").read_text())
    key_body = "".join(locked.read_text().splitlines()[1:-1])
    root = tmp_path / "backup"
    build_tree(root)
    cfg = write_config(tmp_path, {"C": {
        "host": sshd.host, "port": sshd.port, "user": sshd.user, "identity_file": str(locked),
        "known_hosts": str(sshd.known_hosts), "root": str(root), "connect_timeout": 5}})
    env = {**os.environ, "SSH_AUTH_SOCK": ""}  # no agent to unlock it

    proc = subprocess.run([sys.executable, "-m", "sphinxcontrib_scmmonitor.cli", "-v", "-c",
                           str(cfg), "collect", "--progress", "lines"], capture_output=True,
                          text=True, timeout=120, env=env)

    assert proc.returncode == 1
    assert "authentication as" in proc.stdout and "refused" in proc.stdout
    everything = proc.stdout + proc.stderr + _everything_written(tmp_path, tmp_path / "store.db")
    assert SECRET not in everything
    for chunk in (key_body[i:i + 24] for i in range(0, len(key_body) - 24, 24)):
        assert chunk not in everything


@pytest.mark.postgres
def test_the_database_password_is_never_shown(pg_url, tmp_path) -> None:
    password = pg_url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
    wrong = pg_url.replace(f":{password}@", ":Wrong-" + password + "@")
    root = tmp_path / "backup"
    build_tree(root)
    outputs = []
    for url in (pg_url, wrong):
        cfg = write_config(tmp_path, {"C": {"root": str(root)}}, database=url)
        for args in (["db", "upgrade"], ["collect", "--progress", "lines"], ["status"]):
            proc = subprocess.run([sys.executable, "-m", "sphinxcontrib_scmmonitor.cli", "-v",
                                   "-c", str(cfg), *args], capture_output=True, text=True,
                                  timeout=120)
            outputs.append((url is wrong, args, proc.returncode, proc.stdout + proc.stderr))
    assert [c for bad, _a, c, _o in outputs if not bad] == [0, 0, 2]  # 2: a stale series
    assert all(c != 0 for bad, _a, c, _o in outputs if bad)  # and it does fail
    for _bad, args, _code, output in outputs:
        assert password not in output, args
    assert any("password authentication failed" in o for bad, _a, _c, o in outputs if bad)


# --- what came from a node is escaped wherever it is shown ------------------------------------


@pytest.fixture
def hostile_store(tmp_path: Path) -> tuple[Path, Path]:
    """A collected node whose series and file names are hostile; (config, root)."""
    root = tmp_path / "backup"
    for i, name in enumerate(HOSTILE_NAMES):
        series = b"repos/" + name.replace(b".tar.gz", b"")
        plant(root, series, today_at() - 40 * 86400, "x.tar.gz", 100 + i)  # stale: in reports
    cfg = write_config(tmp_path, {"C": {"root": str(root)}}, hubs=("cms02",))
    assert cli.main(["-c", str(cfg), "collect", "--progress", "lines"]) == 0
    return cfg, root


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attrs: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs += [name for name, _ in attrs]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_the_alert_mail_html_shows_hostile_names_as_text(hostile_store) -> None:
    cfg, _root = hostile_store
    settings_ = config.load(cfg)
    store = Store(settings_.database)
    report = evaluate(settings_, store)
    store.close()

    msg = notify.build_message(settings_.hubs["cms02"], report, "alert", "test")
    body = msg.get_body(("html",))
    assert body is not None
    page = body.get_content()

    parsed = _Tags()
    parsed.feed(page)
    assert parsed.tags <= {"html", "head", "meta", "title", "body", "h2", "span", "p", "a",
                           "table", "thead", "tbody", "tr", "th", "td"}
    assert not any(a.startswith("on") for a in parsed.attrs)
    assert "\x1b" not in page
    shown = "".join(parsed.text)
    assert "repos/<script>alert(1)<\\script>" in shown  # shown, as text
    assert "repos/$(touch pwned)" in shown


def test_status_text_rst_and_prometheus_keep_hostile_names_inert(hostile_store) -> None:
    cfg, _root = hostile_store
    settings_ = config.load(cfg)
    store = Store(settings_.database)
    report = evaluate(settings_, store)
    store.close()
    names = {s.name for s in report.nodes[0].series}

    text = status.render(report, "text")
    assert "\x1b" not in text and "\t" not in text
    assert len(text.splitlines()) == len(names) + 6  # head, blank, header, rule, rows, blank, when

    from prometheus_client.parser import text_string_to_metric_families

    labels = {s.labels["series"] for fam in text_string_to_metric_families(
        status.render(report, "prometheus")) for s in fam.samples if "series" in s.labels}
    # every name survives the exposition format, newlines exactly; any other control
    # character (ESC, TAB, CR) is spelled out as the text \xNN, never passed raw
    from sphinxcontrib_scmmonitor.checks import printable

    assert labels == {"\n".join(map(printable, n.split("\n"))) for n in names}
    assert all(label.replace("\n", "").isprintable() for label in labels)

    as_json = json.loads(status.render(report, "json"))
    assert {s["name"] for s in as_json["nodes"][0]["series"]} == names


# --- file modes --------------------------------------------------------------------------------


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077])
def test_database_is_0640_and_json_0644_whatever_the_umask(umask, tmp_path) -> None:
    root = tmp_path / "backup"
    build_tree(root)
    cfg = write_config(tmp_path, {"C": {"root": str(root)}})
    out = tmp_path / "html"
    (out / "_static").mkdir(parents=True)  # export writes into an existing site, never makes one
    old = os.umask(umask)
    try:
        assert cli.main(["-c", str(cfg), "collect", "--progress", "lines",
                         "--export", str(out)]) == 0
        prom = tmp_path / "scm.prom"
        # (exit 2: the tree has a stale series on purpose; the file is written all the same)
        assert cli.main(["-c", str(cfg), "status", "--format", "prometheus",
                         "--output", str(prom)]) == 2
        # a reader opening the file again (WAL and shm files appear while it is open)
        store = Store(config.load(cfg).database)
        store.node_data("C")
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.glob("store.db*")}
        store.close()
    finally:
        os.umask(old)

    # the store may name private hosts and paths: never world-readable, never group-writable
    for name, mode in modes.items():
        assert mode & 0o037 == 0, (name, oct(mode))
        assert mode == 0o640 & ~umask, (name, oct(mode))
    # the page's data is public by design: readable by the web server, writable by us only
    assert stat.S_IMODE((out / "_static/scmmonitor/data/C.json").stat().st_mode) == 0o644
    assert stat.S_IMODE(prom.stat().st_mode) == 0o644


def test_the_mail_subject_and_headers_cannot_be_split_by_a_hub_name(tmp_path, capsys) -> None:
    """A hub name from the config goes into the Subject: a newline must not add a header."""
    root = tmp_path / "backup"
    build_tree(root)
    evil = "evil\nBcc: victim@example.org"
    cfg = write_config(tmp_path, {"C": {"root": str(root)}}, hubs=(evil,))
    # the config refuses it, on one line (docs/configuration.rst)
    assert cli.main(["-c", str(cfg), "collect", "--progress", "lines"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad hub name 'evil\\nBcc: victim@example.org'" in err

    # and a Python caller that builds the settings itself still cannot split a header
    good = write_config(tmp_path, {"C": {"root": str(root)}}, name="good.toml")
    assert cli.main(["-c", str(good), "collect", "--progress", "lines"]) == 0
    settings_ = config.load(good)
    store = Store(settings_.database)
    report = evaluate(settings_, store)
    store.close()
    hub = dataclasses.replace(settings_.hubs["cms02"], name=evil, email=("o@example.org",))
    try:
        msg = notify.build_message(hub, report, "alert", "test")
        raw = msg.as_bytes()
    except ValueError:
        return  # refusing to build the header at all is just as safe
    headers = raw.split(b"\n\n", 1)[0].decode("ascii", "replace")
    assert not any(line.lower().startswith("bcc:") for line in headers.splitlines())
    assert html.escape("evil") in msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
