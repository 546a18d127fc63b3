"""The `spojnia` command: serve, migrate, seed-demo, demo-token, clients, export-api."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from uuid import UUID

from app.adapters.auth.tokens import SigningKeyMissing
from app.adapters.crypto.key_file import KeysUnavailable
from app.adapters.crypto.vault import VaultError
from app.bootstrap import Container
from app.cli_support import with_container
from app.config import Settings
from app.domain.errors import DomainError
from app.domain.ids import InstitutionId


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

    with_container(work)


def cmd_demo_token(args: argparse.Namespace) -> None:
    from app import demo

    async def work(app: Container) -> None:
        print(demo.demo_token(app, args.institution))

    with_container(work)


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

    with_container(work)


def cmd_relay(args: argparse.Namespace) -> None:
    """Deliver outbox events: once, or until stopped. Several may run against PostgreSQL."""

    async def work(app: Container) -> None:
        if args.once:
            published, delivered = await app.relay.run_once()
            print(f"published {published} events, attempted {delivered} deliveries")
            return
        await _until_signalled(lambda stop: app.relay.run_forever(app.settings.webhooks.poll_seconds, stop))

    with_container(work)


def cmd_jobs(args: argparse.Namespace) -> None:
    """Scheduled work: seal the audit trail every few seconds; expire referrals left unanswered past their deadline."""
    from app.adapters.audit_signing import AuditKeyMissing
    from app.adapters.db.audit_chain import ChainBroken
    from app.domain.services.referrals import expire_overdue
    from app.domain.services.retention import purge_expired
    from app.retention_cli import describe

    async def work(app: Container) -> bool:
        loop = asyncio.get_running_loop()
        expire_at = purge_at = loop.time()
        while True:
            try:
                sealed = await app.audit_chain.seal()
                sealing_failed = False
                if sealed.rows or args.once:
                    print(f"sealed {sealed.rows} audit events; the chain's head is at {sealed.head}")
            except (ChainBroken, AuditKeyMissing, OSError) as error:
                # Loud, and again every round; the other jobs go on, and audit events are still recorded.
                # (OSError: the anchor file could not be written; the batch itself is sealed.)
                print(f"spojnia: audit sealing stopped: {error}", file=sys.stderr)
                sealing_failed = True
            if loop.time() >= expire_at:
                expired = await expire_overdue(app.ctx)
                print(f"expired {expired} unanswered referrals")
                expire_at = loop.time() + app.settings.jobs_interval_seconds
            if app.settings.retention.enabled and loop.time() >= purge_at:
                print(describe(await purge_expired(app.ctx)))
                purge_at = loop.time() + app.settings.retention.interval_hours * 3600
            if args.once:
                return not sealing_failed
            await asyncio.sleep(min(app.settings.audit.seal_interval_seconds, app.settings.jobs_interval_seconds))

    if not with_container(work):
        raise SystemExit(1)


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


def cmd_keys_init_pesel(_: argparse.Namespace) -> None:
    from app.adapters.crypto.key_file import keys_from_environment, new_key_file

    settings = Settings()
    if keys_from_environment(settings.pesel) is not None:
        raise KeysUnavailable("the PESEL keys are given in the environment (SPOJNIA_PESEL__*); no file is needed")
    new_key_file(settings.pesel.key_file)
    print(f"created {settings.pesel.key_file} (owner-only); back it up: without it no stored PESEL can be read")


def cmd_keys_rotate_pesel(args: argparse.Namespace) -> None:
    """New keys, every sealed value and blind index moved onto them; old keys retired once unused."""
    from datetime import timedelta

    from app.adapters.crypto.key_file import KeyFile
    from app.adapters.db.engine import make_session_factory
    from app.adapters.db.key_rotation import KeyRotation, RotationReport

    async def work(app: Container) -> RotationReport:
        if not isinstance(app.vault.keys, KeyFile):
            raise KeysUnavailable(
                "the PESEL keys come from the environment (SPOJNIA_PESEL__*): rotate them in the secret store"
            )
        rotation = KeyRotation(make_session_factory(app.engine), app.vault, batch_size=args.batch_size)
        return await rotation.run(
            app.vault.keys,
            new_hmac_key=args.hmac,
            retire_old=args.retire_old,
            idempotency_ttl=timedelta(hours=app.settings.idempotency_ttl_hours),
        )

    report = with_container(work)
    for key_id in report.added:
        print(f"added key {key_id} as the current one")
    print(f"deleted {report.expired_responses_deleted} expired stored answers")
    print(f"re-sealed {report.usage.persons_rewritten} persons and {report.usage.responses_rewritten} stored answers")
    sealed = ", ".join(f"{k}: {n}" for k, n in sorted(report.usage.sealed_under.items())) or "none"
    hashed = ", ".join(f"{k or 'no key held'}: {n}" for k, n in sorted(report.usage.hashed_under.items(), key=str))
    print(f"values sealed under {sealed}; PESEL indexes under {hashed or 'none'}")
    if report.retired:
        print(f"retired old keys: {', '.join(report.retired)}")
    if report.still_needed:
        print(f"spojnia: old keys still in use, kept: {', '.join(report.still_needed)}", file=sys.stderr)
        raise SystemExit(1)


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
    jobs = commands.add_parser(
        "jobs", help="scheduled jobs: seal the audit trail, expire unanswered referrals, the retention purge"
    )
    jobs.add_argument("--once", action="store_true", help="one round, then exit")
    jobs.set_defaults(run=cmd_jobs)
    export = commands.add_parser("export-api", help="write openapi.json and schema.graphql")
    export.add_argument("--out", default="openapi")
    export.set_defaults(run=cmd_export_api)
    keys = commands.add_parser("keys", help="the keys that seal PESELs").add_subparsers(dest="action", required=True)
    keys.add_parser(
        "init-pesel", help="create the PESEL key file of a new installation (never over an existing one)"
    ).set_defaults(run=cmd_keys_init_pesel)
    rotate = keys.add_parser(
        "rotate-pesel",
        help="add a new AES key and re-seal every PESEL and stored answer under it",
        description=(
            "Adds a new AES key as the current one and re-seals, in committed batches, every sealed PESEL and "
            "stored Idempotency-Key answer still under an older key; old keys stay for reading. Safe to run again "
            "after a crash (it adds one more key and carries on). Running services pick up a changed key file by "
            "themselves. --retire-old adds no key: it finishes any re-sealing left, then removes the old keys no "
            "stored value needs any more."
        ),
    )
    rotated = rotate.add_mutually_exclusive_group()
    rotated.add_argument("--hmac", action="store_true", help="also a new HMAC key: every PESEL's index is recomputed")
    rotated.add_argument("--retire-old", action="store_true", help="remove old keys once no stored value uses them")
    rotate.add_argument("--batch-size", type=int, default=500, help="rows per committed batch (default 500)")
    rotate.set_defaults(run=cmd_keys_rotate_pesel)
    from app import directory_import

    directory_import.add_commands(commands)  # spojnia directory import FILE [--skip-errors]
    from app import retention_cli

    retention_cli.add_commands(commands)  # spojnia retention purge [--dry-run]
    from app import audit_cli

    audit_cli.add_commands(commands)  # spojnia audit seal | verify
    from app import partner_cli

    partner_cli.add_commands(commands)  # spojnia partners sync [--once] | status | replay INSTITUTION
    from app import sync_cli

    sync_cli.add_commands(commands)  # spojnia sync import | export (file batches)
    return root


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except DomainError as error:
        print(f"spojnia: {error.detail}", file=sys.stderr)
        raise SystemExit(2) from None
    except (KeysUnavailable, VaultError, SigningKeyMissing) as error:
        print(f"spojnia: {error}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
