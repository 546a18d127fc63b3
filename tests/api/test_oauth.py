"""Spójnia's own client-credentials endpoint, its public keys, and `spojnia clients add`."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import text

from app.adapters.db.migrate import upgrade
from app.bootstrap import Container, bootstrap
from app.config import LocalIssuer, Settings
from app.domain.clients import ApiClient
from app.domain.services import institutions as institution_use
from app.domain.services.clients import register_client
from app.main import create_app
from tests.builders import JAN, person_body
from tests.conftest import Party

pytestmark = pytest.mark.asyncio

TOKEN = "/oauth/token"
GRANT = {"grant_type": "client_credentials"}


@pytest.fixture
async def registered(container: Container, ops: Party) -> tuple[ApiClient, str]:
    return await register_client(
        container.ctx, institution_id=ops.id, scope="persons:read persons:write", name="POMOST Std"
    )


def assert_oauth_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"] == error
    assert response.headers["cache-control"] == "no-store"


async def test_basic_auth_gets_a_token_that_reads_persons(
    client: httpx.AsyncClient, registered: tuple[ApiClient, str]
) -> None:
    api_client, secret = registered

    response = await client.post(TOKEN, data=GRANT, auth=(api_client.client_id, secret))

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "persons:read persons:write"
    persons = await client.get("/v1/persons", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert persons.status_code == 200


async def test_credentials_in_the_form_body_also_work(
    client: httpx.AsyncClient, registered: tuple[ApiClient, str]
) -> None:
    api_client, secret = registered

    response = await client.post(TOKEN, data=GRANT | {"client_id": api_client.client_id, "client_secret": secret})

    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert (await client.get("/v1/persons", headers={"Authorization": f"Bearer {token}"})).status_code == 200


async def test_the_token_names_the_client_and_its_institution_and_verifies_with_the_published_jwks(
    client: httpx.AsyncClient, container: Container, registered: tuple[ApiClient, str], ops: Party
) -> None:
    api_client, secret = registered
    token = (await client.post(TOKEN, data=GRANT, auth=(api_client.client_id, secret))).json()["access_token"]

    jwks = (await client.get("/oauth/jwks.json")).json()
    claims = jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["ES256"]).claims

    assert claims["iss"] == container.settings.local_issuer.issuer
    assert claims["aud"] == container.settings.local_issuer.audience
    assert claims["sub"] == claims["client_id"] == api_client.client_id
    assert claims["inst"] == str(ops.id)
    assert claims["exp"] - claims["iat"] == 3600


@pytest.mark.parametrize(
    "credentials",
    [("wrong-secret", True), ("wrong-secret", False), ("unknown-client", True)],
    ids=["basic-wrong-secret", "body-wrong-secret", "unknown-client"],
)
async def test_wrong_credentials_are_401_invalid_client(
    client: httpx.AsyncClient, registered: tuple[ApiClient, str], credentials: tuple[str, bool]
) -> None:
    api_client, secret = registered
    which, basic = credentials
    client_id = api_client.client_id if which == "wrong-secret" else "spojnia-0000000000000000"
    wrong = secret if which == "unknown-client" else secret[:-1] + ("A" if secret[-1] != "A" else "B")

    if basic:
        response = await client.post(TOKEN, data=GRANT, auth=(client_id, wrong))
    else:
        response = await client.post(TOKEN, data=GRANT | {"client_id": client_id, "client_secret": wrong})

    assert_oauth_error(response, 401, "invalid_client")
    assert response.headers["www-authenticate"].startswith("Basic")
    assert "access_token" not in response.text


async def test_no_client_credentials_is_401_invalid_client(client: httpx.AsyncClient, ops: Party) -> None:
    assert_oauth_error(await client.post(TOKEN, data=GRANT), 401, "invalid_client")


@pytest.mark.parametrize("grant_type", ["password", "authorization_code", "refresh_token", "CLIENT_CREDENTIALS"])
async def test_any_other_grant_type_is_400_unsupported_grant_type(
    client: httpx.AsyncClient, registered: tuple[ApiClient, str], grant_type: str
) -> None:
    api_client, secret = registered

    response = await client.post(TOKEN, data={"grant_type": grant_type}, auth=(api_client.client_id, secret))

    assert_oauth_error(response, 400, "unsupported_grant_type")


async def test_asking_a_subset_of_the_scopes_narrows_the_token(
    client: httpx.AsyncClient, registered: tuple[ApiClient, str]
) -> None:
    api_client, secret = registered

    response = await client.post(TOKEN, data=GRANT | {"scope": "persons:read"}, auth=(api_client.client_id, secret))

    assert response.status_code == 200
    assert response.json()["scope"] == "persons:read"
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    assert (await client.get("/v1/persons", headers=headers)).status_code == 200
    write = await client.post("/v1/persons", headers=headers, json=person_body(JAN))
    assert write.status_code == 403
    assert write.json()["type"] == "/problems/insufficient-scope"


@pytest.mark.parametrize("scope", ["admin", "persons:read admin", "no-such-scope"])
async def test_asking_a_scope_the_client_is_not_registered_for_is_400_invalid_scope(
    client: httpx.AsyncClient, registered: tuple[ApiClient, str], scope: str
) -> None:
    api_client, secret = registered

    response = await client.post(TOKEN, data=GRANT | {"scope": scope}, auth=(api_client.client_id, secret))

    assert_oauth_error(response, 400, "invalid_scope")


async def test_the_jwks_serves_the_public_key_only(client: httpx.AsyncClient, container: Container) -> None:
    response = await client.get("/oauth/jwks.json")

    assert response.status_code == 200
    keys = response.json()["keys"]
    assert container.issuer is not None
    assert [k["kid"] for k in keys] == [container.issuer.kid]
    assert keys[0]["kty"] == "EC"
    assert keys[0]["crv"] == "P-256"
    assert all("d" not in k for k in keys)


async def test_registering_a_client_refuses_unknown_or_no_scopes(container: Container, ops: Party) -> None:
    from app.domain.errors import InvalidInput

    for scope in ("persons:read persons:everything", "", "   "):
        with pytest.raises(InvalidInput) as refused:
            await register_client(container.ctx, institution_id=ops.id, scope=scope, name="X")
        assert [e.field for e in refused.value.errors] == ["scope"]


# --- the command line, against a SQLite file of its own -------------------------------------------


@pytest.fixture
async def sqlite_deployment(tmp_path: Path) -> AsyncIterator[Container]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)
    deployed = bootstrap(
        Settings(
            database_url=url,
            local_issuer=LocalIssuer(issuer="https://spojnia.cli.test", key_file=tmp_path / "signing-key.pem"),
        )
    )
    try:
        yield deployed
    finally:
        await deployed.aclose()


async def spojnia(tmp_path: Path, database_url: str, *args: str) -> tuple[int, str, str]:
    env = os.environ | {
        "SPOJNIA_DATABASE_URL": database_url,
        "SPOJNIA_LOCAL_ISSUER__KEY_FILE": str(tmp_path / "cli-signing-key.pem"),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        *args,
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_cli_adds_a_client_whose_secret_is_shown_once_stored_hashed_and_gets_a_token(
    tmp_path: Path, sqlite_deployment: Container
) -> None:
    institution = await institution_use.register_institution(
        sqlite_deployment.ctx, None, institution_use.InstitutionData(type="MOPS", name="MOPS", teryt="2802011")
    )
    url = sqlite_deployment.settings.database_url

    code, out, err = await spojnia(
        tmp_path,
        url,
        "clients",
        "add",
        "--institution",
        str(institution.id),
        "--scope",
        "persons:read",
        "--name",
        "TT-Pomoc",
    )

    assert code == 0, err
    printed = json.loads(out)
    assert printed["client_id"].startswith("spojnia-")
    assert printed["scope"] == "persons:read"
    secret = printed["client_secret"]
    assert len(secret) >= 32
    async with sqlite_deployment.engine.connect() as connection:
        row = (
            (
                await connection.execute(
                    text("SELECT * FROM api_clients WHERE client_id = :id"), {"id": printed["client_id"]}
                )
            )
            .mappings()
            .one()
        )
    assert row["secret_hash"].startswith("scrypt$")
    assert all(secret not in str(value) for value in row.values())
    assert row["name"] == "TT-Pomoc"

    transport = httpx.ASGITransport(app=create_app(container=sqlite_deployment), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://spojnia.test") as http:
        issued = await http.post(TOKEN, data=GRANT, auth=(printed["client_id"], secret))
        assert issued.status_code == 200, issued.text
        persons = await http.get("/v1/persons", headers={"Authorization": f"Bearer {issued.json()['access_token']}"})
    assert persons.status_code == 200
    assert persons.json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--institution", "00000000-0000-4000-8000-000000000000", "--scope", "persons:read"], "no such institution"),
        (["--institution", "not-a-uuid", "--scope", "persons:read"], "not a UUID"),
        (["--institution", "{institution}", "--scope", "persons:read persons:everything"], "unknown scopes"),
        (["--institution", "{institution}", "--scope", ""], "at least one scope"),
    ],
    ids=["unknown-institution", "malformed-institution", "unknown-scope", "no-scope"],
)
async def test_cli_refuses_bad_arguments_with_a_message_and_no_client(
    tmp_path: Path, sqlite_deployment: Container, args: list[str], message: str
) -> None:
    institution = await institution_use.register_institution(
        sqlite_deployment.ctx, None, institution_use.InstitutionData(type="MOPS", name="MOPS", teryt="2802011")
    )
    argv = [a.format(institution=institution.id) for a in args]

    code, out, err = await spojnia(tmp_path, sqlite_deployment.settings.database_url, "clients", "add", *argv)

    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert out == ""
    async with sqlite_deployment.engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM api_clients"))).scalar_one() == 0
