"""Engine and session factory for PostgreSQL (asyncpg) or the embedded SQLite (aiosqlite)."""

from __future__ import annotations

import socket
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def make_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    # Bound values stay out of error messages and the echo: a failed statement's traceback is logged, and its
    # values are names, addresses and notes of the persons helped.
    if url.startswith("sqlite"):
        engine = create_async_engine(url, echo=echo, hide_parameters=True, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            # Foreign keys are off by default in SQLite; WAL lets readers run beside a writer.
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_async_engine(
        url, echo=echo, hide_parameters=True, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)


def asyncpg_dsn(engine: AsyncEngine) -> str:
    """The engine's PostgreSQL URL as asyncpg itself takes it, for the statements that skip SQLAlchemy."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


# What a database that cannot be reached (down, restarting, out of connections) raises, through SQLAlchemy or
# through asyncpg directly (the read models): the request may be tried again; nothing of it was written.
_UNREACHABLE = (
    ConnectionError,  # refused, reset
    TimeoutError,  # no connection within the pool's or the driver's timeout
    socket.gaierror,  # the host's name does not resolve
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, starting up, restarting
    asyncpg.exceptions.TooManyConnectionsError,
)


def database_unreachable(error: BaseException) -> bool:
    if isinstance(error, DBAPIError):
        if error.connection_invalidated:
            return True
        return database_unreachable(error.orig) if isinstance(error.orig, BaseException) else False
    cause = error.__cause__
    return isinstance(error, _UNREACHABLE) or (cause is not None and isinstance(cause, _UNREACHABLE))
