"""The SQL referral repository: a referral row with its subjects, history and outcomes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import delete, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.adapters.db.repositories import insert_row, keyset_page, versioned_update
from app.adapters.db.tables import ReferralHistoryRow, ReferralOutcomeRow, ReferralRow, ReferralSubjectRow
from app.domain.ids import FamilyId, InstitutionId, PersonId, ReferralId, WorkerId
from app.domain.pagination import Page, PageRequest
from app.domain.ports import ReferralFilter
from app.domain.referrals import Action, Outcome, Referral, ReferralStatus, RequestedInstrument, StatusChange

_OPEN_BEFORE_WORK = (ReferralStatus.SENT.value, ReferralStatus.RECEIVED.value)


def _row(r: Referral) -> ReferralRow:
    return ReferralRow(
        id=r.id,
        sender_id=r.sender_id,
        sender_worker_id=r.sender_worker_id,
        receiver_id=r.receiver_id,
        service_id=r.service_id,
        person_id=r.person_id,
        family_id=r.family_id,
        reason=r.reason,
        instrument_list=r.instrument.code_list,
        instrument_code=r.instrument.code,
        justification=r.justification,
        priority=r.priority,
        respond_by=r.respond_by,
        due=r.due,
        contract_action_ref=r.contract_action_ref,
        forwarded_from=r.forwarded_from,
        forwarded_to=r.forwarded_to,
        chain_id=r.chain_id,
        status=r.status.value,
        rejection_reason=r.rejection_reason,
        failure_reason=r.failure_reason,
        created_at=r.created_at,
        updated_at=r.updated_at,
        version=r.version,
        receiver_copy_purged_at=r.receiver_copy_purged_at,
    )


def _referral(
    row: ReferralRow,
    subjects: list[ReferralSubjectRow],
    history: list[ReferralHistoryRow],
    outcomes: list[ReferralOutcomeRow],
) -> Referral:
    return Referral(
        id=ReferralId(row.id),
        sender_id=InstitutionId(row.sender_id),
        sender_worker_id=WorkerId(row.sender_worker_id) if row.sender_worker_id else None,
        receiver_id=InstitutionId(row.receiver_id),
        service_id=row.service_id,
        person_id=PersonId(row.person_id) if row.person_id else None,
        family_id=FamilyId(row.family_id) if row.family_id else None,
        member_ids=tuple(PersonId(s.person_id) for s in sorted(subjects, key=lambda s: s.position)),
        reason=row.reason,
        instrument=RequestedInstrument(code_list=row.instrument_list, code=row.instrument_code),
        justification=row.justification,
        priority=row.priority,
        respond_by=row.respond_by,
        due=row.due,
        contract_action_ref=row.contract_action_ref,
        forwarded_from=ReferralId(row.forwarded_from) if row.forwarded_from else None,
        forwarded_to=ReferralId(row.forwarded_to) if row.forwarded_to else None,
        chain_id=ReferralId(row.chain_id),
        status=ReferralStatus(row.status),
        rejection_reason=row.rejection_reason,
        failure_reason=row.failure_reason,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
        receiver_copy_purged_at=row.receiver_copy_purged_at,
        history=[
            StatusChange(
                at=h.at,
                action=Action(h.action),
                from_status=ReferralStatus(h.from_status) if h.from_status else None,
                to_status=ReferralStatus(h.to_status),
                institution_id=InstitutionId(h.institution_id) if h.institution_id else None,
                actor=h.actor,
                reason=h.reason,
                note=h.note,
            )
            for h in sorted(history, key=lambda h: h.seq)
        ],
        outcomes=[Outcome(person_id=PersonId(o.person_id), kind=o.kind, on=o.on, note=o.note) for o in outcomes],
    )


def _history_row(referral_id: ReferralId, seq: int, h: StatusChange) -> ReferralHistoryRow:
    return ReferralHistoryRow(
        referral_id=referral_id,
        seq=seq,
        at=h.at,
        action=h.action.value,
        from_status=h.from_status.value if h.from_status else None,
        to_status=h.to_status.value,
        institution_id=h.institution_id,
        actor=h.actor,
        reason=h.reason,
        note=h.note,
    )


def _on_chain_of(institution_id: InstitutionId) -> Any:
    other = ReferralRow.__table__.alias("chain_member")
    return or_(
        ReferralRow.sender_id == institution_id,
        ReferralRow.receiver_id == institution_id,
        exists().where(
            other.c.chain_id == ReferralRow.chain_id,
            or_(other.c.sender_id == institution_id, other.c.receiver_id == institution_id),
        ),
    )


class SqlReferralRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, referral: Referral) -> None:
        await insert_row(self.session, _row(referral))
        for position, person_id in enumerate(referral.member_ids):
            self.session.add(ReferralSubjectRow(referral_id=referral.id, person_id=person_id, position=position))
        for seq, change in enumerate(referral.history):
            self.session.add(_history_row(referral.id, seq, change))
        await self.session.flush()

    async def get(self, referral_id: ReferralId) -> Referral | None:
        found = await self.get_many([referral_id])
        return found[0] if found else None

    async def get_many(self, ids: Sequence[ReferralId]) -> list[Referral]:
        if not ids:
            return []
        rows = list(await self.session.scalars(select(ReferralRow).where(ReferralRow.id.in_(ids))))
        return await self._assemble(rows)

    async def _assemble(self, rows: Sequence[ReferralRow]) -> list[Referral]:
        ids = [r.id for r in rows]
        subjects: defaultdict[Any, list[ReferralSubjectRow]] = defaultdict(list)
        history: defaultdict[Any, list[ReferralHistoryRow]] = defaultdict(list)
        outcomes: defaultdict[Any, list[ReferralOutcomeRow]] = defaultdict(list)
        if ids:
            for s in await self.session.scalars(
                select(ReferralSubjectRow).where(ReferralSubjectRow.referral_id.in_(ids))
            ):
                subjects[s.referral_id].append(s)
            for h in await self.session.scalars(
                select(ReferralHistoryRow).where(ReferralHistoryRow.referral_id.in_(ids))
            ):
                history[h.referral_id].append(h)
            for o in await self.session.scalars(
                select(ReferralOutcomeRow).where(ReferralOutcomeRow.referral_id.in_(ids))
            ):
                outcomes[o.referral_id].append(o)
        return [_referral(r, subjects[r.id], history[r.id], outcomes[r.id]) for r in rows]

    async def update(self, referral: Referral, *, expected_version: int) -> None:
        values = {k: v for k, v in _row(referral).model_dump().items() if k not in ("id", "created_at")}
        await versioned_update(self.session, ReferralRow, referral.id, expected_version, values)
        stored = await self.session.scalar(
            select(ReferralHistoryRow.seq)
            .where(ReferralHistoryRow.referral_id == referral.id)
            .order_by(ReferralHistoryRow.seq.desc())
            .limit(1)
        )
        for seq in range((stored if stored is not None else -1) + 1, len(referral.history)):
            self.session.add(_history_row(referral.id, seq, referral.history[seq]))
        await self.session.execute(delete(ReferralOutcomeRow).where(ReferralOutcomeRow.referral_id == referral.id))
        for o in referral.outcomes:
            self.session.add(
                ReferralOutcomeRow(referral_id=referral.id, person_id=o.person_id, kind=o.kind, on=o.on, note=o.note)
            )
        await self.session.flush()

    async def visible_to(self, referral_id: ReferralId, institution_id: InstitutionId) -> bool:
        query = select(ReferralRow.id).where(ReferralRow.id == referral_id, _on_chain_of(institution_id))
        return (await self.session.scalar(query)) is not None

    async def chain_institutions(self, chain_id: ReferralId) -> set[InstitutionId]:
        rows = await self.session.execute(
            select(ReferralRow.sender_id, ReferralRow.receiver_id).where(ReferralRow.chain_id == chain_id)
        )
        return {InstitutionId(i) for pair in rows for i in pair}

    async def list_box(self, institution_id: InstitutionId, where: ReferralFilter, page: PageRequest) -> Page[Referral]:
        if where.box == "inbox":
            query = select(ReferralRow).where(
                ReferralRow.receiver_id == institution_id, ReferralRow.status != ReferralStatus.DRAFT.value
            )
        else:
            query = select(ReferralRow).where(ReferralRow.sender_id == institution_id)
        if where.status is not None:
            query = query.where(ReferralRow.status == where.status.value)
        if where.overdue_on is not None:
            query = query.where(ReferralRow.status.in_(_OPEN_BEFORE_WORK), ReferralRow.respond_by < where.overdue_on)
        if where.person_id is not None:
            query = query.where(
                exists().where(
                    ReferralSubjectRow.referral_id == ReferralRow.id, ReferralSubjectRow.person_id == where.person_id
                )
            )
        if where.family_id is not None:
            query = query.where(ReferralRow.family_id == where.family_id)
        if where.created_from is not None:
            query = query.where(ReferralRow.created_at >= where.created_from)
        if where.created_to is not None:
            query = query.where(ReferralRow.created_at < where.created_to)
        rows, after = await keyset_page(self.session, query, ReferralRow, page)
        return Page(items=await self._assemble(rows), next_after=after)

    async def for_subjects(self, person_ids: Sequence[PersonId], institution_id: InstitutionId) -> list[Referral]:
        if not person_ids:
            return []
        query = (
            select(ReferralRow)
            .where(
                exists().where(
                    ReferralSubjectRow.referral_id == ReferralRow.id, ReferralSubjectRow.person_id.in_(person_ids)
                ),
                _on_chain_of(institution_id),
                or_(ReferralRow.status != ReferralStatus.DRAFT.value, ReferralRow.sender_id == institution_id),
            )
            .order_by(ReferralRow.created_at, ReferralRow.id)
        )
        return await self._assemble(list(await self.session.scalars(query)))

    async def unanswered_past(self, day: date, limit: int) -> list[Referral]:
        query = (
            select(ReferralRow)
            .where(ReferralRow.status.in_(_OPEN_BEFORE_WORK), ReferralRow.respond_by < day)
            .order_by(ReferralRow.respond_by, ReferralRow.id)
            .limit(limit)
        )
        if self.session.bind.dialect.name == "postgresql":
            # Two job runners never expire the same referral twice.
            query = query.with_for_update(skip_locked=True)
        return await self._assemble(list(await self.session.scalars(query)))
