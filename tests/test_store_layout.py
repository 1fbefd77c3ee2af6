"""The store package's shape: record types without SQLAlchemy, modules of one job each."""

from __future__ import annotations

import subprocess
import sys
from importlib import resources

import pytest

_NO_SQLALCHEMY = """\
import sys
import {module}
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("sqlalchemy", "alembic"))
assert not loaded, loaded
"""


@pytest.mark.parametrize("module", ["sphinxcontrib_scmmonitor.collect.listing",
                                    "sphinxcontrib_scmmonitor.store"])
def test_the_parser_and_the_record_types_load_no_sqlalchemy(module: str) -> None:
    proc = subprocess.run([sys.executable, "-c", _NO_SQLALCHEMY.format(module=module)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_store_is_loaded_on_first_use() -> None:
    script = ("import sys\nfrom sphinxcontrib_scmmonitor.store import Store\n"
              "assert 'sqlalchemy' in sys.modules and Store.__name__ == 'Store'\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_every_store_module_is_small_and_says_its_job() -> None:
    package = resources.files("sphinxcontrib_scmmonitor.store")
    modules = [p for p in package.iterdir() if p.name.endswith(".py")]
    assert len(modules) >= 8
    for path in modules:
        text = path.read_text()
        assert len(text.splitlines()) <= 400, path.name
        first = text.splitlines()[0]
        assert first.startswith('"""') and first.removesuffix('"""').endswith("."), path.name
