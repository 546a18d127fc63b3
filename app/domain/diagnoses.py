"""A family's diagnosis by life area. A new diagnosis is added; an earlier one is never overwritten."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from app.domain.ids import DiagnosisId, FamilyId, InstitutionId, WorkerId


@dataclass(frozen=True, slots=True, kw_only=True)
class AreaAssessment:
    area: str  # LifeArea code
    resources: str
    deficits: str
    urgent_needs: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Diagnosis:
    id: DiagnosisId
    family_id: FamilyId
    institution_id: InstitutionId
    worker_id: WorkerId | None
    diagnosed_on: date
    areas: tuple[AreaAssessment, ...]
    created_at: datetime
