"""A chart's options as its directive settled them; the picture's file name is their hash."""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass, fields

METRICS = ("size", "count")
SCALES = ("linear", "log", "percent")
RANGES = ("1m", "3m", "6m", "1y", "all")
#: a picture is drawn this wide; pages scale it to their column (it is a vector picture)
WIDTH = 900
MIN_HEIGHT, MAX_HEIGHT = 160, 2000
#: CSS units -> pixels (CSS's own ratios; a vh is taken of a 900 px high window)
_UNIT_PX = {"px": 1.0, "em": 16.0, "rem": 16.0, "pt": 4 / 3, "cm": 96 / 2.54,
            "mm": 96 / 25.4, "in": 96.0, "vh": 9.0}
_LENGTH_RE = re.compile(r"(\d+(?:\.\d+)?)([a-z]*)\Z")


@dataclass(frozen=True)
class ChartOptions:
    """One chart as its directive asked for it; the picture's name is a hash of these."""

    node: str
    title: str
    series: tuple[str, ...] = ()
    metric: str = "size"
    scale: str = "linear"
    range: str = "1y"
    height: int = 400
    width: int = WIDTH

    def __post_init__(self) -> None:
        for name, value, allowed in (("metric", self.metric, METRICS),
                                     ("scale", self.scale, SCALES),
                                     ("range", self.range, RANGES)):
            if value not in allowed:
                raise ValueError(f"{name} {value!r} is not one of {', '.join(allowed)}")
        if not (MIN_HEIGHT <= self.height <= MAX_HEIGHT and 200 <= self.width <= 4000):
            raise ValueError(f"picture size {self.width}x{self.height} px is out of range")

    @property
    def key(self) -> str:
        """Stable across builds and exports: the HTML names the picture by it."""
        return _key(self)

    def file_name(self, suffix: str = ".svg") -> str:
        return self.key + suffix

    def to_json(self) -> dict[str, object]:
        # not dataclasses.asdict: it deep-copies every value, 100 µs a chart
        out: dict[str, object] = {f.name: getattr(self, f.name) for f in fields(self)}
        out["series"] = list(self.series)
        return out

    @classmethod
    def from_json(cls, value: object) -> ChartOptions:
        """From the manifest; raises ValueError naming what is wrong."""
        if not isinstance(value, dict):
            raise ValueError("a chart is not an object")
        try:
            series = value.get("series", [])
            if not isinstance(series, list) or not all(isinstance(s, str) for s in series):
                raise ValueError("series is not a list of names")
            return cls(node=str(value["node"]), title=str(value["title"]),
                       series=tuple(series), metric=str(value.get("metric", "size")),
                       scale=str(value.get("scale", "linear")),
                       range=str(value.get("range", "1y")), height=int(value["height"]),
                       width=int(value.get("width", WIDTH)))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"a chart lacks {exc}") from None


def css_px(length: str) -> int:
    """A directive's CSS height (500px, 30em, 2in) in pixels, within the allowed range."""
    match = _LENGTH_RE.match(length.strip().lower())
    if not match or (match.group(2) or "px") not in _UNIT_PX:
        raise ValueError(f"{length!r} is not a CSS length")
    px = round(float(match.group(1)) * _UNIT_PX[match.group(2) or "px"])
    return max(MIN_HEIGHT, min(MAX_HEIGHT, px))


@functools.lru_cache(maxsize=4096)
def _key(options: ChartOptions) -> str:
    # kept: the pages of a site ask for the same few charts' names many times over (the
    # HTML, the manifest, the picture's file), each a JSON text and a hash
    text = json.dumps(options.to_json(), sort_keys=True, ensure_ascii=True)
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:16]
