"""The committed contract (openapi/) is the running app's, and it keeps the API's conventions."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.api.openapi import SECURITY_SCHEME, is_public, operations
from app.api.problems import PROBLEM_MEDIA_TYPE
from app.api_export import GRAPHQL_FILE, OPENAPI_FILE, graphql_sdl, render_openapi
from app.config import Settings
from app.domain.caller import ALL_SCOPES
from app.main import create_app
from tests.conftest import Party

CONTRACT = Path(__file__).resolve().parents[2] / "openapi"
REGENERATE = "run `make api` (spojnia export-api --out openapi) and commit the result"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


@pytest.fixture(scope="module")
async def served(settings: Settings) -> dict[str, Any]:
    """The document the app itself serves at /openapi.json (no database needed for it)."""
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://spojnia.test") as http:
        response = await http.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def committed(name: str) -> str:
    path = CONTRACT / name
    assert path.is_file(), f"{path} is missing: {REGENERATE}"
    return path.read_text(encoding="utf-8")


def differences(old: Any, new: Any, pointer: str = "") -> Iterator[str]:
    """JSON pointers where two documents differ, for a failure message a person can act on."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(old.keys() | new.keys()):
            where = f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}"
            if key not in new:
                yield f"{where}: only in the committed file"
            elif key not in old:
                yield f"{where}: only in the app"
            else:
                yield from differences(old[key], new[key], where)
    elif old != new:
        shown = [json.dumps(value, ensure_ascii=False)[:80] for value in (old, new)]
        yield f"{pointer or '/'}: committed {shown[0]}, app {shown[1]}"


def all_operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return list(operations(document))


def test_committed_openapi_is_the_running_apps_document(served: dict[str, Any]) -> None:
    text = committed(OPENAPI_FILE)
    found = list(differences(json.loads(text), served))
    assert not found, f"openapi/{OPENAPI_FILE} differs from the app ({len(found)} places): {REGENERATE}\n  " + (
        "\n  ".join(found[:25])
    )
    assert text == render_openapi(served), f"openapi/{OPENAPI_FILE} is not in the exported form: {REGENERATE}"


def test_committed_graphql_sdl_is_the_schemas(settings: Settings) -> None:
    text = committed(GRAPHQL_FILE)
    sdl = graphql_sdl(settings)
    assert text == sdl, f"openapi/{GRAPHQL_FILE} differs from the GraphQL schema: {REGENERATE}"


def test_fastapi_validation_schemas_are_replaced_by_problem_details(served: dict[str, Any]) -> None:
    schemas = served["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert "ValidationError" not in schemas
    assert "HTTPValidationError" not in json.dumps(served)
    assert {"type", "title", "status"} <= set(schemas["Problem"]["required"])
    assert schemas["Problem"]["properties"]["errors"]["anyOf"][0]["items"] == {
        "$ref": "#/components/schemas/FieldProblem"
    }


def test_every_operation_has_an_operation_id_summary_and_declared_tags(served: dict[str, Any]) -> None:
    declared_tags = {tag["name"] for tag in served["tags"]}
    ids: list[str] = []
    for path, method, operation in all_operations(served):
        label = f"{method.upper()} {path}"
        assert re.fullmatch(r"[a-z][A-Za-z0-9]+", operation.get("operationId", "")), f"{label}: operationId"
        ids.append(operation["operationId"])
        assert operation.get("summary", "").strip(), f"{label}: no summary"
        tags = operation.get("tags", [])
        assert tags, f"{label}: no tags"
        assert len(tags) == len(set(tags)), f"{label}: repeated tags {tags}"
        assert set(tags) <= declared_tags, f"{label}: tags {set(tags) - declared_tags} are not declared"
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"operationIds used twice: {duplicates}"


def test_every_operation_declares_its_security_and_secured_ones_their_auth_problems(served: dict[str, Any]) -> None:
    scopes = set(served["components"]["securitySchemes"][SECURITY_SCHEME]["flows"]["clientCredentials"]["scopes"])
    for path, method, operation in all_operations(served):
        label = f"{method.upper()} {path}"
        assert "security" in operation, f"{label}: no security declared"
        if is_public(path):
            assert operation["security"] == [], f"{label} is public and must say so with `security: []`"
            continue
        assert len(operation["security"]) == 1, f"{label}: {operation['security']}"
        requirement = operation["security"][0]
        assert set(requirement) == {SECURITY_SCHEME}, f"{label}: security {requirement}"
        assert set(requirement[SECURITY_SCHEME]) <= scopes, f"{label}: undeclared scopes"
        for status in ("401", "403"):
            response = operation["responses"].get(status)
            assert response is not None, f"{label}: no {status} response"
            assert response["content"] == {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}}, f"{label}: {status}"


def test_errors_are_documented_as_problem_details_only(served: dict[str, Any]) -> None:
    for path, method, operation in all_operations(served):
        label = f"{method.upper()} {path}"
        has_input = bool(operation.get("parameters")) or "requestBody" in operation
        if has_input:
            assert "422" in operation["responses"], f"{label}: input can be invalid but no 422 is documented"
        if path.startswith("/oauth/"):
            continue  # RFC 6749 fixes the token endpoint's error shape
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")) and status != "503":
                assert response.get("content") == {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}}, f"{label}: {status}"
                assert "/problems/" in response["description"], f"{label}: {status} names no problem type"


def test_no_pesel_in_any_url_or_header(served: dict[str, Any]) -> None:
    for path, method, operation in all_operations(served):
        assert "pesel" not in path.lower(), path
        parameters = served["paths"][path].get("parameters", []) + operation.get("parameters", [])
        named = [p["name"] for p in parameters if "pesel" in p["name"].lower()]
        assert not named, f"{method.upper()} {path}: a PESEL goes in a POST body, never in {named}"


SOME_ID = "00000000-0000-4000-8000-000000000001"


async def test_who_asks_is_checked_before_anything_else(
    served: dict[str, Any], client: httpx.AsyncClient, ops: Party
) -> None:
    """401 without a valid token and 403 without the scope, whatever the If-Match, body or ids say."""
    for path, method, operation in all_operations(served):
        if is_public(path):
            continue
        label = f"{method.upper()} {path}"
        url = re.sub(r"\{[^}]+\}", SOME_ID, path)
        body = {"json": {}} if "requestBody" in operation else {}
        headers = {"If-Match": "not-an-etag"}

        anonymous = await client.request(method, url, headers=headers, **body)
        assert anonymous.status_code == 401, f"{label}: {anonymous.status_code} {anonymous.text}"
        assert anonymous.headers["content-type"] == PROBLEM_MEDIA_TYPE
        assert anonymous.headers["www-authenticate"].startswith("Bearer")

        needed = set(operation["security"][0][SECURITY_SCHEME])
        if not needed:
            continue
        other = sorted(set(ALL_SCOPES) - needed - {"admin"})[0]
        scoped = await client.request(method, url, headers=ops.headers(other, **headers), **body)
        assert scoped.status_code == 403, f"{label}: {scoped.status_code} {scoped.text}"
        assert scoped.json()["type"] == "/problems/insufficient-scope", label
