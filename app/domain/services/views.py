"""Read models handed to REST and GraphQL: what one caller may see, assembled in few queries."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from app.domain.families import Family, Membership
from app.domain.ids import FamilyId, InstitutionId, PersonId, WorkerId
from app.domain.institutions import Worker
from app.domain.persons import Enrollment, Person
from app.domain.ports import UnitOfWork


@dataclass(frozen=True, slots=True, kw_only=True)
class EnrollmentView:
    enrollment: Enrollment
    worker: Worker | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PersonView:
    person: Person
    # Only the caller's own institution's enrollments: never who else serves the person.
    enrollments: Sequence[EnrollmentView]
    family_ids: Sequence[FamilyId]
    # Where else the person is served: only what the caller's agreements or the person's consent open.
    elsewhere: Sequence[EnrollmentView] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberView:
    membership: Membership
    person: PersonView


@dataclass(frozen=True, slots=True, kw_only=True)
class FamilyView:
    family: Family
    members: Sequence[MemberView]  # current and past memberships, in order of joining


async def person_views(
    uow: UnitOfWork, persons: Sequence[Person], institution_id: InstitutionId, elsewhere: Sequence[Enrollment] = ()
) -> list[PersonView]:
    ids = [p.id for p in persons]
    enrollments = await uow.enrollments.for_persons(ids, institution_id)
    workers = await workers_of(uow, [*enrollments, *elsewhere])
    return assemble_person_views(
        persons, enrollments, workers, await visible_families_of(uow, ids, institution_id), elsewhere
    )


async def visible_families_of(
    uow: UnitOfWork, ids: Sequence[PersonId], institution_id: InstitutionId
) -> dict[PersonId, list[FamilyId]]:
    """Each person's current households; another household of theirs stays hidden unless the caller may see it."""
    families = await uow.families.families_of(ids)
    visible = await uow.families.visible_among(list({f for fs in families.values() for f in fs}), institution_id)
    return {pid: [f for f in fs if f in visible] for pid, fs in families.items()}


def assemble_person_views(
    persons: Sequence[Person],
    own_enrollments: Sequence[Enrollment],
    workers: Mapping[WorkerId, Worker],
    families_of: Mapping[PersonId, Sequence[FamilyId]],
    elsewhere: Sequence[Enrollment] = (),
) -> list[PersonView]:
    def view(e: Enrollment) -> EnrollmentView:
        return EnrollmentView(enrollment=e, worker=workers.get(e.worker_id) if e.worker_id else None)

    by_person: dict[PersonId, list[EnrollmentView]] = {p.id: [] for p in persons}
    for e in own_enrollments:
        by_person[e.person_id].append(view(e))
    shared: dict[PersonId, list[EnrollmentView]] = {p.id: [] for p in persons}
    for e in elsewhere:
        shared[e.person_id].append(view(e))
    return [
        PersonView(person=p, enrollments=by_person[p.id], family_ids=families_of.get(p.id, []), elsewhere=shared[p.id])
        for p in persons
    ]


def family_members(families: Sequence[Family]) -> tuple[set[PersonId], set[PersonId]]:
    """The current members, and the past ones (who are shown only where the caller still sees them otherwise)."""
    current = {m.person_id for f in families for m in f.current_members}
    past = {m.person_id for f in families for m in f.memberships} - current
    return current, past


async def family_views(
    uow: UnitOfWork,
    families: Sequence[Family],
    institution_id: InstitutionId,
    household_opens: Callable[[Family, PersonId], bool],
) -> list[FamilyView]:
    views = await person_views(uow, await shown_members(uow, families, institution_id), institution_id)
    return assemble_family_views(families, views, institution_id, household_opens)


async def shown_members(uow: UnitOfWork, families: Sequence[Family], institution_id: InstitutionId) -> list[Person]:
    """The families' current members, and past members the institution still sees otherwise."""
    current, past = family_members(families)
    still_visible = await uow.persons.visible_among(list(past), institution_id) if past else set()
    return await uow.persons.get_many(list(current | still_visible))


def assemble_family_views(
    families: Sequence[Family],
    member_views: Sequence[PersonView],
    institution_id: InstitutionId,
    household_opens: Callable[[Family, PersonId], bool],
) -> list[FamilyView]:
    """Current members, and past ones only where the caller may still see the person otherwise.

    The institution that keeps the family sees every member; another sees its own clients, and the rest of the
    household only where `household_opens` (the access policy, for the family's keeper) says so.
    """
    views = {v.person.id: v for v in member_views}
    return [
        FamilyView(
            family=f,
            members=[
                MemberView(membership=m, person=views[m.person_id])
                for m in sorted(f.memberships, key=lambda m: (m.since, m.recorded_at, str(m.id)))
                if m.person_id in views
                and (
                    f.created_by == institution_id or views[m.person_id].enrollments or household_opens(f, m.person_id)
                )
            ],
        )
        for f in families
    ]


async def workers_of(uow: UnitOfWork, enrollments: Sequence[Enrollment]) -> dict[WorkerId, Worker]:
    ids = list({e.worker_id for e in enrollments if e.worker_id is not None})
    return {w.id: w for w in await uow.workers.get_many(ids)} if ids else {}
