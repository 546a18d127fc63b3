"""Use cases of the delivery record: specialist hours (corrected with history), benefits, outcomes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from app.domain.audit import AuditAction, SubjectType
from app.domain.caller import Caller, Scope
from app.domain.delivery_records import Benefit, HoursRecord, OutcomeRecord, two_places
from app.domain.errors import Conflict, FieldError, InvalidInput, NotFound
from app.domain.ids import BenefitId, ContractActionId, FamilyId, HoursRecordId, OutcomeRecordId, PersonId, new_id
from app.domain.ports import UnitOfWork
from app.domain.services.context import UseCaseContext, audit

MAX_HOURS_A_DAY = Decimal("24.00")
MAX_BENEFIT = Decimal("1000000.00")
OUTCOME_SOURCES = ("contract_action", "referral", "other")


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordHours:
    role: str
    person_id: PersonId | None = None
    family_id: FamilyId | None = None
    on: date
    hours: Decimal
    contract_action_id: ContractActionId | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordBenefit:
    legal_basis: str
    amount: Decimal
    paid_on: date
    person_id: PersonId
    period_from: date | None = None
    period_to: date | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordOutcome:
    person_id: PersonId
    kind: str
    on: date
    source_type: str = "other"
    source_id: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryRecord:
    hours: Sequence[HoursRecord]
    benefits: Sequence[Benefit]
    outcomes: Sequence[OutcomeRecord]


async def _subject_visible(
    uow: UnitOfWork, caller: Caller, person_id: PersonId | None, family_id: FamilyId | None
) -> None:
    if person_id is not None and not await uow.persons.visible_to(person_id, caller.institution_id):
        raise InvalidInput("no such person", [FieldError("person_id", "no such person among your clients")])
    if family_id is not None and not await uow.families.visible_to(family_id, caller.institution_id):
        raise InvalidInput("no such family", [FieldError("family_id", "no such family among yours")])


def _not_ahead(ctx: UseCaseContext, day: date, field: str) -> None:
    if day > ctx.today():
        raise InvalidInput("what was delivered is recorded after it happened", [FieldError(field, "in the future")])


async def record_hours(
    ctx: UseCaseContext, caller: Caller, cmd: RecordHours, corrects: HoursRecordId | None = None
) -> HoursRecord:
    caller.require(Scope.DELIVERIES_WRITE)
    ctx.codes.require("SpecialistRole", cmd.role, field="role", on=ctx.today())
    if (cmd.person_id is None) == (cmd.family_id is None):
        raise InvalidInput(
            "hours are for a person or a family", [FieldError("person_id", "give person_id or family_id")]
        )
    _not_ahead(ctx, cmd.on, "on")
    record = HoursRecord(
        id=HoursRecordId(new_id()),
        institution_id=caller.institution_id,
        role=cmd.role,
        person_id=cmd.person_id,
        family_id=cmd.family_id,
        on=cmd.on,
        hours=two_places(cmd.hours, field="hours", maximum=MAX_HOURS_A_DAY),
        contract_action_id=cmd.contract_action_id,
        corrects=corrects,
        superseded_by=None,
        recorded_at=ctx.clock.now(),
        actor=caller.actor,
    )
    async with ctx.uow() as uow:
        if corrects is not None:
            # Another institution's record does not exist for the caller, whatever the correction says.
            original = await uow.records.get_hours(corrects)
            if original is None or original.institution_id != caller.institution_id:
                raise NotFound("no such hours record")
        await _subject_visible(uow, caller, cmd.person_id, cmd.family_id)
        await uow.records.add_hours(record)
        if corrects is not None and not await uow.records.supersede_hours(corrects, record.id):
            raise Conflict("this record was corrected already; correct the latest one")
        if cmd.family_id is not None:
            await audit(uow, ctx, caller, AuditAction.UPDATE, SubjectType.FAMILY, [cmd.family_id])
        if cmd.person_id is not None:
            await audit(uow, ctx, caller, AuditAction.UPDATE, SubjectType.PERSON, [cmd.person_id])
        await uow.commit()
    return record


async def correct_hours(ctx: UseCaseContext, caller: Caller, record_id: HoursRecordId, cmd: RecordHours) -> HoursRecord:
    """A correction is a new record that supersedes the old; both stay in the history."""
    return await record_hours(ctx, caller, cmd, corrects=record_id)


async def record_benefit(ctx: UseCaseContext, caller: Caller, cmd: RecordBenefit) -> Benefit:
    caller.require(Scope.DELIVERIES_WRITE)
    ctx.codes.require("BenefitLegalBasis", cmd.legal_basis, field="legal_basis", on=ctx.today())
    _not_ahead(ctx, cmd.paid_on, "paid_on")
    if cmd.period_from and cmd.period_to and cmd.period_to < cmd.period_from:
        raise InvalidInput("the period ends before it begins", [FieldError("period_to", "before period_from")])
    benefit = Benefit(
        id=BenefitId(new_id()),
        institution_id=caller.institution_id,
        legal_basis=cmd.legal_basis,
        amount=two_places(cmd.amount, field="amount", maximum=MAX_BENEFIT),
        paid_on=cmd.paid_on,
        period_from=cmd.period_from,
        period_to=cmd.period_to,
        person_id=cmd.person_id,
        recorded_at=ctx.clock.now(),
        actor=caller.actor,
    )
    async with ctx.uow() as uow:
        await _subject_visible(uow, caller, cmd.person_id, None)
        await uow.records.add_benefit(benefit)
        await audit(uow, ctx, caller, AuditAction.UPDATE, SubjectType.PERSON, [cmd.person_id])
        await uow.commit()
    return benefit


async def record_outcome(ctx: UseCaseContext, caller: Caller, cmd: RecordOutcome) -> OutcomeRecord:
    caller.require(Scope.DELIVERIES_WRITE)
    ctx.codes.require("OutcomeKind", cmd.kind, field="kind", on=ctx.today())
    if cmd.source_type not in OUTCOME_SOURCES:
        raise InvalidInput("unknown source", [FieldError("source_type", f"one of {', '.join(OUTCOME_SOURCES)}")])
    _not_ahead(ctx, cmd.on, "on")
    outcome = OutcomeRecord(
        id=OutcomeRecordId(new_id()),
        institution_id=caller.institution_id,
        person_id=cmd.person_id,
        kind=cmd.kind,
        on=cmd.on,
        source_type=cmd.source_type,
        source_id=cmd.source_id,
        note=cmd.note,
        recorded_at=ctx.clock.now(),
        actor=caller.actor,
    )
    async with ctx.uow() as uow:
        await _subject_visible(uow, caller, cmd.person_id, None)
        await uow.records.add_outcome(outcome)
        await audit(uow, ctx, caller, AuditAction.UPDATE, SubjectType.PERSON, [cmd.person_id])
        await uow.commit()
    return outcome


async def delivery_record(
    ctx: UseCaseContext, caller: Caller, person_ids: Sequence[PersonId], family_ids: Sequence[FamilyId]
) -> DeliveryRecord:
    """What the caller's institution recorded for these persons or families."""
    caller.require(Scope.FAMILIES_READ)
    async with ctx.uow() as uow:
        visible_persons = await uow.persons.visible_among(person_ids, caller.institution_id)
        visible_families = await uow.families.visible_among(family_ids, caller.institution_id)
        persons, families = sorted(visible_persons, key=str), sorted(visible_families, key=str)
        record = DeliveryRecord(
            hours=await uow.records.hours_for(persons, families, caller.institution_id),
            benefits=await uow.records.benefits_for(persons, caller.institution_id),
            outcomes=await uow.records.outcomes_for(persons, caller.institution_id),
        )
        await audit(uow, ctx, caller, AuditAction.READ, SubjectType.PERSON, persons)
        await uow.commit()
    return record
