"""Domain errors as GraphQL errors, with the same problem slugs REST uses."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from graphql import GraphQLError

from app.api.errors import problem_slug
from app.api.problems import PROBLEM_TYPES
from app.domain.errors import ActionNotAllowed, DomainError, InvalidInput, StaleVersion

T = TypeVar("T")


async def domain_call(awaitable: Awaitable[T]) -> T:
    try:
        return await awaitable
    except DomainError as error:
        kind = PROBLEM_TYPES[problem_slug(error)]
        extensions: dict[str, object] = {"code": kind.slug, "status": kind.status, "type": kind.uri}
        if isinstance(error, InvalidInput):
            extensions["errors"] = [{"field": e.field, "message": e.message} for e in error.errors]
        if isinstance(error, StaleVersion):
            extensions["current_version"] = error.current_version
        if isinstance(error, ActionNotAllowed):
            extensions["allowed_actions"] = list(error.allowed)
        raise GraphQLError(error.detail, extensions=extensions) from None
