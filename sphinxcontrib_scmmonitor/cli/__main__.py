"""``python -m sphinxcontrib_scmmonitor.cli``: the same as the ``scm-monitor`` script."""

import sys

from .commands import main

sys.exit(main())
