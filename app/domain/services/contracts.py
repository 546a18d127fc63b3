"""Use cases of family contracts: draft, submit, approve (PZKW), sign, amend, review, close."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from app.domain.audit import AuditAction, SubjectType
from app.domain.caller import Caller, Scope
from app.domain.contracts import (
    FAMILY,
    Contract,
    ContractAction,
    ContractKind,
    ContractStatus,
    ContractStep,
    Difference,
    SignatureMethod,
    Terms,
    differences,
    institution_signer,
    person_signer,
)
from app.domain.errors import FieldError, InvalidInput, NotFound, StaleVersion
from app.domain.ids import ContractActionId, ContractId, FamilyId, InstitutionId, PartnershipId, PersonId, new_id
from app.domain.institutions import LABOUR_OFFICE_TYPES, AccessBasis
from app.domain.partnerships import Partnership
from app.domain.ports import UnitOfWork
from app.domain.referrals import RequestedInstrument
from app.domain.services.context import UseCaseContext, audit
from app.domain.services.referrals import INSTRUMENT_LISTS, CreateReferral, ReferralView, create_referral
from app.domain.values import clean_text


@dataclass(frozen=True, slots=True, kw_only=True)
class NewAction:
    description: str
    instrument: RequestedInstrument | None = None
    service_id: str | None = None
    member_ids: Sequence[PersonId] = ()
    responsible: str  # a party institution's id, or FAMILY
    due: date | None = None
    status: str = "PLANNED"
    id: ContractActionId | None = None  # kept on amendment, so differences show what changed


@dataclass(frozen=True, slots=True, kw_only=True)
class NewTerms:
    goals: Sequence[str]
    actions: Sequence[NewAction]


@dataclass(frozen=True, slots=True, kw_only=True)
class NewContract:
    kind: ContractKind
    partnership_id: PartnershipId
    family_id: FamilyId | None = None
    person_id: PersonId | None = None
    institutions: Sequence[InstitutionId]
    signing_members: Sequence[PersonId]
    terms: NewTerms


@dataclass(frozen=True, slots=True, kw_only=True)
class TakeStep:
    contract_id: ContractId
    expected_version: int
    step: ContractStep
    signer: str | None = None  # "institution" (the caller's own) or a signing member's person id
    method: SignatureMethod = SignatureMethod.IN_PERSON
    terms: NewTerms | None = None
    review_on: date | None = None
    findings: str = ""
    reason: str = ""


ACTION_STATUSES = ("PLANNED", "IN_PROGRESS", "DONE", "DROPPED")


def _terms(ctx: UseCaseContext, terms: NewTerms, parties: Sequence[InstitutionId], subjects: set[PersonId]) -> Terms:
    today = ctx.today()
    goals = tuple(clean_text(g, field=f"goals[{i}]", max_length=500) for i, g in enumerate(terms.goals))
    if not goals:
        raise InvalidInput("a contract states at least one goal", [FieldError("goals", "at least one")])
    actions = []
    allowed_responsible = {FAMILY, *(str(p) for p in parties)}
    for i, a in enumerate(terms.actions):
        where = f"actions[{i}]"
        if a.instrument is not None:
            if a.instrument.code_list not in INSTRUMENT_LISTS:
                raise InvalidInput(
                    "unknown instrument list", [FieldError(f"{where}.instrument.code_list", "unknown list")]
                )
            ctx.codes.require(a.instrument.code_list, a.instrument.code, field=f"{where}.instrument.code", on=today)
        if a.responsible not in allowed_responsible:
            raise InvalidInput(
                "the responsible party is not a party", [FieldError(f"{where}.responsible", "a party or FAMILY")]
            )
        if not set(a.member_ids) <= subjects:
            raise InvalidInput(
                "the action names a person outside the contract", [FieldError(f"{where}.member_ids", "not a subject")]
            )
        if a.status not in ACTION_STATUSES:
            raise InvalidInput(
                "unknown action status", [FieldError(f"{where}.status", f"one of {', '.join(ACTION_STATUSES)}")]
            )
        actions.append(
            ContractAction(
                id=a.id or ContractActionId(new_id()),
                description=clean_text(a.description, field=f"{where}.description", max_length=1000),
                instrument=a.instrument,
                service_id=a.service_id,
                member_ids=tuple(a.member_ids),
                responsible=a.responsible,
                due=a.due,
                status=a.status,
            )
        )
    return Terms(goals=goals, actions=tuple(actions))


async def _subjects(uow: UnitOfWork, caller: Caller, cmd: NewContract) -> set[PersonId]:
    if cmd.kind is ContractKind.TRI_PARTY_FAMILY and cmd.family_id is None:
        raise InvalidInput("a tri-party family contract is made with a family", [FieldError("family_id", "required")])
    if (cmd.family_id is None) == (cmd.person_id is None):
        raise InvalidInput(
            "a contract is with a family or a person", [FieldError("family_id", "give family_id or person_id")]
        )
    if cmd.family_id is not None:
        family = await uow.families.get(cmd.family_id)
        if family is None or not await uow.families.visible_to(cmd.family_id, caller.institution_id):
            raise InvalidInput("no such family", [FieldError("family_id", "no such family among yours")])
        return {m.person_id for m in family.current_members}
    assert cmd.person_id is not None  # noqa: S101 - checked above
    if not await uow.persons.visible_to(cmd.person_id, caller.institution_id):
        raise InvalidInput("no such person", [FieldError("person_id", "no such person among your clients")])
    return {cmd.person_id}


async def _check_parties(
    uow: UnitOfWork, ctx: UseCaseContext, caller: Caller, cmd: NewContract, partnership: Partnership
) -> None:
    parties = list(dict.fromkeys(cmd.institutions))
    if caller.institution_id not in parties:
        raise InvalidInput("your institution must be a party", [FieldError("institutions", "add your institution")])
    if not all(partnership.is_member(i) for i in parties):
        raise InvalidInput(
            "parties come from the partnership", [FieldError("institutions", "not a partnership member")]
        )
    if cmd.kind is ContractKind.TRI_PARTY_FAMILY:
        institutions = await uow.institutions.get_many(parties)
        kinds = {i.type for i in institutions}
        statutory = {i.type for i in institutions if i.access_basis(ctx.codes) is AccessBasis.STATUTORY}
        if not kinds & LABOUR_OFFICE_TYPES or not statutory - LABOUR_OFFICE_TYPES:
            raise InvalidInput(
                "a tri-party contract binds the family, a labour office and a social-assistance centre",
                [FieldError("institutions", "needs a PUP and an OPS/MOPS/GOPS/PCPR")],
            )


async def create_contract(ctx: UseCaseContext, caller: Caller, cmd: NewContract) -> Contract:
    caller.require(Scope.CONTRACTS_WRITE)
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        partnership = await uow.partnerships.get(cmd.partnership_id)
        if partnership is None or not partnership.is_member(caller.institution_id):
            raise InvalidInput("no such partnership", [FieldError("partnership_id", "not a partnership of yours")])
        await _check_parties(uow, ctx, caller, cmd, partnership)
        subjects = await _subjects(uow, caller, cmd)
        signing = tuple(dict.fromkeys(cmd.signing_members))
        if not signing or not set(signing) <= subjects:
            raise InvalidInput(
                "the family signs: name members who sign", [FieldError("signing_members", "current members")]
            )
        contract = Contract(
            id=ContractId(new_id()),
            kind=cmd.kind,
            partnership_id=cmd.partnership_id,
            family_id=cmd.family_id,
            person_id=cmd.person_id,
            institutions=tuple(dict.fromkeys(cmd.institutions)),
            signing_members=signing,
            status=ContractStatus.DRAFT,
            number=1,
            terms=_terms(ctx, cmd.terms, cmd.institutions, subjects),
            created_by=caller.institution_id,
            created_at=now,
            updated_at=now,
        )
        await uow.contracts.add(contract)
        await audit(uow, ctx, caller, AuditAction.CREATE, SubjectType.CONTRACT, [contract.id])
        await uow.commit()
    return contract


async def _visible(uow: UnitOfWork, caller: Caller, contract_id: ContractId) -> tuple[Contract, Partnership]:
    contract = await uow.contracts.get(contract_id)
    partnership = await uow.partnerships.get(contract.partnership_id) if contract else None
    coordinating_institutions = {m.institution_id for m in partnership.coordinating_team} if partnership else set()
    if (
        contract is None
        or partnership is None
        or not (contract.is_party(caller.institution_id) or caller.institution_id in coordinating_institutions)
    ):
        raise NotFound("no such contract")
    return contract, partnership


async def read_contract(ctx: UseCaseContext, caller: Caller, contract_id: ContractId) -> Contract:
    caller.require(Scope.CONTRACTS_READ)
    async with ctx.uow() as uow:
        contract, _ = await _visible(uow, caller, contract_id)
        await audit(uow, ctx, caller, AuditAction.READ, SubjectType.CONTRACT, [contract.id])
        await uow.commit()
    return contract


async def contracts_of_families(ctx: UseCaseContext, caller: Caller, family_ids: Sequence[FamilyId]) -> list[Contract]:
    """For a family's graph: the contracts the caller's institution is a party to."""
    caller.require(Scope.CONTRACTS_READ)
    async with ctx.uow() as uow:
        found = await uow.contracts.for_families(family_ids, caller.institution_id)
        await audit(uow, ctx, caller, AuditAction.READ, SubjectType.CONTRACT, [c.id for c in found])
        await uow.commit()
    return found


async def contract_differences(
    ctx: UseCaseContext, caller: Caller, contract_id: ContractId, from_number: int, to_number: int
) -> list[Difference]:
    contract = await read_contract(ctx, caller, contract_id)
    before, after = contract.terms_of(from_number), contract.terms_of(to_number)
    if before is None or after is None:
        raise NotFound("no such version of the contract")
    return differences(before, after)


async def take_step(ctx: UseCaseContext, caller: Caller, cmd: TakeStep) -> Contract:
    caller.require(Scope.CONTRACTS_WRITE)
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        contract, partnership = await _visible(uow, caller, cmd.contract_id)
        if contract.version != cmd.expected_version:
            raise StaleVersion("the contract has changed since you read it", contract.version)
        by = caller.institution_id
        match cmd.step:
            case ContractStep.SUBMIT:
                contract.submit(by=by, at=now)
            case ContractStep.APPROVE:
                contract.approve(
                    worker_id=caller.worker_id, coordinating=partnership.coordinates(caller.worker_id), at=now
                )
            case ContractStep.SIGN:
                signer = (
                    institution_signer(by) if cmd.signer in (None, "institution") else person_signer(_uuid(cmd.signer))
                )
                contract.sign(signer=signer, by=by, actor=caller.actor, method=cmd.method, at=now)
            case ContractStep.AMEND:
                if cmd.terms is None:
                    raise InvalidInput("an amendment states the new terms", [FieldError("terms", "required")])
                subjects = await _current_subjects(uow, contract)
                contract.amend(terms=_terms(ctx, cmd.terms, contract.institutions, subjects), by=by, at=now)
            case ContractStep.REVIEW:
                findings = clean_text(cmd.findings, field="findings", max_length=4000)
                contract.review(on=cmd.review_on or ctx.today(), findings=findings, by=by, actor=caller.actor, at=now)
            case ContractStep.COMPLETE:
                contract.complete(by=by, at=now)
            case ContractStep.TERMINATE:
                contract.terminate(by=by, reason=clean_text(cmd.reason, field="reason", max_length=500), at=now)
        await uow.contracts.update(contract, expected_version=cmd.expected_version)
        await audit(uow, ctx, caller, AuditAction.UPDATE, SubjectType.CONTRACT, [contract.id])
        await uow.commit()
    return contract


async def _current_subjects(uow: UnitOfWork, contract: Contract) -> set[PersonId]:
    if contract.family_id is None:
        return {contract.person_id} if contract.person_id else set()
    family = await uow.families.get(contract.family_id)
    return {m.person_id for m in family.current_members} if family else set()


def _uuid(raw: str) -> PersonId:
    try:
        return PersonId(UUID(raw))
    except ValueError:
        raise InvalidInput(
            "signer is 'institution' or a person id", [FieldError("signer", "not a person id")]
        ) from None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReferFromAction:
    contract_id: ContractId
    action_id: ContractActionId
    receiver_id: InstitutionId
    reason: str
    justification: str = ""


async def refer_from_action(ctx: UseCaseContext, caller: Caller, cmd: ReferFromAction) -> ReferralView:
    """An action that calls for another institution becomes a referral linked to it."""
    caller.require(Scope.CONTRACTS_READ)
    async with ctx.uow() as uow:
        contract, _ = await _visible(uow, caller, cmd.contract_id)
    action = next((a for a in contract.terms.actions if a.id == cmd.action_id), None)
    if action is None:
        raise NotFound("no such action in the contract's current version")
    if action.instrument is None:
        raise InvalidInput("the action names no instrument to ask for", [FieldError("action_id", "no instrument")])
    about_family = contract.family_id is not None
    return await create_referral(
        ctx,
        caller,
        CreateReferral(
            receiver_id=cmd.receiver_id,
            person_id=None if about_family else contract.person_id,
            family_id=contract.family_id,
            member_ids=list(action.member_ids) if about_family else (),
            reason=cmd.reason,
            instrument=action.instrument,
            justification=cmd.justification or action.description,
            contract_action_ref=f"{contract.id}/{action.id}",
            send=True,
        ),
    )
