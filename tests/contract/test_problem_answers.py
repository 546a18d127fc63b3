"""Answers the HTTP layer gives before any router code runs: problem details, and true to the spec."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.api.openapi import operations
from app.api.problems import PROBLEM_MEDIA_TYPE
from app.bootstrap import Container
from app.main import create_app
from tests.conftest import Party

SPEC = json.loads((Path(__file__).resolve().parents[2] / "openapi" / "openapi.json").read_text(encoding="utf-8"))
SOME_ID = "00000000-0000-4000-8000-000000000001"
DOCUMENTED: dict[str, set[str]] = {}
for _path, _method, _ in operations(SPEC):
    DOCUMENTED.setdefault(_path, set()).add(_method.upper())


@pytest.mark.parametrize("path", sorted(DOCUMENTED))
async def test_an_undocumented_method_is_405_allowing_exactly_the_documented_ones(
    client: httpx.AsyncClient, path: str
) -> None:
    method = next(m for m in ("DELETE", "PUT", "PATCH", "POST") if m not in DOCUMENTED[path])

    response = await client.request(method, re.sub(r"\{[^}]+\}", SOME_ID, path))

    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.json()["type"] == "/problems/method-not-allowed"
    assert response.json()["status"] == 405
    assert response.headers["allow"] == ", ".join(sorted(DOCUMENTED[path]))


async def test_a_body_that_is_not_text_is_a_400_problem_whose_status_says_400(
    client: httpx.AsyncClient, ops: Party
) -> None:
    response = await client.post(
        "/v1/families", content=b"E\xec\xa9\xbf\xff", headers=ops.headers(**{"Content-Type": "application/json"})
    )

    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.json()["type"] == "/problems/bad-request"
    assert response.json()["status"] == 400


async def test_a_body_that_is_not_json_is_a_validation_problem_naming_the_body(
    client: httpx.AsyncClient, ops: Party
) -> None:
    response = await client.post(
        "/v1/families", content=b'{"name": "Rodzina', headers=ops.headers(**{"Content-Type": "application/json"})
    )

    assert response.status_code == 422
    assert response.json()["type"] == "/problems/validation-error"
    assert [e["field"] for e in response.json()["errors"]] == ["body"]


async def test_a_client_that_hangs_up_before_its_body_is_read_is_no_server_error(
    container: Container, ops: Party, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(container=container)
    # create_app sets up the service's own log handler in place of pytest's: put pytest's back beside it.
    logging.getLogger().addHandler(caplog.handler)
    sent: list[dict[str, Any]] = []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"spojnia.test"),
            (b"content-type", b"application/json"),
            (b"content-length", b"64"),
            (b"authorization", f"Bearer {ops.token()}".encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("spojnia.test", 80),
        "state": {},
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    try:
        with caplog.at_level(logging.INFO):
            await app(scope, receive, send)
    finally:
        logging.getLogger().removeHandler(caplog.handler)

    [start] = [m for m in sent if m["type"] == "http.response.start"]
    body = json.loads(b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"))
    assert (start["status"], body["detail"]) == (400, "the client closed the connection before its request was read")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in caplog.records if r.name == "spojnia.errors"] == [
        "client closed the connection before its request was read"
    ]
