"""The person read's read model: everything a read of one person shows and decides on, read at once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from app.domain.audit import AuditRecord
from app.domain.ids import FamilyId, InstitutionId, PersonId, WorkerId
from app.domain.institutions import Institution, Worker
from app.domain.persons import Enrollment, Person
from app.domain.sharing import Agreement, Consent


@dataclass(frozen=True, slots=True, kw_only=True)
class PersonGrounds:
    person: Person | None
    caller_institution: Institution | None
    # The caller's own records of the person: it serves them now, or keeps a family they belong to now.
    own: bool = False
    # Where the person is served now, at every institution (oldest first), and those institutions but the caller's.
    active_enrollments: Sequence[Enrollment] = ()
    institutions: Mapping[InstitutionId, Institution] = field(default_factory=dict)
    # The caller's enrollments of the person, current and ended (oldest first).
    own_enrollments: Sequence[Enrollment] = ()
    # The workers named on the caller's enrollments and on the active ones.
    workers: Mapping[WorkerId, Worker] = field(default_factory=dict)
    # The person's current households that the caller may see.
    family_ids: Sequence[FamilyId] = ()
    agreements: Sequence[Agreement] = ()
    consents: Sequence[Consent] = ()


class PersonReads(Protocol):
    async def grounds(self, person_id: PersonId, caller_institution: InstitutionId) -> PersonGrounds: ...

    async def record(self, records: Sequence[AuditRecord]) -> None:
        """Append the audit records of a read, all or nothing."""
