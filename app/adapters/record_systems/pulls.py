"""Pulling from an institution's record system through the RecordSystem port, whatever its kind: the changes it
has (persons, their status there, households) into the import use case, batch after batch from the stored cursor;
the statuses its workers recorded on referrals, as the receiver's actions.

The changes' cursor moves in the import's own transaction, and only when the batch is not refused: a crash, an
unreachable system or a refused batch leaves it where it was, and the next pull asks for the same changes again
(importing them twice changes nothing). The statuses' cursor moves after every report of a page was applied;
applying one twice changes nothing either. A cursor moves only from where its pull found it: two pulls at once
(cron and a worker) never move it backwards; the slower one is refused (Conflict) and nothing of it is kept.
"""

from __future__ import annotations

from collections.abc import Callable

from app.adapters.record_systems.changes import changes_command
from app.domain.caller import Caller
from app.domain.partner_links import StatusDecision
from app.domain.record_imports import BatchStatus, ImportBatch, ImportMode, RecordImportStore, SyncStream
from app.domain.record_systems import RecordSystem
from app.domain.services.context import UseCaseContext
from app.domain.services.partner_links import apply_status_report
from app.domain.services.record_imports import import_file, save_sync_cursor, sync_cursor

# A bound on one run's round trips, so that a system that keeps answering with more cannot hold it forever.
MAX_PAGES = 10_000


async def pull_changes(
    ctx: UseCaseContext,
    store: RecordImportStore,
    caller: Caller,
    system: RecordSystem,
    *,
    mode: ImportMode = ImportMode.ALL_OR_NOTHING,
    each: Callable[[ImportBatch], None] | None = None,
) -> list[ImportBatch]:
    """Every batch of changes after the cursor, imported in order; stops at the first refused one."""
    batches: list[ImportBatch] = []
    # Read once and followed here: each move is checked against the stored one as it is made (a Conflict when
    # another pull moved it meanwhile), so there is no need to read it again.
    since = await sync_cursor(store, caller, SyncStream.CHANGES)
    for _ in range(MAX_PAGES):
        changes = await system.pull_changes(since)
        moved = changes.next_cursor not in (None, since)
        if changes.empty:
            if not moved:
                break
            await save_sync_cursor(ctx, store, caller, SyncStream.CHANGES, since=since, to=changes.next_cursor)
        else:
            command = changes_command(changes, system.kind, since=since, mode=mode)
            batch = await import_file(ctx, store, caller, command)
            batches.append(batch)
            if each is not None:
                each(batch)
            if batch.status is BatchStatus.REJECTED or not moved:
                break
        since = changes.next_cursor
    return batches


async def pull_statuses(
    ctx: UseCaseContext, store: RecordImportStore, caller: Caller, system: RecordSystem
) -> list[StatusDecision]:
    """Every status report after the cursor, applied as the receiver's action; a refusal is a decision."""
    decisions: list[StatusDecision] = []
    since = await sync_cursor(store, caller, SyncStream.STATUSES)
    for _ in range(MAX_PAGES):
        reports, after = await system.pull_statuses(since)
        for number, report in enumerate(reports):
            request_id = f"sync-status:{after}:{number}"[:120]
            decisions.append(await apply_status_report(ctx, caller.institution_id, report, request_id=request_id))
        if after in (None, since):
            break
        await save_sync_cursor(ctx, store, caller, SyncStream.STATUSES, since=since, to=after)
        since = after
    return decisions
