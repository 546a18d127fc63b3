"""The retention purge's queries: what has passed its period, found in pages by id, and its removal.

Every removal repeats the condition that made the record due, so a record found by two runs at once,
or changed after it was found, is removed once or not at all; the caller audits only what it removed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, delete, exists, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.adapters.db.restricted_record_tables import RestrictedRecordRow
from app.adapters.db.sharing_tables import AgreementPartyRow, AgreementRow, ConsentRow
from app.adapters.db.tables import (
    EnrollmentRow,
    FamilyRow,
    InstitutionRow,
    MembershipRow,
    PersonRow,
    ReferralHistoryRow,
    ReferralRow,
    ReferralSubjectRow,
)
from app.domain.clock import local_date
from app.domain.ids import AgreementId, ConsentId, EnrollmentId, InstitutionId, PersonId, ReferralId
from app.domain.persons import ANONYMISED_NAME
from app.domain.referrals import TERMINAL
from app.domain.retention import (
    ClosedReferral,
    EndedAgreement,
    EndedConsent,
    EndedEnrollment,
    IdlePerson,
    Scope,
)

_CLOSED = tuple(s.value for s in TERMINAL)


def _in_scope(column: Any, scope: Scope) -> ColumnElement[bool]:
    if scope.institution_id is not None:
        return column == scope.institution_id  # type: ignore[no-any-return]
    if scope.excluding:
        return column.not_in(list(scope.excluding))  # type: ignore[no-any-return]
    return true()


def _consent_ended(ended_before: datetime) -> ColumnElement[bool]:
    return or_(ConsentRow.withdrawn_at < ended_before, ConsentRow.valid_to < local_date(ended_before))


class SqlRetentionQueries:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _locking(self) -> bool:
        # Two runs at once on PostgreSQL each take different rows; SQLite has one writer anyway.
        return bool(self.session.bind.dialect.name == "postgresql")

    async def closed_referrals(
        self, scope: Scope, closed_before: datetime, after: UUID | None, limit: int
    ) -> list[ClosedReferral]:
        closed_at = (
            select(func.max(ReferralHistoryRow.at))
            .where(ReferralHistoryRow.referral_id == ReferralRow.id, ReferralHistoryRow.to_status.in_(_CLOSED))
            .scalar_subquery()
        )
        query = select(ReferralRow.id, ReferralRow.receiver_id).where(
            ReferralRow.status.in_(_CLOSED),
            ReferralRow.receiver_copy_purged_at.is_(None),
            _in_scope(ReferralRow.receiver_id, scope),
            closed_at < closed_before,
        )
        if after is not None:
            query = query.where(ReferralRow.id > after)
        rows = await self.session.execute(query.order_by(ReferralRow.id).limit(limit))
        return [ClosedReferral(referral_id=ReferralId(i), receiver_id=InstitutionId(r)) for i, r in rows]

    async def purge_receiver_copy(self, referral_id: ReferralId, at: datetime) -> bool:
        result = await self.session.execute(
            update(ReferralRow)
            .where(
                ReferralRow.id == referral_id,
                ReferralRow.receiver_copy_purged_at.is_(None),
                ReferralRow.status.in_(_CLOSED),
            )
            # Not the version: the parties did not change the referral, and nothing they hold goes stale.
            .values(receiver_copy_purged_at=at)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)

    async def ended_enrollments(
        self, scope: Scope, ended_before: date, after: UUID | None, limit: int
    ) -> list[EndedEnrollment]:
        query = (
            select(
                EnrollmentRow.id,
                EnrollmentRow.person_id,
                EnrollmentRow.institution_id,
                InstitutionRow.type,
                EnrollmentRow.until,
            )
            .join(InstitutionRow, InstitutionRow.id == EnrollmentRow.institution_id)
            .where(
                EnrollmentRow.until.is_not(None),
                EnrollmentRow.until < ended_before,
                _in_scope(EnrollmentRow.institution_id, scope),
            )
        )
        if after is not None:
            query = query.where(EnrollmentRow.id > after)
        rows = await self.session.execute(query.order_by(EnrollmentRow.id).limit(limit))
        return [
            EndedEnrollment(
                enrollment_id=EnrollmentId(i),
                person_id=PersonId(p),
                institution_id=InstitutionId(inst),
                institution_type=kind,
                until=until,
            )
            for i, p, inst, kind, until in rows
        ]

    async def delete_enrollment(self, enrollment_id: EnrollmentId, ended_before: date) -> bool:
        result = await self.session.execute(
            delete(EnrollmentRow).where(
                EnrollmentRow.id == enrollment_id,
                EnrollmentRow.until.is_not(None),
                EnrollmentRow.until < ended_before,
            )
        )
        return bool(result.rowcount == 1)

    async def ended_consents(
        self, scope: Scope, ended_before: datetime, after: UUID | None, limit: int
    ) -> list[EndedConsent]:
        owner = func.coalesce(ConsentRow.grantee_institution_id, ConsentRow.recorded_by)
        query = select(ConsentRow.id, owner).where(_consent_ended(ended_before), _in_scope(owner, scope))
        if after is not None:
            query = query.where(ConsentRow.id > after)
        rows = await self.session.execute(query.order_by(ConsentRow.id).limit(limit))
        return [EndedConsent(consent_id=ConsentId(i), owner=InstitutionId(o)) for i, o in rows]

    async def delete_consent(self, consent_id: ConsentId, ended_before: datetime) -> bool:
        result = await self.session.execute(
            delete(ConsentRow).where(ConsentRow.id == consent_id, _consent_ended(ended_before))
        )
        return bool(result.rowcount == 1)

    async def ended_agreements(self, ended_before: datetime, after: UUID | None, limit: int) -> list[EndedAgreement]:
        query = select(AgreementRow.id, AgreementRow.ended_at, AgreementRow.valid_to, AgreementRow.created_by).where(
            or_(AgreementRow.ended_at < ended_before, AgreementRow.valid_to < local_date(ended_before))
        )
        if after is not None:
            query = query.where(AgreementRow.id > after)
        rows = list(await self.session.execute(query.order_by(AgreementRow.id).limit(limit)))
        parties: defaultdict[Any, set[InstitutionId]] = defaultdict(set)
        if rows:
            found = await self.session.execute(
                select(AgreementPartyRow.agreement_id, AgreementPartyRow.institution_id).where(
                    AgreementPartyRow.agreement_id.in_([r[0] for r in rows])
                )
            )
            for agreement_id, institution_id in found:
                parties[agreement_id].add(InstitutionId(institution_id))
        return [
            EndedAgreement(
                agreement_id=AgreementId(i),
                ended_at=ended_at,
                valid_to=valid_to,
                parties=frozenset(parties[i] | {InstitutionId(created_by)}),
            )
            for i, ended_at, valid_to, created_by in rows
        ]

    async def delete_agreement(self, agreement_id: AgreementId) -> bool:
        await self.session.execute(delete(AgreementPartyRow).where(AgreementPartyRow.agreement_id == agreement_id))
        result = await self.session.execute(delete(AgreementRow).where(AgreementRow.id == agreement_id))
        return bool(result.rowcount == 1)

    async def idle_persons(self, idle_before: datetime, after: UUID | None, limit: int) -> list[IdlePerson]:
        idle_day = local_date(idle_before)
        about_them = ReferralSubjectRow.person_id == PersonRow.id
        query = select(PersonRow.id, PersonRow.updated_at).where(
            PersonRow.first_name != ANONYMISED_NAME,
            PersonRow.updated_at < idle_before,
            ~exists().where(EnrollmentRow.person_id == PersonRow.id),
            ~exists().where(
                MembershipRow.person_id == PersonRow.id,
                or_(MembershipRow.until.is_(None), MembershipRow.until >= idle_day),
            ),
            ~exists().where(
                about_them,
                ReferralRow.id == ReferralSubjectRow.referral_id,
                ReferralRow.status.not_in(_CLOSED),
            ),
            ~exists().where(
                about_them,
                ReferralHistoryRow.referral_id == ReferralSubjectRow.referral_id,
                ReferralHistoryRow.at >= idle_before,
            ),
            ~exists().where(ConsentRow.person_id == PersonRow.id),
            # The interdisciplinary team's Niebieska Karta records keep their own period.
            ~exists().where(RestrictedRecordRow.person_id == PersonRow.id),
        )
        if after is not None:
            query = query.where(PersonRow.id > after)
        query = query.order_by(PersonRow.id).limit(limit)
        if self._locking():
            # Held until the batch commits: whoever registers or links the person meanwhile waits for it.
            query = query.with_for_update(of=PersonRow, skip_locked=True)
        rows = list(await self.session.execute(query))
        return await self._with_links([(PersonId(i), updated_at) for i, updated_at in rows])

    async def _with_links(self, persons: Sequence[tuple[PersonId, datetime]]) -> list[IdlePerson]:
        ids = [p for p, _ in persons]
        linked: defaultdict[Any, set[InstitutionId]] = defaultdict(set)
        membership_end: dict[Any, date] = {}
        referral_change: dict[Any, datetime] = {}
        if ids:
            memberships = await self.session.execute(
                select(MembershipRow.person_id, MembershipRow.until, FamilyRow.created_by)
                .join(FamilyRow, FamilyRow.id == MembershipRow.family_id)
                .where(MembershipRow.person_id.in_(ids))
            )
            for person_id, until, created_by in memberships:
                linked[person_id].add(InstitutionId(created_by))
                if until is not None and (person_id not in membership_end or until > membership_end[person_id]):
                    membership_end[person_id] = until
            referrals = await self.session.execute(
                select(
                    ReferralSubjectRow.person_id,
                    ReferralRow.sender_id,
                    ReferralRow.receiver_id,
                    func.max(ReferralHistoryRow.at),
                )
                .join(ReferralRow, ReferralRow.id == ReferralSubjectRow.referral_id)
                .join(ReferralHistoryRow, ReferralHistoryRow.referral_id == ReferralRow.id)
                .where(ReferralSubjectRow.person_id.in_(ids))
                .group_by(ReferralSubjectRow.person_id, ReferralRow.id, ReferralRow.sender_id, ReferralRow.receiver_id)
            )
            for person_id, sender_id, receiver_id, last_change in referrals:
                linked[person_id] |= {InstitutionId(sender_id), InstitutionId(receiver_id)}
                if last_change is not None and (
                    person_id not in referral_change or last_change > referral_change[person_id]
                ):
                    referral_change[person_id] = last_change
        return [
            IdlePerson(
                person_id=person_id,
                updated_at=updated_at,
                last_membership_end=membership_end.get(person_id),
                last_referral_change=referral_change.get(person_id),
                linked=frozenset(linked[person_id]),
            )
            for person_id, updated_at in persons
        ]
