"""sphinxcontrib-scmmonitor: backups of source-code servers, collected, checked and charted.

As a Sphinx extension (``extensions = ["sphinxcontrib_scmmonitor"]``) this
module only hands over to :mod:`sphinxcontrib_scmmonitor.sphinxext`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from sphinx.application import Sphinx

__all__ = ["__version__", "setup"]


def setup(app: Sphinx) -> dict[str, Any]:
    from .sphinxext import setup as _setup

    return _setup(app)
