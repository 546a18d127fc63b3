"""partner endpoints and the deliveries of envelopes to them

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "partner_deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"]),
        sa.ForeignKeyConstraint(["institution_id"], ["institutions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("partner_deliveries", schema=None) as batch_op:
        batch_op.create_index("uq_partner_deliveries_event", ["institution_id", "event_id"], unique=True)
        batch_op.create_index(
            "ix_partner_deliveries_due", ["institution_id", "status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            "ix_partner_deliveries_subject", ["institution_id", "subject_id", "position"], unique=False
        )

    op.create_table(
        "partner_attempts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("delivery_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("operation", sa.String(length=120), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["delivery_id"], ["partner_deliveries.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("partner_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_partner_attempts_delivery_id"), ["delivery_id"], unique=False)

    op.create_table(
        "partner_breakers",
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("open_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("institution_id"),
    )

    op.create_table(
        "partner_cursors",
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("feed_position", sa.BigInteger(), nullable=False),
        sa.Column("status_cursor", sa.Text(), nullable=True),
        sa.Column("next_pull_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pull_failures", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("institution_id"),
    )

    op.create_table(
        "partner_status_reports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("report_key", sa.String(length=64), nullable=False),
        sa.Column("referral_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("partner_status_reports", schema=None) as batch_op:
        batch_op.create_index("uq_partner_status_reports_key", ["institution_id", "report_key"], unique=True)
        batch_op.create_index("ix_partner_status_reports_received", ["institution_id", "received_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("partner_status_reports", schema=None) as batch_op:
        batch_op.drop_index("ix_partner_status_reports_received")
        batch_op.drop_index("uq_partner_status_reports_key")
    op.drop_table("partner_status_reports")
    op.drop_table("partner_cursors")
    op.drop_table("partner_breakers")
    with op.batch_alter_table("partner_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_attempts_delivery_id"))
    op.drop_table("partner_attempts")
    with op.batch_alter_table("partner_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_partner_deliveries_subject")
        batch_op.drop_index("ix_partner_deliveries_due")
        batch_op.drop_index("uq_partner_deliveries_event")
    op.drop_table("partner_deliveries")
