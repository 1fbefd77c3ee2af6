"""The listing parser: NUL-separated ``size TAB mtime TAB path`` records -> backup records.

Property tests (hypothesis) over generated listings with hostile names, random
chunking and garbage, and the date-layout parser checked against
``datetime.strptime`` as an oracle, in UTC and across DST changes.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from sphinxcontrib_scmmonitor.collect.listing import (
    UNPARSED_SAMPLE,
    DateLayout,
    ListingParser,
    PathParser,
    display,
)
from sphinxcontrib_scmmonitor.store import Record

ROOT = b"/var/scm/backup/cms02"
LAYOUT = "%Y/%m/%d/%H%M%S"
ZURICH = ZoneInfo("Europe/Zurich")

FAST = settings(max_examples=800, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])
MEDIUM = settings(max_examples=500, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow])

# --- strategies ----------------------------------------------------------------------------------

HOSTILE = [b"\xff\xfe", b"env-\xc3(", b"a\tb", b"a\nb", b"a\r\nb", b"\t", b"\n", b"'\"",
           b"$(rm -rf ~)", b"`id`", b"; ls", b"<script>alert(1)<", b"&amp;", b"\x1b[31m",
           b"-rf", b" ", b"\\", b"%s%n", b"..", b".", b"\xe2\x80\xae"]


def _clean(raw: bytes) -> bytes:
    """A single path component: anything but '/' and NUL (what a file system allows)."""
    return raw.replace(b"/", b"_").replace(b"\0", b"_") or b"_"


component = st.one_of(st.sampled_from(HOSTILE),
                      st.binary(min_size=1, max_size=12).map(_clean))
series_st = st.lists(component, min_size=1, max_size=4).map(b"/".join)
moment = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2099, 12, 30))
sizes = st.integers(min_value=0, max_value=2**63 - 1)
mtimes = st.one_of(
    st.integers(0, 4 * 10**9).map(str),  # what SFTP and stat() give
    st.tuples(st.integers(0, 4 * 10**9), st.integers(0, 10**10 - 1))
    .map(lambda t: f"{t[0]}.{t[1]:010d}"),  # what GNU find's %T@ prints
)


@st.composite
def backup_files(draw: st.DrawFn) -> tuple[bytes, bytes, int, int, str]:
    """(path, series, backup_at, size, mtime text) of one dated backup file below ROOT."""
    series = draw(series_st)
    when = draw(moment).replace(microsecond=0)
    name = draw(component)
    path = ROOT + b"/" + series + b"/" + when.strftime(LAYOUT).encode() + b"/" + name
    return path, series, calendar.timegm(when.timetuple()), draw(sizes), draw(mtimes)


def listing_bytes(files: list[tuple[bytes, bytes, int, int, str]]) -> bytes:
    return b"".join(b"%d\t%s\t%s\0" % (size, mtime.encode(), path)
                    for path, _series, _at, size, mtime in files)


def parse_all(stream: bytes, chunks: list[int] | None = None, *, root: bytes = ROOT,
              layout: DateLayout | None = None) -> tuple[list[Record], ListingParser]:
    parser = ListingParser(root, layout or DateLayout(LAYOUT))
    cuts = sorted(set(chunks or []))
    pieces = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    records = [rec for piece in pieces for rec in parser.feed(piece)]
    parser.close()
    return records, parser


# --- listings round-trip -------------------------------------------------------------------------


@FAST
@given(st.lists(backup_files(), max_size=8))
def test_generated_listing_round_trips_exactly_into_records(files) -> None:
    records, parser = parse_all(listing_bytes(files))

    assert [(r.path, r.series, r.backup_at, r.size, r.mtime) for r in records] == [
        (path, series, at, size, float(int(mtime.split(".")[0])))
        for path, series, at, size, mtime in files]
    assert parser.stats.files_seen == len(files)
    assert parser.stats.unparsed == parser.stats.bad_records == 0
    assert not parser.stats.truncated


def test_hostile_names_are_kept_byte_for_byte() -> None:
    name = b"env-\xff\tname\n$(rm -rf x);<script>alert(1)<\\script>.tar.gz"
    path = ROOT + b"/repos/\xfe\"'/env/2012/11/13/161002/" + name
    records, parser = parse_all(b"12345678\t1352794202.5000000000\t" + path + b"\0")

    assert records == [Record(path=path, series=b"repos/\xfe\"'/env",
                              backup_at=calendar.timegm((2012, 11, 13, 16, 10, 2)),
                              size=12345678, mtime=1352794202.0)]  # whole seconds
    assert parser.stats.bad_records == 0


@MEDIUM
@given(files=st.lists(backup_files(), max_size=6),
       garbage=st.lists(st.binary(max_size=30), max_size=4),
       data=st.data())
def test_chunking_does_not_change_the_records(files, garbage, data) -> None:
    stream = listing_bytes(files) + b"".join(g + b"\0" for g in garbage)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=12), label="cuts")

    whole, whole_parser = parse_all(stream)
    split, split_parser = parse_all(stream, cuts)

    assert split == whole
    assert split_parser.stats == whole_parser.stats


def test_byte_by_byte_feeding_gives_the_same_records() -> None:
    files = [(ROOT + b"/svn/dybsvn/2012/11/%02d/010203/d\tb\n.gz" % day, b"svn/dybsvn",
              calendar.timegm((2012, 11, day, 1, 2, 3)), day * 1000, "1.5") for day in (1, 2)]
    stream = listing_bytes(files)
    records, _ = parse_all(stream, list(range(len(stream))))
    assert [r.backup_at for r in records] == [at for _p, _s, at, _z, _m in files]


@settings(max_examples=1500, deadline=None)
@given(st.binary(max_size=300))
@example(b"\0\0\0")
@example(b"12\t3\t")
@example(b"-1\t3\t/var/scm/backup/cms02/a/2012/11/13/161002/x\0")
@example(b"1\tnan\t/var/scm/backup/cms02/a/2012/11/13/161002/x\0")
@example(b"9" * 5000 + b"\t1\t/x\0")
def test_garbage_is_counted_never_raised(stream) -> None:
    records, parser = parse_all(stream)
    pieces = stream.split(b"\0")
    tail = pieces.pop()
    nonempty = [p for p in pieces if p] + ([tail] if tail else [])

    stats = parser.stats
    assert len(records) + stats.unparsed + stats.bad_records == len(nonempty)
    assert stats.truncated == bool(tail)


@pytest.mark.parametrize("raw", [
    b"12\t1352794202\n",                                    # no path field
    b"twelve\t1352794202\t/var/scm/backup/cms02/a/2012/11/13/161002/a.gz",
    b"12\tyesterday\t/var/scm/backup/cms02/a/2012/11/13/161002/a.gz",
    b"-12\t1352794202\t/var/scm/backup/cms02/a/2012/11/13/161002/a.gz",
    b"12\t1352794202\trelative/a/2012/11/13/161002/a.gz",
    b"12\tnan\t/var/scm/backup/cms02/a/2012/11/13/161002/a.gz",
    b"12\tinf\t/var/scm/backup/cms02/a/2012/11/13/161002/a.gz",
    b"%d\t1352794202\t/var/scm/backup/cms02/a/2012/11/13/161002/a.gz" % 2**63,
])
def test_malformed_record_is_a_bad_record_and_the_next_one_still_counts(raw) -> None:
    good = b"7\t1352794202\t/var/scm/backup/cms02/a/2012/11/13/161002/b.gz\0"
    records, parser = parse_all(raw + b"\0" + good)
    assert [r.path.rsplit(b"/", 1)[1] for r in records] == [b"b.gz"]
    assert parser.stats.bad_records == 1
    assert not parser.stats.truncated


def test_a_listing_cut_off_mid_record_is_truncated() -> None:
    good = b"7\t1352794202\t/var/scm/backup/cms02/a/2012/11/13/161002/b.gz\0"
    records, parser = parse_all(good + b"7\t13527")
    assert len(records) == 1
    assert parser.stats.truncated
    assert parser.stats.bad_records == 1


# --- where the date is, and where it is not ------------------------------------------------------


@pytest.mark.parametrize("series", [b"env", b"tracs/env", b"a/b/c", b"x/y/z/w"])
def test_series_may_have_one_to_four_components(series) -> None:
    path = ROOT + b"/" + series + b"/2012/11/13/161002/env.tar.gz"
    split = PathParser(ROOT, DateLayout(LAYOUT)).split(path)
    assert split == (series, calendar.timegm((2012, 11, 13, 16, 10, 2)))


@pytest.mark.parametrize("path", [
    ROOT + b"/stray.tar.gz",                                # no series, no date
    ROOT + b"/tracs/env/env.tar.gz",                        # no dated folders
    ROOT + b"/2012/11/13/161002/env.tar.gz",                # date but no series
    ROOT + b"/tracs/env/2012/11/13/env.tar.gz",             # date cut short
    ROOT + b"/tracs/env/2012/13/13/161002/env.tar.gz",      # month 13
    ROOT + b"/tracs/env/2013/02/29/161002/env.tar.gz",      # not a leap year
    ROOT + b"/tracs/env/2012/11/13/246000/env.tar.gz",      # hour 24
    ROOT + b"/tracs/\xff\n/last/env\t\x1b[2J.tar.gz",          # hostile and undated
    b"/elsewhere/tracs/env/2012/11/13/161002/env.tar.gz",   # outside the root
])
def test_file_without_a_date_part_is_unparsed_with_a_printable_sample(path) -> None:
    records, parser = parse_all(b"10\t1\t" + path + b"\0")
    assert records == []
    assert parser.stats.unparsed == 1
    assert parser.stats.bad_records == 0
    [sample] = parser.stats.unparsed_sample
    assert sample.isprintable()


@FAST
@given(st.binary(min_size=1, max_size=60).map(lambda b: b.replace(b"\0", b"")))
def test_unparsed_samples_are_always_printable_and_name_the_file(name) -> None:
    assume(name)
    parser = ListingParser(ROOT, DateLayout(LAYOUT))
    parser.stats.note_unparsed(ROOT + b"/" + name)
    [sample] = parser.stats.unparsed_sample
    assert sample.isprintable()
    assert sample.startswith(ROOT.decode())


def test_unparsed_sample_is_bounded_but_the_count_is_not() -> None:
    stream = b"".join(b"1\t1\t%s/stray-%d.gz\0" % (ROOT, i) for i in range(500))
    _, parser = parse_all(stream)
    assert parser.stats.unparsed == 500
    assert len(parser.stats.unparsed_sample) == UNPARSED_SAMPLE


def test_display_never_raises_and_shows_undecodable_bytes() -> None:
    assert display(b"env-\xff.gz") == "env-\\xff.gz"
    assert display("grüezi".encode()) == "grüezi"


# --- the date layout against strptime ------------------------------------------------------------

FAST_LAYOUTS = ["%Y/%m/%d/%H%M%S", "%Y-%m-%d_%H%M", "%Y%m%d", "%Y/%m/%d", "%Y%m%d%H%M%S",
                "%d.%m.%Y/%H-%M-%S", "%Y/%m/%d/%H%M%S%%", "%Y/T%H%M"]


def oracle(text: str, layout: str, zone: str = "UTC") -> int | None:
    try:
        dt = datetime.strptime(text, layout)
    except ValueError:
        return None
    return int(dt.replace(tzinfo=ZoneInfo(zone)).timestamp())


def _field(draw: st.DrawFn, directive: str) -> str:
    hi = {"Y": 9999, "m": 13, "d": 32, "H": 24, "M": 60, "S": 61}[directive]
    value = draw(st.one_of(st.integers(0, hi), st.sampled_from([0, 1, 9, 10, 12, 29, 31, 59])))
    width = 4 if directive == "Y" else 2
    style = draw(st.sampled_from(["pad", "bare", "space", "wide"]))
    if style == "pad":
        return str(value).zfill(width)
    if style == "space" and directive == "d":
        return str(value).rjust(2)
    if style == "wide":
        return str(value).zfill(width + 1)
    return str(value)


@st.composite
def layout_texts(draw: st.DrawFn) -> tuple[str, str]:
    """A fast layout and a text for it: valid dates, edge values, near misses, noise."""
    layout = draw(st.sampled_from(FAST_LAYOUTS))
    kind = draw(st.sampled_from(["valid", "fields", "noise"]))
    if kind == "valid":
        dt = draw(st.one_of(
            st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31)),
            st.sampled_from([datetime(2012, 2, 29, 23, 59, 59), datetime(2000, 2, 29),
                             datetime(1999, 12, 31, 23, 59, 59), datetime(2024, 1, 1, 0, 0, 0),
                             datetime(2012, 3, 1, 1, 2, 3), datetime(2012, 10, 28, 2, 30, 0)])))
        return layout, dt.strftime(layout)
    if kind == "fields":
        out, i = [], 0
        while i < len(layout):
            if layout[i] == "%":
                d = layout[i + 1]
                out.append("%" if d == "%" else _field(draw, d))
                i += 2
            else:
                out.append(layout[i])
                i += 1
        return layout, "".join(out)
    return layout, draw(st.text(alphabet="0123456789/-_.:%T t", max_size=20))


@settings(max_examples=2500, deadline=None)
@given(layout_texts())
@example(("%Y/%m/%d/%H%M%S", "2012/02/29/235959"))
@example(("%Y/%m/%d/%H%M%S", "2013/02/29/235959"))
@example(("%Y/%m/%d/%H%M%S", "2012/1/2/345"))
@example(("%Y/%m/%d/%H%M%S", "2012/11/13/2460"))      # strptime reads 02:46:00
@example(("%Y%m%d", "2012131"))                        # strptime reads January 31
@example(("%Y/%m/%d", "2012/11/ 5"))                   # %d takes a leading space
@example(("%Y/T%H%M", "2012/t1200"))                   # literals match any case
@example(("%Y/%m/%d/%H%M%S", "2012/11/13/166060"))
def test_fast_date_layout_equals_strptime(case) -> None:
    layout, text = case
    parser = DateLayout(layout)
    assert parser._fast is not None, "this layout should take the fast path"
    assert parser.parse(text.encode("ascii")) == oracle(text, layout)


@MEDIUM
@given(layout_texts())
def test_fast_date_layout_equals_strptime_in_a_zone_with_dst(case) -> None:
    layout, text = case
    assert DateLayout(layout, "Europe/Zurich").parse(text.encode()) == \
        oracle(text, layout, "Europe/Zurich")


@pytest.mark.parametrize(("layout", "text", "expected"), [
    ("%Y-%m-%d_%H%M", "2012-11-13_1610", datetime(2012, 11, 13, 16, 10, tzinfo=UTC)),
    ("%y%m%d", "121113", datetime(2012, 11, 13, tzinfo=UTC)),
    ("%d-%b-%Y", "13-Nov-2012", datetime(2012, 11, 13, tzinfo=UTC)),
    ("%Y/%j", "2012/318", datetime(2012, 11, 13, tzinfo=UTC)),
    ("%Y %m %d", "2012 11 13", datetime(2012, 11, 13, tzinfo=UTC)),
])
def test_other_layouts_work(layout, text, expected) -> None:
    assert DateLayout(layout).parse(text.encode()) == int(expected.timestamp())


def test_non_fast_layout_goes_through_strptime_and_rejects_nonsense() -> None:
    parser = DateLayout("%d-%b-%Y")
    assert parser._fast is None
    assert parser.parse(b"31-Feb-2012") is None
    assert parser.parse(b"13-Nov-2012\n") is None
    assert parser.parse(b"13-\xff-2012") is None


@pytest.mark.parametrize("series", [b"a", b"a/b/c/d"])
def test_non_fast_layout_with_several_folders_splits_paths(series) -> None:
    layout = DateLayout("%Y-%m-%d_%H%M/%S")
    path = ROOT + b"/" + series + b"/2012-11-13_1610/02/x.gz"
    assert PathParser(ROOT, layout).split(path) == (
        series, calendar.timegm((2012, 11, 13, 16, 10, 2)))


@MEDIUM
@given(st.binary(max_size=24))
def test_date_parser_never_raises_on_bytes(text) -> None:
    for layout in ("%Y/%m/%d/%H%M%S", "%d-%b-%Y", "%Y/%j"):
        value = DateLayout(layout, "Europe/Zurich").parse(text)
        assert value is None or isinstance(value, int)


# --- time zones ----------------------------------------------------------------------------------


def zurich_path(local: str) -> bytes:
    return ROOT + b"/tracs/env/" + local.encode() + b"/env.tar.gz"


@pytest.mark.parametrize(("local", "utc"), [
    ("2012/11/13/161002", datetime(2012, 11, 13, 15, 10, 2, tzinfo=UTC)),   # CET, +1
    ("2012/07/01/120000", datetime(2012, 7, 1, 10, 0, 0, tzinfo=UTC)),      # CEST, +2
    # spring forward, 2012-03-25 02:00 CET -> 03:00 CEST
    ("2012/03/25/015959", datetime(2012, 3, 25, 0, 59, 59, tzinfo=UTC)),
    ("2012/03/25/030000", datetime(2012, 3, 25, 1, 0, 0, tzinfo=UTC)),
    # autumn, 2012-10-28 03:00 CEST -> 02:00 CET: 02:xx happens twice
    ("2012/10/28/015959", datetime(2012, 10, 27, 23, 59, 59, tzinfo=UTC)),
    ("2012/10/28/023000", datetime(2012, 10, 28, 0, 30, 0, tzinfo=UTC)),     # first 02:30
    ("2012/10/28/030000", datetime(2012, 10, 28, 2, 0, 0, tzinfo=UTC)),
])
def test_path_time_in_zurich_becomes_the_right_utc_epoch(local, utc) -> None:
    split = PathParser(ROOT, DateLayout(LAYOUT, "Europe/Zurich")).split(zurich_path(local))
    assert split == (b"tracs/env", int(utc.timestamp()))


def test_repeated_autumn_hour_reads_as_its_first_occurrence() -> None:
    layout = DateLayout(LAYOUT, "Europe/Zurich")
    first = layout.parse(b"2012/10/28/023000")
    before = layout.parse(b"2012/10/28/015959")
    after = layout.parse(b"2012/10/28/030000")
    assert before < first < after
    assert first == int(datetime(2012, 10, 28, 0, 30, tzinfo=UTC).timestamp())
    assert after - first == 5400  # 02:30 CEST -> 03:00 CET is an hour and a half


def test_skipped_spring_hour_does_not_crash_and_keeps_order() -> None:
    layout = DateLayout(LAYOUT, "Europe/Zurich")
    skipped = [layout.parse(b"2012/03/25/02%02d00" % m) for m in range(0, 60, 15)]
    assert all(isinstance(v, int) for v in skipped)
    assert skipped == sorted(skipped)
    # read with the offset before the change (+1), as fold=0 does
    assert skipped[0] == int(datetime(2012, 3, 25, 1, 0, tzinfo=UTC).timestamp())


@MEDIUM
@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2090, 1, 1),
                    timezones=st.just(ZURICH)))
def test_unambiguous_zurich_times_convert_exactly(aware) -> None:
    aware = aware.replace(microsecond=0)
    local = aware.replace(tzinfo=None)
    # skip the skipped and repeated hours: their reading is pinned above
    assume(local.replace(tzinfo=ZURICH, fold=0).utcoffset()
           == local.replace(tzinfo=ZURICH, fold=1).utcoffset())
    roundtrip = datetime.fromtimestamp(int(aware.timestamp()), ZURICH).replace(tzinfo=None)
    assume(roundtrip == local)
    parsed = DateLayout(LAYOUT, "Europe/Zurich").parse(local.strftime(LAYOUT).encode())
    assert parsed == int(aware.timestamp())


def test_utc_layout_agrees_with_calendar_timegm_over_a_century() -> None:
    layout = DateLayout(LAYOUT)
    start = datetime(1970, 1, 1, 0, 0, 0)
    for days in range(0, 365 * 100, 97):
        dt = start + timedelta(days=days, seconds=days * 37 % 86400)
        assert layout.parse(dt.strftime(LAYOUT).encode()) == calendar.timegm(dt.timetuple())


BERLIN = "Europe/Berlin"


def test_spring_forward_folders_either_side_of_the_gap_stay_two_backups() -> None:
    """2026-03-29 in Berlin: 02:00 CET jumps to 03:00 CEST, so 02:30 never happens. Read
    with the old offset it would be 01:30 UTC, the same instant as 03:30 CEST."""
    layout = DateLayout(LAYOUT, BERLIN)
    before = layout.parse(b"2026/03/29/015959")
    skipped = layout.parse(b"2026/03/29/023000")
    after = layout.parse(b"2026/03/29/033000")
    jump = int(datetime(2026, 3, 29, 1, 0, tzinfo=UTC).timestamp())  # 03:00 CEST

    assert skipped == jump  # the instant the clocks jumped
    assert after == jump + 1800
    assert before < skipped < after
    # the whole skipped hour: never earlier than what came before, never past 03:00:00
    hour = [layout.parse(b"2026/03/29/02%02d%02d" % (m, s)) for m in range(60) for s in (0, 59)]
    assert set(hour) == {jump}


def test_fall_back_times_stay_distinct_and_ordered() -> None:
    """2026-10-25 in Berlin: 02:00-02:59 happens twice; each folder keeps its own time."""
    layout = DateLayout(LAYOUT, BERLIN)
    times = [layout.parse(b"2026/10/25/%s" % t)
             for t in (b"015959", b"020000", b"021500", b"024500", b"025959", b"030000")]

    assert times == sorted(set(times))  # strictly ascending: none merged
    assert times[1] == int(datetime(2026, 10, 25, 0, 0, tzinfo=UTC).timestamp())  # CEST
    assert times[-1] == int(datetime(2026, 10, 25, 2, 0, tzinfo=UTC).timestamp())  # CET


@pytest.mark.parametrize(("text", "seconds"), [
    (b"1352794202.9999999999", 1352794202),  # a float would round this up to ...203
    (b"1352794202.0000000000", 1352794202),
    (b"1352794202", 1352794202),
    (b"0.5", 0),
    (b"-1.5000000000", -2),  # before 1970: stat() floors
])
def test_find_mtimes_are_whole_seconds_the_way_stat_and_sftp_give_them(text, seconds) -> None:
    path = ROOT + b"/s/2012/11/13/161002/f.gz"
    records, _parser = parse_all(b"5\t" + text + b"\t" + path + b"\0")
    assert [r.mtime for r in records] == [float(seconds)]
