"""What was delivered: specialist hours, cash benefits and outcomes, recorded by the institutions.

Amounts are Decimal: PLN with two places, hours with two places (2.5 hours). A correction of hours
supersedes the record it corrects; both stay, so the history shows what was reported when.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from app.domain.errors import FieldError, InvalidInput
from app.domain.ids import (
    BenefitId,
    ContractActionId,
    FamilyId,
    HoursRecordId,
    InstitutionId,
    OutcomeRecordId,
    PersonId,
)

CENT = Decimal("0.01")


def two_places(value: Decimal, *, field: str, maximum: Decimal) -> Decimal:
    if not value.is_finite() or value != value.quantize(CENT) or not Decimal(0) < value <= maximum:
        message = f"a positive amount with at most two decimal places, up to {maximum}"
        raise InvalidInput(message, [FieldError(field, message)])
    return value.quantize(CENT)


@dataclass(frozen=True, slots=True, kw_only=True)
class HoursRecord:
    id: HoursRecordId
    institution_id: InstitutionId
    role: str  # SpecialistRole
    person_id: PersonId | None
    family_id: FamilyId | None
    on: date
    hours: Decimal
    contract_action_id: ContractActionId | None
    corrects: HoursRecordId | None
    superseded_by: HoursRecordId | None
    recorded_at: datetime
    actor: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Benefit:
    id: BenefitId
    institution_id: InstitutionId
    legal_basis: str  # BenefitLegalBasis
    amount: Decimal  # PLN
    paid_on: date
    period_from: date | None
    period_to: date | None
    person_id: PersonId
    recorded_at: datetime
    actor: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OutcomeRecord:
    id: OutcomeRecordId
    institution_id: InstitutionId
    person_id: PersonId
    kind: str  # OutcomeKind
    on: date
    source_type: str  # "contract_action", "referral" or "other"
    source_id: str | None
    note: str | None
    recorded_at: datetime
    actor: str
