"""``scm-monitor``, the command line, and the helpers only it uses.

- :mod:`.parser`: the argument parser (every command, option and help text)
- :mod:`.commands`: one function per command, `main`, and `run` (the process)
- :mod:`.exits`: every command's exit statuses (the CLI returns them, the docs list them)
- :mod:`.init`: ``scm-monitor init`` (a commented ``scmmonitor.toml``)
- :mod:`.probe`: ``init --probe`` (list one node, guess its layout, pattern and series)
- :mod:`.progress`: live progress on a terminal, plain lines for cron
- :mod:`.demo`: a demo backup tree for the example docs, the docs and the tests

The console script is ``sphinxcontrib_scmmonitor.cli:run``; ``python -m
sphinxcontrib_scmmonitor.cli`` runs the same. Tests call ``main`` in-process.
"""

from __future__ import annotations

from .commands import main, run
from .parser import Parser, build_parser

__all__ = ["Parser", "build_parser", "main", "run"]
