"""RowResults -> BENCHMARKS.md (markdown tables, one summary and one section per row)."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

from .common import Check, RowResult, Timing


def _num(value: float, unit: str) -> str:
    if math.isnan(value):
        return "-"
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
    if unit == "x":
        return f"{value:.2f}x"
    return f"{value:.1f}{unit if unit.startswith(' ') else ' ' + unit}"


def _check_value(c: Check) -> str:
    return _num(c.value, c.unit)


def _verdict(c: Check) -> str:
    return "-" if c.passed is None else ("**PASS**" if c.passed else "**MISS**")


def _timing_line(t: Timing) -> str:
    vals = t.values
    if not vals:
        return f"| {t.name} | - | - | - | 0 |"
    return (f"| {t.name} | {_num(t.median, t.unit)} | {_num(min(vals), t.unit)} | "
            f"{_num(max(vals), t.unit)} | {len(vals)} |")


def render(rows: Sequence[RowResult], machine: list[tuple[str, str]], *, quick: bool,
           command: str, started: float, seconds: float,
           load: tuple[tuple[float, float, float], tuple[float, float, float]]) -> str:
    out: list[str] = []
    out.append("# Benchmarks")
    out.append("")
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started))
    out.append(f"Written by `{command}` on {when} in {seconds / 60:.1f} minutes"
               + (" (**--quick**: fewer repetitions, not for comparison)" if quick else "")
               + ". Every row is measured side by side with its baseline in the same run "
               "(variants interleaved, medians of the repetitions); ratios are of medians. "
               "Regenerate with `make bench` (or `python -m benchmarks`; "
               "`--only 1,3 --quick` to iterate).")
    out.append("")
    out.append("| # | what | measured | target | result |")
    out.append("|---|---|---|---|---|")
    for row in rows:
        if row.skipped or not row.checks:
            out.append(f"| {row.number} | {row.title} | {row.skipped or '-'} | - | SKIP |")
            continue
        for i, c in enumerate(row.checks):
            what = f"{row.title}: {c.what}" if i == 0 else f"… {c.what}"
            out.append(f"| {row.number if i == 0 else ''} | {what} | {_check_value(c)} | "
                       f"{c.target} | {_verdict(c)} |")
    out.append("")
    out.append("## Machine")
    out.append("")
    out.append("| | |")
    out.append("|---|---|")
    for key, value in machine:
        out.append(f"| {key} | {value} |")
    out.append(f"| load average (1, 5, 15 min) at start | {_load(load[0])} |")
    out.append(f"| load average at end | {_load(load[1])} |")
    out.append("")
    out.append("Load from other processes on the machine shows up in every row, on both "
               "sides of each ratio; rows 2 and 6 feel it most (they need both cores).")
    for row in rows:
        out.append("")
        out.append(f"## {row.number}. {row.title}")
        out.append("")
        if row.skipped:
            out.append(f"Not measured: {row.skipped}")
            for note in row.notes:
                out.append("")
                out.append(note)
            continue
        out.append("| variant | median | min | max | runs |")
        out.append("|---|---|---|---|---|")
        for t in row.timings:
            out.append(_timing_line(t))
        out.append("")
        out.append("| check | measured | target | result |")
        out.append("|---|---|---|---|")
        for c in row.checks:
            out.append(f"| {c.what} | {_check_value(c)} | {c.target} | {_verdict(c)} |")
        for key, value in row.facts:
            out.append(f"| {key} | {value} | | |")
        out.append("")
        out.append(f"Row time: {row.seconds:.0f} s.")
        for note in row.notes:
            out.append("")
            out.append(note)
    out.append("")
    return "\n".join(out)


def _load(avg: tuple[float, float, float]) -> str:
    return ", ".join(f"{x:.2f}" for x in avg)
