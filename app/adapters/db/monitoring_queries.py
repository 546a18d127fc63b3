"""Monitoring figures computed by the database: sums and distinct counts, never rows into Python.

Counting rules (the coordinating team's questions):
- persons served: distinct persons with hours, a benefit or an outcome recorded by a member
  institution in the period, and the members of families that received hours then;
- families served: families that received hours in the period, or whose partnership contract was
  approved, active or completed by its end;
- hours and benefits: corrected hours count once, as corrected;
- outcomes: distinct persons per kind;
- referrals: those between member institutions created in the period; "answered on time" means
  accepted, rejected or forwarded no later than the response deadline.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, func, or_, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from app.adapters.db.family_work_repository import from_hundredths
from app.adapters.db.family_work_tables import BenefitRow, ContractRow, HoursRow, OutcomeRow
from app.adapters.db.tables import MembershipRow, ReferralHistoryRow, ReferralRow
from app.domain.clock import POLAND
from app.domain.ids import InstitutionId
from app.domain.monitoring import MonitoringReport, ReferralFigures
from app.domain.partnerships import Partnership

_ANSWERS = ("accept", "reject", "forward")


class SqlMonitoringQueries:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def report(
        self, partnership: Partnership, period_from: date, period_to: date, today: date
    ) -> MonitoringReport:
        members = list(partnership.members)
        hours_in_period = and_(
            HoursRow.institution_id.in_(members),
            HoursRow.on.between(period_from, period_to),
            HoursRow.superseded_by.is_(None),
        )
        benefits_in_period = and_(
            BenefitRow.institution_id.in_(members), BenefitRow.paid_on.between(period_from, period_to)
        )
        outcomes_in_period = and_(OutcomeRow.institution_id.in_(members), OutcomeRow.on.between(period_from, period_to))

        hours_by_institution: defaultdict[InstitutionId, int] = defaultdict(int)
        hours_by_role: defaultdict[str, int] = defaultdict(int)
        for institution_id, role, total in await self.session.execute(
            select(HoursRow.institution_id, HoursRow.role, func.sum(HoursRow.centihours))
            .where(hours_in_period)
            .group_by(HoursRow.institution_id, HoursRow.role)
        ):
            hours_by_institution[InstitutionId(institution_id)] += int(total)
            hours_by_role[role] += int(total)

        benefits = {
            basis: from_hundredths(int(total))
            for basis, total in await self.session.execute(
                select(BenefitRow.legal_basis, func.sum(BenefitRow.grosze))
                .where(benefits_in_period)
                .group_by(BenefitRow.legal_basis)
            )
        }
        outcomes = {
            kind: int(count)
            for kind, count in await self.session.execute(
                select(OutcomeRow.kind, func.count(func.distinct(OutcomeRow.person_id)))
                .where(outcomes_in_period)
                .group_by(OutcomeRow.kind)
            )
        }

        family_hours = select(HoursRow.family_id).where(hours_in_period, HoursRow.family_id.is_not(None))
        members_of_served_families = select(MembershipRow.person_id).where(
            MembershipRow.family_id.in_(family_hours),
            MembershipRow.since <= period_to,
            or_(MembershipRow.until.is_(None), MembershipRow.until >= period_from),
        )
        persons = union(
            select(HoursRow.person_id.label("person_id")).where(hours_in_period, HoursRow.person_id.is_not(None)),
            members_of_served_families,
            select(BenefitRow.person_id).where(benefits_in_period),
            select(OutcomeRow.person_id).where(outcomes_in_period),
        ).subquery()
        persons_served = int(await self.session.scalar(select(func.count(func.distinct(persons.c.person_id)))) or 0)

        end_of_period = datetime.combine(period_to + timedelta(days=1), time(), POLAND)
        contracted = select(ContractRow.family_id).where(
            ContractRow.partnership_id == partnership.id,
            ContractRow.family_id.is_not(None),
            ContractRow.status.in_(("approved", "active", "completed")),
            ContractRow.created_at < end_of_period,
        )
        families = union(family_hours, contracted).subquery()
        families_served = int(await self.session.scalar(select(func.count(func.distinct(families.c.family_id)))) or 0)

        contracts = {
            status: int(count)
            for status, count in await self.session.execute(
                select(ContractRow.status, func.count())
                .where(ContractRow.partnership_id == partnership.id)
                .group_by(ContractRow.status)
            )
        }
        return MonitoringReport(
            partnership_id=partnership.id,
            period_from=period_from,
            period_to=period_to,
            persons_served=persons_served,
            families_served=families_served,
            hours_by_institution={i: from_hundredths(v) for i, v in hours_by_institution.items()},
            hours_by_role={r: from_hundredths(v) for r, v in hours_by_role.items()},
            benefits_by_basis=benefits,
            outcomes_by_kind=outcomes,
            contracts_by_status=contracts,
            referrals=await self._referrals(members, period_from, end_of_period, today),
        )

    async def _referrals(
        self, members: list[InstitutionId], period_from: date, end: datetime, today: date
    ) -> ReferralFigures:
        start = datetime.combine(period_from, time(), POLAND)
        between_members = and_(
            ReferralRow.sender_id.in_(members),
            ReferralRow.receiver_id.in_(members),
            ReferralRow.created_at >= start,
            ReferralRow.created_at < end,
            ReferralRow.status != "draft",
        )
        by_status = {
            status: int(count)
            for status, count in await self.session.execute(
                select(ReferralRow.status, func.count()).where(between_members).group_by(ReferralRow.status)
            )
        }
        # Each of the partnership's referrals looks up its own first answer (the history's primary key starts with
        # the referral): grouping the whole history first cost the same for a county as for the country.
        first_answer = (
            select(func.min(ReferralHistoryRow.at))
            .where(ReferralHistoryRow.referral_id == ReferralRow.id, ReferralHistoryRow.action.in_(_ANSWERS))
            .correlate(ReferralRow)
            .scalar_subquery()
        )
        referrals = (
            select(ReferralRow.status, ReferralRow.respond_by, first_answer.label("answered_at"))
            .where(between_members)
            .subquery()
        )
        answered = referrals.c.answered_at.is_not(None)
        lapsed = and_(referrals.c.status.in_(("sent", "received", "expired")), referrals.c.respond_by < today)
        on_time = and_(answered, func.date(referrals.c.answered_at) <= referrals.c.respond_by)
        row = (
            await self.session.execute(
                select(func.count().filter(or_(answered, lapsed)), func.count().filter(on_time)).select_from(referrals)
            )
        ).one()
        return ReferralFigures(by_status=by_status, due=int(row[0] or 0), answered_on_time=int(row[1] or 0))
