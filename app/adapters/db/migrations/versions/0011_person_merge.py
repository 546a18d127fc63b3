"""person merges, kept so that one can be undone

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.add_column(sa.Column("merged_into", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key("fk_persons_merged_into", "persons", ["merged_into"], ["id"])

    op.create_table(
        "person_merges",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kept_person_id", sa.Uuid(), nullable=False),
        sa.Column("merged_person_id", sa.Uuid(), nullable=False),
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("worker_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changes", sa.Text(), nullable=False),
        sa.Column("pesel_moved", sa.Boolean(), nullable=False),
        sa.Column("document_moved", sa.Boolean(), nullable=False),
        sa.Column("kept_sex_before", sa.String(length=1), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("undone_by", sa.String(length=255), nullable=True),
        sa.Column("undo_note", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["kept_person_id"], ["persons.id"]),
        sa.ForeignKeyConstraint(["merged_person_id"], ["persons.id"]),
        sa.ForeignKeyConstraint(["institution_id"], ["institutions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("person_merges", schema=None) as batch_op:
        batch_op.create_index("ix_person_merges_institution", ["institution_id", "merged_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_person_merges_kept_person_id"), ["kept_person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_person_merges_merged_person_id"), ["merged_person_id"], unique=False)

    op.create_table(
        "reconciliation_differences",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("noted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("reconciliation_differences", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reconciliation_differences_person_id"), ["person_id"], unique=False)

    op.create_table(
        "reconciliation_resolutions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("difference_id", sa.Uuid(), nullable=False),
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("chosen_key", sa.String(length=200), nullable=False),
        sa.Column("chosen_value", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("worker_id", sa.Uuid(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["difference_id"], ["reconciliation_differences.id"]),
        sa.ForeignKeyConstraint(["institution_id"], ["institutions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("reconciliation_resolutions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reconciliation_resolutions_latest", ["difference_id", "institution_id", "resolved_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("reconciliation_resolutions", schema=None) as batch_op:
        batch_op.drop_index("ix_reconciliation_resolutions_latest")
    op.drop_table("reconciliation_resolutions")

    with op.batch_alter_table("reconciliation_differences", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reconciliation_differences_person_id"))
    op.drop_table("reconciliation_differences")

    with op.batch_alter_table("person_merges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_merges_merged_person_id"))
        batch_op.drop_index(batch_op.f("ix_person_merges_kept_person_id"))
        batch_op.drop_index("ix_person_merges_institution")
    op.drop_table("person_merges")

    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.drop_constraint("fk_persons_merged_into", type_="foreignkey")
        batch_op.drop_column("merged_into")
