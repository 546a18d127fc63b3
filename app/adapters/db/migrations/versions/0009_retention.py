"""retention: what a referral's receiver was shared is purged a set time after the referral closes

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("receiver_copy_purged_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_referrals_copy_kept",
            ["status", "receiver_id"],
            unique=False,
            postgresql_where=sa.text("receiver_copy_purged_at IS NULL"),
            sqlite_where=sa.text("receiver_copy_purged_at IS NULL"),
        )
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_enrollments_ended",
            ["until"],
            unique=False,
            postgresql_where=sa.text("until IS NOT NULL"),
            sqlite_where=sa.text("until IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_enrollments_ended",
            postgresql_where=sa.text("until IS NOT NULL"),
            sqlite_where=sa.text("until IS NOT NULL"),
        )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_referrals_copy_kept",
            postgresql_where=sa.text("receiver_copy_purged_at IS NULL"),
            sqlite_where=sa.text("receiver_copy_purged_at IS NULL"),
        )
        batch_op.drop_column("receiver_copy_purged_at")
