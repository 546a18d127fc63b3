"""PostgreSQL's read models of the hot paths, sharing one asyncpg pool."""

from __future__ import annotations

from app.adapters.crypto.vault import PersonalDataVault
from app.adapters.db.family_reads import AsyncpgFamilyReads
from app.adapters.db.lookup_reads import AsyncpgLookupReads
from app.adapters.db.person_reads import AsyncpgPersonReads
from app.adapters.db.read_pool import ReadPool
from app.domain.read_models import ReadModels


def asyncpg_read_models(pool: ReadPool, vault: PersonalDataVault) -> ReadModels:
    return ReadModels(
        lookups=AsyncpgLookupReads(pool, vault),
        families=AsyncpgFamilyReads(pool, vault),
        persons=AsyncpgPersonReads(pool, vault),
    )
