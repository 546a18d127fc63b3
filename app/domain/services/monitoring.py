"""The monitoring report of a partnership: figures for the coordinating team, no personal data."""

from __future__ import annotations

from datetime import date

from app.domain.caller import Caller, Scope
from app.domain.errors import FieldError, InvalidInput, NotFound
from app.domain.ids import PartnershipId
from app.domain.monitoring import MonitoringReport
from app.domain.services.context import UseCaseContext


async def monitoring_report(
    ctx: UseCaseContext, caller: Caller, partnership_id: PartnershipId, period_from: date, period_to: date
) -> MonitoringReport:
    caller.require(Scope.REPORTS_READ)
    if period_to < period_from:
        raise InvalidInput("the period ends before it begins", [FieldError("to", "before from")])
    if (period_to - period_from).days > 3660:
        raise InvalidInput("a report covers ten years at most", [FieldError("to", "period too long")])
    async with ctx.uow() as uow:
        partnership = await uow.partnerships.get(partnership_id)
        if partnership is None or not partnership.is_member(caller.institution_id):
            raise NotFound("no such partnership")
        return await uow.monitoring.report(partnership, period_from, period_to, ctx.today())
