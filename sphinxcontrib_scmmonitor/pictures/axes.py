"""The chart's axes: a value range with round ticks per metric and scale, and date ticks."""

from __future__ import annotations

import calendar
import math
import time
from collections.abc import Sequence
from typing import NamedTuple

DAY = 86400


def _nice(step: float) -> float:
    """1, 2, 2.5 or 5 times a power of ten, at least ``step``."""
    if step <= 0:
        return 1.0
    power: float = 10 ** math.floor(math.log10(step))
    for m in (1, 2, 2.5, 5, 10):
        if m * power >= step:
            return m * power
    return 10 * power  # pragma: no cover


def size_label(value: float) -> str:
    """1.5 GB, 200 MB, 0 B: 1024-based like du -h, without a trailing .0."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            text = f"{value:.1f}".removesuffix(".0") if unit != "B" else f"{value:.0f}"
            return f"{sign}{text} {unit}"
        value /= 1024
    raise AssertionError  # pragma: no cover


class Axis(NamedTuple):
    low: float
    high: float
    ticks: list[tuple[float, str]]
    log: bool


def value_axis(values: Sequence[float], metric: str, scale: str) -> Axis:
    low = min(values, default=0.0)
    high = max(values, default=1.0)
    if scale == "log":
        low, high = max(low, 1.0), max(high, 1.0)
        lo_e, hi_e = math.floor(math.log2(low)), math.ceil(math.log2(high))
        if hi_e <= lo_e:
            hi_e = lo_e + 1
        every = max(1, math.ceil((hi_e - lo_e) / 6))
        lo_e -= lo_e % every
        # the top of the axis is a tick: a label at or above the highest value
        hi_e = lo_e + math.ceil((hi_e - lo_e) / every) * every
        ticks = [(2.0 ** e, size_label(2.0 ** e) if metric == "size" else f"{2 ** e:g}")
                 for e in range(lo_e, hi_e + 1, every)]
        return Axis(float(2 ** lo_e), float(2 ** hi_e), ticks, True)
    if scale == "percent":
        low, high = min(low, 0.0), max(high, 0.0)
    else:
        low = 0.0
    if high - low <= 0:
        high = low + (1.0 if metric == "count" or scale == "percent" else 1024.0)
    if metric == "size" and scale == "linear":
        unit = 1024.0 ** max(0, min(4, int(math.log(max(high, 1), 1024))))
        # whole bytes at least: "0 B, 0 B, 1 B" is no scale
        step = max(1.0, _nice((high - low) / unit / 5) * unit)
    else:
        step = _nice((high - low) / 5)
        if metric == "count" and scale != "percent":
            step = max(1.0, round(step))
    first = math.floor(low / step) * step
    last = math.ceil(high / step) * step
    ticks = []
    value = first
    while value <= last + step / 2:
        if scale == "percent":
            label = f"{value:+g} %" if value else "0 %"
        elif metric == "size":
            label = size_label(value)
        else:
            label = f"{value:g}"
        ticks.append((value, label))
        value += step
    return Axis(first, last, ticks, False)


def _month_start(ts: float, step: int) -> tuple[int, int]:
    tm = time.gmtime(ts)
    month = (tm.tm_mon - 1) // step * step
    return tm.tm_year, month + 1


def time_ticks(t0: float, t1: float, max_ticks: int) -> list[tuple[float, str]]:
    """Round dates between t0 and t1: days, weeks, months or years, whichever fit."""
    span = max(t1 - t0, DAY)
    max_ticks = max(2, max_ticks)
    for days in (1, 2, 7, 14):
        if span / (days * DAY) <= max_ticks:
            first = math.ceil(t0 / DAY) * DAY
            if days == 7:  # Mondays
                first += ((7 - time.gmtime(first).tm_wday) % 7) * DAY
            ticks: list[tuple[float, str]] = []
            t = first
            while t <= t1:
                ticks.append((t, time.strftime("%d %b", time.gmtime(t)).lstrip("0")))
                t += days * DAY
            return ticks
    for months in (1, 2, 3, 6, 12, 24, 60, 120):
        if span / (months * 30.44 * DAY) <= max_ticks:
            step = months
            break
    else:
        step = 240
    year, month = _month_start(t0, min(step, 12))
    ticks = []
    while True:
        t = calendar.timegm((year, month, 1, 0, 0, 0))
        if t > t1:
            break
        if t >= t0 and (step < 12 or year % (step // 12) == 0):
            label = (time.strftime("%b %Y", time.gmtime(t)) if step < 12 and
                     (month == 1 or not ticks) else time.strftime("%b", time.gmtime(t)))
            ticks.append((t, str(year) if step >= 12 else label))
        month += min(step, 12)
        while month > 12:
            month -= 12
            year += 1
    return ticks
