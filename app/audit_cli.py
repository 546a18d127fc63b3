"""`spojnia audit seal` and `spojnia audit verify`: the audit trail's hash chain from the command line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from app.adapters.audit_signing import AuditKeyMissing
from app.adapters.db.audit_chain import ChainBroken, ChainReport
from app.bootstrap import bootstrap
from app.config import Settings


def add_commands(commands: Any) -> None:
    audit = commands.add_parser("audit", help="the audit trail's hash chain").add_subparsers(
        dest="action", required=True
    )
    audit.add_parser(
        "seal", help="chain and sign every audit event committed so far (`spojnia jobs` does it every few seconds)"
    ).set_defaults(run=cmd_seal)
    audit.add_parser(
        "verify",
        help="check every hash, position and signed checkpoint; exits 1 naming what was edited, removed or forged",
    ).set_defaults(run=cmd_verify)


def cmd_seal(_: argparse.Namespace) -> None:
    async def work() -> None:
        app = bootstrap(Settings())
        try:
            sealed = await app.audit_chain.seal()
        finally:
            await app.aclose()
        sys.stdout.write(
            f"sealed {sealed.rows} audit events in {sealed.batches} batches; the chain's head is at {sealed.head}\n"
        )

    _run(work())


def cmd_verify(_: argparse.Namespace) -> None:
    async def work() -> ChainReport:
        app = bootstrap(Settings())
        try:
            return await app.audit_chain.verify()
        finally:
            await app.aclose()

    report = _run(work())
    sys.stdout.write(summary(report) + "\n")
    if not report.intact:
        for problem in report.problems:
            sys.stderr.write(f"spojnia: audit chain {problem}\n")
        raise SystemExit(1)


def summary(report: ChainReport) -> str:
    anchored = (
        "no anchor file configured (SPOJNIA_AUDIT__ANCHOR_FILE): the newest rows removed together with their "
        "checkpoints would go unnoticed"
        if report.anchor_lines is None
        else f"{report.anchor_lines} checkpoints in the anchor file"
    )
    verdict = "intact" if report.intact else f"BROKEN: {len(report.problems)} problems"
    return (
        f"audit chain {verdict}: {report.sealed_rows} sealed audit events up to position {report.head}, "
        f"{report.checkpoints} checkpoints in the database, {anchored}; "
        f"{report.unsealed_rows} audit events wait to be sealed"
    )


def _run(work: Any) -> Any:
    try:
        return asyncio.run(work)
    except (ChainBroken, AuditKeyMissing, OSError) as error:
        sys.stderr.write(f"spojnia: {error}\n")
        raise SystemExit(1) from None
