"""The family read on PostgreSQL: its grounds in one asyncpg statement, its audit records in one more.

The visibility rules are the repositories' own (read_pool.family_visible and person_visible say which); a test
holds this read model to the answers of the repositories asked one by one (tests/integration/test_read_models.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

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
from app.domain.family_reads import FamilyGrounds
from app.domain.ids import FamilyId, InstitutionId, PersonId

# $1: the families asked, $2: the caller's institution.
GROUNDS = f"""
WITH asked AS (
    SELECT f FROM families f WHERE f.id = ANY($1::uuid[]) AND {family_visible("f.id", "f.created_by", "$2")}
), memberships AS (
    SELECT m FROM family_memberships m WHERE m.family_id IN (SELECT (a.f).id FROM asked a)
), current_members AS (
    SELECT DISTINCT (x.m).person_id AS id FROM memberships x WHERE (x.m).until IS NULL
), shown AS (
    SELECT id FROM current_members
    UNION
    SELECT (x.m).person_id FROM memberships x
    WHERE (x.m).person_id NOT IN (SELECT id FROM current_members) AND {person_visible("(x.m).person_id", "$2")}
), own AS (
    SELECT e FROM enrollments e WHERE e.person_id IN (SELECT id FROM shown) AND e.institution_id = $2
), households AS (
    SELECT h.person_id, h.family_id FROM family_memberships h JOIN families hf ON hf.id = h.family_id
    WHERE h.person_id IN (SELECT id FROM shown) AND h.until IS NULL
      AND {family_visible("hf.id", "hf.created_by", "$2")}
), kept_elsewhere AS (
    SELECT DISTINCT (x.m).person_id AS id FROM memberships x JOIN asked a ON (a.f).id = (x.m).family_id
    WHERE (x.m).until IS NULL AND (a.f).created_by <> $2
), caller_agreements AS ({caller_agreements("$2", when="EXISTS (SELECT 1 FROM kept_elsewhere)")}
)
SELECT
    (SELECT i FROM institutions i WHERE i.id = $2) AS caller_institution,
    (SELECT array_agg(a.f) FROM asked a) AS families,
    (SELECT array_agg(x.m) FROM memberships x) AS memberships,
    (SELECT array_agg(p) FROM persons p WHERE p.id IN (SELECT id FROM shown)) AS persons,
    (SELECT array_agg(o.e ORDER BY (o.e).since, (o.e).id) FROM own o) AS enrollments,
    (SELECT array_agg(w) FROM workers w WHERE w.id IN (SELECT (o.e).worker_id FROM own o)) AS workers,
    (SELECT array_agg(h.person_id ORDER BY h.person_id, h.family_id) FROM households h) AS household_persons,
    (SELECT array_agg(h.family_id ORDER BY h.person_id, h.family_id) FROM households h) AS household_families,
    {AGREEMENTS_AND_PARTIES},
    (SELECT array_agg(c ORDER BY c.created_at, c.id) FROM consents c
     WHERE c.person_id IN (SELECT id FROM kept_elsewhere)) AS consents
"""


class AsyncpgFamilyReads:
    def __init__(self, pool: ReadPool, vault: PersonalDataVault) -> None:
        self._pool = pool
        self._vault = vault

    async def grounds(self, family_ids: Sequence[FamilyId], caller_institution: InstitutionId) -> FamilyGrounds:
        row = await self._pool.fetchrow(GROUNDS, list(dict.fromkeys(family_ids)), caller_institution)
        assert row is not None  # noqa: S101 - an aggregate-only SELECT always answers one row
        members: defaultdict[Any, list[Any]] = defaultdict(list)
        for m in rows(row["memberships"]):
            members[m.family_id].append(m)
        families_of: defaultdict[PersonId, list[FamilyId]] = defaultdict(list)
        for person_id, family_id in zip(row["household_persons"] or [], row["household_families"] or [], strict=True):
            families_of[PersonId(person_id)].append(FamilyId(family_id))
        institution = row["caller_institution"]
        return FamilyGrounds(
            caller_institution=mapping.institution_from_row(one(institution)) if institution else None,
            families=[mapping.family_from_rows(f, members[f.id]) for f in rows(row["families"])],
            persons=[mapping.person_from_row(p, self._vault) for p in rows(row["persons"])],
            own_enrollments=[mapping.enrollment_from_row(e) for e in rows(row["enrollments"])],
            workers={w.id: w for w in (mapping.worker_from_row(r) for r in rows(row["workers"]))},
            families_of=dict(families_of),
            agreements=agreements_from(row),
            consents=[consent_from_row(c) for c in rows(row["consents"])],
        )

    async def record(self, records: Sequence[AuditRecord]) -> None:
        await self._pool.record_audit(records)
