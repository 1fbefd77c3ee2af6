"""PNG pictures for builders without JavaScript (LaTeX, epub): the pictures' PNG, as a file."""

from __future__ import annotations

from pathlib import Path

from .. import pictures
from ..atomic import write_atomic
from ..checks import NodeStatus
from ..config import NodeSettings
from ..store import NodeData

available = pictures.png_available


def file_name(options: pictures.ChartOptions) -> str:
    """Deterministic: the same chart options give the same file (and LaTeX/epub names)."""
    return f"scmmonitor-{options.node}-{options.key}.png"


def render(data: NodeData, status: NodeStatus, options: pictures.ChartOptions, path: Path,
           node: NodeSettings | None = None) -> None:
    """Draw the chart as a PNG and write it atomically (a reader never sees half a file)."""
    write_atomic(path, pictures.png(data, status, options, node))
