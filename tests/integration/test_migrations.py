"""Migrations: the schema they build is the schema the code expects, on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from app.adapters.db.directory_tables import include_name
from app.adapters.db.migrate import downgrade, upgrade
from app.adapters.db.tables import metadata
from app.bootstrap import Container

pytestmark = pytest.mark.sqlite


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": include_name})
    return list(compare_metadata(context, metadata))


async def test_migrated_schema_matches_the_tables_the_code_uses(container: Container) -> None:
    async with container.engine.connect() as connection:
        differences = await connection.run_sync(_differences)

    assert differences == []


async def test_migrations_go_down_to_nothing_and_up_again(container: Container, database_url: str) -> None:
    await container.engine.dispose()  # no pooled connection may hold a lock while tables are dropped

    downgrade(database_url, "base")
    async with container.engine.connect() as connection:
        tables = await connection.run_sync(lambda c: c.dialect.get_table_names(c))
    assert set(tables) <= {"alembic_version"}

    upgrade(database_url)
    async with container.engine.connect() as connection:
        tables = await connection.run_sync(lambda c: c.dialect.get_table_names(c))
    assert set(metadata.tables) <= set(tables)
