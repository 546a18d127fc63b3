"""The `spojnia` command: serve, migrate, seed-demo, demo-token, clients, export-api."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar
from uuid import UUID

from app.bootstrap import Container, bootstrap
from app.config import Settings
from app.domain.errors import DomainError
from app.domain.ids import InstitutionId

T = TypeVar("T")


def _with_container(work: Callable[[Container], Awaitable[T]]) -> T:
    async def run() -> T:
        app = bootstrap(Settings())
        try:
            return await work(app)
        finally:
            await app.aclose()

    return asyncio.run(run())


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=False,
        proxy_headers=True,
        loop="auto",
        http="auto",
    )


def cmd_migrate(_: argparse.Namespace) -> None:
    from app.adapters.db.migrate import upgrade

    upgrade(Settings().database_url)
    print("database migrated to the latest revision")


def cmd_seed_demo(_: argparse.Namespace) -> None:
    from app import demo

    async def work(app: Container) -> None:
        created = await demo.seed(app)
        from app import directory_demo

        if await directory_demo.seed_directory(app):
            print(f"demo directory loaded: {len(directory_demo.SERVICES)} services, search them at /informator")
        print("demo county loaded" if created else "demo county already present")
        for institution in demo.DEMO:
            print(f"\n# {institution.data.name} ({institution.key}), id {institution.id}")
            print(f"export TOKEN_{institution.key.upper()}={demo.demo_token(app, institution.key)}")

    _with_container(work)


def cmd_demo_token(args: argparse.Namespace) -> None:
    from app import demo

    async def work(app: Container) -> None:
        print(demo.demo_token(app, args.institution))

    _with_container(work)


def _uuid(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a UUID: {raw!r}") from None


def cmd_clients_add(args: argparse.Namespace) -> None:
    from app.domain.services.clients import register_client

    async def work(app: Container) -> None:
        client, secret = await register_client(
            app.ctx, institution_id=InstitutionId(args.institution), scope=args.scope, name=args.name
        )
        print(
            json.dumps(
                {
                    "client_id": client.client_id,
                    "client_secret": secret,
                    "scope": " ".join(sorted(client.scopes)),
                    "note": "the secret is shown only now",
                },
                indent=2,
            )
        )

    _with_container(work)


def cmd_relay(args: argparse.Namespace) -> None:
    """Deliver outbox events: once, or until stopped. Several may run against PostgreSQL."""

    async def work(app: Container) -> None:
        if args.once:
            published, delivered = await app.relay.run_once()
            print(f"published {published} events, attempted {delivered} deliveries")
            return
        await _until_signalled(lambda stop: app.relay.run_forever(app.settings.webhooks.poll_seconds, stop))

    _with_container(work)


def cmd_jobs(args: argparse.Namespace) -> None:
    """Scheduled work: expire referrals left unanswered past their deadline."""
    from app.domain.services.referrals import expire_overdue

    async def work(app: Container) -> None:
        while True:
            expired = await expire_overdue(app.ctx)
            print(f"expired {expired} unanswered referrals")
            if args.once:
                return
            await asyncio.sleep(app.settings.jobs_interval_seconds)

    _with_container(work)


async def _until_signalled(run: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await run(stop)


def cmd_export_api(args: argparse.Namespace) -> None:
    from app.api_export import export

    written = export(Path(args.out))
    for path in written:
        print(f"wrote {path}")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="spojnia", description="Spójnia: the shared layer of OPS, PUP and NGOs.")
    commands = root.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(run=cmd_serve)
    commands.add_parser("migrate", help="bring the database to the latest schema").set_defaults(run=cmd_migrate)
    commands.add_parser("seed-demo", help="load the demo county and print demo tokens").set_defaults(run=cmd_seed_demo)
    token = commands.add_parser("demo-token", help="print a token of a demo institution")
    token.add_argument("institution", choices=["ops", "pup", "ngo", "pcpr"])
    token.set_defaults(run=cmd_demo_token)
    clients = commands.add_parser("clients", help="API clients of the token endpoint").add_subparsers(
        dest="action", required=True
    )
    add = clients.add_parser("add", help="register a client; prints its secret once")
    add.add_argument("--institution", required=True, type=_uuid, help="institution id (UUID)")
    add.add_argument("--scope", required=True, help='space-separated scopes, e.g. "persons:read families:read"')
    add.add_argument("--name", default="api client")
    add.set_defaults(run=cmd_clients_add)
    relay = commands.add_parser("relay", help="deliver events to webhooks (runs until stopped)")
    relay.add_argument("--once", action="store_true", help="one round, then exit")
    relay.set_defaults(run=cmd_relay)
    jobs = commands.add_parser("jobs", help="scheduled jobs: expire unanswered referrals")
    jobs.add_argument("--once", action="store_true", help="one round, then exit")
    jobs.set_defaults(run=cmd_jobs)
    export = commands.add_parser("export-api", help="write openapi.json and schema.graphql")
    export.add_argument("--out", default="openapi")
    export.set_defaults(run=cmd_export_api)
    from app import directory_import

    directory_import.add_commands(commands)  # spojnia directory import FILE [--skip-errors]
    return root


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except DomainError as error:
        print(f"spojnia: {error.detail}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
