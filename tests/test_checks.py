"""The checks, pure: stored node data in, findings out (no store, no network)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sphinxcontrib_scmmonitor.checks import (
    ALARM,
    EXIT_CODES,
    OK,
    WARN,
    NodeStatus,
    Report,
    check_node,
    human_age,
    human_size,
)
from sphinxcontrib_scmmonitor.collect.listing import DateLayout
from sphinxcontrib_scmmonitor.store import NodeData, RunInfo
from tests.helpers.node_data import (
    DAY,
    GB,
    HOUR,
    NOW,
    daily,
    node_data,
    node_settings,
    run,
    series,
)


def reasons(status: NodeStatus) -> dict[str, list[str]]:
    """{series or "-": [reason, ...]} for every finding."""
    out = {"-": [r.reason for r in status.reasons]} if status.reasons else {}
    out.update({s.name: [r.reason for r in s.reasons] for s in status.series if s.reasons})
    return out


# --- a healthy node ------------------------------------------------------------------------------


def test_healthy_node_has_no_reason_at_all() -> None:
    data = node_data(series("tracs/env", *daily(NOW - 2 * HOUR, 100, 101, 103)),
                     series("repos/env", *daily(NOW - 20 * HOUR, 5 * GB, 5 * GB)))
    status = check_node(node_settings(select=["repos/env", "tracs/env"]), data, NOW)
    assert reasons(status) == {}
    assert status.status == OK
    env = next(s for s in status.series if s.name == "tracs/env")
    assert (env.newest, env.size, env.previous_size, env.count) == (NOW - 2 * HOUR, 103, 101, 3)
    assert env.age_hours(NOW) == pytest.approx(2)
    assert status.last_good_at == NOW - HOUR and status.last_run_ok is True


def test_several_files_in_one_dated_folder_are_one_backup() -> None:
    # two halves of one backup must not look like a backup shrunk to 50 %
    at = NOW - HOUR
    data = node_data(series("svn/dybsvn", (at - DAY, 1000), (at, 400), (at, 500)))
    status = check_node(node_settings(), data, NOW)
    assert reasons(status) == {}
    assert status.series[0].size == 900


# --- each reason ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("age_hours", "expected"), [(35.9, {}), (36.1, {"svn/dybsvn": ["stale"]}),
                                                     (72, {"svn/dybsvn": ["stale"]})])
def test_stale_when_the_newest_backup_is_older_than_max_age(age_hours: float,
                                                            expected: dict[str, list[str]]) -> None:
    # listed just now: as observed is now (the as-observed cases are further down)
    data = node_data(series("svn/dybsvn", *daily(NOW - age_hours * HOUR, 100, 100)),
                     runs=[run(NOW)])
    status = check_node(node_settings(), data, NOW)
    assert reasons(status) == expected
    if expected:
        assert status.status == ALARM
        assert "limit 36 h" in status.series[0].reasons[0].detail


@pytest.mark.parametrize(("ratio", "expected"), [(0.3, ["shrunk"]), (0.49, ["shrunk"]),
                                                 (0.5, []), (0.9, [])])
def test_shrunk_when_the_newest_is_below_min_size_ratio_of_the_previous(
        ratio: float, expected: list[str]) -> None:
    data = node_data(series("tracs/env", *daily(NOW - HOUR, 1000, int(1000 * ratio))))
    status = check_node(node_settings(), data, NOW)
    assert [r.reason for r in status.series[0].reasons] == expected
    assert status.status == (WARN if expected else OK)


def test_shrunk_is_a_warning_with_the_change_in_percent() -> None:
    data = node_data(series("tracs/env", *daily(NOW - HOUR, 10 * GB, 3 * GB)))
    (reason,) = check_node(node_settings(), data, NOW).series[0].reasons
    assert (reason.reason, reason.level) == ("shrunk", WARN)
    assert "-70 %" in reason.detail


def test_shrunk_is_seen_even_when_the_previous_backup_was_rotated_away() -> None:
    # a node that keeps only the newest backup: the previous one is known to the store only
    old, new = NOW - DAY - HOUR, NOW - HOUR
    data = node_data(series("tracs/env", (old, 1000), (new, 300), gone={old: NOW - HOUR}))
    status = check_node(node_settings(), data, NOW)
    assert reasons(status) == {"tracs/env": ["shrunk"]}
    assert (status.series[0].previous_size, status.series[0].count) == (1000, 1)


def test_empty_newest_backup_is_an_alarm_and_not_also_shrunk() -> None:
    data = node_data(series("repos/env", *daily(NOW - HOUR, 5000, 0)))
    status = check_node(node_settings(), data, NOW)
    assert reasons(status) == {"repos/env": ["empty"]}
    assert status.status == ALARM


def test_growing_from_an_empty_backup_is_fine() -> None:
    data = node_data(series("repos/env", *daily(NOW - HOUR, 0, 5000)))
    assert reasons(check_node(node_settings(), data, NOW)) == {}


def test_missing_when_selected_for_the_hub_but_absent_on_the_node() -> None:
    data = node_data(series("tracs/env", *daily(NOW - HOUR, 10, 10)))
    status = check_node(node_settings(hub={"select": ["tracs/env", "svn/dybsvn"]}), data, NOW)
    assert reasons(status) == {"svn/dybsvn": ["missing"]}
    missing = next(s for s in status.series if s.name == "svn/dybsvn")
    assert (missing.status, missing.count, missing.newest) == (ALARM, 0, None)


def test_a_select_entry_with_a_trailing_slash_still_matches() -> None:
    data = node_data(series("tracs/env", *daily(NOW - HOUR, 10, 10)))
    assert reasons(check_node(node_settings(select=["tracs/env/"]), data, NOW)) == {}


def test_vanished_when_every_backup_of_a_series_left_the_node() -> None:
    backups = daily(NOW - 2 * DAY, 10, 10)
    data = node_data(series("git/gone", *backups, gone={at: NOW - HOUR for at, _ in backups}))
    # selected too: a series that had backups is vanished, not missing
    status = check_node(node_settings(select=["git/gone"]), data, NOW)
    assert reasons(status) == {"git/gone": ["vanished"]}
    assert status.status == ALARM


def test_unreachable_carries_the_error_of_the_latest_run() -> None:
    runs = [run(NOW - 2 * HOUR), run(NOW - HOUR, "failed", "cms01.example.org: Connection refused")]
    data = node_data(series("tracs/env", *daily(NOW - 3 * HOUR, 10, 10)), runs=runs)
    status = check_node(node_settings(), data, NOW)
    assert reasons(status) == {"-": ["unreachable"]}
    assert status.reasons[0].detail == "cms01.example.org: Connection refused"
    assert (status.status, status.last_run_ok) == (WARN, False)


def test_a_failure_followed_by_a_good_run_is_no_longer_unreachable() -> None:
    runs = [run(NOW - 2 * HOUR, "failed", "timed out after 10 s"), run(NOW - HOUR)]
    data = node_data(series("tracs/env", *daily(NOW - 3 * HOUR, 10, 10)), runs=runs)
    assert reasons(check_node(node_settings(), data, NOW)) == {}


def test_a_run_still_going_on_does_not_hide_the_last_result() -> None:
    still_running = RunInfo(NOW - 60, None, "running", None, None, 0, 0)
    runs = [run(NOW - 2 * HOUR), run(NOW - HOUR, "failed", "Connection refused"), still_running]
    data = node_data(series("tracs/env", *daily(NOW - 3 * HOUR, 10, 10)), runs=runs)
    assert reasons(check_node(node_settings(), data, NOW)) == {"-": ["unreachable"]}


def test_collector_stale_when_no_good_collection_within_max_age() -> None:
    data = node_data(series("tracs/env", *daily(NOW - 3 * HOUR, 10, 10)),
                     runs=[run(NOW - 40 * HOUR)])
    status = check_node(node_settings(max_age_hours=36), data, NOW)
    assert reasons(status)["-"] == ["collector-stale"]
    assert "last one 40 h ago" in status.reasons[0].detail
    assert status.status == ALARM


def test_a_node_never_collected_is_collector_stale_and_nothing_is_called_missing() -> None:
    # nobody has listed the node: that its selected series are absent is not known
    status = check_node(node_settings(select=["tracs/env"]), node_data(runs=[]), NOW)
    assert reasons(status) == {"-": ["collector-stale"]}
    assert "never collected" in status.reasons[0].detail


def test_a_node_whose_runs_all_failed_is_unreachable_and_collector_stale() -> None:
    runs = [run(NOW - 2 * HOUR, "failed", "Connection refused"),
            run(NOW - HOUR, "failed", "Connection refused")]
    status = check_node(node_settings(), node_data(runs=runs), NOW)
    assert reasons(status) == {"-": ["unreachable", "collector-stale"]}
    assert status.status == ALARM


# --- levels and thresholds -----------------------------------------------------------------------


def test_node_is_its_worst_finding_and_the_conclusion_the_worst_node() -> None:
    shrunk = check_node(node_settings(), node_data(
        series("a", *daily(NOW - HOUR, 100, 10)), series("b", *daily(NOW - HOUR, 1, 1))), NOW)
    stale = check_node(node_settings(), node_data(series("c", *daily(NOW - 3 * DAY, 1, 1))), NOW)
    healthy = check_node(node_settings(), node_data(series("d", *daily(NOW - HOUR, 1, 1))), NOW)
    assert (shrunk.status, stale.status, healthy.status) == (WARN, ALARM, OK)
    assert Report(NOW, [healthy]).exit_code == EXIT_CODES[OK] == 0
    assert Report(NOW, [healthy, shrunk]).exit_code == EXIT_CODES[WARN] == 1
    assert Report(NOW, [shrunk, stale, healthy]).conclusion == ALARM
    assert Report(NOW, [shrunk, stale, healthy]).exit_code == 2


@pytest.mark.parametrize(("defaults", "hub", "node", "stale"), [
    ({"max_age_hours": 24}, {}, {}, True),
    ({"max_age_hours": 24}, {"max_age_hours": 48}, {}, False),
    ({"max_age_hours": 24}, {"max_age_hours": 48}, {"max_age_hours": 12}, True),
    ({}, {}, {"max_age_hours": 40}, False),
])
def test_max_age_comes_from_defaults_then_hub_then_node(defaults: dict[str, Any],
                                                        hub: dict[str, Any],
                                                        node: dict[str, Any], stale: bool) -> None:
    data = node_data(series("tracs/env", *daily(NOW - 30 * HOUR, 10, 10)))
    status = check_node(node_settings(defaults, hub, **node), data, NOW)
    assert (reasons(status) == {"tracs/env": ["stale"]}) is stale


@pytest.mark.parametrize(("defaults", "hub", "node", "shrunk"), [
    ({"min_size_ratio": 0.5}, {}, {}, False),
    ({"min_size_ratio": 0.5}, {"min_size_ratio": 0.9}, {}, True),
    ({"min_size_ratio": 0.5}, {"min_size_ratio": 0.9}, {"min_size_ratio": 0.1}, False),
])
def test_min_size_ratio_comes_from_defaults_then_hub_then_node(defaults: dict[str, Any],
                                                               hub: dict[str, Any],
                                                               node: dict[str, Any],
                                                               shrunk: bool) -> None:
    data = node_data(series("tracs/env", *daily(NOW - HOUR, 1000, 800)))
    status = check_node(node_settings(defaults, hub, **node), data, NOW)
    assert (reasons(status) == {"tracs/env": ["shrunk"]}) is shrunk


# --- time zones and daylight saving --------------------------------------------------------------


def local_daily_backups(zone: str, first: datetime, days: int, sizes: list[int] | None = None,
                        ) -> list[tuple[int, int]]:
    """Backups at the same local wall-clock time every day, read back the way the collector
    reads paths: ``YYYY/MM/DD/HHMMSS`` in the node's zone through DateLayout."""
    layout = DateLayout("%Y/%m/%d/%H%M%S", zone)
    out = []
    for day in range(days):
        path = (first + timedelta(days=day)).strftime("%Y/%m/%d/%H%M%S").encode()
        at = layout.parse(path)
        assert at is not None, path
        out.append((at, sizes[day] if sizes else 1000 + day))
    return out


@pytest.mark.parametrize("wall_clock", ["01:30", "02:30"])
@pytest.mark.parametrize("night", [datetime(2024, 10, 27), datetime(2024, 3, 31)],
                         ids=["october-25h-night", "march-23h-night"])
def test_daily_backups_in_zurich_raise_no_alarm_across_the_clock_change(
        wall_clock: str, night: datetime) -> None:
    hour, minute = map(int, wall_clock.split(":"))
    first = night.replace(hour=hour, minute=minute) - timedelta(days=4)
    backups = local_daily_backups("Europe/Zurich", first, days=9)
    times = [at for at, _ in backups]
    assert times == sorted(set(times)), "backup times must stay strictly ascending in UTC"
    # the paths really were read in local time: one night is an hour longer or shorter
    gaps_h = sorted((b - a) / HOUR for a, b in itertools.pairwise(times))
    if night.month == 10:
        assert gaps_h == [24.0] * 7 + [25.0]
    elif wall_clock == "02:30":  # skipped that night: read as 03:00, when the clocks jumped
        assert gaps_h == [23.5, 23.5] + [24.0] * 6
    else:
        assert gaps_h == [23.0] + [24.0] * 7
    # tight on purpose: a day and an hour and a half; the 25-hour night must still pass
    node = node_settings(timezone="Europe/Zurich", max_age_hours=25.5)
    # checked every 10 minutes from the second backup on, as a cron job would
    for now in range(times[1], times[-1] + 12 * HOUR, 600):
        present = [(at, size) for at, size in backups if at <= now]
        data = NodeData("C", "cms02", [series("svn/dybsvn", *present)], [run(now - 60)])
        status = check_node(node, data, now)
        assert reasons(status) == {}, datetime.fromtimestamp(now, UTC)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(zone=st.timezones(),
       first=st.datetimes(min_value=datetime(2015, 1, 1), max_value=datetime(2035, 12, 31)),
       days=st.integers(min_value=2, max_value=12),
       growth=st.lists(st.floats(min_value=0.6, max_value=3.0), min_size=12, max_size=12),
       into_the_day=st.floats(min_value=0.0, max_value=0.999))
def test_a_regular_daily_backup_never_alarms_in_any_time_zone(
        zone: Any, first: datetime, days: int, growth: list[float], into_the_day: float) -> None:
    sizes = [10_000]
    for factor in growth[:days - 1]:
        sizes.append(max(1, int(sizes[-1] * factor)))
    backups = local_daily_backups(zone.key, first.replace(second=0, microsecond=0), days + 1,
                                  [*sizes, 1])
    *present, (next_at, _) = backups
    last_at = present[-1][0]
    assert [at for at, _ in present] == sorted({at for at, _ in present})
    # anywhere between the newest backup and the next one's wall-clock time tomorrow;
    # the longest local day since 2015 is 27 h (Antarctica/Casey jumps 3 h): 28 h is tight
    now = last_at + into_the_day * (next_at - last_at)
    data = NodeData("C", "cms02", [series("svn/dybsvn", *present)], [run(now - 60)])
    # sizes jumping 0.6-3x a night are not what this is about: the size checks are off
    status = check_node(node_settings(timezone=zone.key, max_age_hours=28, min_size_ratio=0.01,
                                      max_size_ratio=0), data, now)
    assert reasons(status) == {}


# --- words for people ----------------------------------------------------------------------------


@pytest.mark.parametrize(("seconds", "text"), [(5, "5 s"), (600, "10 min"), (5 * HOUR, "5 h"),
                                               (47 * HOUR, "47 h"), (3 * DAY, "3 d"),
                                               (-30, "0 s")])
def test_human_age(seconds: float, text: str) -> None:
    assert human_age(seconds) == text


@pytest.mark.parametrize(("size", "text"), [(None, "-"), (0, "0 B"), (1023, "1023 B"),
                                            (1536, "1.5 KB"), (5 * GB, "5.0 GB")])
def test_human_size(size: int | None, text: str) -> None:
    assert human_size(size) == text


# --- retired series ------------------------------------------------------------------------------


def test_a_retired_series_is_not_judged_the_others_still_are() -> None:
    old = daily(NOW - 40 * DAY, 10, 10)
    data = node_data(series("svn/oldproj", *old),                       # stale for 40 days
                     series("tracs/gone-2019", *old, gone={at: NOW - DAY for at, _ in old}),
                     series("svn/dybsvn", *daily(NOW - 3 * DAY, 10, 10)))   # stale
    node = node_settings(retired=["svn/oldproj", "tracs/*-2019"])

    status = check_node(node, data, NOW)

    assert reasons(status) == {"svn/dybsvn": ["stale"]}
    assert [s.name for s in status.series] == ["svn/dybsvn"]


def test_the_export_still_charts_a_retired_series_and_marks_it() -> None:
    from sphinxcontrib_scmmonitor.export import node_document

    data = node_data(series("svn/oldproj", *daily(NOW - 40 * DAY, 10, 12)),
                     series("svn/dybsvn", *daily(NOW - HOUR, 10, 10)))
    node = node_settings(retired=["svn/oldproj"], select=["svn/dybsvn", "git/new"])

    doc = node_document(node, data, check_node(node, data, NOW), NOW)

    by_name = {s["name"]: s for s in doc["series"]}
    assert by_name["svn/oldproj"]["retired"] is True
    assert (by_name["svn/oldproj"]["status"], by_name["svn/oldproj"]["reasons"]) == ("ok", [])
    assert len(by_name["svn/oldproj"]["t"]) == 2
    assert by_name["svn/dybsvn"]["retired"] is False
    assert (by_name["git/new"]["retired"],
            [r["reason"] for r in by_name["git/new"]["reasons"]]) == (False, ["missing"])
    assert doc["status"] == ALARM  # git/new is missing; the retired one adds nothing


# --- future-dated backups ------------------------------------------------------------------------


def test_a_future_dated_folder_is_a_warning_and_never_the_newest() -> None:
    # a node clock that was wrong once: the real backups stopped three days ago
    ahead = NOW + 180 * DAY
    data = node_data(series("repo", *daily(NOW - 3 * DAY, 100, 100), (ahead, 100),
                            seen={ahead: NOW - 2 * DAY}), runs=[run(NOW)])

    status = check_node(node_settings(), data, NOW)

    assert reasons(status) == {"repo": ["future", "stale"]}
    st = status.series[0]
    assert st.newest == NOW - 3 * DAY and st.count == 3
    future = st.reasons[0]
    assert (future.level, future.at) == (WARN, (int(ahead),))
    folder = datetime.fromtimestamp(ahead, UTC).strftime("repo/%Y/%m/%d/%H%M%S")
    assert future.detail.startswith(f"{folder} (182 d ahead) is dated after the listing")
    assert "3 d old" in st.reasons[1].detail


@pytest.mark.parametrize(("ahead_hours", "future"), [(23, False), (25, True)])
def test_future_means_more_than_a_day_after_the_collection_that_first_saw_it(
        ahead_hours: float, future: bool) -> None:
    # judged against when it was first seen, not against now: a day later it is still wrong
    first_seen = NOW - 2 * DAY
    at = first_seen + ahead_hours * HOUR
    data = node_data(series("repo", *daily(NOW - 2 * HOUR, 100, 100), (at, 100, "late.tar.gz"),
                            seen={at: first_seen}), runs=[run(NOW)])
    assert ("future" in reasons(check_node(node_settings(), data, NOW)).get("repo", [])) is future


def test_without_a_first_seen_time_a_backup_is_future_against_the_last_listing() -> None:
    ahead = NOW + 3 * DAY
    files = series("repo", *daily(NOW - HOUR, 100, 100), (ahead, 100))
    files.backups[-1] = files.backups[-1]._replace(first_seen_at=None)
    status = check_node(node_settings(), node_data(files, runs=[run(NOW)]), NOW)
    assert reasons(status) == {"repo": ["future"]}
    assert "(3 d ahead)" in status.series[0].reasons[0].detail


def test_a_series_with_only_future_backups_is_stale_too() -> None:
    ahead = NOW + 30 * DAY
    data = node_data(series("repo", (ahead, 100), seen={ahead: NOW - HOUR}), runs=[run(NOW)])
    status = check_node(node_settings(), data, NOW)
    assert reasons(status) == {"repo": ["future", "stale"]}
    assert status.status == ALARM and status.series[0].newest is None


def test_a_future_backup_that_is_gone_is_no_finding_and_no_past_either() -> None:
    ahead = NOW + 30 * DAY
    data = node_data(series("repo", *daily(NOW - HOUR, 1000, 1000), (ahead, 1),
                            seen={ahead: NOW - DAY}, gone={ahead: NOW - HOUR}))
    status = check_node(node_settings(), data, NOW)
    assert reasons(status) == {}
    assert status.series[0].previous_size == 1000


# --- a node whose listing held no backup ---------------------------------------------------------


@pytest.mark.parametrize(("files_seen", "unparsed", "sample", "words"), [
    (0, 0, None, ["no file matches pattern '*.gz'", "date_layout '%Y/%m/%d/%H%M%S'",
                  "of /backup/cms02 held no backup"]),
    (12, 12, "/backup/cms02/repos/env/env.tar.gz\n/backup/cms02/x/2025-11-01/x.tar.gz",
     ["12 file(s) match pattern '*.gz' but 12 have no date part in date_layout "
      "'%Y/%m/%d/%H%M%S', e.g. /backup/cms02/repos/env/env.tar.gz, "
      "/backup/cms02/x/2025-11-01/x.tar.gz"]),
], ids=["empty-root-or-pattern", "wrong-date-layout"])
def test_no_backups_when_the_latest_good_listing_held_none(files_seen: int, unparsed: int,
                                                           sample: str | None,
                                                           words: list[str]) -> None:
    last = run(NOW - HOUR, files_seen=files_seen, unparsed=unparsed, unparsed_sample=sample)
    status = check_node(node_settings(), node_data(runs=[last]), NOW)

    assert reasons(status) == {"-": ["no-backups"]}
    assert status.status == ALARM
    for word in words:
        assert word in status.reasons[0].detail


def test_no_backups_names_the_pattern_in_force_and_says_the_time_of_the_listing() -> None:
    last = run(NOW - HOUR, files_seen=0)
    status = check_node(node_settings(pattern="*.tgz"), node_data(runs=[last]), NOW)
    assert "pattern '*.tgz'" in status.reasons[0].detail
    assert "(2025-11-28T11:00:00Z)" in status.reasons[0].detail


def test_every_backup_gone_at_once_is_no_backups_as_well_as_vanished() -> None:
    # the disk was not mounted: the listing held nothing, every series left the node
    backups = daily(NOW - DAY, 10, 10)
    data = node_data(series("repos/env", *backups, gone={at: NOW - HOUR for at, _ in backups}),
                     runs=[run(NOW - DAY + HOUR), run(NOW - HOUR, files_seen=0)])
    assert reasons(check_node(node_settings(), data, NOW)) == {
        "-": ["no-backups"], "repos/env": ["vanished"]}


def test_backups_still_on_the_node_are_never_no_backups_whatever_the_run_counted() -> None:
    # a run stored before the counts were kept says 0 files: the store knows better
    data = node_data(series("repos/env", *daily(NOW - HOUR, 10, 10)),
                     runs=[run(NOW - HOUR, files_seen=0)])
    assert reasons(check_node(node_settings(), data, NOW)) == {}


def test_a_failed_listing_is_not_no_backups() -> None:
    runs = [run(NOW - HOUR, "failed", "Connection refused", files_seen=0)]
    assert "no-backups" not in reasons(check_node(node_settings(), node_data(runs=runs), NOW))["-"]


# --- a zero-byte file inside a backup of several files -------------------------------------------


def test_one_empty_file_of_a_multi_file_backup_is_empty_naming_the_file() -> None:
    # svn.tar.gz and trac.tar.gz in one dated folder; trac truncated to 0 is "-10 %" only
    old, new = NOW - DAY - HOUR, NOW - HOUR
    data = node_data(series("cms02/env", (old, 900, "svn.tar.gz"), (old, 100, "trac.tar.gz"),
                            (new, 900, "svn.tar.gz"), (new, 0, "trac.tar.gz")))

    status = check_node(node_settings(), data, NOW)

    assert reasons(status) == {"cms02/env": ["empty"]}
    (reason,) = status.series[0].reasons
    folder = datetime.fromtimestamp(new, UTC).strftime("%Y/%m/%d/%H%M%S")
    assert reason.detail == (f"cms02/env/{folder}/trac.tar.gz has 0 bytes (1 of the 2 files "
                             "of the newest backup)")
    assert (reason.level, reason.at) == (ALARM, (int(new),))


def test_the_empty_file_is_named_printably_relative_to_the_root() -> None:
    new = NOW - HOUR
    files = series("svn/x", (new, 10, "a.tar.gz"), (new, 0, "b.tar.gz"))
    evil = files.backups[1]._replace(path=files.backups[1].path.replace(
        b"b.tar.gz", b"\x1b[31mb\n\xff.tar.gz"))
    files.backups[1] = evil
    (reason,) = check_node(node_settings(), node_data(files), NOW).series[0].reasons
    assert reason.reason == "empty"
    assert reason.detail.startswith("svn/x/") and reason.detail.isprintable()
    assert "\\x1b[31mb\\x0a\\xff.tar.gz has 0 bytes" in reason.detail


def test_an_all_empty_newest_backup_names_its_file() -> None:
    data = node_data(series("repos/env", *daily(NOW - HOUR, 5000, 0)))
    (reason,) = check_node(node_settings(), data, NOW).series[0].reasons
    folder = datetime.fromtimestamp(NOW - HOUR, UTC).strftime("%Y/%m/%d/%H%M%S")
    assert reason.detail == f"newest backup has 0 bytes (repos/env/{folder}/env.tar.gz)"


def test_an_empty_file_in_an_older_backup_is_no_finding() -> None:
    old, new = NOW - DAY - HOUR, NOW - HOUR
    data = node_data(series("cms02/env", (old, 900, "svn.tar.gz"), (old, 0, "trac.tar.gz"),
                            (new, 900, "svn.tar.gz"), (new, 100, "trac.tar.gz")))
    assert reasons(check_node(node_settings(), data, NOW)) == {}


# --- as observed ---------------------------------------------------------------------------------


def test_an_unreachable_node_is_judged_as_of_its_last_good_listing() -> None:
    # listed fine 30 h ago with 2 h old backups, unreachable since: the series are not
    # stale for time nobody saw; the node says what is wrong, once
    runs = [run(NOW - 30 * HOUR), run(NOW - HOUR, "failed", "Connection refused")]
    data = node_data(series("tracs/env", *daily(NOW - 32 * HOUR, 10, 10)),
                     series("repos/env", *daily(NOW - 32 * HOUR, 10, 10)), runs=runs)

    status = check_node(node_settings(), data, NOW)

    assert reasons(status) == {"-": ["unreachable"]}
    assert status.observed_at == NOW - 30 * HOUR == status.last_good_at


def test_past_max_age_the_unreachable_node_is_collector_stale_and_still_not_every_series() -> None:
    runs = [run(NOW - 3 * DAY), run(NOW - HOUR, "failed", "Connection refused")]
    data = node_data(series("tracs/env", *daily(NOW - 3 * DAY - 2 * HOUR, 10, 10)),
                     series("repos/env", *daily(NOW - 5 * DAY, 10, 10)), runs=runs)

    status = check_node(node_settings(), data, NOW)

    # repos/env was already stale when last seen: that was observed, so it is still said
    assert reasons(status) == {"-": ["unreachable", "collector-stale"], "repos/env": ["stale"]}
    stale = next(s for s in status.series if s.name == "repos/env").reasons[0]
    assert stale.detail == ("newest backup is 2 d old (limit 36 h), as of the last good "
                            "listing 3 d ago")


def test_the_report_was_observed_when_its_oldest_node_was() -> None:
    fresh = check_node(node_settings(), node_data(runs=[run(NOW - HOUR)]), NOW)
    older = check_node(node_settings(), node_data(runs=[run(NOW - 5 * HOUR)]), NOW)
    never = check_node(node_settings(), node_data(runs=[]), NOW)
    assert Report(NOW, [fresh, older, never]).observed_at == NOW - 5 * HOUR
    assert never.observed_at is None and Report(NOW, [never]).observed_at is None
