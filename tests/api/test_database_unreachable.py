"""A database that cannot be reached: 503 with Retry-After and a problem, never a 500, on the hot paths (asyncpg)
and the rest (SQLAlchemy) alike; and the same app answers again once the database is back."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app.bootstrap import Container, bootstrap
from app.config import Settings
from app.domain.caller import ALL_SCOPES
from app.domain.ids import InstitutionId, new_id
from app.main import create_app
from tests.builders import JAN

pytestmark = pytest.mark.sqlite

# Nothing listens on port 1: every connection is refused at once.
NOWHERE = "postgresql+asyncpg://postgres@127.0.0.1:1/spojnia"


@pytest.fixture
async def unreachable(settings: Settings) -> AsyncIterator[Container]:
    container = bootstrap(settings.model_copy(update={"database_url": NOWHERE}))
    yield container
    await container.aclose()


async def test_a_database_out_of_reach_answers_503_with_retry_after(unreachable: Container) -> None:
    assert unreachable.issuer is not None
    token = unreachable.issuer.issue(
        subject="vendor", institution_id=InstitutionId(new_id()), scopes=frozenset(ALL_SCOPES), roles=frozenset()
    ).access_token
    headers = {"Authorization": f"Bearer {token}"}
    transport = httpx.ASGITransport(app=create_app(container=unreachable), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://spojnia.test") as client:
        answers = [
            await client.post(
                "/v1/shared-client-lookups", json={"pesel": JAN, "purpose": "SHARED_CLIENT_CHECK"}, headers=headers
            ),
            await client.get(f"/v1/persons/{new_id()}", headers=headers),
            await client.get("/v1/families", headers=headers),
        ]
    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert answer.headers["retry-after"] == "5"
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["type"].endswith("/service-unavailable")
        assert answer.json()["request_id"]
