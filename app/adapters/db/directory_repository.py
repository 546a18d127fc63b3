"""The SQL directory of services: services with their areas, criteria and locations, and search.

Search is full-text on both databases (see migration 0004): PostgreSQL matches the generated
`search_vector` with a prefix tsquery and ranks with ts_rank; SQLite matches its FTS5 table over the
folded copies and ranks with bm25. Both sort by relevance, then folded name, then id, and page by that
key, so a page boundary does not move while the directory stays as it is.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import time
from types import TracebackType
from typing import Any, Self

from sqlalchemy import (
    ColumnElement,
    and_,
    column,
    delete,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    text,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.adapters.db.directory_tables import (
    SEARCH_COLUMN,
    SEARCH_TABLE,
    LocationRow,
    ServiceAreaRow,
    ServiceCriterionRow,
    ServiceRow,
)
from app.adapters.db.engine import make_session_factory
from app.adapters.db.repositories import SqlInstitutionRepository, insert_row, versioned_update
from app.adapters.db.tables import InstitutionRow
from app.domain.directory import (
    LISTED_STATUSES,
    Capacity,
    Cost,
    Criterion,
    Eligibility,
    Instrument,
    Location,
    LocationId,
    OpeningHours,
    Place,
    SearchHit,
    SearchPage,
    SearchPosition,
    SearchRequest,
    Service,
    ServiceContact,
    ServiceId,
    ServiceQuery,
    ServiceRepository,
    ServiceStatus,
    Weekday,
    fold,
    name_key,
    units_containing,
    units_within,
)
from app.domain.ids import InstitutionId
from app.domain.ports import InstitutionRepository
from app.domain.values import Address, Teryt

# ---------------------------------------------------------------------------------------------
# Mapping
# ---------------------------------------------------------------------------------------------


def service_row(s: Service) -> ServiceRow:
    return ServiceRow(
        id=s.id,
        institution_id=s.institution_id,
        name=s.name,
        alternate_name=s.alternate_name,
        description=s.description,
        category=s.category,
        instrument_list=s.instrument.code_list if s.instrument else None,
        instrument_code=s.instrument.code if s.instrument else None,
        eligibility_description=s.eligibility.description,
        min_age=s.eligibility.min_age,
        max_age=s.eligibility.max_age,
        email=s.contact.email,
        phone=s.contact.phone,
        website=s.contact.website,
        application_process=s.application_process,
        accepts_referrals=s.accepts_referrals,
        free=s.cost.free,
        fee_amount=s.cost.amount,
        fee_description=s.cost.description,
        languages=" ".join(s.languages),
        capacity_total=s.capacity.total,
        open_places=s.capacity.open_places,
        status=s.status.value,
        last_verified_on=s.last_verified_on,
        keywords=s.keywords,
        name_key=name_key(s.name),
        folded_text=fold(" ".join((s.alternate_name or "", s.description, s.keywords))),
        created_at=s.created_at,
        updated_at=s.updated_at,
        version=s.version,
    )


def child_rows(s: Service) -> list[ServiceAreaRow | ServiceCriterionRow | LocationRow]:
    """The rows a service owns besides its own: areas served, criteria, locations."""
    rows: list[ServiceAreaRow | ServiceCriterionRow | LocationRow] = [
        ServiceAreaRow(service_id=s.id, teryt=a.value) for a in s.areas
    ]
    rows.extend(ServiceCriterionRow(service_id=s.id, criterion=c.value) for c in sorted(s.eligibility.criteria))
    rows.extend(
        LocationRow(
            id=loc.id,
            service_id=s.id,
            position=position,
            name=loc.name,
            street=loc.address.street,
            postal_code=loc.address.postal_code,
            city=loc.address.city or "",
            teryt=loc.teryt.value,
            opening_hours=json.dumps(
                [
                    {"day": h.day.value, "opens": f"{h.opens:%H:%M}", "closes": f"{h.closes:%H:%M}"}
                    for h in loc.opening_hours
                ]
            ),
            accessibility=loc.accessibility,
        )
        for position, loc in enumerate(s.locations)
    )
    return rows


def _location(r: LocationRow) -> Location:
    return Location(
        id=LocationId(r.id),
        name=r.name,
        address=Address(street=r.street, postal_code=r.postal_code, city=r.city),
        teryt=Teryt(r.teryt),
        opening_hours=tuple(
            OpeningHours(
                day=Weekday(h["day"]), opens=time.fromisoformat(h["opens"]), closes=time.fromisoformat(h["closes"])
            )
            for h in json.loads(r.opening_hours)
        ),
        accessibility=r.accessibility,
    )


def _service(
    r: ServiceRow, areas: list[ServiceAreaRow], criteria: list[ServiceCriterionRow], locations: list[LocationRow]
) -> Service:
    return Service(
        id=ServiceId(r.id),
        institution_id=InstitutionId(r.institution_id),
        name=r.name,
        alternate_name=r.alternate_name,
        description=r.description,
        category=r.category,
        instrument=Instrument(code_list=r.instrument_list, code=r.instrument_code)
        if r.instrument_list and r.instrument_code
        else None,
        eligibility=Eligibility(
            description=r.eligibility_description,
            min_age=r.min_age,
            max_age=r.max_age,
            criteria=frozenset(Criterion(c.criterion) for c in criteria),
        ),
        areas=tuple(Teryt(a.teryt) for a in sorted(areas, key=lambda a: a.teryt)),
        locations=tuple(_location(loc) for loc in sorted(locations, key=lambda loc: loc.position)),
        contact=ServiceContact(email=r.email, phone=r.phone, website=r.website),
        application_process=r.application_process,
        accepts_referrals=r.accepts_referrals,
        cost=Cost(free=r.free, amount=r.fee_amount, description=r.fee_description),
        languages=tuple(r.languages.split()),
        capacity=Capacity(total=r.capacity_total, open_places=r.open_places),
        status=ServiceStatus(r.status),
        last_verified_on=r.last_verified_on,
        keywords=r.keywords,
        created_at=r.created_at,
        updated_at=r.updated_at,
        version=r.version,
    )


# ---------------------------------------------------------------------------------------------
# Search
# ---------------------------------------------------------------------------------------------

_FTS = table(SEARCH_TABLE, column("service_id"))
_FTS_NAME: ColumnElement[Any] = literal_column(SEARCH_TABLE)
# bm25 weights of the FTS5 columns (service_id, name, body): the id is a lookup key, not text.
_BM25_WEIGHTS = (0.0, 10.0, 1.0)


def _filters(query: ServiceQuery) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [ServiceRow.status.in_([s.value for s in query.statuses])]
    if query.categories:
        where.append(ServiceRow.category.in_(query.categories))
    if query.instruments:
        where.append(ServiceRow.instrument_code.in_(query.instruments))
    if query.institution_id is not None:
        where.append(ServiceRow.institution_id == query.institution_id)
    if query.institution_kinds:
        where.append(
            ServiceRow.institution_id.in_(
                select(InstitutionRow.id).where(InstitutionRow.type.in_(query.institution_kinds))
            )
        )
    for criterion in query.criteria:
        where.append(
            ServiceRow.id.in_(
                select(ServiceCriterionRow.service_id).where(ServiceCriterionRow.criterion == criterion.value)
            )
        )
    if query.age is not None:
        where.append(or_(ServiceRow.min_age.is_(None), ServiceRow.min_age <= query.age))
        where.append(or_(ServiceRow.max_age.is_(None), ServiceRow.max_age >= query.age))
    if query.place is not None:
        where.append(ServiceRow.id.in_(select(ServiceAreaRow.service_id).where(_serving(query.place))))
    if query.with_open_places:
        where.append(ServiceRow.open_places > 0)
    return where


def _serving(place: Teryt) -> ColumnElement[bool]:
    """Areas that contain the place or (for a powiat or voivodeship) lie within it."""
    containing: ColumnElement[bool] = ServiceAreaRow.teryt.in_(units_containing(place))
    within = units_within(place)
    if within is None:
        return containing
    return or_(containing, and_(ServiceAreaRow.teryt > within[0], ServiceAreaRow.teryt <= within[1]))


def _after(score: ColumnElement[Any], position: SearchPosition) -> ColumnElement[bool]:
    later_by_name: ColumnElement[bool] = tuple_(ServiceRow.name_key, ServiceRow.id) > tuple_(
        position.name_key, position.id
    )
    return or_(score < position.score, and_(score == position.score, later_by_name))


# ---------------------------------------------------------------------------------------------
# The repository and its unit of work
# ---------------------------------------------------------------------------------------------


class SqlServiceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, service: Service) -> None:
        await insert_row(self.session, service_row(service))
        self.session.add_all(child_rows(service))
        await self.session.flush()

    async def get(self, service_id: ServiceId) -> Service | None:
        found = await self.get_many([service_id])
        return found[0] if found else None

    async def get_many(self, ids: Sequence[ServiceId]) -> list[Service]:
        if not ids:
            return []
        rows = list(await self.session.scalars(select(ServiceRow).where(ServiceRow.id.in_(ids))))
        return await self._assemble(rows)

    async def update(self, service: Service, *, expected_version: int) -> None:
        values = {k: v for k, v in service_row(service).model_dump().items() if k not in ("id", "created_at")}
        await versioned_update(self.session, ServiceRow, service.id, expected_version, values)
        for owned in (ServiceAreaRow, ServiceCriterionRow, LocationRow):
            await self.session.execute(delete(owned).where(owned.service_id == service.id))
        self.session.add_all(child_rows(service))
        await self.session.flush()

    async def search(self, query: ServiceQuery, request: SearchRequest) -> SearchPage:
        terms = query.terms
        score: ColumnElement[Any]
        # Only the key of each candidate is selected and sorted: a common word matches a third of the
        # directory, and carrying whole rows through the sort would cost more than the search itself.
        key = (ServiceRow.id, ServiceRow.name_key)
        if not terms:
            score = literal(0.0)
            statement = select(*key, score.label("score"))
            if request.after is not None:
                statement = statement.where(tuple_(*reversed(key)) > tuple_(request.after.name_key, request.after.id))
        elif self.session.get_bind().dialect.name == "postgresql":
            # PostgreSQL prices a tsvector match at next to nothing, so for a word in one service of ten
            # or more it scans the whole table and matches every row; the GIN index answers faster even
            # for a word in half the directory (bench/README.md). Without sequential scans a plan's price
            # can look high enough to be compiled (JIT), which costs more than any search: off as well.
            # Both for this transaction only.
            await self.session.execute(
                text("SELECT set_config('enable_seqscan', 'off', true), set_config('jit', 'off', true)")
            )
            tsquery = func.to_tsquery(literal_column("'simple'::regconfig"), " & ".join(f"{t}:*" for t in terms))
            vector: ColumnElement[Any] = literal_column(f"{ServiceRow.__tablename__}.{SEARCH_COLUMN}")
            score = func.ts_rank(vector, tsquery)
            statement = select(*key, score.label("score")).where(vector.op("@@")(tsquery))
        else:
            match = "{name body} : (" + " AND ".join(f'"{t}"*' for t in terms) + ")"
            score = -func.bm25(_FTS_NAME, *_BM25_WEIGHTS)
            statement = (
                select(*key, score.label("score"))
                .join(_FTS, _FTS.c.service_id == ServiceRow.id)
                .where(_FTS_NAME.op("MATCH")(match))
            )
        if terms and request.after is not None:
            statement = statement.where(_after(score, request.after))
        order = (score.desc(), ServiceRow.name_key, ServiceRow.id) if terms else (ServiceRow.name_key, ServiceRow.id)
        statement = statement.where(*_filters(query)).order_by(*order).limit(request.limit + 1)
        found = list((await self.session.execute(statement)).all())
        more = len(found) > request.limit
        found = found[: request.limit]
        services = {s.id: s for s in await self.get_many([ServiceId(service_id) for service_id, _, _ in found])}
        hits = [
            SearchHit(service=services[ServiceId(service_id)], score=float(s), name_key=name)
            for service_id, name, s in found
        ]
        last = hits[-1] if more and hits else None
        return SearchPage(
            hits=hits,
            next_after=SearchPosition(score=last.score, name_key=last.name_key, id=last.service.id) if last else None,
        )

    async def batch(
        self, *, institution_id: InstitutionId | None, after: ServiceId | None, limit: int
    ) -> list[Service]:
        statement = select(ServiceRow).where(ServiceRow.status.in_([s.value for s in LISTED_STATUSES]))
        if institution_id is not None:
            statement = statement.where(ServiceRow.institution_id == institution_id)
        if after is not None:
            statement = statement.where(ServiceRow.id > after)
        rows = list(await self.session.scalars(statement.order_by(ServiceRow.id).limit(limit)))
        return await self._assemble(rows)

    async def places(self) -> list[Place]:
        rows = await self.session.execute(
            select(LocationRow.teryt, LocationRow.city)
            .join(ServiceRow, ServiceRow.id == LocationRow.service_id)
            .where(ServiceRow.status.in_([s.value for s in LISTED_STATUSES]))
            .distinct()
        )
        return [Place(teryt=Teryt(teryt), name=city) for teryt, city in rows]

    async def location_owners(self, ids: Sequence[LocationId]) -> dict[LocationId, ServiceId]:
        if not ids:
            return {}
        rows = await self.session.execute(select(LocationRow.id, LocationRow.service_id).where(LocationRow.id.in_(ids)))
        return {LocationId(location_id): ServiceId(service_id) for location_id, service_id in rows}

    async def _assemble(self, rows: Sequence[ServiceRow]) -> list[Service]:
        ids = [r.id for r in rows]
        areas: defaultdict[Any, list[ServiceAreaRow]] = defaultdict(list)
        criteria: defaultdict[Any, list[ServiceCriterionRow]] = defaultdict(list)
        locations: defaultdict[Any, list[LocationRow]] = defaultdict(list)
        if ids:
            for a in await self.session.scalars(select(ServiceAreaRow).where(ServiceAreaRow.service_id.in_(ids))):
                areas[a.service_id].append(a)
            for c in await self.session.scalars(
                select(ServiceCriterionRow).where(ServiceCriterionRow.service_id.in_(ids))
            ):
                criteria[c.service_id].append(c)
            for loc in await self.session.scalars(select(LocationRow).where(LocationRow.service_id.in_(ids))):
                locations[loc.service_id].append(loc)
        return [_service(r, areas[r.id], criteria[r.id], locations[r.id]) for r in rows]


class SqlDirectoryUnitOfWork:
    services: ServiceRepository
    institutions: InstitutionRepository

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def __aenter__(self) -> Self:
        self.session = self._sessions()
        self.services = SqlServiceRepository(self.session)
        self.institutions = SqlInstitutionRepository(self.session)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # Whatever was not committed explicitly is rolled back.
        await self.session.rollback()
        await self.session.close()

    async def commit(self) -> None:
        await self.session.commit()


class SqlDirectoryStore:
    """The `DirectoryStore` port over SQL sessions."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @classmethod
    def over(cls, engine: AsyncEngine) -> SqlDirectoryStore:
        """A store with sessions of its own over an engine (the command line's, the container's)."""
        return cls(make_session_factory(engine))

    def __call__(self) -> SqlDirectoryUnitOfWork:
        return SqlDirectoryUnitOfWork(self._sessions)
