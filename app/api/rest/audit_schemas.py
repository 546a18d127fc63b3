"""Bodies of the audit trail's answers: audit events, and a person's access report (JSON and CSV)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

from app.domain.audit import AuditAction, AuditRecord, Decision, SubjectType
from app.domain.data_categories import DataCategory
from app.domain.services.audit_trail import AccessEntry, AccessReport


class AuditEventOut(BaseModel):
    id: UUID
    occurred_at: datetime
    actor: str = Field(description="The acting worker (`worker:<id>`) or, without one, the token's subject.")
    actor_worker_id: UUID | None
    institution_id: UUID
    action: AuditAction
    subject_type: SubjectType
    subject_id: UUID
    request_id: str = Field(description="The `X-Request-ID` of the request that did it.")
    purpose: str | None
    categories: list[DataCategory]
    decision: Decision
    reason: str | None = Field(description="Which agreement or consent allowed it, or why it was refused.")

    @classmethod
    def of(cls, r: AuditRecord) -> AuditEventOut:
        return cls(
            id=r.id,
            occurred_at=r.occurred_at,
            actor=r.actor,
            actor_worker_id=r.actor_worker_id,
            institution_id=r.institution_id,
            action=r.action,
            subject_type=r.subject_type,
            subject_id=r.subject_id,
            request_id=r.request_id,
            purpose=r.purpose,
            categories=list(r.categories),
            decision=r.decision,
            reason=r.reason,
        )


class AccessEntryOut(BaseModel):
    occurred_at: datetime
    institution_id: UUID
    institution_name: str | None
    institution_type: str | None
    actor: str
    action: AuditAction
    purpose: str | None
    categories: list[DataCategory]
    decision: Decision
    reason: str | None

    @classmethod
    def of(cls, e: AccessEntry) -> AccessEntryOut:
        r = e.record
        return cls(
            occurred_at=r.occurred_at,
            institution_id=r.institution_id,
            institution_name=e.institution.name if e.institution else None,
            institution_type=e.institution.type if e.institution else None,
            actor=r.actor,
            action=r.action,
            purpose=r.purpose,
            categories=list(r.categories),
            decision=r.decision,
            reason=r.reason,
        )


class AccessReportOut(BaseModel):
    person_id: UUID
    produced_at: datetime
    entries: list[AccessEntryOut] = Field(
        description="Every recorded read or change of the person's data, oldest first."
    )

    @classmethod
    def of(cls, report: AccessReport) -> AccessReportOut:
        return cls(
            person_id=report.person_id,
            produced_at=report.produced_at,
            entries=[AccessEntryOut.of(e) for e in report.entries],
        )

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for e in self.entries:
            writer.writerow(
                _cell(v)
                for v in (
                    e.occurred_at.isoformat(),
                    e.institution_id,
                    e.institution_name,
                    e.institution_type,
                    e.actor,
                    e.action.value,
                    e.purpose,
                    " ".join(c.value for c in e.categories),
                    e.decision.value,
                    e.reason,
                )
            )
        return out.getvalue()


CSV_COLUMNS = (
    "occurred_at",
    "institution_id",
    "institution_name",
    "institution_type",
    "actor",
    "action",
    "purpose",
    "categories",
    "decision",
    "reason",
)


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A spreadsheet would run a cell starting like a formula; names and reasons are free text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
