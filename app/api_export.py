"""The committed API contract: the OpenAPI document and the GraphQL SDL, produced from the app."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.api.graphql.schema import build_schema
from app.config import Settings
from app.main import create_app


def openapi_document() -> dict[str, Any]:
    return create_app(Settings()).openapi()


def openapi_text() -> str:
    return json.dumps(openapi_document(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def graphql_sdl() -> str:
    return str(build_schema(Settings())) + "\n"


def export(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    spec, sdl = directory / "openapi.json", directory / "schema.graphql"
    spec.write_text(openapi_text(), encoding="utf-8")
    sdl.write_text(graphql_sdl(), encoding="utf-8")
    return [spec, sdl]
