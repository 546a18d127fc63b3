"""`spojnia partners sync | status | replay`: the partner relay that delivers to partners' systems over the partner
API (openapi/partner/openapi.json) and pulls back their statuses; several may run against PostgreSQL."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any
from uuid import UUID

from app.adapters.db.engine import make_session_factory
from app.adapters.db.partner_store import partner_states, replay_parked
from app.bootstrap import Container
from app.cli_support import with_container
from app.domain.ids import InstitutionId


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")


def cmd_sync(args: argparse.Namespace) -> None:
    """Publish the outbox, queue deliveries to partners, deliver them, pull statuses: once, or until stopped."""

    async def work(app: Container) -> None:
        partners = app.partners
        if not partners.systems:
            _say("no partner APIs configured (SPOJNIA_PARTNER_APIS); nothing to do")
            if args.once:
                return
        if args.once:
            queued, attempted, pulled = await partners.run_once()
            _say(f"queued {queued} deliveries, attempted {attempted}, handled {pulled} status reports")
            return
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await partners.run_forever(app.settings.partner_sync.poll_seconds, stop)

    with_container(work)


def cmd_status(_: argparse.Namespace) -> None:
    """Per partner: the breaker, what waits, what was parked, how many reports were refused. Never a token."""

    async def work(app: Container) -> None:
        partners = app.partners
        states = await partner_states(
            make_session_factory(app.engine), list(partners.systems), partners.breaker_policy, app.ctx.clock.now()
        )
        if not states:
            _say("no partner APIs configured (SPOJNIA_PARTNER_APIS)")
        for state in states:
            base_url = partners.systems[state.institution_id].endpoint.base_url
            opened = f" until {state.open_until.isoformat()}" if state.open_until and state.breaker != "closed" else ""
            _say(
                f"{state.institution_id} {base_url}: breaker {state.breaker.value}{opened} "
                f"({state.consecutive_failures} failures in a row); deliveries {state.pending} pending, "
                f"{state.parked} parked, {state.delivered} delivered; feed at {state.feed_position}; "
                f"{state.rejected_reports} status reports refused"
            )

    with_container(work)


def cmd_replay(args: argparse.Namespace) -> None:
    async def work(app: Container) -> int:
        if args.institution not in app.partners.systems:
            raise SystemExit(f"spojnia: no partner API is configured for {args.institution}")
        partner = InstitutionId(args.institution)
        return await replay_parked(make_session_factory(app.engine), partner, app.ctx.clock.now())

    _say(f"{with_container(work)} parked deliveries queued again")


def _uuid(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a UUID: {raw!r}") from None


def add_commands(commands: Any) -> None:
    """Register `spojnia partners ...` on the command line's subparsers (`commands` of app.cli.parser)."""
    actions = commands.add_parser("partners", help="partners' systems over the partner API").add_subparsers(
        dest="action", required=True
    )
    sync = actions.add_parser("sync", help="deliver to partners' systems and pull their statuses (runs until stopped)")
    sync.add_argument("--once", action="store_true", help="one round, then exit")
    sync.set_defaults(run=cmd_sync)
    actions.add_parser("status", help="each partner's circuit breaker and deliveries").set_defaults(run=cmd_status)
    replay = actions.add_parser("replay", help="queue a partner's parked deliveries again")
    replay.add_argument("institution", type=_uuid, help="the partner's institution id")
    replay.set_defaults(run=cmd_replay)
