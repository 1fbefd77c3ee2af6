"""Heavy fuzzing of everything that reads outside input: thousands of examples per property.

What a backup node sends (listing bytes, folder names read as dates), what an operator
writes (the config), and what reaches a browser (the exported JSON) are each fed
hostile and random input here; test_listing.py, test_config.py and test_export.py hold
the smaller, example-driven property tests. The example counts are set so that the
whole file runs in well under a minute on two cores.
"""

from __future__ import annotations

import calendar
import itertools
import json
import math
import socket
from datetime import datetime
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sphinxcontrib_scmmonitor import config, export
from sphinxcontrib_scmmonitor.checks import check_node
from sphinxcontrib_scmmonitor.collect.listing import DateLayout, ListingParser
from sphinxcontrib_scmmonitor.config import ConfigError, Settings
from sphinxcontrib_scmmonitor.store import BackupFile, NodeData, RunInfo, SeriesData

HEAVY = settings(max_examples=4000, deadline=None, suppress_health_check=list(HealthCheck))
MEDIUM = settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck))
LIGHT = settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))

ROOT = b"/var/scm/backup/cms02"
LAYOUT = "%Y/%m/%d/%H%M%S"

# --- the listing parser -------------------------------------------------------------------------

#: pieces a listing is made of, so random soup often forms (almost) valid records
TOKENS = [b"\0", b"\t", b"/", ROOT, ROOT + b"/", b"repos/env/", b"2012/11/13/161002/",
          b"2012/13/40/999999/", b"env.tar.gz", b"123", b"-1", b"1352794202.5000000000",
          b"nan", b"inf", b"1e400", b"99999999999999999999", b"\xff\xfe", b"\n", b"$(id)",
          b"<script>", b" ", b"0", b"0x10", b"1_000"]
soup = st.lists(st.one_of(st.sampled_from(TOKENS), st.binary(max_size=12)), max_size=40)


def _records_in(stream: bytes) -> list[bytes]:
    """The NUL-terminated, non-empty raw records of a stream (what the parser must judge)."""
    return [raw for raw in stream.split(b"\0")[:-1] if raw]


def _parse(stream: bytes, cuts: list[int]) -> tuple[list[Any], ListingParser]:
    parser = ListingParser(ROOT, DateLayout(LAYOUT))
    bounds = sorted(set(cuts))
    pieces = [stream[a:b] for a, b in zip([0, *bounds], [*bounds, len(stream)], strict=True)]
    records = [rec for piece in pieces for rec in parser.feed(piece)]
    parser.close()
    return records, parser


@HEAVY
@given(parts=soup, data=st.data())
@example(parts=[b"5\t1.0\t" + ROOT + b"/s/2012/11/13/161002/a.gz", b"\0", b"7\t2"], data=None)
def test_any_bytes_in_any_chunks_never_raise_and_every_record_is_accounted_for(parts,
                                                                              data) -> None:
    stream = b"".join(parts)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=10)) if data else []

    records, parser = _parse(stream, cuts)

    raws = _records_in(stream)
    fields = [raw.split(b"\t", 2) for raw in raws]
    # a record's path is exactly the third field of one raw record of the input, and its
    # size and mtime are what that record said: nothing made up, nothing merged
    by_path = {f[2]: f for f in fields if len(f) == 3}
    for rec in records:
        size_b, mtime_b, path = by_path[rec.path]
        # mtimes in whole seconds, floored as stat() does (docs/configuration.rst)
        assert rec.size == int(size_b) and rec.mtime == math.floor(Decimal(mtime_b.decode()))
        assert path.startswith(ROOT + b"/") and 0 <= rec.size < 2**63
        assert math.isfinite(rec.mtime)
    stats = parser.stats
    # every complete record is either a file seen (dated or not) or a bad one, once
    assert stats.files_seen + stats.bad_records - stats.truncated == len(raws)
    assert stats.unparsed == stats.files_seen - len(records)
    assert stats.truncated == (not stream.endswith(b"\0") and bool(stream.split(b"\0")[-1]))
    # and how the bytes arrived does not matter
    whole, whole_parser = _parse(stream, [])
    assert records == whole and stats == whole_parser.stats


# --- the date layout: DateLayout.parse against datetime.strptime ----------------------------------

DIRECTIVES = ["%Y", "%m", "%d", "%H", "%M", "%S"]
#: mostly the directives the fast path handles; a few it leaves to strptime
OTHER = ["%y", "%j", "%b", "%p", "%I", "%%", "%a"]
SEPARATORS = ["", "", "/", "-", "_", "T", ".", ":", "x", "/backup-"]


@st.composite
def layouts(draw: st.DrawFn) -> str:
    chosen = draw(st.lists(st.sampled_from(DIRECTIVES), min_size=1, max_size=6, unique=True))
    if draw(st.integers(0, 9)) == 0:
        chosen.append(draw(st.sampled_from(OTHER)))
    if not {"%Y", "%y"} & set(chosen):  # the config refuses a layout without a year
        chosen.insert(draw(st.integers(0, len(chosen))), "%Y")
    out = ""
    for d in chosen:
        out += draw(st.sampled_from(SEPARATORS)) + d
    return out + draw(st.sampled_from(["", "", "Z", "/"]))


moments = st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31))
DATE_CHARS = "0123456789/-_T.:xZ bakcupJANjan"


@st.composite
def texts_for(draw: st.DrawFn, layout: str) -> str:
    """A text a node may hold for ``layout``: a real timestamp, one bent a little, or junk."""
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.text(DATE_CHARS, max_size=22))
    text = draw(moments).strftime(layout)
    if kind == 1:  # unpadded or space-padded numbers, as some scripts write them
        text = text.replace("/0", "/").replace("-0", "- ")
    elif kind == 2 and text:
        i = draw(st.integers(0, len(text) - 1))
        text = text[:i] + draw(st.text(DATE_CHARS, max_size=2)) + text[i + 1:]
    return text


ZONES = ["UTC", "Europe/Zurich", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]


@settings(max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data(), zone=st.sampled_from(ZONES))
@example(data=None, zone="UTC")
def test_date_layout_reads_exactly_what_strptime_reads(data, zone) -> None:
    if data is None:  # the default layout, an ambiguous unpadded reading
        layout, text = LAYOUT, "2012/1/13/2460"
    else:
        layout = data.draw(layouts(), label="layout")
        text = data.draw(texts_for(layout), label="text")
    try:
        parsed = datetime.strptime(text, layout)
    except ValueError:
        expected = None
    else:
        expected = (calendar.timegm(parsed.timetuple()) if zone == "UTC"
                    else int(parsed.replace(tzinfo=ZoneInfo(zone)).timestamp()))

    reader = DateLayout(layout, zone)
    assert reader.parse(text.encode("ascii")) == expected
    assert reader.parse(text.encode("ascii")) == expected  # and again, from the cache


@MEDIUM
@given(raw=st.binary(max_size=20), layout=layouts())
def test_date_layout_never_raises_on_bytes_from_a_node(raw, layout) -> None:
    value = DateLayout(layout).parse(raw)
    assert value is None or isinstance(value, int)


# --- the config loader ----------------------------------------------------------------------------

KEY_NAMES = [k.name for k in config.SCHEMA] + ["defaults", "hubs", "nodes", "Pattern",
                                                "max_age_hour", ""]
toml_scalars = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=12),
    st.sampled_from(["local", "/srv", "UTC", "Europe/Zurich", "%Y/%m/%d", "*.gz", "a:25",
                     "~/k", "sqlite:///x.db", "postgresql+psycopg://u:p@h/d", "..", "a/b"]),
    st.integers(-2**63, 2**63 - 1), st.floats(), st.booleans(),
    st.datetimes(), st.dates(), st.times())
toml_values = st.recursive(
    toml_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(KEY_NAMES) | st.text(max_size=6),
                                            inner, max_size=4)),
    max_leaves=12)


@st.composite
def config_documents(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly-shaped documents (so validation gets deep) with junk anywhere."""
    doc: dict[str, Any] = draw(st.dictionaries(st.sampled_from(KEY_NAMES), toml_values,
                                               max_size=3))
    if draw(st.booleans()):
        doc["hubs"] = {h: draw(st.dictionaries(st.sampled_from(KEY_NAMES), toml_scalars,
                                               max_size=3))
                       for h in draw(st.lists(st.sampled_from(["h", "cms02", "x"]),
                                              max_size=2, unique=True))}
    if draw(st.booleans()):
        nodes = {}
        for name in draw(st.lists(st.sampled_from(["C", "H1", "a/b", "..", "-x", "n.1"])
                                  | st.text(max_size=5), max_size=3, unique=True)):
            table = {"hub": draw(st.sampled_from(["h", "cms02", "nope"])),
                     "host": "local", "root": draw(st.sampled_from(["/srv", "rel", "/"]))}
            table.update(draw(st.dictionaries(st.sampled_from(KEY_NAMES), toml_scalars,
                                              max_size=3)))
            nodes[name] = table
        doc["nodes"] = nodes
    return doc


FLOAT_KEYS = [k.name for k in config.SCHEMA if k.kind == "float"]


@settings(max_examples=2500, deadline=None, suppress_health_check=list(HealthCheck))
@given(doc=config_documents())
@example(doc={"hubs": {"h": {}}, "nodes": {"C": {"hub": "h", "host": "local", "root": "/srv",
                                                 "connect_timeout": math.inf}}})
@example(doc={"defaults": {"command_timeout": 1e300, "max_age_hours": math.inf},
              "hubs": {"h": {}}, "nodes": {"C": {"hub": "h", "host": "local", "root": "/"}}})
def test_any_config_document_is_settings_or_one_config_error(doc) -> None:
    try:
        result = config.parse(doc)
    except ConfigError as exc:
        assert exc.problem and str(exc).startswith("configuration")
        return
    assert isinstance(result, Settings)
    for node in result.nodes.values():
        assert config.NODE_NAME_RE.match(node.name) and node.root.startswith("/")
        for key in FLOAT_KEYS:
            assert math.isfinite(getattr(node, key)), key
        # a timeout the loader accepts is one the network code can use
        for timeout in (node.connect_timeout, node.command_timeout):
            with socket.socket() as sock:
                sock.settimeout(timeout)


# --- the JSON export --------------------------------------------------------------------------

hostile_text = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=16),
    st.sampled_from(["</script>", "<!--", "]]>", "<script>alert(1)</script>", "&amp;",
                     "\u2028\u2029", "x\"y'z", "\\", "</SCRIPT >", "<\\/script>", "\x00\x1b"]))
backups = st.lists(st.tuples(st.integers(0, 2**33), st.integers(0, 2**63 - 1),
                             st.one_of(st.none(), st.integers(0, 2**33))), max_size=15)
runs_st = st.lists(st.builds(
    lambda start, dur, state, error, method: RunInfo(
        start, None if state == "running" else start + dur, state,
        None if state == "ok" else error, method, 0, 0),
    st.floats(0, 4e9, allow_nan=False), st.floats(0, 1e5, allow_nan=False),
    st.sampled_from(["ok", "failed", "interrupted", "running"]), hostile_text,
    st.sampled_from([None, "find", "sftp", "local"])), max_size=6)


class _ScriptData(HTMLParser):
    """What a browser's HTML parser puts inside a <script> element."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.data: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.inside = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self.tags.append("/" + tag)
        self.inside = False

    def handle_data(self, data: str) -> None:
        if self.inside:
            self.data.append(data)


@LIGHT
@given(series=st.dictionaries(hostile_text, backups, max_size=5),
       select=st.lists(hostile_text, max_size=3), runs=runs_st,
       now=st.floats(1e9, 4e9, allow_nan=False))
def test_export_round_trips_everything_ascending_and_never_breaks_out_of_html(
        series, select, runs, now) -> None:
    node = config.parse({"hubs": {"cms02": {}}, "nodes": {"C": {
        "hub": "cms02", "host": "local", "root": "/b", "select": select}}}).node("C")
    data = NodeData(name="C", hub="cms02", runs=sorted(runs, key=lambda r: r.started_at),
                    series=[SeriesData(name=name, raw_name=name.encode(),
                                       backups=[BackupFile(*x) for x in
                                                sorted(b, key=lambda x: x[0])])
                            for name, b in sorted(series.items())])
    doc = export.node_document(node, data, check_node(node, data, now), now)

    text = export.dumps(doc)

    assert text.isascii()
    assert not any(ch in text for ch in "<>&")  # so "</script" or "<!--" cannot occur
    assert json.loads(text) == json.loads(json.dumps(doc))  # the escaping changes nothing
    back = json.loads(text)
    names = [s["name"] for s in back["series"]]
    assert sorted(names[:len(series)]) == sorted(series)
    # a selected series absent from the node is reported, once a listing could tell
    listed = any(r.state == "ok" for r in runs)
    missing = {name.strip("/") for name in select} - set(series) if listed else set()
    assert set(names) == set(series) | missing and len(names) == len(set(names))
    for out in back["series"]:
        times = export.undelta(out["t"])
        if out["name"] not in series:
            assert times == [] and "missing" in [r["reason"] for r in out["reasons"]]
            continue
        sums: dict[int, int] = {}
        for at, size, _gone in series[out["name"]]:
            sums[at] = sums.get(at, 0) + size
        # all in, summed per backup time (data format 2: delta-coded seconds)
        assert list(zip(times, export.undelta(out["size"]), strict=True)) == sorted(sums.items())
        assert len(export.undelta(out["count"])) == len(times)
        assert all(a < b for a, b in itertools.pairwise(times))  # strictly ascending
    assert all(r["error"] is None or isinstance(r["error"], str) for r in back["runs"])
    # inlined in a page, the whole document stays one script element's text
    page = _ScriptData()
    page.feed(f'<script type="application/json" id="d">{text}</script><p>after</p>')
    page.close()
    assert page.tags == ["script", "/script", "p", "/p"]
    assert "".join(page.data) == text
