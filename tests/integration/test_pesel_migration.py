"""Migration 0005: PESELs already stored in plain text are moved to a blind index and a sealed value, and back."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from app.adapters.crypto.key_file import open_vault
from app.adapters.crypto.vault import PersonalDataVault, person_pesel_context, stored_response_context
from app.adapters.db.engine import make_engine, make_session_factory
from app.adapters.db.idempotency import ReservationState, SqlIdempotencyStore
from app.adapters.db.migrate import downgrade, upgrade
from app.adapters.db.unit_of_work import SqlUnitOfWork
from app.config import PeselProtection
from app.domain.values import Pesel
from tests.builders import JAN, MARIA
from tests.conftest import BACKEND, PG_ADMIN_DSN

pytestmark = pytest.mark.sqlite

PERSON_ID = uuid.UUID("7d0c6f1e-3a52-4c1b-9a0e-5f1b2c3d4e5f")
OWNER, KEY = "institution:client", "retry-1"
BODY = json.dumps({"id": str(PERSON_ID), "pesel": JAN})
DIGEST = hashlib.sha256(b"the request").hexdigest()

persons_0004 = sa.table(
    "persons",
    sa.column("id", sa.Uuid()),
    sa.column("first_name", sa.String()),
    sa.column("last_name", sa.String()),
    sa.column("birth_date", sa.Date()),
    sa.column("sex", sa.String()),
    sa.column("pesel", sa.String()),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
    sa.column("version", sa.Integer()),
)
idempotency_keys = sa.table(
    "idempotency_keys",
    sa.column("owner", sa.String()),
    sa.column("key", sa.String()),
    sa.column("fingerprint", sa.String()),
    sa.column("status_code", sa.Integer()),
    sa.column("response_body", sa.Text()),
    sa.column("response_headers", sa.Text()),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


@pytest.fixture
def fresh_database(tmp_path: Path) -> Iterator[str]:
    """A database of this test's own: the session's one stays at the latest schema for the others."""
    if BACKEND == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}"
        return
    name = f"spojnia_pesel_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_DSN.replace("postgresql://", "postgresql+asyncpg://").rsplit("/", 1)[0] + f"/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def engine(fresh_database: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(fresh_database, pool_size=2)
    yield engine
    await engine.dispose()


@pytest.fixture
def vault(pesel_key_file: Path) -> PersonalDataVault:
    """The keys of the run's settings: the ones the migration found through `Settings()`."""
    return open_vault(PeselProtection(key_file=pesel_key_file), development=True)


async def columns(engine: AsyncEngine, table: str) -> set[str]:
    async with engine.connect() as connection:
        found = await connection.run_sync(lambda c: sa.inspect(c).get_columns(table))
    return {c["name"] for c in found}


async def migrate(engine: AsyncEngine, url: str, revision: str, *, down: bool = False) -> None:
    await engine.dispose()  # no pooled connection may hold a lock on a table being rebuilt
    (downgrade if down else upgrade)(url, revision)


async def test_plain_pesels_are_moved_to_a_hash_and_a_sealed_value_and_back(
    fresh_database: str, engine: AsyncEngine, vault: PersonalDataVault
) -> None:
    upgrade(fresh_database, "0004")
    now = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    async with engine.begin() as connection:
        await connection.execute(
            sa.insert(persons_0004).values(
                id=PERSON_ID,
                first_name="Jan",
                last_name="Nowak",
                birth_date=date(1985, 3, 12),
                sex="M",
                pesel=JAN,
                created_at=now,
                updated_at=now,
                version=1,
            )
        )
        await connection.execute(
            sa.insert(idempotency_keys).values(
                owner=OWNER,
                key=KEY,
                fingerprint=DIGEST,
                status_code=201,
                response_body=BODY,
                response_headers='{"content-type": "application/json"}',
                created_at=datetime.now(UTC),
            )
        )

    await migrate(engine, fresh_database, "0005")

    assert "pesel" not in await columns(engine, "persons")
    async with engine.connect() as connection:
        index, sealed = (await connection.execute(sa.text("SELECT pesel_hash, pesel_sealed FROM persons"))).one()
        stored = (await connection.execute(sa.text("SELECT response_body, fingerprint FROM idempotency_keys"))).one()
    assert index == vault.blind_index(JAN)
    assert JAN not in sealed
    assert vault.open(sealed, context=person_pesel_context(PERSON_ID)) == JAN
    assert JAN not in stored.response_body
    assert vault.open(stored.fingerprint, context=stored_response_context(OWNER, KEY, "fingerprint")) == DIGEST

    await migrate(engine, fresh_database, "head")

    async with SqlUnitOfWork(make_session_factory(engine), vault) as uow:
        found = await uow.persons.by_pesel(Pesel.parse(JAN))
        assert await uow.persons.by_pesel(Pesel.parse(MARIA)) is None
    assert found is not None
    assert (found.id, found.pesel) == (PERSON_ID, Pesel(JAN))
    replay = await SqlIdempotencyStore(make_session_factory(engine), vault, ttl_hours=24).reserve(OWNER, KEY, DIGEST)
    assert replay.state is ReservationState.REPLAY, "a retry sent before the upgrade is still recognised"
    assert replay.stored is not None
    assert replay.stored.body == BODY

    await migrate(engine, fresh_database, "0004", down=True)

    assert {"pesel_hash", "pesel_sealed"}.isdisjoint(await columns(engine, "persons"))
    async with engine.connect() as connection:
        assert (await connection.execute(sa.text("SELECT pesel FROM persons"))).scalar_one() == JAN
        back = (await connection.execute(sa.text("SELECT response_body, fingerprint FROM idempotency_keys"))).one()
    assert tuple(back) == (BODY, DIGEST)


async def test_a_database_without_persons_migrates_without_any_key(
    fresh_database: str, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A new installation outside development: no key file yet, and none is needed to build the schema.
    monkeypatch.setenv("SPOJNIA_ENVIRONMENT", "production")
    monkeypatch.setenv("SPOJNIA_PESEL__KEY_FILE", str(tmp_path / "absent.json"))

    upgrade(fresh_database, "0005")
    await migrate(engine, fresh_database, "0004", down=True)

    assert "pesel" in await columns(engine, "persons")
    assert not (tmp_path / "absent.json").exists()
