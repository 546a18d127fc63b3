"""Partner APIs in SQL: the circuit breaker every relay process shares, and what an operator reads of it all."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.adapters.db.partner_tables import (
    PartnerBreakerRow,
    PartnerCursorRow,
    PartnerDeliveryRow,
    PartnerStatusReportRow,
)
from app.domain.deliveries import DeliveryStatus
from app.domain.ids import InstitutionId
from app.domain.partner_links import BreakerPolicy, Permit
from app.domain.ports import Clock


async def insert_ignore(
    session: AsyncSession, table: Any, rows: Sequence[Mapping[str, object]], keys: Sequence[str]
) -> int:
    """INSERT ... ON CONFLICT (keys) DO NOTHING, on PostgreSQL and SQLite alike; how many rows went in."""
    if not rows:
        return 0
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(list(rows)).on_conflict_do_nothing(index_elements=list(keys))
    return int((await session.execute(statement)).rowcount or 0)


class SqlCircuitBreaker:
    """One breaker per partner in `partner_breakers`, so several relay processes count the same failures and
    stay away together; each change is its own short transaction, seen by the others at once.

    The trial call after the cool-down is claimed with a conditional UPDATE: only the process whose UPDATE
    moved `open_until` forward makes it; the others see the breaker still open."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], policy: BreakerPolicy, clock: Clock) -> None:
        self.sessions = sessions
        self.policy = policy
        self.clock = clock

    async def permit(self, partner: InstitutionId, *, hold: timedelta) -> Permit:
        """Whether to call the partner now; TRIAL holds the breaker open for `hold` while the trial runs."""
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
            await insert_ignore(
                session,
                PartnerBreakerRow.__table__,
                [{"institution_id": partner, "consecutive_failures": 0, "open_until": None, "updated_at": now}],
                ["institution_id"],
            )
            open_until = await session.scalar(
                select(PartnerBreakerRow.open_until).where(PartnerBreakerRow.institution_id == partner)
            )
            permit = self.policy.permit(open_until, now)
            if permit is not Permit.TRIAL:
                return permit
            claimed = await session.execute(
                update(PartnerBreakerRow)
                .where(
                    PartnerBreakerRow.institution_id == partner,
                    PartnerBreakerRow.open_until.is_not(None),
                    PartnerBreakerRow.open_until <= now,
                )
                .values(open_until=now + hold, updated_at=now)
            )
            return Permit.TRIAL if claimed.rowcount == 1 else Permit.OPEN

    async def release(self, partner: InstitutionId) -> None:
        """A claimed trial that made no call: the next caller may try at once."""
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(PartnerBreakerRow)
                .where(PartnerBreakerRow.institution_id == partner, PartnerBreakerRow.open_until.is_not(None))
                .values(open_until=now, updated_at=now)
            )

    async def success(self, partner: InstitutionId) -> None:
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(PartnerBreakerRow)
                .where(PartnerBreakerRow.institution_id == partner)
                .values(consecutive_failures=0, open_until=None, updated_at=now)
            )

    async def failure(self, partner: InstitutionId) -> bool:
        """Counts a failure; True when the breaker is (now) open."""
        now = self.clock.now()
        reopen = now + self.policy.cooldown
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(PartnerBreakerRow)
                .where(PartnerBreakerRow.institution_id == partner)
                .values(
                    consecutive_failures=PartnerBreakerRow.consecutive_failures + 1,
                    open_until=case(
                        (PartnerBreakerRow.consecutive_failures + 1 >= self.policy.failures_to_open, reopen),
                        else_=PartnerBreakerRow.open_until,
                    ),
                    updated_at=now,
                )
            )
            open_until = await session.scalar(
                select(PartnerBreakerRow.open_until).where(PartnerBreakerRow.institution_id == partner)
            )
        return open_until is not None and open_until > now


@dataclass(frozen=True, slots=True, kw_only=True)
class PartnerState:
    """What an operator needs to know of one partner: is it being called, and what waits for it."""

    institution_id: InstitutionId
    breaker: Permit
    consecutive_failures: int
    open_until: datetime | None
    pending: int
    parked: int
    delivered: int
    feed_position: int
    status_cursor: str | None
    rejected_reports: int


async def partner_states(
    sessions: async_sessionmaker[AsyncSession], partners: Sequence[InstitutionId], policy: BreakerPolicy, now: datetime
) -> list[PartnerState]:
    states = []
    async with sessions() as session:
        for partner in partners:
            breaker = await session.scalar(select(PartnerBreakerRow).where(PartnerBreakerRow.institution_id == partner))
            cursor = await session.scalar(select(PartnerCursorRow).where(PartnerCursorRow.institution_id == partner))
            counts: dict[str, int] = dict(
                (
                    await session.execute(
                        select(PartnerDeliveryRow.status, func.count())
                        .where(PartnerDeliveryRow.institution_id == partner)
                        .group_by(PartnerDeliveryRow.status)
                    )
                ).all()
            )
            rejected = await session.scalar(
                select(func.count()).where(
                    PartnerStatusReportRow.institution_id == partner, PartnerStatusReportRow.decision == "rejected"
                )
            )
            open_until = breaker.open_until if breaker else None
            states.append(
                PartnerState(
                    institution_id=partner,
                    breaker=policy.permit(open_until, now),
                    consecutive_failures=breaker.consecutive_failures if breaker else 0,
                    open_until=open_until,
                    pending=int(counts.get(DeliveryStatus.PENDING.value, 0)),
                    parked=int(counts.get(DeliveryStatus.PARKED.value, 0)),
                    delivered=int(counts.get(DeliveryStatus.DELIVERED.value, 0)),
                    feed_position=int(cursor.feed_position) if cursor else 0,
                    status_cursor=cursor.status_cursor if cursor else None,
                    rejected_reports=int(rejected or 0),
                )
            )
    return states


async def replay_parked(sessions: async_sessionmaker[AsyncSession], partner: InstitutionId, at: datetime) -> int:
    """Parked deliveries to the partner go back in the queue with a fresh count of attempts."""
    async with sessions() as session, session.begin():
        result = await session.execute(
            update(PartnerDeliveryRow)
            .where(
                PartnerDeliveryRow.institution_id == partner,
                PartnerDeliveryRow.status == DeliveryStatus.PARKED.value,
            )
            .values(status=DeliveryStatus.PENDING.value, next_attempt_at=at, attempts=0)
        )
    return int(result.rowcount or 0)
