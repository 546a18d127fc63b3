"""Use cases of file batches: import an institution's export (rows already read with a mapping profile), and
read a batch's report.

An import registers or enrolls the persons at the importing institution, as registering them one by one does
(a PESEL Spójnia knows is enrolled, never duplicated), and keeps the source record of each row. It is
idempotent: a row whose source record says the same is left alone. The enrollment's status and worker change
only when the source says something new, so a change made in Spójnia is not undone by a file repeating the old
value. An import never overwrites another institution's data: a name that differs from Spójnia's record of a
person another institution also serves, or a PESEL held by someone else, is rejected with the reason.
Households: the family kept by the institution is made from the first description of a household; later
differences are kept in the source household for the reconciliation report, and nothing is overwritten.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from app.domain.audit import AuditRecord
from app.domain.caller import Caller, Scope
from app.domain.errors import DuplicateRecord, FieldError, InvalidInput, NotFound
from app.domain.ids import new_id
from app.domain.record_imports import (
    BatchStatus,
    ImportBatch,
    ImportBatchId,
    ImportCounts,
    ImportMode,
    ParsedFile,
    RecordImportStore,
    Reject,
    SyncStream,
)
from app.domain.services.context import UseCaseContext, audit_record
from app.domain.services.persons import caller_institution
from app.domain.services.record_import_plan import ImportPlan, plan_import


@dataclass(frozen=True, slots=True, kw_only=True)
class PulledUntil:
    """Where a batch of changes pulled from a record system began and ends: the cursor it was asked from and the
    one to ask from next time."""

    since: str | None
    cursor: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportFile:
    parsed: ParsedFile
    file_name: str
    sha256: str
    mode: ImportMode = ImportMode.ALL_OR_NOTHING
    # Told (rows done, rows in all) as the rows are gone through, for a progress bar.
    progress: Callable[[int, int], None] | None = None
    # Changes pulled from the institution's system: the cursor after them, stored in the import's transaction
    # when the batch is not refused, so that a refused batch is pulled again and nothing is skipped.
    pulled_until: PulledUntil | None = None


async def import_file(ctx: UseCaseContext, store: RecordImportStore, caller: Caller, cmd: ImportFile) -> ImportBatch:
    """Imports the rows in one transaction, or nothing when any row is rejected and the mode is all-or-nothing;
    either way the batch is kept with its report."""
    caller.require(Scope.PERSONS_WRITE)
    try:
        return await _import(ctx, store, caller, cmd)
    except DuplicateRecord:
        # Someone registered one of the PESELs meanwhile: once more, and this time the person is found.
        return await _import(ctx, store, caller, cmd)


async def _import(ctx: UseCaseContext, store: RecordImportStore, caller: Caller, cmd: ImportFile) -> ImportBatch:
    now = ctx.clock.now()
    batch_id = ImportBatchId(new_id())
    async with store() as uow:
        institution = await caller_institution(uow, caller)
        status_list = institution.enrollment_status_list()
        if cmd.parsed.status_list not in (None, status_list):
            message = (
                f"the profile {cmd.parsed.profile} maps statuses onto {cmd.parsed.status_list}, but your institution "
                f"records {status_list}: choose the profile of your system"
            )
            raise InvalidInput(message, [FieldError("profile", message)])
        plan = await plan_import(uow, ctx, institution, status_list, cmd.parsed.rows, cmd.progress)
        rejects = sorted([*cmd.parsed.rejects, *plan.rejects], key=lambda r: r.line)
        refused = cmd.mode is ImportMode.ALL_OR_NOTHING and bool(rejects)
        batch = ImportBatch(
            id=batch_id,
            institution_id=institution.id,
            profile=cmd.parsed.profile,
            profile_version=cmd.parsed.profile_version,
            file_name=cmd.file_name,
            sha256=cmd.sha256,
            mode=cmd.mode,
            status=_status(refused, rejects),
            counts=_counts(cmd.parsed, plan, rejects, refused),
            actor=caller.actor,
            created_at=now,
            rejects=rejects,
        )
        await uow.batches.add(batch)
        if not refused:
            await plan.apply(uow, batch_id, now)
            await uow.bulk.record_audit(_audit_records(ctx, caller, plan, batch_id))
            if cmd.pulled_until is not None:
                pulled = cmd.pulled_until
                await uow.cursors.advance(institution.id, SyncStream.CHANGES, pulled.since, pulled.cursor, now)
        await uow.commit()
    return batch


def _status(refused: bool, rejects: list[Reject]) -> BatchStatus:
    if refused:
        return BatchStatus.REJECTED
    return BatchStatus.IMPORTED_WITH_REJECTS if rejects else BatchStatus.IMPORTED


def _counts(parsed: ParsedFile, plan: ImportPlan, rejects: list[Reject], refused: bool) -> ImportCounts:
    rejected = len({r.line for r in rejects})
    if refused:
        return ImportCounts(rows_read=parsed.rows_read, rejected=rejected)
    return replace(plan.counts, rows_read=parsed.rows_read, rejected=rejected)


def _audit_records(ctx: UseCaseContext, caller: Caller, plan: ImportPlan, batch_id: ImportBatchId) -> list[AuditRecord]:
    at = ctx.clock.now()
    reason = f"file import, batch {batch_id}"
    return [
        audit_record(caller, action, subject_type, subject_id, at=at, reason=reason)
        for action, subject_type, subject_id in plan.audit
    ]


async def read_batch(store: RecordImportStore, caller: Caller, batch_id: ImportBatchId) -> ImportBatch:
    """A batch of the caller's own institution, with its rejects; another institution's is not found."""
    caller.require(Scope.PERSONS_WRITE)
    async with store() as uow:
        batch = await uow.batches.get(batch_id)
    if batch is None or batch.institution_id != caller.institution_id:
        raise NotFound("no such import batch")
    return batch


async def sync_cursor(store: RecordImportStore, caller: Caller, stream: SyncStream) -> str | None:
    """How far the caller's institution's record system has been read."""
    caller.require(Scope.PERSONS_WRITE)
    async with store() as uow:
        return await uow.cursors.get(caller.institution_id, stream)


async def save_sync_cursor(
    ctx: UseCaseContext,
    store: RecordImportStore,
    caller: Caller,
    stream: SyncStream,
    *,
    since: str | None,
    to: str | None,
) -> None:
    """Remember how far a stream was read (statuses: after every report of the page was applied); Conflict when
    another pull moved it meanwhile."""
    caller.require(Scope.PERSONS_WRITE)
    async with store() as uow:
        await uow.cursors.advance(caller.institution_id, stream, since, to, ctx.clock.now())
        await uow.commit()
