"""The shared-client lookup on PostgreSQL: two statements on asyncpg, no ORM.

A statement through the async SQLAlchemy session costs about five times the CPU of the same statement on its
asyncpg connection (bench/hot_paths/README.md), and the lookup is the call vendors make all day. So the grounds
come in one statement (row types aggregated into arrays, decoded by asyncpg into typed records and mapped by the
same functions as the repositories' rows), and the audit records go in with the count against the client's limit
in one more: a data-modifying statement, atomic without an explicit transaction, that writes nothing when the
window is spent.

The pool is this process's own, opened on first use and closed with the container; it is sized like the engine's.
Nothing on its connections leaves session state behind, so they are handed back without asyncpg's reset query.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, cast

import asyncpg

from app.adapters.crypto.vault import PersonalDataVault
from app.adapters.db import mapping
from app.adapters.db.audit_log import encode_categories
from app.adapters.db.sharing_repository import agreement_from_rows, consent_from_row
from app.domain.audit import AuditRecord
from app.domain.ids import InstitutionId, PersonId
from app.domain.lookup_reads import LookupGrounds, LookupKey, RateWindow, folded

_GROUNDS = """
WITH window_hits AS (
    SELECT coalesce((SELECT hits FROM rate_limit_windows WHERE bucket = $1 AND window_start = $2), 0) AS hits
), candidates AS (
    SELECT p.id, p.first_name, p.last_name FROM persons p
    WHERE (SELECT hits FROM window_hits) < $3::bigint AND {match}
), active AS (
    SELECT e FROM enrollments e WHERE e.person_id IN (SELECT id FROM candidates) AND e.until IS NULL
), caller_agreements AS (
    SELECT a FROM agreements a
    WHERE a.ended_at IS NULL
      AND EXISTS (SELECT 1 FROM agreement_parties p WHERE p.agreement_id = a.id AND p.institution_id = $4)
)
SELECT
    (SELECT hits FROM window_hits) AS hits,
    (SELECT i FROM institutions i WHERE i.id = $4) AS caller_institution,
    (SELECT array_agg(c.id ORDER BY c.id) FROM candidates c) AS candidate_ids,
    (SELECT array_agg(c.first_name ORDER BY c.id) FROM candidates c) AS first_names,
    (SELECT array_agg(c.last_name ORDER BY c.id) FROM candidates c) AS last_names,
    (SELECT array_agg(a.e ORDER BY (a.e).since, (a.e).id) FROM active a) AS enrollments,
    (SELECT array_agg(i) FROM institutions i WHERE i.id IN (SELECT (a.e).institution_id FROM active a)) AS places,
    (SELECT array_agg(w) FROM workers w WHERE w.id IN (SELECT (a.e).worker_id FROM active a)) AS workers,
    (SELECT array_agg(c.a ORDER BY (c.a).created_at) FROM caller_agreements c) AS agreements,
    (SELECT array_agg(p) FROM agreement_parties p WHERE p.agreement_id IN (SELECT (c.a).id FROM caller_agreements c))
        AS parties,
    (SELECT array_agg(c ORDER BY c.created_at, c.id) FROM consents c WHERE c.person_id IN (SELECT id FROM candidates))
        AS consents
"""
# Every HMAC key's index: while a new key is rolled out, rows not yet re-hashed are still found (as by_pesel).
GROUNDS_BY_PESEL = _GROUNDS.format(match="p.pesel_hash = ANY($5::text[])")
# Names are compared in Python (see `folded`); the birth date narrows the persons to a handful.
GROUNDS_BY_BIRTH_DATE = _GROUNDS.format(match="p.birth_date = $5")

RECORD = """
WITH counted AS (
    INSERT INTO rate_limit_windows AS w (bucket, window_start, hits) VALUES ($1, $2, 1)
    ON CONFLICT (bucket, window_start) DO UPDATE SET hits = w.hits + 1 WHERE w.hits < $3::bigint
    RETURNING w.hits
), cleared AS (
    DELETE FROM rate_limit_windows
    WHERE bucket = $1 AND window_start < $2 AND EXISTS (SELECT 1 FROM counted)
), recorded AS (
    INSERT INTO audit_events (id, occurred_at, actor, actor_worker_id, institution_id, action, subject_type,
                              subject_id, request_id, purpose, categories, decision, reason)
    SELECT * FROM unnest($4::uuid[], $5::timestamptz[], $6::text[], $7::uuid[], $8::uuid[], $9::text[],
                         $10::text[], $11::uuid[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[])
    WHERE EXISTS (SELECT 1 FROM counted)
)
SELECT hits FROM counted
"""


class _Fields:
    """A record read as the row objects the mapping functions take: its columns as attributes."""

    __slots__ = ("_record",)

    def __init__(self, record: asyncpg.Record) -> None:
        self._record = record

    def __getattr__(self, name: str) -> Any:
        try:
            return self._record[name]
        except KeyError:
            raise AttributeError(name) from None


def _rows(records: Sequence[asyncpg.Record] | None) -> list[Any]:
    return [_Fields(r) for r in records or ()]


async def _leave_as_is(_: asyncpg.Connection) -> None:
    """No reset query on release (asyncpg's default costs a round trip): these statements leave no state."""


class AsyncpgLookupReads:
    def __init__(self, dsn: str, vault: PersonalDataVault, *, pool_size: int) -> None:
        self._dsn = dsn
        self._vault = vault
        self._pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def _connections(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._opening:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self._dsn, min_size=1, max_size=self._pool_size, reset=_leave_as_is, timeout=30
                    )
        return self._pool

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def grounds(self, caller_institution: InstitutionId, key: LookupKey, window: RateWindow) -> LookupGrounds:
        head = (window.bucket, window.start, window.per_window, caller_institution)
        pool = await self._connections()
        if key.pesel is not None:
            row = await pool.fetchrow(GROUNDS_BY_PESEL, *head, self._vault.blind_indexes(key.pesel.value))
        else:
            row = await pool.fetchrow(GROUNDS_BY_BIRTH_DATE, *head, key.birth_date)
        assert row is not None  # noqa: S101 - an aggregate-only SELECT always answers one row
        candidates = _matching(row, key)
        parties: dict[Any, list[Any]] = {}
        for party in _rows(row["parties"]):
            parties.setdefault(party.agreement_id, []).append(party)
        institution = row["caller_institution"]
        # By names, the statement read everyone born that day: only the matching persons' rows are kept.
        enrollments = [
            e for e in (mapping.enrollment_from_row(r) for r in _rows(row["enrollments"])) if e.person_id in candidates
        ]
        places = {e.institution_id for e in enrollments}
        staff = {e.worker_id for e in enrollments}
        return LookupGrounds(
            hits=row["hits"],
            caller_institution=mapping.institution_from_row(cast(Any, _Fields(institution))) if institution else None,
            candidates=candidates,
            active_enrollments=enrollments,
            institutions={
                i.id: i for i in (mapping.institution_from_row(r) for r in _rows(row["places"]) if r.id in places)
            },
            workers={w.id: w for w in (mapping.worker_from_row(r) for r in _rows(row["workers"]) if r.id in staff)},
            agreements=[agreement_from_rows(a, parties.get(a.id, [])) for a in _rows(row["agreements"])],
            consents=[c for c in (consent_from_row(r) for r in _rows(row["consents"])) if c.person_id in candidates],
        )

    async def record(self, records: Sequence[AuditRecord], window: RateWindow) -> bool:
        columns: Mapping[str, list[Any]] = {
            "id": [r.id for r in records],
            "occurred_at": [r.occurred_at for r in records],
            "actor": [r.actor for r in records],
            "actor_worker_id": [r.actor_worker_id for r in records],
            "institution_id": [r.institution_id for r in records],
            "action": [r.action.value for r in records],
            "subject_type": [r.subject_type.value for r in records],
            "subject_id": [r.subject_id for r in records],
            "request_id": [r.request_id for r in records],
            "purpose": [r.purpose for r in records],
            "categories": [encode_categories(r.categories) for r in records],
            "decision": [r.decision.value for r in records],
            "reason": [r.reason for r in records],
        }
        pool = await self._connections()
        hits = await pool.fetchval(RECORD, window.bucket, window.start, window.per_window, *columns.values())
        return hits is not None


def _matching(row: asyncpg.Record, key: LookupKey) -> list[PersonId]:
    ids: list[Any] = row["candidate_ids"] or []
    if key.pesel is not None:
        return [PersonId(i) for i in ids]
    wanted = (folded(key.first_name or ""), folded(key.last_name or ""))
    names = zip(ids, row["first_names"] or [], row["last_names"] or [], strict=True)
    return [PersonId(i) for i, first, last in names if (folded(first), folded(last)) == wanted]
