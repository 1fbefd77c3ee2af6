"""Which verify tools a node lacks (verify_missing), so ``unverified`` outlives collect's line.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # empty = none known missing: the next run with a verify step due finds out again
    op.create_table(
        "verify_missing",
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("tool", sa.String(40), nullable=False),
        sa.Column("since", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["node_id"], ["nodes.id"], ondelete="CASCADE",
                                name="fk_verify_missing_node_id_nodes"),
        sa.PrimaryKeyConstraint("node_id", "tool", name="pk_verify_missing"),
    )


def downgrade() -> None:
    op.drop_table("verify_missing")
