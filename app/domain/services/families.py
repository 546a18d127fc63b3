"""Use cases of families: create, read (one or many, for GraphQL batching), list, change members."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from app.domain.audit import AuditAction, AuditRecord, SubjectType
from app.domain.caller import Caller, Scope
from app.domain.clock import local_date
from app.domain.data_categories import DataCategory
from app.domain.errors import FieldError, InvalidInput, NotFound, PermissionDenied, StaleVersion
from app.domain.families import Family
from app.domain.ids import FamilyId, MembershipId, PersonId, new_id
from app.domain.pagination import Page, PageRequest
from app.domain.ports import UnitOfWork
from app.domain.services.access import (
    DEFAULT_PURPOSE,
    AccessCheck,
    access_check,
    check_purpose,
    checked_on,
    requester_of,
)
from app.domain.services.context import UseCaseContext, audit_record
from app.domain.services.persons import caller_institution
from app.domain.services.views import FamilyView, assemble_family_views, assemble_person_views, family_views
from app.domain.values import Teryt


@dataclass(frozen=True, slots=True, kw_only=True)
class NewMember:
    person_id: PersonId
    role: str
    since: date | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateFamily:
    name: str
    teryt: str | None = None
    members: Sequence[NewMember] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeFamily:
    family_id: FamilyId
    expected_version: int
    name: str | None = None
    teryt: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AddMember:
    family_id: FamilyId
    expected_version: int
    member: NewMember


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeMembership:
    family_id: FamilyId
    membership_id: MembershipId
    expected_version: int
    role: str | None = None
    end_on: date | None = None
    end_reason: str = "LEFT_HOUSEHOLD"


async def _check_member(
    uow: UnitOfWork, ctx: UseCaseContext, caller: Caller, member: NewMember, field_prefix: str
) -> None:
    ctx.codes.require("FamilyRole", member.role, field=f"{field_prefix}.role", on=ctx.today())
    if await uow.persons.get(member.person_id) is None or not await uow.persons.visible_to(
        member.person_id, caller.institution_id
    ):
        # The same answer whether the person does not exist or is not the caller's to see.
        raise InvalidInput(
            "no such person", [FieldError(f"{field_prefix}.person_id", "no such person among your clients")]
        )


async def _views_and_audit(
    uow: UnitOfWork, ctx: UseCaseContext, caller: Caller, families: Sequence[Family], action: AuditAction
) -> list[FamilyView]:
    purpose = check_purpose(ctx, caller.purpose, "X-Purpose") or DEFAULT_PURPOSE
    # The grounds of sharing are loaded only when a family kept by another institution is shown.
    others = list({m.person_id for f in families if f.created_by != caller.institution_id for m in f.current_members})
    check = (
        await access_check(uow, ctx, caller, await caller_institution(uow, caller), purpose, others) if others else None
    )

    def household_opens(family: Family, person_id: PersonId) -> bool:
        return check is not None and check.decide(person_id, DataCategory.HOUSEHOLD, family.created_by).allowed

    views = await family_views(uow, families, caller.institution_id, household_opens)
    await uow.audit.record_many(_read_records(ctx, caller, views, action, purpose))
    return views


async def create_family(ctx: UseCaseContext, caller: Caller, cmd: CreateFamily) -> FamilyView:
    caller.require(Scope.FAMILIES_WRITE)
    async with ctx.uow() as uow:
        await caller_institution(uow, caller)
    now = ctx.clock.now()
    family = Family(
        id=FamilyId(new_id()),
        name=Family.clean_name(cmd.name),
        teryt=Teryt.parse(cmd.teryt) if cmd.teryt else None,
        created_by=caller.institution_id,
        created_at=now,
        updated_at=now,
    )
    async with ctx.uow() as uow:
        for i, member in enumerate(cmd.members):
            await _check_member(uow, ctx, caller, member, f"members[{i}]")
            family.add_member(
                membership_id=MembershipId(new_id()),
                person_id=member.person_id,
                role=member.role,
                since=member.since or local_date(now),
                at=now,
            )
        family.version = 1
        await uow.families.add(family)
        [view] = await _views_and_audit(uow, ctx, caller, [family], AuditAction.CREATE)
        await uow.commit()
    return view


async def read_families(ctx: UseCaseContext, caller: Caller, family_ids: Sequence[FamilyId]) -> list[FamilyView | None]:
    """Many families in two trips to storage (the grounds, then the audit records); None where the caller may not
    see one."""
    caller.require(Scope.FAMILIES_READ)
    purpose = check_purpose(ctx, caller.purpose, "X-Purpose") or DEFAULT_PURPOSE
    grounds = await ctx.reads.families.grounds(family_ids, caller.institution_id)
    # The grounds of sharing are asked only when a household kept by another institution is shown.
    kept_elsewhere = any(f.current_members for f in grounds.families if f.created_by != caller.institution_id)
    check: AccessCheck | None = None
    if kept_elsewhere:
        if grounds.caller_institution is None:
            raise PermissionDenied("the token's institution is not registered in Spójnia")
        check = checked_on(
            ctx, requester_of(caller, grounds.caller_institution, purpose), grounds.agreements, grounds.consents
        )

    def household_opens(family: Family, person_id: PersonId) -> bool:
        return check is not None and check.decide(person_id, DataCategory.HOUSEHOLD, family.created_by).allowed

    members = assemble_person_views(grounds.persons, grounds.own_enrollments, grounds.workers, grounds.families_of)
    views = assemble_family_views(grounds.families, members, caller.institution_id, household_opens)
    await ctx.reads.families.record(_read_records(ctx, caller, views, AuditAction.READ, purpose))
    by_id = {v.family.id: v for v in views}
    return [by_id.get(fid) for fid in family_ids]


def _read_records(
    ctx: UseCaseContext, caller: Caller, views: Sequence[FamilyView], action: AuditAction, purpose: str
) -> list[AuditRecord]:
    """One record per family shown and one per person shown in it."""
    at = ctx.clock.now()
    categories = (DataCategory.HOUSEHOLD, DataCategory.IDENTITY)
    shown = sorted({m.person.person.id for v in views for m in v.members}, key=str)
    return [
        *(
            audit_record(caller, action, SubjectType.FAMILY, v.family.id, at=at, categories=categories, purpose=purpose)
            for v in views
        ),
        *(
            audit_record(caller, AuditAction.READ, SubjectType.PERSON, p, at=at, categories=categories, purpose=purpose)
            for p in shown
        ),
    ]


async def read_family(ctx: UseCaseContext, caller: Caller, family_id: FamilyId) -> FamilyView:
    [view] = await read_families(ctx, caller, [family_id])
    if view is None:
        raise NotFound("no such family")
    return view


async def list_families(ctx: UseCaseContext, caller: Caller, page: PageRequest) -> Page[FamilyView]:
    caller.require(Scope.FAMILIES_READ)
    async with ctx.uow() as uow:
        found = await uow.families.list_visible(caller.institution_id, page)
        views = await _views_and_audit(uow, ctx, caller, found.items, AuditAction.LIST)
        await uow.commit()
    return Page(items=views, next_after=found.next_after)


async def _family_for_change(uow: UnitOfWork, caller: Caller, family_id: FamilyId, expected_version: int) -> Family:
    caller.require(Scope.FAMILIES_WRITE)
    family = await uow.families.get(family_id)
    if family is None or not await uow.families.visible_to(family_id, caller.institution_id):
        raise NotFound("no such family")
    if family.version != expected_version:
        raise StaleVersion("the family has changed since you read it", family.version)
    return family


async def _check_membership_keeper(
    uow: UnitOfWork, ctx: UseCaseContext, caller: Caller, family: Family, membership_id: MembershipId
) -> None:
    """The institution keeping the family, or the one serving that member, changes a membership; to another
    institution serving someone else in the household that member's record is not its own to change."""
    membership = next((m for m in family.memberships if m.id == membership_id), None)
    if (
        membership is None
        or family.created_by == caller.institution_id
        or await uow.persons.visible_to(membership.person_id, caller.institution_id)
    ):
        return
    purpose = check_purpose(ctx, caller.purpose, "X-Purpose") or DEFAULT_PURPOSE
    check = await access_check(uow, ctx, caller, await caller_institution(uow, caller), purpose, [membership.person_id])
    if check.decide(membership.person_id, DataCategory.HOUSEHOLD, family.created_by).allowed:
        raise PermissionDenied("the family's keeper or the member's own institution changes this membership")
    raise NotFound("no such membership")


async def _save(
    uow: UnitOfWork, ctx: UseCaseContext, caller: Caller, family: Family, expected_version: int
) -> FamilyView:
    await uow.families.update(family, expected_version=expected_version)
    [view] = await _views_and_audit(uow, ctx, caller, [family], AuditAction.UPDATE)
    await uow.commit()
    return view


async def change_family(ctx: UseCaseContext, caller: Caller, cmd: ChangeFamily) -> FamilyView:
    now = ctx.clock.now()
    teryt = Teryt.parse(cmd.teryt) if cmd.teryt else None
    async with ctx.uow() as uow:
        family = await _family_for_change(uow, caller, cmd.family_id, cmd.expected_version)
        family.rename(name=cmd.name, teryt=teryt, at=now)
        return await _save(uow, ctx, caller, family, cmd.expected_version)


async def add_member(ctx: UseCaseContext, caller: Caller, cmd: AddMember) -> FamilyView:
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        family = await _family_for_change(uow, caller, cmd.family_id, cmd.expected_version)
        await _check_member(uow, ctx, caller, cmd.member, "member")
        family.add_member(
            membership_id=MembershipId(new_id()),
            person_id=cmd.member.person_id,
            role=cmd.member.role,
            since=cmd.member.since or local_date(now),
            at=now,
        )
        return await _save(uow, ctx, caller, family, cmd.expected_version)


async def change_membership(ctx: UseCaseContext, caller: Caller, cmd: ChangeMembership) -> FamilyView:
    """A new role ends the membership and opens another; leaving ends it. History stays."""
    now = ctx.clock.now()
    on = cmd.end_on or local_date(now)
    async with ctx.uow() as uow:
        family = await _family_for_change(uow, caller, cmd.family_id, cmd.expected_version)
        await _check_membership_keeper(uow, ctx, caller, family, cmd.membership_id)
        if cmd.role is not None:
            ctx.codes.require("FamilyRole", cmd.role, field="role", on=local_date(now))
            family.change_role(
                membership_id=cmd.membership_id, new_membership_id=MembershipId(new_id()), role=cmd.role, on=on, at=now
            )
        else:
            ctx.codes.require("MembershipEndReason", cmd.end_reason, field="reason", on=local_date(now))
            family.end_membership(membership_id=cmd.membership_id, on=on, reason=cmd.end_reason, at=now)
        return await _save(uow, ctx, caller, family, cmd.expected_version)
