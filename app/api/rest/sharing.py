"""/v1/agreements, /v1/persons/{id}/consents and /v1/shared-client-lookups: the grounds of sharing, and its
one question asked across institutions. PESEL travels only in a POST body."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from app.api.deps import AnyCaller, ContainerDep, ContextDep, IfMatch, PageDep, caller_with, encode_cursor
from app.api.idempotency import IdempotencyKey, idempotent
from app.api.problems import AUTH_PROBLEMS, IDEMPOTENCY_PROBLEMS, problem_responses
from app.api.rest.responses import json_body
from app.api.rest.schemas import Paged
from app.api.rest.sharing_schemas import (
    AgreementIn,
    AgreementOut,
    ConsentIn,
    ConsentList,
    ConsentOut,
    EndIn,
    LookupIn,
    LookupMatch,
    LookupOut,
    SignatureIn,
)
from app.domain.caller import Caller, Scope
from app.domain.ids import AgreementId, ConsentId, InstitutionId, PersonId
from app.domain.services import lookups
from app.domain.services import sharing as use

router = APIRouter(tags=["sharing"])

_CHANGE_PROBLEMS = ("not-found", "conflict", "precondition-failed", "precondition-required")


@router.post(
    "/v1/agreements",
    operation_id="createAgreement",
    status_code=201,
    response_model=AgreementOut,
    summary="Draft an agreement between institutions acting under statute",
    description="Parties, the categories each may receive from the others, purposes, legal basis and validity. "
    "It opens nothing until every party has signed it (`sign`), and nothing after any party ends it (`end`).",
    responses=problem_responses(*AUTH_PROBLEMS, *IDEMPOTENCY_PROBLEMS),
)
async def create_agreement(
    body: AgreementIn,
    request: Request,
    app: ContainerDep,
    key: IdempotencyKey = None,
    caller: Caller = caller_with(Scope.AGREEMENTS_WRITE),
) -> Response:
    command = use.NewAgreement(
        title=body.title,
        parties=[
            use.PartyTerms(institution_id=InstitutionId(p.institution_id), receives=p.receives) for p in body.parties
        ],
        purposes=body.purposes,
        legal_basis=body.legal_basis,
        valid_from=body.valid_from,
        valid_to=body.valid_to,
        document_ref=body.document_ref,
    )

    async def run() -> JSONResponse:
        agreement = await use.create_agreement(app.ctx, caller, command)
        return json_body(
            AgreementOut.of(agreement, app.ctx.clock.now()),
            status=201,
            version=agreement.version,
            location=f"/v1/agreements/{agreement.id}",
        )

    return await idempotent(app.idempotency, caller, key, request.url.path, body, run)


@router.get(
    "/v1/agreements",
    operation_id="listAgreements",
    summary="List the agreements your institution is a party to",
    response_model=Paged[AgreementOut],
    responses=problem_responses(*AUTH_PROBLEMS),
)
async def list_agreements(ctx: ContextDep, page: PageDep, caller: AnyCaller) -> Paged[AgreementOut]:
    found = await use.list_agreements(ctx, caller, page)
    now = ctx.clock.now()
    return Paged(items=[AgreementOut.of(a, now) for a in found.items], next_cursor=encode_cursor(found.next_after))


@router.get(
    "/v1/agreements/{agreement_id}",
    operation_id="getAgreement",
    summary="Read an agreement your institution is a party to",
    response_model=AgreementOut,
    responses=problem_responses(*AUTH_PROBLEMS, "not-found"),
)
async def get_agreement(agreement_id: UUID, ctx: ContextDep, caller: AnyCaller) -> Response:
    agreement = await use.read_agreement(ctx, caller, AgreementId(agreement_id))
    return json_body(AgreementOut.of(agreement, ctx.clock.now()), version=agreement.version)


@router.post(
    "/v1/agreements/{agreement_id}/sign",
    operation_id="signAgreement",
    summary="Sign the agreement for your institution",
    response_model=AgreementOut,
    responses=problem_responses(*AUTH_PROBLEMS, *_CHANGE_PROBLEMS),
)
async def sign_agreement(
    agreement_id: UUID,
    body: SignatureIn,
    ctx: ContextDep,
    version: IfMatch,
    caller: Caller = caller_with(Scope.AGREEMENTS_WRITE),
) -> Response:
    agreement = await use.sign_agreement(ctx, caller, AgreementId(agreement_id), version, body.signed_on)
    return json_body(AgreementOut.of(agreement, ctx.clock.now()), version=agreement.version)


@router.post(
    "/v1/agreements/{agreement_id}/end",
    operation_id="endAgreement",
    summary="End the agreement at once",
    description="From this moment no request rests on it: data it opened is no longer shown to the other parties.",
    response_model=AgreementOut,
    responses=problem_responses(*AUTH_PROBLEMS, *_CHANGE_PROBLEMS),
)
async def end_agreement(
    agreement_id: UUID,
    body: EndIn,
    ctx: ContextDep,
    version: IfMatch,
    caller: Caller = caller_with(Scope.AGREEMENTS_WRITE),
) -> Response:
    agreement = await use.end_agreement(ctx, caller, AgreementId(agreement_id), version, body.reason)
    return json_body(AgreementOut.of(agreement, ctx.clock.now()), version=agreement.version)


@router.post(
    "/v1/persons/{person_id}/consents",
    operation_id="recordConsent",
    status_code=201,
    response_model=ConsentOut,
    summary="Record the person's consent",
    description="Entered by an institution that serves the person, from the form they signed or gave online: "
    "to a named institution or every institution of a kind, for categories, one purpose and a period.",
    responses=problem_responses(*AUTH_PROBLEMS, "not-found", *IDEMPOTENCY_PROBLEMS),
)
async def record_consent(
    person_id: UUID,
    body: ConsentIn,
    request: Request,
    app: ContainerDep,
    key: IdempotencyKey = None,
    caller: Caller = caller_with(Scope.PERSONS_WRITE),
) -> Response:
    command = use.NewConsent(
        person_id=PersonId(person_id),
        grantee_institution_id=InstitutionId(body.grantee.institution_id) if body.grantee.institution_id else None,
        grantee_kind=body.grantee.kind,
        categories=body.categories,
        purpose=body.purpose,
        valid_from=body.valid_from,
        valid_to=body.valid_to,
        method=body.method,
        given_on=body.given_on,
        document_ref=body.document_ref,
    )

    async def run() -> JSONResponse:
        consent = await use.record_consent(app.ctx, caller, command)
        return json_body(
            ConsentOut.of(consent, app.ctx.clock.now()),
            status=201,
            version=consent.version,
            location=f"/v1/persons/{person_id}/consents/{consent.id}",
        )

    return await idempotent(app.idempotency, caller, key, request.url.path, body, run)


@router.get(
    "/v1/persons/{person_id}/consents",
    operation_id="listConsents",
    summary="The person's consents, given and withdrawn",
    description="All of them for an institution that serves the person; to a grantee, those given to it by name.",
    response_model=ConsentList,
    responses=problem_responses(*AUTH_PROBLEMS, "not-found"),
)
async def list_consents(
    person_id: UUID, ctx: ContextDep, caller: Caller = caller_with(Scope.PERSONS_READ)
) -> ConsentList:
    found = await use.list_consents(ctx, caller, PersonId(person_id))
    now = ctx.clock.now()
    return ConsentList(items=[ConsentOut.of(c, now) for c in found])


@router.post(
    "/v1/persons/{person_id}/consents/{consent_id}/withdraw",
    operation_id="withdrawConsent",
    summary="Withdraw a consent",
    description="Takes effect on the next request: what rested on it is no longer shown.",
    response_model=ConsentOut,
    responses=problem_responses(*AUTH_PROBLEMS, *_CHANGE_PROBLEMS),
)
async def withdraw_consent(
    person_id: UUID,
    consent_id: UUID,
    ctx: ContextDep,
    version: IfMatch,
    caller: Caller = caller_with(Scope.PERSONS_WRITE),
) -> Response:
    consent = await use.withdraw_consent(ctx, caller, PersonId(person_id), ConsentId(consent_id), version)
    return json_body(ConsentOut.of(consent, ctx.clock.now()), version=consent.version)


@router.post(
    "/v1/shared-client-lookups",
    operation_id="lookUpSharedClient",
    response_model=LookupOut,
    summary="Is this person also served elsewhere, and who is their worker there?",
    description="By PESEL, or by names and birth date for a person without one; the purpose is required. "
    "Answers only where the person is served (institution, since when, worker and contact), and only where "
    "your agreements (or, for a partner organisation, the person's consent) open it for that purpose. "
    "Every lookup is audited; lookups are rate-limited per client (429 with Retry-After).",
    responses=problem_responses(*AUTH_PROBLEMS, "rate-limited"),
)
async def look_up_shared_client(
    body: LookupIn, ctx: ContextDep, caller: Caller = caller_with(Scope.PERSONS_READ)
) -> Response:
    query = lookups.SharedClientQuery(
        purpose=body.purpose,
        pesel=body.pesel,
        first_name=body.first_name,
        last_name=body.last_name,
        birth_date=body.birth_date,
    )
    found = await lookups.lookup_shared_client(ctx, caller, query)
    return json_body(LookupOut(matches=[LookupMatch.of(m) for m in found]))
