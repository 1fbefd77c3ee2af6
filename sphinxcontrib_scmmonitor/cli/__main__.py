"""``python -m sphinxcontrib_scmmonitor.cli``: the same as the ``scm-monitor`` script."""

from .commands import run

run()
