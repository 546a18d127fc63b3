"""/v1/audit-events for the data-protection officer, and a person's access report (GDPR art. 15)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse, Response

from app.api.deps import ContextDep, PageDep, caller_with, encode_cursor
from app.api.problems import AUTH_PROBLEMS, problem_responses
from app.api.rest.audit_schemas import AccessReportOut, AuditEventOut
from app.api.rest.referrals import Timestamp
from app.api.rest.schemas import Paged
from app.domain.audit import AuditAction, Decision
from app.domain.caller import Caller, Scope
from app.domain.ids import PersonId
from app.domain.services import audit_trail as use

router = APIRouter(tags=["audit"])


@router.get(
    "/v1/audit-events",
    operation_id="listAuditEvents",
    summary="Your institution's audit trail: who read or changed what, when and why",
    description="Every read and change of personal data your institution's workers and systems made, oldest first. "
    "Records of an interdisciplinary team's Niebieska Karta work show only to that team's members.",
    response_model=Paged[AuditEventOut],
    responses=problem_responses(*AUTH_PROBLEMS),
)
async def list_audit_events(
    ctx: ContextDep,
    page: PageDep,
    subject_id: Annotated[UUID | None, Query(description="Only records about this person, family, referral...")] = None,
    actor: Annotated[str | None, Query(max_length=255, description="`worker:<id>`, or a token subject.")] = None,
    action: AuditAction | None = None,
    decision: Decision | None = None,
    occurred_from: Annotated[Timestamp | None, Query(description="Inclusive.")] = None,
    occurred_to: Annotated[Timestamp | None, Query(description="Exclusive.")] = None,
    caller: Caller = caller_with(Scope.AUDIT_READ),
) -> Paged[AuditEventOut]:
    where = use.AuditSearch(
        subject_id=PersonId(subject_id) if subject_id else None,
        actor=actor,
        action=action,
        decision=decision,
        occurred_from=occurred_from,
        occurred_to=occurred_to,
    )
    found = await use.search_audit_events(ctx, caller, where, page)
    return Paged(items=[AuditEventOut.of(r) for r in found.items], next_cursor=encode_cursor(found.next_after))


@router.get(
    "/v1/persons/{person_id}/access-report",
    operation_id="getPersonAccessReport",
    summary="Who looked at this person's data, when and why (JSON, or CSV with Accept: text/csv or ?format=csv)",
    description="For answering the person's request under GDPR art. 15: every institution's recorded reads and "
    "changes of their data. Only an institution that enrolls the person may produce it; producing it is audited.",
    response_model=AccessReportOut,
    responses=problem_responses(*AUTH_PROBLEMS, "not-found") | {200: {"content": {"text/csv": {}}}},
)
async def access_report(
    person_id: UUID,
    ctx: ContextDep,
    answer_format: Annotated[
        Literal["json", "csv"] | None, Query(alias="format", description="Overrides the Accept header.")
    ] = None,
    accept: Annotated[str | None, Header()] = None,
    caller: Caller = caller_with(Scope.AUDIT_READ),
) -> Response:
    report = AccessReportOut.of(await use.access_report(ctx, caller, PersonId(person_id)))
    if answer_format == "csv" or (answer_format is None and accept is not None and "text/csv" in accept):
        return Response(
            report.to_csv(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="access-report-{person_id}.csv"'},
        )
    return JSONResponse(report.model_dump(mode="json"))
