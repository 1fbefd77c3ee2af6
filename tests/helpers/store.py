"""What the tests need to know about the store's schema."""

from __future__ import annotations

from importlib import resources

from alembic.config import Config
from alembic.script import ScriptDirectory


def head_revision() -> str:
    cfg = Config()
    cfg.set_main_option("script_location",
                        str(resources.files("sphinxcontrib_scmmonitor.store") / "migrations"))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head
    return head
