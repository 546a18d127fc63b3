"""Reconciliation's tables behind ReconciliationRepository: the differences once reported and their resolutions,
and which of an institution's persons any source has spoken of."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import exists, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.adapters.db.person_merge_tables import ReconciliationDifferenceRow, ReconciliationResolutionRow
from app.adapters.db.record_sync_tables import SourceRecordRow
from app.adapters.db.repositories import _person_visible
from app.adapters.db.tables import PersonRow
from app.domain.ids import DifferenceId, InstitutionId, PersonId, ResolutionId, WorkerId
from app.domain.pagination import Position
from app.domain.reconciliation import Compared, Difference, Resolution


def _resolution_from_row(r: ReconciliationResolutionRow) -> Resolution:
    return Resolution(
        id=ResolutionId(r.id),
        difference_id=DifferenceId(r.difference_id),
        institution_id=InstitutionId(r.institution_id),
        chosen_key=r.chosen_key,
        chosen_value=json.loads(r.chosen_value),
        fingerprint=r.fingerprint,
        note=r.note,
        actor=r.actor,
        worker_id=WorkerId(r.worker_id) if r.worker_id else None,
        resolved_at=r.resolved_at,
    )


class SqlReconciliationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def subjects(
        self, institution_id: InstitutionId, *, after: Position | None, limit: int
    ) -> list[tuple[PersonId, Position]]:
        query = select(PersonRow.id, PersonRow.created_at).where(
            exists().where(SourceRecordRow.person_id == PersonRow.id),
            _person_visible(institution_id, PersonRow.id),
        )
        order = (PersonRow.created_at, PersonRow.id)
        if after is not None:
            query = query.where(tuple_(*order) > tuple_(after.created_at, after.id))
        rows = await self.session.execute(query.order_by(*order).limit(limit))
        return [(PersonId(i), Position(created_at=at, id=i)) for i, at in rows]

    async def note(self, differences: Sequence[Difference], at: datetime) -> None:
        values = [{"id": d.id, "person_id": d.person_id, "field": d.field.value, "noted_at": at} for d in differences]
        if not values:
            return
        insert = pg_insert if self.session.bind.dialect.name == "postgresql" else sqlite_insert
        table = ReconciliationDifferenceRow.__table__
        await self.session.execute(insert(table).values(values).on_conflict_do_nothing(index_elements=["id"]))

    async def noted(self, difference_id: DifferenceId) -> tuple[PersonId, Compared] | None:
        row = await self.session.scalar(
            select(ReconciliationDifferenceRow).where(ReconciliationDifferenceRow.id == difference_id)
        )
        return (PersonId(row.person_id), Compared(row.field)) if row else None

    async def resolutions(
        self, institution_id: InstitutionId, ids: Sequence[DifferenceId]
    ) -> dict[DifferenceId, Resolution]:
        if not ids:
            return {}
        r = ReconciliationResolutionRow
        latest = (
            select(r.difference_id, func.max(r.resolved_at).label("at"))
            .where(r.institution_id == institution_id, r.difference_id.in_(ids))
            .group_by(r.difference_id)
            .subquery()
        )
        rows = await self.session.scalars(
            select(r)
            .join(latest, (r.difference_id == latest.c.difference_id) & (r.resolved_at == latest.c.at))
            .where(r.institution_id == institution_id)
            .order_by(r.resolved_at, r.id)
        )
        return {DifferenceId(row.difference_id): _resolution_from_row(row) for row in rows}

    async def add_resolution(self, resolution: Resolution) -> None:
        self.session.add(
            ReconciliationResolutionRow(
                id=resolution.id,
                difference_id=resolution.difference_id,
                institution_id=resolution.institution_id,
                chosen_key=resolution.chosen_key,
                chosen_value=json.dumps(resolution.chosen_value, separators=(",", ":")),
                fingerprint=resolution.fingerprint,
                note=resolution.note,
                actor=resolution.actor,
                worker_id=resolution.worker_id,
                resolved_at=resolution.resolved_at,
            )
        )
        await self.session.flush()
