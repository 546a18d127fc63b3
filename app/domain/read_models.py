"""The read models of the hot paths, as one set that the composition root picks per database."""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.family_reads import FamilyReads
from app.domain.lookup_reads import LookupReads
from app.domain.person_reads import PersonReads


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadModels:
    lookups: LookupReads
    families: FamilyReads
    persons: PersonReads
