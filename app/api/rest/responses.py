"""Building JSON answers with the ETag and Location headers the conventions ask for."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.api.deps import etag


class _SerialisedJson(JSONResponse):
    """A JSON answer whose body pydantic-core has already written."""

    def render(self, content: Any) -> bytes:
        body: bytes = content
        return body


def json_body(
    model: BaseModel, *, status: int = 200, version: int | None = None, location: str | None = None
) -> JSONResponse:
    """The model as JSON, serialised once by pydantic-core (not dumped to Python objects and encoded again)."""
    headers: dict[str, str] = {}
    if version is not None:
        headers["ETag"] = etag(version)
    if location is not None:
        headers["Location"] = location
    return _SerialisedJson(model.model_dump_json().encode(), status_code=status, headers=headers)
