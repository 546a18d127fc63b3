"""SQL adapter of the restricted (Niebieska Karta) records: the only code that reads their table."""

from __future__ import annotations

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.adapters.db.repositories import insert_row, versioned_update
from app.adapters.db.restricted_record_tables import RestrictedRecordRow
from app.domain.ids import FamilyId, InstitutionId, PersonId, RestrictedRecordId
from app.domain.pagination import Page, PageRequest, Position
from app.domain.restricted_records import RestrictedRecord


def _row(record: RestrictedRecord) -> RestrictedRecordRow:
    return RestrictedRecordRow(
        id=record.id,
        team_id=record.team_id,
        form=record.form,
        procedure_date=record.procedure_date,
        person_id=record.person_id,
        family_id=record.family_id,
        note=record.note,
        created_at=record.created_at,
        updated_at=record.updated_at,
        version=record.version,
    )


def _record(row: RestrictedRecordRow) -> RestrictedRecord:
    return RestrictedRecord(
        id=RestrictedRecordId(row.id),
        team_id=InstitutionId(row.team_id),
        form=row.form,
        procedure_date=row.procedure_date,
        person_id=PersonId(row.person_id) if row.person_id else None,
        family_id=FamilyId(row.family_id) if row.family_id else None,
        note=row.note,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
    )


class SqlRestrictedRecordRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, record: RestrictedRecord) -> None:
        await insert_row(self.session, _row(record))

    async def get(self, record_id: RestrictedRecordId) -> RestrictedRecord | None:
        row = await self.session.scalar(select(RestrictedRecordRow).where(RestrictedRecordRow.id == record_id))
        return _record(row) if row else None

    async def update(self, record: RestrictedRecord, *, expected_version: int) -> None:
        # The owning team and the subject are written once; a correction changes the rest.
        await versioned_update(
            self.session,
            RestrictedRecordRow,
            record.id,
            expected_version,
            {
                "form": record.form,
                "procedure_date": record.procedure_date,
                "note": record.note,
                "updated_at": record.updated_at,
                "version": record.version,
            },
        )

    async def list_for_team(
        self, team_id: InstitutionId, page: PageRequest, *, person_id: PersonId | None, family_id: FamilyId | None
    ) -> Page[RestrictedRecord]:
        query = select(RestrictedRecordRow).where(RestrictedRecordRow.team_id == team_id)
        if person_id is not None:
            query = query.where(RestrictedRecordRow.person_id == person_id)
        if family_id is not None:
            query = query.where(RestrictedRecordRow.family_id == family_id)
        order = (RestrictedRecordRow.created_at, RestrictedRecordRow.id)
        if page.after is not None:
            query = query.where(tuple_(*order) > tuple_(page.after.created_at, page.after.id))
        rows = list((await self.session.scalars(query.order_by(*order).limit(page.limit + 1))).all())
        more = len(rows) > page.limit
        rows = rows[: page.limit]
        last = rows[-1] if more and rows else None
        return Page(
            items=[_record(r) for r in rows],
            next_after=Position(created_at=last.created_at, id=last.id) if last else None,
        )
