"""The audit trail: every read and change of personal data, written in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from app.domain.data_categories import RESTRICTED_CATEGORIES, DataCategory
from app.domain.ids import AuditEventId, InstitutionId, WorkerId
from app.domain.restricted_records import TEAM_TYPE


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
    MERGE = "MERGE"  # two records of one person made one (both are audited)
    UNMERGE = "UNMERGE"  # a merge undone
    RESOLVE = "RESOLVE"  # a worker decided which source is right about a difference


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


@dataclass(frozen=True, slots=True, kw_only=True)
class Hidden:
    """Records a search leaves out: Niebieska Karta work must not show, not even as a count.

    A record is hidden when it carries one of `categories` or was made by an institution of one of
    `institution_types`, unless `except_institution` made it (the team that owns the work sees its own).
    """

    categories: frozenset[DataCategory] = RESTRICTED_CATEGORIES
    institution_types: frozenset[str] = frozenset({TEAM_TYPE})
    except_institution: InstitutionId | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditFilter:
    """Which records a search of the audit trail returns; unset fields do not filter."""

    institution_id: InstitutionId | None = None
    subject_id: UUID | None = None
    actor: str | None = None
    action: AuditAction | None = None
    decision: Decision | None = None
    occurred_from: datetime | None = None  # inclusive
    occurred_to: datetime | None = None  # exclusive
    hidden: Hidden = Hidden()

    def shows(self, record: AuditRecord, institution_type: str) -> bool:
        """The same filter in memory: what the database query answers, for fakes and checks."""
        hidden = self.hidden
        restricted = not hidden.categories.isdisjoint(record.categories) or institution_type in hidden.institution_types
        return (
            (self.institution_id is None or record.institution_id == self.institution_id)
            and (self.subject_id is None or record.subject_id == self.subject_id)
            and (self.actor is None or record.actor == self.actor)
            and (self.action is None or record.action == self.action)
            and (self.decision is None or record.decision == self.decision)
            and (self.occurred_from is None or record.occurred_at >= self.occurred_from)
            and (self.occurred_to is None or record.occurred_at < self.occurred_to)
            and (not restricted or record.institution_id == hidden.except_institution)
        )
