"""SQL adapters of the work with families: partnerships, diagnoses, contracts, delivery records."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.adapters.db.family_work_tables import (
    BenefitRow,
    ContractPartyRow,
    ContractRow,
    DiagnosisRow,
    HoursRow,
    OutcomeRow,
    PartnershipMemberRow,
    PartnershipRow,
    TeamMemberRow,
)
from app.adapters.db.repositories import insert_row, versioned_update
from app.domain.contracts import (
    Contract,
    ContractAction,
    ContractKind,
    ContractStatus,
    ContractVersion,
    Review,
    Signature,
    SignatureMethod,
    Terms,
)
from app.domain.delivery_records import Benefit, HoursRecord, OutcomeRecord
from app.domain.diagnoses import AreaAssessment, Diagnosis
from app.domain.ids import (
    BenefitId,
    ContractActionId,
    ContractId,
    DiagnosisId,
    FamilyId,
    HoursRecordId,
    InstitutionId,
    OutcomeRecordId,
    PartnershipId,
    PersonId,
    WorkerId,
)
from app.domain.partnerships import Partnership, TeamMember
from app.domain.referrals import RequestedInstrument
from app.domain.values import Teryt

HUNDRED = Decimal(100)


def to_hundredths(value: Decimal) -> int:
    return int((value * HUNDRED).to_integral_exact())


def from_hundredths(value: int | None) -> Decimal:
    return (Decimal(value or 0) / HUNDRED).quantize(Decimal("0.01"))


class SqlPartnershipRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, partnership: Partnership) -> None:
        await insert_row(
            self.session,
            PartnershipRow(
                id=partnership.id,
                name=partnership.name,
                teryt=partnership.teryt.value,
                created_at=partnership.created_at,
                version=partnership.version,
            ),
        )
        for institution_id in partnership.members:
            self.session.add(PartnershipMemberRow(partnership_id=partnership.id, institution_id=institution_id))
        for team, members in (("PZKW", partnership.coordinating_team), ("MGI", partnership.mobile_team)):
            for m in members:
                self.session.add(
                    TeamMemberRow(
                        partnership_id=partnership.id, team=team, worker_id=m.worker_id, institution_id=m.institution_id
                    )
                )
        await self.session.flush()

    async def get(self, partnership_id: PartnershipId) -> Partnership | None:
        row = await self.session.scalar(select(PartnershipRow).where(PartnershipRow.id == partnership_id))
        if row is None:
            return None
        members = await self.session.scalars(
            select(PartnershipMemberRow.institution_id).where(PartnershipMemberRow.partnership_id == partnership_id)
        )
        team_rows = list(
            await self.session.scalars(select(TeamMemberRow).where(TeamMemberRow.partnership_id == partnership_id))
        )

        def team(name: str) -> tuple[TeamMember, ...]:
            return tuple(
                TeamMember(worker_id=WorkerId(t.worker_id), institution_id=InstitutionId(t.institution_id))
                for t in sorted(team_rows, key=lambda t: str(t.worker_id))
                if t.team == name
            )

        return Partnership(
            id=PartnershipId(row.id),
            name=row.name,
            teryt=Teryt(row.teryt),
            members=tuple(sorted((InstitutionId(m) for m in members), key=str)),
            coordinating_team=team("PZKW"),
            mobile_team=team("MGI"),
            created_at=row.created_at,
            version=row.version,
        )


class SqlDiagnosisRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, diagnosis: Diagnosis) -> None:
        areas = [
            {"area": a.area, "resources": a.resources, "deficits": a.deficits, "urgent_needs": a.urgent_needs}
            for a in diagnosis.areas
        ]
        await insert_row(
            self.session,
            DiagnosisRow(
                id=diagnosis.id,
                family_id=diagnosis.family_id,
                institution_id=diagnosis.institution_id,
                worker_id=diagnosis.worker_id,
                diagnosed_on=diagnosis.diagnosed_on,
                areas=json.dumps(areas, ensure_ascii=False),
                created_at=diagnosis.created_at,
            ),
        )

    async def for_families(self, family_ids: Sequence[FamilyId]) -> list[Diagnosis]:
        if not family_ids:
            return []
        rows = await self.session.scalars(
            select(DiagnosisRow)
            .where(DiagnosisRow.family_id.in_(family_ids))
            .order_by(DiagnosisRow.diagnosed_on, DiagnosisRow.created_at)
        )
        return [
            Diagnosis(
                id=DiagnosisId(r.id),
                family_id=FamilyId(r.family_id),
                institution_id=InstitutionId(r.institution_id),
                worker_id=WorkerId(r.worker_id) if r.worker_id else None,
                diagnosed_on=r.diagnosed_on,
                areas=tuple(AreaAssessment(**a) for a in json.loads(r.areas)),
                created_at=r.created_at,
            )
            for r in rows
        ]


def _terms_json(terms: Terms) -> dict[str, Any]:
    return {
        "goals": list(terms.goals),
        "actions": [
            {
                "id": str(a.id),
                "description": a.description,
                "instrument": {"code_list": a.instrument.code_list, "code": a.instrument.code}
                if a.instrument
                else None,
                "service_id": a.service_id,
                "member_ids": [str(m) for m in a.member_ids],
                "responsible": a.responsible,
                "due": a.due.isoformat() if a.due else None,
                "status": a.status,
            }
            for a in terms.actions
        ],
    }


def _terms(raw: dict[str, Any]) -> Terms:
    return Terms(
        goals=tuple(raw["goals"]),
        actions=tuple(
            ContractAction(
                id=ContractActionId(UUID(a["id"])),
                description=a["description"],
                instrument=RequestedInstrument(**a["instrument"]) if a["instrument"] else None,
                service_id=a["service_id"],
                member_ids=tuple(PersonId(UUID(m)) for m in a["member_ids"]),
                responsible=a["responsible"],
                due=date.fromisoformat(a["due"]) if a["due"] else None,
                status=a["status"],
            )
            for a in raw["actions"]
        ),
    )


def _signatures_json(signatures: Sequence[Signature]) -> list[dict[str, str]]:
    return [
        {"signer": s.signer, "recorded_by": s.recorded_by, "at": s.at.isoformat(), "method": s.method.value}
        for s in signatures
    ]


def _signatures(raw: list[dict[str, str]]) -> list[Signature]:
    return [
        Signature(
            signer=s["signer"],
            recorded_by=s["recorded_by"],
            at=datetime.fromisoformat(s["at"]),
            method=SignatureMethod(s["method"]),
        )
        for s in raw
    ]


def _contract_row(c: Contract) -> ContractRow:
    return ContractRow(
        id=c.id,
        kind=c.kind.value,
        partnership_id=c.partnership_id,
        family_id=c.family_id,
        person_id=c.person_id,
        institutions=json.dumps([str(i) for i in c.institutions]),
        signing_members=json.dumps([str(p) for p in c.signing_members]),
        status=c.status.value,
        number=c.number,
        terms=json.dumps(_terms_json(c.terms), ensure_ascii=False),
        approved_by=c.approved_by,
        approved_at=c.approved_at,
        signatures=json.dumps(_signatures_json(c.signatures)),
        reviews=json.dumps(
            [
                {
                    "on": r.on.isoformat(),
                    "findings": r.findings,
                    "institution_id": str(r.institution_id),
                    "actor": r.actor,
                }
                for r in c.reviews
            ],
            ensure_ascii=False,
        ),
        versions=json.dumps(
            [
                {
                    "number": v.number,
                    "terms": _terms_json(v.terms),
                    "approved_by": str(v.approved_by) if v.approved_by else None,
                    "approved_at": v.approved_at.isoformat() if v.approved_at else None,
                    "signatures": _signatures_json(v.signatures),
                    "superseded_at": v.superseded_at.isoformat(),
                }
                for v in c.versions
            ],
            ensure_ascii=False,
        ),
        termination_reason=c.termination_reason,
        created_by=c.created_by,
        created_at=c.created_at,
        updated_at=c.updated_at,
        version=c.version,
    )


def _contract(r: ContractRow) -> Contract:
    return Contract(
        id=ContractId(r.id),
        kind=ContractKind(r.kind),
        partnership_id=PartnershipId(r.partnership_id),
        family_id=FamilyId(r.family_id) if r.family_id else None,
        person_id=PersonId(r.person_id) if r.person_id else None,
        institutions=tuple(InstitutionId(UUID(i)) for i in json.loads(r.institutions)),
        signing_members=tuple(PersonId(UUID(p)) for p in json.loads(r.signing_members)),
        status=ContractStatus(r.status),
        number=r.number,
        terms=_terms(json.loads(r.terms)),
        created_by=InstitutionId(r.created_by),
        created_at=r.created_at,
        updated_at=r.updated_at,
        approved_by=WorkerId(r.approved_by) if r.approved_by else None,
        approved_at=r.approved_at,
        signatures=_signatures(json.loads(r.signatures)),
        reviews=[
            Review(
                on=date.fromisoformat(v["on"]),
                findings=v["findings"],
                institution_id=InstitutionId(UUID(v["institution_id"])),
                actor=v["actor"],
            )
            for v in json.loads(r.reviews)
        ],
        versions=[
            ContractVersion(
                number=v["number"],
                terms=_terms(v["terms"]),
                approved_by=WorkerId(UUID(v["approved_by"])) if v["approved_by"] else None,
                approved_at=datetime.fromisoformat(v["approved_at"]) if v["approved_at"] else None,
                signatures=tuple(_signatures(v["signatures"])),
                superseded_at=datetime.fromisoformat(v["superseded_at"]),
            )
            for v in json.loads(r.versions)
        ],
        termination_reason=r.termination_reason,
        version=r.version,
    )


class SqlContractRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, contract: Contract) -> None:
        await insert_row(self.session, _contract_row(contract))
        for institution_id in contract.institutions:
            self.session.add(ContractPartyRow(contract_id=contract.id, institution_id=institution_id))
        await self.session.flush()

    async def get(self, contract_id: ContractId) -> Contract | None:
        row = await self.session.scalar(select(ContractRow).where(ContractRow.id == contract_id))
        return _contract(row) if row else None

    async def update(self, contract: Contract, *, expected_version: int) -> None:
        values = {
            k: v for k, v in _contract_row(contract).model_dump().items() if k not in ("id", "created_at", "created_by")
        }
        await versioned_update(self.session, ContractRow, contract.id, expected_version, values)

    async def for_families(self, family_ids: Sequence[FamilyId], institution_id: InstitutionId) -> list[Contract]:
        if not family_ids:
            return []
        rows = await self.session.scalars(
            select(ContractRow)
            .join(ContractPartyRow, ContractPartyRow.contract_id == ContractRow.id)
            .where(ContractRow.family_id.in_(family_ids), ContractPartyRow.institution_id == institution_id)
            .order_by(ContractRow.created_at)
        )
        return [_contract(r) for r in rows]


class SqlDeliveryRecords:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_hours(self, record: HoursRecord) -> None:
        await insert_row(
            self.session,
            HoursRow(
                id=record.id,
                institution_id=record.institution_id,
                role=record.role,
                person_id=record.person_id,
                family_id=record.family_id,
                on=record.on,
                centihours=to_hundredths(record.hours),
                contract_action_id=record.contract_action_id,
                corrects=record.corrects,
                superseded_by=record.superseded_by,
                recorded_at=record.recorded_at,
                actor=record.actor,
            ),
        )

    async def get_hours(self, record_id: HoursRecordId) -> HoursRecord | None:
        row = await self.session.scalar(select(HoursRow).where(HoursRow.id == record_id))
        return _hours(row) if row else None

    async def supersede_hours(self, record_id: HoursRecordId, by: HoursRecordId) -> bool:
        result = await self.session.execute(
            update(HoursRow).where(HoursRow.id == record_id, HoursRow.superseded_by.is_(None)).values(superseded_by=by)
        )
        return bool(result.rowcount)

    async def add_benefit(self, benefit: Benefit) -> None:
        await insert_row(
            self.session,
            BenefitRow(
                id=benefit.id,
                institution_id=benefit.institution_id,
                legal_basis=benefit.legal_basis,
                grosze=to_hundredths(benefit.amount),
                paid_on=benefit.paid_on,
                period_from=benefit.period_from,
                period_to=benefit.period_to,
                person_id=benefit.person_id,
                recorded_at=benefit.recorded_at,
                actor=benefit.actor,
            ),
        )

    async def add_outcome(self, outcome: OutcomeRecord) -> None:
        await insert_row(
            self.session,
            OutcomeRow(
                id=outcome.id,
                institution_id=outcome.institution_id,
                person_id=outcome.person_id,
                kind=outcome.kind,
                on=outcome.on,
                source_type=outcome.source_type,
                source_id=outcome.source_id,
                note=outcome.note,
                recorded_at=outcome.recorded_at,
                actor=outcome.actor,
            ),
        )

    async def hours_for(
        self, person_ids: Sequence[PersonId], family_ids: Sequence[FamilyId], institution_id: InstitutionId
    ) -> list[HoursRecord]:
        rows = await self.session.scalars(
            select(HoursRow)
            .where(
                HoursRow.institution_id == institution_id,
                or_(HoursRow.person_id.in_(person_ids), HoursRow.family_id.in_(family_ids)),
            )
            .order_by(HoursRow.on, HoursRow.recorded_at)
        )
        return [_hours(r) for r in rows]

    async def benefits_for(self, person_ids: Sequence[PersonId], institution_id: InstitutionId) -> list[Benefit]:
        rows = await self.session.scalars(
            select(BenefitRow)
            .where(BenefitRow.institution_id == institution_id, BenefitRow.person_id.in_(person_ids))
            .order_by(BenefitRow.paid_on, BenefitRow.recorded_at)
        )
        return [
            Benefit(
                id=BenefitId(r.id),
                institution_id=InstitutionId(r.institution_id),
                legal_basis=r.legal_basis,
                amount=from_hundredths(r.grosze),
                paid_on=r.paid_on,
                period_from=r.period_from,
                period_to=r.period_to,
                person_id=PersonId(r.person_id),
                recorded_at=r.recorded_at,
                actor=r.actor,
            )
            for r in rows
        ]

    async def outcomes_for(self, person_ids: Sequence[PersonId], institution_id: InstitutionId) -> list[OutcomeRecord]:
        rows = await self.session.scalars(
            select(OutcomeRow)
            .where(OutcomeRow.institution_id == institution_id, OutcomeRow.person_id.in_(person_ids))
            .order_by(OutcomeRow.on, OutcomeRow.recorded_at)
        )
        return [
            OutcomeRecord(
                id=OutcomeRecordId(r.id),
                institution_id=InstitutionId(r.institution_id),
                person_id=PersonId(r.person_id),
                kind=r.kind,
                on=r.on,
                source_type=r.source_type,
                source_id=r.source_id,
                note=r.note,
                recorded_at=r.recorded_at,
                actor=r.actor,
            )
            for r in rows
        ]


def _hours(r: HoursRow) -> HoursRecord:
    return HoursRecord(
        id=HoursRecordId(r.id),
        institution_id=InstitutionId(r.institution_id),
        role=r.role,
        person_id=PersonId(r.person_id) if r.person_id else None,
        family_id=FamilyId(r.family_id) if r.family_id else None,
        on=r.on,
        hours=from_hundredths(r.centihours),
        contract_action_id=ContractActionId(r.contract_action_id) if r.contract_action_id else None,
        corrects=HoursRecordId(r.corrects) if r.corrects else None,
        superseded_by=HoursRecordId(r.superseded_by) if r.superseded_by else None,
        recorded_at=r.recorded_at,
        actor=r.actor,
    )
