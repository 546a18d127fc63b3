"""/v1/persons and their enrollments. PESEL travels only in bodies, never in a URL."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from app.api.deps import ContainerDep, ContextDep, IfMatch, PageDep, caller_with, encode_cursor
from app.api.idempotency import IdempotencyKey, idempotent
from app.api.problems import AUTH_PROBLEMS, IDEMPOTENCY_PROBLEMS, problem_responses
from app.api.rest.responses import json_body
from app.api.rest.schemas import EnrollmentChange, EnrollmentOut, Paged, PersonChange, PersonIn, PersonOut
from app.domain.caller import Caller, Scope
from app.domain.ids import EnrollmentId, PersonId, WorkerId
from app.domain.services import persons as use
from app.domain.values import IdentityDocument

router = APIRouter(tags=["persons"])

_ALREADY_ENROLLED: dict[int | str, dict[str, Any]] = {
    200: {"model": PersonOut, "description": "Already enrolled at your institution."}
}


@router.post(
    "/v1/persons",
    operation_id="registerPerson",
    status_code=201,
    response_model=PersonOut,
    summary="Register a client of your institution",
    description="Registers the person and enrolls them at your institution. A person whose PESEL Spójnia already "
    "holds is enrolled, never duplicated: 201 when your institution newly enrolls them, 200 when it already did. "
    "The answer shows only your institution's enrollment.",
    responses=_ALREADY_ENROLLED | problem_responses(*AUTH_PROBLEMS, "conflict", *IDEMPOTENCY_PROBLEMS),
)
async def register_person(
    body: PersonIn,
    request: Request,
    app: ContainerDep,
    key: IdempotencyKey = None,
    caller: Caller = caller_with(Scope.PERSONS_WRITE),
) -> Response:
    document = body.identity_document
    command = use.RegisterPerson(
        first_name=body.first_name,
        last_name=body.last_name,
        birth_date=body.birth_date,
        sex=body.sex,
        pesel=body.pesel,
        identity_document=IdentityDocument.parse(kind=document.kind, number=document.number, country=document.country)
        if document
        else None,
        enrollment=use.EnrollmentDetails(
            status=body.enrollment.status,
            since=body.enrollment.since,
            worker_id=WorkerId(body.enrollment.worker_id) if body.enrollment.worker_id else None,
            external_ref=body.enrollment.external_ref,
        ),
    )
    if document is not None:
        app.ctx.codes.require(
            "IdentityDocumentKind", document.kind, field="identity_document.kind", on=app.ctx.clock.now().date()
        )

    async def run() -> JSONResponse:
        result = await use.register_person(app.ctx, caller, command)
        person = result.view.person
        return json_body(
            PersonOut.of(result.view),
            status=201 if result.newly_enrolled else 200,
            version=person.version,
            location=f"/v1/persons/{person.id}",
        )

    return await idempotent(app.idempotency, caller, key, request.url.path, body, run)


@router.get(
    "/v1/persons",
    operation_id="listPersons",
    summary="List your institution's clients",
    response_model=Paged[PersonOut],
    responses=problem_responses(*AUTH_PROBLEMS),
)
async def list_persons(
    ctx: ContextDep, page: PageDep, caller: Caller = caller_with(Scope.PERSONS_READ)
) -> Paged[PersonOut]:
    found = await use.list_persons(ctx, caller, page)
    return Paged(items=[PersonOut.of(v) for v in found.items], next_cursor=encode_cursor(found.next_after))


@router.get(
    "/v1/persons/{person_id}",
    operation_id="getPerson",
    summary="Read a person",
    response_model=PersonOut,
    responses=problem_responses(*AUTH_PROBLEMS, "not-found"),
)
async def get_person(person_id: UUID, ctx: ContextDep, caller: Caller = caller_with(Scope.PERSONS_READ)) -> Response:
    view = await use.read_person(ctx, caller, PersonId(person_id))
    return json_body(PersonOut.of(view), version=view.person.version)


@router.patch(
    "/v1/persons/{person_id}",
    operation_id="updatePerson",
    summary="Correct a person's names or give their PESEL",
    response_model=PersonOut,
    responses=problem_responses(*AUTH_PROBLEMS, "not-found", "precondition-failed", "precondition-required"),
)
async def update_person(
    person_id: UUID,
    body: PersonChange,
    ctx: ContextDep,
    version: IfMatch,
    caller: Caller = caller_with(Scope.PERSONS_WRITE),
) -> Response:
    view = await use.change_person(
        ctx,
        caller,
        use.ChangePerson(
            person_id=PersonId(person_id),
            expected_version=version,
            first_name=body.first_name,
            last_name=body.last_name,
            pesel=body.pesel,
        ),
    )
    return json_body(PersonOut.of(view), version=view.person.version)


@router.patch(
    "/v1/enrollments/{enrollment_id}",
    operation_id="updateEnrollment",
    summary="Change your institution's enrollment: status, worker, or its end",
    response_model=EnrollmentOut,
    responses=problem_responses(
        *AUTH_PROBLEMS, "not-found", "conflict", "precondition-failed", "precondition-required"
    ),
)
async def update_enrollment(
    enrollment_id: UUID,
    body: EnrollmentChange,
    ctx: ContextDep,
    version: IfMatch,
    caller: Caller = caller_with(Scope.PERSONS_WRITE),
) -> Response:
    view = await use.change_enrollment(
        ctx,
        caller,
        use.ChangeEnrollment(
            enrollment_id=EnrollmentId(enrollment_id),
            expected_version=version,
            status=body.status,
            worker_id=WorkerId(body.worker_id) if body.worker_id else None,
            clear_worker=body.clear_worker,
            external_ref=body.external_ref,
            until=body.until,
        ),
    )
    return json_body(EnrollmentOut.of(view), version=view.enrollment.version)
