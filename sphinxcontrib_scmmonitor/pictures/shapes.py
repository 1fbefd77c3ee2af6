"""The scene a picture is (shapes in pixels) and the text helpers that keep it valid XML."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import NamedTuple

#: what XML 1.0 cannot carry even escaped (controls, lone surrogates): names are hostile data
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class Line(NamedTuple):
    points: list[tuple[int, int]]
    classes: str
    #: a series' name and newest point (epoch s, value), for readers of the SVG
    name: str | None = None
    newest: tuple[int, float] | None = None


class Text(NamedTuple):
    x: float
    y: float
    text: str
    classes: str
    anchor: str = "start"  # start | middle | end


class Rect(NamedTuple):
    x: float
    y: float
    w: float
    h: float
    classes: str


class Mark(NamedTuple):
    """A finding's night or a failed run: a small diamond with its words as a tooltip."""

    x: float
    y: float
    classes: str
    title: str


Shape = Line | Text | Rect | Mark


@dataclass
class Scene:
    width: int
    height: int
    title: str
    description: str
    observed_at: float | None
    shapes: list[Shape] = field(default_factory=list)
    #: the data the picture was drawn from (see manifest.data_key), so export can skip it
    key: str = ""


def clean(text: str) -> str:
    """Text XML can carry (names come from remote nodes and may hold anything)."""
    return _NOT_XML.sub("\ufffd", text)


def chars_fitting(width: float, size: float = 11.0) -> int:
    """How many characters of a sans-serif font fit in ``width`` px (an estimate)."""
    return max(1, int(width / (size * 0.58)))


def fit(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[:max(1, chars - 1)] + "\u2026"


def stamp(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts))
