"""A backup's node and series in one foreign key: (node_id, series_id) -> series (node_id, id).

PostgreSQL checks a foreign key row by row, one lookup of the referenced row per
inserted row: two keys (node, series) were two lookups for every file a collection
adds. One composite key checks both at once, and also that the backup's node is
its series' node (docs/operations.rst, "Upgrading").

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("uq_series_node_id_id", "series", ["node_id", "id"], unique=True)
    with _verifications_kept(), op.batch_alter_table("backups") as batch:
        batch.drop_constraint("fk_backups_node_id_nodes", type_="foreignkey")
        batch.drop_constraint("fk_backups_series_id_series", type_="foreignkey")
        batch.create_foreign_key("fk_backups_node_id_series", "series",
                                 ["node_id", "series_id"], ["node_id", "id"],
                                 ondelete="CASCADE")


def downgrade() -> None:
    with _verifications_kept(), op.batch_alter_table("backups") as batch:
        batch.drop_constraint("fk_backups_node_id_series", type_="foreignkey")
        batch.create_foreign_key("fk_backups_node_id_nodes", "nodes", ["node_id"], ["id"],
                                 ondelete="CASCADE")
        batch.create_foreign_key("fk_backups_series_id_series", "series", ["series_id"],
                                 ["id"], ondelete="CASCADE")
    op.drop_index("uq_series_node_id_id", table_name="series")


@contextmanager
def _verifications_kept() -> Iterator[None]:
    """On SQLite, the content checks' results set aside while ``backups`` is rebuilt.

    SQLite cannot change a table's constraints in place: Alembic copies the table and
    drops the old one, and with foreign keys on (as every connection of the store has
    them, and the pragma cannot change inside the upgrade's transaction) that drop
    deletes what refers to it, here every row of ``verifications`` (ON DELETE CASCADE).
    They are copied aside first and put back once the new ``backups`` (same ids) is in
    place. PostgreSQL alters the table in place: nothing to do.
    """
    if op.get_bind().dialect.name != "sqlite":
        yield
        return
    op.execute("CREATE TEMP TABLE scm_keep_verifications AS SELECT * FROM verifications")
    op.execute("DELETE FROM verifications")
    yield
    op.execute("INSERT INTO verifications SELECT * FROM scm_keep_verifications")
    op.execute("DROP TABLE scm_keep_verifications")
