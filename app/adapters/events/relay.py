"""The relay: publishes outbox events in commit order and delivers them to webhook subscribers.

Publishing takes a PostgreSQL advisory lock, so feed positions grow in the order events are
published and a reader never skips one. Delivery claims due rows with `FOR UPDATE SKIP LOCKED`,
so several relays share the work and each delivery is sent by one of them. A relay that dies
mid-send leaves its transaction uncommitted: the delivery stays pending and is sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
from urllib.parse import urlsplit
from uuid import uuid4

import httpx
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks.webhooks import Webhook

from app.adapters.db.event_store import event_from_row
from app.adapters.db.tables import AttemptRow, DeliveryRow, EventAudienceRow, EventRow, SubscriptionRow
from app.domain.deliveries import DeliveryStatus
from app.domain.ports import Clock
from app.domain.webhooks import RetryPolicy, is_private_address

log = logging.getLogger("spojnia.relay")

PUBLISH_LOCK = 7_243_001  # an arbitrary constant naming the publisher's advisory lock


class Relay:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        http: httpx.AsyncClient,
        *,
        retry: RetryPolicy,
        clock: Clock,
        allow_private_targets: bool,
        timeout_seconds: float = 5.0,
    ) -> None:
        self.sessions = sessions
        self.http = http
        self.retry = retry
        self.clock = clock
        self.allow_private_targets = allow_private_targets
        self.timeout = timeout_seconds

    async def publish(self, batch: int = 500) -> int:
        """Give unpublished events their feed position and queue a delivery per interested subscriber."""
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
            postgres = session.bind.dialect.name == "postgresql"
            if postgres:
                await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PUBLISH_LOCK})
            events = list(
                await session.scalars(
                    select(EventRow).where(EventRow.position.is_(None)).order_by(EventRow.seq).limit(batch)
                )
            )
            if not events:
                return 0
            position = int(await session.scalar(select(func.coalesce(func.max(EventRow.position), 0))) or 0)
            audiences: dict[object, list[object]] = {e.id: [] for e in events}
            for event_id, institution_id in await session.execute(
                select(EventAudienceRow.event_id, EventAudienceRow.institution_id).where(
                    EventAudienceRow.event_id.in_(list(audiences))
                )
            ):
                audiences[event_id].append(institution_id)
            subscriptions = list(await session.scalars(select(SubscriptionRow).where(SubscriptionRow.active.is_(True))))
            deliveries = []
            for event in events:
                position += 1
                await session.execute(
                    update(EventRow).where(EventRow.id == event.id).values(position=position, published_at=now)
                )
                await session.execute(
                    update(EventAudienceRow).where(EventAudienceRow.event_id == event.id).values(position=position)
                )
                for sub in subscriptions:
                    types = sub.event_types.split()
                    if sub.institution_id in audiences[event.id] and ("*" in types or event.type in types):
                        deliveries.append(
                            {
                                "id": uuid4(),
                                "subscription_id": sub.id,
                                "event_id": event.id,
                                "event_type": event.type,
                                "status": DeliveryStatus.PENDING.value,
                                "attempts": 0,
                                "next_attempt_at": now,
                                "created_at": now,
                            }
                        )
            if deliveries:
                await session.execute(insert(DeliveryRow), deliveries)
        return len(events)

    async def deliver(self, batch: int = 20) -> int:
        """Send due deliveries; returns how many were attempted."""
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
            query = (
                select(DeliveryRow)
                .join(EventRow, EventRow.id == DeliveryRow.event_id)
                .where(DeliveryRow.status == DeliveryStatus.PENDING.value, DeliveryRow.next_attempt_at <= now)
                # Due at the same moment, they go in the order the events happened.
                .order_by(DeliveryRow.next_attempt_at, EventRow.position)
                .limit(batch)
            )
            if session.bind.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True, of=DeliveryRow)
            due = list(await session.scalars(query))
            for delivery in due:
                await self._attempt(session, delivery)
        return len(due)

    async def _attempt(self, session: AsyncSession, delivery: DeliveryRow) -> None:
        event_row = await session.scalar(select(EventRow).where(EventRow.id == delivery.event_id))
        sub = await session.scalar(select(SubscriptionRow).where(SubscriptionRow.id == delivery.subscription_id))
        if event_row is None or sub is None:
            raise RuntimeError("a delivery lost its event or subscription despite the foreign keys")
        body = json.dumps(event_from_row(event_row, [sub.institution_id]).payload(), separators=(",", ":"))
        started = time.perf_counter()
        status_code: int | None = None
        error: str | None = None
        if not sub.active:
            error = "the subscription was deactivated"
        else:
            status_code, error = await self._send(sub.url, sub.secret, str(event_row.id), body)
        now = self.clock.now()
        attempts = delivery.attempts + 1
        session.add(
            AttemptRow(
                id=uuid4(),
                delivery_id=delivery.id,
                at=now,
                status_code=status_code,
                error=error,
                duration_ms=int((time.perf_counter() - started) * 1000),
            )
        )
        values: dict[str, object] = {"attempts": attempts}
        if status_code is not None and 200 <= status_code < 300:
            values |= {"status": DeliveryStatus.DELIVERED.value, "delivered_at": now, "next_attempt_at": None}
        else:
            next_at = self.retry.next_attempt(attempts, now) if sub.active else None
            values |= {
                "status": DeliveryStatus.PENDING.value if next_at else DeliveryStatus.PARKED.value,
                "next_attempt_at": next_at,
            }
            log.info(
                "webhook delivery failed",
                extra={"delivery_id": str(delivery.id), "status_code": status_code, "error": error},
            )
        await session.execute(update(DeliveryRow).where(DeliveryRow.id == delivery.id).values(**values))

    async def _send(self, url: str, secret: str, message_id: str, body: str) -> tuple[int | None, str | None]:
        if not self.allow_private_targets and await self._resolves_to_private(url):
            return None, "refused: the URL resolves to a private or loopback address"
        moment = self.clock.now()
        signature = Webhook(secret).sign(message_id, moment, body)
        headers = {
            "content-type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(int(moment.timestamp())),
            "webhook-signature": signature,
            "user-agent": "Spojnia-Webhooks/1",
        }
        try:
            response = await self.http.post(
                url, content=body, headers=headers, timeout=self.timeout, follow_redirects=False
            )
        except httpx.HTTPError as failure:
            return None, f"{failure.__class__.__name__}: {str(failure)[:200]}"
        return response.status_code, None if response.is_success else f"HTTP {response.status_code}"

    @staticmethod
    async def _resolves_to_private(url: str) -> bool:
        host = urlsplit(url).hostname or ""
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except OSError:
            return False  # the send itself will fail and be retried
        return any(is_private_address(str(info[4][0])) for info in infos) or is_private_address(host)

    async def run_once(self) -> tuple[int, int]:
        return await self.publish(), await self.deliver()

    async def run_forever(self, poll_seconds: float, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                published, delivered = await self.run_once()
            except Exception:
                log.exception("relay round failed; retrying")
                published = delivered = 0
            if not published and not delivered:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=poll_seconds)
