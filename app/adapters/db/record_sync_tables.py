"""Tables of file batches (migration 0010): the source records of each institution's system, its households,
the import batches and their rejects. No column holds a plain PESEL: a source record names its person by id, a
reject's reason shows a PESEL masked."""

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


class ImportBatchRow(SQLModel, table=True):
    __tablename__ = "import_batches"
    id: UUID = Field(primary_key=True)
    institution_id: UUID = Field(foreign_key="institutions.id")
    profile: str = Field(max_length=40)
    profile_version: int
    file_name: str = Field(max_length=255)
    sha256: str = Field(max_length=64)
    mode: str = Field(max_length=20)
    status: str = Field(max_length=30)
    actor: str = Field(max_length=255)
    rows_read: int
    created: int
    enrolled: int
    updated: int
    unchanged: int
    rejected: int
    families_created: int
    created_at: datetime = _utc()
    __table_args__ = (Index("ix_import_batches_institution", "institution_id", "created_at"),)


class ImportRejectRow(SQLModel, table=True):
    __tablename__ = "import_rejects"
    batch_id: UUID = Field(primary_key=True, foreign_key="import_batches.id")
    position: int = Field(primary_key=True)
    line: int
    field: str = Field(max_length=60)
    reason: str = _text()
    external_ref: str | None = Field(default=None, max_length=100)


class SourceRecordRow(SQLModel, table=True):
    """What an institution's system last said about one of its persons (app/domain/source_records.py)."""

    __tablename__ = "source_records"
    institution_id: UUID = Field(primary_key=True, foreign_key="institutions.id")
    external_ref: str = Field(primary_key=True, max_length=100)
    person_id: UUID | None = Field(default=None, foreign_key="persons.id", index=True)
    household_ref: str | None = Field(default=None, max_length=100)
    payload: str = _text()  # JSON, never with a PESEL
    content_hash: str = Field(max_length=64)
    first_seen_at: datetime = _utc()
    seen_at: datetime = _utc()
    changed_at: datetime | None = _utc(nullable=True)
    last_batch_id: UUID | None = Field(default=None, foreign_key="import_batches.id", index=True)
    __table_args__ = (Index("ix_source_records_household", "institution_id", "household_ref"),)


class SourceHouseholdRow(SQLModel, table=True):
    """A household as an institution's system last described it, and the family the institution keeps for it."""

    __tablename__ = "source_households"
    institution_id: UUID = Field(primary_key=True, foreign_key="institutions.id")
    external_ref: str = Field(primary_key=True, max_length=100)
    family_id: UUID = Field(foreign_key="families.id", index=True)
    members: str = _text()  # JSON [[person_id, role], ...], sorted
    first_seen_at: datetime = _utc()
    seen_at: datetime = _utc()
    changed_at: datetime | None = _utc(nullable=True)
    last_batch_id: UUID | None = Field(default=None, foreign_key="import_batches.id", index=True)


class SyncCursorRow(SQLModel, table=True):
    """How far Spójnia has read an institution's record system: per stream (its changes, its referral statuses),
    the cursor to ask from next time. Changes move it in the import's own transaction."""

    __tablename__ = "sync_cursors"
    institution_id: UUID = Field(primary_key=True, foreign_key="institutions.id")
    stream: str = Field(primary_key=True, max_length=20)
    cursor: str | None = _text(nullable=True)
    updated_at: datetime = _utc()
