"""The SQL unit of work: one session, one transaction, repositories sharing it."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.adapters.crypto.vault import PersonalDataVault
from app.adapters.db.audit_log import SqlAuditLog
from app.adapters.db.directory_repository import SqlServiceRepository
from app.adapters.db.event_store import SqlDeliveryLog, SqlEventFeed, SqlOutbox, SqlSubscriptionRepository
from app.adapters.db.family_work_repository import (
    SqlContractRepository,
    SqlDeliveryRecords,
    SqlDiagnosisRepository,
    SqlPartnershipRepository,
)
from app.adapters.db.monitoring_queries import SqlMonitoringQueries
from app.adapters.db.person_links import SqlPersonLinks
from app.adapters.db.person_merge_repository import SqlPersonMergeRepository
from app.adapters.db.reconciliation_repository import SqlReconciliationRepository
from app.adapters.db.referral_repository import SqlReferralRepository
from app.adapters.db.repositories import (
    SqlApiClientRepository,
    SqlEnrollmentRepository,
    SqlFamilyRepository,
    SqlInstitutionRepository,
    SqlPersonRepository,
    SqlWorkerRepository,
)
from app.adapters.db.restricted_record_repository import SqlRestrictedRecordRepository
from app.adapters.db.retention_queries import SqlRetentionQueries
from app.adapters.db.sharing_repository import (
    SqlAgreementRepository,
    SqlConsentRepository,
    SqlRateLimits,
    SqlSharedClientQueries,
)
from app.adapters.db.source_record_repository import SqlSourceRecordRepository
from app.domain.directory import ServiceRepository
from app.domain.person_merges import PersonLinks, PersonMergeRepository
from app.domain.ports import (
    AgreementRepository,
    ApiClientRepository,
    AuditLog,
    ConsentRepository,
    ContractRepository,
    DeliveryLog,
    DeliveryRecords,
    DiagnosisRepository,
    EnrollmentRepository,
    EventFeed,
    FamilyRepository,
    InstitutionRepository,
    MonitoringQueries,
    Outbox,
    PartnershipRepository,
    PersonRepository,
    RateLimits,
    ReferralRepository,
    SharedClientQueries,
    SubscriptionRepository,
    WorkerRepository,
)
from app.domain.reconciliation import ReconciliationRepository
from app.domain.restricted_records import RestrictedRecordRepository
from app.domain.retention import RetentionQueries
from app.domain.source_records import SourceRecordRepository


class SqlUnitOfWork:
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

    def __init__(self, sessions: async_sessionmaker[AsyncSession], vault: PersonalDataVault) -> None:
        self._sessions = sessions
        self._vault = vault

    async def __aenter__(self) -> Self:
        self.session = self._sessions()
        self.institutions = SqlInstitutionRepository(self.session)
        self.workers = SqlWorkerRepository(self.session)
        self.persons = SqlPersonRepository(self.session, self._vault)
        self.enrollments = SqlEnrollmentRepository(self.session)
        self.families = SqlFamilyRepository(self.session)
        self.audit = SqlAuditLog(self.session)
        self.api_clients = SqlApiClientRepository(self.session)
        self.referrals = SqlReferralRepository(self.session)
        self.outbox = SqlOutbox(self.session)
        self.feed = SqlEventFeed(self.session)
        self.subscriptions = SqlSubscriptionRepository(self.session)
        self.deliveries = SqlDeliveryLog(self.session)
        self.partnerships = SqlPartnershipRepository(self.session)
        self.diagnoses = SqlDiagnosisRepository(self.session)
        self.contracts = SqlContractRepository(self.session)
        self.records = SqlDeliveryRecords(self.session)
        self.monitoring = SqlMonitoringQueries(self.session)
        self.services = SqlServiceRepository(self.session)
        self.retention = SqlRetentionQueries(self.session)
        self.restricted_records = SqlRestrictedRecordRepository(self.session)
        self.agreements = SqlAgreementRepository(self.session)
        self.consents = SqlConsentRepository(self.session)
        self.rate_limits = SqlRateLimits(self.session)
        self.shared_clients = SqlSharedClientQueries(self.session)
        self.source_records = SqlSourceRecordRepository(self.session)
        self.person_links = SqlPersonLinks(self.session)
        self.person_merges = SqlPersonMergeRepository(self.session)
        self.reconciliation = SqlReconciliationRepository(self.session)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # Whatever was not committed explicitly is rolled back: leaving early loses nothing half-done.
        await self.session.rollback()
        await self.session.close()

    async def commit(self) -> None:
        await self.session.commit()


class SqlUnitOfWorkFactory:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], vault: PersonalDataVault) -> None:
        self._sessions = sessions
        self._vault = vault

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._sessions, self._vault)
