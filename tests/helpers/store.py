"""What the tests need to know about the store's schema."""

from __future__ import annotations

from importlib import resources

from alembic.config import Config
from alembic.script import ScriptDirectory

from sphinxcontrib_scmmonitor.store import Store


def head_revision() -> str:
    cfg = Config()
    cfg.set_main_option("script_location",
                        str(resources.files("sphinxcontrib_scmmonitor.store") / "migrations"))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head
    return head


def upgrade_to(url: str, revision: str) -> None:
    """The schema as an older release left it: Alembic's own upgrade up to ``revision``."""
    from alembic import command

    store = Store(url)
    with store.engine.begin() as conn:
        command.upgrade(store._alembic_config(conn), revision)
    store.close()
