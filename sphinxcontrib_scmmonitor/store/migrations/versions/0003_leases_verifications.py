"""One collector per node (leases) and the content checks' results (verifications).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("since", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["node_id"], ["nodes.id"], ondelete="CASCADE",
                                name="fk_leases_node_id_nodes"),
        sa.PrimaryKeyConstraint("node_id", name="pk_leases"),
    )
    op.create_table(
        "verifications",
        sa.Column("backup_id", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mtime", sa.Float(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("gzip_ok", sa.Boolean(), nullable=True),
        sa.Column("gzip_error", sa.Text(), nullable=True),
        sa.Column("checked_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["backup_id"], ["backups.id"], ondelete="CASCADE",
                                name="fk_verifications_backup_id_backups"),
        sa.PrimaryKeyConstraint("backup_id", name="pk_verifications"),
    )


def downgrade() -> None:
    op.drop_table("verifications")
    op.drop_table("leases")
