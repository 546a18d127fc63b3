"""`spojnia retention purge [--dry-run]`: the retention purge on demand; `spojnia jobs` runs it daily."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from app.bootstrap import bootstrap
from app.config import Settings
from app.domain.retention import PurgeReport
from app.domain.services.retention import purge_expired


def describe(report: PurgeReport) -> str:
    """Counts per record class, never whose records: the output may end up in any log."""
    verb = "would purge" if report.dry_run else "purged"
    counts = ", ".join(f"{record_class.value} {n}" for record_class, n in report.counts.items())
    return f"retention: {verb} {report.total} records ({counts})"


def cmd_purge(args: argparse.Namespace) -> None:
    async def run() -> PurgeReport:
        app = bootstrap(Settings())
        try:
            return await purge_expired(app.ctx, dry_run=args.dry_run)
        finally:
            await app.aclose()

    sys.stdout.write(describe(asyncio.run(run())) + "\n")


def add_commands(commands: Any) -> None:
    """Register `spojnia retention ...` on the command line's subparsers (`commands` of app.cli.parser)."""
    actions = commands.add_parser("retention", help="retention of records").add_subparsers(dest="action", required=True)
    purge = actions.add_parser("purge", help="purge what has passed its retention period; prints counts only")
    purge.add_argument("--dry-run", action="store_true", help="count what would be purged, change nothing")
    purge.set_defaults(run=cmd_purge)
