"""`Idempotency-Key` on creation: a retry with the same key and body gets the first answer."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Header
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from app.adapters.db.idempotency import ReservationState, SqlIdempotencyStore, StoredResponse
from app.api.errors import ApiError
from app.domain.caller import Caller

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="A retry with the same key and body returns the first response; another body is rejected (422).",
    ),
]

_REPLAYED_HEADERS = ("location", "etag", "content-type")


def _fingerprint(path: str, body: BaseModel) -> str:
    canonical = json.dumps({"path": path, "body": body.model_dump(mode="json")}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def idempotent(
    store: SqlIdempotencyStore,
    caller: Caller,
    key: str | None,
    path: str,
    body: BaseModel,
    handler: Callable[[], Awaitable[Response]],
) -> Response:
    if key is None:
        return await handler()
    owner = f"{caller.institution_id}:{caller.subject}"
    reservation = await store.reserve(owner, key, _fingerprint(path, body))
    if reservation.state is ReservationState.MISMATCH:
        raise ApiError("idempotency-key-reused", "this Idempotency-Key was used with a different request")
    if reservation.state is ReservationState.IN_PROGRESS:
        raise ApiError(
            "idempotency-in-progress", "a request with this Idempotency-Key is still running", {"Retry-After": "1"}
        )
    if reservation.state is ReservationState.REPLAY:
        assert reservation.stored is not None  # noqa: S101
        headers = json.loads(reservation.stored.headers) | {"Idempotent-Replayed": "true"}
        return Response(reservation.stored.body, status_code=reservation.stored.status_code, headers=headers)
    try:
        response = await handler()
    except BaseException:
        # The work was rolled back, so the key is freed for an honest retry.
        await store.release(owner, key)
        raise
    if isinstance(response, JSONResponse) and response.status_code < 300:
        headers = {k: v for k, v in response.headers.items() if k in _REPLAYED_HEADERS}
        await store.complete(
            owner, key, StoredResponse(response.status_code, bytes(response.body).decode(), json.dumps(headers))
        )
    else:
        await store.release(owner, key)
    return response
