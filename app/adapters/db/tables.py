"""SQLModel tables. They are the database's shape only; the domain never sees them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Column, Index, Text, text
from sqlmodel import Field, SQLModel

from app.adapters.db.types import UtcDateTime


def _utc(nullable: bool = False, index: bool = False) -> Any:
    return Field(sa_column=Column(UtcDateTime(), nullable=nullable, index=index))


class InstitutionRow(SQLModel, table=True):
    __tablename__ = "institutions"
    id: UUID = Field(primary_key=True)
    type: str = Field(max_length=10)
    name: str = Field(max_length=300)
    regon: str | None = Field(default=None, max_length=14)
    nip: str | None = Field(default=None, max_length=10)
    teryt: str = Field(max_length=7, index=True)
    street: str | None = Field(default=None, max_length=200)
    postal_code: str | None = Field(default=None, max_length=6)
    city: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=30)
    created_at: datetime = _utc()
    updated_at: datetime = _utc()
    version: int = 1
    __table_args__ = (Index("ix_institutions_created", "created_at", "id"),)


class WorkerRow(SQLModel, table=True):
    __tablename__ = "workers"
    id: UUID = Field(primary_key=True)
    institution_id: UUID = Field(foreign_key="institutions.id")
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    role: str = Field(max_length=40)
    email: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=30)
    idp_subject: str | None = Field(default=None, max_length=255)
    active: bool = True
    created_at: datetime = _utc()
    __table_args__ = (
        Index("ix_workers_institution", "institution_id", "created_at", "id"),
        Index("uq_workers_idp_subject", "institution_id", "idp_subject", unique=True),
    )


class PersonRow(SQLModel, table=True):
    __tablename__ = "persons"
    id: UUID = Field(primary_key=True)
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    birth_date: date
    sex: str | None = Field(default=None, max_length=1)
    pesel: str | None = Field(default=None, max_length=11, unique=True)
    id_doc_kind: str | None = Field(default=None, max_length=30)
    id_doc_number: str | None = Field(default=None, max_length=30)
    id_doc_country: str | None = Field(default=None, max_length=2)
    created_at: datetime = _utc()
    updated_at: datetime = _utc()
    version: int = 1
    __table_args__ = (Index("ix_persons_id_doc", "id_doc_country", "id_doc_number", "id_doc_kind"),)


class EnrollmentRow(SQLModel, table=True):
    __tablename__ = "enrollments"
    id: UUID = Field(primary_key=True)
    person_id: UUID = Field(foreign_key="persons.id")
    institution_id: UUID = Field(foreign_key="institutions.id")
    status: str = Field(max_length=40)
    since: date
    until: date | None = None
    worker_id: UUID | None = Field(default=None, foreign_key="workers.id")
    external_ref: str | None = Field(default=None, max_length=100)
    created_at: datetime = _utc()
    updated_at: datetime = _utc()
    version: int = 1
    __table_args__ = (
        Index("ix_enrollments_institution_person", "institution_id", "person_id"),
        Index("ix_enrollments_person", "person_id"),
        # One open enrollment of a person at an institution: registering twice enrolls once.
        Index(
            "uq_enrollments_open",
            "person_id",
            "institution_id",
            unique=True,
            postgresql_where=text("until IS NULL"),
            sqlite_where=text("until IS NULL"),
        ),
    )


class FamilyRow(SQLModel, table=True):
    __tablename__ = "families"
    id: UUID = Field(primary_key=True)
    name: str = Field(max_length=200)
    teryt: str | None = Field(default=None, max_length=7)
    created_by: UUID = Field(foreign_key="institutions.id", index=True)
    created_at: datetime = _utc()
    updated_at: datetime = _utc()
    version: int = 1
    __table_args__ = (Index("ix_families_created", "created_at", "id"),)


class MembershipRow(SQLModel, table=True):
    __tablename__ = "family_memberships"
    id: UUID = Field(primary_key=True)
    family_id: UUID = Field(foreign_key="families.id", index=True)
    person_id: UUID = Field(foreign_key="persons.id", index=True)
    role: str = Field(max_length=40)
    since: date
    recorded_at: datetime = _utc()
    until: date | None = None
    end_reason: str | None = Field(default=None, max_length=40)
    __table_args__ = (
        Index(
            "uq_memberships_current",
            "family_id",
            "person_id",
            unique=True,
            postgresql_where=text("until IS NULL"),
            sqlite_where=text("until IS NULL"),
        ),
    )


class AuditEventRow(SQLModel, table=True):
    __tablename__ = "audit_events"
    id: UUID = Field(primary_key=True)
    occurred_at: datetime = _utc()
    actor: str = Field(max_length=255)
    actor_worker_id: UUID | None = None
    institution_id: UUID
    action: str = Field(max_length=20)
    subject_type: str = Field(max_length=20)
    subject_id: UUID
    request_id: str = Field(max_length=64)
    purpose: str | None = Field(default=None, max_length=200)
    __table_args__ = (
        Index("ix_audit_subject", "subject_id", "occurred_at"),
        Index("ix_audit_institution", "institution_id", "occurred_at"),
    )


class ApiClientRow(SQLModel, table=True):
    __tablename__ = "api_clients"
    client_id: str = Field(primary_key=True, max_length=64)
    secret_hash: str = Field(max_length=200)
    institution_id: UUID = Field(foreign_key="institutions.id", index=True)
    scopes: str = Field(sa_column=Column(Text, nullable=False))
    name: str = Field(max_length=200)
    created_at: datetime = _utc()
    active: bool = True


class IdempotencyRow(SQLModel, table=True):
    """A POST's first answer, replayed to a retry with the same key and body."""

    __tablename__ = "idempotency_keys"
    owner: str = Field(primary_key=True, max_length=300)
    key: str = Field(primary_key=True, max_length=255)
    fingerprint: str = Field(max_length=64)
    status_code: int | None = None  # None while the first request is still running
    response_body: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    response_headers: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = _utc(index=True)


metadata = SQLModel.metadata
