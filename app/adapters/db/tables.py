"""SQLModel tables. They are the database's shape only; the domain never sees them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, Text, Uuid, text
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
    # The PESEL only as its blind index (HMAC-SHA256 hex, to find the person) and sealed (AES-GCM, to show it).
    pesel_hash: str | None = Field(default=None, max_length=64, unique=True, index=True)
    pesel_sealed: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    id_doc_kind: str | None = Field(default=None, max_length=30)
    id_doc_number: str | None = Field(default=None, max_length=30)
    id_doc_country: str | None = Field(default=None, max_length=2)
    created_at: datetime = _utc()
    updated_at: datetime = _utc()
    version: int = 1
    # A duplicate record merged into another (person_merges holds what moved); the row stays for history.
    merged_into: UUID | None = Field(
        default=None,
        sa_column=Column(Uuid(), ForeignKey("persons.id", name="fk_persons_merged_into"), nullable=True),
    )
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
        # The retention purge finds ended enrollments by their end.
        Index(
            "ix_enrollments_ended",
            "until",
            postgresql_where=text("until IS NOT NULL"),
            sqlite_where=text("until IS NOT NULL"),
        ),
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
    # Data categories as comma-separated values: compact, and filterable alike on both databases.
    categories: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    decision: str = Field(default="ALLOW", max_length=5, sa_column_kwargs={"server_default": "ALLOW"})
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # Written by the sealer only, never by the transaction that records the event (see audit_chain.py).
    chain_position: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    chain_hash: str | None = Field(default=None, max_length=64)
    __table_args__ = (
        Index("ix_audit_subject", "subject_id", "occurred_at"),
        Index("ix_audit_institution", "institution_id", "occurred_at"),
        Index("uq_audit_chain_position", "chain_position", unique=True),
        Index(
            "ix_audit_unsealed",
            "occurred_at",
            "id",
            postgresql_where=text("chain_position IS NULL"),
            sqlite_where=text("chain_position IS NULL"),
        ),
    )


class AuditCheckpointRow(SQLModel, table=True):
    """A signed statement "the chain's hash at this position was this", one per sealed batch."""

    __tablename__ = "audit_checkpoints"
    position: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    chain_hash: str = Field(max_length=64)
    rows: int
    sealed_at: datetime = _utc()
    key_id: str = Field(max_length=64)
    signature: str = Field(max_length=200)


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
    fingerprint: str = Field(max_length=200)  # the request's SHA-256, sealed: the body held a PESEL
    status_code: int | None = None  # None while the first request is still running
    response_body: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    response_headers: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = _utc(index=True)


class ReferralRow(SQLModel, table=True):
    __tablename__ = "referrals"
    id: UUID = Field(primary_key=True)
    sender_id: UUID = Field(foreign_key="institutions.id")
    sender_worker_id: UUID | None = Field(default=None, foreign_key="workers.id")
    receiver_id: UUID = Field(foreign_key="institutions.id")
    service_id: str | None = Field(default=None, max_length=64)
    person_id: UUID | None = Field(default=None, foreign_key="persons.id")
    family_id: UUID | None = Field(default=None, foreign_key="families.id")
    reason: str = Field(max_length=40)
    instrument_list: str = Field(max_length=40)
    instrument_code: str = Field(max_length=40)
    justification: str = Field(sa_column=Column(Text, nullable=False))
    priority: str = Field(max_length=10)
    respond_by: date
    due: date | None = None
    contract_action_ref: str | None = Field(default=None, max_length=100)
    forwarded_from: UUID | None = None
    forwarded_to: UUID | None = None
    chain_id: UUID = Field(index=True)
    status: str = Field(max_length=20)
    rejection_reason: str | None = Field(default=None, max_length=40)
    failure_reason: str | None = Field(default=None, max_length=40)
    created_at: datetime = _utc()
    updated_at: datetime = _utc()
    version: int = 1
    # When the retention purge took the subjects' identity and the free text from the receiver.
    receiver_copy_purged_at: datetime | None = _utc(nullable=True)
    __table_args__ = (
        Index("ix_referrals_inbox", "receiver_id", "created_at", "id"),
        Index("ix_referrals_outbox", "sender_id", "created_at", "id"),
        Index("ix_referrals_deadline", "status", "respond_by"),
        # The retention purge looks only at copies it has not purged yet.
        Index(
            "ix_referrals_copy_kept",
            "status",
            "receiver_id",
            postgresql_where=text("receiver_copy_purged_at IS NULL"),
            sqlite_where=text("receiver_copy_purged_at IS NULL"),
        ),
    )


class ReferralSubjectRow(SQLModel, table=True):
    __tablename__ = "referral_subjects"
    referral_id: UUID = Field(primary_key=True, foreign_key="referrals.id")
    person_id: UUID = Field(primary_key=True, foreign_key="persons.id", index=True)
    position: int


class ReferralHistoryRow(SQLModel, table=True):
    __tablename__ = "referral_history"
    referral_id: UUID = Field(primary_key=True, foreign_key="referrals.id")
    seq: int = Field(primary_key=True)
    at: datetime = _utc()
    action: str = Field(max_length=20)
    from_status: str | None = Field(default=None, max_length=20)
    to_status: str = Field(max_length=20)
    institution_id: UUID | None = None
    actor: str = Field(max_length=255)
    reason: str | None = Field(default=None, max_length=40)
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class ReferralOutcomeRow(SQLModel, table=True):
    __tablename__ = "referral_outcomes"
    referral_id: UUID = Field(primary_key=True, foreign_key="referrals.id")
    person_id: UUID = Field(primary_key=True, foreign_key="persons.id")
    kind: str = Field(max_length=40)
    on: date
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class EventRow(SQLModel, table=True):
    """The transactional outbox; `position` is given when the relay publishes the event."""

    __tablename__ = "events"
    # Insertion order, so events of one transaction keep the order they happened in.
    seq: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    )
    id: UUID = Field(sa_column=Column(Uuid(), nullable=False, unique=True))
    type: str = Field(max_length=60)
    occurred_at: datetime = _utc()
    subject_type: str = Field(max_length=30)
    subject_id: UUID
    data: str = Field(sa_column=Column(Text, nullable=False))
    position: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True, unique=True))
    published_at: datetime | None = _utc(nullable=True)
    __table_args__ = (
        Index(
            "ix_events_unpublished",
            "seq",
            postgresql_where=text("position IS NULL"),
            sqlite_where=text("position IS NULL"),
        ),
    )


class EventAudienceRow(SQLModel, table=True):
    __tablename__ = "event_audience"
    event_id: UUID = Field(primary_key=True, foreign_key="events.id")
    institution_id: UUID = Field(primary_key=True)
    position: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    __table_args__ = (Index("ix_event_audience_feed", "institution_id", "position"),)


class SubscriptionRow(SQLModel, table=True):
    __tablename__ = "webhook_subscriptions"
    id: UUID = Field(primary_key=True)
    institution_id: UUID = Field(foreign_key="institutions.id", index=True)
    url: str = Field(max_length=2000)
    event_types: str = Field(sa_column=Column(Text, nullable=False))
    secret: str = Field(max_length=100)
    active: bool = True
    created_at: datetime = _utc()


class DeliveryRow(SQLModel, table=True):
    __tablename__ = "webhook_deliveries"
    id: UUID = Field(primary_key=True)
    subscription_id: UUID = Field(foreign_key="webhook_subscriptions.id")
    event_id: UUID = Field(foreign_key="events.id")
    event_type: str = Field(max_length=60)
    status: str = Field(max_length=20)
    attempts: int = 0
    next_attempt_at: datetime | None = _utc(nullable=True)
    delivered_at: datetime | None = _utc(nullable=True)
    created_at: datetime = _utc()
    __table_args__ = (
        # One delivery of an event per subscriber, however many relays publish at once.
        Index("uq_deliveries_event", "subscription_id", "event_id", unique=True),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        Index("ix_deliveries_subscription", "subscription_id", "created_at"),
    )


class AttemptRow(SQLModel, table=True):
    __tablename__ = "webhook_attempts"
    id: UUID = Field(primary_key=True)
    delivery_id: UUID = Field(foreign_key="webhook_deliveries.id", index=True)
    at: datetime = _utc()
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=500)
    duration_ms: int


# The work with families keeps its tables in their own module; importing it registers them.
from app.adapters.db import family_work_tables  # noqa: E402, F401

metadata = SQLModel.metadata

# Tables kept in their own modules; importing them registers them:
# - directory_tables: the directory of services;
# - restricted_record_tables: restricted (Niebieska Karta) records;
# - sharing_tables: lawful sharing (agreements, consents, rate-limit counters);
# - partner_tables: partner APIs (deliveries to partners' systems, their circuit breakers and cursors, statuses);
# - person_merge_tables: person merges (what moved, to undo them) and reconciliation (differences, resolutions);
# - record_sync_tables: file batches (source records and households of the institutions' systems, import
#   batches and their rejects).
from app.adapters.db import (  # noqa: E402, F401
    directory_tables,
    partner_tables,
    person_merge_tables,
    record_sync_tables,
    restricted_record_tables,
    sharing_tables,
)
