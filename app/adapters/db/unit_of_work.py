"""The SQL unit of work: one session, one transaction, repositories sharing it."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.adapters.db.directory_repository import SqlServiceRepository
from app.adapters.db.event_store import SqlDeliveryLog, SqlEventFeed, SqlOutbox, SqlSubscriptionRepository
from app.adapters.db.family_work_repository import (
    SqlContractRepository,
    SqlDeliveryRecords,
    SqlDiagnosisRepository,
    SqlPartnershipRepository,
)
from app.adapters.db.monitoring_queries import SqlMonitoringQueries
from app.adapters.db.referral_repository import SqlReferralRepository
from app.adapters.db.repositories import (
    SqlApiClientRepository,
    SqlAuditLog,
    SqlEnrollmentRepository,
    SqlFamilyRepository,
    SqlInstitutionRepository,
    SqlPersonRepository,
    SqlWorkerRepository,
)
from app.domain.directory import ServiceRepository
from app.domain.ports import (
    ApiClientRepository,
    AuditLog,
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
    ReferralRepository,
    SubscriptionRepository,
    WorkerRepository,
)


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

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def __aenter__(self) -> Self:
        self.session = self._sessions()
        self.institutions = SqlInstitutionRepository(self.session)
        self.workers = SqlWorkerRepository(self.session)
        self.persons = SqlPersonRepository(self.session)
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
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._sessions)
