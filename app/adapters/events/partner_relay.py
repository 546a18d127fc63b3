"""The partner relay: the outbox, delivered to partners' own systems over the partner API.

It follows the webhook relay (relay.py) step by step, from the same published feed:
1. fan-out: each partner has a cursor over its feed (the events whose audience includes its institution);
   every new event becomes one delivery row per (partner, event), under a unique index, in the transaction
   that moves the cursor. A referral sent to the partner becomes an envelope (PUT), any other event a POST.
2. delivery: due rows are claimed with `FOR UPDATE SKIP LOCKED`, so several relays share the work and each
   row is sent by one of them. Unlike the webhook relay, the claim is a lease (the row's next attempt moved
   past the call's timeout) committed at once, not a transaction held through the call: the envelope is built
   by the use cases in their own transactions (they write the audit trail) and the breaker is updated by every
   relay, which a held write transaction would block (on SQLite, one writer at a time). A relay that dies
   mid-call leaves its rows due again when the lease ends. A failed call is retried with exponential back-off
   and jitter until the attempts run out (then parked, for `spojnia partners replay`). Deliveries about one
   referral go in feed order: a row waits while an earlier one about the same subject is pending. Envelopes
   are built at the moment of sending, through the access policy, as the partner's institution would read
   them over REST.
3. statuses: the partner's `GET /referral-statuses` is pulled from a stored cursor; each report becomes the
   receiver's action where the lifecycle allows it, and is logged with its decision either way.
A circuit breaker per partner, kept in the database, stops all calls to a partner after several failures
in a row; deliveries simply wait, unattempted, until a trial call after the cool-down finds it back.

Nothing is lost: a row exists before any call, and stays pending until the partner answers 2xx. Nothing is
applied twice: each (partner, event) has one row, sent by one relay at a time, and every retry of it carries
the same Idempotency-Key (the delivery id for envelopes, the event id for events); PUT is idempotent anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from uuid import UUID, uuid4

import httpx
from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from app.adapters.db.event_store import event_from_row
from app.adapters.db.partner_store import SqlCircuitBreaker, insert_ignore
from app.adapters.db.partner_tables import (
    PartnerAttemptRow,
    PartnerCursorRow,
    PartnerDeliveryRow,
    PartnerStatusReportRow,
)
from app.adapters.db.tables import EventAudienceRow, EventRow, ReferralRow
from app.adapters.record_systems.partner_api import HttpRecordSystem, PartnerCallFailed, ReceivedReport
from app.config import PartnerApi, Settings
from app.domain.deliveries import DeliveryStatus
from app.domain.errors import DomainError
from app.domain.ids import InstitutionId, ReferralId
from app.domain.partner_links import (
    BreakerPolicy,
    Decision,
    PartnerEndpoint,
    Permit,
    StatusDecision,
    check_partner_endpoint,
)
from app.domain.ports import Clock
from app.domain.services.context import UseCaseContext
from app.domain.services.partner_links import apply_status_report, envelope_for_partner
from app.domain.webhooks import RetryPolicy, UrlPolicy

log = logging.getLogger("spojnia.partners")

ENVELOPE = "envelope"  # PUT /referrals/{id}: the referral was sent (or forwarded) to the partner
EVENT = "event"  # POST /events: any other event the partner's institution is told of
# A claimed delivery is leased for the partner's timeout and this much more (building the envelope, writing).
LEASE_MARGIN = timedelta(seconds=30)


class Outcome(Enum):
    DELIVERED = "delivered"
    ANSWERED = "answered"  # the partner answered, with an error: it is up, the call is retried
    DOWN = "down"  # no answer, a timeout, 5xx: counts towards the circuit breaker
    NOT_CALLED = "not_called"  # refused before any call (not visible any more, a private address)


@dataclass(frozen=True, slots=True, kw_only=True)
class Claimed:
    """A delivery leased to this relay until `lease`."""

    id: UUID
    institution_id: InstitutionId
    event_id: UUID
    kind: str
    subject_id: UUID
    attempts: int
    lease: datetime


class PartnerRelay:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        ctx: UseCaseContext,
        systems: Mapping[InstitutionId, HttpRecordSystem],
        *,
        retry: RetryPolicy,
        breaker: BreakerPolicy,
        clock: Clock,
        status_poll: timedelta,
        batch_size: int = 20,
        publish: Callable[[], Awaitable[int]] | None = None,
    ) -> None:
        self.sessions = sessions
        self.ctx = ctx
        self.systems = dict(systems)
        self.retry = retry
        self.breaker_policy = breaker
        self.breaker = SqlCircuitBreaker(sessions, breaker, clock)
        self.clock = clock
        self.status_poll = status_poll
        self.batch_size = batch_size
        self.publish = publish

    def _hold(self, partner: InstitutionId) -> timedelta:
        """How long a trial call keeps the breaker open for the other relays."""
        return self.breaker_policy.cooldown + timedelta(seconds=self.systems[partner].endpoint.timeout_seconds)

    # 1. fan-out ------------------------------------------------------------------------------------------

    async def fan_out(self) -> int:
        """Queue a delivery per partner for each new event of its feed; returns how many were queued."""
        if not self.systems:
            return 0
        now = self.clock.now()
        queued = 0
        async with self.sessions() as session, session.begin():
            await insert_ignore(
                session,
                PartnerCursorRow.__table__,
                [
                    {
                        "institution_id": p,
                        "feed_position": 0,
                        "status_cursor": None,
                        "next_pull_at": None,
                        "pull_failures": 0,
                        "updated_at": now,
                    }
                    for p in self.systems
                ],
                ["institution_id"],
            )
            query = (
                select(PartnerCursorRow.institution_id, PartnerCursorRow.feed_position)
                .where(PartnerCursorRow.institution_id.in_(list(self.systems)))
                .order_by(PartnerCursorRow.institution_id)
            )
            if session.bind.dialect.name == "postgresql":
                # Two relays fanning out at once take turns per partner; the unique index backs this up.
                query = query.with_for_update(of=PartnerCursorRow)
            for partner_id, position in (await session.execute(query)).all():
                queued += await self._fan_out_to(session, InstitutionId(partner_id), int(position), now)
        return queued

    async def _fan_out_to(self, session: AsyncSession, partner: InstitutionId, after: int, now: datetime) -> int:
        endpoint = self.systems[partner].endpoint
        rows = (
            await session.execute(
                select(
                    EventAudienceRow.position,
                    EventRow.id,
                    EventRow.type,
                    EventRow.subject_type,
                    EventRow.subject_id,
                    ReferralRow.receiver_id,
                )
                .join(EventRow, EventRow.id == EventAudienceRow.event_id)
                .outerjoin(
                    ReferralRow, and_(EventRow.subject_type == "referral", ReferralRow.id == EventRow.subject_id)
                )
                .where(EventAudienceRow.institution_id == partner, EventAudienceRow.position > after)
                .order_by(EventAudienceRow.position)
                .limit(self.batch_size * 10)
            )
        ).all()
        if not rows:
            return 0
        deliveries = []
        for position, event_id, event_type, subject_type, subject_id, receiver_id in rows:
            envelope = event_type == "referral.sent" and subject_type == "referral" and receiver_id == partner
            if not envelope and not endpoint.wants(event_type):
                continue
            deliveries.append(
                {
                    "id": uuid4(),
                    "institution_id": partner,
                    "event_id": event_id,
                    "event_type": event_type,
                    "kind": ENVELOPE if envelope else EVENT,
                    "subject_id": subject_id,
                    "position": position,
                    "status": DeliveryStatus.PENDING.value,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
        await insert_ignore(session, PartnerDeliveryRow.__table__, deliveries, ["institution_id", "event_id"])
        await session.execute(
            update(PartnerCursorRow)
            .where(PartnerCursorRow.institution_id == partner)
            .values(feed_position=rows[-1][0], updated_at=now)
        )
        return len(deliveries)

    # 2. delivery -----------------------------------------------------------------------------------------

    async def deliver(self) -> int:
        """Send due deliveries to every partner whose breaker allows it; returns how many calls were tried."""
        attempted = 0
        for partner in self.systems:
            attempted += await self._deliver_to(partner)
        return attempted

    async def _deliver_to(self, partner: InstitutionId) -> int:
        permit = await self.breaker.permit(partner, hold=self._hold(partner))
        if permit is Permit.OPEN:
            return 0
        claimed = await self._claim(partner, 1 if permit is Permit.TRIAL else self.batch_size)
        attempted = 0
        last_answered = False
        for n, delivery in enumerate(claimed):
            outcome = await self._attempt(self.systems[partner], delivery)
            if outcome is Outcome.NOT_CALLED:
                continue
            attempted += 1
            last_answered = outcome is not Outcome.DOWN
            if outcome is Outcome.DOWN and await self.breaker.failure(partner):
                log.warning("partner circuit opened", extra={"partner": str(partner)})
                await self._unclaim(claimed[n + 1 :])  # they wait, unattempted, for the cool-down to pass
                break
        if last_answered:
            await self.breaker.success(partner)
        elif permit is Permit.TRIAL and not attempted:
            await self.breaker.release(partner)
        return attempted

    async def _claim(self, partner: InstitutionId, limit: int) -> list[Claimed]:
        """Due deliveries, leased to this relay for as long as a call can take: no other relay takes them meanwhile,
        and if this one dies they are due again when the lease ends."""
        now = self.clock.now()
        lease = now + timedelta(seconds=self.systems[partner].endpoint.timeout_seconds) + LEASE_MARGIN
        earlier = aliased(PartnerDeliveryRow)
        waiting_behind = (
            select(earlier.id)
            .where(
                earlier.institution_id == PartnerDeliveryRow.institution_id,
                earlier.subject_id == PartnerDeliveryRow.subject_id,
                earlier.status == DeliveryStatus.PENDING.value,
                earlier.position < PartnerDeliveryRow.position,
            )
            .exists()
        )
        query = (
            select(PartnerDeliveryRow)
            .where(
                PartnerDeliveryRow.institution_id == partner,
                PartnerDeliveryRow.status == DeliveryStatus.PENDING.value,
                PartnerDeliveryRow.next_attempt_at <= now,
                ~waiting_behind,
            )
            .order_by(PartnerDeliveryRow.next_attempt_at, PartnerDeliveryRow.position)
            .limit(limit)
        )
        claimed = []
        async with self.sessions() as session, session.begin():
            if session.bind.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True, of=PartnerDeliveryRow)
            for row in list(await session.scalars(query)):
                # Conditional, for SQLite: a relay that read the same row first has moved its time already.
                taken = await session.execute(
                    update(PartnerDeliveryRow)
                    .where(PartnerDeliveryRow.id == row.id, PartnerDeliveryRow.next_attempt_at == row.next_attempt_at)
                    .values(next_attempt_at=lease)
                )
                if taken.rowcount == 1:
                    claimed.append(
                        Claimed(
                            id=row.id,
                            institution_id=InstitutionId(row.institution_id),
                            event_id=row.event_id,
                            kind=row.kind,
                            subject_id=row.subject_id,
                            attempts=row.attempts,
                            lease=lease,
                        )
                    )
        return claimed

    async def _unclaim(self, deliveries: Sequence[Claimed]) -> None:
        if not deliveries:
            return
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
            for delivery in deliveries:
                await session.execute(
                    update(PartnerDeliveryRow)
                    .where(PartnerDeliveryRow.id == delivery.id, PartnerDeliveryRow.next_attempt_at == delivery.lease)
                    .values(next_attempt_at=now)
                )

    async def _attempt(self, system: HttpRecordSystem, delivery: Claimed) -> Outcome:
        partner = delivery.institution_id
        started = time.perf_counter()
        status_code: int | None = None
        error: str | None = None
        outcome = Outcome.DELIVERED
        final = False  # no point in retrying
        operation = f"PUT /referrals/{delivery.subject_id}" if delivery.kind == ENVELOPE else "POST /events"
        try:
            if delivery.kind == ENVELOPE:
                envelope = await envelope_for_partner(
                    self.ctx, partner, ReferralId(delivery.subject_id), request_id=f"partner-delivery:{delivery.id}"
                )
                status_code = await system.send_referral(envelope, idempotency_key=str(delivery.id))
            else:
                async with self.sessions() as session:
                    event_row = await session.scalar(select(EventRow).where(EventRow.id == delivery.event_id))
                if event_row is None:
                    raise RuntimeError("a partner delivery lost its event despite the foreign key")
                payload = event_from_row(event_row, [partner]).payload()
                status_code = await system.send_event(payload, idempotency_key=str(delivery.event_id))
        except DomainError as refused:
            # The partner's institution may no longer see the referral: nothing to send it, now or later.
            error, outcome, final = f"not sent: {refused.detail}", Outcome.NOT_CALLED, True
        except PartnerCallFailed as failure:
            status_code, error = failure.status_code, failure.error
            if failure.partner_down:
                outcome = Outcome.DOWN
            else:
                outcome = Outcome.ANSWERED if failure.status_code is not None else Outcome.NOT_CALLED
        now = self.clock.now()
        attempts = delivery.attempts + 1
        values: dict[str, object] = {"attempts": attempts, "last_error": error}
        if outcome is Outcome.DELIVERED:
            values |= {"status": DeliveryStatus.DELIVERED.value, "delivered_at": now, "next_attempt_at": None}
        else:
            next_at = None if final else self.retry.next_attempt(attempts, now)
            values |= {
                "status": DeliveryStatus.PENDING.value if next_at else DeliveryStatus.PARKED.value,
                "next_attempt_at": next_at,
            }
            log.info(
                "partner delivery failed",
                extra={
                    "delivery_id": str(delivery.id),
                    "partner": str(partner),
                    "status_code": status_code,
                    "error": error,
                    "parked": next_at is None,
                },
            )
        async with self.sessions() as session, session.begin():
            session.add(
                PartnerAttemptRow(
                    id=uuid4(),
                    delivery_id=delivery.id,
                    at=now,
                    operation=operation[:120],
                    status_code=status_code,
                    error=error,
                    duration_ms=int((time.perf_counter() - started) * 1000),
                )
            )
            await session.execute(
                update(PartnerDeliveryRow).where(PartnerDeliveryRow.id == delivery.id).values(**values)
            )
        return outcome

    # 3. statuses -----------------------------------------------------------------------------------------

    async def pull(self) -> int:
        """Pull each partner's new status reports when due; returns how many reports were handled."""
        handled = 0
        for partner in self.systems:
            handled += await self._pull_from(partner)
        return handled

    async def _claim_pull(self, partner: InstitutionId, now: datetime) -> PartnerCursorRow | None:
        async with self.sessions() as session, session.begin():
            await insert_ignore(
                session,
                PartnerCursorRow.__table__,
                [
                    {
                        "institution_id": partner,
                        "feed_position": 0,
                        "status_cursor": None,
                        "next_pull_at": None,
                        "pull_failures": 0,
                        "updated_at": now,
                    }
                ],
                ["institution_id"],
            )
            claimed = await session.execute(
                update(PartnerCursorRow)
                .where(
                    PartnerCursorRow.institution_id == partner,
                    or_(PartnerCursorRow.next_pull_at.is_(None), PartnerCursorRow.next_pull_at <= now),
                )
                .values(next_pull_at=now + self.status_poll)
            )
            if claimed.rowcount != 1:
                return None  # not due, or another relay is pulling
            cursor: PartnerCursorRow | None = await session.scalar(
                select(PartnerCursorRow).where(PartnerCursorRow.institution_id == partner)
            )
            return cursor

    async def _pull_from(self, partner: InstitutionId) -> int:
        now = self.clock.now()
        cursor = await self._claim_pull(partner, now)
        if cursor is None:
            return 0
        permit = await self.breaker.permit(partner, hold=self._hold(partner))
        if permit is Permit.OPEN:
            return 0
        try:
            page = await self.systems[partner].pull_status_page(cursor.status_cursor)
        except PartnerCallFailed as failure:
            if failure.partner_down:
                await self.breaker.failure(partner)
            elif failure.status_code is not None:
                await self.breaker.success(partner)
            elif permit is Permit.TRIAL:
                await self.breaker.release(partner)
            failures = cursor.pull_failures + 1
            backoff = self.retry.next_attempt(min(failures, self.retry.max_attempts - 1), now) or now
            log.info(
                "partner status pull failed",
                extra={"partner": str(partner), "status_code": failure.status_code, "error": failure.error},
            )
            await self._save_cursor(partner, pull_failures=failures, next_pull_at=max(backoff, now + self.status_poll))
            return 0
        await self.breaker.success(partner)
        handled = 0
        for item in page.items:
            handled += await self._handle(partner, item)
        moved = page.next_cursor not in (None, cursor.status_cursor)
        await self._save_cursor(
            partner,
            status_cursor=page.next_cursor or cursor.status_cursor,
            pull_failures=0,
            # New reports may have more behind them: ask again at once.
            next_pull_at=now if handled and moved else now + self.status_poll,
        )
        return handled

    async def _save_cursor(self, partner: InstitutionId, **values: object) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(PartnerCursorRow)
                .where(PartnerCursorRow.institution_id == partner)
                .values(updated_at=self.clock.now(), **values)
            )

    async def _handle(self, partner: InstitutionId, item: ReceivedReport) -> int:
        async with self.sessions() as session:
            seen = await session.scalar(
                select(PartnerStatusReportRow.id).where(
                    PartnerStatusReportRow.institution_id == partner, PartnerStatusReportRow.report_key == item.key
                )
            )
        if seen is not None:
            return 0  # the same report, pulled again: it was handled the first time
        if item.report is None:
            decision = StatusDecision(
                referral_id=None, status=item.status, decision=Decision.REJECTED, reason=item.problem
            )
        else:
            decision = await apply_status_report(
                self.ctx, partner, item.report, request_id=f"partner-status:{item.key[:32]}"
            )
        if decision.decision is Decision.REJECTED:
            log.warning(
                "partner status report rejected",
                extra={
                    "partner": str(partner),
                    "referral_id": str(decision.referral_id),
                    "status": decision.status,
                    "reason": decision.reason,
                },
            )
        async with self.sessions() as session, session.begin():
            await insert_ignore(
                session,
                PartnerStatusReportRow.__table__,
                [
                    {
                        "id": uuid4(),
                        "institution_id": partner,
                        "report_key": item.key,
                        "referral_id": decision.referral_id,
                        "status": decision.status[:40],
                        "reported_at": item.report.at if item.report else None,
                        "decision": decision.decision.value,
                        "action": decision.action.value if decision.action else None,
                        "reason": (decision.reason or "")[:500] or None,
                        "received_at": self.clock.now(),
                    }
                ],
                ["institution_id", "report_key"],
            )
        return 1

    # the loop --------------------------------------------------------------------------------------------

    async def run_once(self) -> tuple[int, int, int]:
        """Publish (when given the webhook relay's publisher), fan out, deliver, pull: (queued, attempted, pulled)."""
        if self.publish is not None:
            await self.publish()
        queued = await self.fan_out()
        return queued, await self.deliver(), await self.pull()

    async def run_forever(self, poll_seconds: float, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                queued, attempted, pulled = await self.run_once()
            except Exception:
                log.exception("partner relay round failed; retrying")
                queued = attempted = pulled = 0
            if not (queued or attempted or pulled):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=poll_seconds)


def partner_endpoints(apis: Mapping[UUID, PartnerApi], policy: UrlPolicy) -> list[PartnerEndpoint]:
    """The partners of the settings, each base URL checked by the webhooks' URL policy (InvalidInput if not)."""
    return [
        check_partner_endpoint(
            PartnerEndpoint(
                institution_id=InstitutionId(institution_id),
                base_url=api.base_url,
                token=api.token.get_secret_value(),
                timeout_seconds=api.timeout_seconds,
                event_types=tuple(api.event_types),
            ),
            policy,
        )
        for institution_id, api in apis.items()
    ]


def build_partner_relay(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    ctx: UseCaseContext,
    http: httpx.AsyncClient,
    *,
    publish: Callable[[], Awaitable[int]] | None = None,
) -> PartnerRelay:
    insecure = settings.webhook_insecure_allowed()
    policy = UrlPolicy(allow_insecure=insecure, allowed_hosts=tuple(settings.webhooks.allowed_hosts))
    tuning = settings.partner_sync
    return PartnerRelay(
        sessions,
        ctx,
        {
            e.institution_id: HttpRecordSystem(e, http, ctx.codes, allow_private_targets=insecure)
            for e in partner_endpoints(settings.partner_apis, policy)
        },
        retry=RetryPolicy(base_delay_ms=tuning.retry_base_ms, max_attempts=tuning.max_attempts),
        breaker=BreakerPolicy(
            failures_to_open=tuning.breaker_failures, cooldown=timedelta(seconds=tuning.breaker_cooldown_seconds)
        ),
        clock=ctx.clock,
        status_poll=timedelta(seconds=tuning.status_poll_seconds),
        batch_size=tuning.batch_size,
        publish=publish,
    )
