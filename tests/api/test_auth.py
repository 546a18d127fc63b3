"""Bearer authentication on a personal-data endpoint: every way a request is turned away, and acting for a worker."""

from __future__ import annotations

import time
import uuid
import warnings
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, OKPKey
from sqlalchemy import text

from app.bootstrap import Container
from tests.builders import JAN, person_body
from tests.conftest import Party

pytestmark = pytest.mark.asyncio

PERSONS = "/v1/persons"


def claims_for(container: Container, party: Party, **overrides: Any) -> dict[str, Any]:
    """Valid claims of a system token of `party`; an override of None drops the claim."""
    assert container.issuer is not None
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": container.settings.local_issuer.issuer,
        "aud": container.settings.local_issuer.audience,
        "sub": "vendor-system",
        "client_id": "vendor-system",
        "inst": str(party.id),
        "scope": "persons:read persons:write",
        "iat": now,
        "exp": now + 300,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def signed(container: Container, claims: dict[str, Any], key: ECKey | None = None, kid: str | None = None) -> str:
    """A token signed with the container's own issuer key unless another key is given."""
    assert container.issuer is not None
    return jwt.encode(
        {"alg": "ES256", "kid": kid or container.issuer.kid, "typ": "at+jwt"},
        claims,
        key or container.issuer.key,
    )


def bearer(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    problem = response.json()
    assert problem["type"] == "/problems/unauthorized"
    assert problem["status"] == 401


async def test_a_token_built_like_the_denied_ones_but_valid_is_accepted(
    client: httpx.AsyncClient, container: Container, ops: Party
) -> None:
    # The denial tests below each change one thing of this token; it must pass as it is.
    response = await client.get(PERSONS, headers=bearer(signed(container, claims_for(container, ops))))

    assert response.status_code == 200, response.text
    assert response.json() == {"items": [], "next_cursor": None}


async def test_no_authorization_header_is_401_problem_with_www_authenticate(
    client: httpx.AsyncClient, ops: Party
) -> None:
    assert_unauthorized(await client.get(PERSONS))


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer not-a-jwt",
        "Bearer a.b.c",
        "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",  # alg "none", unsigned
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "bearer",
    ],
    ids=["garbage", "three-garbage-segments", "unsigned", "empty", "basic-scheme", "scheme-only"],
)
async def test_a_malformed_or_unsigned_authorization_is_401(
    client: httpx.AsyncClient, ops: Party, authorization: str
) -> None:
    assert_unauthorized(await client.get(PERSONS, headers={"Authorization": authorization}))


async def test_a_token_signed_by_another_key_is_401(
    client: httpx.AsyncClient, container: Container, ops: Party
) -> None:
    stranger = ECKey.generate_key("P-256", private=True)
    claims = claims_for(container, ops)

    # Under its own kid, and posing under the issuer's kid.
    for kid in (stranger.thumbprint(), None):
        response = await client.get(PERSONS, headers=bearer(signed(container, claims, key=stranger, kid=kid)))
        assert_unauthorized(response)


async def test_a_token_with_a_forged_signature_is_401(
    client: httpx.AsyncClient, container: Container, ops: Party
) -> None:
    header, payload, _ = signed(container, claims_for(container, ops)).split(".")
    other_signature = signed(container, claims_for(container, ops, sub="x")).split(".")[2]

    assert_unauthorized(await client.get(PERSONS, headers=bearer(f"{header}.{payload}.{other_signature}")))


async def test_a_token_in_another_algorithm_than_the_issuers_is_401(
    client: httpx.AsyncClient, container: Container, ops: Party
) -> None:
    # Spójnia signs ES256 only; an EdDSA token under its issuer is refused, not a crash.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        token = jwt.encode(
            {"alg": "EdDSA"}, claims_for(container, ops), OKPKey.generate_key("Ed25519"), algorithms=["EdDSA"]
        )

    assert_unauthorized(await client.get(PERSONS, headers=bearer(token)))


async def test_an_expired_token_is_401(client: httpx.AsyncClient, container: Container, ops: Party) -> None:
    past = int(time.time()) - 3600
    token = signed(container, claims_for(container, ops, iat=past - 300, exp=past))

    assert_unauthorized(await client.get(PERSONS, headers=bearer(token)))


async def test_a_token_accepted_once_is_refused_after_it_expires(
    client: httpx.AsyncClient, container: Container, ops: Party, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = int(time.time())
    token = signed(container, claims_for(container, ops, iat=now, exp=now + 60))
    assert (await client.get(PERSONS, headers=bearer(token))).status_code == 200

    # Past its expiry and the 30 s allowed for clock skew: the verified token remembered is not taken.
    monkeypatch.setattr(time, "time", lambda: now + 60 + 31)

    assert_unauthorized(await client.get(PERSONS, headers=bearer(token)))


async def test_a_token_not_yet_valid_is_401(client: httpx.AsyncClient, container: Container, ops: Party) -> None:
    future = int(time.time()) + 3600
    token = signed(container, claims_for(container, ops, nbf=future, exp=future + 300))

    assert_unauthorized(await client.get(PERSONS, headers=bearer(token)))


@pytest.mark.parametrize(
    "overrides",
    [
        {"iss": "https://evil.example"},
        {"iss": None},
        {"aud": "another-service"},
        {"aud": None},
        {"exp": None},
        {"sub": None},
        {"inst": None},
        {"inst": "MOPS-Bartoszyce"},
    ],
    ids=["wrong-issuer", "no-issuer", "wrong-audience", "no-audience", "no-exp", "no-sub", "no-inst", "bad-inst"],
)
async def test_a_token_with_a_wrong_or_missing_claim_is_401(
    client: httpx.AsyncClient, container: Container, ops: Party, overrides: dict[str, Any]
) -> None:
    token = signed(container, claims_for(container, ops, **overrides))

    assert_unauthorized(await client.get(PERSONS, headers=bearer(token)))


async def test_a_valid_token_without_the_scope_is_403_insufficient_scope(client: httpx.AsyncClient, ops: Party) -> None:
    response = await client.get(PERSONS, headers=ops.headers("families:read", "persons:write"))

    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/insufficient-scope"
    assert "persons:read" in response.json()["detail"]
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


@pytest.mark.parametrize("whose", ["other-institution", "unknown"])
async def test_acting_for_a_worker_not_of_the_tokens_institution_is_403(
    client: httpx.AsyncClient, ops: Party, pup: Party, whose: str
) -> None:
    worker = pup.worker_id if whose == "other-institution" else uuid.uuid4()

    response = await client.get(PERSONS, headers=ops.headers(**{"X-Acting-Worker": str(worker)}))

    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/forbidden"


async def test_acting_for_an_own_worker_is_allowed_and_audited_as_that_worker(
    client: httpx.AsyncClient, container: Container, ops: Party
) -> None:
    created = await client.post(PERSONS, json=person_body(JAN), headers=ops.headers())
    assert created.status_code == 201

    response = await client.get(PERSONS, headers=ops.headers(**{"X-Acting-Worker": str(ops.worker_id)}))

    assert response.status_code == 200
    assert [p["id"] for p in response.json()["items"]] == [created.json()["id"]]
    async with container.engine.connect() as connection:
        rows = (
            await connection.execute(
                text("SELECT action, actor, actor_worker_id FROM audit_events ORDER BY occurred_at, action")
            )
        ).all()
    by_action = {row.action: row for row in rows}
    # The system token alone is audited under its subject; acting for a worker names the worker.
    assert by_action["CREATE"].actor == "test-ops"
    assert by_action["LIST"].actor == f"worker:{ops.worker_id}"
    assert str(by_action["LIST"].actor_worker_id) == str(ops.worker_id)


@pytest.mark.parametrize("value", ["not-a-uuid", "123", ""])
async def test_a_malformed_acting_worker_header_is_422(client: httpx.AsyncClient, ops: Party, value: str) -> None:
    response = await client.get(PERSONS, headers=ops.headers(**{"X-Acting-Worker": value}))

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "/problems/validation-error"
    assert any("X-Acting-Worker" in e["field"] for e in problem["errors"])
