"""Use cases of the directory of services: search and read (anyone), enter and change (the
institution itself), export, import, and naming a service as the target of a referral.

The directory's storage is reached through a `DirectoryStore`, a port of its own until the shared
unit of work carries the service repository (see WIRING-directory.md); the use cases take it as a
parameter, so they stay free of any framework and run against an in-memory fake in unit tests.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from types import TracebackType
from typing import Protocol, Self
from uuid import UUID

from app.domain.caller import Caller, Scope
from app.domain.directory import (
    CATEGORY_LIST,
    INSTRUMENT_LISTS,
    Criterion,
    LocationId,
    Place,
    ReferralTarget,
    SearchPosition,
    SearchRequest,
    Service,
    ServiceData,
    ServiceId,
    ServiceLookup,
    ServiceQuery,
    ServiceRepository,
)
from app.domain.errors import DomainError, FieldError, InvalidInput, NotFound, PermissionDenied, StaleVersion
from app.domain.ids import InstitutionId, new_id
from app.domain.institutions import Institution
from app.domain.ports import InstitutionRepository
from app.domain.services.context import UseCaseContext
from app.domain.values import Teryt

# ---------------------------------------------------------------------------------------------
# The directory's own unit of work, until the shared one carries `services` (WIRING-directory.md)
# ---------------------------------------------------------------------------------------------


class DirectoryUnitOfWork(Protocol):
    services: ServiceRepository
    institutions: InstitutionRepository

    async def __aenter__(self) -> Self:
        """Begin a transaction."""

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """End it; anything not committed is rolled back."""

    async def commit(self) -> None:
        """Make the work durable."""


class DirectoryStore(Protocol):
    def __call__(self) -> DirectoryUnitOfWork:
        """A fresh unit of work over the directory."""


# ---------------------------------------------------------------------------------------------
# Read models
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceView:
    service: Service
    institution: Institution


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchResultView:
    service: Service
    institution: Institution
    score: float


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchResults:
    items: Sequence[SearchResultView]
    next_after: SearchPosition | None


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectoryExport:
    institutions: Sequence[Institution]
    services: Sequence[Service]


# ---------------------------------------------------------------------------------------------
# Reading: anyone, no token needed
# ---------------------------------------------------------------------------------------------


def service_query(
    ctx: UseCaseContext,
    *,
    text: str | None = None,
    categories: Sequence[str] = (),
    instruments: Sequence[str] = (),
    institution_kinds: Sequence[str] = (),
    criteria: Sequence[str] = (),
    age: int | None = None,
    place: str | None = None,
    institution_id: InstitutionId | None = None,
    with_open_places: bool = False,
) -> ServiceQuery:
    """A search from what a person or a program typed; every code checked against its code list."""
    today = ctx.today()
    errors: list[FieldError] = []

    def check(list_names: Sequence[str], values: Sequence[str], field_name: str) -> tuple[str, ...]:
        for value in values:
            if not any(_valid(ctx, name, value, today) for name in list_names):
                errors.append(FieldError(field_name, f"'{value}' is not a code of {' or '.join(list_names)}"))
        return tuple(dict.fromkeys(values))

    query_categories = check([CATEGORY_LIST], categories, "category")
    query_instruments = check(INSTRUMENT_LISTS, instruments, "instrument")
    kinds = check(["InstitutionType"], institution_kinds, "institution_kind")
    unknown = [c for c in criteria if c not in Criterion.__members__]
    errors.extend(FieldError("eligibility", f"'{c}' is not an eligibility criterion") for c in unknown)
    teryt: Teryt | None = None
    if place:
        try:
            teryt = Teryt.parse(place, field="teryt")
        except InvalidInput as error:
            errors.extend(error.errors)
    if errors:
        raise InvalidInput("the search is not valid", errors)
    return ServiceQuery(
        text=text.strip() if text and text.strip() else None,
        categories=query_categories,
        instruments=query_instruments,
        institution_kinds=kinds,
        criteria=tuple(dict.fromkeys(Criterion(c) for c in criteria)),
        age=age,
        place=teryt,
        institution_id=institution_id,
        with_open_places=with_open_places,
    )


def _valid(ctx: UseCaseContext, list_name: str, code: str, on: date) -> bool:
    found = ctx.codes.get(list_name)
    entry = found.get(code) if found else None
    return entry is not None and entry.valid_on(on)


async def search_services(store: DirectoryStore, query: ServiceQuery, request: SearchRequest) -> SearchResults:
    async with store() as uow:
        page = await uow.services.search(query, request)
        institutions = await _institutions(uow, [hit.service for hit in page.hits])
    return SearchResults(
        items=[
            SearchResultView(service=hit.service, institution=institutions[hit.service.institution_id], score=hit.score)
            for hit in page.hits
        ],
        next_after=page.next_after,
    )


async def read_service(store: DirectoryStore, service_id: ServiceId) -> ServiceView:
    async with store() as uow:
        service = await uow.services.get(service_id)
        if service is None:
            raise NotFound("no such service")
        institution = await uow.institutions.get(service.institution_id)
    if institution is None:  # pragma: no cover - a foreign key keeps every service's institution
        raise NotFound("no such service")
    return ServiceView(service=service, institution=institution)


async def list_places(store: DirectoryStore) -> list[Place]:
    async with store() as uow:
        places = await uow.services.places()
    return sorted(places, key=lambda p: (p.label, p.teryt.value))


EXPORT_BATCH = 500


async def export_directory(store: DirectoryStore, institution_id: InstitutionId | None = None) -> DirectoryExport:
    """Every listed service (of one institution, or all) with the institutions providing them."""
    services: list[Service] = []
    async with store() as uow:
        after: ServiceId | None = None
        while batch := await uow.services.batch(institution_id=institution_id, after=after, limit=EXPORT_BATCH):
            services.extend(batch)
            after = batch[-1].id
        institutions = await _institutions(uow, services)
    return DirectoryExport(institutions=sorted(institutions.values(), key=lambda i: str(i.id)), services=services)


async def _institutions(uow: DirectoryUnitOfWork, services: Sequence[Service]) -> dict[InstitutionId, Institution]:
    ids = list({s.institution_id for s in services})
    return {i.id: i for i in await uow.institutions.get_many(ids)} if ids else {}


# ---------------------------------------------------------------------------------------------
# Writing: the institution itself (scope directory:write), or the operator (caller None)
# ---------------------------------------------------------------------------------------------


async def _own_locations(
    uow: DirectoryUnitOfWork, service: Service, taken: dict[LocationId, int] | None = None
) -> None:
    """A location id given by a caller must not be another service's (nor, in an import, another line's)."""
    owners = await uow.services.location_owners([loc.id for loc in service.locations])
    errors = [
        FieldError(f"locations[{i}].id", "the id of another service's location")
        for i, loc in enumerate(service.locations)
        if owners.get(loc.id, service.id) != service.id
    ]
    for i, loc in enumerate(service.locations):
        if taken is not None and loc.id in taken:
            errors.append(FieldError(f"locations[{i}].id", f"the id of a location on line {taken[loc.id]}"))
    if errors:
        raise InvalidInput("a location id is already in use", errors)


def _may_write(caller: Caller | None, institution_id: InstitutionId) -> None:
    if caller is None:
        return
    caller.require(Scope.DIRECTORY_WRITE)
    if caller.institution_id != institution_id:
        raise PermissionDenied("an institution enters and changes only its own services")


async def create_service(
    ctx: UseCaseContext,
    store: DirectoryStore,
    caller: Caller | None,
    institution_id: InstitutionId,
    data: ServiceData,
    service_id: ServiceId | None = None,
) -> ServiceView:
    """`caller` None is the operator (command line, demo data)."""
    _may_write(caller, institution_id)
    async with store() as uow:
        institution = await uow.institutions.get(institution_id)
        if institution is None:
            raise NotFound("no such institution")
        service = Service.create(
            data,
            id=service_id or ServiceId(new_id()),
            institution_id=institution_id,
            codes=ctx.codes,
            at=ctx.clock.now(),
        )
        await _own_locations(uow, service)
        await uow.services.add(service)
        await uow.commit()
    return ServiceView(service=service, institution=institution)


async def change_service(
    ctx: UseCaseContext,
    store: DirectoryStore,
    caller: Caller | None,
    service_id: ServiceId,
    expected_version: int,
    data: ServiceData,
    institution_id: InstitutionId | None = None,
) -> ServiceView:
    """Replace a service's description; `institution_id`, when given, must be the service's own."""
    async with store() as uow:
        service = await uow.services.get(service_id)
        if service is None or (institution_id is not None and service.institution_id != institution_id):
            raise NotFound("no such service")
        _may_write(caller, service.institution_id)
        if service.version != expected_version:
            raise StaleVersion("the service has changed since you read it", service.version)
        service.revise(data, codes=ctx.codes, at=ctx.clock.now())
        await _own_locations(uow, service)
        await uow.services.update(service, expected_version=expected_version)
        institution = await uow.institutions.get(service.institution_id)
        await uow.commit()
    assert institution is not None  # noqa: S101 - a foreign key keeps every service's institution
    return ServiceView(service=service, institution=institution)


# ---------------------------------------------------------------------------------------------
# Referral target
# ---------------------------------------------------------------------------------------------


async def referral_target(services: ServiceLookup, service_id: str | UUID) -> ReferralTarget:
    """The institution that receives a referral naming this service.

    `create_referral` calls it inside its own unit of work (with `uow.services` once wired) and
    sends the referral to `target.institution_id`; a referral that also names a receiver must name
    this one.
    """
    try:
        parsed = ServiceId(service_id if isinstance(service_id, UUID) else UUID(str(service_id)))
    except ValueError:
        raise InvalidInput("no such service", [FieldError("service_id", "not a service id")]) from None
    service = await services.get(parsed)
    if service is None:
        raise InvalidInput("no such service", [FieldError("service_id", "no such service in the directory")])
    if not service.listed:
        raise InvalidInput(
            "the service is not offered now", [FieldError("service_id", "the service is inactive in the directory")]
        )
    if not service.accepts_referrals:
        raise InvalidInput(
            "the service takes no referrals", [FieldError("service_id", "apply directly, as its description says")]
        )
    return ReferralTarget(
        service_id=service.id,
        institution_id=service.institution_id,
        instrument=service.instrument,
        category=service.category,
    )


async def resolve_referral_target(store: DirectoryStore, service_id: str | UUID) -> ReferralTarget:
    """`referral_target` in a unit of work of its own, for callers outside a referral's transaction."""
    async with store() as uow:
        return await referral_target(uow.services, service_id)


# ---------------------------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportEntry:
    """One service read from a file: where it stands in the file, whose it is, what it says."""

    line: int
    institution_id: InstitutionId | None
    data: ServiceData | None  # None when the entry could not be read at all (see `problems`)
    service_id: ServiceId | None = None
    problems: Sequence[FieldError] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportProblem:
    line: int
    field: str
    message: str


@dataclass(slots=True, kw_only=True)
class ImportReport:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    problems: list[ImportProblem] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.created + self.updated


async def import_services(
    ctx: UseCaseContext, store: DirectoryStore, entries: Sequence[ImportEntry], *, skip_invalid: bool = False
) -> ImportReport:
    """Create or update (by id) the services of a file, in one transaction.

    Every entry is checked first. When any is invalid nothing is imported, unless `skip_invalid`:
    then the valid ones are, and the report lists the others by line.
    """
    report = ImportReport()
    seen: dict[ServiceId, int] = {}
    locations: dict[LocationId, int] = {}
    async with store() as uow:
        known = {
            i.id for i in await uow.institutions.get_many(list({e.institution_id for e in entries if e.institution_id}))
        }
        existing = {
            s.id: s for s in await uow.services.get_many([e.service_id for e in entries if e.service_id is not None])
        }
        ready: list[tuple[Service, bool]] = []
        for entry in entries:
            problems = [ImportProblem(line=entry.line, field=p.field, message=p.message) for p in entry.problems]
            service: Service | None = None
            if entry.data is not None:  # checked even when parts could not be read, to report all at once
                try:
                    service = _imported(ctx, entry, known, existing, seen)
                    await _own_locations(uow, service, locations)
                except DomainError as error:
                    errors = error.errors if isinstance(error, InvalidInput) and error.errors else ()
                    read = {p.field for p in problems}  # a field that could not be read is reported once
                    problems += [
                        ImportProblem(line=entry.line, field=e.field, message=e.message)
                        for e in errors
                        if e.field not in read
                    ] or ([] if problems else [ImportProblem(line=entry.line, field="", message=error.detail)])
            if problems or service is None:
                report.problems.extend(problems)
                report.skipped += 1
                continue
            seen[service.id] = entry.line
            locations.update((loc.id, entry.line) for loc in service.locations)
            ready.append((service, service.id in existing))
        if report.problems and not skip_invalid:
            report.skipped = len(entries)
            return report
        for service, update in ready:
            if update:
                await uow.services.update(service, expected_version=service.version - 1)
                report.updated += 1
            else:
                await uow.services.add(service)
                report.created += 1
        await uow.commit()
    return report


def _imported(
    ctx: UseCaseContext,
    entry: ImportEntry,
    known: set[InstitutionId],
    existing: dict[ServiceId, Service],
    seen: dict[ServiceId, int],
) -> Service:
    assert entry.data is not None  # noqa: S101 - entries without data carry problems
    if entry.institution_id is None or entry.institution_id not in known:
        raise InvalidInput("no such institution", [FieldError("institution_id", "no such institution in Spójnia")])
    if entry.service_id is not None and entry.service_id in seen:
        raise InvalidInput(
            "a service twice", [FieldError("id", f"the same service id as line {seen[entry.service_id]}")]
        )
    known_service = existing.get(entry.service_id) if entry.service_id else None
    if known_service is not None:
        current = dataclasses.replace(known_service)  # a rejected entry leaves the stored one as it was
        if current.institution_id != entry.institution_id:
            raise InvalidInput(
                "another institution's service", [FieldError("id", "the id is another institution's service")]
            )
        current.revise(entry.data, codes=ctx.codes, at=ctx.clock.now())
        return current
    return Service.create(
        entry.data,
        id=entry.service_id or ServiceId(new_id()),
        institution_id=entry.institution_id,
        codes=ctx.codes,
        at=ctx.clock.now(),
    )
