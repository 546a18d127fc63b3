"""`spojnia sync import|export`: file batches from and to an institution's record system, for a schedule (cron).

    spojnia sync import --institution ID --profile pomost-std [--skip-rejects] [--rejects odrzucone.csv] FILE
    spojnia sync export --institution ID --profile pomost-std --what referrals|contract-actions OUT
    spojnia sync pull --institution ID [--skip-rejects]

Pull: through the institution's record system as the settings name it (its partner API, or its exchange folder
with its profile), every batch of changes after the stored cursor, then (exchange folders) the referral statuses
its workers recorded; exit status 0 when all was imported, 1 when a batch was refused (its rejects are printed
and the cursor stays, so the next pull asks again), 2 when the system is not configured or cannot be reached.

Import: a progress bar on stderr (plain lines when stderr is not a terminal), a summary on stdout; exit status
0 when imported (with --skip-rejects, also when some rows were rejected), 1 when rows were rejected and so
nothing was imported, 2 when the file (or the profile) cannot be read. The reject report names line, column
and reason, a PESEL masked; --rejects writes it as CSV.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from pathlib import Path
from typing import Any, TextIO
from uuid import UUID

from sqlalchemy.exc import SQLAlchemyError

from app.adapters.record_systems.exports import ExportProblem, contract_actions_csv, referrals_csv
from app.adapters.record_systems.file_batches import import_command, reject_lines, rejects_csv, summary
from app.adapters.record_systems.partner_api import PartnerCallFailed
from app.adapters.record_systems.profiles import ProfileError, load_profile, shipped_profiles
from app.adapters.record_systems.pulls import pull_changes, pull_statuses
from app.adapters.record_systems.readers import FileProblem
from app.bootstrap import Container
from app.cli_support import with_container
from app.config import Settings
from app.domain.caller import Caller, Scope
from app.domain.errors import DomainError
from app.domain.ids import InstitutionId
from app.domain.partner_links import Decision, StatusDecision
from app.domain.record_imports import BatchStatus, ImportBatch, ImportMode
from app.domain.record_systems import RecordSystemKind
from app.domain.services.record_exports import export_contract_actions, export_referrals
from app.domain.services.record_imports import import_file

SHOWN_REJECTS = 20


def _caller(institution_id: UUID) -> Caller:
    return Caller(
        subject="cli:spojnia-sync",
        institution_id=InstitutionId(institution_id),
        scopes=frozenset(s.value for s in (Scope.PERSONS_WRITE, Scope.REFERRALS_READ, Scope.CONTRACTS_READ)),
        roles=frozenset(),
        worker_id=None,
        request_id=f"sync-{uuid.uuid4()}",
    )


class ProgressBar:
    """Rows done of all, per stage: a redrawn bar on a terminal, a line every tenth elsewhere (logs, cron mail)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()
        self.shown: dict[str, int] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.tty:
            filled = 30 * done // max(total, 1)
            self.out.write(f"\r{stage:>9} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total} rows")
            if done == total:
                self.out.write("\n")
        else:
            tenth = 10 * done // max(total, 1)
            if self.shown.get(stage, -1) < tenth:
                self.shown[stage] = tenth
                self.out.write(f"{stage}: {done}/{total} rows\n")
        self.out.flush()


def _profile_name(args: argparse.Namespace) -> str:
    """The --profile given, or the one the settings name for the institution's record system."""
    name = Settings().sync.profile_of(args.institution, args.profile)
    if name is None:
        sys.stderr.write(
            "spojnia: give --profile, or name the institution's record system in SPOJNIA_SYNC__INSTITUTIONS\n"
        )
        raise SystemExit(2)
    return name


def cmd_import(args: argparse.Namespace) -> None:
    try:
        profile = load_profile(
            _profile_name(args), institution_id=args.institution, overrides_dir=Settings().sync.overrides_dir
        )
        data = Path(args.file).read_bytes()
        command = import_command(
            data, args.file, profile, skip_rejects=args.skip_rejects, progress=ProgressBar(sys.stderr)
        )
    except FileProblem as problem:
        sys.stderr.write(f"spojnia: {args.file}, line {problem.line}: {problem.message}\n")
        raise SystemExit(2) from None
    except ProfileError as error:
        sys.stderr.write(f"spojnia: {error}\n")
        raise SystemExit(2) from None
    except OSError as error:
        sys.stderr.write(f"spojnia: cannot read {args.file}: {error.strerror}\n")
        raise SystemExit(2) from None

    async def work(app: Container) -> ImportBatch:
        return await import_file(app.ctx, app.record_imports, _caller(args.institution), command)

    try:
        batch = with_container(work)
    except DomainError as error:
        sys.stderr.write(f"spojnia: {error.detail}\n")
        raise SystemExit(2) from None
    lines = reject_lines(batch.rejects, profile)
    for line in lines[:SHOWN_REJECTS]:
        sys.stderr.write(line + "\n")
    if len(lines) > SHOWN_REJECTS:
        sys.stderr.write(f"... and {len(lines) - SHOWN_REJECTS} more rejects\n")
    if args.rejects:
        Path(args.rejects).write_bytes(rejects_csv(batch.rejects, profile))
    sys.stdout.write(f"batch {batch.id}: {batch.status.value}\n{summary(batch)}\n")
    if batch.status is BatchStatus.REJECTED:
        sys.stderr.write(
            f"nothing imported: {batch.counts.rejected} rows rejected (use --skip-rejects to import the valid rows)\n"
        )
        raise SystemExit(1)


def cmd_export(args: argparse.Namespace) -> None:
    try:
        profile = load_profile(
            _profile_name(args), institution_id=args.institution, overrides_dir=Settings().sync.overrides_dir
        )
    except ProfileError as error:
        sys.stderr.write(f"spojnia: {error}\n")
        raise SystemExit(2) from None
    caller = _caller(args.institution)

    async def work(app: Container) -> tuple[bytes, int]:
        if args.what == "referrals":
            referrals = await export_referrals(app.ctx, app.record_imports, caller)
            return referrals_csv(referrals.envelopes, referrals.own_refs, profile), len(referrals.envelopes)
        actions = await export_contract_actions(app.ctx, app.record_imports, caller)
        return contract_actions_csv(actions.actions, actions.own_refs, profile), len(actions.actions)

    try:
        data, written = with_container(work)
    except (DomainError, ExportProblem) as error:
        sys.stderr.write(f"spojnia: {getattr(error, 'detail', error)}\n")
        raise SystemExit(2) from None
    Path(args.out).write_bytes(data)
    sys.stdout.write(f"wrote {written} {args.what.replace('-', ' ')} to {args.out} ({profile.export_encoding})\n")


def cmd_pull(args: argparse.Namespace) -> None:
    caller = _caller(args.institution)
    mode = ImportMode.SKIP_REJECTS if args.skip_rejects else ImportMode.ALL_OR_NOTHING

    def told(batch: ImportBatch) -> None:
        sys.stdout.write(f"batch {batch.id} ({batch.file_name}): {batch.status.value}\n{summary(batch)}\n")
        for line in [f"line {r.line}, {r.field}: {r.reason}" for r in batch.rejects][:SHOWN_REJECTS]:
            sys.stderr.write(line + "\n")

    async def work(app: Container) -> tuple[list[ImportBatch], list[StatusDecision]]:
        system = app.record_system(caller.institution_id)
        if system is None:
            raise NotConfigured
        batches = await pull_changes(app.ctx, app.record_imports, caller, system, mode=mode, each=told)
        if system.kind is RecordSystemKind.PARTNER_API:
            return batches, []  # its statuses come through `spojnia partners sync`, which runs all the time
        return batches, await pull_statuses(app.ctx, app.record_imports, caller, system)

    try:
        batches, decisions = with_container(work)
    except NotConfigured:
        sys.stderr.write(
            "spojnia: the institution has no record system in the settings: name its partner API in "
            "SPOJNIA_PARTNER_APIS, or its profile in SPOJNIA_SYNC__INSTITUTIONS and SPOJNIA_SYNC__EXCHANGE_DIR\n"
        )
        raise SystemExit(2) from None
    except (DomainError, ProfileError, FileProblem, PartnerCallFailed, OSError) as error:
        sys.stderr.write(f"spojnia: {_problem(error)}\n")
        raise SystemExit(2) from None
    except SQLAlchemyError as error:
        sys.stderr.write(
            f"spojnia: the database refused the pull ({error.__class__.__name__}): is it reachable and migrated "
            "(spojnia migrate)?\n"
        )
        raise SystemExit(2) from None
    if not batches:
        sys.stdout.write("no new changes\n")
    for decision in decisions:
        if decision.decision is Decision.REJECTED:
            sys.stderr.write(f"status {decision.status} of referral {decision.referral_id}: {decision.reason}\n")
    applied = sum(d.decision is Decision.APPLIED for d in decisions)
    sys.stdout.write(f"referral statuses: {applied} applied, {len(decisions) - applied} unchanged or refused\n")
    if any(b.status is BatchStatus.REJECTED for b in batches):
        sys.stderr.write("a batch was refused: fix the rows named above in your system (or pull with --skip-rejects)\n")
        raise SystemExit(1)


class NotConfigured(Exception):
    """The settings name no record system for the institution."""


def _problem(error: Exception) -> str:
    if isinstance(error, FileProblem):
        return f"line {error.line}: {error.message}"
    if isinstance(error, OSError):
        return f"{error.filename}: {error.strerror}" if error.filename else str(error)
    return str(getattr(error, "detail", None) or getattr(error, "error", None) or error)


def _uuid(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a UUID: {raw!r}") from None


def _add_actions(actions: Any) -> None:
    profiles = shipped_profiles()
    load = actions.add_parser("import", help="import an export file of the institution's record system")
    load.add_argument("--institution", required=True, type=_uuid, help="the importing institution's id")
    load.add_argument(
        "--profile", choices=profiles, help="the mapping profile of its system (default: SPOJNIA_SYNC__INSTITUTIONS)"
    )
    load.add_argument("--skip-rejects", action="store_true", help="import the valid rows of a file with rejects")
    load.add_argument("--rejects", metavar="OUT.csv", help="write the reject report here (PESELs masked)")
    load.add_argument("file", help="a .csv, .xlsx or .xml file")
    load.set_defaults(run=cmd_import)
    export = actions.add_parser("export", help="write what the institution's system loads")
    export.add_argument("--institution", required=True, type=_uuid)
    export.add_argument("--profile", choices=profiles)
    export.add_argument("--what", required=True, choices=["referrals", "contract-actions"])
    export.add_argument("out", help="the CSV file to write")
    export.set_defaults(run=cmd_export)
    pull = actions.add_parser(
        "pull", help="pull changes (and referral statuses) from the institution's record system as configured"
    )
    pull.add_argument("--institution", required=True, type=_uuid)
    pull.add_argument("--skip-rejects", action="store_true", help="import the valid rows of a batch with rejects")
    pull.set_defaults(run=cmd_pull)


def add_commands(commands: Any) -> None:
    """Register `spojnia sync ...` on the command line's subparsers (`commands` of app.cli.parser)."""
    _add_actions(
        commands.add_parser("sync", help="file batches with the institutions' record systems").add_subparsers(
            dest="action", required=True
        )
    )


def main(argv: list[str] | None = None) -> None:
    """`python -m app.sync_cli import ...`: the same commands as `spojnia sync`."""
    root = argparse.ArgumentParser(prog="python -m app.sync_cli", description="File batches.")
    _add_actions(root.add_subparsers(dest="action", required=True))
    args = root.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()
