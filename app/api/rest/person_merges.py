"""/v1/person-merges: two records of one person made one, every link kept and the merge undoable."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from app.api.deps import ContainerDep, ContextDep, IfMatch, caller_with
from app.api.idempotency import IdempotencyKey, idempotent
from app.api.problems import AUTH_PROBLEMS, IDEMPOTENCY_PROBLEMS, problem_responses
from app.api.rest.reconciliation_schemas import MergeIn, PersonMergeOut, UndoIn
from app.api.rest.responses import json_body
from app.domain.caller import Caller, Scope
from app.domain.ids import PersonId, PersonMergeId
from app.domain.services import person_merges as use

router = APIRouter(tags=["persons"])


@router.post(
    "/v1/person-merges",
    operation_id="mergePersons",
    status_code=201,
    response_model=PersonMergeOut,
    summary="Merge two records of one person",
    description="Typical case: a person registered without PESEL, identified later as one Spójnia already "
    "knows. Every link of the merged record (enrollments, family memberships, referrals, contracts, hours, "
    "benefits, outcomes, consents, source records) moves to the kept record; the merged row stays, marked, and "
    "a read of it answers 404 naming the kept record. An open enrollment (or membership) of both at the same "
    "place keeps the kept record's and ends the other, and the undo reopens it. Your institution must enroll "
    "both persons. 409 when both have a PESEL (different persons); 422 when the merged record's PESEL does not "
    "match the kept record's birth date (keep the record with the PESEL instead).",
    responses=problem_responses(*AUTH_PROBLEMS, "not-found", "conflict", *IDEMPOTENCY_PROBLEMS),
)
async def merge_persons(
    body: MergeIn,
    request: Request,
    app: ContainerDep,
    key: IdempotencyKey = None,
    caller: Caller = caller_with(Scope.PERSONS_WRITE),
) -> Response:
    command = use.MergePersons(
        kept_person_id=PersonId(body.kept_person_id),
        merged_person_id=PersonId(body.merged_person_id),
        reason=body.reason,
    )

    async def run() -> JSONResponse:
        view = await use.merge_persons(app.ctx, caller, command)
        return json_body(
            PersonMergeOut.of(view),
            status=201,
            version=view.merge.version,
            location=f"/v1/person-merges/{view.merge.id}",
        )

    return await idempotent(app.idempotency, caller, key, request.url.path, body, run)


@router.get(
    "/v1/person-merges/{merge_id}",
    operation_id="getPersonMerge",
    summary="Read a merge your institution made",
    response_model=PersonMergeOut,
    responses=problem_responses(*AUTH_PROBLEMS, "not-found"),
)
async def get_merge(merge_id: UUID, ctx: ContextDep, caller: Caller = caller_with(Scope.PERSONS_READ)) -> Response:
    view = await use.read_merge(ctx, caller, PersonMergeId(merge_id))
    return json_body(PersonMergeOut.of(view), version=view.merge.version)


@router.post(
    "/v1/person-merges/{merge_id}/undo",
    operation_id="undoPersonMerge",
    summary="Undo a merge: every link back where it was",
    description="Needs `If-Match` with the merge's ETag. Puts back every link the merge moved, reopens what it "
    "ended, returns what it set aside and the identifiers it moved, and unmarks the merged record. 409, saying "
    "why, when something changed since that cannot be put back exactly (a moved link changed or removed, a later "
    "merge into the kept record, links recorded since: see `keep_links_added_since`), or when already undone.",
    response_model=PersonMergeOut,
    responses=problem_responses(
        *AUTH_PROBLEMS, "not-found", "conflict", "precondition-failed", "precondition-required"
    ),
)
async def undo_merge(
    merge_id: UUID,
    ctx: ContextDep,
    version: IfMatch,
    body: UndoIn | None = None,
    caller: Caller = caller_with(Scope.PERSONS_WRITE),
) -> Response:
    view = await use.undo_merge(
        ctx,
        caller,
        use.UndoMerge(
            merge_id=PersonMergeId(merge_id),
            expected_version=version,
            note=body.note if body else None,
            keep_links_added_since=body.keep_links_added_since if body else False,
        ),
    )
    return json_body(PersonMergeOut.of(view), version=view.merge.version)
