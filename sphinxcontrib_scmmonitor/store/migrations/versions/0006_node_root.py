"""The root prefix each node's paths were listed under (nodes.root), so a changed root
moves a node's history instead of doubling it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("nodes") as batch:
        batch.add_column(sa.Column("root", sa.LargeBinary(), nullable=True))
    # A stored path is root + "/" + series + "/" + dated folder + "/" + file, and the
    # dated folder and file hold no series name of their own: so one backup per node
    # and its series' name give back the root the node was listed under.
    conn = op.get_bind()
    rows = conn.execute(sa.text(
        "SELECT b.node_id, b.path, s.raw_name FROM backups b JOIN series s ON s.id = b.series_id"
        " WHERE b.id IN (SELECT min(id) FROM backups GROUP BY node_id)")).fetchall()
    for node_id, path, raw_name in rows:
        path, marker = bytes(path), b"/" + bytes(raw_name) + b"/"
        at = path.rfind(marker)
        if at >= 0:
            conn.execute(sa.text("UPDATE nodes SET root = :root WHERE id = :id"),
                         {"root": path[:at + 1], "id": node_id})


def downgrade() -> None:
    with op.batch_alter_table("nodes") as batch:
        batch.drop_column("root")
