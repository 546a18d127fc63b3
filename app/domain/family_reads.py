"""The family read's read model: everything a read of families shows and decides on, read at once.

Vendors and the GraphQL family graph read families all day; the storage is asked once for the grounds (the families
the caller may see with their memberships, the members shown, the caller's enrollments of them and their workers,
their other households the caller may see, and what could open a household kept by another institution), and once
to record the reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from app.domain.audit import AuditRecord
from app.domain.families import Family
from app.domain.ids import FamilyId, InstitutionId, PersonId, WorkerId
from app.domain.institutions import Institution, Worker
from app.domain.persons import Enrollment, Person
from app.domain.sharing import Agreement, Consent


@dataclass(frozen=True, slots=True, kw_only=True)
class FamilyGrounds:
    caller_institution: Institution | None
    # The asked families the caller may see (it keeps them, or serves a current member), with every membership.
    families: Sequence[Family] = ()
    # Their current members, and past members the caller still sees otherwise (it serves them, or keeps a family
    # they belong to now).
    persons: Sequence[Person] = ()
    # The caller's own enrollments of those persons, current and ended, oldest first; the workers named on them.
    own_enrollments: Sequence[Enrollment] = ()
    workers: Mapping[WorkerId, Worker] = field(default_factory=dict)
    # Each person's current households that the caller may see.
    families_of: Mapping[PersonId, Sequence[FamilyId]] = field(default_factory=dict)
    # What could open a household kept by another institution: the caller's agreements nobody ended, and the
    # consents of the current members of families the caller does not keep (oldest first).
    agreements: Sequence[Agreement] = ()
    consents: Sequence[Consent] = ()


class FamilyReads(Protocol):
    async def grounds(self, family_ids: Sequence[FamilyId], caller_institution: InstitutionId) -> FamilyGrounds: ...

    async def record(self, records: Sequence[AuditRecord]) -> None:
        """Append the audit records of a read, all or nothing."""
