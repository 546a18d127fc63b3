"""The person read on PostgreSQL: its grounds in one asyncpg statement, its audit record in one more."""

from __future__ import annotations

from collections.abc import Sequence

from app.adapters.crypto.vault import PersonalDataVault
from app.adapters.db import mapping
from app.adapters.db.read_pool import (
    AGREEMENTS_AND_PARTIES,
    ReadPool,
    agreements_from,
    caller_agreements,
    family_visible,
    one,
    person_visible,
    rows,
)
from app.adapters.db.sharing_repository import consent_from_row
from app.domain.audit import AuditRecord
from app.domain.ids import FamilyId, InstitutionId, PersonId
from app.domain.person_reads import PersonGrounds

# $1: the person, $2: the caller's institution.
GROUNDS = f"""
WITH active AS (
    SELECT e FROM enrollments e WHERE e.person_id = $1 AND e.until IS NULL
), own AS (
    SELECT e FROM enrollments e WHERE e.person_id = $1 AND e.institution_id = $2
), households AS (
    SELECT h.family_id FROM family_memberships h JOIN families hf ON hf.id = h.family_id
    WHERE h.person_id = $1 AND h.until IS NULL AND {family_visible("hf.id", "hf.created_by", "$2")}
), caller_agreements AS ({caller_agreements("$2")}
)
SELECT
    (SELECT p FROM persons p WHERE p.id = $1) AS person,
    (SELECT i FROM institutions i WHERE i.id = $2) AS caller_institution,
    {person_visible("$1", "$2")} AS own,
    (SELECT array_agg(a.e ORDER BY (a.e).since, (a.e).id) FROM active a) AS active,
    (SELECT array_agg(i) FROM institutions i
     WHERE i.id <> $2 AND i.id IN (SELECT (a.e).institution_id FROM active a)) AS places,
    (SELECT array_agg(o.e ORDER BY (o.e).since, (o.e).id) FROM own o) AS own_enrollments,
    (SELECT array_agg(w) FROM workers w
     WHERE w.id IN (SELECT (o.e).worker_id FROM own o UNION SELECT (a.e).worker_id FROM active a)) AS workers,
    (SELECT array_agg(h.family_id ORDER BY h.family_id) FROM households h) AS family_ids,
    {AGREEMENTS_AND_PARTIES},
    (SELECT array_agg(c ORDER BY c.created_at, c.id) FROM consents c WHERE c.person_id = $1) AS consents
"""


class AsyncpgPersonReads:
    def __init__(self, pool: ReadPool, vault: PersonalDataVault) -> None:
        self._pool = pool
        self._vault = vault

    async def grounds(self, person_id: PersonId, caller_institution: InstitutionId) -> PersonGrounds:
        row = await self._pool.fetchrow(GROUNDS, person_id, caller_institution)
        assert row is not None  # noqa: S101 - an aggregate-only SELECT always answers one row
        institution = row["caller_institution"]
        caller = mapping.institution_from_row(one(institution)) if institution else None
        if row["person"] is None:
            return PersonGrounds(person=None, caller_institution=caller)
        return PersonGrounds(
            person=mapping.person_from_row(one(row["person"]), self._vault),
            caller_institution=caller,
            own=row["own"],
            active_enrollments=[mapping.enrollment_from_row(e) for e in rows(row["active"])],
            institutions={i.id: i for i in (mapping.institution_from_row(r) for r in rows(row["places"]))},
            own_enrollments=[mapping.enrollment_from_row(e) for e in rows(row["own_enrollments"])],
            workers={w.id: w for w in (mapping.worker_from_row(r) for r in rows(row["workers"]))},
            family_ids=[FamilyId(f) for f in row["family_ids"] or []],
            agreements=agreements_from(row),
            consents=[consent_from_row(c) for c in rows(row["consents"])],
        )

    async def record(self, records: Sequence[AuditRecord]) -> None:
        await self._pool.record_audit(records)
