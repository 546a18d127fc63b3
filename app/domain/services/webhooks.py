"""Use cases of the event feed and webhook subscriptions: an institution learns of changes it may see."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.domain.caller import Caller, Scope
from app.domain.deliveries import Delivery
from app.domain.errors import NotFound
from app.domain.events import PublishedEvent
from app.domain.ids import DeliveryId, SubscriptionId, new_id
from app.domain.ports import UnitOfWork
from app.domain.services.context import UseCaseContext
from app.domain.webhooks import Subscription, UrlPolicy, check_event_types, check_webhook_url, new_signing_secret

# Events are about referrals today; reading them needs the same right as reading referrals.
EVENTS_SCOPE = Scope.REFERRALS_READ


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedPage:
    events: Sequence[PublishedEvent]
    next_position: int


async def read_feed(ctx: UseCaseContext, caller: Caller, *, after: int, limit: int) -> FeedPage:
    caller.require(EVENTS_SCOPE)
    async with ctx.uow() as uow:
        events = await uow.feed.page(caller.institution_id, after, limit)
    return FeedPage(events=events, next_position=events[-1].position if events else after)


async def subscribe(
    ctx: UseCaseContext, caller: Caller, *, url: str, event_types: list[str], policy: UrlPolicy
) -> Subscription:
    """The answer holds the signing secret; later reads do not."""
    caller.require(EVENTS_SCOPE)
    subscription = Subscription(
        id=SubscriptionId(new_id()),
        institution_id=caller.institution_id,
        url=check_webhook_url(url, policy),
        event_types=check_event_types(event_types),
        secret=new_signing_secret(),
        created_at=ctx.clock.now(),
    )
    async with ctx.uow() as uow:
        await uow.subscriptions.add(subscription)
        await uow.commit()
    return subscription


async def _own(uow: UnitOfWork, caller: Caller, subscription_id: SubscriptionId) -> Subscription:
    subscription = await uow.subscriptions.get(subscription_id)
    if subscription is None or subscription.institution_id != caller.institution_id:
        raise NotFound("no such webhook subscription")
    return subscription


async def list_subscriptions(ctx: UseCaseContext, caller: Caller) -> list[Subscription]:
    caller.require(EVENTS_SCOPE)
    async with ctx.uow() as uow:
        return await uow.subscriptions.list_for(caller.institution_id)


async def read_subscription(ctx: UseCaseContext, caller: Caller, subscription_id: SubscriptionId) -> Subscription:
    caller.require(EVENTS_SCOPE)
    async with ctx.uow() as uow:
        return await _own(uow, caller, subscription_id)


async def deactivate(ctx: UseCaseContext, caller: Caller, subscription_id: SubscriptionId) -> Subscription:
    caller.require(EVENTS_SCOPE)
    async with ctx.uow() as uow:
        subscription = await _own(uow, caller, subscription_id)
        subscription.active = False
        await uow.subscriptions.update(subscription)
        await uow.commit()
    return subscription


async def list_deliveries(
    ctx: UseCaseContext, caller: Caller, subscription_id: SubscriptionId, limit: int
) -> list[Delivery]:
    caller.require(EVENTS_SCOPE)
    async with ctx.uow() as uow:
        await _own(uow, caller, subscription_id)
        return await uow.deliveries.for_subscription(subscription_id, limit)


async def replay(ctx: UseCaseContext, caller: Caller, subscription_id: SubscriptionId, delivery_id: DeliveryId) -> None:
    """Queues a delivery again, parked or not: the receiver may have lost it."""
    caller.require(EVENTS_SCOPE)
    async with ctx.uow() as uow:
        await _own(uow, caller, subscription_id)
        if not await uow.deliveries.replay(subscription_id, delivery_id, ctx.clock.now()):
            raise NotFound("no such delivery")
        await uow.commit()
