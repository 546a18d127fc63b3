"""Use cases of reconciliation: the differences about one person or family, the open differences of the
caller's institution, and a worker's resolution of one. Nothing here changes a person, a family or a source
record: a resolution records the decision, and the institutions correct their own systems."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.domain.audit import AuditAction, Decision, SubjectType
from app.domain.caller import Caller, Scope
from app.domain.errors import Conflict, NotFound
from app.domain.families import Family
from app.domain.ids import DifferenceId, FamilyId, PersonId, ResolutionId, new_id
from app.domain.institutions import Institution
from app.domain.pagination import MAX_PAGE_SIZE, Position
from app.domain.ports import UnitOfWork
from app.domain.reconciliation import (
    COMPARED_ORDER,
    Compared,
    Difference,
    DifferencePosition,
    Holdings,
    Report,
    Resolution,
    difference_id,
    differences_of,
    json_value,
)
from app.domain.services.access import DEFAULT_PURPOSE, access_check, check_purpose
from app.domain.services.context import UseCaseContext, audit
from app.domain.services.persons import caller_institution
from app.domain.values import clean_text

# Persons looked at per query while filling a page of the open list.
_BATCH = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class DifferencePage:
    items: Sequence[Difference]
    next_after: DifferencePosition | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolveDifference:
    difference_id: DifferenceId
    chosen: str  # the key of the value the worker judged right
    values_seen: str | None = None  # the fingerprint of the values as the worker read them
    note: str | None = None


def _purpose(ctx: UseCaseContext, caller: Caller) -> str:
    return check_purpose(ctx, caller.purpose, "X-Purpose") or DEFAULT_PURPOSE


async def _differences(
    uow: UnitOfWork,
    ctx: UseCaseContext,
    caller: Caller,
    institution: Institution,
    purpose: str,
    person_ids: Sequence[PersonId],
) -> dict[PersonId, list[Difference]]:
    """The differences about these persons as the caller may see them, each with the institution's resolution."""
    if not person_ids:
        return {}
    sources = await uow.source_records.for_persons(person_ids)
    enrollments = await uow.shared_clients.active_enrollments(person_ids)
    family_ids = {f for fs in (await uow.families.families_of(person_ids)).values() for f in fs}
    families = await uow.families.get_many(sorted(family_ids, key=str))
    owners = {r.institution_id for r in sources} | {e.institution_id for e in enrollments}
    owners |= {f.created_by for f in families}
    types = {i.id: i.type for i in await uow.institutions.get_many(sorted(owners, key=str))}
    holdings = Holdings(sources=sources, enrollments=enrollments, families=families, institution_types=types)
    check = await access_check(uow, ctx, caller, institution, purpose, person_ids)
    resolutions = await uow.reconciliation.resolutions(
        caller.institution_id, [difference_id(p, f) for p in person_ids for f in COMPARED_ORDER]
    )

    def seen_by_caller(person_id: PersonId) -> Callable[[Report], bool]:
        return lambda r: check.decide(person_id, r.category, r.institution_id).allowed

    found = {p: differences_of(p, holdings.reports_about(p), seen_by_caller(p), resolutions) for p in person_ids}
    return found


async def _audit_shown(
    uow: UnitOfWork,
    ctx: UseCaseContext,
    caller: Caller,
    action: AuditAction,
    shown: Sequence[Difference],
    purpose: str,
) -> None:
    """One audit record per person whose values were shown, naming the categories and whose data they were."""
    by_person: dict[PersonId, list[Difference]] = {}
    for d in shown:
        by_person.setdefault(d.person_id, []).append(d)
    for person_id, diffs in by_person.items():
        reports = [r for d in diffs for r in d.reports]
        others = sorted({str(r.institution_id) for r in reports if r.institution_id != caller.institution_id})
        await audit(
            uow,
            ctx,
            caller,
            action,
            SubjectType.PERSON,
            [person_id],
            categories=sorted({r.category for r in reports}),
            purpose=purpose,
            reason="reconciliation report"
            + (f"; values held by {', '.join(others)} under the access policy" if others else ""),
        )


async def person_differences(ctx: UseCaseContext, caller: Caller, person_id: PersonId) -> list[Difference]:
    """Every difference about one of the caller's persons, open or resolved."""
    caller.require(Scope.PERSONS_READ)
    purpose = _purpose(ctx, caller)
    async with ctx.uow() as uow:
        institution = await caller_institution(uow, caller)
        person = await uow.persons.get(person_id)
        if person is None or not await uow.persons.visible_to(person_id, caller.institution_id):
            if person is not None:
                await audit(
                    uow,
                    ctx,
                    caller,
                    AuditAction.READ,
                    SubjectType.PERSON,
                    [person_id],
                    decision=Decision.DENY,
                    reason="reconciliation report of a person who is not the institution's own",
                )
                await uow.commit()
            raise NotFound("no such person")
        found = await _differences(uow, ctx, caller, institution, purpose, [person_id])
        shown = found[person_id]
        await uow.reconciliation.note(shown, ctx.clock.now())
        await _audit_shown(uow, ctx, caller, AuditAction.READ, shown, purpose)
        await uow.commit()
    return shown


async def family_differences(ctx: UseCaseContext, caller: Caller, family_id: FamilyId) -> list[Difference]:
    """Every difference about the current members of a family that the caller serves, open or resolved."""
    caller.require(Scope.PERSONS_READ)
    purpose = _purpose(ctx, caller)
    async with ctx.uow() as uow:
        institution = await caller_institution(uow, caller)
        family: Family | None = await uow.families.get(family_id)
        if family is None or not await uow.families.visible_to(family_id, caller.institution_id):
            raise NotFound("no such family")
        members = list(dict.fromkeys(m.person_id for m in family.current_members))
        own = await uow.persons.visible_among(members, caller.institution_id)
        found = await _differences(uow, ctx, caller, institution, purpose, [p for p in members if p in own])
        shown = [d for p in members if p in own for d in found[p]]
        await uow.reconciliation.note(shown, ctx.clock.now())
        await _audit_shown(uow, ctx, caller, AuditAction.READ, shown, purpose)
        await uow.commit()
    return shown


async def open_differences(
    ctx: UseCaseContext, caller: Caller, *, limit: int, after: DifferencePosition | None
) -> DifferencePage:
    """The open differences about the caller's institution's own persons, by person (in the order they were
    registered) and field; resolved ones come back when a value changes."""
    caller.require(Scope.PERSONS_READ)
    purpose = _purpose(ctx, caller)
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    async with ctx.uow() as uow:
        institution = await caller_institution(uow, caller)
        items: list[tuple[Position, Difference]] = []
        cursor: Position | None = after.person if after else None
        # The person the last page stopped at comes again, for the fields after the one it stopped at.
        pending = [(PersonId(after.person.id), after.person)] if after else []
        if pending and not await uow.persons.visible_to(pending[0][0], caller.institution_id):
            pending = []
        while len(items) <= limit:
            fetched = await uow.reconciliation.subjects(caller.institution_id, after=cursor, limit=_BATCH)
            batch, pending = [*pending, *fetched], []
            if not batch:
                break
            found = await _differences(uow, ctx, caller, institution, purpose, [p for p, _ in batch])
            for person_id, position in batch:
                for d in found[person_id]:
                    if after is not None and position == after.person and _rank(d.field) <= _rank(after.field):
                        continue
                    if d.open:
                        items.append((position, d))
            cursor = batch[-1][1]
            if len(fetched) < _BATCH:
                break
        page = items[:limit]
        shown = [d for _, d in page]
        await uow.reconciliation.note(shown, ctx.clock.now())
        await _audit_shown(uow, ctx, caller, AuditAction.LIST, shown, purpose)
        await uow.commit()
    last = page[-1] if len(items) > limit else None
    return DifferencePage(
        items=shown, next_after=DifferencePosition(person=last[0], field=last[1].field) if last else None
    )


def _rank(field: Compared) -> int:
    return COMPARED_ORDER.index(field)


async def resolve_difference(ctx: UseCaseContext, caller: Caller, cmd: ResolveDifference) -> Difference:
    """Records which value a worker of the caller's institution judged right, and why; the difference leaves the
    open list until one of its values changes. Nothing else changes."""
    caller.require(Scope.PERSONS_WRITE)
    purpose = _purpose(ctx, caller)
    note = clean_text(cmd.note, field="note", max_length=1000) if cmd.note is not None else None
    async with ctx.uow() as uow:
        institution = await caller_institution(uow, caller)
        noted = await uow.reconciliation.noted(cmd.difference_id)
        if noted is None:
            raise NotFound("no such difference")
        person_id, field = noted
        if not await uow.persons.visible_to(person_id, caller.institution_id):
            raise NotFound("no such difference")
        found = await _differences(uow, ctx, caller, institution, purpose, [person_id])
        difference = next((d for d in found[person_id] if d.field is field), None)
        if difference is None:
            # The values agree now (or the caller no longer sees the ones that disagreed): nothing to resolve.
            raise NotFound("no such difference: the values no longer disagree")
        if cmd.values_seen is not None and cmd.values_seen != difference.fingerprint:
            raise Conflict("the values have changed since you read them; read the difference again")
        chosen = difference.report(cmd.chosen)
        now = ctx.clock.now()
        resolution = Resolution(
            id=ResolutionId(new_id()),
            difference_id=difference.id,
            institution_id=caller.institution_id,
            chosen_key=chosen.key,
            chosen_value=json_value(chosen.value),
            fingerprint=difference.fingerprint,
            note=note,
            actor=caller.actor,
            worker_id=caller.worker_id,
            resolved_at=now,
        )
        await uow.reconciliation.add_resolution(resolution)
        await audit(
            uow,
            ctx,
            caller,
            AuditAction.RESOLVE,
            SubjectType.PERSON,
            [person_id],
            categories=sorted({r.category for r in difference.reports}),
            purpose=purpose,
            reason=f"reconciliation of {field.value}: {chosen.key} judged right" + (f"; {note}" if note else ""),
        )
        await uow.commit()
    return Difference(
        id=difference.id,
        person_id=difference.person_id,
        field=difference.field,
        reports=difference.reports,
        since=difference.since,
        fingerprint=difference.fingerprint,
        resolution=resolution,
    )
