"""Each series against its own past: shrunk, grew, gap and retention (checks/history.py)."""

from __future__ import annotations

import itertools
import statistics
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sphinxcontrib_scmmonitor.checks import human_size
from sphinxcontrib_scmmonitor.checks.history import (
    MIN_INTERVALS,
    check_history,
    gaps,
    retention,
    size_against_history,
)
from sphinxcontrib_scmmonitor.checks.reasons import WARN
from tests.backup_nights import (
    DAY,
    END,
    HOUR,
    MB,
    ZONE,
    Backup,
    Timeline,
    berlin,
    findings,
    healthy_year,
    observe_all,
    reasons,
    three_nodes,
    with_node,
)

# --- a healthy year: nothing to report on any listing --------------------------------------------


def listings_of_the_year() -> list[int]:
    """Every third day at 13:00 Berlin (with gap_days = 3 every interval is judged once), and
    every hour of each 2026 clock-change night and the morning after, while backups come in
    and travel to the copies."""
    days = [berlin((datetime(2025, 12, 8) + timedelta(days=n)).date().isoformat(), 13)
            for n in range(0, 358, 3)]
    dst = [berlin(night, 0) + h * HOUR for night in ("2026-03-29", "2026-10-25")
           for h in range(12)]
    return sorted({*days, *dst, END})


def test_a_healthy_year_has_no_finding_on_any_listing() -> None:
    # 20 daily series started at 03:10 +- 2 h Berlin time through both DST changes, a weekly
    # one, one three days old, on the source and two copies (C keeping twice the history)
    hub = healthy_year()
    timelines = [Timeline(hub, node) for node in three_nodes()]
    for at in listings_of_the_year():
        assert findings(t.at(at) for t in timelines) == {}, datetime.fromtimestamp(at)


def test_the_healthy_year_is_the_case_the_docs_describe() -> None:
    # the fixture really has what the zero above claims: jitter that crosses hours, the
    # 23 h and 25 h nights, a weekly and a young series, gone history on every node
    hub = healthy_year()
    times = [b.at for b in hub.series[b"svn/repo00"]]
    intervals_h = [(b - a) / HOUR for a, b in itertools.pairwise(times)]
    assert min(intervals_h) < 21 and max(intervals_h) > 27
    berlin_zone = ZoneInfo(ZONE)
    local = [datetime.fromtimestamp(b.at, berlin_zone) for b in hub.series[b"svn/repo00"]]
    assert len(local) == 365
    assert {t.utcoffset() for t in local} == {timedelta(hours=1), timedelta(hours=2)}
    assert {t.hour for t in local} == {1, 2, 3, 4, 5}
    assert {len(b.files) for b in hub.series[b"tracs/trac00"]} == {2}
    source, copy, _ = observe_all(hub, three_nodes())
    by_name = {s.name: s for s in source.series}
    assert len(by_name["repos/weekly"].totals(present_only=True)) == 30
    assert len(by_name["repos/new"].totals()) == 3
    assert len(by_name["svn/repo00"].totals()) == 365
    assert len({s.name: s for s in copy.series}["svn/repo00"].totals(present_only=True)) == 60


# --- planted faults, each giving exactly its reason ----------------------------------------------


def test_the_hub_skipping_a_night_is_a_gap_on_the_source_naming_the_day() -> None:
    hub = healthy_year()
    skipped = hub.at(b"svn/repo03", "2026-11-28")
    hub.series[b"svn/repo03"].remove(skipped)

    found = reasons(observe_all(hub, three_nodes()))

    # the copies miss the same night, but nothing was there to copy: the source's finding
    assert {n: {s: [r.reason for r in rs] for s, rs in v.items()} for n, v in found.items()
            if v} == {"S": {"svn/repo03": ["gap"]}}
    (gap,) = found["S"]["svn/repo03"]
    assert gap.level == WARN
    assert gap.detail.startswith("no backup on 2026-11-28 (Europe/Berlin): ")
    assert "the usual interval is 24 h" in gap.detail
    before = hub.at(b"svn/repo03", "2026-11-27").at
    after = hub.at(b"svn/repo03", "2026-11-29").at
    assert gap.at == (before, after)


def test_a_gap_is_reported_for_gap_days_then_no_more() -> None:
    hub = healthy_year()
    hub.series[b"svn/repo03"].remove(hub.at(b"svn/repo03", "2026-11-24"))
    source = three_nodes()[0]
    timeline = Timeline(hub, source)
    # the backup after the gap came on the 25th at about 03:10; gap_days = 3
    assert findings([timeline.at(berlin("2026-11-25", 13))]) == {"S": {"svn/repo03": ["gap"]}}
    assert findings([timeline.at(berlin("2026-11-27", 13))]) == {"S": {"svn/repo03": ["gap"]}}
    assert findings([timeline.at(berlin("2026-11-28", 13))]) == {}


def test_a_missed_week_of_a_weekly_series_is_a_gap() -> None:
    hub = healthy_year()
    weekly = hub.series[b"repos/weekly"]
    missed = weekly.pop(-2)
    found = reasons([Timeline(hub, three_nodes()[0]).at(weekly[-1].written + HOUR)])
    (gap,) = found["S"]["repos/weekly"]
    assert gap.reason == "gap"
    day = datetime.fromtimestamp(missed.at, ZoneInfo(ZONE))
    assert gap.detail.startswith(f"no backup on {day:%Y-%m-%d} (Europe/Berlin): 14 d between")
    assert "the usual interval is 7 d" in gap.detail


def test_a_size_jump_of_10x_is_grew_on_every_node_holding_it() -> None:
    hub = healthy_year()
    newest = hub.series[b"svn/repo04"][-1]
    newest.files = {name: size * 10 for name, size in newest.files.items()}
    newest.content = {name: text + "+40 GB binary" for name, text in newest.content.items()}

    found = reasons(observe_all(hub, three_nodes()))

    assert {n: {s: [r.reason for r in rs] for s, rs in v.items()}
            for n, v in found.items()} == {n: {"svn/repo04": ["grew"]} for n in ("S", "C", "H1")}
    (grew,) = found["S"]["svn/repo04"]
    assert (grew.level, grew.at) == (WARN, (newest.at,))
    before = statistics.median(sum(b.files.values()) for b in hub.series[b"svn/repo04"][-8:-1])
    ratio = sum(newest.files.values()) / before
    assert 9 < ratio < 11
    assert grew.detail.startswith(f"newest backup is {ratio:.1f}x the median ")
    assert grew.detail.endswith(
        f" of the 7 before it ({human_size(sum(newest.files.values()))}, limit 4x)")


def test_a_slow_decline_is_shrunk_against_the_median_though_no_night_halved() -> None:
    hub = healthy_year()
    backups = hub.series[b"tracs/trac02"]
    for n, backup in enumerate(backups[-8:], start=1):
        backup.files = {name: int(size * 0.8**n) for name, size in backup.files.items()}
    # every night is 80 % of the one before: far above min_size_ratio = 0.5 pairwise
    totals = [sum(b.files.values()) for b in backups[-9:]]
    assert all(b / a > 0.75 for a, b in itertools.pairwise(totals))

    found = findings(observe_all(hub, three_nodes()))

    assert found == {n: {"tracs/trac02": ["shrunk"]} for n in ("S", "C", "H1")}


def test_a_purge_that_stopped_is_retention_on_that_node_only() -> None:
    hub = healthy_year()
    source, copy, other = three_nodes()
    source = with_node(source, keep_of={b"svn/repo05": 40})
    found = reasons(observe_all(hub, [source, copy, other]))
    assert {n: v for n, v in found.items() if v}.keys() == {"S"}
    (reason,) = found["S"]["svn/repo05"]
    assert reason.reason == "retention"
    assert reason.detail == ("40 backups on the node, more than keep_max = 31 "
                             "(a purge that stopped?)")


def test_a_purge_that_ran_wild_is_retention_on_that_node_only() -> None:
    hub = healthy_year()
    source, copy, other = three_nodes()
    other = with_node(other, keep_of={b"svn/repo06": 2})
    found = reasons(observe_all(hub, [source, copy, other]))
    assert {n: {s: [r.reason for r in rs] for s, rs in v.items()}
            for n, v in found.items() if v} == {"H1": {"svn/repo06": ["retention"]}}
    assert "2 backups on the node, fewer than keep_min = 30" in found["H1"]["svn/repo06"][0].detail


# --- the gap rule --------------------------------------------------------------------------------


def daily_utc(first: int, count: int, *, skip: tuple[int, ...] = (), every: int = DAY
              ) -> list[tuple[int, int]]:
    return [(first + i * every, 1000) for i in range(count) if i not in skip]


FIRST = berlin("2026-11-01")


@pytest.mark.parametrize(("count", "judged"), [(MIN_INTERVALS + 1, False),
                                               (MIN_INTERVALS + 2, True)])
def test_a_series_younger_than_four_intervals_has_no_rhythm_to_miss(count: int,
                                                                   judged: bool) -> None:
    # one night missing leaves count - 2 intervals
    backups = daily_utc(FIRST, count, skip=(count - 2,))
    found = gaps(backups, observed_at=backups[-1][0] + HOUR, gap_days=3, timezone=ZONE)
    assert [r.reason for r in found] == (["gap"] if judged else [])


def test_reruns_soon_after_a_backup_are_not_the_rhythm() -> None:
    # nightly, and twice someone ran the job again by hand half an hour later
    nightly = daily_utc(FIRST, 3)
    backups = sorted([*nightly, (nightly[-1][0] + 1800, 1000), (nightly[-1][0] + 2400, 1000),
                      (nightly[-1][0] + DAY, 1000)])
    # four intervals, two of them reruns: too few nights left to know the rhythm
    assert gaps(backups, observed_at=backups[-1][0], gap_days=3, timezone=ZONE) == []
    # with a longer history the reruns do not halve the usual interval either
    longer = sorted([*daily_utc(FIRST, 12), (FIRST + 9 * DAY + 1800, 1),
                     (FIRST + 10 * DAY + 1800, 1), (FIRST + 11 * DAY + 1800, 1)])
    assert gaps(longer, observed_at=longer[-1][0], gap_days=3, timezone=ZONE) == []


def test_two_backups_a_night_miss_a_night_only_when_both_are_missed() -> None:
    # 03:10 and 05:10 every night: intervals of 2 h and 22 h, as many of each or not
    backups = sorted([*daily_utc(FIRST, 20), *daily_utc(FIRST + 2 * HOUR, 20)])
    assert gaps(backups, observed_at=backups[-1][0], gap_days=3, timezone=ZONE) == []
    # 13 intervals, 7 of them 2 h: the plain median would be 2 h, every night a gap
    assert gaps(backups[:14], observed_at=backups[13][0], gap_days=3, timezone=ZONE) == []
    one_missed = [b for b in backups if b[0] != FIRST + 18 * DAY + 2 * HOUR]
    assert gaps(one_missed, observed_at=backups[-1][0], gap_days=3, timezone=ZONE) == []
    night_missed = [b for b in backups if not FIRST + 18 * DAY <= b[0] <= FIRST + 18 * DAY + 7200]
    (gap,) = gaps(night_missed, observed_at=backups[-1][0], gap_days=3, timezone=ZONE)
    assert gap.detail.startswith("no backup on 2026-11-19 (Europe/Berlin): 46 h between")


def test_gap_days_zero_never_judges_gaps() -> None:
    backups = daily_utc(FIRST, 20, skip=(18,))
    assert gaps(backups, observed_at=backups[-1][0], gap_days=0, timezone=ZONE) == []
    assert len(gaps(backups, observed_at=backups[-1][0], gap_days=3, timezone=ZONE)) == 1


def test_several_missed_nights_are_named_and_a_long_outage_summed_up() -> None:
    backups = daily_utc(FIRST, 20, skip=(16, 17))
    (two,) = gaps(backups, observed_at=backups[-1][0] + HOUR, gap_days=3, timezone=ZONE)
    assert two.detail.startswith("no backup on 2026-11-17, 2026-11-18 (Europe/Berlin): 3 d ")
    assert "between the backups of 2026-11-16 03:10 and 2026-11-19 03:10" in two.detail
    backups = daily_utc(FIRST, 40, skip=tuple(range(25, 39)))
    (long,) = gaps(backups, observed_at=backups[-1][0] + HOUR, gap_days=3, timezone=ZONE)
    assert long.detail.startswith(
        "no backup on 14 days, 2026-11-26 to 2026-12-09 (Europe/Berlin): 15 d ")


def test_only_backups_listed_by_observed_at_count() -> None:
    # a node that could not be listed for a week: its gap window is the week before that
    backups = daily_utc(FIRST, 20, skip=(10,))
    observed = backups[10][0] + 12 * HOUR
    assert [r.reason for r in gaps(backups, observed_at=observed, gap_days=3,
                                   timezone=ZONE)] == ["gap"]
    assert gaps(backups, observed_at=None, gap_days=3, timezone=ZONE) == []


def test_missed_days_are_local_dates_of_the_node_zone() -> None:
    # 00:30 Berlin is 23:30 UTC the day before: the day named is Berlin's
    first = berlin("2026-11-01", 0, 30)
    backups = daily_utc(first, 10, skip=(8,))
    (gap,) = gaps(backups, observed_at=backups[-1][0], gap_days=3, timezone=ZONE)
    assert gap.detail.startswith("no backup on 2026-11-09 (Europe/Berlin)")
    (utc_gap,) = gaps(backups, observed_at=backups[-1][0], gap_days=3, timezone="UTC")
    assert utc_gap.detail.startswith("no backup on 2026-11-08 (UTC)")


@settings(max_examples=200, deadline=None)
@given(interval=st.integers(min_value=HOUR, max_value=31 * DAY),
       count=st.integers(min_value=2, max_value=60),
       jitter=st.lists(st.floats(min_value=-0.0999, max_value=0.0999), min_size=60,
                       max_size=60),
       gap_days=st.integers(min_value=1, max_value=400))
def test_any_regular_series_with_jitter_under_a_tenth_of_its_interval_has_no_gap(
        interval: int, count: int, jitter: list[float], gap_days: int) -> None:
    times = [FIRST + i * interval + int(jitter[i] * interval) for i in range(count)]
    backups = [(at, 1) for at in times]
    assert gaps(backups, observed_at=times[-1], gap_days=gap_days, timezone=ZONE) == []


@settings(max_examples=200, deadline=None)
@given(interval=st.integers(min_value=HOUR, max_value=31 * DAY),
       count=st.integers(min_value=MIN_INTERVALS + 2, max_value=60),
       jitter=st.lists(st.floats(min_value=-0.0999, max_value=0.0999), min_size=60,
                       max_size=60),
       data=st.data())
def test_any_one_missed_backup_of_such_a_series_is_exactly_one_gap(
        interval: int, count: int, jitter: list[float], data: st.DataObject) -> None:
    missed = data.draw(st.integers(min_value=1, max_value=count - 2), label="missed")
    times = [FIRST + i * interval + int(jitter[i] * interval) for i in range(count)
             if i != missed]
    backups = [(at, 1) for at in times]
    observed = times[-1]
    gap_days = (observed - times[missed - 1]) / DAY + 0.01
    (gap,) = gaps(backups, observed_at=observed, gap_days=gap_days, timezone=ZONE)
    assert gap.at == (times[missed - 1], times[missed])


# --- sizes against history -----------------------------------------------------------------------


def sized(*sizes: int) -> list[tuple[int, int]]:
    return [(FIRST + i * DAY, size) for i, size in enumerate(sizes)]


def test_the_median_of_seven_ignores_one_odd_night_and_older_history() -> None:
    # 7 before the newest: one tiny night among them does not move the median
    history = sized(1, 1, 1, 100, 100, 5, 100, 100, 100, 100, 60)
    assert size_against_history(history, history, min_size_ratio=0.5, max_size_ratio=4) == []
    smaller = [*history[:-1], (history[-1][0], 40)]
    (shrunk,) = size_against_history(smaller, smaller, min_size_ratio=0.5, max_size_ratio=4)
    assert shrunk.detail == ("newest backup is -60 % against the median 100 B of the "
                             "7 before it (40 B, limit 0.5x)")


def test_the_backups_before_may_have_left_the_node() -> None:
    history = sized(1000, 1000, 1000, 300)
    present = history[-1:]
    (shrunk,) = size_against_history(present, history, min_size_ratio=0.5, max_size_ratio=4)
    assert "-70 %" in shrunk.detail and "of the 3 before it" in shrunk.detail


@pytest.mark.parametrize(("sizes", "max_ratio", "expected"), [
    ((100, 100, 401), 4, ["grew"]),
    ((100, 100, 400), 4, []),
    ((100, 100, 10_000), 0, []),        # 0 = never
    ((0, 0, 10_000), 4, []),            # growing from empty backups
    ((100, 100, 0), 4, []),             # that is "empty", an alarm of its own
    ((100,), 4, []),                    # nothing before it
])
def test_grew_and_its_limits(sizes: tuple[int, ...], max_ratio: float,
                             expected: list[str]) -> None:
    history = sized(*sizes)
    found = size_against_history(history, history, min_size_ratio=0.5, max_size_ratio=max_ratio)
    assert [r.reason for r in found] == expected


# --- retention -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("present", "ever", "keep_min", "keep_max", "expected"), [
    (30, 400, 30, 31, []),
    (29, 400, 30, 31, ["retention"]),   # a purge that ran wild
    (32, 400, 30, 31, ["retention"]),   # a purge that stopped
    (3, 3, 30, 31, []),                 # a young series: nothing has left the node yet
    (500, 900, 0, 0, []),               # not judged
    (1, 900, 0, 0, []),
])
def test_retention(present: int, ever: int, keep_min: int, keep_max: int,
                   expected: list[str]) -> None:
    found = retention(present, ever, keep_min=keep_min, keep_max=keep_max)
    assert [r.reason for r in found] == expected


def test_check_history_is_all_three_together() -> None:
    history = daily_utc(FIRST, 20, skip=(18,))
    history[-1] = (history[-1][0], 10_000)
    found = check_history(history[-3:], history, observed_at=history[-1][0] + HOUR,
                          timezone=ZONE, min_size_ratio=0.5, max_size_ratio=4, gap_days=3,
                          keep_min=5, keep_max=0)
    assert [r.reason for r in found] == ["grew", "gap", "retention"]


def test_the_fixture_backup_type_is_the_stores_shape() -> None:
    # the model writes one row per file: the two files of a trac folder are one backup
    hub = healthy_year()
    assert isinstance(hub.series[b"tracs/trac01"][0], Backup)
    source = observe_all(hub, three_nodes()[:1])[0]
    trac = next(s for s in source.series if s.name == "tracs/trac01")
    assert len(trac.backups) == 2 * len(trac.totals())
    assert trac.totals()[0][1] == sum(hub.series[b"tracs/trac01"][0].files.values())
    assert trac.totals()[0][1] > MB
