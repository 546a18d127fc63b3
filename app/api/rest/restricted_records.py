"""/v1/restricted-records: the Niebieska Karta procedure, for the owning interdisciplinary team only.

Everything about these records hangs under this one prefix, so that no person, family or other
resource's route can carry them. For anyone but the owning team a record is an unknown id (404),
and a list or a creation is refused as a whole (403) whatever it names.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from app.api.deps import ContainerDep, ContextDep, IfMatch, PageDep, caller_with, encode_cursor
from app.api.idempotency import IdempotencyKey, idempotent
from app.api.problems import AUTH_PROBLEMS, IDEMPOTENCY_PROBLEMS, problem_responses
from app.api.rest.responses import json_body
from app.api.rest.schemas import Code, Paged, Strict
from app.domain.caller import Caller, Scope
from app.domain.ids import FamilyId, PersonId, RestrictedRecordId
from app.domain.restricted_records import NOTE_MAX_LENGTH, RestrictedRecord
from app.domain.services import restricted_records as use

router = APIRouter(tags=["restricted-records"])

WHO = (
    "Only for a worker of the interdisciplinary team (institution type ZI) that owns the record, whose token "
    "carries the role `interdisciplinary_team`."
)


class RestrictedRecordIn(Strict):
    form: Code = Field(description="A code of the BlueCardForm list (NK_A ... NK_D).", examples=["NK_A"])
    procedure_date: date = Field(description="The day of this step of the procedure; not in the future.")
    person_id: UUID | None = Field(default=None, description="The person the record is about; or family_id.")
    family_id: UUID | None = Field(default=None, description="The family the record is about; or person_id.")
    note: str | None = Field(default=None, max_length=NOTE_MAX_LENGTH)


class RestrictedRecordChange(Strict):
    form: Code | None = None
    procedure_date: date | None = None
    note: str | None = Field(default=None, max_length=NOTE_MAX_LENGTH)
    clear_note: bool = Field(default=False, description="Remove the note.")


class RestrictedRecordOut(BaseModel):
    id: UUID
    team_id: UUID = Field(description="The interdisciplinary team that owns the record.")
    form: str
    procedure_date: date
    person_id: UUID | None
    family_id: UUID | None
    note: str | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, r: RestrictedRecord) -> RestrictedRecordOut:
        return cls(
            id=r.id,
            team_id=r.team_id,
            form=r.form,
            procedure_date=r.procedure_date,
            person_id=r.person_id,
            family_id=r.family_id,
            note=r.note,
            version=r.version,
            created_at=r.created_at,
            updated_at=r.updated_at,
        )


def _record(record: RestrictedRecord, *, status: int = 200, location: bool = False) -> JSONResponse:
    return json_body(
        RestrictedRecordOut.of(record),
        status=status,
        version=record.version,
        location=f"/v1/restricted-records/{record.id}" if location else None,
    )


@router.post(
    "/v1/restricted-records",
    operation_id="createRestrictedRecord",
    status_code=201,
    response_model=RestrictedRecordOut,
    summary="Record a step of the Niebieska Karta procedure about a person or a family",
    description=f"{WHO} Anyone else gets 403, whatever the body names. The person or family is named by id; "
    "the team need not enroll them. The record emits no event and counts in no report.",
    responses=problem_responses(*AUTH_PROBLEMS, "conflict", *IDEMPOTENCY_PROBLEMS),
)
async def create_restricted_record(
    body: RestrictedRecordIn,
    request: Request,
    app: ContainerDep,
    key: IdempotencyKey = None,
    caller: Caller = caller_with(Scope.PERSONS_WRITE),
) -> Response:
    # Before a replay too: a stored answer is given back only to someone who may still see it.
    await use.require_team_member(app.ctx, caller)
    command = use.OpenRestrictedRecord(
        form=body.form,
        procedure_date=body.procedure_date,
        person_id=PersonId(body.person_id) if body.person_id else None,
        family_id=FamilyId(body.family_id) if body.family_id else None,
        note=body.note,
    )

    async def run() -> JSONResponse:
        return _record(await use.open_restricted_record(app.ctx, caller, command), status=201, location=True)

    return await idempotent(app.idempotency, caller, key, request.url.path, body, run)


@router.get(
    "/v1/restricted-records",
    operation_id="listRestrictedRecords",
    summary="Your team's restricted records, about one person or family when asked",
    description=f"{WHO} Anyone else gets 403, whatever the filters.",
    response_model=Paged[RestrictedRecordOut],
    responses=problem_responses(*AUTH_PROBLEMS),
)
async def list_restricted_records(
    ctx: ContextDep,
    page: PageDep,
    person_id: UUID | None = None,
    family_id: UUID | None = None,
    caller: Caller = caller_with(Scope.PERSONS_READ),
) -> Paged[RestrictedRecordOut]:
    found = await use.list_restricted_records(
        ctx,
        caller,
        page,
        person_id=PersonId(person_id) if person_id else None,
        family_id=FamilyId(family_id) if family_id else None,
    )
    return Paged(items=[RestrictedRecordOut.of(r) for r in found.items], next_cursor=encode_cursor(found.next_after))


@router.get(
    "/v1/restricted-records/{record_id}",
    operation_id="getRestrictedRecord",
    summary="Read a restricted record",
    description=f"{WHO} For anyone else the record is not found, as an unknown id is.",
    response_model=RestrictedRecordOut,
    responses=problem_responses(*AUTH_PROBLEMS, "not-found"),
)
async def get_restricted_record(
    record_id: UUID, ctx: ContextDep, caller: Caller = caller_with(Scope.PERSONS_READ)
) -> Response:
    return _record(await use.read_restricted_record(ctx, caller, RestrictedRecordId(record_id)))


@router.patch(
    "/v1/restricted-records/{record_id}",
    operation_id="updateRestrictedRecord",
    summary="Correct a restricted record's form, date or note",
    description=f"{WHO} For anyone else the record is not found, as an unknown id is. The subject never changes.",
    response_model=RestrictedRecordOut,
    responses=problem_responses(*AUTH_PROBLEMS, "not-found", "precondition-failed", "precondition-required"),
)
async def update_restricted_record(
    record_id: UUID,
    body: RestrictedRecordChange,
    ctx: ContextDep,
    version: IfMatch,
    caller: Caller = caller_with(Scope.PERSONS_WRITE),
) -> Response:
    command = use.CorrectRestrictedRecord(
        record_id=RestrictedRecordId(record_id),
        expected_version=version,
        form=body.form,
        procedure_date=body.procedure_date,
        note=body.note,
        clear_note=body.clear_note,
    )
    return _record(await use.correct_restricted_record(ctx, caller, command))
