"""Building JSON answers with the ETag and Location headers the conventions ask for."""

from __future__ import annotations

from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.api.deps import etag


def json_body(
    model: BaseModel, *, status: int = 200, version: int | None = None, location: str | None = None
) -> JSONResponse:
    headers: dict[str, str] = {}
    if version is not None:
        headers["ETag"] = etag(version)
    if location is not None:
        headers["Location"] = location
    return JSONResponse(model.model_dump(mode="json"), status_code=status, headers=headers)
