"""What every use case needs: a unit of work, the clock, the code lists."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID

from app.domain.audit import AuditAction, AuditRecord, Decision, SubjectType
from app.domain.caller import Caller
from app.domain.clock import local_date
from app.domain.code_lists import CodeLists
from app.domain.data_categories import DataCategory
from app.domain.ids import AuditEventId, new_id
from app.domain.ports import Clock, UnitOfWork, UnitOfWorkFactory
from app.domain.read_models import ReadModels
from app.domain.retention import RetentionPolicy
from app.domain.services.read_stores import unit_of_work_read_models


@dataclass(frozen=True, slots=True, kw_only=True)
class Policies:
    """Tunable rules that settings provide."""

    # Days a receiver has to answer a referral, by requested instrument code; "default" otherwise.
    referral_response_days: Mapping[str, int] = field(default_factory=lambda: {"default": 14})
    retention: RetentionPolicy = field(default_factory=RetentionPolicy)

    # Shared-client lookups one client may make per window: enough for a worker, too few to enumerate PESELs.
    lookups_per_window: int = 60
    lookup_window_seconds: int = 60

    def response_days(self, instrument_code: str) -> int:
        return self.referral_response_days.get(instrument_code, self.referral_response_days.get("default", 14))


@dataclass(frozen=True, slots=True, kw_only=True)
class UseCaseContext:
    uow: UnitOfWorkFactory
    clock: Clock
    codes: CodeLists
    policies: Policies = field(default_factory=Policies)
    # The hot paths' read models; None asks the unit of work's repositories one by one.
    read_models: ReadModels | None = None

    @property
    def reads(self) -> ReadModels:
        return self.read_models or unit_of_work_read_models(self.uow)

    def today(self) -> date:
        """The Polish calendar day now."""
        return local_date(self.clock.now())


async def audit(
    uow: UnitOfWork,
    ctx: UseCaseContext,
    caller: Caller,
    action: AuditAction,
    subject_type: SubjectType,
    subject_ids: Iterable[UUID],
    *,
    categories: Iterable[DataCategory] = (),
    purpose: str | None = None,
    decision: Decision = Decision.ALLOW,
    reason: str | None = None,
) -> None:
    """Record one audit entry per subject, inside the caller's transaction."""
    categories = tuple(categories)
    at = ctx.clock.now()
    await uow.audit.record_many(
        [
            audit_record(
                caller,
                action,
                subject_type,
                subject_id,
                at=at,
                purpose=purpose,
                categories=categories,
                decision=decision,
                reason=reason,
            )
            for subject_id in subject_ids
        ]
    )


def audit_record(
    caller: Caller,
    action: AuditAction,
    subject_type: SubjectType,
    subject_id: UUID,
    *,
    at: datetime,
    purpose: str | None = None,
    categories: tuple[DataCategory, ...] = (),
    decision: Decision = Decision.ALLOW,
    reason: str | None = None,
) -> AuditRecord:
    """One audit entry of the caller's: who, for which institution and request."""
    return AuditRecord(
        id=AuditEventId(new_id()),
        occurred_at=at,
        actor=caller.actor,
        actor_worker_id=caller.worker_id,
        institution_id=caller.institution_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        request_id=caller.request_id,
        purpose=purpose,
        categories=categories,
        decision=decision,
        reason=reason,
    )


def unique(ids: Sequence[UUID]) -> list[UUID]:
    return list(dict.fromkeys(ids))
