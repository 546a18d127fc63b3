"""The bench database: made, migrated and filled by COPY with the plan's rows (plan.py, rows.py).

PESELs are hashed and sealed with the vault of the run's key file (the one the service loads), in a process pool.
Rows go in by `COPY ... FROM STDIN (FORMAT binary)` with foreign-key triggers off for the loading session
(`session_replication_role = replica`: the rows are consistent by construction); the big tables' indexes are made
after their COPY from their own definitions; then VACUUM ANALYZE. The sample of inputs the load is drawn from is
kept beside the keys.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg

from app.adapters.crypto.key_file import KeyFile
from app.adapters.crypto.vault import PersonalDataVault, person_pesel_context
from app.adapters.db.migrate import upgrade
from bench.hot_paths.keys import KeyDir
from bench.hot_paths.plan import SEED, Plan, plan
from bench.hot_paths.rows import (
    TABLE_COLUMNS,
    Row,
    agreements,
    audit_rows,
    consents_rows,
    enrollments_rows,
    families_rows,
    family_work,
    institutions_rows,
    memberships_rows,
    persons_rows,
    referrals,
    workers_rows,
)

SAMPLE_SIZE = 2000
# The monitoring report's period: the data's hours, benefits and outcomes fall in 2025 and 2026.
PERIOD = ("2026-01-01", "2026-12-31")

# ---------------------------------------------------------------------------------------------------------------
# PESELs hashed and sealed in worker processes, with the vault of the key file.

_vault: PersonalDataVault | None = None


def _open_vault(key_file: str) -> None:
    global _vault  # one vault per pool process
    _vault = PersonalDataVault(KeyFile(Path(key_file)))


def _seal_chunk(chunk: list[tuple[bytes, str | None]]) -> list[tuple[str, str] | None]:
    vault = _vault
    assert vault is not None  # noqa: S101 - set by the pool's initializer
    return [
        (vault.blind_index(pesel), vault.seal(pesel, context=person_pesel_context(UUID(bytes=raw))))
        if pesel is not None
        else None
        for raw, pesel in chunk
    ]


def start_sealing(
    pl: Plan, keys: KeyDir, processes: int
) -> tuple[Any, multiprocessing.pool.AsyncResult[list[list[tuple[str, str] | None]]]]:
    p = pl.persons
    items = [(pid.bytes, pesel) for pid, pesel in zip(p.id, p.pesel, strict=True)]
    chunks = [items[k : k + 20_000] for k in range(0, len(items), 20_000)]
    pool = multiprocessing.get_context("fork").Pool(
        processes, initializer=_open_vault, initargs=(str(keys.pesel_keys),)
    )
    return pool, pool.map_async(_seal_chunk, chunks)


# ---------------------------------------------------------------------------------------------------------------
# The sample the load is drawn from, kept beside the keys so that --reuse needs nothing else.


@dataclass(slots=True)
class Sample:
    institutions: dict[str, str]  # id -> type, of every caller in the sample
    lookups: list[tuple[str, str, str]]  # (PUP id, PESEL, its blind index)
    persons: list[tuple[str, str]]  # (centre id, person id)
    families: list[tuple[str, str]]  # (centre id, family id)
    inboxes: list[str]  # PUP ids
    reports: list[tuple[str, str]]  # (PCPR id, partnership id)
    period: tuple[str, str]
    counts: dict[str, int]
    generation_seconds: float
    persons_total: int

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: Path) -> Sample:
        raw = json.loads(path.read_text())
        return cls(
            institutions=raw["institutions"],
            lookups=[tuple(x) for x in raw["lookups"]],
            persons=[tuple(x) for x in raw["persons"]],
            families=[tuple(x) for x in raw["families"]],
            inboxes=raw["inboxes"],
            reports=[tuple(x) for x in raw["reports"]],
            period=(raw["period"][0], raw["period"][1]),
            counts=raw["counts"],
            generation_seconds=raw["generation_seconds"],
            persons_total=raw["persons_total"],
        )


def draw_sample(pl: Plan, keys: KeyDir, size: int = SAMPLE_SIZE) -> Sample:
    rng = random.Random(SEED + 12)
    p, f = pl.persons, pl.families
    vault = keys.vault()
    shared = [i for i in range(len(p.id)) if p.pup[i] and p.pesel[i] is not None]
    chosen = rng.sample(shared, min(size, len(shared)))
    lookups = []
    for i in chosen:
        pesel = p.pesel[i]
        assert pesel is not None  # noqa: S101 - chosen among those with a PESEL
        pup = pl.powiats[pl.ops[p.ops[i]].powiat].pup
        lookups.append((pup.key, pesel, vault.blind_index(pesel)))
    persons = [(pl.ops[p.ops[i]].key, str(p.id[i])) for i in rng.sample(range(len(p.id)), min(size, len(p.id)))]
    families = [
        (pl.ops[p.ops[f.start[k]]].key, str(f.id[k])) for k in rng.sample(range(len(f.id)), min(size, len(f.id)))
    ]
    inboxes = [pw.pup.key for pw in pl.powiats]
    reports = [(pw.pcpr.key, str(pw.partnership_id)) for pw in pl.powiats]
    callers = {key for key, *_ in lookups} | {key for key, _ in persons} | {key for key, _ in families}
    callers |= set(inboxes) | {key for key, _ in reports}
    kinds = {i.key: i.type for i in pl.institutions()}
    return Sample(
        institutions={key: kinds[key] for key in sorted(callers)},
        lookups=lookups,
        persons=persons,
        families=families,
        inboxes=inboxes,
        reports=reports,
        period=PERIOD,
        counts={},
        generation_seconds=0.0,
        persons_total=len(p.id),
    )


# ---------------------------------------------------------------------------------------------------------------
# The database.


def dsn_of(admin_dsn: str, database: str) -> str:
    return admin_dsn.rsplit("/", 1)[0] + f"/{database}"


def sqlalchemy_url(dsn: str) -> str:
    return dsn.replace("postgresql://", "postgresql+asyncpg://", 1)


async def create_database(admin_dsn: str, database: str) -> None:
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{database}"')
    finally:
        await admin.close()


async def drop_database(admin_dsn: str, database: str) -> None:
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await admin.close()


async def database_exists(admin_dsn: str, database: str) -> bool:
    admin = await asyncpg.connect(admin_dsn)
    try:
        return bool(await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database))
    finally:
        await admin.close()


async def _copy(dsn: str, table: str, rows: Iterator[Row] | Sequence[Row]) -> tuple[str, int, float]:
    started = time.perf_counter()
    connection = await asyncpg.connect(dsn)
    try:
        # Foreign-key triggers off for this session only: the rows are consistent by construction.
        await connection.execute("SET session_replication_role = replica; SET synchronous_commit = off")
        counted = _Counted(rows)
        await connection.copy_records_to_table(table, records=counted, columns=TABLE_COLUMNS[table])
        return table, counted.count, time.perf_counter() - started
    finally:
        await connection.close()


# The tables of a million rows and more: their indexes are made after the COPY, as a restore would.
BIG_TABLES = ("persons", "enrollments", "families", "family_memberships", "audit_events")

_INDEXES = """
SELECT c.relname AS table_name, i.relname AS index_name, pg_get_indexdef(i.oid) AS index_def,
       con.conname AS constraint_name, pg_get_constraintdef(con.oid) AS constraint_def
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class c ON c.oid = x.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
LEFT JOIN pg_constraint con ON con.conindid = i.oid AND con.conrelid = c.oid AND con.contype IN ('p', 'u')
WHERE c.relname = ANY($1::text[])
  AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = i.oid)
ORDER BY c.relname, i.relname
"""


async def _drop_indexes(dsn: str, tables: Sequence[str]) -> dict[str, list[str]]:
    """Drops the tables' indexes (and the keys they back) that no foreign key relies on; returns, by table, the
    statements that make them again exactly as the migrations did."""
    connection = await asyncpg.connect(dsn)
    restore: dict[str, list[str]] = {}
    try:
        for row in await connection.fetch(_INDEXES, list(tables)):
            table = row["table_name"]
            if row["constraint_name"]:
                await connection.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{row["constraint_name"]}"')
                restore.setdefault(table, []).insert(
                    0, f'ALTER TABLE "{table}" ADD CONSTRAINT "{row["constraint_name"]}" {row["constraint_def"]}'
                )
            else:
                await connection.execute(f'DROP INDEX "{row["index_name"]}"')
                restore.setdefault(table, []).append(row["index_def"])
    finally:
        await connection.close()
    return restore


async def _make_indexes(dsn: str, statements: list[str]) -> float:
    started = time.perf_counter()
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("SET maintenance_work_mem = '512MB'")
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()
    return time.perf_counter() - started


class _Counted:
    """An iterable of rows that counts what went through."""

    def __init__(self, rows: Iterator[Row] | Sequence[Row]) -> None:
        self.rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[Row]:
        for row in self.rows:
            self.count += 1
            yield row


async def generate(dsn: str, keys: KeyDir, persons: int, *, processes: int = 2, seed: int = SEED) -> Sample:
    """Migrates the (new, empty) database, fills it, and returns the sample of inputs (also saved beside the keys)."""
    started = time.perf_counter()
    await asyncio.to_thread(upgrade, sqlalchemy_url(dsn))
    print(f"  migrated in {time.perf_counter() - started:.1f} s")

    began = time.perf_counter()
    pl = plan(persons, seed)
    pool, sealing = start_sealing(pl, keys, processes)
    refs = referrals(pl)
    work = family_work(pl)
    agreement_rows, party_rows = agreements(pl)
    print(
        f"  planned {len(pl.persons.id):,} persons in {len(pl.families.id):,} households, "
        f"{len(pl.institutions())} institutions, {len(refs.referrals):,} referrals in "
        f"{time.perf_counter() - began:.1f} s"
    )

    small: list[tuple[str, Iterator[Row] | Sequence[Row]]] = [
        ("institutions", institutions_rows(pl)),
        ("workers", workers_rows(pl)),
        ("agreements", agreement_rows),
        ("agreement_parties", party_rows),
        ("consents", consents_rows(pl)),
        ("referrals", refs.referrals),
        ("referral_subjects", refs.subjects),
        ("referral_history", refs.history),
        ("referral_outcomes", refs.outcomes),
        ("partnerships", work.partnerships),
        ("partnership_members", work.members),
        ("partnership_team_members", work.team),
        ("contracts", work.contracts),
        ("contract_parties", work.parties),
        ("specialist_hours", work.hours),
        ("benefits", work.benefits),
        ("outcomes", work.outcomes),
    ]
    counts: dict[str, int] = {}

    def note(result: tuple[str, int, float]) -> None:
        table, count, seconds = result
        counts[table] = count
        print(f"  {table:<26} {count:>10,} rows  {seconds:6.1f} s")

    for table, rows in small:
        note(await _copy(dsn, table, rows))
    restore = await _drop_indexes(dsn, BIG_TABLES)
    # The big ones two at a time: one connection's rows are made while PostgreSQL writes the other's.
    for result in await asyncio.gather(
        _copy(dsn, "enrollments", enrollments_rows(pl)), _copy(dsn, "families", families_rows(pl))
    ):
        note(result)
    for result in await asyncio.gather(
        _copy(dsn, "family_memberships", memberships_rows(pl)), _copy(dsn, "audit_events", audit_rows(pl, refs))
    ):
        note(result)
    waited = time.perf_counter()
    sealed = [x for chunk in await asyncio.to_thread(sealing.get) for x in chunk]
    pool.close()
    pool.join()
    if time.perf_counter() - waited > 0.5:
        print(f"  waited {time.perf_counter() - waited:.1f} s for the PESELs to be sealed")
    note(await _copy(dsn, "persons", persons_rows(pl, sealed)))
    indexing = time.perf_counter()
    # Two tables' indexes at a time, largest first.
    order = sorted(restore, key=lambda t: -counts.get(t, 0))
    await asyncio.gather(
        _make_indexes(dsn, [s for t in order[0::2] for s in restore[t]]),
        _make_indexes(dsn, [s for t in order[1::2] for s in restore[t]]),
    )
    print(
        f"  {sum(map(len, restore.values()))} indexes of {', '.join(order)} made in "
        f"{time.perf_counter() - indexing:.1f} s"
    )
    loaded = time.perf_counter()
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("VACUUM (ANALYZE)")
    finally:
        await connection.close()
    print(f"  VACUUM (ANALYZE) in {time.perf_counter() - loaded:.1f} s")
    sample = draw_sample(pl, keys)
    sample.counts = counts
    sample.generation_seconds = round(time.perf_counter() - started, 1)
    sample.save(keys.sample)
    print(f"  generated in {sample.generation_seconds:.1f} s ({sum(counts.values()):,} rows)")
    return sample
