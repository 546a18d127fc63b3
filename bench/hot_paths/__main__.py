"""The hot paths of issue 9 under load, each beside its baseline, in one run.

    .venv/bin/python -m bench.hot_paths                                   # 1,000,000 persons, 10 s per path
    .venv/bin/python -m bench.hot_paths --persons 20000 --duration 3      # a quick look
    .venv/bin/python -m bench.hot_paths --keep                            # keep the database (and its keys)
    .venv/bin/python -m bench.hot_paths --reuse spojnia_hot_1a2b3c4d      # measure a kept one again

1. Makes a database (spojnia_hot_<random>), migrates it and fills it with generated, reproducible data
   (bench/hot_paths/data.py); the keys it was made with stay beside the sample of inputs in
   ~/.cache/spojnia-bench/hot_paths/<database>/. Dropped afterwards unless --keep (or --reuse).
2. Traces one request of each path in PostgreSQL's log: the statements (round trips) it issues.
3. For each worker count (--workers, "1,2"): the raw-asyncpg baseline (bench/hot_paths/raw_app.py, no auth),
   the service (`spojnia serve --workers N`) and PostGraphile 4 (--cluster-workers N), one at a time, each path
   warmed up then driven by wrk for --duration seconds over --connections connections.
4. Prints a table per worker count, the targets of issue 9 and 1 vs 2 workers; writes everything to --out.

Exit status 0 when every target holds, 1 when one does not, 2 when the run could not be made.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg

from bench.hot_paths import data, load, report, servers, trace
from bench.hot_paths.keys import KeyDir, mint_tokens

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
OUT = Path(__file__).resolve().parent / "results.json"
RAW_PATHS = ("lookup", "person", "family")
# SQLAlchemy's pool of the service: pool_size (SPOJNIA_DATABASE_POOL_SIZE, 10) plus as much overflow.
SERVICE_CONNECTIONS = 20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def ensure_wrk() -> bool:
    if load.wrk_binary():
        return True
    print("wrk is not installed; trying `apt-get install -y wrk` ...")
    if shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, capture_output=True)  # noqa: S607
    if load.wrk_binary():
        return True
    print("wrk is missing: install it (apt-get install -y wrk) and run again")
    return False


def parse_workers(raw: str) -> list[int]:
    counts = [int(x) for x in raw.split(",") if x.strip()]
    if not counts or any(c < 1 for c in counts):
        raise argparse.ArgumentTypeError("--workers takes counts such as 1,2")
    return counts


def _wrk_version() -> str:
    done = subprocess.run([load.wrk_binary() or "wrk", "-v"], capture_output=True, text=True, check=False)  # noqa: S603
    return done.stdout.split("\n")[0]


async def environment(admin_dsn: str) -> dict[str, Any]:
    connection = await asyncpg.connect(admin_dsn)
    try:
        version = await connection.fetchval("SHOW server_version")
        shared_buffers = await connection.fetchval("SHOW shared_buffers")
    finally:
        await connection.close()
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "postgresql": version,
        "shared_buffers": shared_buffers,
        "wrk": await asyncio.to_thread(_wrk_version),
        "postgraphile": "4" if servers.POSTGRAPHILE.exists() else None,
        # The machine may be shared: what else ran when this run began (1-minute load average).
        "load_average_at_start": round(os.getloadavg()[0], 2),
    }


def measure_server(
    server: servers.Server,
    paths: list[load.HotPath],
    tokens: dict[str, str],
    work_dir: Path,
    args: argparse.Namespace,
    run: report.Run,
) -> None:
    try:
        server.wait_ready()
        for path in paths:
            result = load.measure(
                path,
                server.name,
                server.url,
                f"127.0.0.1:{server.port}",
                tokens,
                work_dir,
                warmup=args.warmup,
                duration=args.duration,
                connections=args.connections,
                threads=args.threads,
            )
            result.workers = run.workers
            run.results.append(result)
            state = (
                "FAILED"
                if result.failed
                else f"{result.rps:8,.0f} req/s  p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:7.2f} ms"
            )
            print(f"    {server.name:<13} {path.key:<15} {state}")
            if result.failed:
                print(f"      {report.failure(result)}; first: {result.first_failure[:200]}")
        run.memory[server.name] = server.measure_memory()
    except RuntimeError as error:
        print(f"    {server.name}: {error}")
        for path in paths:
            run.results.append(load.Result(path.key, path.title, server.name, run.workers, error=str(error)))
    finally:
        server.stop()


async def traced(
    args: argparse.Namespace, name: str, dsn: str, keys: KeyDir, sample: data.Sample, tokens: dict[str, str]
) -> dict[str, Any]:
    log = await trace.log_file(args.pg_admin_dsn)
    if log is None:
        print("  PostgreSQL's log file cannot be read from here: no trace of statements")
        return {}
    found: dict[str, Any] = {"log": str(log)}
    await trace.set_logging(args.pg_admin_dsn, name, True)
    try:
        every = load.service_paths(sample)
        starts: list[tuple[str, Callable[[int], servers.Server], list[load.HotPath]]] = [
            ("service", lambda p: servers.start_service(keys, data.sqlalchemy_url(dsn), p, 1), list(every.values())),
            ("raw asyncpg", lambda p: servers.start_raw(keys, dsn, p, 1, SERVICE_CONNECTIONS),
             [every[k] for k in RAW_PATHS]),
        ]  # fmt: skip
        for label, start, paths in starts:
            server = start(free_port())
            try:
                server.wait_ready()
                traces = trace.trace_paths(server.port, paths, tokens, log, name)
            finally:
                server.stop()
            found[label] = {
                t.key: {
                    "status": t.status,
                    "round_trips": t.round_trips,
                    "pre_pings": t.pings,
                    "statements": t.statements,
                }
                for t in traces
            }
            for t in traces:
                print(
                    f"  {label:<12} {t.key:<15} {t.round_trips:>3} round trips: {len(t.statements)} statements logged, "
                    f"{t.pings} pool pre-pings (HTTP {t.status})"
                )
                if args.show_sql:
                    for statement in t.statements:
                        print(f"      {trace.shorten(statement)}")
    finally:
        await trace.set_logging(args.pg_admin_dsn, name, False)
    return found


async def run(args: argparse.Namespace) -> int:
    if not ensure_wrk():
        return 2
    name = args.reuse or f"spojnia_hot_{secrets.token_hex(4)}"
    keys = KeyDir.of(name)
    dsn = data.dsn_of(args.pg_admin_dsn, name)
    ours = args.reuse is None
    document: dict[str, Any] = {
        "config": {
            "database": name,
            "key_dir": str(keys.path),
            "persons": args.persons,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "connections": args.connections,
            "wrk_threads": args.threads,
            "workers": args.workers,
            "raw_baseline": "no authentication, no access policy; the read and the audit INSERT, 2 statements",
        },
        "environment": await environment(args.pg_admin_dsn),
    }
    if document["environment"]["load_average_at_start"] > 0.5:
        print(
            f"note: the machine is busy (load average {document['environment']['load_average_at_start']}); "
            "the ratios hold better than the absolute figures"
        )
    try:
        if ours:
            print(f"database {name}: generating {args.persons:,} persons")
            keys.create()
            await data.create_database(args.pg_admin_dsn, name)
            sample = await data.generate(dsn, keys, args.persons, processes=args.processes)
        else:
            if not keys.sample.exists() or not await data.database_exists(args.pg_admin_dsn, name):
                print(f"--reuse {name}: no such database, or no {keys.sample}")
                return 2
            sample = data.Sample.load(keys.sample)
            print(f"database {name}: reused ({sample.persons_total:,} persons, generated in "
                  f"{sample.generation_seconds:.0f} s)")  # fmt: skip
        document["dataset"] = {
            "persons": sample.persons_total,
            "rows": sample.counts,
            "generation_seconds": sample.generation_seconds,
            "reused": not ours,
        }
        tokens = mint_tokens(keys, sample.institutions)
        postgraphile = None if args.skip_postgraphile else servers.ensure_postgraphile()
        if postgraphile is None and not args.skip_postgraphile:
            print("PostGraphile is not available: continuing without it (as with --skip-postgraphile)")
        if not args.no_trace:
            print("tracing one request of each path in PostgreSQL's log")
            document["trace"] = await traced(args, name, dsn, keys, sample, tokens)

        service_paths = load.service_paths(sample)
        outside_paths = load.postgraphile_paths(sample)
        work_dir = keys.path / "wrk"
        runs: list[report.Run] = []
        for workers in args.workers:
            print(f"\n{workers} worker process(es): {args.connections} connections, {args.duration:.0f} s per path")
            current = report.Run(workers)
            raw = servers.start_raw(keys, dsn, free_port(), workers, SERVICE_CONNECTIONS)
            measure_server(raw, [service_paths[k] for k in RAW_PATHS], tokens, work_dir, args, current)
            service = servers.start_service(keys, data.sqlalchemy_url(dsn), free_port(), workers)
            measure_server(service, list(service_paths.values()), tokens, work_dir, args, current)
            if postgraphile is not None:
                outside = servers.start_postgraphile(postgraphile, keys, dsn, free_port(), workers, SERVICE_CONNECTIONS)
                measure_server(outside, list(outside_paths.values()), tokens, work_dir, args, current)
            runs.append(current)

        document["environment"]["load_average_at_end"] = round(os.getloadavg()[0], 2)
        targets = report.evaluate(runs)
        print()
        for current in runs:
            print(f"== {current.workers} worker(s), {sample.persons_total:,} persons, {args.connections} connections "
                  f"(raw asyncpg: no auth)")  # fmt: skip
            print(report.table(current))
            print()
        if len(runs) > 1:
            print("== throughput by worker processes")
            print(report.scaling_table(runs))
            print()
        print("== targets of issue 9")
        print(report.targets_table(targets))
        report.write_json(args.out, document, runs, targets)
        print(f"\nwrote {args.out}")
        met = bool(targets) and all(t.met for t in targets)
        print("every target met" if met else "targets missed: " + str(sum(not t.met for t in targets)))
        return 0 if met else 1
    finally:
        if ours and not args.keep:
            await data.drop_database(args.pg_admin_dsn, name)
            keys.remove()
            print(f"dropped database {name}")
        else:
            print(f"kept database {name}; keys and sample in {keys.path}; PESEL key file {keys.pesel_keys}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of measurement per path")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per path")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1 or 2 on this machine)")
    parser.add_argument("--workers", type=parse_workers, default=[1, 2], help='worker processes, e.g. "1,2"')
    parser.add_argument("--keep", action="store_true", help="keep the database and its keys")
    parser.add_argument("--reuse", metavar="NAME", help="measure a kept database instead of generating one")
    parser.add_argument("--skip-postgraphile", action="store_true")
    parser.add_argument("--no-trace", action="store_true", help="skip the trace of statements in PostgreSQL's log")
    parser.add_argument("--show-sql", action="store_true", help="print the traced statements, shortened")
    parser.add_argument("--processes", type=int, default=2, help="processes sealing PESELs")
    parser.add_argument("--pg-admin-dsn", default=PG_ADMIN_DSN)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    started = time.perf_counter()
    status = asyncio.run(run(args))
    print(f"finished in {time.perf_counter() - started:.0f} s")
    sys.exit(status)


if __name__ == "__main__":
    main()
