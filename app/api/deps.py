"""Dependencies shared by the routers: the container, the caller, paging, ETags."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Header, Query, Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2, SecurityScopes

from app.adapters.auth.tokens import InvalidToken
from app.api.errors import ApiError
from app.bootstrap import Container
from app.domain.caller import Caller, Scope
from app.domain.errors import FieldError, InvalidInput
from app.domain.ids import WorkerId
from app.domain.pagination import MAX_PAGE_SIZE, PageRequest, Position
from app.domain.services.clients import resolve_caller
from app.domain.services.context import UseCaseContext

SCOPE_DESCRIPTIONS = {
    Scope.PERSONS_READ: "read persons the institution may see",
    Scope.PERSONS_WRITE: "register persons and change their enrollments",
    Scope.FAMILIES_READ: "read families",
    Scope.FAMILIES_WRITE: "create families and change their members",
    Scope.CONTRACTS_READ: "read contracts",
    Scope.CONTRACTS_WRITE: "change contracts",
    Scope.REFERRALS_READ: "read referrals",
    Scope.REFERRALS_WRITE: "send and answer referrals",
    Scope.DELIVERIES_WRITE: "record specialist hours and benefits",
    Scope.DIRECTORY_WRITE: "edit the directory of services",
    Scope.AGREEMENTS_WRITE: "enter agreements between institutions",
    Scope.AUDIT_READ: "read the audit trail (data-protection officer)",
    Scope.REPORTS_READ: "read monitoring figures",
    Scope.ADMIN: "administer institutions and workers",
}

oauth2 = OAuth2(
    flows=OAuthFlows(
        clientCredentials=OAuthFlowClientCredentials(
            tokenUrl="/oauth/token", scopes={s.value: d for s, d in SCOPE_DESCRIPTIONS.items()}
        )
    ),
    scheme_name="oauth2",
    description="Bearer JWT from Spójnia's client-credentials endpoint or the county's OpenID Connect provider.",
    auto_error=False,
)


def container(request: Request) -> Container:
    found: Container = request.app.state.container
    return found


# Dependencies are coroutines even where they need not await: FastAPI runs a plain function in a worker thread,
# and the hop costs more than the lookup it wraps on every request.
async def container_dep(request: Request) -> Container:
    return container(request)


ContainerDep = Annotated[Container, Depends(container_dep)]


async def use_cases(request: Request) -> UseCaseContext:
    return container(request).ctx


ContextDep = Annotated[UseCaseContext, Depends(use_cases)]


async def current_caller(
    security_scopes: SecurityScopes,
    request: Request,
    authorization: Annotated[str | None, Depends(oauth2)],
    acting_worker: Annotated[
        UUID | None,
        Header(alias="X-Acting-Worker", description="A system token acts for this worker of its institution."),
    ] = None,
    purpose: Annotated[
        str | None,
        Header(
            alias="X-Purpose",
            max_length=40,
            description="Why you read another institution's data: a SharingPurpose code. Without it, the purpose "
            "of the door is assumed (FAMILY_COOPERATION for persons and families, REFERRAL for referrals).",
        ),
    ] = None,
) -> Caller:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise InvalidToken("a bearer token is required")
    app_container = container(request)
    claims = await app_container.verifier.verify(authorization[7:].strip())
    caller = await resolve_caller(
        app_container.ctx, claims, WorkerId(acting_worker) if acting_worker else None, request.state.request_id
    )
    if purpose is not None:
        caller = replace(caller, purpose=purpose)
    for scope in security_scopes.scopes:
        caller.require(Scope(scope))
    request.state.caller = caller
    pending: ApiError | None = getattr(request.state, _PENDING_PRECONDITION, None)
    if pending is not None:
        raise pending
    return caller


def caller_with(*scopes: Scope) -> Any:
    """`caller: Caller = caller_with(Scope.X)`: authenticates, checks the scopes, documents them in OpenAPI."""
    return Security(current_caller, scopes=[s.value for s in scopes])


AnyCaller = Annotated[Caller, Security(current_caller)]


def encode_cursor(position: Position | None) -> str | None:
    if position is None:
        return None
    raw = json.dumps({"t": position.created_at.isoformat(), "i": str(position.id)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> Position:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return Position(created_at=datetime.fromisoformat(raw["t"]), id=UUID(raw["i"]))
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput(
            "the cursor is not one this API gave out", [FieldError("cursor", "not a valid cursor")]
        ) from None


def page_of(limit: int, cursor: str | None) -> PageRequest:
    return PageRequest(limit=limit, after=_decode_cursor(cursor) if cursor else None)


async def page_request(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page.")] = 50,
    cursor: Annotated[str | None, Query(max_length=200, description="`next_cursor` of the previous page.")] = None,
) -> PageRequest:
    return page_of(limit, cursor)


PageDep = Annotated[PageRequest, Depends(page_request)]


def etag(version: int) -> str:
    return f'"{version}"'


_PENDING_PRECONDITION = "pending_precondition"


def _expected_version(value: str | None) -> int:
    if value is None:
        raise ApiError("precondition-required", "send If-Match with the ETag you last read")
    tag = value.strip()
    if tag.startswith("W/"):
        tag = tag[2:]
    tag = tag.strip('"')
    if not tag.isdigit() or len(tag) > 9:
        raise ApiError("precondition-failed", "the If-Match value is not an ETag of this resource")
    return int(tag)


async def if_match(
    request: Request,
    value: Annotated[
        str | None,
        Header(alias="If-Match", description="The ETag last read; required for changes."),
    ] = None,
) -> int:
    """The version an If-Match names; 428 without one, 412 for one that is no ETag of ours.

    Who asks comes first: a caller without a valid token gets 401 and one without the scope 403,
    whatever their If-Match. Dependencies run in the order the endpoint declares them, so when the
    caller is not resolved yet the problem waits in the request state for `current_caller` to raise
    it; the version returned meanwhile is 0, which no record has, so a change can never slip through.
    """
    try:
        return _expected_version(value)
    except ApiError as problem:
        if getattr(request.state, "caller", None) is not None:
            raise
        setattr(request.state, _PENDING_PRECONDITION, problem)
        return 0


IfMatch = Annotated[int, Depends(if_match)]
