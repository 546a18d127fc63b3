"""Use cases of referrals: create and send, act on them, read and list, expire the unanswered."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from app.domain.audit import AuditAction, SubjectType
from app.domain.caller import Caller, Scope
from app.domain.clock import local_date
from app.domain.data_categories import DataCategory
from app.domain.errors import FieldError, InvalidInput, NotFound, StaleVersion
from app.domain.events import DomainEvent
from app.domain.ids import FamilyId, InstitutionId, PersonId, ReferralId, new_id
from app.domain.pagination import Page, PageRequest
from app.domain.persons import Person
from app.domain.ports import ReferralFilter, UnitOfWork
from app.domain.referrals import (
    Action,
    Outcome,
    Party,
    Referral,
    ReferralStatus,
    RequestedInstrument,
    StatusChange,
    TransitionNotAllowed,
)
from app.domain.services.access import recipient_check, refuse_unless_open
from app.domain.services.context import UseCaseContext, audit
from app.domain.services.directory import referral_target

INSTRUMENT_LISTS = ("LabourMarketInstrument", "AssistanceForm")
PRIORITIES = ("routine", "urgent", "asap")
SYSTEM_ACTOR = "system:deadline-job"

REFERRAL_PURPOSE = "REFERRAL"
# What a referral discloses to its receiver: who the person is, and the referral itself; never the case file.
ENVELOPE_CATEGORIES = (DataCategory.IDENTITY, DataCategory.REFERRAL)


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateReferral:
    receiver_id: InstitutionId | None = None  # or the institution of the directory service named
    service_id: str | None = None
    person_id: PersonId | None = None
    family_id: FamilyId | None = None
    member_ids: Sequence[PersonId] = ()
    reason: str
    instrument: RequestedInstrument
    justification: str = ""
    priority: str = "routine"
    respond_by: date | None = None
    due: date | None = None
    contract_action_ref: str | None = None
    send: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class TakeAction:
    referral_id: ReferralId
    expected_version: int
    action: Action
    reason: str | None = None
    note: str | None = None
    outcomes: Sequence[Outcome] = field(default_factory=tuple)
    forward_to: InstitutionId | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SubjectEnvelope:
    """The identity that travels with a referral: never the sender's case file."""

    person_id: PersonId
    first_name: str
    last_name: str
    birth_date: date
    pesel: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReferralView:
    referral: Referral
    subjects: Sequence[SubjectEnvelope]
    allowed_actions: Sequence[Action]
    overdue: bool
    chain: Sequence[ReferralId]  # every referral of the forwarding chain, oldest first


def _envelope(person: Person) -> SubjectEnvelope:
    return SubjectEnvelope(
        person_id=person.id,
        first_name=person.first_name,
        last_name=person.last_name,
        birth_date=person.birth_date,
        pesel=person.pesel.value if person.pesel else None,
    )


async def _views(
    uow: UnitOfWork, ctx: UseCaseContext, caller: Caller, referrals: Sequence[Referral]
) -> list[ReferralView]:
    persons = {p.id: p for p in await uow.persons.get_many(list({i for r in referrals for i in r.member_ids}))}
    shown = await _envelope_filter(uow, ctx, caller, referrals)
    today = ctx.today()
    views = []
    for r in referrals:
        chain = [r.chain_id] if r.chain_id != r.id else []
        # Past the receiver's retention period the envelope is gone for all but the sender: no identity, no
        # free text. The ids stay: they tell nothing to an institution that may not read the person otherwise.
        purged = r.copy_purged_for(caller.institution_id)
        views.append(
            ReferralView(
                referral=r.without_shared_text() if purged else r,
                subjects=[]
                if purged
                else [_envelope(persons[i]) for i in r.member_ids if i in persons and shown(r, i)],
                allowed_actions=r.allowed_actions(r.party_of(caller.institution_id))
                if r.party_of(caller.institution_id)
                else [],
                overdue=r.overdue(today),
                chain=chain + ([r.forwarded_to] if r.forwarded_to else []),
            )
        )
    ids = [r.id for r in referrals]
    await audit(uow, ctx, caller, AuditAction.READ, SubjectType.REFERRAL, ids)
    return views


async def _envelope_filter(
    uow: UnitOfWork, ctx: UseCaseContext, caller: Caller, referrals: Sequence[Referral]
) -> Callable[[Referral, PersonId], bool]:
    """The receiver sees a person's envelope while the ground it was sent on holds: a withdrawn consent or an
    ended agreement hides it from the next request on. The sender and the rest of a chain keep their own."""
    received = [r for r in referrals if r.receiver_id == caller.institution_id]
    institution = await uow.institutions.get(caller.institution_id) if received else None
    members = list({i for r in received for i in r.member_ids})
    check = await recipient_check(uow, ctx, institution, REFERRAL_PURPOSE, members) if institution else None

    def shown(referral: Referral, person_id: PersonId) -> bool:
        if referral.receiver_id != caller.institution_id:
            return True
        return check is not None and all(
            check.decide(person_id, c, referral.sender_id).allowed for c in ENVELOPE_CATEGORIES
        )

    return shown


def _event(
    referral: Referral, change: StatusChange, audience: set[InstitutionId], type_: str | None = None
) -> DomainEvent:
    return DomainEvent.new(
        type=type_ or f"referral.{change.to_status.value}",
        at=change.at,
        subject_type="referral",
        subject_id=referral.id,
        audience=audience,
        data={"status": referral.status.value, "action": change.action.value, "reason": change.reason},
    )


async def _subjects(uow: UnitOfWork, caller: Caller, cmd: CreateReferral) -> tuple[PersonId, ...]:
    if (cmd.person_id is None) == (cmd.family_id is None):
        raise InvalidInput(
            "a referral is about a person or a family", [FieldError("person_id", "give person_id or family_id")]
        )
    if cmd.person_id is not None:
        if not await uow.persons.visible_to(cmd.person_id, caller.institution_id):
            raise InvalidInput("no such person", [FieldError("person_id", "no such person among your clients")])
        return (cmd.person_id,)
    assert cmd.family_id is not None  # noqa: S101 - checked above
    family = await uow.families.get(cmd.family_id)
    if family is None or not await uow.families.visible_to(cmd.family_id, caller.institution_id):
        raise InvalidInput("no such family", [FieldError("family_id", "no such family among yours")])
    current = {m.person_id for m in family.current_members}
    members = tuple(dict.fromkeys(cmd.member_ids)) or tuple(m.person_id for m in family.current_members)
    if not members or not set(members) <= current:
        raise InvalidInput(
            "the members concerned must be current members of the family",
            [FieldError("member_ids", "each must be a current member of the family")],
        )
    return members


def _check_codes(ctx: UseCaseContext, cmd: CreateReferral, today: date) -> None:
    ctx.codes.require("ReasonForAssistance", cmd.reason, field="reason", on=today)
    if cmd.instrument.code_list not in INSTRUMENT_LISTS:
        message = f"instrument list must be one of {', '.join(INSTRUMENT_LISTS)}"
        raise InvalidInput(message, [FieldError("instrument.code_list", message)])
    ctx.codes.require(cmd.instrument.code_list, cmd.instrument.code, field="instrument.code", on=today)
    if cmd.priority not in PRIORITIES:
        raise InvalidInput("unknown priority", [FieldError("priority", f"one of {', '.join(PRIORITIES)}")])
    if cmd.respond_by is not None and cmd.respond_by < today:
        raise InvalidInput("the response deadline has passed", [FieldError("respond_by", "in the past")])


async def _receiver(uow: UnitOfWork, cmd: CreateReferral) -> tuple[InstitutionId, str | None]:
    """The receiver named, or the institution of the directory service named (they must agree)."""
    if cmd.service_id is None:
        if cmd.receiver_id is None:
            raise InvalidInput(
                "a referral goes to an institution", [FieldError("receiver_id", "give receiver_id or service_id")]
            )
        return cmd.receiver_id, None
    target = await referral_target(uow.services, cmd.service_id)
    if cmd.receiver_id is not None and cmd.receiver_id != target.institution_id:
        raise InvalidInput(
            "the service's institution receives the referral",
            [FieldError("receiver_id", "not the institution of the service named")],
        )
    return InstitutionId(target.institution_id), str(target.service_id)


async def create_referral(ctx: UseCaseContext, caller: Caller, cmd: CreateReferral) -> ReferralView:
    caller.require(Scope.REFERRALS_WRITE)
    now = ctx.clock.now()
    _check_codes(ctx, cmd, local_date(now))
    async with ctx.uow() as uow:
        receiver_id, service_id = await _receiver(uow, cmd)
        if receiver_id == caller.institution_id:
            raise InvalidInput(
                "a referral goes to another institution", [FieldError("receiver_id", "your own institution")]
            )
        if await uow.institutions.get(receiver_id) is None:
            raise InvalidInput("no such institution", [FieldError("receiver_id", "no such institution")])
        members = await _subjects(uow, caller, cmd)
        await _may_refer(uow, ctx, caller.institution_id, receiver_id, members)
        referral_id = ReferralId(new_id())
        referral = Referral(
            id=referral_id,
            sender_id=caller.institution_id,
            sender_worker_id=caller.worker_id,
            receiver_id=receiver_id,
            service_id=service_id,
            person_id=cmd.person_id,
            family_id=cmd.family_id,
            member_ids=members,
            reason=cmd.reason,
            instrument=cmd.instrument,
            justification=cmd.justification.strip(),
            priority=cmd.priority,
            respond_by=cmd.respond_by
            or local_date(now) + timedelta(days=ctx.policies.response_days(cmd.instrument.code)),
            due=cmd.due,
            contract_action_ref=cmd.contract_action_ref,
            forwarded_from=None,
            chain_id=referral_id,
            status=ReferralStatus.DRAFT,
            created_at=now,
            updated_at=now,
        )
        referral.history.append(
            StatusChange(
                at=now,
                action=Action.CREATE,
                from_status=None,
                to_status=ReferralStatus.DRAFT,
                institution_id=caller.institution_id,
                actor=caller.actor,
            )
        )
        await uow.outbox.add(
            DomainEvent.new(
                type="referral.created",
                at=now,
                subject_type="referral",
                subject_id=referral.id,
                audience={caller.institution_id},
                data={"status": ReferralStatus.DRAFT.value},
            )
        )
        if cmd.send:
            change = referral.apply(Action.SEND, by=caller.institution_id, actor=caller.actor, at=now)
            await uow.outbox.add(_event(referral, change, {referral.sender_id, referral.receiver_id}))
        referral.version = 1
        await uow.referrals.add(referral)
        await audit(uow, ctx, caller, AuditAction.CREATE, SubjectType.PERSON, members)
        [view] = await _views(uow, ctx, caller, [referral])
        await uow.commit()
    return view


async def _may_refer(
    uow: UnitOfWork, ctx: UseCaseContext, sender: InstitutionId, receiver: InstitutionId, members: Sequence[PersonId]
) -> None:
    """A referral's envelope goes only where an agreement (or, to a partner organisation, the consent of every
    person in it) lets the sender's identity and referral data go for the purpose of a referral."""
    institution = await uow.institutions.get(receiver)
    if institution is None:
        raise InvalidInput("no such institution", [FieldError("receiver_id", "no such institution")])
    check = await recipient_check(uow, ctx, institution, REFERRAL_PURPOSE, members)
    refuse_unless_open(check, members, sender, ENVELOPE_CATEGORIES)


async def _visible(uow: UnitOfWork, caller: Caller, referral_id: ReferralId) -> Referral:
    referral = await uow.referrals.get(referral_id)
    if referral is None or not await uow.referrals.visible_to(referral_id, caller.institution_id):
        raise NotFound("no such referral")
    return referral


async def read_referral(ctx: UseCaseContext, caller: Caller, referral_id: ReferralId) -> ReferralView:
    caller.require(Scope.REFERRALS_READ)
    async with ctx.uow() as uow:
        referral = await _visible(uow, caller, referral_id)
        if referral.status is ReferralStatus.DRAFT and referral.sender_id != caller.institution_id:
            raise NotFound("no such referral")
        [view] = await _views(uow, ctx, caller, [referral])
        await uow.commit()
    return view


async def list_referrals(
    ctx: UseCaseContext, caller: Caller, where: ReferralFilter, page: PageRequest
) -> Page[ReferralView]:
    caller.require(Scope.REFERRALS_READ)
    async with ctx.uow() as uow:
        found = await uow.referrals.list_box(caller.institution_id, where, page)
        views = await _views(uow, ctx, caller, found.items)
        await uow.commit()
    return Page(items=views, next_after=found.next_after)


async def take_action(ctx: UseCaseContext, caller: Caller, cmd: TakeAction) -> ReferralView:
    caller.require(Scope.REFERRALS_WRITE)
    now = ctx.clock.now()
    today = local_date(now)
    async with ctx.uow() as uow:
        referral = await _visible(uow, caller, cmd.referral_id)
        if referral.status is ReferralStatus.DRAFT and referral.sender_id != caller.institution_id:
            raise NotFound("no such referral")
        if referral.version != cmd.expected_version:
            raise StaleVersion("the referral has changed since you read it", referral.version)
        _check_action_details(ctx, referral, cmd, today)
        if cmd.action is Action.COMPLETE:
            referral.record_outcomes(cmd.outcomes)
        forwarded: Referral | None = None
        if cmd.action is Action.FORWARD:
            forwarded = await _forwarded_copy(uow, caller, referral, cmd, ctx)
        change = referral.apply(
            cmd.action,
            by=caller.institution_id,
            actor=caller.actor,
            at=now,
            reason="FORWARDED" if cmd.action is Action.FORWARD else cmd.reason,
            note=cmd.note,
        )
        if cmd.action in (Action.REJECT, Action.FORWARD):
            referral.rejection_reason = change.reason
        if cmd.action is Action.FAIL:
            referral.failure_reason = cmd.reason
        audience = await uow.referrals.chain_institutions(referral.chain_id) | {
            referral.sender_id,
            referral.receiver_id,
        }
        if forwarded is not None:
            referral.forwarded_to = forwarded.id
            await uow.referrals.add(forwarded)
            audience.add(forwarded.receiver_id)
            await uow.outbox.add(_event(referral, change, audience, "referral.forwarded"))
            await uow.outbox.add(_event(forwarded, forwarded.history[-1], audience))
        else:
            await uow.outbox.add(_event(referral, change, audience))
        await uow.referrals.update(referral, expected_version=cmd.expected_version)
        await audit(uow, ctx, caller, AuditAction.UPDATE, SubjectType.REFERRAL, [referral.id])
        [view] = await _views(uow, ctx, caller, [referral])
        await uow.commit()
    return view


def _check_action_details(ctx: UseCaseContext, referral: Referral, cmd: TakeAction, today: date) -> None:
    if cmd.action is Action.EXPIRE:
        raise TransitionNotAllowed("only the deadline job expires referrals", referral.allowed_actions(Party.RECEIVER))
    if cmd.action is Action.REJECT:
        if cmd.reason is None:
            raise InvalidInput("a rejection needs a coded reason", [FieldError("reason", "required")])
        ctx.codes.require("ReferralRejectionReason", cmd.reason, field="reason", on=today)
    if cmd.action is Action.FAIL:
        if cmd.reason is None:
            raise InvalidInput("a failure needs a coded reason", [FieldError("reason", "required")])
        ctx.codes.require("ReferralFailureReason", cmd.reason, field="reason", on=today)
    for i, outcome in enumerate(cmd.outcomes):
        ctx.codes.require("OutcomeKind", outcome.kind, field=f"outcomes[{i}].kind", on=today)
    if cmd.action is Action.FORWARD and cmd.forward_to is None:
        raise InvalidInput("forwarding names the next institution", [FieldError("forward_to", "required")])


async def _forwarded_copy(
    uow: UnitOfWork, caller: Caller, referral: Referral, cmd: TakeAction, ctx: UseCaseContext
) -> Referral:
    assert cmd.forward_to is not None  # noqa: S101 - checked in _check_action_details
    if (
        cmd.forward_to in (referral.sender_id, referral.receiver_id)
        or await uow.institutions.get(cmd.forward_to) is None
    ):
        raise InvalidInput("forward to a third institution", [FieldError("forward_to", "not a third institution")])
    await _may_refer(uow, ctx, caller.institution_id, cmd.forward_to, referral.member_ids)
    # Built before apply() checks the party; when apply() refuses, the copy is never stored.
    now = ctx.clock.now()
    new_id_ = ReferralId(new_id())
    forwarded = Referral(
        id=new_id_,
        sender_id=caller.institution_id,
        sender_worker_id=caller.worker_id,
        receiver_id=cmd.forward_to,
        service_id=None,
        person_id=referral.person_id,
        family_id=referral.family_id,
        member_ids=referral.member_ids,
        reason=referral.reason,
        instrument=referral.instrument,
        justification=referral.justification,
        priority=referral.priority,
        respond_by=local_date(now) + timedelta(days=ctx.policies.response_days(referral.instrument.code)),
        due=referral.due,
        contract_action_ref=referral.contract_action_ref,
        forwarded_from=referral.id,
        chain_id=referral.chain_id,
        status=ReferralStatus.SENT,
        created_at=now,
        updated_at=now,
    )
    forwarded.history.append(
        StatusChange(
            at=now,
            action=Action.FORWARD,
            from_status=None,
            to_status=ReferralStatus.SENT,
            institution_id=caller.institution_id,
            actor=caller.actor,
            note=cmd.note,
        )
    )
    return forwarded


async def expire_overdue(ctx: UseCaseContext, *, batch: int = 200) -> int:
    """The deadline job: referrals still unanswered after their response deadline expire."""
    now = ctx.clock.now()
    expired = 0
    async with ctx.uow() as uow:
        for referral in await uow.referrals.unanswered_past(local_date(now), batch):
            expected = referral.version
            change = referral.apply(Action.EXPIRE, by=None, actor=SYSTEM_ACTOR, at=now)
            audience = await uow.referrals.chain_institutions(referral.chain_id)
            await uow.outbox.add(_event(referral, change, audience | {referral.sender_id, referral.receiver_id}))
            await uow.referrals.update(referral, expected_version=expected)
            expired += 1
        await uow.commit()
    return expired


async def referrals_about(
    ctx: UseCaseContext, caller: Caller, person_ids: Sequence[PersonId]
) -> dict[PersonId, list[ReferralView]]:
    """Referrals the caller may see about each of these persons (for a person's or family's graph)."""
    caller.require(Scope.REFERRALS_READ)
    async with ctx.uow() as uow:
        found = await uow.referrals.for_subjects(person_ids, caller.institution_id)
        views = await _views(uow, ctx, caller, found)
        await uow.commit()
    wanted = set(person_ids)
    about: dict[PersonId, list[ReferralView]] = {pid: [] for pid in person_ids}
    for view in views:
        for member in view.referral.member_ids:
            if member in wanted:
                about[member].append(view)
    return about
