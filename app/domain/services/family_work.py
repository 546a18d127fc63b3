"""Use cases of partnerships and diagnoses: who works together, and what a family needs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from app.domain.audit import AuditAction, SubjectType
from app.domain.caller import Caller, Scope
from app.domain.data_categories import DataCategory
from app.domain.diagnoses import AreaAssessment, Diagnosis
from app.domain.errors import FieldError, InvalidInput, NotFound
from app.domain.ids import DiagnosisId, FamilyId, InstitutionId, PartnershipId, new_id
from app.domain.partnerships import Partnership, TeamMember
from app.domain.ports import UnitOfWork
from app.domain.services.access import DEFAULT_PURPOSE, access_check, check_purpose
from app.domain.services.context import UseCaseContext, audit
from app.domain.services.persons import caller_institution
from app.domain.values import Teryt, clean_text

# The life area whose assessment is health data (GDPR art. 9), opened only by an agreement or consent naming it.
HEALTH_AREA = "HEALTH"


@dataclass(frozen=True, slots=True, kw_only=True)
class NewPartnership:
    name: str
    teryt: str
    members: Sequence[InstitutionId]
    coordinating_team: Sequence[TeamMember] = ()
    mobile_team: Sequence[TeamMember] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class NewDiagnosis:
    family_id: FamilyId
    diagnosed_on: date
    areas: Sequence[AreaAssessment]


async def create_partnership(
    ctx: UseCaseContext, caller: Caller | None, cmd: NewPartnership, partnership_id: PartnershipId | None = None
) -> Partnership:
    """`caller` None is the command line acting as the operator."""
    if caller is not None:
        caller.require(Scope.ADMIN)
    members = tuple(dict.fromkeys(cmd.members))
    async with ctx.uow() as uow:
        if len(await uow.institutions.get_many(list(members))) != len(members):
            raise InvalidInput("no such institution", [FieldError("members", "each must be a registered institution")])
        team = [*cmd.coordinating_team, *cmd.mobile_team]
        workers = {w.id: w for w in await uow.workers.get_many(list({m.worker_id for m in team}))}
        if any(
            workers.get(m.worker_id) is None or workers[m.worker_id].institution_id != m.institution_id for m in team
        ):
            raise InvalidInput(
                "a team member is not that institution's worker", [FieldError("coordinating_team", "unknown worker")]
            )
        partnership = Partnership(
            id=partnership_id or PartnershipId(new_id()),
            name=clean_text(cmd.name, field="name", max_length=300),
            teryt=Teryt.parse(cmd.teryt),
            members=members,
            coordinating_team=Partnership.team(cmd.coordinating_team),
            mobile_team=Partnership.team(cmd.mobile_team),
            created_at=ctx.clock.now(),
        )
        await uow.partnerships.add(partnership)
        await uow.commit()
    return partnership


async def read_partnership(ctx: UseCaseContext, caller: Caller, partnership_id: PartnershipId) -> Partnership:
    """Member institutions read their partnership; to anyone else it does not exist."""
    async with ctx.uow() as uow:
        partnership = await uow.partnerships.get(partnership_id)
    if partnership is None or not (partnership.is_member(caller.institution_id) or Scope.ADMIN.value in caller.scopes):
        raise NotFound("no such partnership")
    return partnership


async def visible_family(uow: UnitOfWork, caller: Caller, family_id: FamilyId) -> None:
    if await uow.families.get(family_id) is None or not await uow.families.visible_to(family_id, caller.institution_id):
        raise NotFound("no such family")


async def add_diagnosis(ctx: UseCaseContext, caller: Caller, cmd: NewDiagnosis) -> Diagnosis:
    caller.require(Scope.FAMILIES_WRITE)
    today = ctx.today()
    if not cmd.areas:
        raise InvalidInput("a diagnosis assesses at least one life area", [FieldError("areas", "at least one")])
    for i, area in enumerate(cmd.areas):
        ctx.codes.require("LifeArea", area.area, field=f"areas[{i}].area", on=today)
    if len({a.area for a in cmd.areas}) != len(cmd.areas):
        raise InvalidInput("each life area once", [FieldError("areas", "an area appears twice")])
    if cmd.diagnosed_on > today:
        raise InvalidInput("a diagnosis is not made ahead", [FieldError("diagnosed_on", "in the future")])
    diagnosis = Diagnosis(
        id=DiagnosisId(new_id()),
        family_id=cmd.family_id,
        institution_id=caller.institution_id,
        worker_id=caller.worker_id,
        diagnosed_on=cmd.diagnosed_on,
        areas=tuple(cmd.areas),
        created_at=ctx.clock.now(),
    )
    async with ctx.uow() as uow:
        await visible_family(uow, caller, cmd.family_id)
        await uow.diagnoses.add(diagnosis)
        await audit(uow, ctx, caller, AuditAction.UPDATE, SubjectType.FAMILY, [cmd.family_id])
        await uow.commit()
    return diagnosis


async def list_diagnoses(ctx: UseCaseContext, caller: Caller, family_id: FamilyId) -> list[Diagnosis]:
    """Every diagnosis, oldest first: the last is the current one."""
    caller.require(Scope.FAMILIES_READ)
    async with ctx.uow() as uow:
        await visible_family(uow, caller, family_id)
        found = await _shown_diagnoses(uow, ctx, caller, await uow.diagnoses.for_families([family_id]))
        await audit(uow, ctx, caller, AuditAction.READ, SubjectType.FAMILY, [family_id])
        await uow.commit()
    return found


async def diagnoses_of_families(ctx: UseCaseContext, caller: Caller, family_ids: Sequence[FamilyId]) -> list[Diagnosis]:
    """For a family's graph: diagnoses of the families the caller may see, in one query."""
    caller.require(Scope.FAMILIES_READ)
    async with ctx.uow() as uow:
        visible = await uow.families.visible_among(family_ids, caller.institution_id)
        return await _shown_diagnoses(uow, ctx, caller, await uow.diagnoses.for_families(sorted(visible, key=str)))


async def _shown_diagnoses(
    uow: UnitOfWork, ctx: UseCaseContext, caller: Caller, diagnoses: list[Diagnosis]
) -> list[Diagnosis]:
    """Another institution's diagnosis shows where the access policy opens contract data about every current
    member to the caller, and its health assessment only where health data is opened too."""
    foreign = [d for d in diagnoses if d.institution_id != caller.institution_id]
    if not foreign:
        return diagnoses
    families = {f.id: f for f in await uow.families.get_many(list({d.family_id for d in foreign}))}
    members = {fid: [m.person_id for m in f.current_members] for fid, f in families.items()}
    purpose = check_purpose(ctx, caller.purpose, "X-Purpose") or DEFAULT_PURPOSE
    everyone = list({p for people in members.values() for p in people})
    check = await access_check(uow, ctx, caller, await caller_institution(uow, caller), purpose, everyone)

    def opened(d: Diagnosis, category: DataCategory) -> bool:
        people = members.get(d.family_id, [])
        return bool(people) and all(check.decide(p, category, d.institution_id).allowed for p in people)

    shown = []
    for d in diagnoses:
        if d.institution_id == caller.institution_id:
            shown.append(d)
        elif opened(d, DataCategory.CONTRACT):
            health = opened(d, DataCategory.HEALTH)
            shown.append(d if health else replace(d, areas=tuple(a for a in d.areas if a.area != HEALTH_AREA)))
    return shown
