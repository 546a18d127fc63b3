"""Health, metrics, code lists, problem types, request ids and logs without personal data."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from app.adapters.db.migrate import upgrade
from app.bootstrap import bootstrap
from app.config import LocalIssuer, PeselProtection, Settings
from app.logs import JsonFormatter
from app.main import create_app
from tests.builders import JAN, person_body
from tests.conftest import Party


@pytest.mark.sqlite
async def test_health_answers_live_and_ready_with_the_database(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health/live")).json() == {"status": "ok"}
    ready = await client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "up", "schema": "current"}


@pytest.mark.sqlite
async def test_a_database_one_migration_behind_is_not_ready_until_migrated(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'behind.db'}"
    await asyncio.to_thread(upgrade, url, "0012")
    deployed = bootstrap(
        Settings(
            database_url=url,
            local_issuer=LocalIssuer(key_file=tmp_path / "signing-key.pem"),
            pesel=PeselProtection(key_file=tmp_path / "pesel-keys.json"),
        )
    )
    transport = httpx.ASGITransport(app=create_app(container=deployed))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://spojnia.test") as client:
            behind = await client.get("/health/ready")
            await asyncio.to_thread(upgrade, url)
            migrated = await client.get("/health/ready")
            # A later release migrated further: this one's processes stay ready while they are replaced.
            async with deployed.engine.begin() as connection:
                await connection.execute(text("UPDATE alembic_version SET version_num = '9999_later_release'"))
            newer = await client.get("/health/ready")
    finally:
        await deployed.aclose()

    assert behind.status_code == 503
    assert behind.json() == {"status": "unavailable", "database": "up", "schema": "behind"}
    assert migrated.status_code == 200
    assert migrated.json()["schema"] == "current"
    assert (newer.status_code, newer.json()["schema"]) == (200, "newer")


async def test_metrics_count_requests_by_route_template(client: httpx.AsyncClient, ops: Party) -> None:
    await client.get("/v1/persons", headers=ops.headers())

    metrics = (await client.get("/metrics")).text

    assert 'spojnia_http_requests_total{method="GET",route="/v1/persons",status="200"}' in metrics
    assert "spojnia_http_request_duration_seconds_bucket" in metrics


async def test_code_lists_are_served_with_validity_and_legal_basis(client: httpx.AsyncClient) -> None:
    everything = (await client.get("/v1/code-lists")).json()
    names = {cl["name"] for cl in everything["items"]}
    assert {
        "ReasonForAssistance",
        "AssistanceForm",
        "PupClientStatus",
        "LabourMarketInstrument",
        "InstitutionType",
        "BlueCardForm",
        "InstrumentCategory",
        "SpecialistRole",
        "BenefitLegalBasis",
        "OutcomeKind",
    } <= names

    statuses = (await client.get("/v1/code-lists/PupClientStatus")).json()
    profile = next(c for c in statuses["codes"] if c["code"] == "PROFILE_I")
    assert profile["valid_to"] == "2025-05-31"
    assert all(c["legal_basis"] and c["valid_from"] for c in statuses["codes"])
    assert (await client.get("/v1/code-lists/Nothing")).status_code == 404


async def test_an_expired_code_is_refused(client: httpx.AsyncClient, pup: Party) -> None:
    response = await client.post("/v1/persons", json=person_body(JAN, status="PROFILE_II"), headers=pup.headers())

    assert response.status_code == 422
    assert "not valid on" in response.json()["errors"][0]["message"]


async def test_problem_types_are_documented_where_their_uri_points(client: httpx.AsyncClient, ops: Party) -> None:
    problem = (await client.get("/v1/persons/00000000-0000-4000-8000-00000000dead", headers=ops.headers())).json()

    documented = await client.get(problem["type"])

    assert documented.status_code == 200
    assert documented.json()["status"] == 404


async def test_unknown_routes_and_methods_answer_problem_details(client: httpx.AsyncClient, ops: Party) -> None:
    missing = await client.get("/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    wrong_method = await client.delete("/v1/persons", headers=ops.headers())
    assert wrong_method.status_code == 405
    assert wrong_method.json()["type"] == "/problems/method-not-allowed"


async def test_a_request_id_is_echoed_and_generated_when_absent(client: httpx.AsyncClient) -> None:
    echoed = await client.get("/health/live", headers={"X-Request-ID": "vendor-abc-123"})
    assert echoed.headers["x-request-id"] == "vendor-abc-123"
    generated = await client.get("/health/live", headers={"X-Request-ID": "not allowed; spaces"})
    assert generated.headers["x-request-id"] != "not allowed; spaces"
    assert len(generated.headers["x-request-id"]) == 32


async def test_logs_are_json_and_hold_no_pesel_or_names(
    client: httpx.AsyncClient, ops: Party, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    await client.post("/v1/persons", json=person_body(JAN), headers=ops.headers())
    await client.post("/v1/persons", json=person_body("85031204312"), headers=ops.headers())  # invalid: 422
    await client.get("/v1/persons", params={"cursor": JAN}, headers=ops.headers())

    lines = [JsonFormatter().format(record) for record in caplog.records]
    assert lines, "the requests were logged"
    assert all(json.loads(line)["message"] for line in lines)
    joined = "\n".join(lines)
    for secret in (JAN, "85031204312", "Nowak"):
        assert secret not in joined
    access = [json.loads(line) for line in lines if '"spojnia.access"' in line]
    assert {"request_id", "route", "status", "duration_ms"} <= set(access[0])
