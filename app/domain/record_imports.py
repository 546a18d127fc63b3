"""File batches from an institution's record system: rows read and checked against a mapping profile, what
Spójnia keeps of each source record (to import idempotently and to reconcile), and the batches with their rejects.

A source record (app/domain/source_records.py) is what the source last said about one of its persons, keyed by
(institution, external_ref): the person it was linked to and the row as a payload, never with the PESEL (the
linked person's id stands for it). A source household links the source's household to the family the institution
keeps for it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import NewType, Protocol
from uuid import UUID

from app.domain.audit import AuditRecord
from app.domain.families import Family
from app.domain.ids import FamilyId, InstitutionId, PersonId
from app.domain.persons import Enrollment, Person
from app.domain.ports import UnitOfWork
from app.domain.record_systems import (
    ContractActionSummary,
    SourceEnrollment,
    SourceHouseholdMember,
    SourcePerson,
)

# The import's report is made of Rejects: imported from here as from record_systems.
from app.domain.record_systems import Reject as Reject
from app.domain.source_records import (
    ADDRESS_TERYT,
    HOUSEHOLD_MEMBERS,
    HOUSEHOLD_REF,
    REGISTERED_UNEMPLOYED,
    STATUS,
    WORKER_NAME,
    SourceRecord,
)
from app.domain.source_records import SourceHouseholdMember as Member
from app.domain.values import Pesel

ImportBatchId = NewType("ImportBatchId", UUID)


class ImportMode(StrEnum):
    ALL_OR_NOTHING = "all_or_nothing"  # any reject: nothing is imported
    SKIP_REJECTS = "skip_rejects"  # the valid rows are imported in one transaction, the rejects reported


class BatchStatus(StrEnum):
    IMPORTED = "imported"
    IMPORTED_WITH_REJECTS = "imported_with_rejects"
    REJECTED = "rejected"  # nothing imported


def mask_pesel(value: str) -> str:
    """What a report may show of a PESEL: the birth date part, never the rest."""
    digits = "".join(c for c in value if c.isdigit())
    return digits[:6] + "*" * max(len(digits) - 6, 0) if len(digits) >= 6 else "*" * len(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceRow:
    """One valid row: a person, their enrollment at the importing institution, their household.

    `person.pesel`, when given, is a compact PESEL that the reader checked with `Pesel.parse`; `membership`
    is set with `household_ref`, its role already a FamilyRole code."""

    line: int
    person: SourcePerson
    enrollment: SourceEnrollment
    household_ref: str | None = None
    household_name: str | None = None
    membership: SourceHouseholdMember | None = None
    registered_unemployed: bool | None = None

    @property
    def pesel(self) -> Pesel | None:
        return Pesel(self.person.pesel) if self.person.pesel else None

    def enrollment_said(self) -> dict[str, str | None]:
        """What the row says of the enrollment, as its source record's payload keeps it."""
        e = self.enrollment
        return {
            STATUS: e.status,
            "since": e.since.isoformat() if e.since else None,
            "until": e.until.isoformat() if e.until else None,
            WORKER_NAME: e.worker_name,
            "worker_ref": e.worker_ref,
        }

    def payload(self, household_members: Sequence[Member] | None) -> dict[str, object]:
        """What the source said, as its source record keeps it (app/domain/source_records.py): only the keys the
        source sent, no PESEL (the record names the person by id). The record checks it holds nothing like one."""
        p = self.person
        said: dict[str, object | None] = {
            "first_name": p.first_name,
            "last_name": p.last_name,
            "birth_date": p.birth_date.isoformat() if p.birth_date else None,
            "sex": p.sex,
            **self.enrollment_said(),
            REGISTERED_UNEMPLOYED: self.registered_unemployed,
            ADDRESS_TERYT: p.address_teryt,
            HOUSEHOLD_REF: self.household_ref,
            "household_name": self.household_name,
            "role": self.membership.role if self.membership else None,
        }
        if household_members is not None:
            said[HOUSEHOLD_MEMBERS] = [
                {"person_id": str(m.person_id) if m.person_id else None, "person_ref": m.person_ref, "role": m.role}
                for m in household_members
            ]
        return {k: v for k, v in said.items() if v is not None}


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedFile:
    """A file read with a profile: its valid rows and the rows rejected while reading."""

    profile: str
    profile_version: int
    # The code list the profile maps statuses onto; None when statuses are Spójnia's codes of the institution's list.
    status_list: str | None
    rows: Sequence[SourceRow]
    rejects: Sequence[Reject]
    rows_read: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportCounts:
    rows_read: int = 0
    created: int = 0  # persons new to Spójnia
    enrolled: int = 0  # persons Spójnia knew, newly enrolled at the institution
    updated: int = 0  # rows that changed a person, an enrollment or what the source last said
    unchanged: int = 0
    rejected: int = 0  # rows (lines) rejected
    families_created: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportBatch:
    id: ImportBatchId
    institution_id: InstitutionId
    profile: str
    profile_version: int
    file_name: str
    sha256: str
    mode: ImportMode
    status: BatchStatus
    counts: ImportCounts
    actor: str
    created_at: datetime
    rejects: Sequence[Reject] = field(default_factory=tuple)


def content_hash(payload: Mapping[str, object]) -> str:
    """The fingerprint of what a source said, kept beside it."""
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceHouseholdRecord:
    """A household as the source last described it, and the family the institution keeps for it: the family is
    made from the first description; later differences stay here for the reconciliation report."""

    institution_id: InstitutionId
    external_ref: str
    family_id: FamilyId
    members: tuple[tuple[PersonId, str], ...]  # (person, FamilyRole), sorted
    seen_at: datetime


class SourceRecords(Protocol):
    async def of_refs(self, institution_id: InstitutionId, refs: Sequence[str]) -> dict[str, SourceRecord]:
        """The institution's source records with these external refs."""

    async def refs_of_persons(self, institution_id: InstitutionId, ids: Sequence[PersonId]) -> dict[PersonId, str]:
        """For each of these persons, the external ref of the institution's source record linked to them."""

    async def add(self, records: Sequence[SourceRecord], batch: ImportBatchId) -> None:
        """Store new source records, as a batch read them."""

    async def replace(self, records: Sequence[SourceRecord], batch: ImportBatchId) -> None:
        """Overwrite existing ones (same institution and external ref): the source said something new."""

    async def seen(
        self, institution_id: InstitutionId, refs: Sequence[str], at: datetime, batch: ImportBatchId
    ) -> None:
        """Note that a batch saw these records and they said what they said before."""

    async def households_of_refs(
        self, institution_id: InstitutionId, refs: Sequence[str]
    ) -> dict[str, SourceHouseholdRecord]:
        """The institution's source households with these external refs."""

    async def add_households(self, records: Sequence[SourceHouseholdRecord], batch: ImportBatchId) -> None:
        """Store new source households."""

    async def replace_households(self, records: Sequence[SourceHouseholdRecord], batch: ImportBatchId) -> None:
        """Overwrite the members of existing ones, keeping their family."""

    async def households_seen(
        self, institution_id: InstitutionId, refs: Sequence[str], at: datetime, batch: ImportBatchId
    ) -> None:
        """Note that a batch saw these households unchanged."""


class SyncStream(StrEnum):
    """What Spójnia reads from an institution's record system, each from its own cursor."""

    CHANGES = "changes"  # persons, their status there, households
    STATUSES = "statuses"  # what its workers recorded on referrals


class SyncCursors(Protocol):
    async def get(self, institution_id: InstitutionId, stream: SyncStream) -> str | None:
        """The cursor to ask the institution's system from next time; None: from the start."""

    async def advance(
        self, institution_id: InstitutionId, stream: SyncStream, since: str | None, to: str | None, at: datetime
    ) -> None:
        """Move the cursor from `since` to `to` in the current transaction; Conflict when it is no longer at
        `since` (another pull moved it meanwhile), so that two pulls never move it backwards."""


class ImportBatches(Protocol):
    async def add(self, batch: ImportBatch) -> None:
        """Store a batch with its rejects."""

    async def get(self, batch_id: ImportBatchId) -> ImportBatch | None:
        """The batch with its rejects, or None."""


class BulkRecords(Protocol):
    """Many rows at once, as a batch import needs: the same rows the repositories read and write one by one."""

    async def persons(self, ids: Sequence[PersonId]) -> dict[PersonId, Person]:
        """The persons with these ids that exist."""

    async def persons_by_pesel(self, pesels: Sequence[Pesel]) -> dict[Pesel, Person]:
        """The persons holding these PESELs."""

    async def open_enrollments(
        self, institution_id: InstitutionId, ids: Sequence[PersonId]
    ) -> dict[PersonId, Enrollment]:
        """The open enrollments of these persons at the institution."""

    async def add_persons(self, persons: Sequence[Person]) -> None:
        """Store new persons; raises DuplicateRecord when a PESEL is already held."""

    async def add_enrollments(self, enrollments: Sequence[Enrollment]) -> None:
        """Store new enrollments; raises DuplicateRecord for a second open one."""

    async def add_families(self, families: Sequence[Family]) -> None:
        """Store new families with their memberships."""

    async def record_audit(self, records: Sequence[AuditRecord]) -> None:
        """Append audit records in the current transaction."""


class ExportQueries(Protocol):
    async def contract_actions_of(self, institution_id: InstitutionId) -> list[ContractActionSummary]:
        """Actions of contracts the institution is a party to that name it responsible, by contract and action."""


class RecordImportUnitOfWork(UnitOfWork, Protocol):
    sources: SourceRecords
    batches: ImportBatches
    cursors: SyncCursors
    bulk: BulkRecords
    exports: ExportQueries


class RecordImportStore(Protocol):
    def __call__(self) -> RecordImportUnitOfWork:
        """A fresh unit of work with the source records and import batches besides the usual repositories."""
