"""How a collection reports itself: live per-node progress on a terminal, log lines for cron."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from ..collect import NodeResult


def describe(result: NodeResult) -> str:
    """One line per node, the same on a terminal and in cron mail."""
    head = f"{result.node}: {'ok' if result.ok else 'FAILED'}"
    body = (f"{result.files} files ({result.added} new, {result.changed} changed, "
            f"{result.gone} gone)")
    if result.unparsed:
        body += f", {result.unparsed} without a date part"
    via = f" via {result.method}" if result.method else ""
    line = f"{head}, {body}{via}"
    checked = [f"{n} {word}" for n, word in ((result.hashed, "hashed"),
                                             (result.tested, "tested")) if n]
    if result.corrupt:
        checked.append(f"{result.corrupt} failing gzip -t")
    if checked:
        line += ", " + ", ".join(checked)
    line += f" in {result.seconds:.1f} s"
    if result.error:
        line += f": {result.error}"
    if result.root_moved:
        line += f"; {result.root_moved}"
    for problem in result.verify_problems:  # the listing is stored all the same
        line += f"; {problem}"
    return line


class LineReporter:
    """Plain lines, one per finished node (no TTY: cron, systemd, CI)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.lock = threading.Lock()

    def started(self, node: str) -> None:
        pass

    def progress(self, node: str, files: int) -> None:
        pass

    def finished(self, result: NodeResult) -> None:
        with self.lock:
            print(describe(result), file=self.stream, flush=True)

    def close(self) -> None:
        pass


class LiveReporter:
    """A live rich display: a spinner and a file count per node while they run."""

    def __init__(self, nodes: list[str]) -> None:
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.console = Console(stderr=False)
        self.progress_bar = Progress(SpinnerColumn(), TextColumn("[bold]{task.fields[node]}"),
                                     TextColumn("{task.description}"), TimeElapsedColumn(),
                                     console=self.console, transient=False)
        self.tasks = {n: self.progress_bar.add_task("waiting", node=n, total=None)
                      for n in nodes}
        self.failed: list[NodeResult] = []
        self.progress_bar.start()

    def started(self, node: str) -> None:
        self.progress_bar.update(self.tasks[node], description="connecting…")

    def progress(self, node: str, files: int) -> None:
        self.progress_bar.update(self.tasks[node], description=f"{files} files…")

    def finished(self, result: NodeResult) -> None:
        from rich.markup import escape

        if not result.ok or result.verify_problems:
            self.failed.append(result)
        style = "green" if result.ok else "red"
        self.progress_bar.update(self.tasks[result.node], total=1, completed=1,
                                 description=f"[{style}]{escape(describe(result))}[/]")

    def close(self) -> None:
        self.progress_bar.stop()
        # a live line is cut at the terminal's width; the fix is often at the end of the error
        for result in self.failed:
            for text in ([result.error] if result.error else []) + list(result.verify_problems):
                self.console.print(f"{result.node}: {text}", markup=False, highlight=False,
                                   soft_wrap=True, style="red")
