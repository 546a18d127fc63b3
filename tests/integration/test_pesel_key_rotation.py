"""`spojnia keys rotate-pesel`: new keys, every sealed value and index moved onto them, old keys retired."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import text, update

from app.adapters.crypto.key_file import KeyFile
from app.adapters.crypto.vault import KeyRing, PersonalDataVault, key_id_of, person_pesel_context
from app.adapters.db.tables import PersonRow
from app.bootstrap import Container, bootstrap
from app.config import PeselProtection, Settings
from app.domain.values import Pesel
from app.main import create_app
from tests.builders import JAN, KACPER, MARIA, person_body
from tests.conftest import Party

pytestmark = pytest.mark.sqlite

PESELS = (JAN, MARIA, KACPER)


@pytest.fixture
async def keyed(settings: Settings, tmp_path: Path) -> AsyncIterator[Container]:
    """A container on the test database with a key file of its own, so the run's shared keys stay untouched."""
    own = bootstrap(settings.model_copy(update={"pesel": PeselProtection(key_file=tmp_path / "pesel-keys.json")}))
    yield own
    await own.aclose()


@pytest.fixture
async def api(keyed: Container) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(container=keyed), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://spojnia.test") as http:
        yield http


async def rotate(keyed: Container, *options: str) -> str:
    env = os.environ | {
        "SPOJNIA_DATABASE_URL": keyed.settings.database_url,
        "SPOJNIA_PESEL__KEY_FILE": str(keyed.settings.pesel.key_file),
        "SPOJNIA_LOCAL_ISSUER__ENABLED": "false",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        "keys",
        "rotate-pesel",
        "--batch-size",
        "2",  # several batches even for a few rows
        *options,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    return out.decode()


async def stored(keyed: Container) -> dict[str, Any]:
    async with keyed.engine.connect() as connection:
        persons = (await connection.execute(text("SELECT id, pesel_hash, pesel_sealed FROM persons"))).all()
        answers = (
            await connection.execute(
                text("SELECT response_body, response_headers FROM idempotency_keys WHERE status_code IS NOT NULL")
            )
        ).all()
    return {
        "hashes": {UUID(str(row.id)): row.pesel_hash for row in persons},
        "sealed": {UUID(str(row.id)): row.pesel_sealed for row in persons},
        "key_ids": {key_id_of(t) for row in persons for t in [row.pesel_sealed]}
        | {key_id_of(t) for row in answers for t in row},
    }


async def found_by_pesel(keyed: Container) -> list[UUID | None]:
    async with keyed.ctx.uow() as uow:
        return [(p.id if (p := await uow.persons.by_pesel(Pesel(pesel))) else None) for pesel in PESELS]


async def test_rotation_reseals_every_value_keeps_persons_findable_and_retires_old_keys(
    api: httpx.AsyncClient, keyed: Container, ops: Party
) -> None:
    key_file = keyed.settings.pesel.key_file
    first_post = {"Idempotency-Key": "retry-me"}
    registered = []
    for i, pesel in enumerate(PESELS):
        extra = first_post if i == 0 else {}
        response = await api.post("/v1/persons", json=person_body(pesel), headers=ops.headers(**extra))
        assert response.status_code == 201, response.text
        registered.append(UUID(response.json()["id"]))
    original = KeyFile(key_file).ring()
    before = await stored(keyed)
    assert before["key_ids"] == {original.current_aes_key}
    assert await found_by_pesel(keyed) == registered

    output = await rotate(keyed)

    resealed = KeyFile(key_file).ring()
    after = await stored(keyed)
    assert "re-sealed 3 persons and 1 stored answers" in output
    assert resealed.current_aes_key != original.current_aes_key
    assert set(resealed.aes_keys) == {original.current_aes_key, resealed.current_aes_key}, "the old key is kept"
    assert after["key_ids"] == {resealed.current_aes_key}
    assert after["hashes"] == before["hashes"], "without --hmac the blind index stays"
    assert all(after["sealed"][i] != before["sealed"][i] for i in registered)
    assert await found_by_pesel(keyed) == registered

    await rotate(keyed, "--hmac")

    rehashed = KeyFile(key_file).ring()
    after_hmac = await stored(keyed)
    assert rehashed.current_hmac_key != original.current_hmac_key
    assert set(rehashed.hmac_keys) == {original.current_hmac_key, rehashed.current_hmac_key}
    assert all(after_hmac["hashes"][i] != before["hashes"][i] for i in registered)
    assert after_hmac["hashes"] == {
        person_id: keyed.vault.blind_index(pesel) for person_id, pesel in zip(registered, PESELS, strict=True)
    }
    assert await found_by_pesel(keyed) == registered

    # A process still on the first keys (or a crashed run) left a value under them: retiring moves it first.
    stale = PersonalDataVault(original)
    async with keyed.engine.begin() as connection:
        await connection.execute(
            update(PersonRow)
            .where(PersonRow.id == registered[1])
            .values(
                pesel_hash=stale.blind_index(MARIA),
                pesel_sealed=stale.seal(MARIA, context=person_pesel_context(registered[1])),
            )
        )
    assert await found_by_pesel(keyed) == registered, "found under the old index while both keys are held"

    output = await rotate(keyed, "--retire-old")

    retired = KeyFile(key_file).ring()
    final = await stored(keyed)
    assert set(retired.aes_keys) == {rehashed.current_aes_key}
    assert set(retired.hmac_keys) == {rehashed.current_hmac_key}
    assert "retired old keys" in output
    assert final["key_ids"] == {retired.current_aes_key}
    assert final["hashes"] == after_hmac["hashes"]
    assert await found_by_pesel(keyed) == registered
    replay = await api.post("/v1/persons", json=person_body(JAN), headers=ops.headers(**first_post))
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["pesel"] == JAN
    listed = (await api.get("/v1/persons", headers=ops.headers())).json()["items"]
    assert sorted(p["pesel"] for p in listed) == sorted(PESELS)


async def test_a_retiring_run_with_nothing_old_adds_no_key(keyed: Container) -> None:
    before = KeyFile(keyed.settings.pesel.key_file).ring()

    await rotate(keyed, "--retire-old")

    assert KeyFile(keyed.settings.pesel.key_file).ring() == before


async def test_keys_from_the_environment_are_not_rotated_by_the_command(keyed: Container) -> None:
    ring = KeyRing.generate()
    env = os.environ | {
        "SPOJNIA_DATABASE_URL": keyed.settings.database_url,
        "SPOJNIA_LOCAL_ISSUER__ENABLED": "false",
        "SPOJNIA_PESEL__HMAC_KEY": base64.b64encode(ring.hmac_keys[ring.current_hmac_key]).decode(),
        "SPOJNIA_PESEL__KEYS": json.dumps({"k1": base64.b64encode(ring.aes_keys[ring.current_aes_key]).decode()}),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app.cli", "keys", "rotate-pesel", env=env, stderr=asyncio.subprocess.PIPE
    )
    _, err = await asyncio.wait_for(process.communicate(), timeout=60)

    assert process.returncode == 2
    assert "rotate them in the secret store" in err.decode()
