"""The content checks' results in the store: kept per file, never asked for twice,
forgotten when the file changes (SQLite and PostgreSQL)."""

from __future__ import annotations

import time

from sphinxcontrib_scmmonitor.store import Changes, Record, Store, Verification

AT = 1_764_000_000
A = b"/r/svn/dybsvn/2025/11/24/010000/dybsvn.tar.gz"
B = b"/r/svn/dybsvn/2025/11/25/010000/dybsvn.tar.gz"
ODD = b"/r/svn/\xff\n/2025/11/25/010000/x.tar.gz"
SHA_A = "a" * 64


def _store(url: str, records: list[Record]) -> Store:
    store = Store(url)
    store.ensure_schema()
    node = store.ensure_node("C", "cms02")
    run = store.start_run(node, 10.0)
    store.finish_run(node, run, changes=Changes(added=records), complete=True, ok=True,
                     error=None, method="local", files_seen=len(records), unparsed=0,
                     unparsed_sample=None, now=11.0)
    return store


def _listed(path: bytes, size: int, mtime: float = 5.0) -> Record:
    return Record(path, b"svn/dybsvn", AT, size, mtime)


def test_each_file_is_hashed_and_tested_once_and_read_back(backend_url) -> None:
    store = _store(backend_url, [_listed(A, 100), _listed(B, 200), _listed(ODD, 7)])
    assert store.unverified("C", [B, A, ODD], "sha256") == [B, A, ODD]
    assert store.verified("C") == {}

    assert store.record_sha256("C", {A: SHA_A, ODD: "0" * 64, b"/not/known": "f" * 64},
                               checked_at=1000.5) == 2
    assert store.record_gzip("C", {A: None, B: "gzip: B: not in gzip format"},
                             checked_at=2000.0) == 2

    assert store.unverified("C", [A, B, ODD], "sha256") == [B]
    assert store.unverified("C", [A, B, ODD], "gzip") == [ODD]
    assert store.unverified("C", [b"/not/known"], "gzip") == []
    expected = {A: Verification(SHA_A, True, None, 2000),
                B: Verification(None, False, "gzip: B: not in gzip format", 2000),
                ODD: Verification("0" * 64, None, None, 1000)}
    assert store.verified("C") == expected
    assert store.node_data("C").verified == expected
    assert store.verified("nobody") == {} and store.unverified("nobody", [A], "gzip") == []
    store.close()


def test_a_file_changed_in_place_is_checked_again_and_its_old_result_forgotten(
        backend_url) -> None:
    store = _store(backend_url, [_listed(A, 100)])
    store.record_sha256("C", {A: SHA_A}, checked_at=1000)
    store.record_gzip("C", {A: None}, checked_at=1001)
    node = store.ensure_node("C", "cms02")
    known_id = store.known(node)[A].id
    run = store.start_run(node, 20.0)
    store.finish_run(node, run, changes=Changes(changed=[(known_id, _listed(A, 90, 6.0))]),
                     complete=True, ok=True, error=None, method="local", files_seen=1,
                     unparsed=0, unparsed_sample=None, now=21.0)

    assert store.verified("C") == {}
    assert store.unverified("C", [A], "sha256") == [A]
    assert store.unverified("C", [A], "gzip") == [A]
    store.record_gzip("C", {A: "gzip: unexpected end of file"}, checked_at=3000)
    # the new result only: the hash of the old bytes is gone with them
    assert store.verified("C") == {A: Verification(None, False, "gzip: unexpected end of file",
                                                  3000)}
    store.close()


def test_a_gone_file_is_not_asked_for(backend_url) -> None:
    store = _store(backend_url, [_listed(A, 100), _listed(B, 100)])
    node = store.ensure_node("C", "cms02")
    gone = store.known(node)[A].id
    run = store.start_run(node, time.time())
    store.finish_run(node, run, changes=Changes(gone=[gone]), complete=True, ok=True,
                     error=None, method="local", files_seen=1, unparsed=0,
                     unparsed_sample=None, now=time.time())
    assert store.unverified("C", [A, B], "sha256") == [B]
    store.close()
