"""Tokens of an external OpenID Connect provider, its key set served over real HTTP by a local server."""

from __future__ import annotations

import json
import threading
import time
import warnings
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, KeySet, OKPKey
from sqlalchemy import text

from app.bootstrap import Container, bootstrap
from app.config import ExternalOidc, LocalIssuer, Settings
from app.domain.ids import WorkerId
from app.domain.services import institutions as institution_use
from app.main import create_app
from tests.builders import JAN, person_body
from tests.conftest import Party

pytestmark = pytest.mark.asyncio

ISSUER = "https://idp.powiat.test/realms/bartoszyce"
AUDIENCE = "spojnia"
PERSONS = "/v1/persons"


class IdentityProvider:
    """A JWKS endpoint on 127.0.0.1 whose keys, answer and availability a test controls."""

    def __init__(self) -> None:
        self.keys: list[ECKey | OKPKey] = [new_key()]
        # When set, served as the body instead of the key set (a misconfigured URL).
        self.body: bytes | None = None
        self.fetches = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                provider.fetches += 1
                body = provider.body or json.dumps(KeySet(provider.keys).as_dict(private=False)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/realms/bartoszyce/certs"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self.running = True

    def stop(self) -> None:
        if self.running:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join()
            self.running = False

    def token(self, key: ECKey | OKPKey | None = None, **claims: Any) -> str:
        key = key or self.keys[0]
        now = int(time.time())
        body = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 300} | claims
        alg = "ES256" if isinstance(key, ECKey) else "EdDSA"
        with warnings.catch_warnings():
            # joserfc warns that RFC 9864 deprecates the name "EdDSA"; Keycloak still signs with it.
            warnings.simplefilter("ignore", SecurityWarning)
            return jwt.encode({"alg": alg, "kid": key.thumbprint(), "typ": "JWT"}, body, key, algorithms=[alg])


def new_key() -> ECKey:
    return ECKey.generate_key("P-256", private=True)


@pytest.fixture
def idp() -> Iterator[IdentityProvider]:
    provider = IdentityProvider()
    yield provider
    provider.stop()


def deploy(settings: Settings, idp: IdentityProvider, **oidc: Any) -> Container:
    """A second Spójnia over the test database that trusts only the identity provider."""
    trusted = ExternalOidc(jwks_url=idp.url, issuer=ISSUER, audience=AUDIENCE, jwks_min_refetch_seconds=0).model_copy(
        update=oidc
    )
    return bootstrap(settings.model_copy(update={"oidc": trusted, "local_issuer": LocalIssuer(enabled=False)}))


@pytest.fixture
async def spojnia(settings: Settings, idp: IdentityProvider, container: Container) -> AsyncIterator[httpx.AsyncClient]:
    # `container` is asked for so that the tables are emptied after the test.
    deployed = deploy(settings, idp)
    transport = httpx.ASGITransport(app=create_app(container=deployed), raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://spojnia.test") as http:
            yield http
    finally:
        await deployed.aclose()


async def add_worker(container: Container, party: Party, subject: str | None) -> WorkerId:
    worker = await institution_use.add_worker(
        container.ctx,
        None,
        institution_use.NewWorker(
            institution_id=party.id, first_name="Ewa", last_name="Kowalska", role="SOCIAL_WORKER", idp_subject=subject
        ),
    )
    return worker.id


def worker_claims(party: Party, subject: str = "kc-ewa") -> dict[str, Any]:
    return {"sub": subject, "inst": str(party.id), "scope": "persons:read persons:write"}


def bearer(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/unauthorized"
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_workers_own_token_is_accepted_and_acts_as_that_worker(
    spojnia: httpx.AsyncClient, container: Container, idp: IdentityProvider, ops: Party
) -> None:
    ewa = await add_worker(container, ops, "kc-ewa")
    token = idp.token(**worker_claims(ops))

    created = await spojnia.post(PERSONS, json=person_body(JAN), headers=bearer(token))
    listed = await spojnia.get(PERSONS, headers=bearer(token, **{"X-Acting-Worker": str(ewa)}))

    assert created.status_code == 201, created.text
    assert listed.status_code == 200
    assert [p["id"] for p in listed.json()["items"]] == [created.json()["id"]]
    async with container.engine.connect() as connection:
        # The fixtures' own agreement is audited too, by its setup caller: only persons matter here.
        actors = set(
            (await connection.execute(text("SELECT actor FROM audit_events WHERE subject_type = 'person'"))).scalars()
        )
    assert actors == {f"worker:{ewa}"}


async def test_a_workers_own_token_cannot_act_for_another_worker(
    spojnia: httpx.AsyncClient, container: Container, idp: IdentityProvider, ops: Party
) -> None:
    await add_worker(container, ops, "kc-ewa")

    response = await spojnia.get(
        PERSONS, headers=bearer(idp.token(**worker_claims(ops)), **{"X-Acting-Worker": str(ops.worker_id)})
    )

    assert response.status_code == 403
    assert response.json()["type"] == "/problems/forbidden"


async def test_a_person_token_of_no_registered_worker_cannot_act_for_a_worker(
    spojnia: httpx.AsyncClient, idp: IdentityProvider, ops: Party
) -> None:
    token = idp.token(**worker_claims(ops, subject="kc-unknown"))

    response = await spojnia.get(PERSONS, headers=bearer(token, **{"X-Acting-Worker": str(ops.worker_id)}))

    assert response.status_code == 403
    assert response.json()["type"] == "/problems/forbidden"


async def test_a_deactivated_workers_token_is_refused(
    spojnia: httpx.AsyncClient, container: Container, idp: IdentityProvider, ops: Party
) -> None:
    ewa = await add_worker(container, ops, "kc-ewa")
    async with container.engine.begin() as connection:
        await connection.execute(text("UPDATE workers SET active = false WHERE id = :id"), {"id": ewa})

    response = await spojnia.get(PERSONS, headers=bearer(idp.token(**worker_claims(ops))))

    assert response.status_code == 403
    assert response.json()["type"] == "/problems/forbidden"


async def test_a_system_token_of_the_provider_acts_for_a_worker_of_its_institution(
    spojnia: httpx.AsyncClient, idp: IdentityProvider, ops: Party, pup: Party
) -> None:
    claims = {"sub": "service-account-pomost", "client_id": "pomost", "inst": str(ops.id), "scope": "persons:read"}

    own = await spojnia.get(PERSONS, headers=bearer(idp.token(**claims), **{"X-Acting-Worker": str(ops.worker_id)}))
    foreign = await spojnia.get(PERSONS, headers=bearer(idp.token(**claims), **{"X-Acting-Worker": str(pup.worker_id)}))

    assert own.status_code == 200
    assert foreign.status_code == 403


async def test_a_token_signed_with_a_key_not_in_the_jwks_is_401(
    spojnia: httpx.AsyncClient, container: Container, idp: IdentityProvider, ops: Party
) -> None:
    await add_worker(container, ops, "kc-ewa")
    rogue = new_key()

    unknown_kid = idp.token(rogue, **worker_claims(ops))
    posing_kid = jwt.encode(
        {"alg": "ES256", "kid": idp.keys[0].thumbprint()},
        {"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 300, **worker_claims(ops)},
        rogue,
    )

    assert_unauthorized(await spojnia.get(PERSONS, headers=bearer(unknown_kid)))
    assert_unauthorized(await spojnia.get(PERSONS, headers=bearer(posing_kid)))


@pytest.mark.parametrize(
    "claims",
    [{"aud": "another-client"}, {"exp": int(time.time()) - 3600}, {"inst": None}],
    ids=["wrong-audience", "expired", "no-institution-claim"],
)
async def test_a_provider_token_with_a_wrong_claim_is_401(
    spojnia: httpx.AsyncClient, container: Container, idp: IdentityProvider, ops: Party, claims: dict[str, Any]
) -> None:
    await add_worker(container, ops, "kc-ewa")
    token_claims = {k: v for k, v in (worker_claims(ops) | claims).items() if v is not None}

    assert_unauthorized(await spojnia.get(PERSONS, headers=bearer(idp.token(**token_claims))))


async def test_spojnias_own_token_is_refused_where_only_the_provider_is_trusted(
    spojnia: httpx.AsyncClient, ops: Party
) -> None:
    assert_unauthorized(await spojnia.get(PERSONS, headers=ops.headers()))


async def test_the_key_set_is_cached_and_fetched_again_for_a_new_kid_after_rotation(
    spojnia: httpx.AsyncClient, container: Container, idp: IdentityProvider, ops: Party
) -> None:
    await add_worker(container, ops, "kc-ewa")
    old = idp.keys[0]

    for _ in range(3):
        assert (await spojnia.get(PERSONS, headers=bearer(idp.token(old, **worker_claims(ops))))).status_code == 200
    assert idp.fetches == 1

    new = new_key()
    idp.keys = [new]
    rotated = await spojnia.get(PERSONS, headers=bearer(idp.token(new, **worker_claims(ops))))

    assert rotated.status_code == 200, rotated.text
    assert idp.fetches == 2
    # The provider retired the old key: its tokens are refused from now on.
    assert_unauthorized(await spojnia.get(PERSONS, headers=bearer(idp.token(old, **worker_claims(ops)))))


async def test_a_provider_signing_with_eddsa_is_accepted(
    spojnia: httpx.AsyncClient, container: Container, idp: IdentityProvider, ops: Party
) -> None:
    ewa = await add_worker(container, ops, "kc-ewa")
    idp.keys = [OKPKey.generate_key("Ed25519", private=True)]

    response = await spojnia.get(
        PERSONS, headers=bearer(idp.token(**worker_claims(ops)), **{"X-Acting-Worker": str(ewa)})
    )

    assert response.status_code == 200, response.text


async def test_provider_down_is_401_never_500(
    spojnia: httpx.AsyncClient, container: Container, idp: IdentityProvider, ops: Party
) -> None:
    await add_worker(container, ops, "kc-ewa")
    idp.stop()

    assert_unauthorized(await spojnia.get(PERSONS, headers=bearer(idp.token(**worker_claims(ops)))))


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"issuer": ISSUER, "jwks_uri": "https://idp/certs"}).encode(),  # the discovery document
        b"[]",
        b"null",
        b"<html>Service Unavailable</html>",
        json.dumps({"keys": [{"kty": "EC", "crv": "P-256"}]}).encode(),
    ],
    ids=["discovery-document", "list", "null", "html", "broken-key"],
)
async def test_a_url_that_serves_no_key_set_is_401_never_500(
    spojnia: httpx.AsyncClient, container: Container, idp: IdentityProvider, ops: Party, body: bytes
) -> None:
    await add_worker(container, ops, "kc-ewa")
    idp.body = body

    assert_unauthorized(await spojnia.get(PERSONS, headers=bearer(idp.token(**worker_claims(ops)))))


async def test_cached_keys_still_verify_while_the_provider_is_down(
    settings: Settings, container: Container, idp: IdentityProvider, ops: Party
) -> None:
    await add_worker(container, ops, "kc-ewa")
    # No caching at all: every request goes to the provider first.
    deployed = deploy(settings, idp, jwks_cache_seconds=0)
    transport = httpx.ASGITransport(app=create_app(container=deployed), raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://spojnia.test") as http:
            assert (await http.get(PERSONS, headers=bearer(idp.token(**worker_claims(ops))))).status_code == 200
            idp.stop()

            known = await http.get(PERSONS, headers=bearer(idp.token(**worker_claims(ops))))
            unknown = await http.get(PERSONS, headers=bearer(idp.token(new_key(), **worker_claims(ops))))
    finally:
        await deployed.aclose()

    assert known.status_code == 200
    assert_unauthorized(unknown)


async def test_tokens_with_unknown_key_ids_cannot_hammer_the_provider(
    settings: Settings, container: Container, idp: IdentityProvider, ops: Party
) -> None:
    await add_worker(container, ops, "kc-ewa")
    deployed = deploy(settings, idp, jwks_min_refetch_seconds=60)
    transport = httpx.ASGITransport(app=create_app(container=deployed), raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://spojnia.test") as http:
            known = await http.get(PERSONS, headers=bearer(idp.token(idp.keys[0], **worker_claims(ops))))
            assert known.status_code == 200
            for _ in range(5):
                assert_unauthorized(await http.get(PERSONS, headers=bearer(idp.token(new_key(), **worker_claims(ops)))))
    finally:
        await deployed.aclose()

    assert idp.fetches == 1
