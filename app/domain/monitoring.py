"""Monitoring figures for a partnership and period, as the coordinating team reads them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from app.domain.ids import InstitutionId, PartnershipId


@dataclass(frozen=True, slots=True, kw_only=True)
class ReferralFigures:
    by_status: Mapping[str, int]
    due: int  # answered, or past their deadline unanswered
    answered_on_time: int

    @property
    def share_answered_on_time(self) -> Decimal | None:
        return (Decimal(self.answered_on_time) / Decimal(self.due)).quantize(Decimal("0.0001")) if self.due else None


@dataclass(frozen=True, slots=True, kw_only=True)
class MonitoringReport:
    partnership_id: PartnershipId
    period_from: date
    period_to: date
    persons_served: int
    families_served: int
    hours_by_institution: Mapping[InstitutionId, Decimal]
    hours_by_role: Mapping[str, Decimal]
    benefits_by_basis: Mapping[str, Decimal]
    outcomes_by_kind: Mapping[str, int]  # persons, not records
    contracts_by_status: Mapping[str, int]
    referrals: ReferralFigures

    @property
    def hours_total(self) -> Decimal:
        return sum(self.hours_by_institution.values(), Decimal("0.00"))

    @property
    def benefits_total(self) -> Decimal:
        return sum(self.benefits_by_basis.values(), Decimal("0.00"))
