"""The committed API contract: the OpenAPI document and the GraphQL SDL, produced from the app.

`make api` (`spojnia export-api --out openapi`) writes both; tests/contract fails when the committed
files and the app differ. Neither document depends on the settings: the defaults serve.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.adapters.record_systems.partner_contract import partner_openapi
from app.api.graphql.schema import build_schema
from app.config import Settings
from app.main import create_app

OPENAPI_FILE = "openapi.json"
GRAPHQL_FILE = "schema.graphql"
# The partner API a vendor's system implements (Spójnia is its client), next to Spójnia's own.
PARTNER_OPENAPI_FILE = "partner/openapi.json"


def openapi_document(settings: Settings | None = None) -> dict[str, Any]:
    return create_app(settings or Settings()).openapi()


def openapi_text(settings: Settings | None = None) -> str:
    return render_openapi(openapi_document(settings))


def render_openapi(document: dict[str, Any]) -> str:
    """The committed form: two-space indents, UTF-8 kept readable (Polish names), a final newline."""
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def graphql_sdl(settings: Settings | None = None) -> str:
    return str(build_schema(settings or Settings())) + "\n"


def export(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    spec, sdl = directory / OPENAPI_FILE, directory / GRAPHQL_FILE
    spec.write_text(openapi_text(), encoding="utf-8")
    sdl.write_text(graphql_sdl(), encoding="utf-8")
    partner = directory / PARTNER_OPENAPI_FILE
    partner.parent.mkdir(parents=True, exist_ok=True)
    partner.write_text(render_openapi(partner_openapi()), encoding="utf-8")
    return [spec, sdl, partner]
