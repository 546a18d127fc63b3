"""Domain and HTTP errors mapped to problem details in one table, for REST (and GraphQL)."""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from app.adapters.auth.tokens import InvalidToken
from app.adapters.db.engine import database_unreachable
from app.api.problems import FieldProblem, problem_response
from app.domain.caller import MissingScope
from app.domain.errors import (
    ActionNotAllowed,
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RateLimited,
    SharingRefused,
    StaleVersion,
)

log = logging.getLogger("spojnia.errors")

_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


class ApiError(Exception):
    """An error of the HTTP layer itself (headers, keys), with its problem slug."""

    def __init__(self, slug: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.slug = slug
        self.detail = detail
        self.headers = headers


# Most specific first: the first matching class decides the problem type.
DOMAIN_PROBLEMS: list[tuple[type[DomainError], str]] = [
    (InvalidInput, "validation-error"),
    (NotFound, "not-found"),
    (MissingScope, "insufficient-scope"),
    (SharingRefused, "sharing-refused"),
    (RateLimited, "rate-limited"),
    (PermissionDenied, "forbidden"),
    (StaleVersion, "precondition-failed"),
    (Conflict, "conflict"),
]


def problem_slug(error: DomainError) -> str:
    for cls, slug in DOMAIN_PROBLEMS:
        if isinstance(error, cls):
            return slug
    return "conflict"


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


async def _domain_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)  # noqa: S101 - registered for DomainError only
    errors = (
        [FieldProblem(field=e.field, message=e.message) for e in error.errors]
        if isinstance(error, InvalidInput)
        else None
    )
    headers = {"ETag": f'"{error.current_version}"'} if isinstance(error, StaleVersion) else None
    if isinstance(error, MissingScope):
        headers = {"WWW-Authenticate": 'Bearer error="insufficient_scope"'}
    if isinstance(error, RateLimited):
        headers = {"Retry-After": str(error.retry_after_seconds)}
    # A refused transition names what may be done instead, so a program can act on it.
    extra = {"allowed_actions": list(error.allowed)} if isinstance(error, ActionNotAllowed) else None
    return problem_response(
        problem_slug(error), error.detail, request_id=_request_id(request), errors=errors, headers=headers, extra=extra
    )


async def _api_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)  # noqa: S101
    return problem_response(error.slug, error.detail, request_id=_request_id(request), headers=error.headers)


async def _invalid_token(request: Request, error: Exception) -> JSONResponse:
    return problem_response(
        "unauthorized",
        str(error),
        request_id=_request_id(request),
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def _location(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) if parts else "body"


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)  # noqa: S101
    # Pydantic's `input` is left out on purpose: it may hold a PESEL or a name.
    errors = [
        FieldProblem(
            # A body that is no JSON at all is located by its character offset: name the body instead.
            field="body" if e.get("type") == "json_invalid" else _location(tuple(e.get("loc", ()))),
            message=str(e.get("msg", "invalid")),
        )
        for e in error.errors()
    ]
    return problem_response(
        "validation-error", "the request is not valid", request_id=_request_id(request), errors=errors
    )


_STATUS_SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    412: "precondition-failed",
    415: "unsupported-media-type",
    422: "validation-error",
    428: "precondition-required",
}


def _allowed_methods(request: Request) -> str | None:
    """Every method the path answers to, as the published document lists them.

    FastAPI's own 405 names only the methods of the first route matching the path (`Allow: POST` on
    `/v1/institutions`, which also answers GET); None for a path the document does not describe."""
    path = request.url.path
    for template, item in request.app.openapi().get("paths", {}).items():
        literal_parts = re.split(r"\{[^}/]+\}", template)
        if re.fullmatch("[^/]+".join(re.escape(part) for part in literal_parts), path):
            return ", ".join(sorted(method.upper() for method in item if method in _HTTP_METHODS))
    return None


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)  # noqa: S101
    slug = _STATUS_SLUGS.get(error.status_code, "bad-request" if error.status_code < 500 else "internal-error")
    headers = dict(error.headers or {})
    allowed = _allowed_methods(request) if error.status_code == 405 else None
    if allowed:
        headers["Allow"] = allowed
    # The problem's `status` is always the answer's, also for a status without a problem type of its own.
    return problem_response(
        slug, str(error.detail), request_id=_request_id(request), headers=headers, status=error.status_code
    )


async def _client_gone(request: Request, error: Exception) -> JSONResponse:
    # The client hung up before its request was read (a timeout on its side, a load test ending): nothing of
    # ours failed, and nobody reads the answer; an error in the log would call someone out for nothing.
    log.info("client closed the connection before its request was read", extra={"request_id": _request_id(request)})
    return problem_response(
        "bad-request", "the client closed the connection before its request was read", request_id=_request_id(request)
    )


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    if database_unreachable(error):
        log.warning("database unreachable: %s", type(error).__name__, extra={"request_id": _request_id(request)})
        return problem_response(
            "service-unavailable", None, request_id=_request_id(request), headers={"Retry-After": RETRY_AFTER}
        )
    log.exception("unhandled error", extra={"request_id": _request_id(request)})
    return problem_response("internal-error", None, request_id=_request_id(request))


# Long enough for a pool to reconnect or a primary to be promoted, short enough for a worker waiting at a desk.
RETRY_AFTER = "5"


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(InvalidToken, _invalid_token)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_exception_handler(Exception, _unexpected)
