"""The outbox, the event feed, webhook subscriptions and the delivery log in SQL."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.adapters.db.repositories import insert_row
from app.adapters.db.tables import AttemptRow, DeliveryRow, EventAudienceRow, EventRow, SubscriptionRow
from app.domain.deliveries import Attempt, Delivery, DeliveryStatus
from app.domain.events import DomainEvent, PublishedEvent
from app.domain.ids import DeliveryId, EventId, InstitutionId, SubscriptionId
from app.domain.webhooks import Subscription


def event_from_row(row: EventRow, audience: Sequence[Any]) -> DomainEvent:
    return DomainEvent(
        id=EventId(row.id),
        type=row.type,
        occurred_at=row.occurred_at,
        subject_type=row.subject_type,
        subject_id=row.subject_id,
        audience=frozenset(InstitutionId(i) for i in audience),
        data=json.loads(row.data),
    )


class SqlOutbox:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, event: DomainEvent) -> None:
        self.session.add(
            EventRow(
                id=event.id,
                type=event.type,
                occurred_at=event.occurred_at,
                subject_type=event.subject_type,
                subject_id=event.subject_id,
                data=json.dumps(dict(event.data), sort_keys=True),
            )
        )
        await self.session.flush()
        for institution_id in sorted(event.audience, key=str):
            self.session.add(EventAudienceRow(event_id=event.id, institution_id=institution_id))


class SqlEventFeed:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def page(self, institution_id: InstitutionId, after: int, limit: int) -> list[PublishedEvent]:
        rows = (
            (
                await self.session.execute(
                    select(EventRow)
                    .join(EventAudienceRow, EventAudienceRow.event_id == EventRow.id)
                    .where(EventAudienceRow.institution_id == institution_id, EventAudienceRow.position > after)
                    .order_by(EventAudienceRow.position)
                    .limit(limit)
                )
            )
            .scalars()
            .all()
        )
        # The feed shows the subscriber only itself as audience: who else was told is not its business.
        return [PublishedEvent(position=int(r.position or 0), event=event_from_row(r, [institution_id])) for r in rows]


def _subscription(row: SubscriptionRow) -> Subscription:
    return Subscription(
        id=SubscriptionId(row.id),
        institution_id=InstitutionId(row.institution_id),
        url=row.url,
        event_types=tuple(row.event_types.split()),
        secret=row.secret,
        created_at=row.created_at,
        active=row.active,
    )


class SqlSubscriptionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, subscription: Subscription) -> None:
        await insert_row(
            self.session,
            SubscriptionRow(
                id=subscription.id,
                institution_id=subscription.institution_id,
                url=subscription.url,
                event_types=" ".join(subscription.event_types),
                secret=subscription.secret,
                active=subscription.active,
                created_at=subscription.created_at,
            ),
        )

    async def get(self, subscription_id: SubscriptionId) -> Subscription | None:
        row = await self.session.scalar(select(SubscriptionRow).where(SubscriptionRow.id == subscription_id))
        return _subscription(row) if row else None

    async def list_for(self, institution_id: InstitutionId) -> list[Subscription]:
        rows = await self.session.scalars(
            select(SubscriptionRow)
            .where(SubscriptionRow.institution_id == institution_id)
            .order_by(SubscriptionRow.created_at)
        )
        return [_subscription(r) for r in rows]

    async def update(self, subscription: Subscription) -> None:
        await self.session.execute(
            update(SubscriptionRow).where(SubscriptionRow.id == subscription.id).values(active=subscription.active)
        )


class SqlDeliveryLog:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def for_subscription(self, subscription_id: SubscriptionId, limit: int) -> list[Delivery]:
        rows = list(
            await self.session.scalars(
                select(DeliveryRow)
                .where(DeliveryRow.subscription_id == subscription_id)
                .order_by(DeliveryRow.created_at.desc(), DeliveryRow.id)
                .limit(limit)
            )
        )
        attempts: defaultdict[Any, list[AttemptRow]] = defaultdict(list)
        if rows:
            for a in await self.session.scalars(
                select(AttemptRow).where(AttemptRow.delivery_id.in_([r.id for r in rows])).order_by(AttemptRow.at)
            ):
                attempts[a.delivery_id].append(a)
        return [
            Delivery(
                id=DeliveryId(r.id),
                subscription_id=SubscriptionId(r.subscription_id),
                event_id=EventId(r.event_id),
                event_type=r.event_type,
                status=DeliveryStatus(r.status),
                next_attempt_at=r.next_attempt_at,
                delivered_at=r.delivered_at,
                attempts=[
                    Attempt(at=a.at, status_code=a.status_code, error=a.error, duration_ms=a.duration_ms)
                    for a in attempts[r.id]
                ],
            )
            for r in rows
        ]

    async def replay(self, subscription_id: SubscriptionId, delivery_id: DeliveryId, at: datetime) -> bool:
        result = await self.session.execute(
            update(DeliveryRow)
            .where(DeliveryRow.id == delivery_id, DeliveryRow.subscription_id == subscription_id)
            .values(status=DeliveryStatus.PENDING.value, next_attempt_at=at, attempts=0)
        )
        return bool(result.rowcount)
