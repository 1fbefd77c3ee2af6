"""PNG pictures for builders without JavaScript (LaTeX, epub): the pictures' PNG, as a file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from .. import pictures
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
    content = pictures.png(data, status, options, node)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
