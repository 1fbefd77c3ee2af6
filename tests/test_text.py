"""The one home of each writing rule (text.py) and of atomic writes (atomic.py)."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sphinxcontrib_scmmonitor import config, text
from sphinxcontrib_scmmonitor.atomic import WriteError, atomic_file, write_atomic
from sphinxcontrib_scmmonitor.cli import init
from sphinxcontrib_scmmonitor.collect.listing import printable


@pytest.mark.parametrize(("raw", "shown"), [
    ("plain grüezi 😀", "plain grüezi 😀"),
    ("a\nb\tc", "a\\x0ab\\x09c"),
    ("\x1b[2J", "\\x1b[2J"),
    ("line\u2028sep", "line\\u2028sep"),  # a line break for JS and some terminals
    ("bidi\u202eevil", "bidi\\u202eevil"),
    ("tag\U000e0041", "tag\\U000e0041"),
])
def test_escape_controls_writes_every_control_character_by_its_code_point(
        raw: str, shown: str) -> None:
    assert text.escape_controls(raw) == shown


def test_remote_names_are_escaped_by_the_same_rule_everywhere() -> None:
    name = "x\u2028\x1by"
    assert printable(name.encode()) == text.escape_controls(name) == "x\\u2028\\x1by"


@given(st.text())
def test_toml_value_of_any_string_reads_back_the_same(value: str) -> None:
    assert tomllib.loads(f"k = {text.toml_value(value)}")["k"] == value


@pytest.mark.parametrize(("value", "written"), [
    (True, "true"), (36.0, "36"), (0.5, "0.5"), (22, "22"), (["a", "b\n"], '["a", "b\\u000a"]'),
])
def test_toml_value_writes_what_a_loader_reads_back(value: object, written: str) -> None:
    assert text.toml_value(value) == written
    assert tomllib.loads(f"k = {written}")["k"] == value


def test_every_kind_of_the_schema_has_one_word_used_by_errors_docs_and_init(
        tmp_path: Path) -> None:
    for key in config.SCHEMA:
        assert key.type_name == text.KIND_WORDS[key.kind], key.name
    rendered = init.render()
    for key in config.SCHEMA:
        if key.levels != ("node",):
            assert f"({key.type_name}" in rendered, key.name
    cfg = tmp_path / "c.toml"
    cfg.write_text('[hubs.h]\n[nodes.C]\nhub = "h"\nhost = "local"\nroot = "/srv"\nport = "x"\n')
    with pytest.raises(config.ConfigError) as caught:
        config.load(cfg)
    assert caught.value.problem.startswith("must be an integer, got string")


def test_write_atomic_replaces_the_file_and_sets_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "out.txt"
    write_atomic(target, "grüezi\n", mode=0o640)
    assert target.read_text(encoding="utf-8") == "grüezi\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    with atomic_file(target, binary=True) as fh:
        fh.write(b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert os.listdir(target.parent) == ["out.txt"]  # no temporary file left


def test_a_failed_write_keeps_the_old_file_and_says_so(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old\n")
    with pytest.raises(WriteError, match="the previous file is unchanged"):
        write_atomic(target, "\udcff not encodable\n")
    assert target.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["out.txt"]
    with pytest.raises(RuntimeError), atomic_file(target) as fh:
        fh.write("half")
        raise RuntimeError("the caller failed half-way")
    assert target.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["out.txt"]
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(WriteError, match="cannot create"):
        write_atomic(blocker / "sub" / "x.txt", "x")
