"""A file batch of 100,000 persons through the import path, and its ratio to PostgreSQL COPY of the same rows.

    .venv/bin/python -m bench.import_persons                     # 100,000 persons, PostgreSQL at 127.0.0.1:5432
    .venv/bin/python -m bench.import_persons --persons 20000 --keep

A database is made for the run (dropped afterwards unless --keep) and migrated; one MOPS is registered. The
file is a POMOST Std export (Windows-1250, `;`) of households with Polish names and valid PESELs. Measured:

- baseline: `COPY ... FROM STDIN (FORMAT binary)` of exactly the rows the import stored (persons, enrollments,
  families and members, source records and households, audit events, the batch) into the same tables of a
  second database migrated alike, with the same indexes, keys and triggers: what PostgreSQL itself needs to
  write the import's result, with no checking at all;
- for information, `COPY ... FROM STDIN (FORMAT csv)` of the very file into a plain table of text columns
  (what loading the file costs before a single index or check);
- import: what `spojnia sync import` does: read and check the file with the profile (PESEL checksums, dates,
  codes, duplicates), then the use case in one transaction: find known PESELs, register persons (PESEL hashed
  and sealed), enroll them, make the households' families, keep the source records, write the audit trail;
- a second import of the same file (every row unchanged), for information.

It prints each phase's time and the ratios of the import to both COPYs; the exit status is 0 when the import is
within 5x of the COPY of the same rows.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import os
import tempfile
import time
import uuid
from datetime import date, timedelta

import asyncpg
from stdnum.pl import pesel as stdnum_pesel

from app.adapters.crypto.vault import KeyRing, PersonalDataVault
from app.adapters.db.engine import make_engine, make_session_factory
from app.adapters.db.migrate import upgrade
from app.adapters.db.record_sync_repository import SqlRecordImportStore
from app.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from app.adapters.record_systems.file_batches import import_command
from app.adapters.record_systems.profiles import load_profile
from app.domain.caller import Caller, Scope
from app.domain.clock import SystemClock
from app.domain.code_lists import default_code_lists
from app.domain.record_imports import ImportBatch
from app.domain.services import institutions
from app.domain.services.context import UseCaseContext
from app.domain.services.record_imports import import_file

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
TARGET = 5.0
FIRST = {
    "F": ["Łucja", "Żaneta", "Małgorzata", "Agnieszka", "Zofia"],
    "M": ["Łukasz", "Mikołaj", "Paweł", "Józef", "Jan"],
}
LAST = {
    "F": ["Kowalska", "Wąsik", "Łączyńska", "Żółtowska", "Gąska"],
    "M": ["Kowalski", "Wąsik", "Łączyński", "Żółtowski", "Gąska"],
}
STATUSES = ["W", "S", "PS", "KS", "AR"]


def pomost_file(count: int) -> bytes:
    """Households of up to four; every PESEL unique (birth day and serial), valid, with its sex digit."""
    lines = ["ID_OSOBY;NR_RODZINY;PESEL;IMIE;NAZWISKO;DATA_UR;PLEC;POKREWIENSTWO;STATUS_KLIENTA;DATA_OD;TERYT_GMINY"]
    start = date(1950, 1, 1)
    for i in range(count):
        sex = "F" if i % 2 else "M"
        born = start + timedelta(days=i % 20_000)
        serial = i // 20_000
        month = born.month + (20 if born.year >= 2000 else 0)
        digits = f"{born:%y}{month:02d}{born:%d}{serial:03d}{(i % 5) * 2 + (sex == 'M')}"
        pesel = digits + stdnum_pesel.calc_check_digit(digits)
        role = "WN" if i % 4 == 0 else ("MZ" if i % 4 == 1 else "SY")
        lines.append(
            f"{100000 + i};R/{i // 4:06d};{pesel};{FIRST[sex][i % 5]};{LAST[sex][(i // 4) % 5]};{born:%d.%m.%Y};"
            f"{'K' if sex == 'F' else 'M'};{role};{STATUSES[i % 5]};01.03.2026;2801011"
        )
    return ("\r\n".join(lines) + "\r\n").encode("cp1250")


async def copy_of_the_file(dsn: str, data: bytes) -> float:
    columns = data.split(b"\r\n", 1)[0].decode("cp1250").lower().split(";")
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f"CREATE TABLE bench_plain ({', '.join(f'{c} text' for c in columns)})")
        started = time.perf_counter()
        await connection.copy_to_table(
            "bench_plain",
            source=io.BytesIO(data),
            format="csv",
            header=True,
            delimiter=";",
            encoding="WIN1250",
        )
        return time.perf_counter() - started
    finally:
        await connection.close()


# What an import writes, in the order their foreign keys need.
STORED = (
    "institutions",
    "persons",
    "enrollments",
    "families",
    "family_memberships",
    "import_batches",
    "source_records",
    "source_households",
    "audit_events",
)


async def copy_of_the_stored_rows(admin_dsn: str, imported_dsn: str) -> tuple[float, int]:
    """Every row the import stored, copied out of its database and timed going by COPY into another one."""
    name = f"spojnia_bench_copy_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    target_dsn = admin_dsn.rsplit("/", 1)[0] + f"/{name}"
    try:
        await asyncio.to_thread(upgrade, target_dsn.replace("postgresql://", "postgresql+asyncpg://"))
        source, target = await asyncpg.connect(imported_dsn), await asyncpg.connect(target_dsn)
        try:
            dumps = []
            for table in STORED:
                buffer = io.BytesIO()
                await source.copy_from_query(f"SELECT * FROM {table}", output=buffer, format="binary")  # noqa: S608
                dumps.append((table, buffer, await source.fetchval(f"SELECT count(*) FROM {table}")))  # noqa: S608
            started = time.perf_counter()
            for table, buffer, _ in dumps:
                buffer.seek(0)
                await target.copy_to_table(table, source=buffer, format="binary")
            return time.perf_counter() - started, sum(count for _, _, count in dumps)
        finally:
            await source.close()
            await target.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def run(args: argparse.Namespace) -> bool:
    os.environ.setdefault("SPOJNIA_PESEL__KEY_FILE", str(tempfile.mkdtemp(prefix="spojnia-bench-") + "/keys.json"))
    started = time.perf_counter()
    data = pomost_file(args.persons)
    print(
        f"built a POMOST Std export of {args.persons} persons ({len(data) / 1e6:.1f} MB) in "
        f"{time.perf_counter() - started:.1f} s"
    )
    name = f"spojnia_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(args.pg_admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    dsn = args.pg_admin_dsn.rsplit("/", 1)[0] + f"/{name}"
    url = dsn.replace("postgresql://", "postgresql+asyncpg://")
    engine = make_engine(url, pool_size=2)
    try:
        await asyncio.to_thread(upgrade, url)
        plain = await copy_of_the_file(dsn, data)

        vault = PersonalDataVault(KeyRing.generate())
        sessions = make_session_factory(engine)
        ctx = UseCaseContext(uow=SqlUnitOfWorkFactory(sessions, vault), clock=SystemClock(), codes=default_code_lists())
        institution = await institutions.register_institution(
            ctx, None, institutions.InstitutionData(type="MOPS", name="MOPS w Bartoszycach", teryt="2801011")
        )
        caller = Caller(
            subject="bench",
            institution_id=institution.id,
            scopes=frozenset({Scope.PERSONS_WRITE.value}),
            roles=frozenset(),
            worker_id=None,
            request_id="bench-import",
        )
        store = SqlRecordImportStore(sessions, vault)
        profile = load_profile("pomost-std")

        async def once() -> tuple[float, float, ImportBatch]:
            gc.collect()
            began = time.perf_counter()
            command = import_command(data, "pomost.csv", profile, skip_rejects=False)
            read = time.perf_counter() - began
            batch = await import_file(ctx, store, caller, command)
            return read, time.perf_counter() - began, batch

        read, total, batch = await once()
        c = batch.counts
        print(f"import:   read and check the file                 {read:7.2f} s")
        print(f"import:   the use case (one transaction)          {total - read:7.2f} s")
        print(
            f"import:   total                                   {total:7.2f} s   "
            f"({c.created} created, {c.families_created} families, {c.rejected} rejected)"
        )
        again_read, again_total, again = await once()
        print(
            f"again:    the same file, every row unchanged      {again_total:7.2f} s   "
            f"({again.counts.unchanged} unchanged; reading {again_read:.2f} s)"
        )
        await engine.dispose()
        baseline, stored = await copy_of_the_stored_rows(args.pg_admin_dsn, dsn)
        print(f"baseline: COPY of the {stored} rows it stored         {baseline:7.2f} s")
        print(f"for information: COPY of the file, plain table      {plain:7.2f} s")
        ratio = total / baseline
        print(f"\nratio of the import to COPY of the same rows: {ratio:.1f}x (target: within {TARGET:.0f}x)")
        print(f"ratio of the import to COPY of the file:      {total / plain:.0f}x (for information)")
        return batch.counts.created == args.persons and ratio <= TARGET
    finally:
        await engine.dispose()
        admin = await asyncpg.connect(args.pg_admin_dsn)
        if args.keep:
            print(f"kept database {name}")
        else:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--pg-admin-dsn", default=PG_ADMIN_DSN)
    parser.add_argument("--keep", action="store_true", help="keep the database for a look afterwards")
    ok = asyncio.run(run(parser.parse_args()))
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
