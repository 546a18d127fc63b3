"""/v1/reconciliation: where the institutions' record systems (and Spójnia's records) disagree about a person,
and a worker's decision about it. Nothing is overwritten: a resolution records the decision only."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from app.api.deps import ContextDep, caller_with
from app.api.problems import AUTH_PROBLEMS, problem_responses
from app.api.rest.reconciliation_schemas import DifferenceOut, ResolveIn
from app.api.rest.schemas import Paged
from app.domain.caller import Caller, Scope
from app.domain.errors import FieldError, InvalidInput
from app.domain.ids import DifferenceId, FamilyId, PersonId
from app.domain.pagination import MAX_PAGE_SIZE, Position
from app.domain.reconciliation import Compared, DifferencePosition
from app.domain.services import reconciliation as use

router = APIRouter(tags=["reconciliation"])


def _encode(position: DifferencePosition | None) -> str | None:
    if position is None:
        return None
    raw = {"t": position.person.created_at.isoformat(), "i": str(position.person.id), "f": position.field.value}
    return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")


def _decode(cursor: str) -> DifferencePosition:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return DifferencePosition(
            person=Position(created_at=datetime.fromisoformat(raw["t"]), id=UUID(raw["i"])), field=Compared(raw["f"])
        )
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput(
            "the cursor is not one this API gave out", [FieldError("cursor", "not a valid cursor")]
        ) from None


@router.get(
    "/v1/reconciliation",
    operation_id="listReconciliationDifferences",
    summary="Where the institutions' records disagree about your persons",
    description="With `person_id` or `family_id`: every difference about that person (or the family's current "
    "members your institution serves), open or resolved. Without: the open differences about all your "
    "institution's persons, by person and field, cursor-paginated.\n\n"
    "Compared: household composition (members and roles), registered-unemployed status (a labour office's "
    "status against others' view and Spójnia's enrollments), the gmina of residence (TERYT). Each value is shown "
    "only when the access policy lets your institution see that data of that holder for the purpose "
    "(`X-Purpose`); a value it does not open is left out entirely, so it can neither be seen nor inferred.",
    response_model=Paged[DifferenceOut],
    responses=problem_responses(*AUTH_PROBLEMS, "not-found"),
)
async def list_differences(
    ctx: ContextDep,
    person_id: UUID | None = None,
    family_id: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page.")] = 50,
    cursor: Annotated[str | None, Query(max_length=300, description="`next_cursor` of the previous page.")] = None,
    caller: Caller = caller_with(Scope.PERSONS_READ),
) -> Paged[DifferenceOut]:
    if person_id is not None and family_id is not None:
        raise InvalidInput("ask about a person or a family, not both", [FieldError("family_id", "not with person_id")])
    if person_id is not None:
        found = await use.person_differences(ctx, caller, PersonId(person_id))
        return Paged(items=[DifferenceOut.of(d) for d in found], next_cursor=None)
    if family_id is not None:
        found = await use.family_differences(ctx, caller, FamilyId(family_id))
        return Paged(items=[DifferenceOut.of(d) for d in found], next_cursor=None)
    page = await use.open_differences(ctx, caller, limit=limit, after=_decode(cursor) if cursor else None)
    return Paged(items=[DifferenceOut.of(d) for d in page.items], next_cursor=_encode(page.next_after))


@router.post(
    "/v1/reconciliation/{difference_id}/resolve",
    operation_id="resolveReconciliationDifference",
    summary="Record which value is right",
    description="Records your worker's decision (the value judged right and why) and takes the difference off "
    "your institution's open list until one of its values changes. Nothing is overwritten: each institution "
    "corrects its own records. 409 when the values changed since you read them (`values_seen`); 404 when they "
    "no longer disagree.",
    response_model=DifferenceOut,
    responses=problem_responses(*AUTH_PROBLEMS, "not-found", "conflict"),
)
async def resolve_difference(
    difference_id: UUID, body: ResolveIn, ctx: ContextDep, caller: Caller = caller_with(Scope.PERSONS_WRITE)
) -> DifferenceOut:
    difference = await use.resolve_difference(
        ctx,
        caller,
        use.ResolveDifference(
            difference_id=DifferenceId(difference_id), chosen=body.chosen, values_seen=body.values_seen, note=body.note
        ),
    )
    return DifferenceOut.of(difference)
