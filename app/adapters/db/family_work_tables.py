"""Tables of the work with families: partnerships, diagnoses, contracts and what was delivered.

Money is stored as whole grosze and hours as hundredths, in integers, so that sums are exact on
SQLite too (it has no decimal type and would add floats).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, Column, Index, Text
from sqlmodel import Field, SQLModel

from app.adapters.db.types import UtcDateTime


def _utc(nullable: bool = False) -> Any:
    return Field(sa_column=Column(UtcDateTime(), nullable=nullable))


def _text(nullable: bool = False) -> Any:
    return Field(sa_column=Column(Text, nullable=nullable))


class PartnershipRow(SQLModel, table=True):
    __tablename__ = "partnerships"
    id: UUID = Field(primary_key=True)
    name: str = Field(max_length=300)
    teryt: str = Field(max_length=7)
    created_at: datetime = _utc()
    version: int = 1


class PartnershipMemberRow(SQLModel, table=True):
    __tablename__ = "partnership_members"
    partnership_id: UUID = Field(primary_key=True, foreign_key="partnerships.id")
    institution_id: UUID = Field(primary_key=True, foreign_key="institutions.id", index=True)


class TeamMemberRow(SQLModel, table=True):
    __tablename__ = "partnership_team_members"
    partnership_id: UUID = Field(primary_key=True, foreign_key="partnerships.id")
    team: str = Field(primary_key=True, max_length=4)  # PZKW or MGI
    worker_id: UUID = Field(primary_key=True, foreign_key="workers.id")
    institution_id: UUID = Field(foreign_key="institutions.id")


class DiagnosisRow(SQLModel, table=True):
    __tablename__ = "diagnoses"
    id: UUID = Field(primary_key=True)
    family_id: UUID = Field(foreign_key="families.id", index=True)
    institution_id: UUID = Field(foreign_key="institutions.id")
    worker_id: UUID | None = Field(default=None, foreign_key="workers.id")
    diagnosed_on: date
    areas: str = _text()  # JSON list of area assessments
    created_at: datetime = _utc()


class ContractRow(SQLModel, table=True):
    """A contract document; its terms, versions, signatures and reviews are JSON kept with it."""

    __tablename__ = "contracts"
    id: UUID = Field(primary_key=True)
    kind: str = Field(max_length=30)
    partnership_id: UUID = Field(foreign_key="partnerships.id", index=True)
    family_id: UUID | None = Field(default=None, foreign_key="families.id", index=True)
    person_id: UUID | None = Field(default=None, foreign_key="persons.id", index=True)
    institutions: str = _text()
    signing_members: str = _text()
    status: str = Field(max_length=20)
    number: int
    terms: str = _text()
    approved_by: UUID | None = None
    approved_at: datetime | None = _utc(nullable=True)
    signatures: str = _text()
    reviews: str = _text()
    versions: str = _text()
    termination_reason: str | None = Field(default=None, max_length=500)
    created_by: UUID = Field(foreign_key="institutions.id")
    created_at: datetime = _utc()
    updated_at: datetime = _utc()
    version: int = 1


class ContractPartyRow(SQLModel, table=True):
    """Which institutions are parties: the index that visibility and reports query."""

    __tablename__ = "contract_parties"
    contract_id: UUID = Field(primary_key=True, foreign_key="contracts.id")
    institution_id: UUID = Field(primary_key=True, foreign_key="institutions.id", index=True)


class HoursRow(SQLModel, table=True):
    __tablename__ = "specialist_hours"
    id: UUID = Field(primary_key=True)
    institution_id: UUID = Field(foreign_key="institutions.id")
    role: str = Field(max_length=40)
    person_id: UUID | None = Field(default=None, foreign_key="persons.id", index=True)
    family_id: UUID | None = Field(default=None, foreign_key="families.id", index=True)
    on: date
    centihours: int  # 2.5 hours = 250
    contract_action_id: UUID | None = None
    corrects: UUID | None = None
    superseded_by: UUID | None = None
    recorded_at: datetime = _utc()
    actor: str = Field(max_length=255)
    __table_args__ = (Index("ix_hours_institution_on", "institution_id", "on"),)


class BenefitRow(SQLModel, table=True):
    __tablename__ = "benefits"
    id: UUID = Field(primary_key=True)
    institution_id: UUID = Field(foreign_key="institutions.id")
    legal_basis: str = Field(max_length=40)
    grosze: int = Field(sa_column=Column(BigInteger, nullable=False))
    paid_on: date
    period_from: date | None = None
    period_to: date | None = None
    person_id: UUID = Field(foreign_key="persons.id", index=True)
    recorded_at: datetime = _utc()
    actor: str = Field(max_length=255)
    __table_args__ = (Index("ix_benefits_institution_paid", "institution_id", "paid_on"),)


class OutcomeRow(SQLModel, table=True):
    __tablename__ = "outcomes"
    id: UUID = Field(primary_key=True)
    institution_id: UUID = Field(foreign_key="institutions.id")
    person_id: UUID = Field(foreign_key="persons.id", index=True)
    kind: str = Field(max_length=40)
    on: date
    source_type: str = Field(max_length=20)
    source_id: str | None = Field(default=None, max_length=64)
    note: str | None = _text(nullable=True)
    recorded_at: datetime = _utc()
    actor: str = Field(max_length=255)
    __table_args__ = (Index("ix_outcomes_institution_on", "institution_id", "on"),)
