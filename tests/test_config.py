"""``scmmonitor.toml``: validation, precedence, discovery, and one clear message per mistake.

The precedence and type cases are generated from :data:`config.SCHEMA`, so a key
added to the schema is covered without touching this file (the sample tables at
the top must know a valid value for any key with a value check).
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import tomllib
import zoneinfo
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sphinxcontrib_scmmonitor import cli, config
from sphinxcontrib_scmmonitor.config import SCHEMA, ConfigError
from tests.helpers.config_files import minimal, toml_dumps, write

VENV_BIN = Path(sys.executable).parent


def load_error(tmp_path: Path, doc: dict[str, Any] | str) -> ConfigError:
    path = write(tmp_path, doc)
    with pytest.raises(ConfigError) as info:
        config.load(path)
    message = str(info.value)
    assert message.startswith(str(path) + ": "), message
    assert info.value.path == str(path)
    return info.value


# --- what the schema says ------------------------------------------------------------------------

#: two different valid values per key; the second differs from the schema default
SAMPLES: dict[str, tuple[Any, Any]] = {
    "hub": ("cms02", "cms03"),
    "host": ("local", "cms01.example.org"),
    "root": ("/srv/backup", "/data/var/scm/backup/cms02"),
    "date_layout": ("%Y/%m/%d", "%Y%m%d/%H%M"),
    "timezone": ("Europe/Zurich", "Asia/Tokyo"),
    "smtp": ("mail.example.org:25", "relay.example.org:587"),
    "min_size_ratio": (0.25, 0.75),
    "port": (2222, 22),
    "max_size_ratio": (2.0, 8.0),
    "verify": (["size"], ["size", "sha256", "gzip"]),
    "source": ("C", "S"),
    "mail_from": ("monitor@example.org", "Backup Monitor <monitor@example.org>"),
    "email": (["ops@example.org"], ["ops@example.org", "Dba Team <dba@example.org>"]),
}
KIND_SAMPLES: dict[str, tuple[Any, Any]] = {
    "hub": ("cms02", "cms03"),
    "host": ("local", "cms01.example.org"),
    "root": ("/srv/backup", "/data/var/scm/backup/cms02"),
    "str": ("alpha", "beta"),
    "path": ("/etc/scm/one", "/etc/scm/two"),
    "int": (3, 5),
    "float": (2.5, 7.0),
    "bool": (False, True),
    "list[str]": (["repos/env"], ["tracs/env", "svn/dybsvn"]),
}
#: values a key's own check must refuse, with a word the message has to contain
BAD_VALUES: dict[str, list[tuple[Any, str]]] = {
    "workers": [(0, "greater than 0"), (-3, "greater than 0")],
    "date_layout": [("YYYY/MM/DD", "strptime"), ("%Y/%Q", "Q"), ("%Y/%m/%Y", "Y"),
                    ("%Y/%m/%", "%"), ("%m/%d/%H%M%S", "must contain a year"),
                    ("%%Y/%m/%d", "must contain a year")],
    "timezone": [("Mars/Olympus_Mons", "unknown time zone"), ("Europe", "unknown time zone"),
                 ("", "unknown time zone"), ("../../etc/passwd", "unknown time zone"),
                 ("a" * 300, "unknown time zone"), ("/etc/localtime", "unknown time zone")],
    "max_age_hours": [(0, "greater than 0"), (-1.5, "greater than 0")],
    "min_size_ratio": [(1.5, "between 0 and 1"), (-0.1, "between 0 and 1")],
    "connect_timeout": [(0, "greater than 0")],
    "command_timeout": [(-5, "greater than 0")],
    "smtp": [("localhost", "host:port"), ("localhost:smtp", "host:port"), (":25", "host:port")],
    "port": [(0, "TCP port"), (65536, "TCP port")],
    "max_size_ratio": [(0.5, "0 (never) or greater than 1"), (1, "greater than 1"),
                       (-2, "greater than 1"), (float("inf"), "finite")],
    "gap_days": [(-1, "0 or more")],
    "keep_min": [(-1, "0 or more")],
    "keep_max": [(-3, "0 or more")],
    "verify": [(["size", "md5"], "unknown step 'md5'"), ("sha265", "did you mean 'sha256'"),
               (["gz"], "known: size, sha256, gzip")],
    "copy_grace_hours": [(-1, "0 or more"), (float("nan"), "finite")],
    "pattern": [("", "must not be empty"), ("  ", "must not be empty"),
                ("repos/*.gz", "file names only")],
    "host": [("", "must not be empty"), (" ", "must not be empty")],
    "email": [(["ops"], "'ops' is not a mail address"), (["ops@"], "'ops@' is not a mail"),
              (["a@b.org, c@d.org"], "holds 2 addresses"), (["a b@c.org"], "not a mail"),
              (["ops@example..org"], "not a mail"), (["Ops <ops@example.org"], "not a mail"),
              (["ops@example.org\r\nBcc: x@evil.org"], "control characters"),
              (["ops@[127.0.0.1]"], "ops@example.org"), ("", "not a mail address")],
    "mail_from": [("monitor", "not a mail address"), ("m@example.org\nBcc: x@y.org", "'\\n'"),
                  ("Mon\x1b[31m <m@example.org>", "control characters")],
    "report_url": [("https://example.org/\r\nX-Evil: 1", "control characters")],
    "smtp_user": [("ops\r\nRSET", "control characters")],
}
WRONG_TYPE = {"str": 5, "path": True, "int": "16", "float": "ten", "bool": "yes",
              "list[str]": [1, 2]}
TYPE_WORDS = {"str": "str", "path": "string (path)", "int": "int", "float": "float",
              "bool": "bool", "list[str]": "list of strings"}
FIELDS = {f.name for cls in (config.NodeSettings, config.HubSettings, config.Settings)
          for f in dataclasses.fields(cls)}


def samples(key: config.Key) -> tuple[Any, Any]:
    return SAMPLES.get(key.name, KIND_SAMPLES[key.kind])


def as_setting(key: config.Key, value: Any) -> Any:
    """How a TOML value shows up in the typed settings."""
    if key.kind == "list[str]":
        return tuple([value] if isinstance(value, str) else value)
    if key.kind == "float":
        return float(value)
    return value


def place(doc: dict[str, Any], level: str, key: str, value: Any) -> dict[str, Any]:
    table = {"top": doc, "defaults": doc.setdefault("defaults", {}),
             "hub": doc["hubs"]["cms02"], "node": doc["nodes"]["C"]}[level]
    table[key] = value
    return doc


def where(level: str, key: str) -> str:
    return {"top": key, "defaults": f"defaults.{key}", "hub": f"hubs.cms02.{key}",
            "node": f"nodes.C.{key}"}[level]


def test_every_schema_key_lands_in_the_settings() -> None:
    assert {k.name for k in SCHEMA} <= FIELDS


def test_every_key_with_a_check_has_bad_values_here() -> None:
    assert {k.name for k in SCHEMA if k.check} == set(BAD_VALUES)


@pytest.mark.parametrize("key", SCHEMA, ids=lambda k: k.name)
def test_samples_of_every_key_are_accepted(tmp_path: Path, key: config.Key) -> None:
    first, second = samples(key)
    assert first != second
    assert as_setting(key, second) != as_setting(key, key.default)
    for value in (first, second):
        doc = minimal()
        if key.name == "hub":
            doc["hubs"][value] = {}
        if key.name == "source":
            doc["nodes"].setdefault(value, {**doc["nodes"]["C"], "host": "local"})
        level = "node" if "node" in key.levels else key.levels[0]
        config.load(write(tmp_path, place(doc, level, key.name, value)))


def test_design_md_example_loads() -> None:
    text = """\
database = "sqlite:///scmmonitor.db"   # any SQLAlchemy URL

[defaults]
pattern = "*.gz"
date_layout = "%Y/%m/%d/%H%M%S"
timezone = "UTC"
max_age_hours = 36
min_size_ratio = 0.5
connect_timeout = 10
command_timeout = 120
known_hosts = "~/.ssh/known_hosts"
trust_unknown_hosts = false

[hubs.cms02]
select = ["repos/env", "tracs/env"]
email = ["ops@example.org"]
smtp = "localhost:25"
report_url = "https://example.org/docs/scm/monitor/"

[nodes.C]
hub = "cms02"
host = "cms01.example.org"
user = "root"
port = 22
identity_file = "~/.ssh/id_ed25519"
root = "/data/var/scm/backup/cms02"
"""
    settings = config.parse(tomllib.loads(text), Path("/etc/scm/scmmonitor.toml"))
    node = settings.node("C")
    assert settings.database == "sqlite:////etc/scm/scmmonitor.db"
    assert node.hub == "cms02" and node.host == "cms01.example.org" and node.port == 22
    assert node.select == ("repos/env", "tracs/env")
    assert node.max_age_hours == 36.0 and isinstance(node.max_age_hours, float)
    assert node.identity_file == os.path.expanduser("~/.ssh/id_ed25519")
    assert settings.hubs["cms02"].email == ("ops@example.org",)


# --- one clear message per mistake ------------------------------------------------------------


@pytest.mark.parametrize(("level", "typo", "meant"), [
    ("top", "databse", "database"),
    ("defaults", "max_age_hour", "max_age_hours"),
    ("hub", "emial", "email"),
    ("node", "identityfile", "identity_file"),
    ("node", "timezon", "timezone"),
])
def test_unknown_key_is_an_error_naming_file_and_key(tmp_path, level, typo, meant) -> None:
    error = load_error(tmp_path, place(minimal(), level, typo, "x"))
    assert error.key == where(level, typo)
    assert "unknown key" in error.problem
    assert f"did you mean {meant!r}" in error.problem


def test_unknown_key_without_a_close_match_gives_no_suggestion(tmp_path) -> None:
    error = load_error(tmp_path, place(minimal(), "node", "zzzqqq", 1))
    assert error.problem == "unknown key"


@pytest.mark.parametrize(("key", "level"), [
    (k, level) for k in SCHEMA for level in ("top", "defaults", "hub", "node")
    if level not in k.levels
], ids=lambda v: v if isinstance(v, str) else v.name)
def test_key_set_where_it_is_not_allowed_says_where_it_belongs(tmp_path, key, level) -> None:
    doc = place(minimal(), level, key.name, samples(key)[0])
    error = load_error(tmp_path, doc)
    assert error.key == where(level, key.name)
    if level == "top":
        assert "unknown key" in error.problem
    else:
        assert "cannot be set here" in error.problem
        assert ", ".join(key.levels) in error.problem


@pytest.mark.parametrize("key", SCHEMA, ids=lambda k: k.name)
def test_wrong_type_names_the_key_the_expected_type_and_the_value(tmp_path, key) -> None:
    level = "node" if "node" in key.levels else key.levels[0]
    bad = WRONG_TYPE[key.kind]
    error = load_error(tmp_path, place(minimal(), level, key.name, bad))
    assert error.key == where(level, key.name)
    assert TYPE_WORDS[key.kind] in error.problem
    assert repr(bad) in error.problem


@pytest.mark.parametrize(("name", "value", "word"), [
    (name, value, word) for name, cases in BAD_VALUES.items() for value, word in cases
], ids=str)
def test_value_that_fails_its_check_says_what_is_wrong(tmp_path, name, value, word) -> None:
    key = config.KEYS[name]
    level = "node" if "node" in key.levels else key.levels[0]
    error = load_error(tmp_path, place(minimal(), level, name, value))
    assert error.key == where(level, name)
    assert word in error.problem


def test_bad_timezone_suggests_an_iana_name(tmp_path) -> None:
    error = load_error(tmp_path, place(minimal(), "defaults", "timezone", "CEST+2"))
    assert error.key == "defaults.timezone"
    assert "'CEST+2'" in error.problem and "Europe/Zurich" in error.problem


@pytest.mark.parametrize("name", ["a/b", "..", ".", "-x", ".hidden", "a b", "", "Zürich",
                                  "a\\b", "x\ny"])
def test_bad_node_name_is_an_error_naming_it(tmp_path, name) -> None:
    doc = minimal()
    doc["nodes"] = {name: doc["nodes"]["C"]}
    error = load_error(tmp_path, doc)
    assert error.key == f"nodes.{name}"
    assert f"bad node name {name!r}" in error.problem
    assert "file names" in error.problem


@pytest.mark.parametrize("name", ["C", "H1", "cms01.example.org", "node_2-b", "0"])
def test_good_node_names_are_accepted(tmp_path, name) -> None:
    doc = minimal()
    doc["nodes"] = {name: doc["nodes"]["C"]}
    assert list(config.load(write(tmp_path, doc)).nodes) == [name]


@pytest.mark.parametrize("name", ["a/b", "..", "-x", "a b", "", "Zürich", "cms02\r\nBcc: x@y",
                                  "x\x1b[31m"])
def test_bad_hub_name_is_an_error_naming_it_on_one_line(tmp_path, name) -> None:
    doc = minimal(hub=name)
    doc["hubs"] = {name: {}}
    error = load_error(tmp_path, doc)
    assert error.key == f"hubs.{name}"
    assert f"bad hub name {name!r}" in error.problem and "mail subjects" in error.problem
    assert str(error).isprintable(), str(error)


@pytest.mark.parametrize("name", ["cms02", "Gitea", "hub_2-b.x", "0"])
def test_good_hub_names_are_accepted(tmp_path, name) -> None:
    doc = minimal(hub=name)
    doc["hubs"] = {name: {}}
    assert list(config.load(write(tmp_path, doc)).hubs) == [name]


@pytest.mark.parametrize("key", [k.name for k in SCHEMA if k.required])
def test_missing_required_key_is_named(tmp_path, key) -> None:
    doc = minimal()
    del doc["nodes"]["C"][key]
    error = load_error(tmp_path, doc)
    assert error.key == f"nodes.C.{key}"
    assert error.problem == "is required"


def test_undefined_hub_names_the_defined_ones(tmp_path) -> None:
    doc = minimal(hub="cms03")
    doc["hubs"]["cms99"] = {}
    error = load_error(tmp_path, doc)
    assert error.key == "nodes.C.hub"
    assert "'cms03' is not defined" in error.problem
    assert "[hubs.cms03]" in error.problem and "cms02, cms99" in error.problem


@pytest.mark.parametrize("root", ["backup/cms02", "~/backup", "", "./x"])
def test_relative_root_is_an_error(tmp_path, root) -> None:
    error = load_error(tmp_path, minimal(root=root))
    assert error.key == "nodes.C.root"
    assert "absolute path" in error.problem and repr(root) in error.problem


def test_root_keeps_no_trailing_slash(tmp_path) -> None:
    assert config.load(write(tmp_path, minimal(root="/srv/b///"))).node("C").root == "/srv/b"
    assert config.load(write(tmp_path, minimal(root="/"))).node("C").root == "/"


def test_no_nodes_is_an_error(tmp_path) -> None:
    error = load_error(tmp_path, {"hubs": {"cms02": {}}})
    assert error.key == "nodes"
    assert "no node configured" in error.problem


@pytest.mark.parametrize(("doc", "key", "word"), [
    ('nodes = 5\n', "nodes", "must be a table"),
    ('[nodes]\nC = "cms01"\n', "nodes.C", "must be a table"),
    ('defaults = [1]\n[nodes.C]\nhub="h"\n', "defaults", "must be a table"),
    ('hubs = "cms02"\n[nodes.C]\nhub="h"\n', "hubs", "must be a table"),
    ('[nodes.C]\nhub = "cms02"\nhost = "h"\nroot = "/\\u0000x"\n[hubs.cms02]\n',
     "nodes.C.root", "NUL"),
])
def test_tables_of_the_wrong_shape_are_errors(tmp_path, doc, key, word) -> None:
    error = load_error(tmp_path, doc)
    assert error.key == key
    assert word in error.problem


def test_a_single_string_is_accepted_for_a_list(tmp_path) -> None:
    node = config.load(write(tmp_path, minimal(select="repos/env"))).node("C")
    assert node.select == ("repos/env",)


def test_unknown_node_asked_for_names_the_configured_ones(tmp_path) -> None:
    settings = config.load(write(tmp_path, minimal()))
    with pytest.raises(ConfigError, match=r"unknown node 'X' \(configured: C\)"):
        settings.node("X")


# --- precedence: defaults < hub < node, for every inheritable key -------------------------------

INHERITABLE = [k for k in SCHEMA if "defaults" in k.levels]


def settled(settings: config.Settings, key: config.Key) -> list[Any]:
    """Where the key ends up: the node's value and/or the hub's value."""
    out = []
    if "node" in key.levels:
        out.append(getattr(settings.node("C"), key.name))
    if hasattr(settings.hubs["cms02"], key.name):
        out.append(getattr(settings.hubs["cms02"], key.name))
    assert out, f"{key.name} shows up neither in NodeSettings nor in HubSettings"
    return out


@pytest.mark.parametrize("key", INHERITABLE, ids=lambda k: k.name)
def test_unset_key_takes_the_schema_default(tmp_path, key) -> None:
    settings = config.load(write(tmp_path, minimal()))
    expected = as_setting(key, key.default)
    if key.kind == "path" and key.default:
        expected = os.path.expanduser(key.default)
    assert set(map(repr, settled(settings, key))) == {repr(expected)}


@pytest.mark.parametrize("key", INHERITABLE, ids=lambda k: k.name)
def test_defaults_table_beats_the_schema_default(tmp_path, key) -> None:
    _first, second = samples(key)
    doc = place(minimal(), "defaults", key.name, second)
    values = settled(config.load(write(tmp_path, doc)), key)
    assert values == [as_setting(key, second)] * len(values)


@pytest.mark.parametrize("key", INHERITABLE, ids=lambda k: k.name)
def test_hub_beats_defaults(tmp_path, key) -> None:
    first, second = samples(key)
    doc = place(place(minimal(), "defaults", key.name, first), "hub", key.name, second)
    values = settled(config.load(write(tmp_path, doc)), key)
    assert values == [as_setting(key, second)] * len(values)


@pytest.mark.parametrize("key", [k for k in INHERITABLE if "node" in k.levels],
                         ids=lambda k: k.name)
def test_node_beats_hub(tmp_path, key) -> None:
    first, second = samples(key)
    doc = place(minimal(), "defaults", key.name, first)
    doc = place(place(doc, "hub", key.name, second), "node", key.name, first)
    settings = config.load(write(tmp_path, doc))
    assert getattr(settings.node("C"), key.name) == as_setting(key, first)
    if hasattr(settings.hubs["cms02"], key.name):  # the hub itself keeps its own value
        assert getattr(settings.hubs["cms02"], key.name) == as_setting(key, second)


def test_one_hub_does_not_leak_into_another(tmp_path) -> None:
    doc = minimal()
    doc["hubs"] = {"cms02": {"max_age_hours": 2}, "cms03": {"max_age_hours": 99}}
    doc["nodes"]["D"] = {"hub": "cms03", "host": "local", "root": "/srv"}
    settings = config.load(write(tmp_path, doc))
    assert settings.node("C").max_age_hours == 2.0
    assert settings.node("D").max_age_hours == 99.0
    assert settings.node("D").is_local and not settings.node("C").is_local


# --- where the file is, and paths in it ---------------------------------------------------------


@pytest.mark.parametrize(("url", "expected"), [
    ("sqlite:///scm.db", "sqlite:///{base}/scm.db"),
    ("sqlite:///data/scm.db", "sqlite:///{base}/data/scm.db"),
    ("sqlite:///../scm.db", "sqlite:///{base}/../scm.db"),
    ("sqlite+pysqlite:///scm.db", "sqlite+pysqlite:///{base}/scm.db"),
    ("sqlite:////var/lib/scm.db", "sqlite:////var/lib/scm.db"),
    ("sqlite://", "sqlite://"),
    ("sqlite:///:memory:", "sqlite:///:memory:"),
    ("postgresql+psycopg://scm@db.example.org/scm", "postgresql+psycopg://scm@db.example.org/scm"),
])
def test_relative_sqlite_path_is_relative_to_the_config_file(tmp_path, monkeypatch, url,
                                                             expected) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    path = write(folder, {"database": url, **minimal()})
    monkeypatch.chdir(tmp_path)
    assert config.load(path).database == expected.format(base=folder)
    monkeypatch.chdir("/")
    assert config.load(path).database == expected.format(base=folder)


def test_relative_paths_in_keys_are_relative_to_the_config_file(tmp_path, monkeypatch) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    doc = minimal(identity_file="keys/id_ed25519", known_hosts="known_hosts")
    doc["hubs"]["cms02"]["smtp_password_file"] = "secret/smtp"
    path = write(folder, doc)
    monkeypatch.chdir("/")
    settings = config.load(Path(os.path.relpath(path, "/")))
    assert settings.node("C").identity_file == str(folder / "keys/id_ed25519")
    assert settings.node("C").known_hosts == str(folder / "known_hosts")
    assert settings.hubs["cms02"].smtp_password_file == str(folder / "secret/smtp")


def test_missing_file_says_how_to_give_one(tmp_path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as info:
        config.load(path)
    assert str(info.value).startswith(f"{path}: file not found")
    assert "-c FILE" in str(info.value) and "SCMMONITOR_CONFIG" in str(info.value)


def test_non_utf8_file_is_an_error_naming_the_byte(tmp_path) -> None:
    path = tmp_path / "scmmonitor.toml"
    path.write_bytes(toml_dumps(minimal()).encode() + b'# Z\xfcrich\n')
    with pytest.raises(ConfigError, match=r"is not UTF-8 \(byte \d+\)") as info:
        config.load(path)
    assert info.value.path == str(path)


@pytest.mark.parametrize(("text", "where_"), [
    ('[nodes.C\nhub = "x"\n', "line 1"),
    ('database = "sqlite:///x.db"\ndatabase = "again"\n', "line 2"),
    ('[hubs.cms02]\nselect = [\n', "end of document"),
])
def test_invalid_toml_is_an_error_with_the_line(tmp_path, text, where_) -> None:
    error = load_error(tmp_path, text)
    assert error.problem.startswith("invalid TOML")
    assert where_ in error.problem


def test_a_folder_given_as_config_cannot_be_read(tmp_path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        config.load(tmp_path)


# --- the command line: exit 2, one line on stderr -----------------------------------------------


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("doc", [
    place(minimal(), "node", "hots", "cms01"),
    minimal(root="relative"),
    minimal(hub="nowhere"),
    "this is = not toml",
])
def test_bad_config_exits_2_with_one_message_on_stderr(tmp_path, capsys, doc) -> None:
    path = write(tmp_path, doc, "bad.toml")
    code, out, err = run_cli(["-c", str(path), "collect"], capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1, err
    assert err.startswith(f"scm-monitor: config error: {path}: ")


def test_bad_config_via_the_installed_script(tmp_path) -> None:
    path = write(tmp_path, place(minimal(), "defaults", "max_age_hours", "36h"), "bad.toml")
    proc = subprocess.run([VENV_BIN / "scm-monitor", "-c", path, "collect"],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == (f"scm-monitor: config error: {path}: defaults.max_age_hours: "
                           "must be a float, got string '36h'\n")


def test_config_option_before_and_after_the_command(tmp_path, capsys) -> None:
    bad = write(tmp_path, minimal(root="rel"), "bad.toml")
    for argv in (["--config", str(bad), "db", "upgrade"], ["db", "upgrade", "--config", str(bad)],
                 ["export", "--outdir", str(tmp_path), "-c", str(bad)]):
        code, _out, err = run_cli(argv, capsys)
        assert (code, str(bad) in err) == (2, True), argv
    # status is a Nagios plugin: a config error is UNKNOWN, on stdout (docs/cli.rst)
    for argv in (["-c", str(bad), "status"], ["status", "-c", str(bad)]):
        code, out, _err = run_cli(argv, capsys)
        assert (code, str(bad) in out) == (3, True), argv


def test_config_after_the_command_wins_over_the_one_before(tmp_path, capsys) -> None:
    good = write(tmp_path, {"database": "sqlite:///good.db", **minimal()}, "good.toml")
    bad = write(tmp_path, minimal(root="rel"), "bad.toml")
    code, _out, err = run_cli(["-c", str(bad), "db", "upgrade", "-c", str(good)], capsys)
    assert code == 0, err
    assert (tmp_path / "good.db").exists()


def test_environment_variable_is_used_and_the_option_beats_it(tmp_path, capsys,
                                                              monkeypatch) -> None:
    env_cfg = write(tmp_path, {"database": "sqlite:///env.db", **minimal()}, "env.toml")
    opt_cfg = write(tmp_path, {"database": "sqlite:///opt.db", **minimal()}, "opt.toml")
    monkeypatch.setenv("SCMMONITOR_CONFIG", str(env_cfg))
    monkeypatch.chdir("/")
    assert run_cli(["db", "upgrade"], capsys)[0] == 0
    assert (tmp_path / "env.db").exists() and not (tmp_path / "opt.db").exists()
    assert run_cli(["-c", str(opt_cfg), "db", "upgrade"], capsys)[0] == 0
    assert (tmp_path / "opt.db").exists()


def test_scmmonitor_toml_in_the_current_folder_is_the_fallback(tmp_path, capsys,
                                                               monkeypatch) -> None:
    monkeypatch.delenv("SCMMONITOR_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    code, _out, err = run_cli(["collect"], capsys)
    assert code == 2
    assert err.startswith("scm-monitor: config error: scmmonitor.toml: file not found")
    write(tmp_path, {"database": "sqlite:///here.db", **minimal()})
    assert run_cli(["db", "upgrade"], capsys)[0] == 0
    assert (tmp_path / "here.db").exists()


def test_empty_environment_variable_falls_back_to_the_current_folder(tmp_path,
                                                                     monkeypatch) -> None:
    monkeypatch.setenv("SCMMONITOR_CONFIG", "")
    monkeypatch.chdir(tmp_path)
    assert config.find_config() == Path("scmmonitor.toml")


# --- fuzzing the loader --------------------------------------------------------------------------

safe_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"),
                    max_size=12)
#: what a value that goes into a mail header may hold: no control characters
printable_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)
addresses = st.builds(lambda local, domain, name: f"{name} <{local}@{domain}>" if name
                      else f"{local}@{domain}",
                      st.from_regex(r"[a-z0-9][a-z0-9.+_-]{0,8}[a-z0-9]", fullmatch=True)
                      .filter(lambda v: ".." not in v),
                      st.from_regex(r"[a-z0-9]{1,8}(\.[a-z]{2,4}){0,2}", fullmatch=True),
                      st.from_regex(r"([A-Z][a-z]{0,6}( [A-Z][a-z]{0,6})?)?", fullmatch=True))
ZONES = sorted(zoneinfo.available_timezones())
LAYOUTS = ["%Y/%m/%d/%H%M%S", "%Y/%m/%d", "%Y%m%d", "%Y-%m-%d_%H%M", "%d-%b-%Y", "%y%m%d/%H"]


def value_strategy(key: config.Key) -> st.SearchStrategy[Any]:
    special: dict[str, st.SearchStrategy[Any]] = {
        "timezone": st.sampled_from(ZONES),
        "date_layout": st.sampled_from(LAYOUTS),
        "smtp": st.builds(lambda h, p: f"{h}:{p}",
                          st.from_regex(r"[a-z][a-z0-9.-]{0,10}", fullmatch=True),
                          st.integers(1, 65535)),
        "port": st.integers(1, 65535),
        "workers": st.integers(1, 512),
        "min_size_ratio": st.floats(0, 1),
        "max_size_ratio": st.one_of(st.just(0), st.floats(1.01, 100)),
        "keep_min": st.integers(0, 5),
        "keep_max": st.one_of(st.just(0), st.integers(5, 100)),  # never below keep_min
        "verify": st.lists(st.sampled_from(config.VERIFY_STEPS), max_size=3),
        "copy_grace_hours": st.floats(0, 100),
        "pattern": printable_text.filter(lambda v: v.strip() and "/" not in v),
        "mail_from": st.one_of(st.just(""), addresses),
        "email": st.lists(addresses, max_size=3),
        "report_url": printable_text,
        "smtp_user": printable_text,
        # valid documents never retire a selected series (that is an error of its own)
        "retired": st.lists(st.from_regex(r"retired/[a-z*]{1,6}", fullmatch=True), max_size=3),
        "select": st.one_of(safe_text, st.lists(safe_text, max_size=3)).filter(
            lambda v: not any(s.strip("/").startswith("retired/")
                              for s in ([v] if isinstance(v, str) else v))),
    }
    if key.name in special:
        return special[key.name]
    return {
        "str": safe_text,
        "path": st.one_of(st.just(""), safe_text, safe_text.map(lambda t: "/" + t),
                          safe_text.map(lambda t: "~/" + t)),
        "int": st.integers(1, 10**6),
        "float": st.one_of(st.integers(1, 10**6),
                           st.floats(1e-6, 1e9, allow_nan=False, allow_infinity=False)),
        "bool": st.booleans(),
        "list[str]": st.one_of(safe_text, st.lists(safe_text, max_size=3)),
    }[key.kind]


def table_strategy(level: str, exclude: tuple[str, ...] = ()) -> st.SearchStrategy[dict]:
    keys = [k for k in SCHEMA if level in k.levels and k.name not in exclude]
    return st.fixed_dictionaries({}, optional={k.name: value_strategy(k) for k in keys})


TABLES = {"top": table_strategy("top"), "defaults": table_strategy("defaults"),
          # a source must name a node of its hub: tested on its own below
          "hub": table_strategy("hub", exclude=("source",)),
          "node": table_strategy("node", exclude=("hub", "host", "root"))}
node_names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,8}", fullmatch=True)
hub_names = node_names


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = draw(TABLES["top"])
    if draw(st.booleans()):
        doc["defaults"] = draw(TABLES["defaults"])
    hubs = draw(st.lists(hub_names, min_size=1, max_size=3, unique=True))
    doc["hubs"] = {h: draw(TABLES["hub"]) for h in hubs}
    nodes = draw(st.lists(node_names, min_size=1, max_size=3, unique=True))
    doc["nodes"] = {}
    for n in nodes:
        table = draw(TABLES["node"])
        table["hub"] = draw(st.sampled_from(hubs))
        table["host"] = draw(st.one_of(st.just("local"), safe_text.filter(str.strip)))
        table["root"] = "/" + draw(safe_text)
        doc["nodes"][n] = table
    return doc


def expected_value(key: config.Key, value: Any, base: Path) -> Any:
    if key.kind == "path":
        if not value:
            return ""
        p = Path(os.path.expanduser(value))
        return str(p if p.is_absolute() else base / p)
    return as_setting(key, value)


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(doc=documents())
def test_random_valid_documents_load_and_round_trip(tmp_path_factory, doc) -> None:
    folder = tmp_path_factory.mktemp("cfg")
    path = write(folder, doc)
    settings_ = config.load(path)
    base = folder

    assert settings_.workers == doc.get("workers", 16)
    assert list(settings_.nodes) == list(doc["nodes"])
    assert list(settings_.hubs) == list(doc["hubs"])
    defaults = doc.get("defaults", {})
    for name, table in doc["nodes"].items():
        node = settings_.node(name)
        hub = doc["hubs"][table["hub"]]
        assert node.root == (table["root"].rstrip("/") or "/")
        for key in SCHEMA:
            if "node" not in key.levels or key.name == "root":
                continue
            for source in (table, hub, defaults, {key.name: key.default}):
                if key.name in source:
                    raw = source[key.name]
                    break
            assert getattr(node, key.name) == expected_value(key, raw, base), key.name
    for name, table in doc["hubs"].items():
        hub_settings = settings_.hubs[name]
        for f in dataclasses.fields(hub_settings):
            if f.name == "name":
                continue
            key = config.KEYS[f.name]
            raw = table.get(key.name, defaults.get(key.name, key.default))
            assert getattr(hub_settings, f.name) == expected_value(key, raw, base), f.name


RESERVED = {k.name for k in SCHEMA} | {"defaults", "hubs", "nodes"}
toml_values = st.one_of(safe_text, st.integers(-10**6, 10**6), st.booleans(),
                        st.lists(st.integers(0, 9), max_size=3),
                        st.floats(allow_nan=False, allow_infinity=False))


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(doc=documents(), level=st.sampled_from(["top", "defaults", "hub", "node"]),
       name=st.text(min_size=0, max_size=15).filter(lambda s: "\0" not in s),
       value=toml_values)
def test_random_unknown_key_is_always_a_config_error(tmp_path_factory, doc, level, name,
                                                     value) -> None:
    allowed = {k.name for k in SCHEMA if level in k.levels}
    if level == "top":
        allowed |= {"defaults", "hubs", "nodes"}
    if name in allowed:
        name += "_x"
    hub = next(iter(doc["hubs"]))
    node = next(iter(doc["nodes"]))
    table = {"top": doc, "defaults": doc.setdefault("defaults", {}), "hub": doc["hubs"][hub],
             "node": doc["nodes"][node]}[level]
    table[name] = value
    path = write(tmp_path_factory.mktemp("cfg"), doc)
    with pytest.raises(ConfigError) as info:
        config.load(path)
    assert info.value.path == str(path)
    assert info.value.key is not None and info.value.key.endswith(name)
    assert "unknown key" in info.value.problem or "cannot be set here" in info.value.problem


# --- retired series ------------------------------------------------------------------------------


def test_retired_patterns_are_globs_on_the_series_name(tmp_path) -> None:
    node = config.load(write(tmp_path, minimal(retired=["svn/oldproj", "tracs/*-2019"]))).node("C")

    assert node.retires("svn/oldproj") and node.retires("tracs/env-2019")
    assert not node.retires("svn/oldproj2") and not node.retires("tracs/env")


def test_a_selected_series_cannot_be_retired_where_retired_was_set(tmp_path) -> None:
    doc = minimal()
    doc["hubs"]["cms02"] = {"select": ["repos/env", "tracs/env-2019"]}
    doc["defaults"] = {"retired": ["tracs/*-2019"]}

    error = load_error(tmp_path, doc)

    assert error.key == "defaults.retired"
    assert error.problem == ("'tracs/*-2019' retires 'tracs/env-2019', which node C is also "
                             "to have (select): remove it from one of the two lists")


# --- source and copies -------------------------------------------------------------------------


def with_source(source: str, **more_nodes: dict[str, Any]) -> dict[str, Any]:
    doc = minimal()
    doc["hubs"]["cms02"]["source"] = source
    doc["nodes"]["S"] = {"hub": "cms02", "host": "local", "root": "/srv/backup"}
    doc["nodes"].update(more_nodes)
    return doc


def test_a_source_makes_the_other_nodes_of_its_hub_copies(tmp_path) -> None:
    doc = with_source("S", D={"hub": "cms03", "host": "local", "root": "/srv"})
    doc["hubs"]["cms03"] = {}
    settings = config.load(write(tmp_path, doc))

    assert settings.hubs["cms02"].source == "S" and settings.hubs["cms03"].source == ""
    assert settings.node("C").is_copy and settings.node("C").source == "S"
    assert not settings.node("S").is_copy and not settings.node("D").is_copy


@pytest.mark.parametrize(("source", "words"), [
    ("S1", ["node 'S1' is not defined", "did you mean 'S'", "nodes of hub cms02: C, S"]),
    ("D", ["node 'D' belongs to hub cms03, not cms02", "nodes of hub cms02: C, S"]),
])
def test_a_source_must_be_a_node_of_its_own_hub(tmp_path, source, words) -> None:
    doc = with_source(source, D={"hub": "cms03", "host": "local", "root": "/srv"})
    doc["hubs"]["cms03"] = {}
    error = load_error(tmp_path, doc)
    assert error.key == "hubs.cms02.source"
    for word in words:
        assert word in error.problem


def test_size_is_always_verified(tmp_path) -> None:
    node = config.load(write(tmp_path, minimal(verify=["gzip"]))).node("C")
    assert node.verifies("size") and node.verifies("gzip") and not node.verifies("sha256")


def test_keep_max_below_keep_min_is_an_error_where_keep_max_was_set(tmp_path) -> None:
    doc = minimal(keep_min=10)
    doc["hubs"]["cms02"]["keep_max"] = 5
    error = load_error(tmp_path, doc)
    assert error.key == "hubs.cms02.keep_max"
    assert error.problem == ("is 5, below keep_min 10 for node C: no number of backups "
                             "could satisfy both")
    assert config.load(write(tmp_path, minimal(keep_min=10, keep_max=0))).node("C").keep_min == 10
