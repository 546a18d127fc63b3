"""Use cases of person merges: merge two records of one person, read a merge, undo it; and where a read of a
merged record points instead."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.domain.audit import AuditAction, SubjectType
from app.domain.caller import Caller, Scope
from app.domain.data_categories import DataCategory
from app.domain.errors import Conflict, FieldError, InvalidInput, NotFound, PermissionDenied, StaleVersion
from app.domain.events import DomainEvent
from app.domain.ids import PersonId, PersonMergeId, new_id
from app.domain.person_merges import IdentityMove, LinkSummary, MergeState, PersonMerge
from app.domain.persons import Person
from app.domain.ports import UnitOfWork
from app.domain.services.context import UseCaseContext, audit
from app.domain.services.persons import caller_institution
from app.domain.values import clean_text


@dataclass(frozen=True, slots=True, kw_only=True)
class MergePersons:
    kept_person_id: PersonId
    merged_person_id: PersonId
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UndoMerge:
    merge_id: PersonMergeId
    expected_version: int
    note: str | None = None
    # Links recorded for the kept person since the merge cannot be told apart; the worker says they stay there.
    keep_links_added_since: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class MergeView:
    merge: PersonMerge
    moved: LinkSummary  # rows by link kind, as the merging institution may be told


async def _own_client(uow: UnitOfWork, caller: Caller, person_id: PersonId, field: str) -> Person:
    person = await uow.persons.get(person_id)
    if person is None or person.merged_into is not None:
        raise NotFound(f"no such person ({field})")
    if await uow.enrollments.active_at(person_id, caller.institution_id) is None:
        if not await uow.persons.visible_to(person_id, caller.institution_id):
            raise NotFound(f"no such person ({field})")
        raise PermissionDenied("your institution must enroll both persons to merge their records")
    return person


async def _save_person(uow: UnitOfWork, person: Person, expected_version: int) -> None:
    try:
        await uow.persons.update(person, expected_version=expected_version)
    except StaleVersion:
        raise Conflict("a person changed while their records were being merged; try again") from None


async def merge_persons(ctx: UseCaseContext, caller: Caller, cmd: MergePersons) -> MergeView:
    """Makes one record of two: every link of the merged record moves to the kept one, the merged row stays
    marked, and what moved is kept so the merge can be undone. Both must be clients of the caller's institution."""
    caller.require(Scope.PERSONS_WRITE)
    reason = clean_text(cmd.reason, field="reason", max_length=500)
    if cmd.kept_person_id == cmd.merged_person_id:
        raise InvalidInput(
            "a person cannot be merged into themselves", [FieldError("merged_person_id", "same as kept_person_id")]
        )
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        await caller_institution(uow, caller)
        kept = await _own_client(uow, caller, cmd.kept_person_id, "kept_person_id")
        merged = await _own_client(uow, caller, cmd.merged_person_id, "merged_person_id")
        if kept.pesel is not None and merged.pesel is not None:
            # Unique PESELs: two different ones are two different persons.
            raise Conflict("the two records have different PESELs: they are not the same person")
        kept_version, merged_version, kept_sex = kept.version, merged.version, kept.sex
        changes = await uow.person_links.move(merged.id, kept.id, on=ctx.today(), at=now)
        moved_pesel = moved_document = False
        if merged.pesel is not None:
            pesel = merged.give_up_pesel(now, sex=merged.sex)
            # The merged row lets go of the PESEL first: it is unique, and the kept row takes it next.
            await _save_person(uow, merged, merged_version)
            merged_version = merged.version
            kept.identify(pesel, now)
            moved_pesel = True
        if merged.identity_document is not None and kept.identity_document is None:
            kept.take_identity_document(merged.give_up_identity_document(now), now)
            moved_document = True
        identity = IdentityMove(pesel=moved_pesel, identity_document=moved_document, kept_sex_before=kept_sex)
        merged.merge_into(kept.id, now)
        await _save_person(uow, merged, merged_version)
        if kept.version != kept_version:
            await _save_person(uow, kept, kept_version)
        merge = PersonMerge(
            id=PersonMergeId(new_id()),
            kept_person_id=kept.id,
            merged_person_id=merged.id,
            institution_id=caller.institution_id,
            actor=caller.actor,
            worker_id=caller.worker_id,
            reason=reason,
            merged_at=now,
            changes=changes,
            identity=identity,
        )
        await uow.person_merges.add(merge)
        await audit(
            uow,
            ctx,
            caller,
            AuditAction.MERGE,
            SubjectType.PERSON,
            [merged.id, kept.id],
            categories=[DataCategory.IDENTITY],
            reason=f"person merge {merge.id}: {merged.id} into {kept.id}; {reason}",
        )
        await _tell_the_institutions(uow, "person.merged", kept=kept.id, merged=merged.id, at=now)
        view = MergeView(merge=merge, moved=uow.person_links.summary(changes))
        await uow.commit()
    return view


async def _merge_of(uow: UnitOfWork, caller: Caller, merge_id: PersonMergeId) -> PersonMerge:
    merge = await uow.person_merges.get(merge_id)
    if merge is None or merge.institution_id != caller.institution_id:
        # Only the institution that merged sees the merge; to any other it does not exist.
        raise NotFound("no such person merge")
    return merge


async def read_merge(ctx: UseCaseContext, caller: Caller, merge_id: PersonMergeId) -> MergeView:
    caller.require(Scope.PERSONS_READ)
    async with ctx.uow() as uow:
        merge = await _merge_of(uow, caller, merge_id)
        return MergeView(merge=merge, moved=uow.person_links.summary(merge.changes))


async def undo_merge(ctx: UseCaseContext, caller: Caller, cmd: UndoMerge) -> MergeView:
    """Puts every link back where it was before the merge and the two records apart again; refused (409, saying
    why) when something changed since that cannot be put back exactly."""
    caller.require(Scope.PERSONS_WRITE)
    note = clean_text(cmd.note, field="note", max_length=500) if cmd.note is not None else None
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        merge = await _merge_of(uow, caller, cmd.merge_id)
        if merge.version != cmd.expected_version:
            raise StaleVersion("the merge has changed since you read it", merge.version)
        if merge.state is not MergeState.MERGED:
            raise Conflict("the merge has already been undone")
        kept = await uow.persons.get(merge.kept_person_id)
        merged = await uow.persons.get(merge.merged_person_id)
        if kept is None or merged is None or merged.merged_into != kept.id:
            raise Conflict("the merged record is no longer marked as merged into the kept one")
        if kept.merged_into is not None:
            raise Conflict(
                "the kept record has since been merged into another; undo that merge first (the later one first)"
            )
        later = [m for m in await uow.person_merges.merged_into(kept.id) if m.merged_at > merge.merged_at]
        if later:
            raise Conflict(
                "another record has since been merged into the kept one; undo that merge first: "
                + ", ".join(f"/v1/person-merges/{m.id}" for m in later)
            )
        check = await uow.person_links.check_restore(merge.merged_person_id, merge.kept_person_id, merge.changes)
        if check.blockers:
            raise Conflict("the merge cannot be undone safely: " + "; ".join(check.blockers))
        if check.added_since and not cmd.keep_links_added_since:
            added = ", ".join(f"{kind}: {count}" for kind, count in sorted(check.added_since.items()))
            raise Conflict(
                f"links were recorded for the person since the merge ({added}); nobody can tell which record they "
                "belong to. Undo with keep_links_added_since=true to leave them with the kept person."
            )
        await uow.person_links.restore(merge.merged_person_id, merge.kept_person_id, merge.changes, at=now)
        kept_version, merged_version = kept.version, merged.version
        if merge.identity.identity_document and kept.identity_document is not None:
            merged.take_identity_document(kept.give_up_identity_document(now), now)
        if merge.identity.pesel and kept.pesel is not None:
            pesel = kept.give_up_pesel(now, sex=merge.identity.kept_sex_before)
            # The kept row lets go of the PESEL first: it is unique, and the merged row takes it back next.
            await _save_person(uow, kept, kept_version)
            kept_version = kept.version
            merged.identify(pesel, now)
        elif kept.version != kept_version:
            await _save_person(uow, kept, kept_version)
            kept_version = kept.version
        merged.unmerge(now)
        await _save_person(uow, merged, merged_version)
        if kept.version != kept_version:
            await _save_person(uow, kept, kept_version)
        expected = merge.version
        merge.undo(by=caller.actor, note=note, at=now)
        await uow.person_merges.update(merge, expected_version=expected)
        await audit(
            uow,
            ctx,
            caller,
            AuditAction.UNMERGE,
            SubjectType.PERSON,
            [merge.merged_person_id, merge.kept_person_id],
            categories=[DataCategory.IDENTITY],
            reason=f"person merge {merge.id} undone" + (f": {note}" if note else ""),
        )
        await _tell_the_institutions(
            uow, "person.merge_undone", kept=merge.kept_person_id, merged=merge.merged_person_id, at=now
        )
        view = MergeView(merge=merge, moved=uow.person_links.summary(merge.changes))
        await uow.commit()
    return view


async def _tell_the_institutions(
    uow: UnitOfWork, type_: str, *, kept: PersonId, merged: PersonId, at: datetime
) -> None:
    """Every institution serving either record now learns which id stands for the person: their systems keep
    Spójnia's person ids. Thin, as every event: the two ids, nothing of the merge itself (whose record is only
    the merging institution's)."""
    serving = {e.institution_id for e in await uow.shared_clients.active_enrollments([kept, merged])}
    await uow.outbox.add(
        DomainEvent.new(
            type=type_,
            at=at,
            subject_type="person",
            subject_id=kept,
            audience=serving,
            data={"merged_person_id": str(merged)},
        )
    )
