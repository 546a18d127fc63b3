"""/v1/services: the directory of services. Anyone reads and searches it, without a token (it holds
no personal data); an institution enters and changes its own services under
/v1/institutions/{institution_id}/services with the scope directory:write.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from app.adapters.db.directory_repository import SqlDirectoryStore
from app.adapters.hsds import bundle
from app.api.deps import ContainerDep, ContextDep, IfMatch, caller_with, container
from app.api.idempotency import IdempotencyKey, idempotent
from app.api.problems import AUTH_PROBLEMS, IDEMPOTENCY_PROBLEMS, problem_responses
from app.api.rest.directory_schemas import (
    HsdsBundle,
    PlaceOut,
    PlacesOut,
    ServiceHitOut,
    ServiceIn,
    ServiceOut,
    ServicePage,
)
from app.api.rest.responses import json_body
from app.domain.caller import Caller, Scope
from app.domain.directory import Criterion, SearchPosition, SearchRequest, ServiceId
from app.domain.errors import FieldError, InvalidInput
from app.domain.ids import InstitutionId
from app.domain.services import directory as use
from app.domain.services.directory import DirectoryStore

router = APIRouter(tags=["directory"])

MAX_SEARCH_PAGE = 100


def directory_store(request: Request) -> DirectoryStore:
    """The directory's storage, over the container's engine; one per application.

    Once the container carries a `directory` store itself (WIRING-directory.md), that one is used.
    """
    app_container = container(request)
    wired: DirectoryStore | None = getattr(app_container, "directory", None)
    if wired is not None:
        return wired
    store: DirectoryStore | None = getattr(request.app.state, "directory_store", None)
    if store is None:
        store = SqlDirectoryStore.over(app_container.engine)
        request.app.state.directory_store = store
    return store


def encode_search_cursor(position: SearchPosition | None) -> str | None:
    if position is None:
        return None
    raw = json.dumps({"s": position.score, "n": position.name_key, "i": str(position.id)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_search_cursor(cursor: str | None) -> SearchPosition | None:
    if not cursor:
        return None
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        score, name, service_id = raw["s"], raw["n"], raw["i"]
        if not isinstance(score, int | float) or isinstance(score, bool) or not isinstance(name, str):
            raise TypeError("cursor fields")
        return SearchPosition(score=float(score), name_key=name, id=ServiceId(UUID(service_id)))
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput(
            "the cursor is not one this API gave out", [FieldError("cursor", "not a valid cursor")]
        ) from None


@router.get(
    "/v1/services",
    operation_id="searchServices",
    summary="Search the directory of services",
    description="Free text over names and descriptions, insensitive to Polish diacritics (`posrednictwo` finds "
    "*pośrednictwo*, `lodz` finds *Łódź*), with filters. `teryt` of a gmina finds the services serving that gmina, "
    "its powiat or its voivodeship; of a powiat, also those serving any of its gminas. Ordered by relevance to `q` "
    "(by name without `q`). No token needed: the directory holds no personal data.",
    response_model=ServicePage,
    responses=problem_responses("validation-error"),
)
async def search_services(
    request: Request,
    ctx: ContextDep,
    q: Annotated[str | None, Query(max_length=200, description="Words to find, e.g. `staż` or `psycholog`.")] = None,
    category: Annotated[list[str] | None, Query(max_length=10, description="InstrumentCategory codes.")] = None,
    instrument: Annotated[
        list[str] | None, Query(max_length=20, description="LabourMarketInstrument or AssistanceForm codes.")
    ] = None,
    institution_kind: Annotated[
        list[str] | None, Query(max_length=20, description="InstitutionType codes of the provider, e.g. `PUP`, `NGO`.")
    ] = None,
    eligibility: Annotated[
        list[Criterion] | None, Query(max_length=10, description="Only services meant for every one of these groups.")
    ] = None,
    age: Annotated[int | None, Query(ge=0, le=130, description="Only services whose age range includes it.")] = None,
    teryt: Annotated[
        str | None, Query(pattern=r"^\d{2}(\d{2}(\d{3})?)?$", description="TERYT code of the place to be served.")
    ] = None,
    institution_id: Annotated[UUID | None, Query(description="Only this institution's services.")] = None,
    open_places: Annotated[bool, Query(description="Only services with places free now.")] = False,
    limit: Annotated[int, Query(ge=1, le=MAX_SEARCH_PAGE, description="Items per page.")] = 20,
    cursor: Annotated[str | None, Query(max_length=400, description="`next_cursor` of the previous page.")] = None,
) -> ServicePage:
    query = use.service_query(
        ctx,
        text=q,
        categories=category or (),
        instruments=instrument or (),
        institution_kinds=institution_kind or (),
        criteria=[c.value for c in eligibility or ()],
        age=age,
        place=teryt,
        institution_id=InstitutionId(institution_id) if institution_id else None,
        with_open_places=open_places,
    )
    found = await use.search_services(
        directory_store(request), query, SearchRequest(limit=limit, after=decode_search_cursor(cursor))
    )
    return ServicePage(
        items=[
            ServiceHitOut(**ServiceOut.of(hit.service, hit.institution).model_dump(), score=round(hit.score, 6))
            for hit in found.items
        ],
        next_cursor=encode_search_cursor(found.next_after),
    )


@router.get(
    "/v1/services/hsds",
    operation_id="exportServicesHsds",
    summary="The directory in Open Referral HSDS 3 form",
    description="Organizations, services, locations and service_at_locations as HSDS 3 objects; Spójnia's codes "
    "(instrument category, instrument, eligibility criteria, places open) travel as attributes with taxonomy terms.",
    response_model=HsdsBundle,
    responses=problem_responses("validation-error"),
)
async def export_hsds(
    request: Request,
    ctx: ContextDep,
    institution_id: Annotated[UUID | None, Query(description="Only this institution's services.")] = None,
) -> JSONResponse:
    export = await use.export_directory(
        directory_store(request), InstitutionId(institution_id) if institution_id else None
    )
    return JSONResponse(bundle(export.institutions, export.services, ctx.codes))


@router.get(
    "/v1/services/places",
    operation_id="listServicePlaces",
    summary="Places where services of the directory stand",
    description="Each TERYT code of a gmina with a location of a listed service, and the town's name: the choices "
    "of a place filter.",
    response_model=PlacesOut,
)
async def list_places(request: Request) -> PlacesOut:
    return PlacesOut(items=[PlaceOut.of(p) for p in await use.list_places(directory_store(request))])


@router.get(
    "/v1/services/{service_id}",
    operation_id="getService",
    summary="Read a service of the directory",
    response_model=ServiceOut,
    responses=problem_responses("not-found", "validation-error"),
)
async def get_service(service_id: UUID, request: Request) -> Response:
    view = await use.read_service(directory_store(request), ServiceId(service_id))
    return json_body(ServiceOut.of(view.service, view.institution), version=view.service.version)


@router.post(
    "/v1/institutions/{institution_id}/services",
    operation_id="createService",
    summary="Enter a service of your institution in the directory",
    status_code=201,
    response_model=ServiceOut,
    responses=problem_responses(*AUTH_PROBLEMS, "not-found", "conflict", *IDEMPOTENCY_PROBLEMS),
)
async def create_service(
    institution_id: UUID,
    body: ServiceIn,
    request: Request,
    app: ContainerDep,
    key: IdempotencyKey = None,
    caller: Caller = caller_with(Scope.DIRECTORY_WRITE),
) -> Response:
    store = directory_store(request)

    async def run() -> JSONResponse:
        view = await use.create_service(app.ctx, store, caller, InstitutionId(institution_id), body.to_domain())
        return json_body(
            ServiceOut.of(view.service, view.institution),
            status=201,
            version=view.service.version,
            location=f"/v1/services/{view.service.id}",
        )

    return await idempotent(app.idempotency, caller, key, request.url.path, body, run)


@router.put(
    "/v1/institutions/{institution_id}/services/{service_id}",
    operation_id="replaceService",
    summary="Change a service of your institution",
    description="Needs `If-Match` with the service's ETag. Locations keep their ids when sent with them.",
    response_model=ServiceOut,
    responses=problem_responses(*AUTH_PROBLEMS, "not-found", "precondition-failed", "precondition-required"),
)
async def replace_service(
    institution_id: UUID,
    service_id: UUID,
    body: ServiceIn,
    request: Request,
    ctx: ContextDep,
    version: IfMatch,
    caller: Caller = caller_with(Scope.DIRECTORY_WRITE),
) -> Response:
    view = await use.change_service(
        ctx,
        directory_store(request),
        caller,
        ServiceId(service_id),
        version,
        body.to_domain(),
        institution_id=InstitutionId(institution_id),
    )
    return json_body(ServiceOut.of(view.service, view.institution), version=view.service.version)
