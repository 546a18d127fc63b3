"""Test fixtures: a real database (PostgreSQL by default, SQLite with SPOJNIA_TEST_DATABASE=sqlite),
migrated once per session and emptied after each test; the real ASGI app driven over httpx."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.adapters.db.migrate import upgrade
from app.adapters.db.tables import metadata
from app.bootstrap import Container, bootstrap
from app.config import AuditTrail, LocalIssuer, PeselProtection, Settings, Webhooks
from app.domain.caller import ALL_SCOPES
from app.domain.ids import InstitutionId, WorkerId
from app.domain.services import institutions as institution_use
from app.main import create_app
from tests.sharing_support import signed_agreement

PG_ADMIN_DSN = os.environ.get("SPOJNIA_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKEND = os.environ.get("SPOJNIA_TEST_DATABASE", "postgresql")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On SQLite only the tests marked `sqlite` run: repositories, migrations and an API smoke run."""
    if BACKEND != "sqlite":
        return
    postgres_only = [item for item in items if "sqlite" not in item.keywords]
    config.hook.pytest_deselected(items=postgres_only)
    items[:] = [item for item in items if "sqlite" in item.keywords]


@pytest.fixture(scope="session", autouse=True)
def pesel_key_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One PESEL key file for the run, named in the environment: the migrations (which read `Settings()`),
    the container and the command-line subprocesses the tests start all seal and find PESELs with it."""
    path = tmp_path_factory.mktemp("pesel-keys") / "pesel-keys.json"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SPOJNIA_PESEL__KEY_FILE", str(path))
        yield path


@pytest.fixture(scope="session", autouse=True)
def audit_key_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The key that signs audit checkpoints, for the container and the command-line subprocesses alike."""
    path = tmp_path_factory.mktemp("audit-keys") / "audit-signing-key.pem"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SPOJNIA_AUDIT__SIGNING_KEY_FILE", str(path))
        yield path


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if BACKEND == "sqlite":
        path = tmp_path_factory.mktemp("db") / "spojnia-test.db"
        url = f"sqlite+aiosqlite:///{path}"
        upgrade(url)
        yield url
        return
    name = f"spojnia_test_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_DSN.replace("postgresql://", "postgresql+asyncpg://").rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def settings(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, pesel_key_file: Path, audit_key_file: Path
) -> Settings:
    keys = tmp_path_factory.mktemp("keys")
    return Settings(
        database_url=database_url,
        database_pool_size=5,
        local_issuer=LocalIssuer(issuer="https://spojnia.test", key_file=Path(keys) / "signing-key.pem"),
        pesel=PeselProtection(key_file=pesel_key_file),
        audit=AuditTrail(signing_key_file=audit_key_file),
        log_level="INFO",
        # Retry delays in milliseconds, so the webhook tests see back-off without waiting for it.
        webhooks=Webhooks(retry_base_ms=20, max_attempts=4, timeout_seconds=2.0, poll_seconds=0.05),
    )


@pytest.fixture(scope="session")
async def container(settings: Settings) -> AsyncIterator[Container]:
    app = bootstrap(settings)
    yield app
    await app.aclose()


async def empty_database(engine: AsyncEngine) -> None:
    names = [t.name for t in reversed(metadata.sorted_tables)]
    async with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            await connection.execute(text(f"TRUNCATE {', '.join(names)} CASCADE"))
        else:
            for name in names:
                await connection.execute(text(f"DELETE FROM {name}"))  # noqa: S608 - table names from metadata


@pytest.fixture(autouse=True)
async def _isolated(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Every test starts from empty tables; the schema is migrated once per session."""
    yield
    if "container" in request.fixturenames:
        app: Container = request.getfixturevalue("container")
        await empty_database(app.engine)


@pytest.fixture
async def client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(container=container)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://spojnia.test") as http:
        yield http


@dataclass
class Party:
    """An institution in a test, with a worker and a way to mint its tokens."""

    key: str
    id: InstitutionId
    worker_id: WorkerId
    container: Container
    scopes: frozenset[str] = field(default_factory=lambda: frozenset(ALL_SCOPES))

    def token(
        self, *scopes: str, roles: frozenset[str] = frozenset(), ttl: int | None = None, subject: str | None = None
    ) -> str:
        assert self.container.issuer is not None
        return self.container.issuer.issue(
            subject=subject or f"test-{self.key}",
            institution_id=self.id,
            scopes=frozenset(scopes) if scopes else self.scopes,
            roles=roles,
            ttl=ttl,
        ).access_token

    def headers(self, *scopes: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(*scopes)}", **extra}


INSTITUTIONS = {
    "ops": ("MOPS", "MOPS w Bartoszycach", "2801011"),
    "pup": ("PUP", "PUP w Bartoszycach", "2801"),
    "ngo": ("NGO", "Stowarzyszenie Razem", "2801011"),
    "other_ops": ("GOPS", "GOPS w Sępopolu", "2801063"),
}


@pytest.fixture
async def parties(container: Container) -> dict[str, Party]:
    made: dict[str, Party] = {}
    for key, (kind, name, teryt) in INSTITUTIONS.items():
        institution = await institution_use.register_institution(
            container.ctx, None, institution_use.InstitutionData(type=kind, name=name, teryt=teryt)
        )
        worker = await institution_use.add_worker(
            container.ctx,
            None,
            institution_use.NewWorker(
                institution_id=institution.id,
                first_name="Anna",
                last_name=f"Pracownik-{key}",
                role="SOCIAL_WORKER",
            ),
        )
        made[key] = Party(key=key, id=institution.id, worker_id=worker.id, container=container)
    # The MOPS and the PUP work under a signed agreement, as in the pilots; the GOPS of another gmina
    # (other_ops) has none and the NGO rests on consent alone: the tests of refusals use those two.
    await signed_agreement(container, made["ops"].id, made["pup"].id)
    return made


@pytest.fixture
def ops(parties: dict[str, Party]) -> Party:
    return parties["ops"]


@pytest.fixture
def pup(parties: dict[str, Party]) -> Party:
    return parties["pup"]


@pytest.fixture
def ngo(parties: dict[str, Party]) -> Party:
    return parties["ngo"]


@pytest.fixture
def other_ops(parties: dict[str, Party]) -> Party:
    return parties["other_ops"]


@pytest.fixture
async def pcpr(container: Container, parties: dict[str, Party]) -> Party:
    institution = await institution_use.register_institution(
        container.ctx, None, institution_use.InstitutionData(type="PCPR", name="PCPR w Bartoszycach", teryt="2801")
    )
    worker = await institution_use.add_worker(
        container.ctx,
        None,
        institution_use.NewWorker(
            institution_id=institution.id, first_name="Katarzyna", last_name="Koordynatorka", role="OTHER"
        ),
    )
    await signed_agreement(container, institution.id, parties["ops"].id, parties["pup"].id)
    return Party(key="pcpr", id=institution.id, worker_id=worker.id, container=container)


async def _team(container: Container, key: str, name: str, teryt: str) -> Party:
    """An interdisciplinary team (ZI) of a gmina; its tokens need roles={"interdisciplinary_team"} to act as one."""
    institution = await institution_use.register_institution(
        container.ctx, None, institution_use.InstitutionData(type="ZI", name=name, teryt=teryt)
    )
    worker = await institution_use.add_worker(
        container.ctx,
        None,
        institution_use.NewWorker(institution_id=institution.id, first_name="Ewa", last_name="Zespołowa", role="OTHER"),
    )
    return Party(key=key, id=institution.id, worker_id=worker.id, container=container)


@pytest.fixture
async def zi(container: Container) -> Party:
    return await _team(container, "zi", "Zespół Interdyscyplinarny w Bartoszycach", "2801011")


@pytest.fixture
async def other_zi(container: Container) -> Party:
    return await _team(container, "other_zi", "Zespół Interdyscyplinarny w Sępopolu", "2801063")


@pytest.fixture
async def partnership(
    client: httpx.AsyncClient, pcpr: Party, ops: Party, pup: Party, ngo: Party, other_ops: Party
) -> dict[str, Any]:
    response = await client.post(
        "/v1/partnerships",
        headers=pcpr.headers(),
        json={
            "name": "Partnerstwo Powiatu Bartoszyckiego",
            "teryt": "2801",
            "members": [str(p.id) for p in (pcpr, ops, pup, ngo, other_ops)],
            "coordinating_team": [
                {"worker_id": str(pcpr.worker_id), "institution_id": str(pcpr.id)},
                {"worker_id": str(pup.worker_id), "institution_id": str(pup.id)},
            ],
            "mobile_team": [{"worker_id": str(ops.worker_id), "institution_id": str(ops.id)}],
        },
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body
