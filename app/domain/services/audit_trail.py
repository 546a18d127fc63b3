"""Use cases of the audit trail: the data-protection officer's search, and a person's access report (GDPR art. 15).

Niebieska Karta work never shows to anyone but the team that did it, not even as a count: records
made by an interdisciplinary team, or carrying the domestic-violence category, are left out by the
query itself, so pages and totals are the same as if they did not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.domain.audit import AuditAction, AuditFilter, AuditRecord, Decision, Hidden, SubjectType
from app.domain.caller import Caller, Scope
from app.domain.errors import NotFound
from app.domain.ids import InstitutionId, PersonId
from app.domain.institutions import Institution
from app.domain.pagination import MAX_PAGE_SIZE, Page, PageRequest
from app.domain.restricted_records import is_team_member
from app.domain.services.context import UseCaseContext, audit
from app.domain.services.persons import caller_institution

REPORT_PURPOSE = "DATA_SUBJECT_ACCESS"
"""The purpose the audit record of producing an access report names (GDPR art. 15)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditSearch:
    """What the data-protection officer filters by; unset fields do not filter."""

    subject_id: PersonId | None = None
    actor: str | None = None
    action: AuditAction | None = None
    decision: Decision | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessEntry:
    record: AuditRecord
    institution: Institution | None  # None only for an institution since removed from Spójnia


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessReport:
    person_id: PersonId
    produced_at: datetime
    entries: list[AccessEntry]


def _hidden_from(caller: Caller, institution: Institution) -> Hidden:
    """A team member sees the restricted records of their own team; nobody sees any other's."""
    return Hidden(except_institution=institution.id if is_team_member(caller, institution) else None)


async def search_audit_events(
    ctx: UseCaseContext, caller: Caller, where: AuditSearch, page: PageRequest
) -> Page[AuditRecord]:
    """The caller's own institution's audit records, oldest first."""
    caller.require(Scope.AUDIT_READ)
    async with ctx.uow() as uow:
        institution = await caller_institution(uow, caller)
        return await uow.audit.search(
            AuditFilter(
                institution_id=caller.institution_id,
                subject_id=where.subject_id,
                actor=where.actor,
                action=where.action,
                decision=where.decision,
                occurred_from=where.occurred_from,
                occurred_to=where.occurred_to,
                hidden=_hidden_from(caller, institution),
            ),
            page,
        )


async def access_report(ctx: UseCaseContext, caller: Caller, person_id: PersonId) -> AccessReport:
    """Who, at every institution, read or changed this person's data, when and why.

    Only an institution that enrolls the person now produces it (for them, on their request); to any
    other the person does not exist. Producing it is itself recorded, and so is a refusal.
    """
    caller.require(Scope.AUDIT_READ)
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        institution = await caller_institution(uow, caller)
        if await uow.persons.get(person_id) is None:
            raise NotFound("no such person")
        if await uow.enrollments.active_at(person_id, caller.institution_id) is None:
            await audit(
                uow,
                ctx,
                caller,
                AuditAction.EXPORT,
                SubjectType.PERSON,
                [person_id],
                purpose=REPORT_PURPOSE,
                decision=Decision.DENY,
                reason="the person is not enrolled at the requesting institution",
            )
            await uow.commit()
            raise NotFound("no such person")
        # The trail of every record merged into this one is the person's too (person merges keep it linked).
        subjects, pending = [person_id], [person_id]
        while pending:
            merged = [m.merged_person_id for m in await uow.person_merges.merged_into(pending.pop())]
            pending += [m for m in merged if m not in subjects]
            subjects += [m for m in merged if m not in subjects]
        records: list[AuditRecord] = []
        for subject in subjects:
            where = AuditFilter(subject_id=subject, hidden=_hidden_from(caller, institution))
            page = PageRequest(limit=MAX_PAGE_SIZE)
            while True:
                found = await uow.audit.search(where, page)
                records.extend(found.items)
                if found.next_after is None:
                    break
                page = PageRequest(limit=MAX_PAGE_SIZE, after=found.next_after)
        records.sort(key=lambda r: (r.occurred_at, str(r.id)))
        ids = list(dict.fromkeys(r.institution_id for r in records))
        institutions: dict[InstitutionId, Institution] = {i.id: i for i in await uow.institutions.get_many(ids)}
        await audit(uow, ctx, caller, AuditAction.EXPORT, SubjectType.PERSON, [person_id], purpose=REPORT_PURPOSE)
        await uow.commit()
    return AccessReport(
        person_id=person_id,
        produced_at=now,
        entries=[AccessEntry(record=r, institution=institutions.get(r.institution_id)) for r in records],
    )
