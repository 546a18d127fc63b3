"""The SQL side of file batches: source records and households, import batches, and the bulk reads and writes
an import of many rows needs. On PostgreSQL new rows go in by COPY (asyncpg), elsewhere by executemany; either
way inside the unit of work's transaction.

One record at a time, as reconciliation reads them, is SqlSourceRecordRepository (source_record_repository.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, Self, TypeVar
from uuid import UUID

import asyncpg
from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.adapters.crypto.vault import PersonalDataVault, person_pesel_context
from app.adapters.db import mapping
from app.adapters.db.audit_log import encode_categories
from app.adapters.db.engine import make_session_factory
from app.adapters.db.family_work_repository import SqlContractRepository
from app.adapters.db.family_work_tables import ContractPartyRow
from app.adapters.db.partner_store import insert_ignore
from app.adapters.db.record_sync_tables import (
    ImportBatchRow,
    ImportRejectRow,
    SourceHouseholdRow,
    SourceRecordRow,
    SyncCursorRow,
)
from app.adapters.db.tables import AuditEventRow, EnrollmentRow, FamilyRow, MembershipRow, PersonRow
from app.adapters.db.unit_of_work import SqlUnitOfWork
from app.domain.audit import AuditRecord
from app.domain.errors import Conflict, DuplicateRecord
from app.domain.families import Family
from app.domain.ids import ContractActionId, ContractId, FamilyId, InstitutionId, PersonId
from app.domain.persons import Enrollment, Person
from app.domain.record_imports import (
    BatchStatus,
    BulkRecords,
    ExportQueries,
    ImportBatch,
    ImportBatches,
    ImportBatchId,
    ImportCounts,
    ImportMode,
    Reject,
    SourceHouseholdRecord,
    SourceRecords,
    SyncCursors,
    SyncStream,
    content_hash,
)
from app.domain.record_systems import ContractActionSummary
from app.domain.source_records import SourceRecord
from app.domain.values import Pesel

CHUNK = 5000  # values in one IN (...): well under the drivers' limit on bound parameters
ANALYZE_AFTER = 5000  # rows copied into a table at once
T = TypeVar("T")


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def bulk_insert(session: AsyncSession, table: Any, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Many rows into one table: COPY on PostgreSQL, executemany elsewhere; DuplicateRecord on a unique clash."""
    values = list(rows)
    if not values:
        return
    target: Table = table.__table__
    await session.flush()
    connection = await session.connection()
    try:
        if connection.dialect.name == "postgresql":
            raw = await connection.get_raw_connection()
            driver: Any = raw.driver_connection
            await driver.copy_records_to_table(target.name, records=values, columns=list(columns))
            if len(values) >= ANALYZE_AFTER:
                # Fresh statistics, or the next import's lookups by thousands of keys scan the table per key.
                await driver.execute(f'ANALYZE "{target.name}"')
        else:
            await session.execute(insert(target), [dict(zip(columns, v, strict=True)) for v in values])
    except (IntegrityError, asyncpg.UniqueViolationError) as error:
        raise DuplicateRecord("a record with the same unique identity already exists") from error


def _record_from_row(r: SourceRecordRow) -> SourceRecord:
    return SourceRecord(
        institution_id=InstitutionId(r.institution_id),
        external_ref=r.external_ref,
        person_id=PersonId(r.person_id) if r.person_id else None,
        payload=json.loads(r.payload),
        seen_at=r.seen_at,
        changed_at=r.changed_at,
    )


def _household_ref(payload: Any) -> str | None:
    value = payload.get("household_ref")
    return value if isinstance(value, str) and value else None


def _payload_json(record: SourceRecord) -> str:
    """The canonical form: its SHA-256 is `content_hash(payload)`."""
    return json.dumps(record.payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


_RECORD_COLUMNS = (
    "institution_id",
    "external_ref",
    "person_id",
    "household_ref",
    "payload",
    "content_hash",
    "first_seen_at",
    "seen_at",
    "changed_at",
    "last_batch_id",
)


class SqlSourceRecords:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_refs(self, institution_id: InstitutionId, refs: Sequence[str]) -> dict[str, SourceRecord]:
        found: dict[str, SourceRecord] = {}
        for part in chunks(list(dict.fromkeys(refs))):
            table = SourceRecordRow.__table__
            rows = await self.session.execute(
                select(table).where(table.c.institution_id == institution_id, table.c.external_ref.in_(part))
            )
            found |= {r.external_ref: _record_from_row(r) for r in rows}
        return found

    async def refs_of_persons(self, institution_id: InstitutionId, ids: Sequence[PersonId]) -> dict[PersonId, str]:
        found: dict[PersonId, str] = {}
        for part in chunks(list(dict.fromkeys(ids))):
            rows = await self.session.execute(
                select(SourceRecordRow.person_id, SourceRecordRow.external_ref).where(
                    SourceRecordRow.institution_id == institution_id, SourceRecordRow.person_id.in_(part)
                )
            )
            found |= {PersonId(person_id): ref for person_id, ref in rows}
        return found

    async def add(self, records: Sequence[SourceRecord], batch: ImportBatchId | None) -> None:
        def row(r: SourceRecord) -> tuple[Any, ...]:
            text = _payload_json(r)
            return (
                r.institution_id,
                r.external_ref,
                r.person_id,
                _household_ref(r.payload),
                text,
                hashlib.sha256(text.encode()).hexdigest(),
                r.seen_at,
                r.seen_at,
                r.changed_at,
                batch,
            )

        await bulk_insert(self.session, SourceRecordRow, _RECORD_COLUMNS, (row(r) for r in records))

    async def replace(self, records: Sequence[SourceRecord], batch: ImportBatchId | None) -> None:
        if not records:
            return
        table = SourceRecordRow.__table__
        await self.session.execute(
            update(table)
            .where(table.c.institution_id == _bound("k_institution"), table.c.external_ref == _bound("k_ref"))
            .values(
                person_id=_bound("person_id"),
                household_ref=_bound("household_ref"),
                payload=_bound("payload"),
                content_hash=_bound("content_hash"),
                seen_at=_bound("seen_at"),
                changed_at=_bound("changed_at"),
                last_batch_id=_bound("last_batch_id"),
            ),
            [
                {
                    "k_institution": r.institution_id,
                    "k_ref": r.external_ref,
                    "person_id": r.person_id,
                    "household_ref": _household_ref(r.payload),
                    "payload": _payload_json(r),
                    "content_hash": content_hash(r.payload),
                    "seen_at": r.seen_at,
                    "changed_at": r.changed_at or r.seen_at,
                    "last_batch_id": batch,
                }
                for r in records
            ],
            execution_options={"synchronize_session": False},
        )

    async def seen(
        self, institution_id: InstitutionId, refs: Sequence[str], at: datetime, batch: ImportBatchId
    ) -> None:
        for part in chunks(list(refs)):
            await self.session.execute(
                update(SourceRecordRow)
                .where(SourceRecordRow.institution_id == institution_id, SourceRecordRow.external_ref.in_(part))
                .values(seen_at=at, last_batch_id=batch)
                .execution_options(synchronize_session=False)
            )

    async def households_of_refs(
        self, institution_id: InstitutionId, refs: Sequence[str]
    ) -> dict[str, SourceHouseholdRecord]:
        found: dict[str, SourceHouseholdRecord] = {}
        for part in chunks(list(dict.fromkeys(refs))):
            rows = await self.session.scalars(
                select(SourceHouseholdRow).where(
                    SourceHouseholdRow.institution_id == institution_id, SourceHouseholdRow.external_ref.in_(part)
                )
            )
            for r in rows:
                found[r.external_ref] = SourceHouseholdRecord(
                    institution_id=InstitutionId(r.institution_id),
                    external_ref=r.external_ref,
                    family_id=FamilyId(r.family_id),
                    members=tuple((PersonId(UUID(p)), role) for p, role in json.loads(r.members)),
                    seen_at=r.seen_at,
                )
        return found

    @staticmethod
    def _members(record: SourceHouseholdRecord) -> str:
        return json.dumps([[str(p), role] for p, role in record.members])

    async def add_households(self, records: Sequence[SourceHouseholdRecord], batch: ImportBatchId) -> None:
        columns = (
            "institution_id",
            "external_ref",
            "family_id",
            "members",
            "first_seen_at",
            "seen_at",
            "last_batch_id",
        )
        rows = (
            (r.institution_id, r.external_ref, r.family_id, self._members(r), r.seen_at, r.seen_at, batch)
            for r in records
        )
        await bulk_insert(self.session, SourceHouseholdRow, columns, rows)

    async def replace_households(self, records: Sequence[SourceHouseholdRecord], batch: ImportBatchId) -> None:
        for r in records:
            await self.session.execute(
                update(SourceHouseholdRow)
                .where(
                    SourceHouseholdRow.institution_id == r.institution_id,
                    SourceHouseholdRow.external_ref == r.external_ref,
                )
                .values(members=self._members(r), seen_at=r.seen_at, changed_at=r.seen_at, last_batch_id=batch)
                .execution_options(synchronize_session=False)
            )

    async def households_seen(
        self, institution_id: InstitutionId, refs: Sequence[str], at: datetime, batch: ImportBatchId
    ) -> None:
        for part in chunks(list(refs)):
            await self.session.execute(
                update(SourceHouseholdRow)
                .where(SourceHouseholdRow.institution_id == institution_id, SourceHouseholdRow.external_ref.in_(part))
                .values(seen_at=at, last_batch_id=batch)
                .execution_options(synchronize_session=False)
            )


def _bound(name: str) -> Any:
    return bindparam(name)


class SqlSyncCursors:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, institution_id: InstitutionId, stream: SyncStream) -> str | None:
        row = await self.session.get(SyncCursorRow, (institution_id, stream.value))
        return row.cursor if row is not None else None

    async def advance(
        self, institution_id: InstitutionId, stream: SyncStream, since: str | None, to: str | None, at: datetime
    ) -> None:
        table: Any = SyncCursorRow.__table__
        moved = await self.session.execute(
            update(table)
            .where(
                table.c.institution_id == institution_id,
                table.c.stream == stream.value,
                table.c.cursor.is_not_distinct_from(since),
            )
            .values(cursor=to, updated_at=at)
        )
        if moved.rowcount == 1:
            return
        first = {"institution_id": institution_id, "stream": stream.value, "cursor": to, "updated_at": at}
        if since is not None or await insert_ignore(self.session, table, [first], ["institution_id", "stream"]) != 1:
            raise Conflict("another pull moved the cursor meanwhile: nothing of this one was kept; pull again")


class SqlImportBatches:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, batch: ImportBatch) -> None:
        c = batch.counts
        self.session.add(
            ImportBatchRow(
                id=batch.id,
                institution_id=batch.institution_id,
                profile=batch.profile,
                profile_version=batch.profile_version,
                file_name=batch.file_name[:255],
                sha256=batch.sha256,
                mode=batch.mode.value,
                status=batch.status.value,
                actor=batch.actor[:255],
                rows_read=c.rows_read,
                created=c.created,
                enrolled=c.enrolled,
                updated=c.updated,
                unchanged=c.unchanged,
                rejected=c.rejected,
                families_created=c.families_created,
                created_at=batch.created_at,
            )
        )
        await self.session.flush()
        columns = ("batch_id", "position", "line", "field", "reason", "external_ref")
        rows = (
            (batch.id, i, r.line, r.field[:60], r.reason, (r.external_ref or "")[:100] or None)
            for i, r in enumerate(batch.rejects)
        )
        await bulk_insert(self.session, ImportRejectRow, columns, rows)

    async def get(self, batch_id: ImportBatchId) -> ImportBatch | None:
        row = await self.session.get(ImportBatchRow, batch_id)
        if row is None:
            return None
        rejects = await self.session.scalars(
            select(ImportRejectRow).where(ImportRejectRow.batch_id == batch_id).order_by(ImportRejectRow.position)
        )
        return ImportBatch(
            id=ImportBatchId(row.id),
            institution_id=InstitutionId(row.institution_id),
            profile=row.profile,
            profile_version=row.profile_version,
            file_name=row.file_name,
            sha256=row.sha256,
            mode=ImportMode(row.mode),
            status=BatchStatus(row.status),
            counts=ImportCounts(
                rows_read=row.rows_read,
                created=row.created,
                enrolled=row.enrolled,
                updated=row.updated,
                unchanged=row.unchanged,
                rejected=row.rejected,
                families_created=row.families_created,
            ),
            actor=row.actor,
            created_at=row.created_at,
            rejects=[Reject(line=r.line, field=r.field, reason=r.reason, external_ref=r.external_ref) for r in rejects],
        )


_PERSON_COLUMNS = (
    "id",
    "first_name",
    "last_name",
    "birth_date",
    "sex",
    "pesel_hash",
    "pesel_sealed",
    "id_doc_kind",
    "id_doc_number",
    "id_doc_country",
    "created_at",
    "updated_at",
    "version",
)
_ENROLLMENT_COLUMNS = (
    "id",
    "person_id",
    "institution_id",
    "status",
    "since",
    "until",
    "worker_id",
    "external_ref",
    "created_at",
    "updated_at",
    "version",
)
_AUDIT_COLUMNS = (
    "id",
    "occurred_at",
    "actor",
    "actor_worker_id",
    "institution_id",
    "action",
    "subject_type",
    "subject_id",
    "request_id",
    "purpose",
    "categories",
    "decision",
    "reason",
)


class SqlBulkRecords:
    def __init__(self, session: AsyncSession, vault: PersonalDataVault) -> None:
        self.session = session
        self.vault = vault

    async def persons(self, ids: Sequence[PersonId]) -> dict[PersonId, Person]:
        found: dict[PersonId, Person] = {}
        for part in chunks(list(dict.fromkeys(ids))):
            rows = await self.session.execute(select(PersonRow.__table__).where(PersonRow.id.in_(part)))
            found |= {PersonId(r.id): mapping.person_from_row(r, self.vault) for r in rows}
        return found

    async def persons_by_pesel(self, pesels: Sequence[Pesel]) -> dict[Pesel, Person]:
        # Every key's index: while a new HMAC key is rolled out, rows not yet re-hashed are still found.
        wanted = {index: pesel for pesel in dict.fromkeys(pesels) for index in self.vault.blind_indexes(pesel.value)}
        found: dict[Pesel, Person] = {}
        for part in chunks(list(wanted)):
            rows = await self.session.execute(select(PersonRow.__table__).where(PersonRow.pesel_hash.in_(part)))
            for r in rows:
                found[wanted[str(r.pesel_hash)]] = mapping.person_from_row(r, self.vault)
        return found

    async def open_enrollments(
        self, institution_id: InstitutionId, ids: Sequence[PersonId]
    ) -> dict[PersonId, Enrollment]:
        found: dict[PersonId, Enrollment] = {}
        for part in chunks(list(dict.fromkeys(ids))):
            rows = await self.session.execute(
                select(EnrollmentRow.__table__).where(
                    EnrollmentRow.institution_id == institution_id,
                    EnrollmentRow.person_id.in_(part),
                    EnrollmentRow.until.is_(None),
                )
            )
            found |= {PersonId(r.person_id): mapping.enrollment_from_row(r) for r in rows}
        return found

    async def add_persons(self, persons: Sequence[Person]) -> None:
        def row(p: Person) -> tuple[Any, ...]:
            doc = p.identity_document
            pesel = p.pesel.value if p.pesel else None
            return (
                p.id,
                p.first_name,
                p.last_name,
                p.birth_date,
                p.sex.value if p.sex else None,
                self.vault.blind_index(pesel) if pesel else None,
                self.vault.seal(pesel, context=person_pesel_context(p.id)) if pesel else None,
                doc.kind if doc else None,
                doc.number if doc else None,
                doc.country if doc else None,
                p.created_at,
                p.updated_at,
                p.version,
            )

        await bulk_insert(self.session, PersonRow, _PERSON_COLUMNS, (row(p) for p in persons))

    async def add_enrollments(self, enrollments: Sequence[Enrollment]) -> None:
        rows = (
            (
                e.id,
                e.person_id,
                e.institution_id,
                e.status,
                e.since,
                e.until,
                e.worker_id,
                e.external_ref,
                e.created_at,
                e.updated_at,
                e.version,
            )
            for e in enrollments
        )
        await bulk_insert(self.session, EnrollmentRow, _ENROLLMENT_COLUMNS, rows)

    async def add_families(self, families: Sequence[Family]) -> None:
        family_columns = ("id", "name", "teryt", "created_by", "created_at", "updated_at", "version")
        await bulk_insert(
            self.session,
            FamilyRow,
            family_columns,
            (
                (f.id, f.name, f.teryt.value if f.teryt else None, f.created_by, f.created_at, f.updated_at, f.version)
                for f in families
            ),
        )
        member_columns = ("id", "family_id", "person_id", "role", "since", "recorded_at", "until", "end_reason")
        await bulk_insert(
            self.session,
            MembershipRow,
            member_columns,
            (
                (m.id, m.family_id, m.person_id, m.role, m.since, m.recorded_at, m.until, m.end_reason)
                for f in families
                for m in f.memberships
            ),
        )

    async def record_audit(self, records: Sequence[AuditRecord]) -> None:
        rows = (
            (
                a.id,
                a.occurred_at,
                a.actor,
                a.actor_worker_id,
                a.institution_id,
                a.action.value,
                a.subject_type.value,
                a.subject_id,
                a.request_id,
                a.purpose,
                encode_categories(a.categories),
                a.decision.value,
                a.reason,
            )
            for a in records
        )
        await bulk_insert(self.session, AuditEventRow, _AUDIT_COLUMNS, rows)


class SqlExportQueries:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def contract_actions_of(self, institution_id: InstitutionId) -> list[ContractActionSummary]:
        ids = await self.session.scalars(
            select(ContractPartyRow.contract_id)
            .where(ContractPartyRow.institution_id == institution_id)
            .order_by(ContractPartyRow.contract_id)
        )
        contracts = SqlContractRepository(self.session)
        found: list[ContractActionSummary] = []
        for contract_id in list(ids):
            contract = await contracts.get(ContractId(contract_id))
            if contract is None:
                continue
            for action in contract.terms.actions:
                if action.responsible != str(institution_id):
                    continue
                found.append(
                    ContractActionSummary(
                        contract_id=contract.id,
                        action=action.description,
                        responsible_institution_id=institution_id,
                        due=action.due,
                        person_ids=tuple(action.member_ids),
                        action_id=ContractActionId(action.id),
                        status=action.status,
                        instrument_code_list=action.instrument.code_list if action.instrument else None,
                        instrument_code=action.instrument.code if action.instrument else None,
                    )
                )
        return found


class SqlRecordImportUnitOfWork(SqlUnitOfWork):
    """The unit of work of imports: the usual repositories, plus source records, batches and bulk rows."""

    sources: SourceRecords
    batches: ImportBatches
    cursors: SyncCursors
    bulk: BulkRecords
    exports: ExportQueries

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.sources = SqlSourceRecords(self.session)
        self.batches = SqlImportBatches(self.session)
        self.cursors = SqlSyncCursors(self.session)
        self.bulk = SqlBulkRecords(self.session, self._vault)
        self.exports = SqlExportQueries(self.session)
        return self


class SqlRecordImportStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], vault: PersonalDataVault) -> None:
        self._sessions = sessions
        self._vault = vault

    @classmethod
    def over(cls, engine: AsyncEngine, vault: PersonalDataVault) -> SqlRecordImportStore:
        return cls(make_session_factory(engine), vault)

    def __call__(self) -> SqlRecordImportUnitOfWork:
        return SqlRecordImportUnitOfWork(self._sessions, self._vault)
