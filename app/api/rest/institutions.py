"""/v1/institutions and their workers: administrators write, every authenticated caller reads."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from app.api.deps import AnyCaller, ContainerDep, ContextDep, IfMatch, PageDep, caller_with, encode_cursor
from app.api.idempotency import IdempotencyKey, idempotent
from app.api.problems import AUTH_PROBLEMS, IDEMPOTENCY_PROBLEMS, problem_responses
from app.api.rest.responses import json_body
from app.api.rest.schemas import InstitutionIn, InstitutionOut, Paged, WorkerIn, WorkerOut
from app.domain.caller import Caller, Scope
from app.domain.ids import InstitutionId, WorkerId
from app.domain.services import institutions as use
from app.domain.services.institutions import InstitutionData, NewWorker

router = APIRouter()


def _data(body: InstitutionIn) -> InstitutionData:
    return InstitutionData(
        type=body.type,
        name=body.name,
        teryt=body.teryt,
        regon=body.regon,
        nip=body.nip,
        address=body.address.to_domain(),
        contact=body.contact.to_domain(),
    )


@router.post(
    "/v1/institutions",
    tags=["institutions"],
    operation_id="createInstitution",
    summary="Register an institution",
    status_code=201,
    response_model=InstitutionOut,
    responses=problem_responses(*AUTH_PROBLEMS, "conflict", *IDEMPOTENCY_PROBLEMS),
)
async def create_institution(
    body: InstitutionIn,
    request: Request,
    app: ContainerDep,
    key: IdempotencyKey = None,
    caller: Caller = caller_with(Scope.ADMIN),
) -> Response:
    async def run() -> JSONResponse:
        institution = await use.register_institution(app.ctx, caller, _data(body))
        return json_body(
            InstitutionOut.of(institution),
            status=201,
            version=institution.version,
            location=f"/v1/institutions/{institution.id}",
        )

    return await idempotent(app.idempotency, caller, key, request.url.path, body, run)


@router.get(
    "/v1/institutions",
    tags=["institutions"],
    operation_id="listInstitutions",
    summary="List institutions",
    response_model=Paged[InstitutionOut],
    responses=problem_responses(*AUTH_PROBLEMS),
)
async def list_institutions(ctx: ContextDep, page: PageDep, caller: AnyCaller) -> Paged[InstitutionOut]:
    found = await use.list_institutions(ctx, page)
    return Paged(items=[InstitutionOut.of(i) for i in found.items], next_cursor=encode_cursor(found.next_after))


@router.get(
    "/v1/institutions/{institution_id}",
    tags=["institutions"],
    operation_id="getInstitution",
    summary="Read an institution",
    response_model=InstitutionOut,
    responses=problem_responses(*AUTH_PROBLEMS, "not-found"),
)
async def get_institution(institution_id: UUID, ctx: ContextDep, caller: AnyCaller) -> Response:
    institution = await use.read_institution(ctx, InstitutionId(institution_id))
    return json_body(InstitutionOut.of(institution), version=institution.version)


@router.put(
    "/v1/institutions/{institution_id}",
    tags=["institutions"],
    operation_id="replaceInstitution",
    summary="Change an institution",
    response_model=InstitutionOut,
    responses=problem_responses(*AUTH_PROBLEMS, "not-found", "precondition-failed", "precondition-required"),
)
async def replace_institution(
    institution_id: UUID,
    body: InstitutionIn,
    ctx: ContextDep,
    version: IfMatch,
    caller: Caller = caller_with(Scope.ADMIN),
) -> Response:
    institution = await use.change_institution(ctx, caller, InstitutionId(institution_id), version, _data(body))
    return json_body(InstitutionOut.of(institution), version=institution.version)


@router.post(
    "/v1/institutions/{institution_id}/workers",
    operation_id="createWorker",
    summary="Register a worker",
    status_code=201,
    response_model=WorkerOut,
    responses=problem_responses(*AUTH_PROBLEMS, "not-found", "conflict", *IDEMPOTENCY_PROBLEMS),
    tags=["workers"],
)
async def create_worker(
    institution_id: UUID,
    body: WorkerIn,
    request: Request,
    app: ContainerDep,
    key: IdempotencyKey = None,
    caller: Caller = caller_with(Scope.ADMIN),
) -> Response:
    async def run() -> JSONResponse:
        worker = await use.add_worker(
            app.ctx,
            caller,
            NewWorker(
                institution_id=InstitutionId(institution_id),
                first_name=body.first_name,
                last_name=body.last_name,
                role=body.role,
                contact=body.contact.to_domain(),
                idp_subject=body.idp_subject,
            ),
        )
        return json_body(WorkerOut.of(worker), status=201, location=f"/v1/workers/{worker.id}")

    return await idempotent(app.idempotency, caller, key, request.url.path, body, run)


@router.get(
    "/v1/institutions/{institution_id}/workers",
    operation_id="listWorkers",
    summary="List an institution's workers",
    response_model=Paged[WorkerOut],
    responses=problem_responses(*AUTH_PROBLEMS, "not-found"),
    tags=["workers"],
)
async def list_workers(institution_id: UUID, ctx: ContextDep, page: PageDep, caller: AnyCaller) -> Paged[WorkerOut]:
    found = await use.list_workers(ctx, InstitutionId(institution_id), page)
    return Paged(items=[WorkerOut.of(w) for w in found.items], next_cursor=encode_cursor(found.next_after))


@router.get(
    "/v1/workers/{worker_id}",
    operation_id="getWorker",
    summary="Read a worker",
    response_model=WorkerOut,
    responses=problem_responses(*AUTH_PROBLEMS, "not-found"),
    tags=["workers"],
)
async def get_worker(worker_id: UUID, ctx: ContextDep, caller: AnyCaller) -> WorkerOut:
    return WorkerOut.of(await use.read_worker(ctx, WorkerId(worker_id)))
