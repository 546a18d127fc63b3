"""The person_merges table behind PersonMergeRepository: a merge with the changes it made, as JSON."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.adapters.db.person_merge_tables import PersonMergeRow
from app.adapters.db.repositories import insert_row, versioned_update
from app.domain.ids import InstitutionId, PersonId, PersonMergeId, WorkerId
from app.domain.person_merges import IdentityMove, LinkChange, LinkOp, MergeState, PersonMerge
from app.domain.values import Sex


def _changes_to_json(changes: list[LinkChange]) -> str:
    return json.dumps(
        [
            {
                "op": c.op.value,
                "table": c.table,
                "column": c.column,
                "key": dict(c.key),
                "before": dict(c.before),
                "after": dict(c.after),
            }
            for c in changes
        ],
        separators=(",", ":"),
    )


def _changes_from_json(text: str) -> list[LinkChange]:
    raw: list[dict[str, Any]] = json.loads(text)
    return [
        LinkChange(
            op=LinkOp(c["op"]),
            table=c["table"],
            column=c["column"],
            key=c["key"],
            before=c.get("before", {}),
            after=c.get("after", {}),
        )
        for c in raw
    ]


def merge_to_row(m: PersonMerge) -> PersonMergeRow:
    return PersonMergeRow(
        id=m.id,
        kept_person_id=m.kept_person_id,
        merged_person_id=m.merged_person_id,
        institution_id=m.institution_id,
        actor=m.actor,
        worker_id=m.worker_id,
        reason=m.reason,
        merged_at=m.merged_at,
        changes=_changes_to_json(list(m.changes)),
        pesel_moved=m.identity.pesel,
        document_moved=m.identity.identity_document,
        kept_sex_before=m.identity.kept_sex_before.value if m.identity.kept_sex_before else None,
        state=m.state.value,
        undone_at=m.undone_at,
        undone_by=m.undone_by,
        undo_note=m.undo_note,
        version=m.version,
    )


def merge_from_row(r: PersonMergeRow) -> PersonMerge:
    return PersonMerge(
        id=PersonMergeId(r.id),
        kept_person_id=PersonId(r.kept_person_id),
        merged_person_id=PersonId(r.merged_person_id),
        institution_id=InstitutionId(r.institution_id),
        actor=r.actor,
        worker_id=WorkerId(r.worker_id) if r.worker_id else None,
        reason=r.reason,
        merged_at=r.merged_at,
        changes=_changes_from_json(r.changes),
        identity=IdentityMove(
            pesel=r.pesel_moved,
            identity_document=r.document_moved,
            kept_sex_before=Sex(r.kept_sex_before) if r.kept_sex_before else None,
        ),
        state=MergeState(r.state),
        undone_at=r.undone_at,
        undone_by=r.undone_by,
        undo_note=r.undo_note,
        version=r.version,
    )


class SqlPersonMergeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, merge: PersonMerge) -> None:
        await insert_row(self.session, merge_to_row(merge))

    async def get(self, merge_id: PersonMergeId) -> PersonMerge | None:
        row = await self.session.scalar(select(PersonMergeRow).where(PersonMergeRow.id == merge_id))
        return merge_from_row(row) if row else None

    async def update(self, merge: PersonMerge, *, expected_version: int) -> None:
        await versioned_update(
            self.session,
            PersonMergeRow,
            merge.id,
            expected_version,
            {
                "state": merge.state.value,
                "undone_at": merge.undone_at,
                "undone_by": merge.undone_by,
                "undo_note": merge.undo_note,
                "version": merge.version,
            },
        )

    async def merged_into(self, person_id: PersonId) -> list[PersonMerge]:
        rows = await self.session.scalars(
            select(PersonMergeRow)
            .where(PersonMergeRow.kept_person_id == person_id, PersonMergeRow.state == MergeState.MERGED.value)
            .order_by(PersonMergeRow.merged_at, PersonMergeRow.id)
        )
        return [merge_from_row(r) for r in rows]
