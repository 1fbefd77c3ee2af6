"""Copies against their source, and the stored archive tests (checks/copies.py)."""

from __future__ import annotations

import random
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sphinxcontrib_scmmonitor.checks import human_size
from sphinxcontrib_scmmonitor.checks.copies import Originals, check_copy, corrupt, root_prefix
from sphinxcontrib_scmmonitor.checks.reasons import ALARM
from tests.backup_nights import (
    END,
    HOUR,
    Backup,
    BackupFile,
    Hub,
    Limits,
    Series,
    Timeline,
    Verification,
    berlin,
    findings,
    healthy_year,
    nightly,
    observe_all,
    reasons,
    three_nodes,
    with_node,
)


def names(found: dict[str, dict[str, list]]) -> dict[str, dict[str, list[str]]]:
    return {n: {s: [r.reason for r in rs] for s, rs in v.items()} for n, v in found.items() if v}


@pytest.fixture(scope="module")
def year() -> Hub:
    return healthy_year()


def fresh() -> Hub:
    return healthy_year()


# --- healthy: nothing to report ------------------------------------------------------------------


def test_copies_of_a_healthy_year_match_at_every_hour_of_a_day(year: Hub) -> None:
    # every hour of the last day: while the night's backups travel to the copies (one and
    # two hours after they were written) and long after
    timelines = [Timeline(year, node) for node in three_nodes()]
    for at in range(berlin("2026-11-29", 13), END + 1, HOUR):
        assert findings(t.at(at) for t in timelines) == {}, datetime.fromtimestamp(at)


def test_a_copy_keeping_more_history_than_the_source_is_fine(year: Hub) -> None:
    source, copy, _ = observe_all(year, three_nodes())
    series = {s.name: s for s in source.series}["svn/repo00"]
    on_copy = {s.name: s for s in copy.series}["svn/repo00"]
    oldest_original = min(r.backup_at for r in series.backups if r.gone_at is None)
    older = [r for r in on_copy.backups if r.gone_at is None and r.backup_at < oldest_original]
    assert len(older) == 30   # C keeps 60 nights, S 30
    assert findings([source, copy]) == {}


# --- planted faults ------------------------------------------------------------------------------


def test_a_copy_truncated_to_90_percent_differs_naming_the_file_and_both_sizes() -> None:
    hub = fresh()
    backup = hub.at(b"svn/repo01", "2026-11-25")
    size = backup.files[b"dump.tar.gz"]
    source, copy, other = three_nodes()
    copy = with_node(copy, damaged={(b"svn/repo01", backup.folder, b"dump.tar.gz"):
                                    (size * 9 // 10, "the first 90 %")})

    found = reasons(observe_all(hub, [source, copy, other]))

    assert names(found) == {"C": {"svn/repo01": ["copy-differs"]}}
    (differs,) = found["C"]["svn/repo01"]
    assert differs.level == ALARM
    assert size > 1024
    assert differs.detail == (f"svn/repo01/{backup.folder}/dump.tar.gz is "
                              f"{human_size(size * 9 // 10)} ({size * 9 // 10} B) on C, "
                              f"{human_size(size)} ({size} B) on S")
    assert differs.at == (backup.at,)


def test_a_copy_still_arriving_is_judged_only_after_the_grace() -> None:
    # scp writes in place: a listing during the copy sees part of the file
    original = BackupFile(10_000, 1000, None, b"/src/s/2026/11/30/031000/f.gz", 10_000)
    arriving = BackupFile(10_000, 400, None, b"/copy/s/2026/11/30/031000/f.gz", 10_500)
    originals = originals_of([original])
    judge = {"grace_hours": 6, "verify": ["size"]}
    copy = [Series("s", b"s", [arriving])]
    assert check_copy("C", copy, {}, "/copy", 10_000 + 5 * HOUR, originals, **judge) == {}
    (late,) = check_copy("C", copy, {}, "/copy", 10_000 + 7 * HOUR, originals, **judge)["s"]
    assert late.detail == "s/2026/11/30/031000/f.gz is 400 B on C, 1000 B on S"


def test_a_truncated_copy_of_an_original_the_source_purged_still_differs() -> None:
    # C keeps 60 nights, S 30: the original's size is known from the source's history
    hub = fresh()
    old = hub.at(b"svn/repo01", "2026-10-20")
    size = old.files[b"dump.tar.gz"]
    source, copy, _ = three_nodes()
    copy = with_node(copy, damaged={(b"svn/repo01", old.folder, b"dump.tar.gz"):
                                    (size - 1, "one byte short")})
    observed = observe_all(hub, [source, copy])
    (row,) = [r for s in observed[0].series for r in s.backups if r.backup_at == old.at]
    assert row.gone_at is not None
    assert names(reasons(observed)) == {"C": {"svn/repo01": ["copy-differs"]}}


def test_the_same_size_and_another_sha256_differs_when_sha256_is_verified() -> None:
    hub = fresh()
    backup = hub.series[b"tracs/trac03"][-1]
    source, copy, other = three_nodes()
    key = (b"tracs/trac03", backup.folder, b"env.sql.gz")
    other = with_node(other, damaged={key: (backup.files[b"env.sql.gz"], "one byte flipped")})
    nodes = observe_all(hub, [source, copy, other])

    found = reasons(nodes)

    assert names(found) == {"H1": {"tracs/trac03": ["copy-differs"]}}
    (differs,) = found["H1"]["tracs/trac03"]
    mine = nodes[2].verified[b"/backup/tracs/trac03/" + backup.folder.encode() + b"/env.sql.gz"]
    theirs = nodes[0].verified[b"/var/scm/backup/cms02/tracs/trac03/" + backup.folder.encode()
                               + b"/env.sql.gz"]
    assert differs.detail == (f"tracs/trac03/{backup.folder}/env.sql.gz has sha256 "
                              f"{mine.sha256} on H1, {theirs.sha256} on S")
    assert differs.at == (backup.at,)
    # verify = ["size"] only: checksums are not compared
    assert findings(nodes, Limits(verify=("size",))) == {}


def test_one_night_not_copied_names_the_dated_folder() -> None:
    hub = fresh()
    lost = hub.at(b"svn/repo02", "2026-11-27")
    source, copy, other = three_nodes()
    copy = with_node(copy, lost={(b"svn/repo02", lost.folder)})

    found = reasons(observe_all(hub, [source, copy, other]))

    assert names(found) == {"C": {"svn/repo02": ["not-copied"]}}
    (reason,) = found["C"]["svn/repo02"]
    assert reason.detail == f"{lost.folder} is on S, not on C"
    assert reason.at == (lost.at,)


def test_one_file_of_a_backup_not_copied_names_the_file() -> None:
    hub = fresh()
    backup = hub.at(b"tracs/trac05", "2026-11-26")
    source, copy, other = three_nodes()
    copy = with_node(copy, lost_files={(b"tracs/trac05", backup.folder, b"env.sql.gz")})

    found = reasons(observe_all(hub, [source, copy, other]))

    assert names(found) == {"C": {"tracs/trac05": ["not-copied"]}}
    (reason,) = found["C"]["tracs/trac05"]
    assert reason.detail == f"{backup.folder}/env.sql.gz is on S, not on C"


def test_several_nights_not_copied_are_listed_then_counted() -> None:
    hub = fresh()
    folders = [b.folder for b in hub.series[b"svn/repo07"][-10:-1]]
    source, copy, _ = three_nodes()
    copy = with_node(copy, lost={(b"svn/repo07", f) for f in folders})
    (reason,) = reasons(observe_all(hub, [source, copy]))["C"]["svn/repo07"]
    assert reason.detail == f"{', '.join(folders[:3])} and 6 more are on S, not on C"
    assert len(reason.at) == 9


def test_a_copy_that_stopped_receiving_is_not_copied_after_the_grace() -> None:
    hub = fresh()
    source, copy, _ = three_nodes()
    newest = hub.series[b"svn/repo08"][-1]
    copy = with_node(copy, lost={(b"svn/repo08", newest.folder)})
    timelines = [Timeline(hub, source), Timeline(hub, copy)]
    # due copy_grace_hours after its dated time (listings are hourly: 5 to 6 h, 7 to 8 h)
    assert findings(t.at(newest.at + 5 * HOUR) for t in timelines) == {}
    assert findings(t.at(newest.at + 7 * HOUR) for t in timelines) == {
        "C": {"svn/repo08": ["not-copied"]}}
    assert findings((t.at(newest.at + 7 * HOUR) for t in timelines),
                    Limits(copy_grace_hours=8)) == {}


def test_an_original_the_source_already_purged_is_still_due_on_the_copy() -> None:
    # the hub keeps only its newest backup; the copy keeps a month: a night the copy never
    # got is known from the source's history in the store
    hub = fresh()
    lost = hub.at(b"svn/repo09", "2026-11-20")
    source, copy, _ = three_nodes()
    source = with_node(source, keep=1, keep_min=0, keep_max=0)
    copy = with_node(copy, lost={(b"svn/repo09", lost.folder)})
    assert names(reasons(observe_all(hub, [source, copy]))) == {
        "C": {"svn/repo09": ["not-copied"]}}


def test_an_original_the_hub_removed_at_once_was_never_due() -> None:
    # a failed try the hub deleted within the hour, before any copy could fetch it
    hub = fresh()
    series = hub.series[b"svn/repo09"]
    night = series[-3]
    retry = Backup(night.folder[:-6] + "041500", night.at + 3900, night.written + 3900,
                   {b"dump.tar.gz": 10}, {b"dump.tar.gz": "half"},
                   removed=night.written + 3900 + 1800)
    series.insert(len(series) - 2, retry)
    source, copy, other = three_nodes()
    observed = observe_all(hub, [source, copy, other])
    # the source's listing saw it, the next one saw it gone; no copy ever had it
    (row,) = [r for s in observed[0].series for r in s.backups if r.backup_at == retry.at]
    assert row.gone_at == row.first_seen_at + HOUR
    assert not [r for n in observed[1:] for s in n.series for r in s.backups
                if r.backup_at == retry.at]
    assert findings(observed) == {}


def test_a_series_the_source_holds_is_missing_on_a_copy_that_never_had_it() -> None:
    hub = fresh()
    hub.series[b"svn/brand-new"] = nightly("2026-11-30", 1, rng=random.Random(2))
    brand_new = hub.series[b"svn/brand-new"][0]
    brand_new.at, brand_new.written = END - 2 * HOUR, END - 2 * HOUR + 60
    hub.series[b"svn/forgotten"] = nightly("2026-11-20", 11, rng=random.Random(3))
    source, copy, _ = three_nodes()
    copy = with_node(copy, lost={(raw, b.folder) for raw in (b"svn/brand-new", b"svn/forgotten")
                                 for b in hub.series[raw]})
    observed = observe_all(hub, [source, copy])

    found = reasons(observed)

    # the one written two hours ago is within copy_grace_hours: not expected yet
    assert names(found) == {"C": {"svn/forgotten": ["missing"]}}
    (missing,) = found["C"]["svn/forgotten"]
    assert missing.detail.startswith("on the source S (since 2026-11-2")
    assert missing.detail.endswith(") but no backup of it on C")
    # a retired series is not expected
    assert names(reasons(observed, retired=lambda name: name == "svn/forgotten")) == {}


def test_a_corrupt_archive_is_found_on_the_source_only() -> None:
    hub = fresh()
    newest = hub.series[b"svn/repo03"][-1]
    message = "gzip: stdin: not in gzip format\x1b[31m"
    source, copy, other = three_nodes()
    source = with_node(source, broken={(b"svn/repo03", newest.folder, b"dump.tar.gz"): message})

    found = reasons(observe_all(hub, [source, copy, other]))

    # the copies hold the same bytes (their sha256 matches): the root cause is the source's
    assert names(found) == {"S": {"svn/repo03": ["corrupt"]}}
    (reason,) = found["S"]["svn/repo03"]
    assert reason.detail == (f"does not decompress: svn/repo03/{newest.folder}/dump.tar.gz: "
                             "gzip: stdin: not in gzip format\\x1b[31m")
    assert reason.at == (newest.at,)


def test_a_corrupt_archive_tested_on_a_node_without_source_is_that_nodes() -> None:
    rows = [BackupFile(1000, 5, None, b"/b/git/x/2026/11/29/031002/x.tar.gz", 1000),
            BackupFile(2000, 5, 1500, b"/b/git/x/2026/11/30/031002/x.tar.gz", 2000)]
    verified = {r.path: Verification("ab" * 32, False, "unexpected end of file", r.backup_at)
                for r in rows}
    found = corrupt([Series("git/x", b"git/x", rows)], verified, "/b/")
    (reason,) = found["git/x"]
    # only the present one: a gone file is nothing to restore from
    assert reason.at == (1000,)
    assert reason.detail == ("does not decompress: git/x/2026/11/29/031002/x.tar.gz: "
                             "unexpected end of file")


def test_hostile_names_are_escaped_in_the_details() -> None:
    hub = fresh()
    raw = b"git/caf\xe9"
    backup = hub.series[raw][-2]
    evil = b"x\n\x1b[2J.tar.gz"
    backup.files = {evil: 10}
    backup.content = {evil: "evil"}
    source, copy, _ = three_nodes()
    copy = with_node(copy, damaged={(raw, backup.folder, evil): (9, "evil, cut")})
    (reason,) = reasons(observe_all(hub, [source, copy]))["C"]["git/caf\\xe9"]
    assert reason.reason == "copy-differs"
    assert reason.detail.startswith(f"git/caf\\xe9/{backup.folder}/x\\x0a\\x1b[2J.tar.gz is 9 B")
    assert reason.detail.isprintable()


def test_nothing_is_judged_before_both_nodes_were_listed(year: Hub) -> None:
    source, copy, _ = observe_all(year, three_nodes())
    originals = Originals.of("S", source.series, source.verified, source.node.root,
                             observed_at=None)
    assert check_copy("C", [], {}, copy.node.root, copy.observed_at, originals,
                      grace_hours=6, verify=["size"]) == {}
    originals = Originals.of("S", source.series, source.verified, source.node.root, END)
    assert check_copy("C", [], {}, copy.node.root, None, originals, grace_hours=6,
                      verify=["size"]) == {}
    # listed and holding nothing: every series of the source is missing
    found = check_copy("C", [], {}, copy.node.root, END, originals, grace_hours=6,
                       verify=["size"])
    assert {name: [r.reason for r in rs] for name, rs in found.items()} == {
        s.name: ["missing"] for s in source.series}


@pytest.mark.parametrize(("root", "prefix"), [("/var/scm/backup", b"/var/scm/backup/"),
                                              ("/var/scm/backup/", b"/var/scm/backup/"),
                                              ("/", b"/"), (b"/d\xe9", b"/d\xe9/")])
def test_relative_paths_start_after_the_root_and_its_slash(root: str | bytes,
                                                           prefix: bytes) -> None:
    assert root_prefix(root) == prefix


# --- properties ----------------------------------------------------------------------------------


def originals_of(rows: list[BackupFile]) -> Originals:
    return Originals.of("S", [Series("s", b"s", rows)], {}, "/src", 10**9)


@settings(max_examples=200, deadline=None)
@given(sizes=st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=40),
       data=st.data())
def test_any_window_of_true_copies_is_fine_and_any_one_cut_file_is_named(
        sizes: list[int], data: st.DataObject) -> None:
    times = [10**8 + i * 86400 for i in range(len(sizes))]
    source = [BackupFile(t, s, None, f"/src/s/{t}/f.gz".encode(), t)
              for t, s in zip(times, sizes, strict=True)]
    first = data.draw(st.integers(min_value=0, max_value=len(sizes) - 1), label="first")
    copy = [BackupFile(r.backup_at, r.size, None, b"/copy/root" + r.path[4:], r.backup_at)
            for r in source[first:]]
    judge = {"grace_hours": 6, "verify": ["size"]}
    assert check_copy("C", [Series("s", b"s", copy)], {}, "/copy/root", 10**9,
                      originals_of(source), **judge) == {}
    cut = data.draw(st.integers(min_value=0, max_value=len(copy) - 1), label="cut")
    assume_size = copy[cut].size
    if assume_size == 0:
        return
    copy[cut] = copy[cut]._replace(size=assume_size - 1)
    found = check_copy("C", [Series("s", b"s", copy)], {}, "/copy/root", 10**9,
                       originals_of(source), **judge)
    (reason,) = found["s"]
    assert reason.reason == "copy-differs"
    assert reason.detail.startswith(f"s/{copy[cut].backup_at}/f.gz is ")
    assert reason.at == (copy[cut].backup_at,)

