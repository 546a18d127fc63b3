"""Niebieska Karta procedure records, visible only to the owning interdisciplinary team

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "restricted_records",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("form", sa.String(length=10), nullable=False),
        sa.Column("procedure_date", sa.Date(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("family_id", sa.Uuid(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("(person_id IS NULL) <> (family_id IS NULL)", name="ck_restricted_records_one_subject"),
        sa.ForeignKeyConstraint(["team_id"], ["institutions.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"]),
        sa.ForeignKeyConstraint(["family_id"], ["families.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("restricted_records", schema=None) as batch_op:
        batch_op.create_index("ix_restricted_records_team", ["team_id", "created_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_restricted_records_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_restricted_records_family_id"), ["family_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("restricted_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_restricted_records_family_id"))
        batch_op.drop_index(batch_op.f("ix_restricted_records_person_id"))
        batch_op.drop_index("ix_restricted_records_team")

    op.drop_table("restricted_records")
