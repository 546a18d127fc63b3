"""/v1/families: households, their members and the history of membership."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from app.api.deps import ContainerDep, ContextDep, IfMatch, PageDep, caller_with, encode_cursor
from app.api.idempotency import IdempotencyKey, idempotent
from app.api.problems import AUTH_PROBLEMS, IDEMPOTENCY_PROBLEMS, problem_responses
from app.api.rest.responses import json_body
from app.api.rest.schemas import FamilyChange, FamilyIn, FamilyOut, MemberIn, MembershipChange, MembershipEnd, Paged
from app.domain.caller import Caller, Scope
from app.domain.ids import FamilyId, MembershipId, PersonId
from app.domain.services import families as use
from app.domain.services.context import UseCaseContext
from app.domain.services.views import FamilyView

router = APIRouter(tags=["families"])

CHANGE_PROBLEMS = problem_responses(
    *AUTH_PROBLEMS, "not-found", "conflict", "precondition-failed", "precondition-required"
)


def _member(body: MemberIn) -> use.NewMember:
    return use.NewMember(person_id=PersonId(body.person_id), role=body.role, since=body.since)


def _family(view: FamilyView) -> Response:
    return json_body(FamilyOut.of(view), version=view.family.version)


@router.post(
    "/v1/families",
    operation_id="createFamily",
    summary="Create a family (household)",
    status_code=201,
    response_model=FamilyOut,
    responses=problem_responses(*AUTH_PROBLEMS, "conflict", *IDEMPOTENCY_PROBLEMS),
)
async def create_family(
    body: FamilyIn,
    request: Request,
    app: ContainerDep,
    key: IdempotencyKey = None,
    caller: Caller = caller_with(Scope.FAMILIES_WRITE),
) -> Response:
    async def run() -> JSONResponse:
        view = await use.create_family(
            app.ctx,
            caller,
            use.CreateFamily(name=body.name, teryt=body.teryt, members=[_member(m) for m in body.members]),
        )
        return json_body(
            FamilyOut.of(view), status=201, version=view.family.version, location=f"/v1/families/{view.family.id}"
        )

    return await idempotent(app.idempotency, caller, key, request.url.path, body, run)


@router.get(
    "/v1/families",
    operation_id="listFamilies",
    summary="List families your institution works with",
    response_model=Paged[FamilyOut],
    responses=problem_responses(*AUTH_PROBLEMS),
)
async def list_families(
    ctx: ContextDep, page: PageDep, caller: Caller = caller_with(Scope.FAMILIES_READ)
) -> Paged[FamilyOut]:
    found = await use.list_families(ctx, caller, page)
    return Paged(items=[FamilyOut.of(v) for v in found.items], next_cursor=encode_cursor(found.next_after))


@router.get(
    "/v1/families/{family_id}",
    operation_id="getFamily",
    summary="Read a family with its members",
    response_model=FamilyOut,
    responses=problem_responses(*AUTH_PROBLEMS, "not-found"),
)
async def get_family(family_id: UUID, ctx: ContextDep, caller: Caller = caller_with(Scope.FAMILIES_READ)) -> Response:
    return _family(await use.read_family(ctx, caller, FamilyId(family_id)))


@router.patch(
    "/v1/families/{family_id}",
    operation_id="updateFamily",
    summary="Rename a family or change its gmina",
    response_model=FamilyOut,
    responses=CHANGE_PROBLEMS,
)
async def update_family(
    family_id: UUID,
    body: FamilyChange,
    ctx: ContextDep,
    version: IfMatch,
    caller: Caller = caller_with(Scope.FAMILIES_WRITE),
) -> Response:
    return _family(
        await use.change_family(
            ctx,
            caller,
            use.ChangeFamily(family_id=FamilyId(family_id), expected_version=version, name=body.name, teryt=body.teryt),
        )
    )


@router.post(
    "/v1/families/{family_id}/members",
    operation_id="addFamilyMember",
    summary="Add a member",
    response_model=FamilyOut,
    responses=CHANGE_PROBLEMS,
)
async def add_member(
    family_id: UUID,
    body: MemberIn,
    ctx: ContextDep,
    version: IfMatch,
    caller: Caller = caller_with(Scope.FAMILIES_WRITE),
) -> Response:
    return _family(
        await use.add_member(
            ctx, caller, use.AddMember(family_id=FamilyId(family_id), expected_version=version, member=_member(body))
        )
    )


@router.patch(
    "/v1/families/{family_id}/members/{membership_id}",
    operation_id="changeFamilyMemberRole",
    summary="Change a member's role (the old membership ends, the history keeps it)",
    response_model=FamilyOut,
    responses=CHANGE_PROBLEMS,
)
async def change_role(
    family_id: UUID,
    membership_id: UUID,
    body: MembershipChange,
    ctx: ContextDep,
    version: IfMatch,
    caller: Caller = caller_with(Scope.FAMILIES_WRITE),
) -> Response:
    return await _change_membership(ctx, caller, family_id, membership_id, version, role=body.role, end_on=body.on)


@router.post(
    "/v1/families/{family_id}/members/{membership_id}/end",
    operation_id="endFamilyMembership",
    summary="End a membership (the member left the household)",
    response_model=FamilyOut,
    responses=CHANGE_PROBLEMS,
)
async def end_membership(
    family_id: UUID,
    membership_id: UUID,
    body: MembershipEnd,
    ctx: ContextDep,
    version: IfMatch,
    caller: Caller = caller_with(Scope.FAMILIES_WRITE),
) -> Response:
    return await _change_membership(
        ctx, caller, family_id, membership_id, version, end_on=body.on, end_reason=body.reason
    )


async def _change_membership(
    ctx: UseCaseContext,
    caller: Caller,
    family_id: UUID,
    membership_id: UUID,
    version: int,
    *,
    role: str | None = None,
    end_on: date | None = None,
    end_reason: str = "LEFT_HOUSEHOLD",
) -> Response:
    command = use.ChangeMembership(
        family_id=FamilyId(family_id),
        membership_id=MembershipId(membership_id),
        expected_version=version,
        role=role,
        end_on=end_on,
        end_reason=end_reason,
    )
    return _family(await use.change_membership(ctx, caller, command))
