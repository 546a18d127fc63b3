"""The audit trail: every read and change of personal data, written in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from app.domain.ids import AuditEventId, InstitutionId, WorkerId


class AuditAction(StrEnum):
    READ = "READ"
    LIST = "LIST"
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    ENROLL = "ENROLL"


class SubjectType(StrEnum):
    PERSON = "person"
    FAMILY = "family"
    ENROLLMENT = "enrollment"
    REFERRAL = "referral"
    CONTRACT = "contract"


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
