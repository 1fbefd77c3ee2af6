"""Row 2: 16 nodes x 2,000 tarballs behind 100 ms of round-trip latency vs 1 node.

All 16 nodes are served by the one sshd (each its own backup root, as 16 node
entries) through a latency proxy that delays every chunk by 50 ms each way
(benchmarks/latency.py). A collector that works node after node would take 16x
one node; one that overlaps the round trips takes about one node's time plus
the CPU work of 16 listings.
"""

from __future__ import annotations

import statistics
import subprocess
import time

from sphinxcontrib_scmmonitor.collect import collect_all
from sphinxcontrib_scmmonitor.collect.ssh import listing_command
from sphinxcontrib_scmmonitor.config import NodeSettings

from .common import (
    Context,
    RowResult,
    at_most,
    drop_store,
    fresh_store,
    interleave,
    settings_for,
)
from .latency import LatencyProxy

NODES, SERIES, PER_SERIES = 16, 20, 100  # 2,000 tarballs a node
DELAY = 0.05  # each way


def row2(ctx: Context) -> RowResult:
    row = RowResult(2, "16 nodes x 2,000 tarballs with 100 ms round-trip latency vs 1 node")
    roots = [ctx.tree(f"n{i:02d}", SERIES, PER_SERIES) for i in range(NODES)]
    sshd = ctx.sshd
    with LatencyProxy(sshd.port, DELAY) as proxy:
        known = ctx.tmp / "known_hosts_proxy"
        known.write_text(f"[127.0.0.1]:{proxy.port} {sshd.host_key_pub}\n"
                         f"[127.0.0.1]:{sshd.port} {sshd.host_key_pub}\n")

        def nodes(port: int) -> list[NodeSettings]:
            tables = {f"N{i:02d}": {**ctx.ssh_node(root), "port": port,
                                    "known_hosts": str(known)}
                      for i, root in enumerate(roots)}
            return list(settings_for(tables).nodes.values())

        slow, fast = nodes(proxy.port), nodes(sshd.port)

        cpu: dict[int, list[float]] = {1: [], NODES: []}

        def collect(which: list[NodeSettings]) -> float:
            store = fresh_store(ctx.tmp, "row2")
            try:
                c0 = time.process_time()
                t0 = time.perf_counter()
                results = collect_all(store, which, workers=16)
                dt = time.perf_counter() - t0
                if which[0].port == proxy.port:
                    cpu[len(which)].append(time.process_time() - c0)
            finally:
                drop_store(store)
            bad = [r for r in results if not r.ok or r.added != SERIES * PER_SERIES]
            if bad:
                raise RuntimeError(f"collect went wrong: {bad[0]}")
            return dt

        ssh = ctx.ssh_argv(port=proxy.port, known_hosts=str(known))
        command, script = listing_command(str(roots[0]), "*.gz")

        def floor() -> float:
            t0 = time.perf_counter()
            subprocess.run([*ssh, command], input=script.encode(), stdout=subprocess.DEVNULL,
                           check=True)
            return time.perf_counter() - t0

        def floor16() -> float:
            """16 plain OpenSSH listings at once: what this one machine can do at best."""
            t0 = time.perf_counter()
            procs = []
            for root in roots:
                command, script = listing_command(str(root), "*.gz")
                proc = subprocess.Popen([*ssh, command], stdin=subprocess.PIPE,
                                        stdout=subprocess.DEVNULL)
                assert proc.stdin is not None
                proc.stdin.write(script.encode())
                proc.stdin.close()
                procs.append(proc)
            if any(p.wait() != 0 for p in procs):
                raise RuntimeError("a plain ssh listing failed")
            return time.perf_counter() - t0

        collect(slow[:1])  # warm-up
        variants = {
            "16 nodes, 100 ms RTT (collect_all)": lambda: collect(slow),
            "1 node, 100 ms RTT (collect_all)": lambda: collect(slow[:1]),
            "  plain OpenSSH listing of 1 node, 100 ms RTT": floor,
            "  16 plain OpenSSH listings at once, 100 ms RTT": floor16,
            "  16 nodes, no added latency": lambda: collect(fast),
            "  1 node, no added latency": lambda: collect(fast[:1]),
        }
        timings = interleave(variants, {n: ctx.reps(5, 2) for n in variants})
    row.timings = list(timings.values())
    names = list(variants)
    many, one = timings[names[0]].median, timings[names[1]].median
    row.checks.append(at_most("16 nodes / 1 node (wall)", many / one, 1.5))
    row.facts += [
        ("collector's own CPU time (all its threads), 16 nodes / 1 node",
         f"{statistics.median(cpu[NODES]):.2f} s / {statistics.median(cpu[1]):.2f} s"),
        ("node after node would take", f"~{NODES * one:.1f} s (16 x one node)"),
        ("1 node / plain ssh under the same latency",
         f"{one / timings[names[2]].median:.2f}x"),
        ("16 nodes / 16 plain ssh listings at once (this machine's floor)",
         f"{many / timings[names[3]].median:.2f}x"),
        ("no latency: 16 nodes / 1 node",
         f"{timings[names[4]].median / timings[names[5]].median:.2f}x"),
    ]
    row.notes += [
        "The 16 'remote' nodes are one sshd on this 2-core machine: their 16 sshd sessions "
        "and 16 `find`s (~0.05 s of CPU each) compete with the collector for the same two "
        "cores, where real nodes would each bring their own. The `16 plain OpenSSH "
        "listings at once` line is that floor: what this machine does with no collector "
        "code at all. The collector's own CPU is ~50 ms a node (handshake ~5 ms, parsing "
        "2,000 records ~10 ms, store and channel the rest).",
        "One thread per node (collect_all, 16 workers) overlaps the ~10 round trips of "
        "each SSH connection (banner, key exchange, auth, channel, exec, data); what is "
        "left over one node is CPU: 16 paramiko handshakes and packet loops, 16 listings "
        "parsed under one GIL on 2 cores, 16 sshd forks and `find`s on the same machine, and "
        "16 short store transactions queued one after another (BEGIN IMMEDIATE).",
        "Fixed for this row: (1) a correctness bug: the collector stopped reading when "
        "the exit status had arrived and its buffer was momentarily empty, but sshd may "
        "send exit-status before the last of find's output; under latency one of 16 "
        "listings ended after 1,882 of 2,000 files (a partial run). It now reads to EOF "
        "(collect/ssh.py). (2) Threads of one collector queue on an in-process lock "
        "before BEGIN IMMEDIATE instead of in SQLite's sleeping busy handler: 16 nodes' "
        "store work finishing at once 0.50 s -> 0.32 s (store/db.py Store.write).",
        "Next bottleneck: the GIL. With hundreds of nodes, or much bigger listings per "
        "node, a process pool (one process per few nodes) would scale with the cores; "
        "the store writes (one transaction per node) would then be the serial part.",
    ]
    return row
