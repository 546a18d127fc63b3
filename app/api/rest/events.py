"""/v1/events (a pull feed for partners without a server) and /v1/webhook-subscriptions."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import Response

from app.api.deps import ContainerDep, ContextDep, caller_with
from app.api.problems import AUTH_PROBLEMS, problem_responses
from app.api.rest.referral_schemas import (
    DeliveryList,
    DeliveryOut,
    EventOut,
    EventPage,
    SubscriptionIn,
    SubscriptionOut,
)
from app.api.rest.responses import json_body
from app.domain.caller import Caller
from app.domain.errors import FieldError, InvalidInput
from app.domain.ids import DeliveryId, SubscriptionId
from app.domain.services import webhooks as use

router = APIRouter(tags=["events"])
EVENTS = use.EVENTS_SCOPE


def _position(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not cursor.isdigit() or len(cursor) > 18:
        raise InvalidInput("the cursor is not one this feed gave out", [FieldError("cursor", "not a feed position")])
    return int(cursor)


@router.get(
    "/v1/events",
    operation_id="listEvents",
    summary="Changes your institution may learn of, oldest first",
    response_model=EventPage,
    responses=problem_responses(*AUTH_PROBLEMS),
    description="Thin events (type, ids, time, status); fetch details with your own rights. Keep `next_cursor` "
    "and poll with it: it stays where it is until something new happens.",
)
async def list_events(
    ctx: ContextDep,
    cursor: Annotated[str | None, Query(max_length=18)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    caller: Caller = caller_with(EVENTS),
) -> EventPage:
    page = await use.read_feed(ctx, caller, after=_position(cursor), limit=limit)
    return EventPage(items=[EventOut.of(e) for e in page.events], next_cursor=str(page.next_position))


@router.post(
    "/v1/webhook-subscriptions",
    operation_id="createWebhookSubscription",
    status_code=201,
    response_model=SubscriptionOut,
    summary="Subscribe a URL to events (the answer shows the signing secret once)",
    responses=problem_responses(*AUTH_PROBLEMS),
    tags=["webhooks"],
)
async def subscribe(body: SubscriptionIn, app: ContainerDep, caller: Caller = caller_with(EVENTS)) -> Response:
    subscription = await use.subscribe(
        app.ctx, caller, url=body.url, event_types=body.event_types, policy=app.url_policy
    )
    return json_body(
        SubscriptionOut.of(subscription, with_secret=True),
        status=201,
        location=f"/v1/webhook-subscriptions/{subscription.id}",
    )


@router.get(
    "/v1/webhook-subscriptions",
    operation_id="listWebhookSubscriptions",
    summary="Your subscriptions",
    response_model=list[SubscriptionOut],
    responses=problem_responses(*AUTH_PROBLEMS),
    tags=["webhooks"],
)
async def list_subscriptions(ctx: ContextDep, caller: Caller = caller_with(EVENTS)) -> list[SubscriptionOut]:
    return [SubscriptionOut.of(s) for s in await use.list_subscriptions(ctx, caller)]


@router.get(
    "/v1/webhook-subscriptions/{subscription_id}",
    operation_id="getWebhookSubscription",
    summary="One subscription",
    response_model=SubscriptionOut,
    responses=problem_responses(*AUTH_PROBLEMS, "not-found"),
    tags=["webhooks"],
)
async def get_subscription(
    subscription_id: UUID, ctx: ContextDep, caller: Caller = caller_with(EVENTS)
) -> SubscriptionOut:
    return SubscriptionOut.of(await use.read_subscription(ctx, caller, SubscriptionId(subscription_id)))


@router.delete(
    "/v1/webhook-subscriptions/{subscription_id}",
    operation_id="deleteWebhookSubscription",
    summary="Stop a subscription (deliveries stay listed)",
    status_code=204,
    responses=problem_responses(*AUTH_PROBLEMS, "not-found"),
    tags=["webhooks"],
)
async def delete_subscription(subscription_id: UUID, ctx: ContextDep, caller: Caller = caller_with(EVENTS)) -> Response:
    await use.deactivate(ctx, caller, SubscriptionId(subscription_id))
    return Response(status_code=204)


@router.get(
    "/v1/webhook-subscriptions/{subscription_id}/deliveries",
    operation_id="listWebhookDeliveries",
    summary="Deliveries with every attempt, newest first",
    response_model=DeliveryList,
    responses=problem_responses(*AUTH_PROBLEMS, "not-found"),
    tags=["webhooks"],
)
async def list_deliveries(
    subscription_id: UUID,
    ctx: ContextDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    caller: Caller = caller_with(EVENTS),
) -> DeliveryList:
    found = await use.list_deliveries(ctx, caller, SubscriptionId(subscription_id), limit)
    return DeliveryList(items=[DeliveryOut.of(d) for d in found])


@router.post(
    "/v1/webhook-subscriptions/{subscription_id}/deliveries/{delivery_id}/replay",
    operation_id="replayWebhookDelivery",
    summary="Send a delivery again (parked or not)",
    status_code=202,
    responses=problem_responses(*AUTH_PROBLEMS, "not-found"),
    tags=["webhooks"],
)
async def replay(
    subscription_id: UUID, delivery_id: UUID, ctx: ContextDep, caller: Caller = caller_with(EVENTS)
) -> Response:
    await use.replay(ctx, caller, SubscriptionId(subscription_id), DeliveryId(delivery_id))
    return Response(status_code=202)
