"""The partner API's contract (openapi/partner/openapi.json) is the one the adapter is built from, and sound."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from app.adapters.record_systems.partner_contract import partner_openapi
from app.api_export import PARTNER_OPENAPI_FILE, render_openapi

COMMITTED = Path(__file__).resolve().parents[2] / "openapi" / PARTNER_OPENAPI_FILE


def test_the_committed_partner_contract_is_the_one_the_adapter_follows() -> None:
    assert COMMITTED.is_file(), f"{COMMITTED} is missing: run `make api` and commit it"
    assert COMMITTED.read_text(encoding="utf-8") == render_openapi(partner_openapi()), (
        "openapi/partner/openapi.json differs from app/adapters/record_systems/partner_contract.py: "
        "run `make api` (spojnia export-api --out openapi) and commit the result"
    )


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [node["$ref"]] if "$ref" in node else [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_every_reference_resolves_every_operation_is_named_and_every_schema_is_valid() -> None:
    document = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert document["openapi"].startswith("3.1")
    for ref in _refs(document):
        node: Any = document
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
    operations = [op for path in document["paths"].values() for op in path.values()]
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids)) == 5
    for schema in document["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
