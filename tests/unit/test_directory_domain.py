"""The directory's domain on fakes: Polish folding, places, the rules of a service, and the use cases
(who may write, versions, referral targets, all-or-nothing import)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from types import TracebackType
from typing import Self

import pytest

from app import directory_demo
from app.domain.caller import ALL_SCOPES, Caller, MissingScope
from app.domain.code_lists import default_code_lists
from app.domain.directory import (
    Criterion,
    LocationData,
    LocationId,
    OpeningHoursData,
    Place,
    SearchHit,
    SearchPage,
    SearchRequest,
    Service,
    ServiceData,
    ServiceId,
    ServiceQuery,
    ServiceRepository,
    fold,
    search_terms,
    serves,
    units_containing,
)
from app.domain.errors import InvalidInput, PermissionDenied, StaleVersion
from app.domain.ids import InstitutionId, new_id
from app.domain.institutions import Institution
from app.domain.pagination import Page, PageRequest
from app.domain.ports import InstitutionRepository
from app.domain.services import directory as use
from app.domain.services.context import UseCaseContext
from app.domain.values import Address, Contact, Teryt
from tests.fakes import FixedClock, make_context

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
CODES = default_code_lists()


# --- folding and search terms ----------------------------------------------------------------------


def test_folding_drops_every_polish_diacritic_and_turns_l_with_stroke_into_l() -> None:
    assert fold("Zażółć gęślą jaźń") == "zazolc gesla jazn"
    assert fold("ŁÓDŹ, Świętokrzyskie – ĄĆĘŁŃÓŚŹŻ") == "lodz swietokrzyskie acelnoszz"
    assert fold("Pośrednictwo pracy (PUP)") == "posrednictwo pracy pup"


def test_search_terms_are_folded_stemmed_prefixes_without_stop_words() -> None:
    assert search_terms("Szkolenia i staże dla bezrobotnych w Łodzi") == ("szkolen", "staz", "bezrobotn", "lodz")
    assert search_terms("pracy") == ("prac",)
    assert search_terms("psycholog") == ("psycholog",)
    assert search_terms("a w z") == ()
    assert search_terms('"*) OR NEAR(x:* & !') == ("or", "near")


# --- places -------------------------------------------------------------------------------------------


def teryt(code: str) -> Teryt:
    return Teryt.parse(code)


def test_a_place_lies_in_its_gmina_powiat_and_voivodeship() -> None:
    assert units_containing(teryt("2801044")) == ("2801044", "2801043", "2801", "28")
    assert units_containing(teryt("2801011")) == ("2801011", "2801", "28")
    assert units_containing(teryt("2801")) == ("2801", "28")


def test_a_service_serves_places_inside_its_areas_and_a_powiat_is_served_by_its_gminas_services() -> None:
    county, bisztynek, bartoszyce = [teryt("2801")], [teryt("2801043")], [teryt("2801011")]

    assert serves(county, teryt("2801063"))
    assert serves(bisztynek, teryt("2801044")), "the town of an urban-rural gmina is in the gmina"
    assert serves(bisztynek, teryt("2801"))
    assert serves(bisztynek, teryt("28"))
    assert not serves(bisztynek, teryt("2801011"))
    assert not serves(bartoszyce, teryt("2802011"))
    assert not serves(county, teryt("2802"))
    assert not serves([teryt("28")], teryt("2001"))


# --- the rules of a service ---------------------------------------------------------------------------


def a_service_data(**changes: object) -> ServiceData:
    data = ServiceData(
        name="  Staże   u pracodawców ",
        description="Staż trwa 6 miesięcy.\nStypendium wypłaca PUP.",
        category="VOCATIONAL",
        instrument_list="LabourMarketInstrument",
        instrument_code="INTERNSHIP",
        areas=["2801"],
        criteria=["REGISTERED_UNEMPLOYED"],
        min_age=18,
        locations=[
            LocationData(
                name="PUP",
                street="ul. Limanowskiego 9",
                postal_code="11-200",
                city="Bartoszyce",
                teryt="2801011",
                opening_hours=[OpeningHoursData(day="TU", opens="08:00", closes="15:00")],
            )
        ],
    )
    return dataclasses.replace(data, **changes)  # type: ignore[arg-type]


def create(data: ServiceData, institution_id: InstitutionId | None = None) -> Service:
    return Service.create(
        data,
        id=ServiceId(new_id()),
        institution_id=institution_id or InstitutionId(new_id()),
        codes=CODES,
        at=NOW,
    )


def test_a_service_keeps_clean_names_and_the_keywords_it_can_be_found_by() -> None:
    service = create(a_service_data())

    assert service.name == "Staże u pracodawców"
    assert service.description == "Staż trwa 6 miesięcy.\nStypendium wypłaca PUP."
    assert service.keywords == "zawodowe staż Bartoszyce"
    assert service.listed
    assert service.admits(age=30, criteria=[Criterion.REGISTERED_UNEMPLOYED])
    assert not service.admits(age=17)
    assert not service.admits(criteria=[Criterion.DISABILITY])


def test_every_broken_rule_is_reported_at_once_with_its_field() -> None:
    bad = a_service_data(
        name=" ",
        category="SPORT",
        areas=["2801", "999"],
        min_age=70,
        max_age=20,
        criteria=["NOBODY"],
        languages=["polski"],
        free=True,
        fee_amount="12.50",
        capacity_total=5,
        open_places=6,
        status="closed",
        last_verified_on=date(2027, 1, 1),
        website="javascript:alert(1)",
        locations=[
            LocationData(
                name="X",
                city="Bartoszyce",
                teryt="2801",
                postal_code="11200",
                opening_hours=[
                    OpeningHoursData(day="XX", opens="08:00", closes="09:00"),
                    OpeningHoursData(day="MO", opens="8", closes="9"),
                ],
            )
        ],
    )

    with pytest.raises(InvalidInput) as error:
        create(bad)

    assert {e.field for e in error.value.errors} == {
        "name",
        "category",
        "areas[1]",
        "max_age",
        "criteria[0]",
        "languages[0]",
        "fee_amount",
        "open_places",
        "status",
        "last_verified_on",
        "website",
        "locations[0].postal_code",
        "locations[0].teryt",
        "locations[0].opening_hours[0].day",
        "locations[0].opening_hours[1]",
    }


@pytest.mark.parametrize(("raw", "amount"), [("25", Decimal("25.00")), ("7,5", Decimal("7.50")), ("0.00", Decimal(0))])
def test_a_fee_is_pln_with_two_decimal_places(raw: str, amount: Decimal) -> None:
    assert create(a_service_data(free=False, fee_amount=raw)).cost.amount == amount


@pytest.mark.parametrize("raw", ["-1", "1.005", "NaN", "dużo", "1e9"])
def test_a_fee_that_is_no_amount_is_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as error:
        create(a_service_data(free=False, fee_amount=raw))
    assert [e.field for e in error.value.errors] == ["fee_amount"]


def test_revising_keeps_identity_and_counts_the_version() -> None:
    service = create(a_service_data())
    first_id, created = service.id, service.created_at

    service.revise(a_service_data(name="Staże", status="temporarily_closed"), codes=CODES, at=NOW)

    assert (service.id, service.created_at, service.version, service.name) == (first_id, created, 2, "Staże")
    assert service.listed, "a temporarily closed service stays in the directory"


# --- use cases on an in-memory store ---------------------------------------------------------------------


class InMemoryServices:
    def __init__(self, store: InMemoryDirectoryStore) -> None:
        self._store = store

    async def add(self, service: Service) -> None:
        self._store.pending[service.id] = dataclasses.replace(service)

    async def get(self, service_id: ServiceId) -> Service | None:
        found = self._store.pending.get(service_id)
        return dataclasses.replace(found) if found else None

    async def get_many(self, ids: Sequence[ServiceId]) -> list[Service]:
        return [s for i in ids if (s := await self.get(i)) is not None]

    async def update(self, service: Service, *, expected_version: int) -> None:
        current = self._store.pending[service.id]
        if current.version != expected_version:
            raise StaleVersion("changed", current.version)
        self._store.pending[service.id] = dataclasses.replace(service)

    async def search(self, query: ServiceQuery, request: SearchRequest) -> SearchPage:
        hits = [
            SearchHit(service=s, score=0.0, name_key=fold(s.name))
            for s in self._store.pending.values()
            if s.status in query.statuses
            and (query.place is None or s.serves(query.place))
            and all(any(w.startswith(t) for w in fold(s.name + " " + s.description).split()) for t in query.terms)
        ]
        return SearchPage(hits=hits[: request.limit], next_after=None)

    async def batch(
        self, *, institution_id: InstitutionId | None, after: ServiceId | None, limit: int
    ) -> list[Service]:
        return sorted(
            (s for s in self._store.pending.values() if after is None or str(s.id) > str(after)),
            key=lambda s: str(s.id),
        )[:limit]

    async def places(self) -> list[Place]:
        return []

    async def location_owners(self, ids: Sequence[LocationId]) -> dict[LocationId, ServiceId]:
        return {loc.id: s.id for s in self._store.pending.values() for loc in s.locations if loc.id in ids}


class InMemoryInstitutions:
    def __init__(self, institutions: dict[InstitutionId, Institution]) -> None:
        self._institutions = institutions

    async def get(self, institution_id: InstitutionId) -> Institution | None:
        return self._institutions.get(institution_id)

    async def get_many(self, ids: Sequence[InstitutionId]) -> list[Institution]:
        return [self._institutions[i] for i in ids if i in self._institutions]

    async def add(self, institution: Institution) -> None:
        self._institutions[institution.id] = institution

    async def list(self, page: PageRequest) -> Page[Institution]:
        return Page(items=list(self._institutions.values()), next_after=None)

    async def update(self, institution: Institution, *, expected_version: int) -> None:
        self._institutions[institution.id] = institution


class InMemoryDirectoryStore:
    """Services committed only on commit(); a unit of work left without one changes nothing."""

    def __init__(self) -> None:
        self.services: dict[ServiceId, Service] = {}
        self.pending: dict[ServiceId, Service] = {}
        self.institutions: dict[InstitutionId, Institution] = {}

    def __call__(self) -> InMemoryDirectoryStore.UnitOfWork:
        return InMemoryDirectoryStore.UnitOfWork(self)

    class UnitOfWork:
        def __init__(self, store: InMemoryDirectoryStore) -> None:
            self._store = store
            self.services: ServiceRepository = InMemoryServices(store)
            self.institutions: InstitutionRepository = InMemoryInstitutions(store.institutions)

        async def __aenter__(self) -> Self:
            self._store.pending = dict(self._store.services)
            return self

        async def __aexit__(
            self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
        ) -> None:
            self._store.pending = dict(self._store.services)

        async def commit(self) -> None:
            self._store.services = dict(self._store.pending)


def an_institution(kind: str = "NGO") -> Institution:
    return Institution(
        id=InstitutionId(new_id()),
        type=kind,
        name=f"{kind} w Bartoszycach",
        regon=None,
        nip=None,
        teryt=Teryt("2801011"),
        address=Address(city="Bartoszyce"),
        contact=Contact(),
        created_at=NOW,
        updated_at=NOW,
    )


def a_caller(institution: Institution, *scopes: str) -> Caller:
    return Caller(
        subject="test",
        institution_id=institution.id,
        scopes=frozenset(scopes or ALL_SCOPES),
        roles=frozenset(),
        worker_id=None,
        request_id="test",
    )


@pytest.fixture
def ctx() -> UseCaseContext:
    return make_context(clock=FixedClock(NOW))


@pytest.fixture
def store() -> InMemoryDirectoryStore:
    return InMemoryDirectoryStore()


@pytest.fixture
def ngo(store: InMemoryDirectoryStore) -> Institution:
    institution = an_institution()
    store.institutions[institution.id] = institution
    return institution


async def test_an_institution_enters_its_own_service(
    ctx: UseCaseContext, store: InMemoryDirectoryStore, ngo: Institution
) -> None:
    view = await use.create_service(ctx, store, a_caller(ngo, "directory:write"), ngo.id, a_service_data())

    assert view.institution == ngo
    assert list(store.services) == [view.service.id]


async def test_writing_needs_the_scope_and_ones_own_institution(
    ctx: UseCaseContext, store: InMemoryDirectoryStore, ngo: Institution
) -> None:
    other = an_institution("MOPS")
    store.institutions[other.id] = other

    with pytest.raises(MissingScope):
        await use.create_service(ctx, store, a_caller(ngo, "persons:read"), ngo.id, a_service_data())
    with pytest.raises(PermissionDenied):
        await use.create_service(ctx, store, a_caller(other), ngo.id, a_service_data())
    created = await use.create_service(ctx, store, None, ngo.id, a_service_data())
    with pytest.raises(PermissionDenied):
        await use.change_service(ctx, store, a_caller(other), created.service.id, 1, a_service_data())
    assert list(store.services) == [created.service.id]


async def test_a_change_from_an_old_version_is_refused(
    ctx: UseCaseContext, store: InMemoryDirectoryStore, ngo: Institution
) -> None:
    created = await use.create_service(ctx, store, None, ngo.id, a_service_data())
    await use.change_service(ctx, store, a_caller(ngo), created.service.id, 1, a_service_data(name="Nowa nazwa"))

    with pytest.raises(StaleVersion) as stale:
        await use.change_service(ctx, store, a_caller(ngo), created.service.id, 1, a_service_data(name="Inna"))

    assert stale.value.current_version == 2
    assert store.services[created.service.id].name == "Nowa nazwa"


async def test_a_referral_target_is_a_listed_service_taking_referrals(
    ctx: UseCaseContext, store: InMemoryDirectoryStore, ngo: Institution
) -> None:
    taking = await use.create_service(ctx, store, None, ngo.id, a_service_data())
    closed = await use.create_service(ctx, store, None, ngo.id, a_service_data(status="inactive"))
    direct = await use.create_service(ctx, store, None, ngo.id, a_service_data(accepts_referrals=False))

    target = await use.resolve_referral_target(store, str(taking.service.id))

    assert (target.institution_id, target.category) == (ngo.id, "VOCATIONAL")
    for refused in (closed.service.id, direct.service.id, "not-an-id", new_id()):
        with pytest.raises(InvalidInput) as error:
            await use.resolve_referral_target(store, refused)
        assert error.value.errors[0].field == "service_id"


async def test_an_import_with_a_bad_entry_imports_nothing_unless_told_to_skip_it(
    ctx: UseCaseContext, store: InMemoryDirectoryStore, ngo: Institution
) -> None:
    good = use.ImportEntry(line=2, institution_id=ngo.id, data=a_service_data())
    bad = use.ImportEntry(line=3, institution_id=ngo.id, data=a_service_data(areas=["99"]))
    stranger = use.ImportEntry(line=4, institution_id=InstitutionId(new_id()), data=a_service_data())

    strict = await use.import_services(ctx, store, [good, bad, stranger])
    assert store.services == {}
    assert (strict.imported, strict.skipped) == (0, 3)
    assert [(p.line, p.field) for p in strict.problems] == [(3, "areas[0]"), (4, "institution_id")]

    lenient = await use.import_services(ctx, store, [good, bad, stranger], skip_invalid=True)
    assert (lenient.created, lenient.skipped) == (1, 2)
    assert len(store.services) == 1


async def test_an_import_updates_services_it_knows_by_id_and_refuses_an_id_twice(
    ctx: UseCaseContext, store: InMemoryDirectoryStore, ngo: Institution
) -> None:
    known = await use.create_service(ctx, store, None, ngo.id, a_service_data())
    again = use.ImportEntry(
        line=2, institution_id=ngo.id, service_id=known.service.id, data=a_service_data(name="Staże 2027")
    )
    twice = dataclasses.replace(again, line=3)

    refused = await use.import_services(ctx, store, [again, twice])
    report = await use.import_services(ctx, store, [again])

    assert [(p.line, p.field) for p in refused.problems] == [(3, "id")]
    assert (report.created, report.updated) == (0, 1)
    assert store.services[known.service.id].name == "Staże 2027"
    assert store.services[known.service.id].version == 2


async def test_a_search_query_checks_its_codes_and_place(ctx: UseCaseContext) -> None:
    query = use.service_query(ctx, text="  staż ", categories=["VOCATIONAL"], place="2801011", criteria=["DISABILITY"])

    assert (query.text, query.place, query.criteria) == ("staż", Teryt("2801011"), (Criterion.DISABILITY,))
    with pytest.raises(InvalidInput) as error:
        use.service_query(ctx, categories=["SPORT"], instruments=["X"], institution_kinds=["BANK"], place="99")
    assert [e.field for e in error.value.errors] == ["category", "instrument", "institution_kind", "teryt"]


# --- the demo directory -----------------------------------------------------------------------------------


def test_the_demo_directory_is_valid_and_covers_the_county() -> None:
    services = [
        Service.create(s.data(), id=s.id, institution_id=s.provider.id, codes=CODES, at=NOW)
        for s in directory_demo.SERVICES
    ]
    kinds = {s.provider.data.type for s in directory_demo.SERVICES}
    served = {a.value for s in services for a in s.areas}

    assert len(services) >= 40
    assert len({s.id for s in services}) == len(services)
    assert {"MOPS", "GOPS", "MGOPS", "PCPR", "PUP", "NGO", "CIS", "KIS"} <= kinds
    assert served <= {"2801", "2801011", "2801021", "2801032", "2801043", "2801052", "2801063"}
    gminas = [teryt(code) for code in ("2801011", "2801021", "2801032", "2801044", "2801052", "2801065")]
    assert all(sum(s.serves(g) for s in services) >= 20 for g in gminas), "every gmina has a directory"
