"""Tables of partner APIs: deliveries to each partner's system and their attempts, the circuit breaker shared by
every relay process, the cursors of the feed and of the partner's statuses, and the log of reported statuses."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, Column, Index, Text
from sqlmodel import Field, SQLModel

from app.adapters.db.types import UtcDateTime


def _utc(nullable: bool = False) -> Any:
    return Field(sa_column=Column(UtcDateTime(), nullable=nullable))


class PartnerDeliveryRow(SQLModel, table=True):
    """One event for one partner: an envelope to PUT (the partner receives the referral) or an event to POST."""

    __tablename__ = "partner_deliveries"
    id: UUID = Field(primary_key=True)
    institution_id: UUID = Field(foreign_key="institutions.id")
    event_id: UUID = Field(foreign_key="events.id")
    event_type: str = Field(max_length=60)
    kind: str = Field(max_length=20)
    subject_id: UUID
    # The event's place in the feed: deliveries about one subject go in this order.
    position: int = Field(sa_column=Column(BigInteger, nullable=False))
    status: str = Field(max_length=20)
    attempts: int = 0
    next_attempt_at: datetime | None = _utc(nullable=True)
    delivered_at: datetime | None = _utc(nullable=True)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = _utc()
    __table_args__ = (
        # One delivery of an event per partner, however many relays fan out at once.
        Index("uq_partner_deliveries_event", "institution_id", "event_id", unique=True),
        Index("ix_partner_deliveries_due", "institution_id", "status", "next_attempt_at"),
        Index("ix_partner_deliveries_subject", "institution_id", "subject_id", "position"),
    )


class PartnerAttemptRow(SQLModel, table=True):
    __tablename__ = "partner_attempts"
    id: UUID = Field(primary_key=True)
    delivery_id: UUID = Field(foreign_key="partner_deliveries.id", index=True)
    at: datetime = _utc()
    operation: str = Field(max_length=120)
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=500)
    duration_ms: int


class PartnerBreakerRow(SQLModel, table=True):
    """The circuit breaker of one partner, in the database so that every relay process obeys the same one."""

    __tablename__ = "partner_breakers"
    institution_id: UUID = Field(primary_key=True)
    consecutive_failures: int = 0
    open_until: datetime | None = _utc(nullable=True)
    updated_at: datetime = _utc()


class PartnerCursorRow(SQLModel, table=True):
    """How far the feed was fanned out to the partner, and from where its statuses are pulled next."""

    __tablename__ = "partner_cursors"
    institution_id: UUID = Field(primary_key=True)
    feed_position: int = Field(sa_column=Column(BigInteger, nullable=False))
    status_cursor: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    next_pull_at: datetime | None = _utc(nullable=True)
    pull_failures: int = 0
    updated_at: datetime = _utc()


class PartnerStatusReportRow(SQLModel, table=True):
    """Each status a partner reported, once, with what became of it (applied, unchanged, or rejected and why)."""

    __tablename__ = "partner_status_reports"
    id: UUID = Field(primary_key=True)
    institution_id: UUID
    report_key: str = Field(max_length=64)  # SHA-256 of the report as received: the same report is handled once
    referral_id: UUID | None = None
    status: str = Field(max_length=40)
    reported_at: datetime | None = _utc(nullable=True)
    decision: str = Field(max_length=20)
    action: str | None = Field(default=None, max_length=20)
    reason: str | None = Field(default=None, max_length=500)
    received_at: datetime = _utc()
    __table_args__ = (
        Index("uq_partner_status_reports_key", "institution_id", "report_key", unique=True),
        Index("ix_partner_status_reports_received", "institution_id", "received_at"),
    )
