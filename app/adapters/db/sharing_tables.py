"""Tables of lawful sharing: agreements with their parties, a person's consents, and rate-limit counters."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from app.adapters.db.types import UtcDateTime


def _utc(nullable: bool = False) -> Any:
    return Field(sa_column=Column(UtcDateTime(), nullable=nullable))


class AgreementRow(SQLModel, table=True):
    __tablename__ = "agreements"
    id: UUID = Field(primary_key=True)
    title: str = Field(max_length=300)
    purposes: str = Field(max_length=500)  # space-separated SharingPurpose codes
    legal_basis: str = Field(sa_column=Column(Text, nullable=False))
    valid_from: date
    valid_to: date | None = None
    document_ref: str = Field(max_length=200)
    created_by: UUID = Field(foreign_key="institutions.id")
    created_at: datetime = _utc()
    updated_at: datetime = _utc()
    ended_at: datetime | None = _utc(nullable=True)
    end_reason: str | None = Field(default=None, max_length=500)
    version: int = 1


class AgreementPartyRow(SQLModel, table=True):
    __tablename__ = "agreement_parties"
    agreement_id: UUID = Field(primary_key=True, foreign_key="agreements.id")
    institution_id: UUID = Field(primary_key=True, foreign_key="institutions.id", index=True)
    position: int
    receives: str = Field(max_length=500)  # space-separated DataCategory values
    signed_on: date | None = None
    signed_by: str | None = Field(default=None, max_length=255)


class ConsentRow(SQLModel, table=True):
    __tablename__ = "consents"
    id: UUID = Field(primary_key=True)
    person_id: UUID = Field(foreign_key="persons.id")
    grantee_institution_id: UUID | None = Field(default=None, foreign_key="institutions.id")
    grantee_kind: str | None = Field(default=None, max_length=10)
    categories: str = Field(max_length=500)
    purpose: str = Field(max_length=40)
    valid_from: date
    valid_to: date | None = None
    method: str = Field(max_length=20)
    given_on: date
    document_ref: str | None = Field(default=None, max_length=200)
    recorded_by: UUID = Field(foreign_key="institutions.id")
    created_at: datetime = _utc()
    withdrawn_at: datetime | None = _utc(nullable=True)
    withdrawn_by: UUID | None = Field(default=None, foreign_key="institutions.id")
    version: int = 1
    __table_args__ = (Index("ix_consents_person", "person_id", "created_at"),)


class RateLimitWindowRow(SQLModel, table=True):
    """Requests of one client in one fixed window: shared by every worker process through the database."""

    __tablename__ = "rate_limit_windows"
    bucket: str = Field(primary_key=True, max_length=200)
    window_start: datetime = Field(sa_column=Column(UtcDateTime(), primary_key=True))
    hits: int = 0
