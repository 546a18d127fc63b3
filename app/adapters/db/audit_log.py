"""The audit log behind the AuditLog port: records are inserted unsealed, in the caller's transaction.

Recording writes no hash and reads nothing, so writers never wait for each other; the sealer
(audit_chain.py) chains what they committed, batch by batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, false, insert, literal, not_, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.adapters.db.tables import AuditEventRow, InstitutionRow
from app.domain.audit import AuditAction, AuditFilter, AuditRecord, Decision, Hidden, SubjectType
from app.domain.data_categories import DataCategory
from app.domain.ids import AuditEventId, InstitutionId, WorkerId
from app.domain.pagination import Page, PageRequest, Position


def encode_categories(categories: tuple[DataCategory, ...]) -> str:
    return ",".join(dict.fromkeys(c.value for c in categories))


def decode_categories(stored: str) -> tuple[DataCategory, ...]:
    return tuple(DataCategory(c) for c in stored.split(",") if c)


def audit_to_row(a: AuditRecord) -> AuditEventRow:
    return AuditEventRow(
        id=a.id,
        occurred_at=a.occurred_at,
        actor=a.actor,
        actor_worker_id=a.actor_worker_id,
        institution_id=a.institution_id,
        action=a.action.value,
        subject_type=a.subject_type.value,
        subject_id=a.subject_id,
        request_id=a.request_id,
        purpose=a.purpose,
        categories=encode_categories(a.categories),
        decision=a.decision.value,
        reason=a.reason,
    )


def audit_from_row(r: AuditEventRow) -> AuditRecord:
    return AuditRecord(
        id=AuditEventId(r.id),
        occurred_at=r.occurred_at,
        actor=r.actor,
        actor_worker_id=WorkerId(r.actor_worker_id) if r.actor_worker_id else None,
        institution_id=InstitutionId(r.institution_id),
        action=AuditAction(r.action),
        subject_type=SubjectType(r.subject_type),
        subject_id=r.subject_id,
        request_id=r.request_id,
        purpose=r.purpose,
        categories=decode_categories(r.categories),
        decision=Decision(r.decision),
        reason=r.reason,
    )


def _restricted(hidden: Hidden) -> ColumnElement[bool]:
    # Commas around the stored list, so that a category is matched whole, never as part of another.
    listed = literal(",").concat(AuditEventRow.categories).concat(",")
    conditions: list[ColumnElement[bool]] = [
        listed.contains(f",{c.value},", autoescape=True) for c in sorted(hidden.categories)
    ]
    if hidden.institution_types:
        conditions.append(
            AuditEventRow.institution_id.in_(
                select(InstitutionRow.id).where(InstitutionRow.type.in_(sorted(hidden.institution_types)))
            )
        )
    return or_(false(), *conditions)


def _conditions(where: AuditFilter) -> list[Any]:
    found: list[Any] = []
    if where.institution_id is not None:
        found.append(AuditEventRow.institution_id == where.institution_id)
    if where.subject_id is not None:
        found.append(AuditEventRow.subject_id == where.subject_id)
    if where.actor is not None:
        found.append(AuditEventRow.actor == where.actor)
    if where.action is not None:
        found.append(AuditEventRow.action == where.action.value)
    if where.decision is not None:
        found.append(AuditEventRow.decision == where.decision.value)
    if where.occurred_from is not None:
        found.append(AuditEventRow.occurred_at >= where.occurred_from)
    if where.occurred_to is not None:
        found.append(AuditEventRow.occurred_at < where.occurred_to)
    restricted = _restricted(where.hidden)
    if where.hidden.except_institution is None:
        found.append(not_(restricted))
    else:
        found.append(or_(not_(restricted), AuditEventRow.institution_id == where.hidden.except_institution))
    return found


_ROWS_PER_INSERT = 500  # 15 columns each: 7,500 parameters, under SQLite's 32,766 and PostgreSQL's 65,535


class SqlAuditLog:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(self, record: AuditRecord) -> None:
        self.session.add(audit_to_row(record))

    async def record_many(self, records: Sequence[AuditRecord]) -> None:
        # One multi-row INSERT (VALUES (...), (...)): the unit of work's flush, like an executemany, sent one
        # statement per record (a page of 20 referrals, 20 statements). In chunks, within PostgreSQL's and SQLite's
        # limits on bound parameters.
        table: Any = AuditEventRow.__table__
        for start in range(0, len(records), _ROWS_PER_INSERT):
            chunk = records[start : start + _ROWS_PER_INSERT]
            await self.session.execute(insert(table).values([audit_to_row(r).model_dump() for r in chunk]))

    async def for_subject(self, subject_id: object) -> list[AuditRecord]:
        rows = await self.session.scalars(
            select(AuditEventRow)
            .where(AuditEventRow.subject_id == subject_id)
            .order_by(AuditEventRow.occurred_at, AuditEventRow.id)
        )
        return [audit_from_row(r) for r in rows]

    async def search(self, where: AuditFilter, page: PageRequest) -> Page[AuditRecord]:
        order = (AuditEventRow.occurred_at, AuditEventRow.id)
        query = select(AuditEventRow).where(*_conditions(where))
        if page.after is not None:
            query = query.where(tuple_(*order) > tuple_(page.after.created_at, page.after.id))
        rows = list((await self.session.scalars(query.order_by(*order).limit(page.limit + 1))).all())
        more = len(rows) > page.limit
        rows = rows[: page.limit]
        last = rows[-1] if more and rows else None
        return Page(
            items=[audit_from_row(r) for r in rows],
            next_after=Position(created_at=last.occurred_at, id=last.id) if last else None,
        )
