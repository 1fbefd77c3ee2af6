"""Per-series listing digest, so an unchanged series is not re-read on every collect.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL = unknown: the next collection compares every series row by row, then sets them
    with op.batch_alter_table("series") as batch:
        batch.add_column(sa.Column("listed_count", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("listed_digest", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("series") as batch:
        batch.drop_column("listed_digest")
        batch.drop_column("listed_count")
