"""partnerships, diagnoses, contracts, specialist hours, benefits, outcomes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 13:15:42.519473
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "partnerships",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("teryt", sa.String(length=7), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "benefits",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("legal_basis", sa.String(length=40), nullable=False),
        sa.Column("grosze", sa.BigInteger(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=True),
        sa.Column("period_to", sa.Date(), nullable=True),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("benefits", schema=None) as batch_op:
        batch_op.create_index("ix_benefits_institution_paid", ["institution_id", "paid_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_benefits_person_id"), ["person_id"], unique=False)

    op.create_table(
        "outcomes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("source_type", sa.String(length=20), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("outcomes", schema=None) as batch_op:
        batch_op.create_index("ix_outcomes_institution_on", ["institution_id", "on"], unique=False)
        batch_op.create_index(batch_op.f("ix_outcomes_person_id"), ["person_id"], unique=False)

    op.create_table(
        "partnership_members",
        sa.Column("partnership_id", sa.Uuid(), nullable=False),
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
        ),
        sa.ForeignKeyConstraint(
            ["partnership_id"],
            ["partnerships.id"],
        ),
        sa.PrimaryKeyConstraint("partnership_id", "institution_id"),
    )
    with op.batch_alter_table("partnership_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_partnership_members_institution_id"), ["institution_id"], unique=False)

    op.create_table(
        "contracts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("partnership_id", sa.Uuid(), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=True),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("institutions", sa.Text(), nullable=False),
        sa.Column("signing_members", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("approved_by", sa.Uuid(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signatures", sa.Text(), nullable=False),
        sa.Column("reviews", sa.Text(), nullable=False),
        sa.Column("versions", sa.Text(), nullable=False),
        sa.Column("termination_reason", sa.String(length=500), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["institutions.id"],
        ),
        sa.ForeignKeyConstraint(
            ["family_id"],
            ["families.id"],
        ),
        sa.ForeignKeyConstraint(
            ["partnership_id"],
            ["partnerships.id"],
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contracts_family_id"), ["family_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_contracts_partnership_id"), ["partnership_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_contracts_person_id"), ["person_id"], unique=False)

    op.create_table(
        "diagnoses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("worker_id", sa.Uuid(), nullable=True),
        sa.Column("diagnosed_on", sa.Date(), nullable=False),
        sa.Column("areas", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["family_id"],
            ["families.id"],
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"],
            ["workers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("diagnoses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_diagnoses_family_id"), ["family_id"], unique=False)

    op.create_table(
        "partnership_team_members",
        sa.Column("partnership_id", sa.Uuid(), nullable=False),
        sa.Column("team", sa.String(length=4), nullable=False),
        sa.Column("worker_id", sa.Uuid(), nullable=False),
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
        ),
        sa.ForeignKeyConstraint(
            ["partnership_id"],
            ["partnerships.id"],
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"],
            ["workers.id"],
        ),
        sa.PrimaryKeyConstraint("partnership_id", "team", "worker_id"),
    )
    op.create_table(
        "specialist_hours",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("family_id", sa.Uuid(), nullable=True),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("centihours", sa.Integer(), nullable=False),
        sa.Column("contract_action_id", sa.Uuid(), nullable=True),
        sa.Column("corrects", sa.Uuid(), nullable=True),
        sa.Column("superseded_by", sa.Uuid(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["family_id"],
            ["families.id"],
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("specialist_hours", schema=None) as batch_op:
        batch_op.create_index("ix_hours_institution_on", ["institution_id", "on"], unique=False)
        batch_op.create_index(batch_op.f("ix_specialist_hours_family_id"), ["family_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_specialist_hours_person_id"), ["person_id"], unique=False)

    op.create_table(
        "contract_parties",
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
        ),
        sa.PrimaryKeyConstraint("contract_id", "institution_id"),
    )
    with op.batch_alter_table("contract_parties", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contract_parties_institution_id"), ["institution_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("contract_parties", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contract_parties_institution_id"))

    op.drop_table("contract_parties")
    with op.batch_alter_table("specialist_hours", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_specialist_hours_person_id"))
        batch_op.drop_index(batch_op.f("ix_specialist_hours_family_id"))
        batch_op.drop_index("ix_hours_institution_on")

    op.drop_table("specialist_hours")
    op.drop_table("partnership_team_members")
    with op.batch_alter_table("diagnoses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_diagnoses_family_id"))

    op.drop_table("diagnoses")
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contracts_person_id"))
        batch_op.drop_index(batch_op.f("ix_contracts_partnership_id"))
        batch_op.drop_index(batch_op.f("ix_contracts_family_id"))

    op.drop_table("contracts")
    with op.batch_alter_table("partnership_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partnership_members_institution_id"))

    op.drop_table("partnership_members")
    with op.batch_alter_table("outcomes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outcomes_person_id"))
        batch_op.drop_index("ix_outcomes_institution_on")

    op.drop_table("outcomes")
    with op.batch_alter_table("benefits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_benefits_person_id"))
        batch_op.drop_index("ix_benefits_institution_paid")

    op.drop_table("benefits")
    op.drop_table("partnerships")
