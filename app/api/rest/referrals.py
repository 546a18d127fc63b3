"""/v1/referrals: sending, answering and closing referrals; every action is its own POST."""

import re
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import AwareDatetime, BaseModel, BeforeValidator

from app.api.deps import ContainerDep, ContextDep, IfMatch, PageDep, caller_with, encode_cursor
from app.api.idempotency import IdempotencyKey, idempotent
from app.api.problems import AUTH_PROBLEMS, problem_responses
from app.api.rest.referral_schemas import (
    ActionIn,
    CompleteIn,
    ForwardIn,
    ReasonedActionIn,
    ReferralIn,
    ReferralOut,
)
from app.api.rest.responses import json_body
from app.api.rest.schemas import Paged
from app.domain.caller import Caller, Scope
from app.domain.ids import FamilyId, InstitutionId, PersonId, ReferralId
from app.domain.ports import ReferralFilter
from app.domain.referrals import Action, Outcome, ReferralStatus, RequestedInstrument
from app.domain.services import referrals as use

router = APIRouter(tags=["referrals"])


def _iso_8601(value: object) -> object:
    # Pydantic would also take "0.5" as a Unix time; the contract says ISO 8601 with a zone.
    if isinstance(value, str) and not re.match(r"^\d{4}-\d{2}-\d{2}T", value):
        raise ValueError("an ISO 8601 date-time with a time zone, e.g. 2026-11-01T00:00:00Z")
    return value


Timestamp = Annotated[AwareDatetime, BeforeValidator(_iso_8601)]

ACTION_PROBLEMS = problem_responses(
    *AUTH_PROBLEMS, "not-found", "conflict", "precondition-failed", "precondition-required"
)


def _referral(view: use.ReferralView, status: int = 200, location: bool = False) -> JSONResponse:
    r = view.referral
    return json_body(
        ReferralOut.of(view), status=status, version=r.version, location=f"/v1/referrals/{r.id}" if location else None
    )


@router.post(
    "/v1/referrals",
    operation_id="createReferral",
    status_code=201,
    response_model=ReferralOut,
    summary="Create a referral (a draft, or sent at once with `send: true`)",
    responses=problem_responses(*AUTH_PROBLEMS, "conflict", "idempotency-key-reused", "idempotency-in-progress"),
)
async def create_referral(
    body: ReferralIn,
    request: Request,
    app: ContainerDep,
    key: IdempotencyKey = None,
    caller: Caller = caller_with(Scope.REFERRALS_WRITE),
) -> Response:
    command = use.CreateReferral(
        receiver_id=InstitutionId(body.receiver_id) if body.receiver_id else None,
        service_id=str(body.service_id) if body.service_id else None,
        person_id=PersonId(body.person_id) if body.person_id else None,
        family_id=FamilyId(body.family_id) if body.family_id else None,
        member_ids=[PersonId(m) for m in body.member_ids],
        reason=body.reason,
        instrument=RequestedInstrument(code_list=body.instrument.code_list, code=body.instrument.code),
        justification=body.justification,
        priority=body.priority,
        respond_by=body.respond_by,
        due=body.due,
        contract_action_ref=body.contract_action_ref,
        send=body.send,
    )

    async def run() -> JSONResponse:
        return _referral(await use.create_referral(app.ctx, caller, command), status=201, location=True)

    return await idempotent(app.idempotency, caller, key, request.url.path, body, run)


@router.get(
    "/v1/referrals",
    operation_id="listReferrals",
    summary="Your inbox or outbox of referrals",
    responses=problem_responses(*AUTH_PROBLEMS),
)
async def list_referrals(
    ctx: ContextDep,
    page: PageDep,
    box: Annotated[Literal["inbox", "outbox"], Query(description="inbox: sent to you; outbox: sent by you")] = "inbox",
    status: Annotated[ReferralStatus | None, Query()] = None,
    overdue: Annotated[bool, Query(description="Only those past their response deadline, unanswered.")] = False,
    person_id: UUID | None = None,
    family_id: UUID | None = None,
    created_from: Timestamp | None = None,
    created_to: Timestamp | None = None,
    caller: Caller = caller_with(Scope.REFERRALS_READ),
) -> Paged[ReferralOut]:
    where = ReferralFilter(
        box=box,
        status=status,
        overdue_on=ctx.clock.now().date() if overdue else None,
        person_id=PersonId(person_id) if person_id else None,
        family_id=FamilyId(family_id) if family_id else None,
        created_from=created_from,
        created_to=created_to,
    )
    found = await use.list_referrals(ctx, caller, where, page)
    return Paged(items=[ReferralOut.of(v) for v in found.items], next_cursor=encode_cursor(found.next_after))


@router.get(
    "/v1/referrals/{referral_id}",
    operation_id="getReferral",
    summary="Read a referral with its history",
    response_model=ReferralOut,
    responses=problem_responses(*AUTH_PROBLEMS, "not-found"),
)
async def get_referral(
    referral_id: UUID, ctx: ContextDep, caller: Caller = caller_with(Scope.REFERRALS_READ)
) -> Response:
    return _referral(await use.read_referral(ctx, caller, ReferralId(referral_id)))


_SUMMARIES: dict[Action, tuple[str, str, type[BaseModel]]] = {
    Action.SEND: ("sendReferral", "Send a draft (sender)", ActionIn),
    Action.RECEIVE: ("receiveReferral", "Acknowledge receipt (receiver); a read never counts as one", ActionIn),
    Action.ACCEPT: ("acceptReferral", "Accept (receiver)", ActionIn),
    Action.REJECT: ("rejectReferral", "Reject with a coded reason (receiver)", ReasonedActionIn),
    Action.START: ("startReferral", "Start the work (receiver)", ActionIn),
    Action.HOLD: ("holdReferral", "Put the work on hold (receiver)", ActionIn),
    Action.RESUME: ("resumeReferral", "Resume the work (receiver)", ActionIn),
    Action.COMPLETE: ("completeReferral", "Complete with an outcome per member (receiver)", CompleteIn),
    Action.FAIL: ("failReferral", "Close as failed with a coded reason (receiver)", ReasonedActionIn),
    Action.CANCEL: ("cancelReferral", "Cancel (sender)", ActionIn),
    Action.FORWARD: ("forwardReferral", "Forward to a third institution (receiver)", ForwardIn),
}


def _command(action: Action, referral_id: UUID, version: int, body: Any) -> use.TakeAction:
    return use.TakeAction(
        referral_id=ReferralId(referral_id),
        expected_version=version,
        action=action,
        reason=getattr(body, "reason", None),
        note=getattr(body, "note", None),
        outcomes=[
            Outcome(person_id=PersonId(o.person_id), kind=o.kind, on=o.on, note=o.note)
            for o in getattr(body, "outcomes", [])
        ],
        forward_to=InstitutionId(body.to) if isinstance(body, ForwardIn) else None,
    )


def _register_action(action: Action, operation_id: str, summary: str, body_model: type[BaseModel]) -> None:
    async def with_body(
        referral_id: UUID,
        ctx: ContextDep,
        version: IfMatch,
        body: body_model,  # type: ignore[valid-type]
        caller: Caller = caller_with(Scope.REFERRALS_WRITE),
    ) -> Response:
        return _referral(await use.take_action(ctx, caller, _command(action, referral_id, version, body)))

    async def body_optional(
        referral_id: UUID,
        ctx: ContextDep,
        version: IfMatch,
        body: ActionIn | None = None,
        caller: Caller = caller_with(Scope.REFERRALS_WRITE),
    ) -> Response:
        return _referral(await use.take_action(ctx, caller, _command(action, referral_id, version, body)))

    router.add_api_route(
        f"/v1/referrals/{{referral_id}}/{action.value}",
        body_optional if body_model is ActionIn else with_body,
        methods=["POST"],
        operation_id=operation_id,
        summary=summary,
        response_model=ReferralOut,
        responses=ACTION_PROBLEMS,
        description="Needs `If-Match` with the referral's ETag. An action not allowed in the referral's status "
        "answers 409 with `allowed_actions`; a party who may see the referral but is not the one to act, 403.",
    )


for _action, (_operation, _summary, _body) in _SUMMARIES.items():
    _register_action(_action, _operation, _summary, _body)
