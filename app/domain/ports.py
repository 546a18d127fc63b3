"""Ports: what the domain needs from the outside world, as Protocols adapters implement."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from types import TracebackType
from typing import Protocol, Self

from app.domain.audit import AuditFilter, AuditRecord
from app.domain.clients import ApiClient
from app.domain.contracts import Contract
from app.domain.deliveries import Delivery
from app.domain.delivery_records import Benefit, HoursRecord, OutcomeRecord
from app.domain.diagnoses import Diagnosis
from app.domain.directory import ServiceRepository
from app.domain.events import DomainEvent, PublishedEvent
from app.domain.families import Family
from app.domain.ids import (
    AgreementId,
    ConsentId,
    ContractId,
    DeliveryId,
    FamilyId,
    HoursRecordId,
    InstitutionId,
    PartnershipId,
    PersonId,
    ReferralId,
    SubscriptionId,
    WorkerId,
)
from app.domain.institutions import Institution, Worker
from app.domain.monitoring import MonitoringReport
from app.domain.pagination import Page, PageRequest
from app.domain.partnerships import Partnership
from app.domain.person_merges import PersonLinks, PersonMergeRepository
from app.domain.persons import Enrollment, Person
from app.domain.reconciliation import ReconciliationRepository
from app.domain.referrals import Referral, ReferralStatus
from app.domain.restricted_records import RestrictedRecordRepository
from app.domain.retention import RetentionQueries
from app.domain.sharing import Agreement, Consent
from app.domain.source_records import SourceRecordRepository
from app.domain.values import IdentityDocument, Pesel
from app.domain.webhooks import Subscription


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""


class InstitutionRepository(Protocol):
    async def add(self, institution: Institution) -> None:
        """Store a new institution."""

    async def get(self, institution_id: InstitutionId) -> Institution | None:
        """The institution, or None."""

    async def get_many(self, ids: Sequence[InstitutionId]) -> list[Institution]:
        """The institutions with these ids that exist, in no particular order."""

    async def list(self, page: PageRequest) -> Page[Institution]:
        """Institutions ordered by creation."""

    async def update(self, institution: Institution, *, expected_version: int) -> None:
        """Save changes; raises StaleVersion when someone else saved first."""


class WorkerRepository(Protocol):
    async def add(self, worker: Worker) -> None:
        """Store a new worker."""

    async def get(self, worker_id: WorkerId) -> Worker | None:
        """The worker, or None."""

    async def get_many(self, ids: Sequence[WorkerId]) -> list[Worker]:
        """The workers with these ids that exist."""

    async def by_idp_subject(self, institution_id: InstitutionId, subject: str) -> Worker | None:
        """The worker of this institution whose identity-provider subject this is."""

    async def list_for_institution(self, institution_id: InstitutionId, page: PageRequest) -> Page[Worker]:
        """Workers of one institution ordered by creation."""


class PersonRepository(Protocol):
    async def add(self, person: Person) -> None:
        """Store a new person; raises Conflict when the PESEL is already held."""

    async def get(self, person_id: PersonId) -> Person | None:
        """The person, or None."""

    async def get_many(self, ids: Sequence[PersonId]) -> list[Person]:
        """The persons with these ids that exist."""

    async def by_pesel(self, pesel: Pesel) -> Person | None:
        """The person with this PESEL, or None."""

    async def by_identity_document(self, document: IdentityDocument) -> Person | None:
        """The person registered with this document (kind, number, country), or None."""

    async def update(self, person: Person, *, expected_version: int) -> None:
        """Save changes; raises StaleVersion when someone else saved first."""

    async def visible_to(self, person_id: PersonId, institution_id: InstitutionId) -> bool:
        """True for the institution's own records of the person: it enrolls them, or keeps a family they belong to."""

    async def visible_among(self, ids: Sequence[PersonId], institution_id: InstitutionId) -> set[PersonId]:
        """Those of the ids that the institution may see (as `visible_to`), in one query."""

    async def list_visible(self, institution_id: InstitutionId, page: PageRequest) -> Page[Person]:
        """Persons the institution enrolls, ordered by creation."""


class EnrollmentRepository(Protocol):
    async def add(self, enrollment: Enrollment) -> None:
        """Store a new enrollment."""

    async def get(self, enrollment_id: object) -> Enrollment | None:
        """The enrollment, or None."""

    async def active_at(self, person_id: PersonId, institution_id: InstitutionId) -> Enrollment | None:
        """The person's open enrollment at the institution, if any."""

    async def for_persons(self, person_ids: Sequence[PersonId], institution_id: InstitutionId) -> list[Enrollment]:
        """Enrollments of these persons at one institution (the caller's own view)."""

    async def update(self, enrollment: Enrollment, *, expected_version: int) -> None:
        """Save changes; raises StaleVersion when someone else saved first."""


class FamilyRepository(Protocol):
    async def add(self, family: Family) -> None:
        """Store a new family with its memberships."""

    async def get(self, family_id: FamilyId) -> Family | None:
        """The family with all its memberships, past and current, or None."""

    async def get_many(self, ids: Sequence[FamilyId]) -> list[Family]:
        """Families with these ids, with memberships."""

    async def update(self, family: Family, *, expected_version: int) -> None:
        """Save the family and its memberships; raises StaleVersion when someone else saved first."""

    async def visible_to(self, family_id: FamilyId, institution_id: InstitutionId) -> bool:
        """True when the institution created the family or enrolls a current member."""

    async def visible_among(self, ids: Sequence[FamilyId], institution_id: InstitutionId) -> set[FamilyId]:
        """Those of the ids that the institution may see, in one query."""

    async def list_visible(self, institution_id: InstitutionId, page: PageRequest) -> Page[Family]:
        """Families visible to the institution, ordered by creation."""

    async def families_of(self, person_ids: Sequence[PersonId]) -> dict[PersonId, list[FamilyId]]:
        """For each person, the families they are currently a member of."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReferralFilter:
    box: str  # "inbox" (received by the institution) or "outbox" (sent by it)
    status: ReferralStatus | None = None
    overdue_on: date | None = None  # only those past their response deadline on this day
    person_id: PersonId | None = None
    family_id: FamilyId | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


class ReferralRepository(Protocol):
    async def add(self, referral: Referral) -> None:
        """Store a new referral with its history."""

    async def get(self, referral_id: ReferralId) -> Referral | None:
        """The referral with history and outcomes, or None."""

    async def get_many(self, ids: Sequence[ReferralId]) -> list[Referral]:
        """Referrals with these ids."""

    async def update(self, referral: Referral, *, expected_version: int) -> None:
        """Save status, history and outcomes; raises StaleVersion when someone else saved first."""

    async def visible_to(self, referral_id: ReferralId, institution_id: InstitutionId) -> bool:
        """True for the sender, the receiver and institutions on the referral's forwarding chain."""

    async def chain_institutions(self, chain_id: ReferralId) -> set[InstitutionId]:
        """Every sender and receiver on a forwarding chain."""

    async def list_box(self, institution_id: InstitutionId, where: ReferralFilter, page: PageRequest) -> Page[Referral]:
        """An institution's inbox or outbox, newest last."""

    async def for_subjects(self, person_ids: Sequence[PersonId], institution_id: InstitutionId) -> list[Referral]:
        """Referrals about these persons that the institution may see."""

    async def unanswered_past(self, day: date, limit: int) -> list[Referral]:
        """Sent or received referrals whose response deadline was before this day."""


class Outbox(Protocol):
    async def add(self, event: DomainEvent) -> None:
        """Write the event in the current transaction; the relay delivers it after commit."""


class EventFeed(Protocol):
    async def page(self, institution_id: InstitutionId, after: int, limit: int) -> list[PublishedEvent]:
        """Published events addressed to the institution, after a feed position."""


class SubscriptionRepository(Protocol):
    async def add(self, subscription: Subscription) -> None:
        """Register a subscription."""

    async def get(self, subscription_id: SubscriptionId) -> Subscription | None:
        """The subscription, or None."""

    async def list_for(self, institution_id: InstitutionId) -> list[Subscription]:
        """An institution's subscriptions."""

    async def update(self, subscription: Subscription) -> None:
        """Save a change (deactivation)."""


class DeliveryLog(Protocol):
    async def for_subscription(self, subscription_id: SubscriptionId, limit: int) -> list[Delivery]:
        """Deliveries of one subscription with their attempts, newest first."""

    async def replay(self, subscription_id: SubscriptionId, delivery_id: DeliveryId, at: datetime) -> bool:
        """Queue a delivery again; False when there is no such delivery."""


class PartnershipRepository(Protocol):
    async def add(self, partnership: Partnership) -> None:
        """Store a new partnership."""

    async def get(self, partnership_id: PartnershipId) -> Partnership | None:
        """The partnership with its teams, or None."""


class DiagnosisRepository(Protocol):
    async def add(self, diagnosis: Diagnosis) -> None:
        """Add a diagnosis; earlier ones stay."""

    async def for_families(self, family_ids: Sequence[FamilyId]) -> list[Diagnosis]:
        """Every diagnosis of these families, oldest first."""


class ContractRepository(Protocol):
    async def add(self, contract: Contract) -> None:
        """Store a new contract."""

    async def get(self, contract_id: ContractId) -> Contract | None:
        """The contract with its versions, signatures and reviews, or None."""

    async def update(self, contract: Contract, *, expected_version: int) -> None:
        """Save changes; raises StaleVersion when someone else saved first."""

    async def for_families(self, family_ids: Sequence[FamilyId], institution_id: InstitutionId) -> list[Contract]:
        """Contracts of these families that the institution may see."""


class DeliveryRecords(Protocol):
    async def add_hours(self, record: HoursRecord) -> None:
        """Record specialist hours."""

    async def get_hours(self, record_id: HoursRecordId) -> HoursRecord | None:
        """One hours record, or None."""

    async def supersede_hours(self, record_id: HoursRecordId, by: HoursRecordId) -> bool:
        """Mark a record as corrected by another; False when it was already superseded."""

    async def add_benefit(self, benefit: Benefit) -> None:
        """Record a cash benefit."""

    async def add_outcome(self, outcome: OutcomeRecord) -> None:
        """Record an outcome."""

    async def hours_for(
        self, person_ids: Sequence[PersonId], family_ids: Sequence[FamilyId], institution_id: InstitutionId
    ) -> list[HoursRecord]:
        """Hours an institution recorded for these persons or families, corrections included."""

    async def benefits_for(self, person_ids: Sequence[PersonId], institution_id: InstitutionId) -> list[Benefit]:
        """Benefits an institution paid to these persons."""

    async def outcomes_for(self, person_ids: Sequence[PersonId], institution_id: InstitutionId) -> list[OutcomeRecord]:
        """Outcomes an institution recorded for these persons."""


class MonitoringQueries(Protocol):
    async def report(
        self, partnership: Partnership, period_from: date, period_to: date, today: date
    ) -> MonitoringReport:
        """The figures, computed by the database."""


class AuditLog(Protocol):
    async def record(self, record: AuditRecord) -> None:
        """Append one record in the current transaction."""

    async def record_many(self, records: Sequence[AuditRecord]) -> None:
        """Append records in the current transaction, in one statement."""

    async def for_subject(self, subject_id: object) -> list[AuditRecord]:
        """Records about one subject, oldest first."""

    async def search(self, where: AuditFilter, page: PageRequest) -> Page[AuditRecord]:
        """Records the filter shows, ordered by (occurred_at, id); the page position is that pair."""


class ApiClientRepository(Protocol):
    async def add(self, client: ApiClient) -> None:
        """Register a client."""

    async def get(self, client_id: str) -> ApiClient | None:
        """The client, or None."""


class AgreementRepository(Protocol):
    async def add(self, agreement: Agreement) -> None: ...

    async def get(self, agreement_id: AgreementId) -> Agreement | None: ...

    async def update(self, agreement: Agreement, *, expected_version: int) -> None: ...

    async def of_institution(self, institution_id: InstitutionId, page: PageRequest) -> Page[Agreement]:
        """Agreements the institution is a party to, in any state."""

    async def not_ended(self, institution_id: InstitutionId) -> list[Agreement]:
        """Agreements the institution is a party to that nobody has ended: the access policy checks the rest."""


class ConsentRepository(Protocol):
    async def add(self, consent: Consent) -> None: ...

    async def get(self, consent_id: ConsentId) -> Consent | None: ...

    async def update(self, consent: Consent, *, expected_version: int) -> None: ...

    async def of_persons(self, person_ids: Sequence[PersonId]) -> list[Consent]:
        """Every consent of these persons, withdrawn or not, oldest first."""


class RateLimits(Protocol):
    async def hit(self, bucket: str, window_start: datetime) -> int:
        """Count one request in the bucket's window and answer how many it holds now."""

    async def count(self, bucket: str, window_start: datetime) -> int:
        """How many requests the bucket's window holds, without counting one or waiting on another's count."""


class SharedClientQueries(Protocol):
    async def by_names(self, first_name: str, last_name: str, birth_date: date) -> list[PersonId]:
        """Persons of that birth date whose names match, ignoring case and surrounding spaces."""

    async def active_enrollments(self, person_ids: Sequence[PersonId]) -> list[Enrollment]:
        """Where these persons are served now, at every institution."""


class UnitOfWork(Protocol):
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
    partnerships: PartnershipRepository
    diagnoses: DiagnosisRepository
    contracts: ContractRepository
    records: DeliveryRecords
    monitoring: MonitoringQueries
    services: ServiceRepository
    retention: RetentionQueries
    restricted_records: RestrictedRecordRepository
    agreements: AgreementRepository
    consents: ConsentRepository
    rate_limits: RateLimits
    shared_clients: SharedClientQueries
    source_records: SourceRecordRepository
    person_links: PersonLinks
    person_merges: PersonMergeRepository
    reconciliation: ReconciliationRepository

    async def __aenter__(self) -> Self:
        """Begin a transaction."""

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """End it; anything not committed is rolled back."""

    async def commit(self) -> None:
        """Make the work durable."""


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork:
        """A fresh unit of work."""
