"""Reconciliation: where what the institutions' record systems last said about a person (their source records)
disagrees with each other or with Spójnia's own records, listed for workers to resolve. Nothing is overwritten.

Three things are compared, each a data category the access policy guards, held by the institution that said it:

| field                  | a source record says                       | Spójnia says                              |
|------------------------|--------------------------------------------|-------------------------------------------|
| `household`            | `household_members` (members and roles)     | each family the person is a member of     |
| `registered_unemployed`| a labour office: its `status`; anyone else: | the status of an open enrollment at a     |
|                        | `registered_unemployed` (true/false)       | labour office                              |
| `address_gmina`        | `address_teryt`                            | each family's TERYT (when it is a gmina)  |

A difference lists only the values the caller may see under the access policy. A value the policy does not
open is left out entirely: not shown as "another institution says otherwise", not counted, and it cannot make
a difference appear. That another institution holds a person's data at all is what the shared-client lookup
tells only on an agreement or consent, so even the bare hint would disclose what the policy withholds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol
from uuid import UUID, uuid5

from app.domain.data_categories import DataCategory
from app.domain.errors import FieldError, InvalidInput
from app.domain.families import Family
from app.domain.ids import DifferenceId, FamilyId, InstitutionId, PersonId, ResolutionId, WorkerId
from app.domain.institutions import LABOUR_OFFICE_TYPES
from app.domain.pagination import Position
from app.domain.persons import Enrollment
from app.domain.source_records import SourceRecord

# Statuses at a labour office that mean "registered unemployed"; a job seeker or a deregistered person is not.
REGISTERED_UNEMPLOYED_STATUSES = frozenset(
    {"UNEMPLOYED", "LONG_TERM_UNEMPLOYED", "PROFILE_I", "PROFILE_II", "PROFILE_III"}
)

_NAMESPACE = UUID("5b0d7c1e-8f1a-4a57-9c3e-2f4d3b6a9e10")


class Compared(StrEnum):
    HOUSEHOLD = "household"
    REGISTERED_UNEMPLOYED = "registered_unemployed"
    ADDRESS_GMINA = "address_gmina"


COMPARED_ORDER: tuple[Compared, ...] = tuple(Compared)


class ReporterKind(StrEnum):
    SOURCE = "source"  # what an institution's record system last said
    ENROLLMENT = "enrollment"  # Spójnia: the person's open enrollment at an institution
    FAMILY = "family"  # Spójnia: a family the person is a current member of


@dataclass(frozen=True, slots=True, kw_only=True)
class Member:
    person_id: PersonId | None
    role: str
    person_ref: str | None = None  # the source's id of a member Spójnia has not matched

    @property
    def canonical(self) -> tuple[str, str]:
        return (str(self.person_id) if self.person_id else f"ref:{self.person_ref or '?'}", self.role)


Value = str | bool | tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """One value of one field as one reporter holds it, and whose data it is (`institution_id`, `category`)."""

    key: str  # stable within the difference: "source:<institution>:<ref digest>", "enrollment:<id>", "family:<id>"
    kind: ReporterKind
    institution_id: InstitutionId
    category: DataCategory
    value: Value
    since: datetime  # the reporter has held this value at least since then
    detail: str | None = None  # e.g. the status code behind a registered-unemployed value
    family_id: FamilyId | None = None
    members: tuple[Member, ...] = ()  # the household as listed, for `household`


@dataclass(frozen=True, slots=True, kw_only=True)
class Resolution:
    id: ResolutionId
    difference_id: DifferenceId
    institution_id: InstitutionId
    chosen_key: str
    chosen_value: object  # as JSON: what the worker judged right
    fingerprint: str  # of the values the worker saw; a new value reopens the difference
    note: str | None
    actor: str
    worker_id: WorkerId | None
    resolved_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Difference:
    id: DifferenceId
    person_id: PersonId
    field: Compared
    reports: tuple[Report, ...]
    since: datetime  # the values have disagreed at least since then
    fingerprint: str
    resolution: Resolution | None = None  # the caller's institution's latest decision about it

    @property
    def open(self) -> bool:
        return self.resolution is None or self.resolution.fingerprint != self.fingerprint

    def report(self, key: str) -> Report:
        for r in self.reports:
            if r.key == key:
                return r
        raise InvalidInput(
            "no such value in this difference", [FieldError("chosen", "not the key of one of the values listed")]
        )


def difference_id(person_id: PersonId, field: Compared) -> DifferenceId:
    """The same person and field give the same id, whoever asks and however often."""
    return DifferenceId(uuid5(_NAMESPACE, f"{person_id}/{field.value}"))


def json_value(value: Value) -> object:
    return [list(m) for m in value] if isinstance(value, tuple) else value


def _status_category(institution_type: str) -> DataCategory:
    # The same rule as the access services': a status at a labour office is labour-market data.
    if institution_type in LABOUR_OFFICE_TYPES:
        return DataCategory.LABOUR_MARKET_STATUS
    return DataCategory.SOCIAL_ASSISTANCE_STATUS


def _source_key(record: SourceRecord) -> str:
    # The source's own id of the person is not shown: a digest keeps two records of one institution apart.
    digest = hashlib.sha256(record.external_ref.encode()).hexdigest()[:12]
    return f"source:{record.institution_id}:{digest}"


def _household(members: Sequence[Member]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(m.canonical for m in members))


@dataclass(frozen=True, slots=True, kw_only=True)
class Holdings:
    """What Spójnia knows about some persons: what sources said, where they are served, their families."""

    sources: Sequence[SourceRecord]
    enrollments: Sequence[Enrollment]  # open enrollments at every institution
    families: Sequence[Family]
    institution_types: Mapping[InstitutionId, str]

    def reports_about(self, person_id: PersonId) -> dict[Compared, list[Report]]:
        found: dict[Compared, list[Report]] = {f: [] for f in COMPARED_ORDER}
        for record in self.sources:
            if record.person_id == person_id:
                self._from_source(record, found)
        for enrollment in self.enrollments:
            kind = self.institution_types.get(enrollment.institution_id)
            if enrollment.person_id == person_id and enrollment.active and kind in LABOUR_OFFICE_TYPES:
                found[Compared.REGISTERED_UNEMPLOYED].append(
                    Report(
                        key=f"enrollment:{enrollment.id}",
                        kind=ReporterKind.ENROLLMENT,
                        institution_id=enrollment.institution_id,
                        category=DataCategory.LABOUR_MARKET_STATUS,
                        value=enrollment.status in REGISTERED_UNEMPLOYED_STATUSES,
                        since=enrollment.updated_at,
                        detail=enrollment.status,
                    )
                )
        for family in self.families:
            if not any(m.person_id == person_id for m in family.current_members):
                continue
            members = tuple(Member(person_id=m.person_id, role=m.role) for m in family.current_members)
            found[Compared.HOUSEHOLD].append(
                Report(
                    key=f"family:{family.id}",
                    kind=ReporterKind.FAMILY,
                    institution_id=family.created_by,
                    category=DataCategory.HOUSEHOLD,
                    value=_household(members),
                    since=family.updated_at,
                    family_id=family.id,
                    members=members,
                )
            )
            if family.teryt is not None and len(family.teryt.value) == 7:
                found[Compared.ADDRESS_GMINA].append(
                    Report(
                        key=f"family:{family.id}",
                        kind=ReporterKind.FAMILY,
                        institution_id=family.created_by,
                        category=DataCategory.HOUSEHOLD,
                        value=family.teryt.value,
                        since=family.updated_at,
                        family_id=family.id,
                    )
                )
        return found

    def _from_source(self, record: SourceRecord, found: dict[Compared, list[Report]]) -> None:
        kind = self.institution_types.get(record.institution_id, "")

        def said(
            category: DataCategory, value: Value, *, detail: str | None = None, members: tuple[Member, ...] = ()
        ) -> Report:
            return Report(
                key=_source_key(record),
                kind=ReporterKind.SOURCE,
                institution_id=record.institution_id,
                category=category,
                value=value,
                since=record.since,
                detail=detail,
                members=members,
            )

        listed = record.household_members
        if listed is not None:
            members = tuple(Member(person_id=m.person_id, role=m.role, person_ref=m.person_ref) for m in listed)
            found[Compared.HOUSEHOLD].append(said(DataCategory.HOUSEHOLD, _household(members), members=members))
        if kind in LABOUR_OFFICE_TYPES and record.status is not None:
            registered = record.status in REGISTERED_UNEMPLOYED_STATUSES
            found[Compared.REGISTERED_UNEMPLOYED].append(
                said(DataCategory.LABOUR_MARKET_STATUS, registered, detail=record.status)
            )
        elif kind not in LABOUR_OFFICE_TYPES and record.registered_unemployed is not None:
            found[Compared.REGISTERED_UNEMPLOYED].append(said(_status_category(kind), record.registered_unemployed))
        if record.address_teryt is not None:
            found[Compared.ADDRESS_GMINA].append(said(DataCategory.CONTACT, record.address_teryt))


def fingerprint(reports: Sequence[Report]) -> str:
    """What the values are, who holds them: equal fingerprints, nothing new was said."""
    canonical = sorted([r.key, json_value(r.value)] for r in reports)
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _disagreeing_since(reports: Sequence[Report]) -> datetime:
    """Each value has been held since its earliest holder said it; they disagree since the second such start."""
    starts: dict[object, datetime] = {}
    for r in reports:
        key = json.dumps(json_value(r.value))
        starts[key] = min(starts.get(key, r.since), r.since)
    return sorted(starts.values())[1]


def differences_of(
    person_id: PersonId,
    reports: Mapping[Compared, Sequence[Report]],
    visible: Callable[[Report], bool],
    resolutions: Mapping[DifferenceId, Resolution],
) -> list[Difference]:
    """The fields whose values, as far as the caller may see them, disagree."""
    found = []
    for field in COMPARED_ORDER:
        shown = tuple(sorted((r for r in reports.get(field, ()) if visible(r)), key=lambda r: r.key))
        if len({json.dumps(json_value(r.value)) for r in shown}) < 2:
            continue
        did = difference_id(person_id, field)
        found.append(
            Difference(
                id=did,
                person_id=person_id,
                field=field,
                reports=shown,
                since=_disagreeing_since(shown),
                fingerprint=fingerprint(shown),
                resolution=resolutions.get(did),
            )
        )
    return found


@dataclass(frozen=True, slots=True, kw_only=True)
class DifferencePosition:
    """Where a list of differences resumes: after this person (in the order persons are listed) and field."""

    person: Position
    field: Compared


class ReconciliationRepository(Protocol):
    async def subjects(
        self, institution_id: InstitutionId, *, after: Position | None, limit: int
    ) -> list[tuple[PersonId, Position]]:
        """Persons who are the institution's own records (as `PersonRepository.visible_to`) and about whom some
        source has said something, ordered by (created_at, id)."""

    async def note(self, differences: Sequence[Difference], at: datetime) -> None:
        """Register differences as reported, so a resolution can name them by id; known ones stay as they are."""

    async def noted(self, difference_id: DifferenceId) -> tuple[PersonId, Compared] | None:
        """The person and field of a reported difference, or None."""

    async def resolutions(
        self, institution_id: InstitutionId, ids: Sequence[DifferenceId]
    ) -> dict[DifferenceId, Resolution]:
        """The institution's latest resolution of each of these differences."""

    async def add_resolution(self, resolution: Resolution) -> None:
        """Store a resolution; earlier ones stay as history."""
