"""docs/quickstart.rst, run as written: every command block marked for it, in a fresh HOME.

The page marks its blocks with a ``:class:``: ``quickstart-run`` (shell commands,
run in order in one shell, so ``cd`` and ``export`` carry over), ``quickstart-ssh``
(the own-node probe, run against a real sshd that ``cms01.example.org`` is an
alias of), ``quickstart-hub-keys`` (keys the reader adds under the existing
``[hubs.cms02]`` line), ``quickstart-file-NAME`` (a file written into
``~/scm-monitor/docs``) and ``quickstart-cron`` (the crontab line, run the way
cron runs it: from HOME, with cron's short PATH). Only the steps that need the
network are replaced, each by what it would have produced, and each must still
be on the page.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.helpers.backups import DAY, plant, today_at
from tests.sshd import require_tool, sshd_available

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "quickstart.rst"
FAKE_HIGHCHARTS = ROOT / "tests" / "roots" / "test-scmmonitor" / "fake-highcharts"
VENV = Path(sys.executable).parent.parent
#: lines that need the network, and what the test does instead (before the script runs)
NETWORK_LINES = {
    "python3 -m venv ~/scm-monitor/venv": "HOME/scm-monitor/venv is this test run's venv",
    "~/scm-monitor/venv/bin/pip install sphinxcontrib-scmmonitor": "installed already",
    "npm install highcharts": "the tests' stand-in highstock.js is put in node_modules",
}
_BLOCK = re.compile(r"^\.\. code-block:: *(\S+)\n((?:   :\S+:.*\n)*)\n((?:(?:   .*)?\n)+)",
                    re.MULTILINE)


def blocks() -> list[tuple[str, str]]:
    """(class, body) of every marked code block of the page, in page order."""
    out = []
    for match in _BLOCK.finditer(PAGE.read_text("utf-8")):
        marks = re.findall(r":class: *(quickstart-\S+)", match.group(2))
        if marks:
            body = "\n".join(line[3:] for line in match.group(3).splitlines())
            out.append((marks[0], body.strip("\n") + "\n"))
    return out


def command_lines(body: str) -> list[str]:
    lines = []
    for line in body.splitlines():
        code = line.split("  #")[0].strip() if not line.lstrip().startswith("#") else ""
        if code in NETWORK_LINES:
            continue
        if line.strip():
            lines.append(line)
    return lines


def script() -> str:
    """The page as one bash script: commands verbatim, edits and files as heredocs."""
    parts = ["set -e"]
    for mark, body in blocks():
        if mark == "quickstart-run":
            parts += command_lines(body)
            if "mkdir -p ~/scm-monitor/docs" in body:
                parts.append(f"mkdir -p node_modules && cp -r {shlex.quote(str(FAKE_HIGHCHARTS))}"
                             " node_modules/highcharts")
        elif mark == "quickstart-hub-keys":
            # the reader's edit: the keys go under the existing table, not in a second one
            parts.append("python3 - ~/scm-monitor/scmmonitor.toml <<'KEYS'\n"
                         "import sys\n"
                         "path = sys.argv[1]\n"
                         "text = open(path).read()\n"
                         f"keys = {body!r}\n"
                         "assert text.count('[hubs.cms02]\\n') == 1, text\n"
                         "open(path, 'w').write(text.replace('[hubs.cms02]\\n', "
                         "'[hubs.cms02]\\n' + keys, 1))\n"
                         "KEYS")
        elif mark.startswith("quickstart-file-"):
            name = mark.removeprefix("quickstart-file-")
            parts.append(f"cat > ~/scm-monitor/docs/{name} <<'FILE'\n{body}FILE")
        elif mark == "quickstart-cron":
            fields = body.strip().split(None, 5)
            parts.append(f"echo '--- cron line ---'\n( cd ~ && env -i HOME=\"$HOME\" "
                         f"PATH=/usr/bin:/bin PYTHONPATH=\"$PYTHONPATH\" /bin/sh -c "
                         f"{shlex.quote(fields[5])} ) && echo cron-ok || echo cron-exit=$?")
    return "\n".join(parts) + "\n"


def fresh_home(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    (home / "scm-monitor").mkdir(parents=True)
    # step 1's venv: this test run's own (its scm-monitor imports this checkout)
    (home / "scm-monitor" / "venv").symlink_to(VENV)
    env = {"HOME": str(home), "PATH": "/usr/local/bin:/usr/bin:/bin",
           "PYTHONPATH": str(ROOT), "LANG": "C.UTF-8"}
    return env


def test_the_page_still_has_the_lines_the_test_replaces() -> None:
    text = PAGE.read_text("utf-8")
    for line in NETWORK_LINES:
        assert line in text, f"{line!r} is not on docs/quickstart.rst: update NETWORK_LINES"
    marks = [mark for mark, _ in blocks()]
    for mark in ("quickstart-run", "quickstart-ssh", "quickstart-hub-keys", "quickstart-cron",
                 "quickstart-file-conf.py", "quickstart-file-index.rst"):
        assert mark in marks


def test_the_hub_keys_do_not_declare_the_table_again() -> None:
    keys = dict(blocks())["quickstart-hub-keys"]
    assert "[" not in keys.split("=")[0]
    tomllib.loads("[hubs.cms02]\n" + keys)


@pytest.mark.slow
def shown_status(text: str) -> list[str]:
    """The rows of ``status``'s table in ``text``, blind to what the clock changes (ages,
    times, the column widths they set)."""
    start = text.index("SCM BACKUPS CRITICAL")
    lines = text[start:text.index("observed ", start)].splitlines()[1:]
    out = []
    for line in lines:
        line = re.sub(r"\b\d+ (s|min|h|d)\b", "AGE", line.strip())
        if line and not line.startswith("---"):
            line = re.sub(r"\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\dZ)?)?", "DATE", line)
            out.append(re.sub(r"\s+", " ", line))
    return out


def test_every_command_of_the_quickstart_runs_as_written(tmp_path: Path) -> None:
    require_tool(None if shutil.which("bash") else "bash not installed")
    env = fresh_home(tmp_path)
    home = Path(env["HOME"])
    proc = subprocess.run(["bash", "-c", script()], env=env, cwd=home, capture_output=True,
                          text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    work = home / "scm-monitor"
    # step 1, 2: the tool runs, both nodes are in the file, the mail keys in the hub's table
    assert re.search(r"^scm-monitor \d", proc.stdout, re.MULTILINE), out
    settings = tomllib.loads((work / "scmmonitor.toml").read_text())
    assert set(settings["nodes"]) == {"C", "H1"}
    assert settings["hubs"]["cms02"]["email"] == ["ops@example.org"]
    assert "already 4 d old" in out or "already 3 d old" in out
    # step 4: the page's status output
    # (without source = "S" the copies are judged alone: the hub's skipped night is a gap)
    assert "SCM BACKUPS CRITICAL: C warn, H1 alarm" in proc.stdout
    # and the page shows that output as it is (not "(as on C)" where it repeats the text)
    assert shown_status(PAGE.read_text("utf-8")) == shown_status(proc.stdout)
    # step 5: the built page and its data
    html = work / "docs" / "_build" / "html"
    assert (html / "index.html").is_file()
    assert (html / "_static" / "scmmonitor" / "data" / "H1.json").is_file()
    # step 6: the cron line ran as cron runs it and logged one line per node
    log = (work / "collect.log").read_text()
    assert re.search(r"^C: ok", log, re.MULTILINE) and re.search(r"^H1: ok", log, re.MULTILINE)
    assert "cron-exit" not in proc.stdout or "cron-exit=1" in proc.stdout
    # the notify of the cron line has no SMTP server here (exit 1); collect's part must be 0
    assert "exported 2 node(s)" in log
    assert "<table" in (work / "mail.html").read_text()


def test_the_own_node_probe_runs_against_a_real_sshd(tmp_path: Path, sshd_session) -> None:
    require_tool(sshd_available())
    env = fresh_home(tmp_path)
    home = Path(env["HOME"])
    tree = tmp_path / "backup" / "cms02"
    for day in range(3):
        plant(tree, "repos/env", today_at() - day * DAY, "env.tar.gz", 1000 + day)
    dot_ssh = home / ".ssh"
    dot_ssh.mkdir(mode=0o700)
    (dot_ssh / "known_hosts").write_text(sshd_session.known_hosts.read_text())
    (dot_ssh / "config").write_text(
        f"Host cms01.example.org\n  HostName {sshd_session.host}\n  Port {sshd_session.port}\n"
        f"  User {sshd_session.user}\n  IdentityFile {sshd_session.identity_file}\n"
        f"  IdentitiesOnly yes\n  BatchMode yes\n"
        f"  UserKnownHostsFile {dot_ssh / 'known_hosts'}\n")
    body = dict(blocks())["quickstart-ssh"]
    # OpenSSH's client reads the account's ~/.ssh, not $HOME's: name the file (scm-monitor
    # itself honours $HOME); the node's root is this test's tree
    step1 = next(b for mark, b in blocks() if mark == "quickstart-run")  # the PATH line
    text = "\n".join(command_lines(step1) + command_lines(body))
    text = text.replace("ssh cms01", "ssh -F ~/.ssh/config cms01")
    text = text.replace("/data/var/scm/backup/cms02", str(tree))
    proc = subprocess.run(["bash", "-ec", text], env=env, cwd=home, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "via find" in proc.stdout
    node = tomllib.loads((home / "scm-monitor" / "scmmonitor.toml").read_text())["nodes"]["C"]
    assert node["host"] == "cms01.example.org"
    assert os.path.isfile(home / "scm-monitor" / "scmmonitor.toml")
