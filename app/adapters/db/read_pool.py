"""The asyncpg pool of the hot paths' read models, and what their statements share.

A statement through the async SQLAlchemy session costs about five times the CPU of the same statement on its
asyncpg connection (bench/hot_paths/README.md); the read models (lookup_reads.py, family_reads.py) send theirs
here. The pool is this process's own, opened on first use and closed with the container, sized like the engine's.
Nothing on its connections leaves session state behind (no transaction spans two statements: each is atomic on its
own), so they are handed back without asyncpg's reset query.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import asyncpg
from prometheus_client import Counter

from app.adapters.db.audit_log import encode_categories
from app.adapters.db.sharing_repository import agreement_from_rows
from app.domain.audit import AuditRecord
from app.domain.sharing import Agreement


class Fields:
    """A record read as the row objects the mapping functions take: its columns as attributes."""

    __slots__ = ("_record",)

    def __init__(self, record: asyncpg.Record) -> None:
        self._record = record

    def __getattr__(self, name: str) -> Any:
        try:
            return self._record[name]
        except KeyError:
            raise AttributeError(name) from None


def rows(records: Sequence[asyncpg.Record] | None) -> list[Any]:
    """An aggregated array of row types (None when it aggregated nothing) as rows for the mapping functions."""
    return [Fields(r) for r in records or ()]


def one(record: asyncpg.Record | None) -> Any:
    return Fields(record) if record is not None else None


# The audit records of a request go in as one statement: the columns as arrays, unnested into rows. The
# placeholders start at $n, after the statement's own parameters.
AUDIT_COLUMNS = (
    "id, occurred_at, actor, actor_worker_id, institution_id, action, subject_type, subject_id, request_id, "
    "purpose, categories, decision, reason"
)
_AUDIT_TYPES = ("uuid", "timestamptz", "text", "uuid", "uuid", "text", "text", "uuid", "text", "text", "text", "text")


def audit_rows_from(first: int) -> str:
    types = (*_AUDIT_TYPES, "text")
    return "unnest(" + ", ".join(f"${first + n}::{t}[]" for n, t in enumerate(types)) + ")"


def audit_columns(records: Sequence[AuditRecord]) -> list[list[Any]]:
    return [
        [r.id for r in records],
        [r.occurred_at for r in records],
        [r.actor for r in records],
        [r.actor_worker_id for r in records],
        [r.institution_id for r in records],
        [r.action.value for r in records],
        [r.subject_type.value for r in records],
        [r.subject_id for r in records],
        [r.request_id for r in records],
        [r.purpose for r in records],
        [encode_categories(r.categories) for r in records],
        [r.decision.value for r in records],
        [r.reason for r in records],
    ]


RECORD_AUDIT = f"INSERT INTO audit_events ({AUDIT_COLUMNS}) SELECT * FROM {audit_rows_from(1)}"


# Beside SQLAlchemy's statements (which its engine events see), so that what a request costs can be counted whole.
STATEMENTS = Counter("spojnia_read_model_statements_total", "Statements the read models sent on their asyncpg pool")


# The read models' statements are prepared once and bind ids only, so one generic plan fits every execution.
# PostgreSQL's default re-plans a statement for each execution while it judges a custom plan cheaper, and for
# the family's grounds planning took 1.4 ms of its 1.8 (execution 0.4 ms): with generic plans 0.4 ms in all.
GENERIC_PLANS = {"plan_cache_mode": "force_generic_plan"}


async def _leave_as_is(_: asyncpg.Connection) -> None:
    """No reset query on release (asyncpg's default costs a round trip)."""


class ReadPool:
    def __init__(self, dsn: str, *, size: int) -> None:
        self._dsn = dsn
        self._size = size
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def __call__(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._opening:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self._dsn,
                        min_size=1,
                        max_size=self._size,
                        reset=_leave_as_is,
                        timeout=30,
                        server_settings=GENERIC_PLANS,
                    )
        return self._pool

    async def fetchrow(self, statement: str, *args: Any) -> asyncpg.Record | None:
        STATEMENTS.inc()
        return await (await self()).fetchrow(statement, *args)

    async def fetchval(self, statement: str, *args: Any) -> Any:
        STATEMENTS.inc()
        return await (await self()).fetchval(statement, *args)

    async def record_audit(self, records: Sequence[AuditRecord]) -> None:
        if records:
            STATEMENTS.inc()
            await (await self()).execute(RECORD_AUDIT, *audit_columns(records))

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


def caller_agreements(institution: str, when: str = "true") -> str:
    """A CTE body: the agreements nobody ended that the institution is party to (when `when` holds)."""
    return f"""
    SELECT a FROM agreements a
    WHERE ({when}) AND a.ended_at IS NULL
      AND EXISTS (SELECT 1 FROM agreement_parties p WHERE p.agreement_id = a.id AND p.institution_id = {institution})
    """


# The select-list items over a `caller_agreements` CTE, read back by `agreements_from`.
AGREEMENTS_AND_PARTIES = """
    (SELECT array_agg(c.a ORDER BY (c.a).created_at) FROM caller_agreements c) AS agreements,
    (SELECT array_agg(p) FROM agreement_parties p WHERE p.agreement_id IN (SELECT (c.a).id FROM caller_agreements c))
        AS parties"""


# Agreements as mapped before, by (id, version, updated_at): every change of an agreement takes a new version, the
# same few agreements ground most reads of an institution, and mapping one (every party, every category) costs
# more than reading it. Bounded; the read paths never change what they are given.
_AGREEMENTS: dict[tuple[Any, int, Any], Agreement] = {}
_AGREEMENTS_KEPT = 4096


def agreements_from(row: asyncpg.Record) -> list[Agreement]:
    found = rows(row["agreements"])
    missing = [a for a in found if (a.id, a.version, a.updated_at) not in _AGREEMENTS]
    if missing:
        parties: dict[Any, list[Any]] = {}
        for party in rows(row["parties"]):
            parties.setdefault(party.agreement_id, []).append(party)
        if len(_AGREEMENTS) + len(missing) > _AGREEMENTS_KEPT:
            _AGREEMENTS.clear()
        for a in missing:
            _AGREEMENTS[(a.id, a.version, a.updated_at)] = agreement_from_rows(a, parties.get(a.id, []))
    return [_AGREEMENTS[(a.id, a.version, a.updated_at)] for a in found]


def enrolled_now(person: str, institution: str) -> str:
    """SQL: the institution serves the person now (as repositories._enrolled_now)."""
    return (
        f"EXISTS (SELECT 1 FROM enrollments en WHERE en.person_id = {person} "
        f"AND en.institution_id = {institution} AND en.until IS NULL)"
    )


def family_visible(family: str, created_by: str, institution: str) -> str:
    """SQL: the institution keeps the family or serves a current member (as repositories._family_visible)."""
    member = enrolled_now("vm.person_id", institution)
    return (
        f"({created_by} = {institution} OR EXISTS (SELECT 1 FROM family_memberships vm "
        f"WHERE vm.family_id = {family} AND vm.until IS NULL AND {member}))"
    )


def person_visible(person: str, institution: str) -> str:
    """SQL: the institution serves the person or keeps a family they belong to now (as repositories._person_visible)."""
    return (
        f"({enrolled_now(person, institution)} OR EXISTS (SELECT 1 FROM family_memberships om "
        f"JOIN families ofam ON ofam.id = om.family_id WHERE om.person_id = {person} AND om.until IS NULL "
        f"AND ofam.created_by = {institution}))"
    )
