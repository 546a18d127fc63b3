"""The published OpenAPI document: FastAPI's output made exact for integrators.

FastAPI documents every 422 as its own `HTTPValidationError`; this API answers problem details
instead, so those responses become the `Problem` schema under `application/problem+json`. Every
operation declares its security explicitly (`[]` for the public ones); every secured operation
documents the 401 and 403 problems the authentication layer answers with, and every operation with a
body the 400 of an unreadable one, even where its router forgot.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from pydantic.json_schema import models_json_schema

from app.api.problems import AUTH_PROBLEMS, Problem, problem_responses

SECURITY_SCHEME = "oauth2"
PUBLIC_PREFIXES = ("/health/", "/metrics", "/oauth/", "/v1/code-lists", "/problems/", "/v1/services")
"""Paths answered without a token: probes, metrics, token issuance, code lists and problem types."""

_REF_PREFIX = "#/components/schemas/"
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")
_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def is_public(path: str) -> bool:
    return path.startswith(PUBLIC_PREFIXES)


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(path, method, operation) for every operation of an OpenAPI document."""
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method in _METHODS:
                yield path, method, operation


def problem_schemas() -> dict[str, Any]:
    """`Problem` and the models it refers to, as OpenAPI component schemas."""
    _, top = models_json_schema([(Problem, "validation")], ref_template=_REF_PREFIX + "{model}")
    found: dict[str, Any] = top.get("$defs", {})
    return found


def _refers_to_fastapi_validation(response: dict[str, Any]) -> bool:
    return any(
        media.get("schema", {}).get("$ref") == _REF_PREFIX + "HTTPValidationError"
        for media in response.get("content", {}).values()
    )


def _document_problems(responses: dict[str, Any], *slugs: str) -> None:
    """Add the problems' responses for the statuses the operation does not document yet."""
    for code, response in problem_responses(*slugs).items():
        responses.setdefault(str(code), response)


def _polish_operation(path: str, operation: dict[str, Any]) -> None:
    if "tags" in operation:
        operation["tags"] = list(dict.fromkeys(operation["tags"]))
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status, response in list(responses.items()):
        if _refers_to_fastapi_validation(response):
            responses[status] = problem_responses("validation-error")[422]
    if "requestBody" in operation:
        _document_problems(responses, "bad-request")
    if any(SECURITY_SCHEME in requirement for requirement in operation.get("security", [])):
        _document_problems(responses, *AUTH_PROBLEMS)
    elif is_public(path):
        # Explicitly public: no token is needed (and none is looked at).
        operation["security"] = []
    operation["responses"] = dict(sorted(responses.items()))


def polish(document: dict[str, Any]) -> dict[str, Any]:
    """Rewrite FastAPI's document in place into the one this API publishes."""
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    schemas.update(problem_schemas())
    for path, _, operation in operations(document):
        _polish_operation(path, operation)
    document["components"]["schemas"] = dict(sorted(schemas.items()))
    text = json.dumps(document)
    leftover = [name for name in _FASTAPI_VALIDATION_SCHEMAS if f'"{_REF_PREFIX}{name}"' in text]
    if leftover:  # pragma: no cover - a FastAPI change this module must follow
        raise RuntimeError(f"the OpenAPI document still refers to {leftover}")
    return document


def install_openapi(app: FastAPI) -> None:
    """Serve the polished document at /openapi.json (and from `app.openapi()`)."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            try:
                app.openapi_schema = polish(generate())
            except BaseException:
                app.openapi_schema = None  # FastAPI cached its raw document: never serve that one
                raise
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
