"""In-memory adapters of the domain's ports, for unit tests that need no database.

They keep the promises of the SQL adapters (app/adapters/db/repositories.py):

- a unit of work reads committed data plus its own pending changes (read committed);
  `commit` makes the changes visible to other units of work, leaving `async with`
  without a commit discards them;
- every entity handed in or out is a copy, as rows are: changing an object the
  repository returned changes nothing until `update` is called and committed;
- `update` with a stale expected_version raises StaleVersion; a row changed by another
  unit of work that committed first is also refused at commit (PostgreSQL would refuse
  it at the UPDATE, after waiting for the other transaction);
- unique identities (a PESEL, one open enrollment of a person at an institution, one
  current membership of a person in a family, a worker's identity-provider subject, any
  id) and references to other records are enforced; a violation raises DuplicateRecord,
  as the SQL adapters turn every integrity error on insert into it;
- visibility and keyset pagination by (created_at, id) follow the same rules as the SQL;
- outbox events are committed with the change; `InMemoryStore.publish()` plays the relay,
  giving them their feed positions.
"""

from __future__ import annotations

import copy
import dataclasses
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar

from app.domain.audit import AuditFilter, AuditRecord
from app.domain.clients import ApiClient
from app.domain.code_lists import CodeLists, default_code_lists
from app.domain.deliveries import Delivery, DeliveryStatus
from app.domain.errors import DuplicateRecord, StaleVersion
from app.domain.events import DomainEvent, PublishedEvent
from app.domain.families import Family
from app.domain.ids import (
    AgreementId,
    ConsentId,
    DeliveryId,
    EnrollmentId,
    EventId,
    FamilyId,
    InstitutionId,
    PersonId,
    ReferralId,
    RestrictedRecordId,
    SubscriptionId,
    WorkerId,
)
from app.domain.institutions import Institution, Worker
from app.domain.pagination import Page, PageRequest, Position
from app.domain.persons import Enrollment, Person
from app.domain.ports import (
    AgreementRepository,
    ApiClientRepository,
    AuditLog,
    ConsentRepository,
    DeliveryLog,
    EnrollmentRepository,
    EventFeed,
    FamilyRepository,
    InstitutionRepository,
    Outbox,
    PersonRepository,
    RateLimits,
    ReferralFilter,
    ReferralRepository,
    SharedClientQueries,
    SubscriptionRepository,
    WorkerRepository,
)
from app.domain.referrals import Referral, ReferralStatus
from app.domain.restricted_records import RestrictedRecord, RestrictedRecordRepository
from app.domain.services.context import UseCaseContext
from app.domain.sharing import Agreement, Consent
from app.domain.values import IdentityDocument, Pesel
from app.domain.webhooks import Subscription

__all__ = [
    "FixedClock",
    "InMemoryApiClientRepository",
    "InMemoryAuditLog",
    "InMemoryDeliveryLog",
    "InMemoryEnrollmentRepository",
    "InMemoryEventFeed",
    "InMemoryFamilyRepository",
    "InMemoryInstitutionRepository",
    "InMemoryOutbox",
    "InMemoryPersonRepository",
    "InMemoryReferralRepository",
    "InMemoryRestrictedRecordRepository",
    "InMemoryStore",
    "InMemorySubscriptionRepository",
    "InMemoryUnitOfWork",
    "InMemoryUnitOfWorkFactory",
    "InMemoryWorkerRepository",
    "make_context",
]

E = TypeVar("E")

DEFAULT_NOW = datetime(2025, 3, 10, 9, 30, tzinfo=UTC)


class FixedClock:
    """A clock that stands still until the test moves it."""

    def __init__(self, at: datetime = DEFAULT_NOW) -> None:
        if at.tzinfo is None:
            raise ValueError("the clock tells timezone-aware UTC time")
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta = timedelta(seconds=1)) -> datetime:
        self.at += delta
        return self.at


# --------------------------------------------------------------------------- storage


_TABLES = (
    "agreements",
    "consents",
    "institutions",
    "workers",
    "persons",
    "enrollments",
    "families",
    "api_clients",
    "referrals",
    "events",
    "subscriptions",
    "deliveries",
    "restricted_records",
)


@dataclass
class InMemoryStore:
    """The committed state: what the database holds between transactions."""

    institutions: dict[InstitutionId, Institution] = field(default_factory=dict)
    workers: dict[WorkerId, Worker] = field(default_factory=dict)
    persons: dict[PersonId, Person] = field(default_factory=dict)
    enrollments: dict[EnrollmentId, Enrollment] = field(default_factory=dict)
    families: dict[FamilyId, Family] = field(default_factory=dict)
    api_clients: dict[str, ApiClient] = field(default_factory=dict)
    referrals: dict[ReferralId, Referral] = field(default_factory=dict)
    # The outbox: events in the order they were committed; `positions` once the relay published them.
    events: dict[EventId, DomainEvent] = field(default_factory=dict)
    positions: dict[EventId, int] = field(default_factory=dict)
    subscriptions: dict[SubscriptionId, Subscription] = field(default_factory=dict)
    # Deliveries in the order they were made (the relay's work; a test may put some here).
    deliveries: dict[DeliveryId, Delivery] = field(default_factory=dict)
    restricted_records: dict[RestrictedRecordId, RestrictedRecord] = field(default_factory=dict)
    agreements: dict[AgreementId, Agreement] = field(default_factory=dict)
    consents: dict[ConsentId, Consent] = field(default_factory=dict)
    audit: list[AuditRecord] = field(default_factory=list)
    commits: int = 0
    rate_hits: dict[tuple[str, datetime], int] = field(default_factory=dict)

    def table(self, name: str) -> dict[Any, Any]:
        rows: dict[Any, Any] = getattr(self, name)
        return rows

    def unpublished(self) -> list[DomainEvent]:
        """Committed events the relay has not published yet, oldest first."""
        return [e for eid, e in self.events.items() if eid not in self.positions]

    def publish(self) -> list[PublishedEvent]:
        """What the relay does after commit: give each waiting event its place in the feed."""
        published = []
        for event in self.unpublished():
            self.positions[event.id] = position = max(self.positions.values(), default=0) + 1
            published.append(PublishedEvent(position=position, event=event))
        return published


class _Versioned(Protocol):
    version: int


_DUPLICATE = "a record with the same unique identity already exists"
_DANGLING = "a record refers to one that does not exist"


def _check_integrity(state: Callable[[str], dict[Any, Any]]) -> None:
    """The unique indexes and foreign keys of the SQL schema, checked over a whole state.

    Both raise DuplicateRecord, as the SQL adapters turn every integrity error into it.
    """
    institutions, workers, persons = state("institutions"), state("workers"), state("persons")
    enrollments, families = state("enrollments"), state("families")

    def unique(keys: list[Any]) -> None:
        if len(keys) != len(set(keys)):
            raise DuplicateRecord(_DUPLICATE)

    unique([p.pesel for p in persons.values() if p.pesel is not None])
    unique([(w.institution_id, w.idp_subject) for w in workers.values() if w.idp_subject is not None])
    unique([(e.person_id, e.institution_id) for e in enrollments.values() if e.until is None])
    unique([m.id for f in families.values() for m in f.memberships])
    unique([(d.subscription_id, d.event_id) for d in state("deliveries").values()])
    for family in families.values():
        unique([m.person_id for m in family.memberships if m.until is None])

    references = [
        *(w.institution_id in institutions for w in workers.values()),
        *(e.person_id in persons and e.institution_id in institutions for e in enrollments.values()),
        *(e.worker_id is None or e.worker_id in workers for e in enrollments.values()),
        *(f.created_by in institutions for f in families.values()),
        *(m.person_id in persons and m.family_id == f.id for f in families.values() for m in f.memberships),
        *(c.institution_id in institutions for c in state("api_clients").values()),
        *(_referral_references_ok(r, institutions, workers, persons, families) for r in state("referrals").values()),
        *(s.institution_id in institutions for s in state("subscriptions").values()),
        *(
            d.subscription_id in state("subscriptions") and d.event_id in state("events")
            for d in state("deliveries").values()
        ),
        *(
            r.team_id in institutions
            and (r.person_id is None or r.person_id in persons)
            and (r.family_id is None or r.family_id in families)
            for r in state("restricted_records").values()
        ),
    ]
    if not all(references):
        raise DuplicateRecord(_DANGLING)


def _referral_references_ok(
    r: Referral,
    institutions: dict[Any, Any],
    workers: dict[Any, Any],
    persons: dict[Any, Any],
    families: dict[Any, Any],
) -> bool:
    return (
        r.sender_id in institutions
        and r.receiver_id in institutions
        and (r.sender_worker_id is None or r.sender_worker_id in workers)
        and (r.person_id is None or r.person_id in persons)
        and (r.family_id is None or r.family_id in families)
        and all(p in persons for p in r.member_ids)
        and len(set(r.member_ids)) == len(r.member_ids)
        and all(o.person_id in persons for o in r.outcomes)
    )


class _Transaction:
    """Pending changes of one unit of work, laid over the committed store."""

    def __init__(self, store: InMemoryStore) -> None:
        self.store = store
        self.open = True
        self._reset()

    def _reset(self) -> None:
        self.staged: dict[str, dict[Any, Any]] = {name: {} for name in _TABLES}
        # For rows this transaction updated: the committed version its update was based on.
        self.based_on: dict[tuple[str, Any], int] = {}
        self.audit: list[AuditRecord] = []

    def _ensure_open(self) -> None:
        if not self.open:
            raise RuntimeError("the unit of work is closed: use its repositories inside `async with`")

    def rows(self, table: str) -> dict[Any, Any]:
        """Committed rows with this transaction's changes over them (not copies: read-only)."""
        self._ensure_open()
        return {**self.store.table(table), **self.staged[table]}

    def get(self, table: str, key: Any) -> Any:
        found = self.rows(table).get(key)
        return copy.deepcopy(found)

    def select(self, table: str, where: Callable[[Any], bool] = lambda _: True) -> list[Any]:
        return [copy.deepcopy(row) for row in self.rows(table).values() if where(row)]

    def _stage(self, table: str, key: Any, entity: Any) -> None:
        candidate = {name: self.rows(name) for name in _TABLES}
        candidate[table] = {**candidate[table], key: entity}
        _check_integrity(candidate.__getitem__)
        self.staged[table][key] = copy.deepcopy(entity)

    def insert(self, table: str, key: Any, entity: Any) -> None:
        if key in self.rows(table):
            raise DuplicateRecord(_DUPLICATE)
        self._stage(table, key, entity)

    def update(self, table: str, key: Any, entity: Any, expected_version: int) -> None:
        current: _Versioned | None = self.rows(table).get(key)
        if current is None or current.version != expected_version:
            raise StaleVersion("the record was changed by someone else", current.version if current else 0)
        committed: _Versioned | None = self.store.table(table).get(key)
        if committed is not None:
            self.based_on.setdefault((table, key), committed.version)
        self._stage(table, key, entity)

    def record(self, record: AuditRecord) -> None:
        self._ensure_open()
        self.audit.append(record)

    def commit(self) -> None:
        self._ensure_open()
        for (table, key), version in self.based_on.items():
            now_committed: _Versioned = self.store.table(table)[key]
            if now_committed.version != version:
                raise StaleVersion("the record was changed by someone else", now_committed.version)
        merged = {name: {**self.store.table(name), **self.staged[name]} for name in _TABLES}
        _check_integrity(merged.__getitem__)
        for name in _TABLES:
            self.store.table(name).update(self.staged[name])
        self.store.audit.extend(self.audit)
        self.store.commits += 1
        self._reset()

    def close(self) -> None:
        self._reset()
        self.open = False


def _page(rows: Iterable[E], page: PageRequest, key: Callable[[E], tuple[datetime, Any]]) -> Page[E]:
    """Keyset pagination over (created_at, id), as the SQL adapters do it."""
    ordered = sorted(rows, key=key)
    if page.after is not None:
        after = (page.after.created_at, page.after.id)
        ordered = [r for r in ordered if key(r) > after]
    chunk = ordered[: page.limit + 1]
    more = len(chunk) > page.limit
    chunk = chunk[: page.limit]
    next_after = None
    if more and chunk:
        created_at, last_id = key(chunk[-1])
        next_after = Position(created_at=created_at, id=last_id)
    return Page(items=chunk, next_after=next_after)


# --------------------------------------------------------------------------- repositories


class InMemoryInstitutionRepository:
    def __init__(self, tx: _Transaction) -> None:
        self._tx = tx

    async def add(self, institution: Institution) -> None:
        self._tx.insert("institutions", institution.id, institution)

    async def get(self, institution_id: InstitutionId) -> Institution | None:
        found: Institution | None = self._tx.get("institutions", institution_id)
        return found

    async def get_many(self, ids: Sequence[InstitutionId]) -> list[Institution]:
        wanted = set(ids)
        return self._tx.select("institutions", lambda i: i.id in wanted)

    async def list(self, page: PageRequest) -> Page[Institution]:
        return _page(self._tx.select("institutions"), page, lambda i: (i.created_at, i.id))

    async def update(self, institution: Institution, *, expected_version: int) -> None:
        current = self._tx.rows("institutions").get(institution.id)
        saved = copy.deepcopy(institution)
        if current is not None:
            saved.created_at = current.created_at
        self._tx.update("institutions", institution.id, saved, expected_version)


class InMemoryWorkerRepository:
    def __init__(self, tx: _Transaction) -> None:
        self._tx = tx

    async def add(self, worker: Worker) -> None:
        self._tx.insert("workers", worker.id, worker)

    async def get(self, worker_id: WorkerId) -> Worker | None:
        found: Worker | None = self._tx.get("workers", worker_id)
        return found

    async def get_many(self, ids: Sequence[WorkerId]) -> list[Worker]:
        wanted = set(ids)
        return self._tx.select("workers", lambda w: w.id in wanted)

    async def by_idp_subject(self, institution_id: InstitutionId, subject: str) -> Worker | None:
        found = self._tx.select("workers", lambda w: w.institution_id == institution_id and w.idp_subject == subject)
        return found[0] if found else None

    async def list_for_institution(self, institution_id: InstitutionId, page: PageRequest) -> Page[Worker]:
        rows = self._tx.select("workers", lambda w: w.institution_id == institution_id)
        return _page(rows, page, lambda w: (w.created_at, w.id))


def _enrolled_now(tx: _Transaction, person_id: PersonId, institution_id: InstitutionId) -> bool:
    return any(
        e.person_id == person_id and e.institution_id == institution_id and e.until is None
        for e in tx.rows("enrollments").values()
    )


def _family_visible(tx: _Transaction, family: Family, institution_id: InstitutionId) -> bool:
    """The family's creator sees it, and so does an institution that enrolls a current member."""
    return family.created_by == institution_id or any(
        m.until is None and _enrolled_now(tx, m.person_id, institution_id) for m in family.memberships
    )


class InMemoryPersonRepository:
    def __init__(self, tx: _Transaction) -> None:
        self._tx = tx

    async def add(self, person: Person) -> None:
        self._tx.insert("persons", person.id, person)

    async def get(self, person_id: PersonId) -> Person | None:
        found: Person | None = self._tx.get("persons", person_id)
        return found

    async def get_many(self, ids: Sequence[PersonId]) -> list[Person]:
        wanted = set(ids)
        return self._tx.select("persons", lambda p: p.id in wanted)

    async def by_pesel(self, pesel: Pesel) -> Person | None:
        found = self._tx.select("persons", lambda p: p.pesel == pesel)
        return found[0] if found else None

    async def by_identity_document(self, document: IdentityDocument) -> Person | None:
        found = self._tx.select("persons", lambda p: p.identity_document == document)
        return found[0] if found else None

    async def update(self, person: Person, *, expected_version: int) -> None:
        current = self._tx.rows("persons").get(person.id)
        saved = copy.deepcopy(person)
        if current is not None:
            saved.created_at = current.created_at
        self._tx.update("persons", person.id, saved, expected_version)

    async def visible_to(self, person_id: PersonId, institution_id: InstitutionId) -> bool:
        if _enrolled_now(self._tx, person_id, institution_id):
            return True
        # As in SQL: a member of a family the institution keeps, not of one it merely serves a member of.
        return any(
            any(m.person_id == person_id and m.until is None for m in family.memberships)
            and family.created_by == institution_id
            for family in self._tx.rows("families").values()
        )

    async def visible_among(self, ids: Sequence[PersonId], institution_id: InstitutionId) -> set[PersonId]:
        return {i for i in ids if i in self._tx.rows("persons") and await self.visible_to(i, institution_id)}

    async def list_visible(self, institution_id: InstitutionId, page: PageRequest) -> Page[Person]:
        rows = self._tx.select("persons", lambda p: _enrolled_now(self._tx, p.id, institution_id))
        return _page(rows, page, lambda p: (p.created_at, p.id))


class InMemoryEnrollmentRepository:
    def __init__(self, tx: _Transaction) -> None:
        self._tx = tx

    async def add(self, enrollment: Enrollment) -> None:
        self._tx.insert("enrollments", enrollment.id, enrollment)

    async def get(self, enrollment_id: object) -> Enrollment | None:
        found: Enrollment | None = self._tx.get("enrollments", enrollment_id)
        return found

    async def active_at(self, person_id: PersonId, institution_id: InstitutionId) -> Enrollment | None:
        found = self._tx.select(
            "enrollments",
            lambda e: e.person_id == person_id and e.institution_id == institution_id and e.until is None,
        )
        return found[0] if found else None

    async def for_persons(self, person_ids: Sequence[PersonId], institution_id: InstitutionId) -> list[Enrollment]:
        wanted = set(person_ids)
        found = self._tx.select("enrollments", lambda e: e.person_id in wanted and e.institution_id == institution_id)
        return sorted(found, key=lambda e: (e.since, e.id))

    async def update(self, enrollment: Enrollment, *, expected_version: int) -> None:
        current = self._tx.rows("enrollments").get(enrollment.id)
        saved = copy.deepcopy(enrollment)
        if current is not None:
            saved.created_at = current.created_at
        self._tx.update("enrollments", enrollment.id, saved, expected_version)


class InMemoryFamilyRepository:
    def __init__(self, tx: _Transaction) -> None:
        self._tx = tx

    async def add(self, family: Family) -> None:
        self._tx.insert("families", family.id, family)

    async def get(self, family_id: FamilyId) -> Family | None:
        found: Family | None = self._tx.get("families", family_id)
        return found

    async def get_many(self, ids: Sequence[FamilyId]) -> list[Family]:
        wanted = set(ids)
        return self._tx.select("families", lambda f: f.id in wanted)

    async def update(self, family: Family, *, expected_version: int) -> None:
        current: Family | None = self._tx.rows("families").get(family.id)
        saved = copy.deepcopy(family)
        if current is not None:
            # As in SQL: creator and creation time never change, and no membership row is ever deleted.
            saved.created_by = current.created_by
            saved.created_at = current.created_at
            kept = {m.id for m in saved.memberships}
            saved.memberships.extend(copy.deepcopy(m) for m in current.memberships if m.id not in kept)
        self._tx.update("families", family.id, saved, expected_version)

    async def visible_to(self, family_id: FamilyId, institution_id: InstitutionId) -> bool:
        family = self._tx.rows("families").get(family_id)
        return family is not None and _family_visible(self._tx, family, institution_id)

    async def visible_among(self, ids: Sequence[FamilyId], institution_id: InstitutionId) -> set[FamilyId]:
        families = self._tx.rows("families")
        return {fid for fid in ids if fid in families and _family_visible(self._tx, families[fid], institution_id)}

    async def list_visible(self, institution_id: InstitutionId, page: PageRequest) -> Page[Family]:
        rows = self._tx.select("families", lambda f: _family_visible(self._tx, f, institution_id))
        return _page(rows, page, lambda f: (f.created_at, f.id))

    async def families_of(self, person_ids: Sequence[PersonId]) -> dict[PersonId, list[FamilyId]]:
        wanted = set(person_ids)
        result: defaultdict[PersonId, list[FamilyId]] = defaultdict(list)
        for family in self._tx.rows("families").values():
            for m in family.memberships:
                if m.person_id in wanted and m.until is None:
                    result[m.person_id].append(family.id)
        return dict(result)


class InMemoryAuditLog:
    def __init__(self, tx: _Transaction, outage: BaseException | None = None) -> None:
        self._tx = tx
        self._outage = outage

    async def record(self, record: AuditRecord) -> None:
        if self._outage is not None:
            raise self._outage
        self._tx.record(record)

    async def record_many(self, records: Sequence[AuditRecord]) -> None:
        for record in records:
            await self.record(record)

    async def for_subject(self, subject_id: object) -> list[AuditRecord]:
        self._tx._ensure_open()
        found = [r for r in [*self._tx.store.audit, *self._tx.audit] if r.subject_id == subject_id]
        return sorted(found, key=lambda r: r.occurred_at)

    async def search(self, where: AuditFilter, page: PageRequest) -> Page[AuditRecord]:
        institutions: dict[InstitutionId, Institution] = self._tx.rows("institutions")

        def kind(r: AuditRecord) -> str:
            found = institutions.get(r.institution_id)
            return found.type if found else ""

        shown = [r for r in [*self._tx.store.audit, *self._tx.audit] if where.shows(r, kind(r))]
        return _page(shown, page, lambda r: (r.occurred_at, r.id))


class InMemoryApiClientRepository:
    def __init__(self, tx: _Transaction) -> None:
        self._tx = tx

    async def add(self, client: ApiClient) -> None:
        self._tx.insert("api_clients", client.client_id, client)

    async def get(self, client_id: str) -> ApiClient | None:
        found: ApiClient | None = self._tx.get("api_clients", client_id)
        return found


_OPEN_BEFORE_WORK = (ReferralStatus.SENT, ReferralStatus.RECEIVED)


class InMemoryReferralRepository:
    def __init__(self, tx: _Transaction) -> None:
        self._tx = tx

    def _on_chain_of(self, referral: Referral, institution_id: InstitutionId) -> bool:
        return any(
            institution_id in (r.sender_id, r.receiver_id)
            for r in self._tx.rows("referrals").values()
            if r.chain_id == referral.chain_id or r.id == referral.id
        )

    async def add(self, referral: Referral) -> None:
        self._tx.insert("referrals", referral.id, referral)

    async def get(self, referral_id: ReferralId) -> Referral | None:
        found: Referral | None = self._tx.get("referrals", referral_id)
        return found

    async def get_many(self, ids: Sequence[ReferralId]) -> list[Referral]:
        wanted = set(ids)
        return self._tx.select("referrals", lambda r: r.id in wanted)

    async def update(self, referral: Referral, *, expected_version: int) -> None:
        current: Referral | None = self._tx.rows("referrals").get(referral.id)
        saved = copy.deepcopy(referral)
        if current is not None:
            # As in SQL: subjects and creation time are written once; history rows are only appended;
            # outcomes are replaced.
            saved.created_at = current.created_at
            saved.member_ids = current.member_ids
            saved.history = [*copy.deepcopy(current.history), *saved.history[len(current.history) :]]
        self._tx.update("referrals", referral.id, saved, expected_version)

    async def visible_to(self, referral_id: ReferralId, institution_id: InstitutionId) -> bool:
        referral = self._tx.rows("referrals").get(referral_id)
        return referral is not None and self._on_chain_of(referral, institution_id)

    async def chain_institutions(self, chain_id: ReferralId) -> set[InstitutionId]:
        chain = [r for r in self._tx.rows("referrals").values() if r.chain_id == chain_id]
        return {i for r in chain for i in (r.sender_id, r.receiver_id)}

    async def list_box(self, institution_id: InstitutionId, where: ReferralFilter, page: PageRequest) -> Page[Referral]:
        def wanted(r: Referral) -> bool:
            if where.box == "inbox":
                in_box = r.receiver_id == institution_id and r.status != ReferralStatus.DRAFT
            else:
                in_box = r.sender_id == institution_id
            return (
                in_box
                and (where.status is None or r.status == where.status)
                and (where.overdue_on is None or (r.status in _OPEN_BEFORE_WORK and r.respond_by < where.overdue_on))
                and (where.person_id is None or where.person_id in r.member_ids)
                and (where.family_id is None or r.family_id == where.family_id)
                and (where.created_from is None or r.created_at >= where.created_from)
                and (where.created_to is None or r.created_at < where.created_to)
            )

        return _page(self._tx.select("referrals", wanted), page, lambda r: (r.created_at, r.id))

    async def for_subjects(self, person_ids: Sequence[PersonId], institution_id: InstitutionId) -> list[Referral]:
        wanted = set(person_ids)
        found = self._tx.select(
            "referrals",
            lambda r: (
                bool(wanted.intersection(r.member_ids))
                and self._on_chain_of(r, institution_id)
                and (r.status != ReferralStatus.DRAFT or r.sender_id == institution_id)
            ),
        )
        return sorted(found, key=lambda r: (r.created_at, r.id))

    async def unanswered_past(self, day: date, limit: int) -> list[Referral]:
        found = self._tx.select("referrals", lambda r: r.status in _OPEN_BEFORE_WORK and r.respond_by < day)
        return sorted(found, key=lambda r: (r.respond_by, r.id))[:limit]


class InMemoryOutbox:
    def __init__(self, tx: _Transaction) -> None:
        self._tx = tx

    async def add(self, event: DomainEvent) -> None:
        self._tx.insert("events", event.id, event)


class InMemoryEventFeed:
    def __init__(self, tx: _Transaction) -> None:
        self._tx = tx

    async def page(self, institution_id: InstitutionId, after: int, limit: int) -> list[PublishedEvent]:
        positions = self._tx.store.positions
        found = [
            PublishedEvent(position=positions[e.id], event=dataclasses.replace(e, audience=frozenset({institution_id})))
            for e in self._tx.rows("events").values()
            if e.id in positions and positions[e.id] > after and institution_id in e.audience
        ]
        # The feed shows the subscriber only itself as audience, as the SQL feed does.
        return sorted(found, key=lambda p: p.position)[:limit]


class InMemorySubscriptionRepository:
    def __init__(self, tx: _Transaction) -> None:
        self._tx = tx

    async def add(self, subscription: Subscription) -> None:
        self._tx.insert("subscriptions", subscription.id, subscription)

    async def get(self, subscription_id: SubscriptionId) -> Subscription | None:
        found: Subscription | None = self._tx.get("subscriptions", subscription_id)
        return found

    async def list_for(self, institution_id: InstitutionId) -> list[Subscription]:
        found = self._tx.select("subscriptions", lambda s: s.institution_id == institution_id)
        return sorted(found, key=lambda s: s.created_at)

    async def update(self, subscription: Subscription) -> None:
        # As in SQL: only the active flag changes, and an unknown id changes nothing.
        current: Subscription | None = self._tx.get("subscriptions", subscription.id)
        if current is not None:
            current.active = subscription.active
            self._tx.staged["subscriptions"][current.id] = current


class InMemoryDeliveryLog:
    def __init__(self, tx: _Transaction) -> None:
        self._tx = tx

    async def for_subscription(self, subscription_id: SubscriptionId, limit: int) -> list[Delivery]:
        found = self._tx.select("deliveries", lambda d: d.subscription_id == subscription_id)
        return list(reversed(found))[:limit]

    async def replay(self, subscription_id: SubscriptionId, delivery_id: DeliveryId, at: datetime) -> bool:
        delivery: Delivery | None = self._tx.get("deliveries", delivery_id)
        if delivery is None or delivery.subscription_id != subscription_id:
            return False
        delivery.status = DeliveryStatus.PENDING
        delivery.next_attempt_at = at
        self._tx.staged["deliveries"][delivery.id] = delivery
        return True


class InMemoryRestrictedRecordRepository:
    def __init__(self, tx: _Transaction) -> None:
        self._tx = tx

    async def add(self, record: RestrictedRecord) -> None:
        self._tx.insert("restricted_records", record.id, record)

    async def get(self, record_id: RestrictedRecordId) -> RestrictedRecord | None:
        found: RestrictedRecord | None = self._tx.get("restricted_records", record_id)
        return found

    async def update(self, record: RestrictedRecord, *, expected_version: int) -> None:
        current: RestrictedRecord | None = self._tx.rows("restricted_records").get(record.id)
        saved = copy.deepcopy(record)
        if current is not None:
            # As in SQL: the owning team, the subject and the creation time are written once.
            saved.team_id, saved.created_at = current.team_id, current.created_at
            saved.person_id, saved.family_id = current.person_id, current.family_id
        self._tx.update("restricted_records", record.id, saved, expected_version)

    async def list_for_team(
        self, team_id: InstitutionId, page: PageRequest, *, person_id: PersonId | None, family_id: FamilyId | None
    ) -> Page[RestrictedRecord]:
        rows = self._tx.select(
            "restricted_records",
            lambda r: (
                r.team_id == team_id
                and (person_id is None or r.person_id == person_id)
                and (family_id is None or r.family_id == family_id)
            ),
        )
        return _page(rows, page, lambda r: (r.created_at, r.id))


class InMemoryAgreementRepository:
    def __init__(self, tx: _Transaction) -> None:
        self._tx = tx

    async def add(self, agreement: Agreement) -> None:
        self._tx.insert("agreements", agreement.id, agreement)

    async def get(self, agreement_id: AgreementId) -> Agreement | None:
        found: Agreement | None = self._tx.get("agreements", agreement_id)
        return found

    async def update(self, agreement: Agreement, *, expected_version: int) -> None:
        self._tx.update("agreements", agreement.id, agreement, expected_version)

    async def of_institution(self, institution_id: InstitutionId, page: PageRequest) -> Page[Agreement]:
        rows = self._tx.select("agreements", lambda a: a.party(institution_id) is not None)
        return _page(rows, page, lambda a: (a.created_at, a.id))

    async def not_ended(self, institution_id: InstitutionId) -> list[Agreement]:
        return self._tx.select("agreements", lambda a: a.party(institution_id) is not None and a.ended_at is None)


class InMemoryConsentRepository:
    def __init__(self, tx: _Transaction) -> None:
        self._tx = tx

    async def add(self, consent: Consent) -> None:
        self._tx.insert("consents", consent.id, consent)

    async def get(self, consent_id: ConsentId) -> Consent | None:
        found: Consent | None = self._tx.get("consents", consent_id)
        return found

    async def update(self, consent: Consent, *, expected_version: int) -> None:
        self._tx.update("consents", consent.id, consent, expected_version)

    async def of_persons(self, person_ids: Sequence[PersonId]) -> list[Consent]:
        wanted = set(person_ids)
        return sorted(self._tx.select("consents", lambda c: c.person_id in wanted), key=lambda c: c.created_at)


class InMemoryRateLimits:
    """Counts kept on the store, like the database's table, so that every unit of work shares them."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def hit(self, bucket: str, window_start: datetime) -> int:
        key = (bucket, window_start)
        self._store.rate_hits[key] = self._store.rate_hits.get(key, 0) + 1
        return self._store.rate_hits[key]

    async def count(self, bucket: str, window_start: datetime) -> int:
        return self._store.rate_hits.get((bucket, window_start), 0)


class InMemorySharedClientQueries:
    def __init__(self, tx: _Transaction) -> None:
        self._tx = tx

    async def by_names(self, first_name: str, last_name: str, birth_date: date) -> list[PersonId]:
        def folded(name: str) -> str:
            return " ".join(name.split()).casefold()

        wanted = (folded(first_name), folded(last_name))
        return [
            p.id
            for p in self._tx.select("persons", lambda p: p.birth_date == birth_date)
            if (folded(p.first_name), folded(p.last_name)) == wanted
        ]

    async def active_enrollments(self, person_ids: Sequence[PersonId]) -> list[Enrollment]:
        wanted = set(person_ids)
        found = self._tx.select("enrollments", lambda e: e.person_id in wanted and e.until is None)
        return sorted(found, key=lambda e: (e.since, e.id))


# --------------------------------------------------------------------------- unit of work


class InMemoryUnitOfWork:
    institutions: InstitutionRepository
    workers: WorkerRepository
    persons: PersonRepository
    enrollments: EnrollmentRepository
    families: FamilyRepository
    audit: AuditLog
    api_clients: ApiClientRepository
    referrals: ReferralRepository
    outbox: Outbox
    feed: EventFeed
    subscriptions: SubscriptionRepository
    deliveries: DeliveryLog
    restricted_records: RestrictedRecordRepository
    agreements: AgreementRepository
    consents: ConsentRepository
    rate_limits: RateLimits
    shared_clients: SharedClientQueries

    def __init__(self, factory: InMemoryUnitOfWorkFactory) -> None:
        self._factory = factory
        self.store = factory.store
        self._tx: _Transaction | None = None

    async def __aenter__(self) -> Self:
        if self._tx is not None:
            raise RuntimeError("the unit of work is already in a transaction")
        self._tx = tx = _Transaction(self.store)
        self.institutions = InMemoryInstitutionRepository(tx)
        self.workers = InMemoryWorkerRepository(tx)
        self.persons = InMemoryPersonRepository(tx)
        self.enrollments = InMemoryEnrollmentRepository(tx)
        self.families = InMemoryFamilyRepository(tx)
        self.audit = InMemoryAuditLog(tx, self._factory.audit_outage)
        self.api_clients = InMemoryApiClientRepository(tx)
        self.referrals = InMemoryReferralRepository(tx)
        self.outbox = InMemoryOutbox(tx)
        self.feed = InMemoryEventFeed(tx)
        self.subscriptions = InMemorySubscriptionRepository(tx)
        self.deliveries = InMemoryDeliveryLog(tx)
        self.restricted_records = InMemoryRestrictedRecordRepository(tx)
        self.agreements = InMemoryAgreementRepository(tx)
        self.consents = InMemoryConsentRepository(tx)
        self.rate_limits = InMemoryRateLimits(self.store)
        self.shared_clients = InMemorySharedClientQueries(tx)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # Whatever was not committed explicitly is rolled back.
        if self._tx is not None:
            self._tx.close()
            self._tx = None

    async def commit(self) -> None:
        if self._tx is None:
            raise RuntimeError("commit outside `async with`")
        hooks, self._factory.before_next_commit = self._factory.before_next_commit, []
        for hook in hooks:
            await hook()
        self._tx.commit()


class InMemoryUnitOfWorkFactory:
    """Units of work over one shared store.

    Two knobs let a test stage what a database does to the service now and then:
    `audit_outage`, when set, is raised by every audit write; each coroutine function in
    `before_next_commit` runs (once) just before the next commit, as a concurrent
    transaction that commits first would.
    """

    def __init__(self, store: InMemoryStore | None = None) -> None:
        self.store = store if store is not None else InMemoryStore()
        self.audit_outage: BaseException | None = None
        self.before_next_commit: list[Callable[[], Awaitable[None]]] = []

    def __call__(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self)


def make_context(
    uow: InMemoryUnitOfWorkFactory | None = None, clock: FixedClock | None = None, codes: CodeLists | None = None
) -> UseCaseContext:
    """A use-case context on fakes: in-memory storage, a fixed clock, the shipped code lists."""
    return UseCaseContext(
        uow=uow if uow is not None else InMemoryUnitOfWorkFactory(),
        clock=clock if clock is not None else FixedClock(),
        codes=codes if codes is not None else default_code_lists(),
    )
