"""The shared-client lookup on PostgreSQL: two statements on asyncpg (read_pool.py), no ORM.

The grounds come in one statement (row types aggregated into arrays, decoded by asyncpg into typed records and
mapped by the same functions as the repositories' rows), and the audit records go in with the count against the
client's limit in one more: a data-modifying statement, atomic without an explicit transaction, that writes
nothing when the window is spent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from app.adapters.crypto.vault import PersonalDataVault
from app.adapters.db import mapping
from app.adapters.db.read_pool import (
    AGREEMENTS_AND_PARTIES,
    AUDIT_COLUMNS,
    ReadPool,
    agreements_from,
    audit_columns,
    audit_rows_from,
    caller_agreements,
    one,
    rows,
)
from app.adapters.db.sharing_repository import consent_from_row
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
), caller_agreements AS ({agreements}
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
    {agreements_and_parties},
    (SELECT array_agg(c ORDER BY c.created_at, c.id) FROM consents c WHERE c.person_id IN (SELECT id FROM candidates))
        AS consents
"""
# Every HMAC key's index: while a new key is rolled out, rows not yet re-hashed are still found (as by_pesel).
GROUNDS_BY_PESEL = _GROUNDS.format(
    match="p.pesel_hash = ANY($5::text[])",
    agreements=caller_agreements("$4"),
    agreements_and_parties=AGREEMENTS_AND_PARTIES,
)
# Names are compared in Python (see `folded`); the birth date narrows the persons to a handful.
GROUNDS_BY_BIRTH_DATE = _GROUNDS.format(
    match="p.birth_date = $5", agreements=caller_agreements("$4"), agreements_and_parties=AGREEMENTS_AND_PARTIES
)

RECORD = f"""
WITH counted AS (
    INSERT INTO rate_limit_windows AS w (bucket, window_start, hits) VALUES ($1, $2, 1)
    ON CONFLICT (bucket, window_start) DO UPDATE SET hits = w.hits + 1 WHERE w.hits < $3::bigint
    RETURNING w.hits
), cleared AS (
    DELETE FROM rate_limit_windows
    WHERE bucket = $1 AND window_start < $2 AND EXISTS (SELECT 1 FROM counted)
), recorded AS (
    INSERT INTO audit_events ({AUDIT_COLUMNS}) SELECT * FROM {audit_rows_from(4)}
    WHERE EXISTS (SELECT 1 FROM counted)
)
SELECT hits FROM counted
"""


class AsyncpgLookupReads:
    def __init__(self, pool: ReadPool, vault: PersonalDataVault) -> None:
        self._pool = pool
        self._vault = vault

    async def grounds(self, caller_institution: InstitutionId, key: LookupKey, window: RateWindow) -> LookupGrounds:
        head = (window.bucket, window.start, window.per_window, caller_institution)
        if key.pesel is not None:
            row = await self._pool.fetchrow(GROUNDS_BY_PESEL, *head, self._vault.blind_indexes(key.pesel.value))
        else:
            row = await self._pool.fetchrow(GROUNDS_BY_BIRTH_DATE, *head, key.birth_date)
        assert row is not None  # noqa: S101 - an aggregate-only SELECT always answers one row
        candidates = _matching(row, key)
        institution = row["caller_institution"]
        # By names, the statement read everyone born that day: only the matching persons' rows are kept.
        enrollments = [
            e for e in (mapping.enrollment_from_row(r) for r in rows(row["enrollments"])) if e.person_id in candidates
        ]
        places = {e.institution_id for e in enrollments}
        staff = {e.worker_id for e in enrollments}
        return LookupGrounds(
            hits=row["hits"],
            caller_institution=mapping.institution_from_row(one(institution)) if institution else None,
            candidates=candidates,
            active_enrollments=enrollments,
            institutions={
                i.id: i for i in (mapping.institution_from_row(r) for r in rows(row["places"]) if r.id in places)
            },
            workers={w.id: w for w in (mapping.worker_from_row(r) for r in rows(row["workers"]) if r.id in staff)},
            agreements=agreements_from(row),
            consents=[c for c in (consent_from_row(r) for r in rows(row["consents"])) if c.person_id in candidates],
        )

    async def record(self, records: Sequence[AuditRecord], window: RateWindow) -> bool:
        hits = await self._pool.fetchval(
            RECORD, window.bucket, window.start, window.per_window, *audit_columns(records)
        )
        return hits is not None


def _matching(row: asyncpg.Record, key: LookupKey) -> list[PersonId]:
    ids: list[Any] = row["candidate_ids"] or []
    if key.pesel is not None:
        return [PersonId(i) for i in ids]
    wanted = (folded(key.first_name or ""), folded(key.last_name or ""))
    names = zip(ids, row["first_names"] or [], row["last_names"] or [], strict=True)
    return [PersonId(i) for i, first, last in names if (folded(first), folded(last)) == wanted]
