"""The table of restricted (Niebieska Karta) records; it registers on the shared SQLModel.metadata.

Nothing else in the schema refers to it, and no view, report query or event joins it: the only way
to its rows is SqlRestrictedRecordRepository, behind the use cases that ask `may_see` first.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import CheckConstraint, Column, Index
from sqlmodel import Field, SQLModel

from app.adapters.db.types import UtcDateTime


def _utc() -> Any:
    return Field(sa_column=Column(UtcDateTime(), nullable=False))


class RestrictedRecordRow(SQLModel, table=True):
    __tablename__ = "restricted_records"
    id: UUID = Field(primary_key=True)
    team_id: UUID = Field(foreign_key="institutions.id")
    form: str = Field(max_length=10)
    procedure_date: date
    person_id: UUID | None = Field(default=None, foreign_key="persons.id", index=True)
    family_id: UUID | None = Field(default=None, foreign_key="families.id", index=True)
    note: str | None = Field(default=None, max_length=500)
    created_at: datetime = _utc()
    updated_at: datetime = _utc()
    version: int = 1
    __table_args__ = (
        Index("ix_restricted_records_team", "team_id", "created_at", "id"),
        CheckConstraint("(person_id IS NULL) <> (family_id IS NULL)", name="ck_restricted_records_one_subject"),
    )
