"""Migration 0004 builds the directory's tables and its full-text index on both databases, and goes
down and up again cleanly."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection

from app.adapters.db import directory_tables
from app.adapters.db.migrate import downgrade, upgrade
from app.adapters.db.tables import metadata
from app.bootstrap import Container

pytestmark = pytest.mark.sqlite

DIRECTORY_TABLES = {
    "directory_services",
    "directory_service_areas",
    "directory_service_criteria",
    "directory_locations",
}


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_name": directory_tables.include_name}
    )
    return list(compare_metadata(context, metadata))


def _search_objects(connection: Connection) -> set[str]:
    if connection.dialect.name == "postgresql":
        found = connection.execute(
            text(
                "SELECT 'column' FROM information_schema.columns "
                "WHERE table_name = 'directory_services' AND column_name = 'search_vector' "
                "UNION ALL SELECT 'index' FROM pg_indexes WHERE indexname = 'ix_directory_services_search' "
                "UNION ALL SELECT 'function' FROM pg_proc WHERE proname = 'spojnia_fold'"
            )
        )
    else:
        found = connection.execute(
            text(
                "SELECT type FROM sqlite_master WHERE name = 'directory_service_search' "
                "OR (type = 'trigger' AND name LIKE 'directory_service_search_%')"
            )
        )
    return {row[0] for row in found}


def _tables(connection: Connection) -> set[str]:
    return set(connection.dialect.get_table_names(connection))


async def test_the_schema_is_the_code_s_apart_from_the_search_index_it_describes_itself(container: Container) -> None:
    async with container.engine.connect() as connection:
        differences = await connection.run_sync(_differences)
        search = await connection.run_sync(_search_objects)

    assert [d for d in differences if "directory" in repr(d)] == []
    expected = (
        {"column", "index", "function"} if container.engine.dialect.name == "postgresql" else {"table", "trigger"}
    )
    assert search == expected


async def test_the_directory_migration_goes_down_and_up_again(container: Container, database_url: str) -> None:
    await container.engine.dispose()  # no pooled connection may hold a lock while tables are dropped

    downgrade(database_url, "0003")
    async with container.engine.connect() as connection:
        tables_down = await connection.run_sync(_tables)
        search_down = await connection.run_sync(_search_objects)
    upgrade(database_url)
    async with container.engine.connect() as connection:
        tables_up = await connection.run_sync(_tables)
        search_up = await connection.run_sync(_search_objects)

    assert not tables_down & DIRECTORY_TABLES
    assert not {t for t in tables_down if t.startswith("directory_")}
    assert search_down == set()
    assert tables_up >= DIRECTORY_TABLES
    assert search_up
