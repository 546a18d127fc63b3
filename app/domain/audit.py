"""The audit trail: every read and change of personal data, written in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from app.domain.data_categories import DataCategory
from app.domain.ids import AuditEventId, InstitutionId, WorkerId


class AuditAction(StrEnum):
    READ = "READ"
    LIST = "LIST"
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    ENROLL = "ENROLL"
    DELETE = "DELETE"
    LOOKUP = "LOOKUP"
    EXPORT = "EXPORT"
    PURGE = "PURGE"


class Decision(StrEnum):
    ALLOW = "ALLOW"
    DENY = "DENY"


class SubjectType(StrEnum):
    PERSON = "person"
    FAMILY = "family"
    ENROLLMENT = "enrollment"
    REFERRAL = "referral"
    CONTRACT = "contract"
    AGREEMENT = "agreement"
    CONSENT = "consent"
    RESTRICTED_RECORD = "restricted_record"
    LOOKUP = "lookup"


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditRecord:
    id: AuditEventId
    occurred_at: datetime
    actor: str
    actor_worker_id: WorkerId | None
    institution_id: InstitutionId
    action: AuditAction
    subject_type: SubjectType
    subject_id: UUID
    request_id: str
    purpose: str | None = None
    categories: tuple[DataCategory, ...] = ()
    decision: Decision = Decision.ALLOW
    # Which agreement or consent allowed it, or why it was refused.
    reason: str | None = None
