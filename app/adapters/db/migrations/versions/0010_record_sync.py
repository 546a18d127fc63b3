"""source records, import batches and their rejects

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [target])


def upgrade() -> None:
    op.create_table(
        "import_batches",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("profile", sa.String(length=40), nullable=False),
        sa.Column("profile_version", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("enrolled", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("families_created", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("institution_id", "institutions.id"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("import_batches", schema=None) as batch_op:
        batch_op.create_index("ix_import_batches_institution", ["institution_id", "created_at"], unique=False)
    op.create_table(
        "import_rejects",
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=60), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("external_ref", sa.String(length=100), nullable=True),
        _fk("batch_id", "import_batches.id"),
        sa.PrimaryKeyConstraint("batch_id", "position"),
    )
    op.create_table(
        "source_records",
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("external_ref", sa.String(length=100), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("household_ref", sa.String(length=100), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_batch_id", sa.Uuid(), nullable=True),
        _fk("institution_id", "institutions.id"),
        _fk("person_id", "persons.id"),
        _fk("last_batch_id", "import_batches.id"),
        sa.PrimaryKeyConstraint("institution_id", "external_ref"),
    )
    with op.batch_alter_table("source_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_source_records_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_source_records_last_batch_id"), ["last_batch_id"], unique=False)
        batch_op.create_index("ix_source_records_household", ["institution_id", "household_ref"], unique=False)
    op.create_table(
        "source_households",
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("external_ref", sa.String(length=100), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("members", sa.Text(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_batch_id", sa.Uuid(), nullable=True),
        _fk("institution_id", "institutions.id"),
        _fk("family_id", "families.id"),
        _fk("last_batch_id", "import_batches.id"),
        sa.PrimaryKeyConstraint("institution_id", "external_ref"),
    )
    with op.batch_alter_table("source_households", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_source_households_family_id"), ["family_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_source_households_last_batch_id"), ["last_batch_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("source_households", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_source_households_last_batch_id"))
        batch_op.drop_index(batch_op.f("ix_source_households_family_id"))
    op.drop_table("source_households")
    with op.batch_alter_table("source_records", schema=None) as batch_op:
        batch_op.drop_index("ix_source_records_household")
        batch_op.drop_index(batch_op.f("ix_source_records_last_batch_id"))
        batch_op.drop_index(batch_op.f("ix_source_records_person_id"))
    op.drop_table("source_records")
    op.drop_table("import_rejects")
    with op.batch_alter_table("import_batches", schema=None) as batch_op:
        batch_op.drop_index("ix_import_batches_institution")
    op.drop_table("import_batches")
