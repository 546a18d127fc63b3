"""Partnerships, diagnoses, contracts, the delivery record and monitoring figures."""

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response

from app.api.deps import ContainerDep, ContextDep, IfMatch, caller_with
from app.api.idempotency import IdempotencyKey, idempotent
from app.api.problems import AUTH_PROBLEMS, problem_responses
from app.api.rest.family_work_schemas import (
    ActionBody,
    BenefitIn,
    BenefitOut,
    ContractIn,
    ContractOut,
    DeliveryRecordOut,
    DiagnosisIn,
    DiagnosisOut,
    DifferenceOut,
    DifferencesOut,
    HoursIn,
    HoursOut,
    MonitoringOut,
    OutcomeIn,
    OutcomeOut,
    PartnershipIn,
    PartnershipOut,
    ReferFromActionIn,
    StepIn,
    TeamMemberBody,
    TermsBody,
)
from app.api.rest.referral_schemas import ReferralOut
from app.api.rest.responses import json_body
from app.domain.caller import Caller, Scope
from app.domain.contracts import ContractStep
from app.domain.diagnoses import AreaAssessment
from app.domain.ids import (
    ContractActionId,
    ContractId,
    FamilyId,
    HoursRecordId,
    InstitutionId,
    PartnershipId,
    PersonId,
    WorkerId,
)
from app.domain.partnerships import TeamMember
from app.domain.referrals import RequestedInstrument
from app.domain.services import contracts as contract_use
from app.domain.services import delivery_records as record_use
from app.domain.services import family_work as family_use
from app.domain.services.families import read_family
from app.domain.services.monitoring import monitoring_report

router = APIRouter()
STEP_PROBLEMS = problem_responses(
    *AUTH_PROBLEMS, "not-found", "conflict", "precondition-failed", "precondition-required"
)


def _team(members: list[TeamMemberBody]) -> list[TeamMember]:
    return [
        TeamMember(worker_id=WorkerId(m.worker_id), institution_id=InstitutionId(m.institution_id)) for m in members
    ]


@router.post(
    "/v1/partnerships",
    operation_id="createPartnership",
    status_code=201,
    response_model=PartnershipOut,
    summary="Register a local partnership with its coordinating and mobile teams",
    tags=["partnerships"],
    responses=problem_responses(*AUTH_PROBLEMS),
)
async def create_partnership(
    body: PartnershipIn, ctx: ContextDep, caller: Caller = caller_with(Scope.ADMIN)
) -> Response:
    partnership = await family_use.create_partnership(
        ctx,
        caller,
        family_use.NewPartnership(
            name=body.name,
            teryt=body.teryt,
            members=[InstitutionId(m) for m in body.members],
            coordinating_team=_team(body.coordinating_team),
            mobile_team=_team(body.mobile_team),
        ),
    )
    return json_body(PartnershipOut.of(partnership), status=201, location=f"/v1/partnerships/{partnership.id}")


@router.get(
    "/v1/partnerships/{partnership_id}",
    operation_id="getPartnership",
    summary="Read a partnership",
    tags=["partnerships"],
    responses=problem_responses(*AUTH_PROBLEMS, "not-found"),
)
async def get_partnership(partnership_id: UUID, ctx: ContextDep, caller: Caller = caller_with()) -> PartnershipOut:
    return PartnershipOut.of(await family_use.read_partnership(ctx, caller, PartnershipId(partnership_id)))


@router.post(
    "/v1/families/{family_id}/diagnoses",
    operation_id="addDiagnosis",
    status_code=201,
    response_model=DiagnosisOut,
    summary="Add a diagnosis by life area (earlier ones stay)",
    tags=["families"],
    responses=problem_responses(*AUTH_PROBLEMS, "not-found"),
)
async def add_diagnosis(
    family_id: UUID, body: DiagnosisIn, ctx: ContextDep, caller: Caller = caller_with(Scope.FAMILIES_WRITE)
) -> Response:
    diagnosis = await family_use.add_diagnosis(
        ctx,
        caller,
        family_use.NewDiagnosis(
            family_id=FamilyId(family_id),
            diagnosed_on=body.diagnosed_on,
            areas=[
                AreaAssessment(area=a.area, resources=a.resources, deficits=a.deficits, urgent_needs=a.urgent_needs)
                for a in body.areas
            ],
        ),
    )
    return json_body(DiagnosisOut.of(diagnosis), status=201, location=f"/v1/families/{family_id}/diagnoses")


@router.get(
    "/v1/families/{family_id}/diagnoses",
    operation_id="listDiagnoses",
    tags=["families"],
    summary="A family's diagnoses, oldest first (the last is current)",
    responses=problem_responses(*AUTH_PROBLEMS, "not-found"),
)
async def list_diagnoses(
    family_id: UUID, ctx: ContextDep, caller: Caller = caller_with(Scope.FAMILIES_READ)
) -> list[DiagnosisOut]:
    return [DiagnosisOut.of(d) for d in await family_use.list_diagnoses(ctx, caller, FamilyId(family_id))]


def _action(a: ActionBody) -> contract_use.NewAction:
    return contract_use.NewAction(
        id=ContractActionId(a.id) if a.id else None,
        description=a.description,
        instrument=RequestedInstrument(code_list=a.instrument.code_list, code=a.instrument.code)
        if a.instrument
        else None,
        service_id=a.service_id,
        member_ids=[PersonId(m) for m in a.member_ids],
        responsible=a.responsible,
        due=a.due,
        status=a.status,
    )


def _terms(t: TermsBody) -> contract_use.NewTerms:
    return contract_use.NewTerms(goals=t.goals, actions=[_action(a) for a in t.actions])


@router.post(
    "/v1/contracts",
    operation_id="createContract",
    status_code=201,
    response_model=ContractOut,
    summary="Draft a family contract with its basket of services",
    tags=["contracts"],
    responses=problem_responses(*AUTH_PROBLEMS, "idempotency-key-reused", "idempotency-in-progress"),
)
async def create_contract(
    body: ContractIn,
    request: Request,
    app: ContainerDep,
    key: IdempotencyKey = None,
    caller: Caller = caller_with(Scope.CONTRACTS_WRITE),
) -> Response:
    command = contract_use.NewContract(
        kind=body.kind,
        partnership_id=PartnershipId(body.partnership_id),
        family_id=FamilyId(body.family_id) if body.family_id else None,
        person_id=PersonId(body.person_id) if body.person_id else None,
        institutions=[InstitutionId(i) for i in body.institutions],
        signing_members=[PersonId(p) for p in body.signing_members],
        terms=_terms(body.terms),
    )

    async def run() -> JSONResponse:
        contract = await contract_use.create_contract(app.ctx, caller, command)
        return json_body(
            ContractOut.of(contract), status=201, version=contract.version, location=f"/v1/contracts/{contract.id}"
        )

    return await idempotent(app.idempotency, caller, key, request.url.path, body, run)


@router.get(
    "/v1/contracts/{contract_id}",
    operation_id="getContract",
    response_model=ContractOut,
    tags=["contracts"],
    summary="Read a contract with its signatures, reviews and earlier versions",
    responses=problem_responses(*AUTH_PROBLEMS, "not-found"),
)
async def get_contract(
    contract_id: UUID, ctx: ContextDep, caller: Caller = caller_with(Scope.CONTRACTS_READ)
) -> Response:
    contract = await contract_use.read_contract(ctx, caller, ContractId(contract_id))
    return json_body(ContractOut.of(contract), version=contract.version)


@router.get(
    "/v1/contracts/{contract_id}/differences",
    operation_id="getContractDifferences",
    tags=["contracts"],
    summary="What changed between two versions",
    responses=problem_responses(*AUTH_PROBLEMS, "not-found"),
)
async def differences(
    contract_id: UUID,
    ctx: ContextDep,
    from_version: Annotated[int, Query(alias="from", ge=1, le=1000)],
    to_version: Annotated[int, Query(alias="to", ge=1, le=1000)],
    caller: Caller = caller_with(Scope.CONTRACTS_READ),
) -> DifferencesOut:
    found = await contract_use.contract_differences(ctx, caller, ContractId(contract_id), from_version, to_version)
    return DifferencesOut(items=[DifferenceOut.of(d) for d in found])


_STEPS = {
    ContractStep.SUBMIT: ("submitContract", "Submit for approval (a party)"),
    ContractStep.APPROVE: ("approveContract", "Approve (a member of the partnership's coordinating team, PZKW)"),
    ContractStep.SIGN: ("signContract", "Sign for your institution, or record a family member's signature"),
    ContractStep.AMEND: ("amendContract", "Amend: a new version, to be approved and signed again"),
    ContractStep.REVIEW: ("reviewContract", "Record a dated review with its findings"),
    ContractStep.COMPLETE: ("completeContract", "Close as completed"),
    ContractStep.TERMINATE: ("terminateContract", "Terminate with a reason"),
}


def _register_step(step: ContractStep, operation_id: str, summary: str) -> None:
    async def endpoint(
        contract_id: UUID,
        ctx: ContextDep,
        version: IfMatch,
        body: StepIn | None = None,
        caller: Caller = caller_with(Scope.CONTRACTS_WRITE),
    ) -> Response:
        given = body or StepIn()
        contract = await contract_use.take_step(
            ctx,
            caller,
            contract_use.TakeStep(
                contract_id=ContractId(contract_id),
                expected_version=version,
                step=step,
                signer=given.signer,
                method=given.method,
                terms=_terms(given.terms) if given.terms else None,
                review_on=given.review_on,
                findings=given.findings,
                reason=given.reason,
            ),
        )
        return json_body(ContractOut.of(contract), version=contract.version)

    router.add_api_route(
        f"/v1/contracts/{{contract_id}}/{step.value}",
        endpoint,
        methods=["POST"],
        operation_id=operation_id,
        summary=summary,
        response_model=ContractOut,
        responses=STEP_PROBLEMS,
        tags=["contracts"],
        description="Needs `If-Match`. A step not allowed now answers 409 with `allowed_steps`.",
    )


for _step, (_operation, _summary) in _STEPS.items():
    _register_step(_step, _operation, _summary)


def _hours(body: HoursIn) -> record_use.RecordHours:
    return record_use.RecordHours(
        role=body.role,
        person_id=PersonId(body.person_id) if body.person_id else None,
        family_id=FamilyId(body.family_id) if body.family_id else None,
        on=body.on,
        hours=Decimal(body.hours),
        contract_action_id=ContractActionId(body.contract_action_id) if body.contract_action_id else None,
    )


@router.post(
    "/v1/deliveries",
    operation_id="recordHours",
    status_code=201,
    response_model=HoursOut,
    tags=["deliveries"],
    summary="Record specialist hours",
    responses=problem_responses(*AUTH_PROBLEMS),
)
async def record_hours(
    body: HoursIn, ctx: ContextDep, caller: Caller = caller_with(Scope.DELIVERIES_WRITE)
) -> Response:
    record = await record_use.record_hours(ctx, caller, _hours(body))
    return json_body(HoursOut.of(record), status=201, location=f"/v1/deliveries/{record.id}")


@router.post(
    "/v1/deliveries/{record_id}/correct",
    operation_id="correctHours",
    status_code=201,
    response_model=HoursOut,
    tags=["deliveries"],
    summary="Correct a record of hours (the old one stays, superseded)",
    responses=problem_responses(*AUTH_PROBLEMS, "not-found", "conflict"),
)
async def correct_hours(
    record_id: UUID, body: HoursIn, ctx: ContextDep, caller: Caller = caller_with(Scope.DELIVERIES_WRITE)
) -> Response:
    record = await record_use.correct_hours(ctx, caller, HoursRecordId(record_id), _hours(body))
    return json_body(HoursOut.of(record), status=201, location=f"/v1/deliveries/{record.id}")


@router.post(
    "/v1/benefits",
    operation_id="recordBenefit",
    status_code=201,
    response_model=BenefitOut,
    tags=["deliveries"],
    summary="Record a cash benefit paid (PLN)",
    responses=problem_responses(*AUTH_PROBLEMS),
)
async def record_benefit(
    body: BenefitIn, ctx: ContextDep, caller: Caller = caller_with(Scope.DELIVERIES_WRITE)
) -> Response:
    benefit = await record_use.record_benefit(
        ctx,
        caller,
        record_use.RecordBenefit(
            legal_basis=body.legal_basis,
            amount=Decimal(body.amount),
            paid_on=body.paid_on,
            person_id=PersonId(body.person_id),
            period_from=body.period_from,
            period_to=body.period_to,
        ),
    )
    return json_body(BenefitOut.of(benefit), status=201)


@router.post(
    "/v1/outcomes",
    operation_id="recordOutcome",
    status_code=201,
    response_model=OutcomeOut,
    tags=["deliveries"],
    summary="Record an outcome (training completed, internship, job...)",
    responses=problem_responses(*AUTH_PROBLEMS),
)
async def record_outcome(
    body: OutcomeIn, ctx: ContextDep, caller: Caller = caller_with(Scope.DELIVERIES_WRITE)
) -> Response:
    outcome = await record_use.record_outcome(
        ctx,
        caller,
        record_use.RecordOutcome(
            person_id=PersonId(body.person_id),
            kind=body.kind,
            on=body.on,
            source_type=body.source_type,
            source_id=body.source_id,
            note=body.note,
        ),
    )
    return json_body(OutcomeOut.of(outcome), status=201)


@router.get(
    "/v1/families/{family_id}/delivery-record",
    operation_id="getFamilyDeliveryRecord",
    tags=["deliveries"],
    summary="Hours, benefits and outcomes your institution recorded for a family and its members",
    responses=problem_responses(*AUTH_PROBLEMS, "not-found"),
)
async def family_delivery_record(
    family_id: UUID, ctx: ContextDep, caller: Caller = caller_with(Scope.FAMILIES_READ)
) -> DeliveryRecordOut:
    view = await read_family(ctx, caller, FamilyId(family_id))
    persons = [m.person.person.id for m in view.members]
    record = await record_use.delivery_record(ctx, caller, persons, [view.family.id])
    return DeliveryRecordOut(
        hours=[HoursOut.of(h) for h in record.hours],
        benefits=[BenefitOut.of(b) for b in record.benefits],
        outcomes=[OutcomeOut.of(o) for o in record.outcomes],
    )


@router.get(
    "/v1/reports/monitoring",
    operation_id="getMonitoringReport",
    response_model=MonitoringOut,
    tags=["reports"],
    summary="Monitoring figures of a partnership for a period (JSON, or CSV with Accept: text/csv)",
    responses=problem_responses(*AUTH_PROBLEMS, "not-found") | {200: {"content": {"text/csv": {}}}},
)
async def monitoring(
    ctx: ContextDep,
    partnership: UUID,
    from_date: Annotated[date, Query(alias="from")],
    to_date: Annotated[date, Query(alias="to")],
    accept: Annotated[str | None, Header()] = None,
    caller: Caller = caller_with(Scope.REPORTS_READ),
) -> Response:
    report = MonitoringOut.of(await monitoring_report(ctx, caller, PartnershipId(partnership), from_date, to_date))
    if accept and "text/csv" in accept:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(("section", "key", "value"))
        writer.writerows(report.csv_rows())
        return Response(
            out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="monitoring.csv"'},
        )
    return JSONResponse(report.model_dump(mode="json"))


@router.post(
    "/v1/contracts/{contract_id}/actions/{action_id}/referral",
    operation_id="referFromContractAction",
    status_code=201,
    response_model=ReferralOut,
    tags=["contracts"],
    summary="Send a referral for an action of the contract (the action's members, instrument and a link back)",
    responses=problem_responses(*AUTH_PROBLEMS, "not-found"),
)
async def refer_from_action(
    contract_id: UUID,
    action_id: UUID,
    body: ReferFromActionIn,
    ctx: ContextDep,
    caller: Caller = caller_with(Scope.REFERRALS_WRITE),
) -> Response:
    view = await contract_use.refer_from_action(
        ctx,
        caller,
        contract_use.ReferFromAction(
            contract_id=ContractId(contract_id),
            action_id=ContractActionId(action_id),
            receiver_id=InstitutionId(body.receiver_id),
            reason=body.reason,
            justification=body.justification,
        ),
    )
    return json_body(
        ReferralOut.of(view), status=201, version=view.referral.version, location=f"/v1/referrals/{view.referral.id}"
    )
