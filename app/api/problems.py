"""RFC 9457 problem details: the problem types this API answers with, documented in one table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

PROBLEM_MEDIA_TYPE = "application/problem+json"


@dataclass(frozen=True, slots=True)
class ProblemType:
    slug: str
    title: str
    status: int
    description: str

    @property
    def uri(self) -> str:
        return f"/problems/{self.slug}"


_TYPES = [
    ProblemType(
        "bad-request",
        "Unreadable request",
        400,
        "The request cannot be read at all: a body that is not UTF-8 or not in the declared media type.",
    ),
    ProblemType(
        "validation-error",
        "Invalid request",
        422,
        "The body, a parameter or a header breaks a rule; `errors` lists each field and why.",
    ),
    ProblemType(
        "unauthorized",
        "Authentication required",
        401,
        "No bearer token, or one that is malformed, wrongly signed, expired or from an untrusted issuer.",
    ),
    ProblemType(
        "insufficient-scope", "Missing scope", 403, "The token is valid but lacks the scope this operation needs."
    ),
    ProblemType(
        "forbidden",
        "Not allowed",
        403,
        "The caller may see the record but may not take this action on it, or acts for a worker who is not theirs.",
    ),
    ProblemType(
        "not-found",
        "Not found",
        404,
        "No such record, or one the caller's institution may not see: the two are not told apart.",
    ),
    ProblemType(
        "sharing-refused",
        "No ground to share",
        403,
        "No agreement in force (between institutions acting under statute) or consent of the person (for any other "
        "institution) lets this data go to the receiver for this purpose; `detail` says which is missing.",
    ),
    ProblemType(
        "rate-limited",
        "Too many requests",
        429,
        "This client made too many requests of this kind in the current window; retry after `Retry-After` seconds.",
    ),
    ProblemType("method-not-allowed", "Method not allowed", 405, "The resource does not answer to this HTTP method."),
    ProblemType(
        "conflict",
        "Conflict with the current state",
        409,
        "The request clashes with the record's state (already a member, already ended, ...).",
    ),
    ProblemType(
        "idempotency-in-progress",
        "Request with this key still running",
        409,
        "A request with the same Idempotency-Key has not finished yet; retry shortly.",
    ),
    ProblemType(
        "idempotency-key-reused",
        "Idempotency key used with another body",
        422,
        "The Idempotency-Key was used before with a different request body.",
    ),
    ProblemType(
        "precondition-failed",
        "Stale version",
        412,
        "The If-Match ETag is not the record's current one: read it again and reapply the change.",
    ),
    ProblemType(
        "precondition-required",
        "If-Match required",
        428,
        "Changes to this resource need an If-Match header with the ETag last read.",
    ),
    ProblemType("unsupported-media-type", "Unsupported media type", 415, "Send application/json."),
    ProblemType(
        "service-unavailable",
        "Service unavailable",
        503,
        "The database cannot be reached just now; nothing was saved. Try again after Retry-After seconds.",
    ),
    ProblemType(
        "internal-error",
        "Internal error",
        500,
        "Something failed on our side; nothing was half-saved. Quote the request id when reporting it.",
    ),
]

PROBLEM_TYPES: dict[str, ProblemType] = {t.slug: t for t in _TYPES}


class FieldProblem(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem detail; `GET {type}` explains its type."""

    type: str = Field(
        description="The problem type, one of: " + ", ".join(f"`{t.uri}`" for t in _TYPES) + ".",
        examples=["/problems/validation-error"],
    )
    title: str = Field(description="The type's title; the same for every problem of the type.")
    status: int = Field(description="The HTTP status of the answer.")
    detail: str | None = Field(default=None, description="What went wrong this time, for a person to read.")
    instance: str | None = None
    request_id: str | None = Field(default=None, description="Quote it when reporting a problem.")
    errors: list[FieldProblem] | None = Field(
        default=None, description="For validation problems: each field (dotted path) that breaks a rule and why."
    )
    allowed_actions: list[str] | None = Field(
        default=None, description="For a conflict with the record's state: the actions its state allows."
    )


def problem_response(
    slug: str,
    detail: str | None = None,
    *,
    request_id: str | None = None,
    errors: list[FieldProblem] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
    status: int | None = None,
) -> JSONResponse:
    kind = PROBLEM_TYPES[slug]
    status = status or kind.status
    body = Problem(
        type=kind.uri, title=kind.title, status=status, detail=detail, request_id=request_id, errors=errors
    ).model_dump(exclude_none=True)
    body.update(extra or {})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def problem_responses(*slugs: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the problems an operation may answer with.

    The `Problem` component itself is registered by `app.api.openapi`."""
    by_status: dict[int, list[ProblemType]] = {}
    for slug in slugs:
        kind = PROBLEM_TYPES[slug]
        by_status.setdefault(kind.status, []).append(kind)
    # No `model`: FastAPI would document the problem under application/json as well.
    return {
        status: {
            "description": "\n".join(f"- `{k.uri}`: {k.description}" for k in kinds),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status, kinds in sorted(by_status.items())
    }


AUTH_PROBLEMS = ("unauthorized", "insufficient-scope", "forbidden", "validation-error")
IDEMPOTENCY_PROBLEMS = ("idempotency-key-reused", "idempotency-in-progress")
"""What a creation honouring `Idempotency-Key` may answer besides its own problems."""
