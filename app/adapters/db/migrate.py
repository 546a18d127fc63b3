"""Alembic, driven from code: `spojnia migrate` and the tests use the same path."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


@cache
def shipped_revisions() -> tuple[str | None, frozenset[str]]:
    """The revision the code expects the database at (the newest migration shipped), and every one shipped."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return script.get_current_head(), frozenset(r.revision for r in script.walk_revisions())
