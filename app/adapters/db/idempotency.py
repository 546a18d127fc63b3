"""Idempotency keys in the database, so every worker process sees the same first answer.

The first answer may carry personal data (a registered person's PESEL), so it is kept sealed, bound to its
owner and key. So is the request's fingerprint: a bare SHA-256 of a body whose other fields (names, birth
date) are known would give its PESEL away to a few thousand guesses.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.adapters.crypto.vault import PersonalDataVault, stored_response_context
from app.adapters.db.tables import IdempotencyRow


class ReservationState(Enum):
    NEW = "new"  # the caller runs the request and then completes or releases the key
    REPLAY = "replay"  # the first answer is stored: send it again
    MISMATCH = "mismatch"  # the key was used with another body
    IN_PROGRESS = "in_progress"  # the first request with this key is still running


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status_code: int
    body: str
    headers: str


@dataclass(frozen=True, slots=True)
class Reservation:
    state: ReservationState
    stored: StoredResponse | None = None


class SqlIdempotencyStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], vault: PersonalDataVault, *, ttl_hours: int) -> None:
        self._sessions = sessions
        self._vault = vault
        self._ttl = timedelta(hours=ttl_hours)

    async def reserve(self, owner: str, key: str, request_digest: str) -> Reservation:
        now = datetime.now(UTC)
        fingerprint = self._vault.seal(request_digest, context=stored_response_context(owner, key, "fingerprint"))
        async with self._sessions() as session:
            await session.execute(
                delete(IdempotencyRow).where(
                    IdempotencyRow.owner == owner,
                    IdempotencyRow.key == key,
                    IdempotencyRow.created_at < now - self._ttl,
                )
            )
            session.add(IdempotencyRow(owner=owner, key=key, fingerprint=fingerprint, created_at=now))
            try:
                await session.commit()
                return Reservation(ReservationState.NEW)
            except IntegrityError:
                await session.rollback()
            row = await session.scalar(
                select(IdempotencyRow).where(IdempotencyRow.owner == owner, IdempotencyRow.key == key)
            )
        if row is None:  # released between our insert and our read: the caller may retry
            return Reservation(ReservationState.IN_PROGRESS)
        if not hmac.compare_digest(self._open(row.fingerprint, owner, key, "fingerprint", ""), request_digest):
            return Reservation(ReservationState.MISMATCH)
        if row.status_code is None:
            return Reservation(ReservationState.IN_PROGRESS)
        return Reservation(
            ReservationState.REPLAY,
            StoredResponse(
                row.status_code,
                self._open(row.response_body, owner, key, "response_body", ""),
                self._open(row.response_headers, owner, key, "response_headers", "{}"),
            ),
        )

    def _open(self, token: str | None, owner: str, key: str, part: str, empty: str) -> str:
        return self._vault.open(token, context=stored_response_context(owner, key, part)) if token else empty

    async def complete(self, owner: str, key: str, response: StoredResponse) -> None:
        async with self._sessions() as session:
            await session.execute(
                update(IdempotencyRow)
                .where(IdempotencyRow.owner == owner, IdempotencyRow.key == key)
                .values(
                    status_code=response.status_code,
                    response_body=self._vault.seal(
                        response.body, context=stored_response_context(owner, key, "response_body")
                    ),
                    response_headers=self._vault.seal(
                        response.headers, context=stored_response_context(owner, key, "response_headers")
                    ),
                )
            )
            await session.commit()

    async def release(self, owner: str, key: str) -> None:
        async with self._sessions() as session:
            await session.execute(
                delete(IdempotencyRow).where(IdempotencyRow.owner == owner, IdempotencyRow.key == key)
            )
            await session.commit()
