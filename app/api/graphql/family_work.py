"""GraphQL types of the work with a family: diagnoses, contracts, the delivery record."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

import strawberry

from app.domain.contracts import Contract as ContractModel
from app.domain.delivery_records import Benefit as BenefitModel
from app.domain.delivery_records import HoursRecord
from app.domain.delivery_records import OutcomeRecord as OutcomeModel
from app.domain.diagnoses import Diagnosis as DiagnosisModel


@strawberry.type
class AreaAssessment:
    area: str
    resources: str
    deficits: str
    urgent_needs: str


@strawberry.type
class Diagnosis:
    id: UUID
    diagnosed_on: date
    institution_id: UUID
    areas: list[AreaAssessment]

    @classmethod
    def of(cls, d: DiagnosisModel) -> Diagnosis:
        return cls(
            id=d.id,
            diagnosed_on=d.diagnosed_on,
            institution_id=d.institution_id,
            areas=[
                AreaAssessment(area=a.area, resources=a.resources, deficits=a.deficits, urgent_needs=a.urgent_needs)
                for a in d.areas
            ],
        )


@strawberry.type
class ContractAction:
    id: UUID
    description: str
    instrument: str | None
    responsible: str
    member_ids: list[UUID]
    due: date | None
    status: str


@strawberry.type
class Signature:
    signer: str
    at: datetime
    method: str


@strawberry.type
class Contract:
    id: UUID
    kind: str
    status: str
    number: int
    version: int
    goals: list[str]
    actions: list[ContractAction]
    signatures: list[Signature]
    missing_signers: list[str]

    @classmethod
    def of(cls, c: ContractModel) -> Contract:
        return cls(
            id=c.id,
            kind=c.kind.value,
            status=c.status.value,
            number=c.number,
            version=c.version,
            goals=list(c.terms.goals),
            actions=[
                ContractAction(
                    id=a.id,
                    description=a.description,
                    instrument=f"{a.instrument.code_list}:{a.instrument.code}" if a.instrument else None,
                    responsible=a.responsible,
                    member_ids=list(a.member_ids),
                    due=a.due,
                    status=a.status,
                )
                for a in c.terms.actions
            ],
            signatures=[Signature(signer=s.signer, at=s.at, method=s.method.value) for s in c.signatures],
            missing_signers=c.missing_signers,
        )


@strawberry.type
class Hours:
    id: UUID
    role: str
    person_id: UUID | None
    on: date
    hours: Decimal
    superseded: bool

    @classmethod
    def of(cls, h: HoursRecord) -> Hours:
        return cls(
            id=h.id, role=h.role, person_id=h.person_id, on=h.on, hours=h.hours, superseded=h.superseded_by is not None
        )


@strawberry.type
class Benefit:
    id: UUID
    legal_basis: str
    amount: Decimal
    paid_on: date
    person_id: UUID

    @classmethod
    def of(cls, b: BenefitModel) -> Benefit:
        return cls(id=b.id, legal_basis=b.legal_basis, amount=b.amount, paid_on=b.paid_on, person_id=b.person_id)


@strawberry.type
class Outcome:
    id: UUID
    person_id: UUID
    kind: str
    on: date

    @classmethod
    def of(cls, o: OutcomeModel) -> Outcome:
        return cls(id=o.id, person_id=o.person_id, kind=o.kind, on=o.on)


@strawberry.type(description="What the caller's institution recorded for the family and its members.")
class DeliveryRecord:
    hours: list[Hours]
    benefits: list[Benefit]
    outcomes: list[Outcome]
