"""Bodies of the family-work endpoints: partnerships, diagnoses, contracts, delivery, monitoring."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints

from app.api.rest.referral_schemas import InstrumentBody
from app.api.rest.schemas import Strict
from app.domain.contracts import Contract, ContractKind, ContractStep, Difference, SignatureMethod, Terms
from app.domain.delivery_records import Benefit, HoursRecord, OutcomeRecord
from app.domain.diagnoses import Diagnosis
from app.domain.monitoring import MonitoringReport
from app.domain.partnerships import Partnership

Code = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[A-Z0-9_]+$")]
# Decimal strings, never JSON floats: "51986.28" PLN, "2.5" hours.
Amount = Annotated[str, StringConstraints(pattern=r"^\d{1,9}(\.\d{1,2})?$", max_length=12)]
Text = Annotated[str, StringConstraints(max_length=4000)]


class TeamMemberBody(Strict):
    worker_id: UUID
    institution_id: UUID


class PartnershipIn(Strict):
    name: str = Field(min_length=1, max_length=300, examples=["Partnerstwo Powiatu Bartoszyckiego"])
    teryt: str = Field(pattern=r"^\d{2}(\d{2}(\d{3})?)?$", description="The area: a powiat (4 digits) usually.")
    members: list[UUID] = Field(min_length=2, max_length=100)
    coordinating_team: list[TeamMemberBody] = Field(
        default_factory=list, description="PZKW: approves family programmes."
    )
    mobile_team: list[TeamMemberBody] = Field(default_factory=list, description="MGI: works with the families.")


class PartnershipOut(BaseModel):
    id: UUID
    name: str
    teryt: str
    members: list[UUID]
    coordinating_team: list[TeamMemberBody]
    mobile_team: list[TeamMemberBody]

    @classmethod
    def of(cls, p: Partnership) -> PartnershipOut:
        def team(members: tuple[object, ...]) -> list[TeamMemberBody]:
            return [TeamMemberBody.model_validate(m, from_attributes=True) for m in members]

        return cls(
            id=p.id,
            name=p.name,
            teryt=p.teryt.value,
            members=list(p.members),
            coordinating_team=team(p.coordinating_team),
            mobile_team=team(p.mobile_team),
        )


class AreaBody(Strict):
    area: Code = Field(description="Code of LifeArea.", examples=["WORK"])
    resources: Text = ""
    deficits: Text = ""
    urgent_needs: Text = ""


class DiagnosisIn(Strict):
    diagnosed_on: date
    areas: list[AreaBody] = Field(min_length=1, max_length=7)


class DiagnosisOut(BaseModel):
    id: UUID
    family_id: UUID
    institution_id: UUID
    worker_id: UUID | None
    diagnosed_on: date
    areas: list[AreaBody]
    created_at: datetime

    @classmethod
    def of(cls, d: Diagnosis) -> DiagnosisOut:
        return cls(
            id=d.id,
            family_id=d.family_id,
            institution_id=d.institution_id,
            worker_id=d.worker_id,
            diagnosed_on=d.diagnosed_on,
            areas=[AreaBody.model_validate(a, from_attributes=True) for a in d.areas],
            created_at=d.created_at,
        )


class ActionBody(Strict):
    id: UUID | None = Field(default=None, description="Keep an action's id in an amendment to show it changed.")
    description: str = Field(min_length=1, max_length=1000)
    instrument: InstrumentBody | None = None
    service_id: str | None = Field(default=None, max_length=64)
    member_ids: list[UUID] = Field(default_factory=list, max_length=30)
    responsible: str = Field(max_length=40, description="A party institution's id, or FAMILY.")
    due: date | None = None
    status: Literal["PLANNED", "IN_PROGRESS", "DONE", "DROPPED"] = "PLANNED"


class TermsBody(Strict):
    goals: list[str] = Field(min_length=1, max_length=30)
    actions: list[ActionBody] = Field(default_factory=list, max_length=100, description="The basket of services.")

    @classmethod
    def of(cls, t: Terms) -> TermsBody:
        return cls(
            goals=list(t.goals),
            actions=[
                ActionBody(
                    id=a.id,
                    description=a.description,
                    instrument=InstrumentBody.model_validate(
                        {"code_list": a.instrument.code_list, "code": a.instrument.code}
                    )
                    if a.instrument
                    else None,
                    service_id=a.service_id,
                    member_ids=list(a.member_ids),
                    responsible=a.responsible,
                    due=a.due,
                    status=a.status,
                )
                for a in t.actions
            ],
        )


class ContractIn(Strict):
    kind: ContractKind
    partnership_id: UUID
    family_id: UUID | None = None
    person_id: UUID | None = None
    institutions: list[UUID] = Field(min_length=1, max_length=10, description="The institutions that are parties.")
    signing_members: list[UUID] = Field(min_length=1, max_length=15, description="Family members who sign.")
    terms: TermsBody


class StepIn(Strict):
    signer: str | None = Field(
        default=None, max_length=40, description="sign: 'institution' (yours) or a signing member's id."
    )
    method: SignatureMethod = SignatureMethod.IN_PERSON
    terms: TermsBody | None = Field(default=None, description="amend: the new terms.")
    review_on: date | None = None
    findings: Text = ""
    reason: Text = ""


class SignatureOut(BaseModel):
    signer: str
    recorded_by: str
    at: datetime
    method: SignatureMethod


class ReviewOut(BaseModel):
    on: date
    findings: str
    institution_id: UUID


class VersionOut(BaseModel):
    number: int
    terms: TermsBody
    approved_at: datetime | None
    signatures: list[SignatureOut]
    superseded_at: datetime


class ContractOut(BaseModel):
    id: UUID
    kind: ContractKind
    partnership_id: UUID
    family_id: UUID | None
    person_id: UUID | None
    institutions: list[UUID]
    signing_members: list[UUID]
    status: str
    number: int = Field(description="The contract version in force or in preparation.")
    terms: TermsBody
    approved_by: UUID | None
    approved_at: datetime | None
    signatures: list[SignatureOut]
    missing_signers: list[str]
    reviews: list[ReviewOut]
    earlier_versions: list[VersionOut]
    allowed_steps: list[ContractStep]
    termination_reason: str | None
    version: int = Field(description="The ETag value: send it as If-Match.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, c: Contract) -> ContractOut:
        def signatures(items: object) -> list[SignatureOut]:
            return [SignatureOut.model_validate(s, from_attributes=True) for s in items]  # type: ignore[attr-defined]

        return cls(
            id=c.id,
            kind=c.kind,
            partnership_id=c.partnership_id,
            family_id=c.family_id,
            person_id=c.person_id,
            institutions=list(c.institutions),
            signing_members=list(c.signing_members),
            status=c.status.value,
            number=c.number,
            terms=TermsBody.of(c.terms),
            approved_by=c.approved_by,
            approved_at=c.approved_at,
            signatures=signatures(c.signatures),
            missing_signers=c.missing_signers,
            reviews=[ReviewOut(on=r.on, findings=r.findings, institution_id=r.institution_id) for r in c.reviews],
            earlier_versions=[
                VersionOut(
                    number=v.number,
                    terms=TermsBody.of(v.terms),
                    approved_at=v.approved_at,
                    signatures=signatures(v.signatures),
                    superseded_at=v.superseded_at,
                )
                for v in c.versions
            ],
            allowed_steps=c.allowed_steps(),
            termination_reason=c.termination_reason,
            version=c.version,
            created_at=c.created_at,
            updated_at=c.updated_at,
        )


class DifferenceOut(BaseModel):
    item: str
    change: str
    before: str | None
    after: str | None

    @classmethod
    def of(cls, d: Difference) -> DifferenceOut:
        return cls(item=d.item, change=d.change, before=d.before, after=d.after)


class DifferencesOut(BaseModel):
    items: list[DifferenceOut]


class HoursIn(Strict):
    role: Code = Field(description="Code of SpecialistRole.", examples=["CAREER_ADVISER"])
    person_id: UUID | None = None
    family_id: UUID | None = None
    on: date
    hours: Amount = Field(description='Decimal string, e.g. "2.5".', examples=["2.5"])
    contract_action_id: UUID | None = None


class HoursOut(BaseModel):
    id: UUID
    institution_id: UUID
    role: str
    person_id: UUID | None
    family_id: UUID | None
    on: date
    hours: Decimal
    contract_action_id: UUID | None
    corrects: UUID | None
    superseded_by: UUID | None
    recorded_at: datetime

    @classmethod
    def of(cls, r: HoursRecord) -> HoursOut:
        return cls.model_validate(r, from_attributes=True)


class BenefitIn(Strict):
    legal_basis: Code = Field(description="Code of BenefitLegalBasis.", examples=["SOCIAL_ASSISTANCE_ACT"])
    amount: Amount = Field(description="PLN as a decimal string with up to two places.", examples=["612.50"])
    paid_on: date
    person_id: UUID
    period_from: date | None = None
    period_to: date | None = None


class BenefitOut(BaseModel):
    id: UUID
    institution_id: UUID
    legal_basis: str
    amount: Decimal
    paid_on: date
    period_from: date | None
    period_to: date | None
    person_id: UUID
    recorded_at: datetime

    @classmethod
    def of(cls, b: Benefit) -> BenefitOut:
        return cls.model_validate(b, from_attributes=True)


class OutcomeIn(Strict):
    person_id: UUID
    kind: Code = Field(description="Code of OutcomeKind.", examples=["INTERNSHIP_STARTED"])
    on: date
    source_type: Literal["contract_action", "referral", "other"] = "other"
    source_id: str | None = Field(default=None, max_length=64)
    note: Text | None = None


class OutcomeOut(BaseModel):
    id: UUID
    institution_id: UUID
    person_id: UUID
    kind: str
    on: date
    source_type: str
    source_id: str | None
    note: str | None
    recorded_at: datetime

    @classmethod
    def of(cls, o: OutcomeRecord) -> OutcomeOut:
        return cls.model_validate(o, from_attributes=True)


class DeliveryRecordOut(BaseModel):
    hours: list[HoursOut]
    benefits: list[BenefitOut]
    outcomes: list[OutcomeOut]


class Figure(BaseModel):
    key: str
    value: Decimal


class Count(BaseModel):
    key: str
    count: int


class MonitoringOut(BaseModel):
    partnership_id: UUID
    period_from: date
    period_to: date
    persons_served: int
    families_served: int
    hours_total: Decimal
    hours_by_institution: list[Figure]
    hours_by_role: list[Figure]
    benefits_total: Decimal = Field(description="PLN")
    benefits_by_legal_basis: list[Figure]
    outcomes_by_kind: list[Count] = Field(description="Persons, not records.")
    contracts_by_status: list[Count]
    referrals_by_status: list[Count]
    referrals_due: int
    referrals_answered_on_time: int
    share_answered_on_time: Decimal | None

    @classmethod
    def of(cls, r: MonitoringReport) -> MonitoringOut:
        def figures(values: dict[str, Decimal]) -> list[Figure]:
            return [Figure(key=k, value=v) for k, v in sorted(values.items())]

        def counts(values: dict[str, int]) -> list[Count]:
            return [Count(key=k, count=v) for k, v in sorted(values.items())]

        return cls(
            partnership_id=r.partnership_id,
            period_from=r.period_from,
            period_to=r.period_to,
            persons_served=r.persons_served,
            families_served=r.families_served,
            hours_total=r.hours_total,
            hours_by_institution=figures({str(k): v for k, v in r.hours_by_institution.items()}),
            hours_by_role=figures(dict(r.hours_by_role)),
            benefits_total=r.benefits_total,
            benefits_by_legal_basis=figures(dict(r.benefits_by_basis)),
            outcomes_by_kind=counts(dict(r.outcomes_by_kind)),
            contracts_by_status=counts(dict(r.contracts_by_status)),
            referrals_by_status=counts(dict(r.referrals.by_status)),
            referrals_due=r.referrals.due,
            referrals_answered_on_time=r.referrals.answered_on_time,
            share_answered_on_time=r.referrals.share_answered_on_time,
        )

    def csv_rows(self) -> list[tuple[str, str, str]]:
        """(section, key, value) rows: one table a spreadsheet opens as it is."""
        rows = [
            ("period", "from", self.period_from.isoformat()),
            ("period", "to", self.period_to.isoformat()),
            ("clients", "persons", str(self.persons_served)),
            ("clients", "families", str(self.families_served)),
            ("hours", "total", str(self.hours_total)),
        ]
        rows += [("hours_by_institution", f.key, str(f.value)) for f in self.hours_by_institution]
        rows += [("hours_by_role", f.key, str(f.value)) for f in self.hours_by_role]
        rows += [("benefits", "total", str(self.benefits_total))]
        rows += [("benefits_by_legal_basis", f.key, str(f.value)) for f in self.benefits_by_legal_basis]
        rows += [("outcomes_by_kind", c.key, str(c.count)) for c in self.outcomes_by_kind]
        rows += [("contracts_by_status", c.key, str(c.count)) for c in self.contracts_by_status]
        rows += [("referrals_by_status", c.key, str(c.count)) for c in self.referrals_by_status]
        rows += [
            ("referrals", "due", str(self.referrals_due)),
            ("referrals", "answered_on_time", str(self.referrals_answered_on_time)),
            ("referrals", "share_answered_on_time", str(self.share_answered_on_time or "")),
        ]
        return rows


class ReferFromActionIn(Strict):
    receiver_id: UUID = Field(description="The institution asked to carry out the action.")
    reason: Code = Field(description="Code of ReasonForAssistance.", examples=["UNEMPLOYMENT"])
    justification: Text = ""
