"""Use cases of agreements between institutions and of a person's consents."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from app.domain.access_policy import STATUTORY_KINDS
from app.domain.audit import AuditAction, SubjectType
from app.domain.caller import Caller, Scope
from app.domain.errors import FieldError, InvalidInput, NotFound, StaleVersion
from app.domain.ids import AgreementId, ConsentId, InstitutionId, PersonId, new_id
from app.domain.pagination import Page, PageRequest
from app.domain.ports import UnitOfWork
from app.domain.services.access import PURPOSE_LIST
from app.domain.services.context import UseCaseContext, audit
from app.domain.services.persons import caller_institution
from app.domain.sharing import Agreement, Consent


@dataclass(frozen=True, slots=True, kw_only=True)
class PartyTerms:
    institution_id: InstitutionId
    receives: Sequence[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class NewAgreement:
    title: str
    parties: Sequence[PartyTerms]
    purposes: Sequence[str]
    legal_basis: str
    valid_from: date
    valid_to: date | None
    document_ref: str


@dataclass(frozen=True, slots=True, kw_only=True)
class NewConsent:
    person_id: PersonId
    grantee_institution_id: InstitutionId | None
    grantee_kind: str | None
    categories: Sequence[str]
    purpose: str
    valid_from: date | None
    valid_to: date | None
    method: str
    given_on: date
    document_ref: str | None


async def create_agreement(ctx: UseCaseContext, caller: Caller, cmd: NewAgreement) -> Agreement:
    """Between institutions acting under statute only: an NGO receives data on the person's consent alone."""
    caller.require(Scope.AGREEMENTS_WRITE)
    today = ctx.today()
    for n, purpose in enumerate(cmd.purposes):
        ctx.codes.require(PURPOSE_LIST, purpose, field=f"purposes[{n}]", on=today)
    async with ctx.uow() as uow:
        institutions = {i.id: i for i in await uow.institutions.get_many([p.institution_id for p in cmd.parties])}
        for n, party in enumerate(cmd.parties):
            found = institutions.get(party.institution_id)
            if found is None:
                raise InvalidInput("no such institution", [FieldError(f"parties[{n}].institution_id", "not found")])
            if found.type not in STATUTORY_KINDS:
                raise InvalidInput(
                    "only institutions acting under statute share data by agreement",
                    [FieldError(f"parties[{n}].institution_id", f"a {found.type} receives data on consent only")],
                )
        agreement = Agreement.draft(
            id=AgreementId(new_id()),
            title=cmd.title,
            parties=[(p.institution_id, p.receives) for p in cmd.parties],
            purposes=cmd.purposes,
            legal_basis=cmd.legal_basis,
            valid_from=cmd.valid_from,
            valid_to=cmd.valid_to,
            document_ref=cmd.document_ref,
            created_by=caller.institution_id,
            at=ctx.clock.now(),
        )
        await uow.agreements.add(agreement)
        await audit(uow, ctx, caller, AuditAction.CREATE, SubjectType.AGREEMENT, [agreement.id])
        await uow.commit()
    return agreement


async def _party_agreement(uow: UnitOfWork, caller: Caller, agreement_id: AgreementId) -> Agreement:
    agreement = await uow.agreements.get(agreement_id)
    if agreement is None or agreement.party(caller.institution_id) is None:
        raise NotFound("no such agreement")
    return agreement


async def read_agreement(ctx: UseCaseContext, caller: Caller, agreement_id: AgreementId) -> Agreement:
    async with ctx.uow() as uow:
        return await _party_agreement(uow, caller, agreement_id)


async def list_agreements(ctx: UseCaseContext, caller: Caller, page: PageRequest) -> Page[Agreement]:
    async with ctx.uow() as uow:
        return await uow.agreements.of_institution(caller.institution_id, page)


async def sign_agreement(
    ctx: UseCaseContext, caller: Caller, agreement_id: AgreementId, expected_version: int, signed_on: date | None
) -> Agreement:
    caller.require(Scope.AGREEMENTS_WRITE)
    today = ctx.today()
    if signed_on is not None and signed_on > today:
        raise InvalidInput("a signature cannot be dated in the future", [FieldError("signed_on", "in the future")])
    async with ctx.uow() as uow:
        agreement = await _party_agreement(uow, caller, agreement_id)
        if agreement.version != expected_version:
            raise StaleVersion("the agreement has changed since you read it", agreement.version)
        agreement.sign(caller.institution_id, by=caller.actor, on=signed_on or today, at=ctx.clock.now())
        await uow.agreements.update(agreement, expected_version=expected_version)
        await audit(uow, ctx, caller, AuditAction.UPDATE, SubjectType.AGREEMENT, [agreement.id], reason="signed")
        await uow.commit()
    return agreement


async def end_agreement(
    ctx: UseCaseContext, caller: Caller, agreement_id: AgreementId, expected_version: int, reason: str | None
) -> Agreement:
    """Takes effect at once: the next request resting on it is refused."""
    caller.require(Scope.AGREEMENTS_WRITE)
    async with ctx.uow() as uow:
        agreement = await _party_agreement(uow, caller, agreement_id)
        if agreement.version != expected_version:
            raise StaleVersion("the agreement has changed since you read it", agreement.version)
        agreement.end(caller.institution_id, reason=reason, at=ctx.clock.now())
        await uow.agreements.update(agreement, expected_version=expected_version)
        await audit(uow, ctx, caller, AuditAction.UPDATE, SubjectType.AGREEMENT, [agreement.id], reason="ended")
        await uow.commit()
    return agreement


async def _serving(uow: UnitOfWork, caller: Caller, person_id: PersonId) -> bool:
    return await uow.enrollments.active_at(person_id, caller.institution_id) is not None


async def record_consent(ctx: UseCaseContext, caller: Caller, cmd: NewConsent) -> Consent:
    """Entered by an institution that serves the person, from the form the person signed (or gave online)."""
    caller.require(Scope.PERSONS_WRITE)
    today = ctx.today()
    ctx.codes.require(PURPOSE_LIST, cmd.purpose, field="purpose", on=today)
    ctx.codes.require("ConsentMethod", cmd.method, field="method", on=today)
    if cmd.grantee_kind is not None:
        ctx.codes.require("InstitutionType", cmd.grantee_kind, field="grantee.kind", on=today)
    async with ctx.uow() as uow:
        await caller_institution(uow, caller)
        if not await _serving(uow, caller, cmd.person_id):
            raise NotFound("no such person")
        if cmd.grantee_institution_id is not None and await uow.institutions.get(cmd.grantee_institution_id) is None:
            raise InvalidInput("no such institution", [FieldError("grantee.institution_id", "not found")])
        consent = Consent.record(
            id=ConsentId(new_id()),
            person_id=cmd.person_id,
            grantee_institution_id=cmd.grantee_institution_id,
            grantee_kind=cmd.grantee_kind,
            categories=cmd.categories,
            purpose=cmd.purpose,
            valid_from=cmd.valid_from or cmd.given_on,
            valid_to=cmd.valid_to,
            method=cmd.method,
            given_on=cmd.given_on,
            document_ref=cmd.document_ref,
            recorded_by=caller.institution_id,
            at=ctx.clock.now(),
        )
        await uow.consents.add(consent)
        await audit(
            uow, ctx, caller, AuditAction.CREATE, SubjectType.PERSON, [cmd.person_id], reason=f"consent {consent.id}"
        )
        await uow.commit()
    return consent


def _concerns(consent: Consent, institution_id: InstitutionId) -> bool:
    return consent.grantee_institution_id == institution_id or consent.recorded_by == institution_id


async def list_consents(ctx: UseCaseContext, caller: Caller, person_id: PersonId) -> list[Consent]:
    """An institution serving the person sees all their consents; a grantee sees those given to it by name."""
    caller.require(Scope.PERSONS_READ)
    async with ctx.uow() as uow:
        consents = await uow.consents.of_persons([person_id])
        if not await _serving(uow, caller, person_id):
            consents = [c for c in consents if _concerns(c, caller.institution_id)]
            if not consents:
                raise NotFound("no such person")
        await audit(uow, ctx, caller, AuditAction.READ, SubjectType.PERSON, [person_id], reason="consents")
        await uow.commit()
    return consents


async def withdraw_consent(
    ctx: UseCaseContext, caller: Caller, person_id: PersonId, consent_id: ConsentId, expected_version: int
) -> Consent:
    """The person withdraws through any institution that serves them, or through the grantee itself."""
    caller.require(Scope.PERSONS_WRITE)
    async with ctx.uow() as uow:
        consent = await uow.consents.get(consent_id)
        if consent is None or consent.person_id != person_id:
            raise NotFound("no such consent")
        if not await _serving(uow, caller, person_id) and not _concerns(consent, caller.institution_id):
            raise NotFound("no such consent")
        if consent.version != expected_version:
            raise StaleVersion("the consent has changed since you read it", consent.version)
        consent.withdraw(caller.institution_id, ctx.clock.now())
        await uow.consents.update(consent, expected_version=expected_version)
        await audit(
            uow,
            ctx,
            caller,
            AuditAction.UPDATE,
            SubjectType.PERSON,
            [person_id],
            reason=f"consent {consent.id} withdrawn",
        )
        await uow.commit()
    return consent
