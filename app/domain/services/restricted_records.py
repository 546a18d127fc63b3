"""Use cases of restricted (Niebieska Karta) records: open, read, list, correct. Only the owning team sees them.

Every refusal reveals nothing: a record the caller may not see is answered as an unknown one, and a
list or a creation by anyone but a team member is refused before the request's content is looked at.
The records emit no events and appear in no report; each read and change is audited as domestic
violence data, for the procedure's purpose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from app.domain.audit import AuditAction, SubjectType
from app.domain.caller import Caller, Scope
from app.domain.data_categories import DataCategory
from app.domain.errors import FieldError, InvalidInput, NotFound, PermissionDenied, StaleVersion
from app.domain.ids import FamilyId, PersonId, RestrictedRecordId, new_id
from app.domain.institutions import Institution
from app.domain.pagination import Page, PageRequest
from app.domain.ports import UnitOfWork
from app.domain.restricted_records import FORM_LIST, PURPOSE, RestrictedRecord, is_team_member, may_see
from app.domain.services.context import UseCaseContext, audit

RESTRICTED_TO_TEAM = "restricted to the interdisciplinary team"
NO_SUCH_RECORD = "no such restricted record"


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenRestrictedRecord:
    form: str
    procedure_date: date
    person_id: PersonId | None = None
    family_id: FamilyId | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CorrectRestrictedRecord:
    record_id: RestrictedRecordId
    expected_version: int
    form: str | None = None
    procedure_date: date | None = None
    note: str | None = None
    clear_note: bool = False


async def _team_of(uow: UnitOfWork, caller: Caller) -> Institution | None:
    """The caller's institution when the caller acts for an interdisciplinary team with its role, else None."""
    institution = await uow.institutions.get(caller.institution_id)
    return institution if institution is not None and is_team_member(caller, institution) else None


async def _visible(uow: UnitOfWork, caller: Caller, record_id: RestrictedRecordId) -> RestrictedRecord:
    institution = await uow.institutions.get(caller.institution_id)
    record = await uow.restricted_records.get(record_id)
    if record is None or institution is None or not may_see(caller, institution, record.team_id):
        # The same answer for a record that does not exist and one the caller may not see.
        raise NotFound(NO_SUCH_RECORD)
    return record


async def _audit(
    uow: UnitOfWork, ctx: UseCaseContext, caller: Caller, action: AuditAction, records: Sequence[RestrictedRecord]
) -> None:
    await audit(
        uow,
        ctx,
        caller,
        action,
        SubjectType.RESTRICTED_RECORD,
        [r.id for r in records],
        categories=[DataCategory.DOMESTIC_VIOLENCE],
        purpose=PURPOSE,
    )


async def _check_subject(uow: UnitOfWork, cmd: OpenRestrictedRecord) -> None:
    # A team need not enroll the person: it names them by id, and they must exist.
    if cmd.person_id is not None and await uow.persons.get(cmd.person_id) is None:
        raise InvalidInput("no such person", [FieldError("person_id", "no such person")])
    if cmd.family_id is not None and await uow.families.get(cmd.family_id) is None:
        raise InvalidInput("no such family", [FieldError("family_id", "no such family")])


async def require_team_member(ctx: UseCaseContext, caller: Caller) -> None:
    """403 for anyone who may keep no restricted records, before anything of the request is looked at."""
    caller.require(Scope.PERSONS_WRITE)
    async with ctx.uow() as uow:
        if await _team_of(uow, caller) is None:
            raise PermissionDenied(RESTRICTED_TO_TEAM)


async def open_restricted_record(ctx: UseCaseContext, caller: Caller, cmd: OpenRestrictedRecord) -> RestrictedRecord:
    """A team member records a step of the procedure about a person or a family."""
    caller.require(Scope.PERSONS_WRITE)
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        team = await _team_of(uow, caller)
        if team is None:
            raise PermissionDenied(RESTRICTED_TO_TEAM)
        ctx.codes.require(FORM_LIST, cmd.form, field="form", on=ctx.today())
        record = RestrictedRecord.open(
            id=RestrictedRecordId(new_id()),
            team_id=team.id,
            form=cmd.form,
            procedure_date=cmd.procedure_date,
            person_id=cmd.person_id,
            family_id=cmd.family_id,
            note=cmd.note,
            today=ctx.today(),
            at=now,
        )
        await _check_subject(uow, cmd)
        await uow.restricted_records.add(record)
        await _audit(uow, ctx, caller, AuditAction.CREATE, [record])
        await uow.commit()
    return record


async def read_restricted_record(
    ctx: UseCaseContext, caller: Caller, record_id: RestrictedRecordId
) -> RestrictedRecord:
    caller.require(Scope.PERSONS_READ)
    async with ctx.uow() as uow:
        record = await _visible(uow, caller, record_id)
        await _audit(uow, ctx, caller, AuditAction.READ, [record])
        await uow.commit()
    return record


async def list_restricted_records(
    ctx: UseCaseContext,
    caller: Caller,
    page: PageRequest,
    *,
    person_id: PersonId | None = None,
    family_id: FamilyId | None = None,
) -> Page[RestrictedRecord]:
    """The team's own records, about one person or family when asked; refused to anyone else whatever the filter."""
    caller.require(Scope.PERSONS_READ)
    async with ctx.uow() as uow:
        team = await _team_of(uow, caller)
        if team is None:
            raise PermissionDenied(RESTRICTED_TO_TEAM)
        if person_id is not None and family_id is not None:
            message = "filter by person_id or by family_id, not both"
            raise InvalidInput(message, [FieldError("person_id", message), FieldError("family_id", message)])
        found = await uow.restricted_records.list_for_team(team.id, page, person_id=person_id, family_id=family_id)
        await _audit(uow, ctx, caller, AuditAction.LIST, found.items)
        await uow.commit()
    return found


async def correct_restricted_record(
    ctx: UseCaseContext, caller: Caller, cmd: CorrectRestrictedRecord
) -> RestrictedRecord:
    """The owning team corrects the form, the date or the note; the subject is never changed."""
    caller.require(Scope.PERSONS_WRITE)
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        record = await _visible(uow, caller, cmd.record_id)
        if record.version != cmd.expected_version:
            raise StaleVersion("the record has changed since you read it", record.version)
        if cmd.form is not None:
            ctx.codes.require(FORM_LIST, cmd.form, field="form", on=ctx.today())
        changed = record.correct(
            form=cmd.form,
            procedure_date=cmd.procedure_date,
            note=cmd.note,
            clear_note=cmd.clear_note,
            today=ctx.today(),
            at=now,
        )
        if changed:
            await uow.restricted_records.update(record, expected_version=cmd.expected_version)
            await _audit(uow, ctx, caller, AuditAction.UPDATE, [record])
        else:
            await _audit(uow, ctx, caller, AuditAction.READ, [record])
        await uow.commit()
    return record
