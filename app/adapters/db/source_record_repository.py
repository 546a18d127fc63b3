"""The source_records table (created by the record imports, migration 0010) behind SourceRecordRepository:
what each institution's system last said about its persons, as reconciliation reads it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.adapters.db.record_sync_tables import SourceRecordRow
from app.domain.ids import InstitutionId, PersonId
from app.domain.record_imports import content_hash
from app.domain.source_records import HOUSEHOLD_REF, SourceRecord


def record_from_row(r: SourceRecordRow) -> SourceRecord:
    payload: dict[str, Any] = json.loads(r.payload)
    return SourceRecord(
        institution_id=InstitutionId(r.institution_id),
        external_ref=r.external_ref,
        person_id=PersonId(r.person_id) if r.person_id else None,
        payload=payload,
        seen_at=r.seen_at,
        changed_at=r.changed_at or r.first_seen_at,
    )


class SqlSourceRecordRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def save(self, record: SourceRecord) -> None:
        payload = dict(record.payload)
        digest = content_hash(payload)
        household = payload.get(HOUSEHOLD_REF)
        row = await self.session.get(SourceRecordRow, (record.institution_id, record.external_ref))
        if row is None:
            self.session.add(
                SourceRecordRow(
                    institution_id=record.institution_id,
                    external_ref=record.external_ref,
                    person_id=record.person_id,
                    household_ref=household if isinstance(household, str) else None,
                    payload=json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
                    content_hash=digest,
                    first_seen_at=record.seen_at,
                    seen_at=record.seen_at,
                    changed_at=record.seen_at,
                )
            )
        else:
            if row.content_hash != digest or row.person_id != record.person_id:
                row.payload = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
                row.content_hash = digest
                row.person_id = record.person_id
                row.household_ref = household if isinstance(household, str) else None
                row.changed_at = record.seen_at
            row.seen_at = record.seen_at
        await self.session.flush()

    async def get(self, institution_id: InstitutionId, external_ref: str) -> SourceRecord | None:
        row = await self.session.get(SourceRecordRow, (institution_id, external_ref))
        return record_from_row(row) if row else None

    async def for_persons(self, person_ids: Sequence[PersonId]) -> list[SourceRecord]:
        if not person_ids:
            return []
        rows = await self.session.scalars(
            select(SourceRecordRow)
            .where(SourceRecordRow.person_id.in_(person_ids))
            .order_by(SourceRecordRow.institution_id, SourceRecordRow.external_ref)
        )
        return [record_from_row(r) for r in rows]

    async def for_institution(
        self, institution_id: InstitutionId, *, after_ref: str | None = None, limit: int = 200
    ) -> list[SourceRecord]:
        query = select(SourceRecordRow).where(SourceRecordRow.institution_id == institution_id)
        if after_ref is not None:
            query = query.where(SourceRecordRow.external_ref > after_ref)
        rows = await self.session.scalars(query.order_by(SourceRecordRow.external_ref).limit(limit))
        return [record_from_row(r) for r in rows]
