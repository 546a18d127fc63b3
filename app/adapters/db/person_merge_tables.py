"""Tables of person merges (what each merge moved, so that it can be undone) and of reconciliation (the
differences reported, so a resolution can name one, and the resolutions). They register on SQLModel.metadata."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from app.adapters.db.types import UtcDateTime


def _utc(nullable: bool = False) -> Any:
    return Field(sa_column=Column(UtcDateTime(), nullable=nullable))


def _text(nullable: bool = False) -> Any:
    return Field(sa_column=Column(Text, nullable=nullable))


class PersonMergeRow(SQLModel, table=True):
    __tablename__ = "person_merges"
    id: UUID = Field(primary_key=True)
    kept_person_id: UUID = Field(foreign_key="persons.id", index=True)
    merged_person_id: UUID = Field(foreign_key="persons.id", index=True)
    institution_id: UUID = Field(foreign_key="institutions.id")
    actor: str = Field(max_length=255)
    worker_id: UUID | None = None
    reason: str = _text()
    merged_at: datetime = _utc()
    # JSON: every row the merge touched (table, key, what changed), never a PESEL; see domain/person_merges.py.
    changes: str = _text()
    pesel_moved: bool = False
    document_moved: bool = False
    kept_sex_before: str | None = Field(default=None, max_length=1)
    state: str = Field(max_length=10)
    undone_at: datetime | None = _utc(nullable=True)
    undone_by: str | None = Field(default=None, max_length=255)
    undo_note: str | None = _text(nullable=True)
    version: int = 1
    __table_args__ = (Index("ix_person_merges_institution", "institution_id", "merged_at"),)


class ReconciliationDifferenceRow(SQLModel, table=True):
    """A difference (person, field) once reported to someone; its id is derived from the two."""

    __tablename__ = "reconciliation_differences"
    id: UUID = Field(primary_key=True)
    person_id: UUID = Field(foreign_key="persons.id", index=True)
    field: str = Field(max_length=40)
    noted_at: datetime = _utc()


class ReconciliationResolutionRow(SQLModel, table=True):
    __tablename__ = "reconciliation_resolutions"
    id: UUID = Field(primary_key=True)
    difference_id: UUID = Field(foreign_key="reconciliation_differences.id")
    institution_id: UUID = Field(foreign_key="institutions.id")
    chosen_key: str = Field(max_length=200)
    chosen_value: str = _text()  # JSON
    fingerprint: str = Field(max_length=64)
    note: str | None = _text(nullable=True)
    actor: str = Field(max_length=255)
    worker_id: UUID | None = None
    resolved_at: datetime = _utc()
    __table_args__ = (Index("ix_reconciliation_resolutions_latest", "difference_id", "institution_id", "resolved_at"),)
