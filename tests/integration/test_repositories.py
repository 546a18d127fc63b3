"""The SQL adapters on the real database: constraints, versions, visibility, paging, time zones."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, text

from app.bootstrap import Container
from app.domain.audit import AuditAction, SubjectType
from app.domain.caller import ALL_SCOPES, Caller
from app.domain.errors import DuplicateRecord, StaleVersion
from app.domain.families import Family
from app.domain.ids import EnrollmentId, FamilyId, InstitutionId, MembershipId, PersonId, new_id
from app.domain.pagination import PageRequest
from app.domain.persons import Enrollment, Person
from app.domain.services import persons as person_use
from app.domain.services.context import audit_record
from app.domain.values import Pesel
from tests.builders import JAN, MARIA, make_pesel
from tests.conftest import Party

pytestmark = pytest.mark.sqlite

NOW = datetime(2026, 3, 1, 10, 30, tzinfo=UTC)


def a_person(pesel: str | None = JAN, at: datetime = NOW) -> Person:
    return Person.register(
        id=PersonId(new_id()),
        first_name="Jan",
        last_name="Nowak",
        birth_date=None if pesel else date(1990, 1, 1),
        sex=None,
        pesel=Pesel.parse(pesel) if pesel else None,
        identity_document=None,
        at=at,
    )


def an_enrollment(person: Person, institution_id: InstitutionId) -> Enrollment:
    return Enrollment(
        id=EnrollmentId(new_id()),
        person_id=person.id,
        institution_id=institution_id,
        status="APPLICANT",
        since=date(2026, 1, 1),
        until=None,
        worker_id=None,
        external_ref=None,
        created_at=NOW,
        updated_at=NOW,
    )


def caller_of(party: Party) -> Caller:
    return Caller(
        subject="t",
        institution_id=party.id,
        scopes=frozenset(ALL_SCOPES),
        roles=frozenset(),
        worker_id=None,
        request_id="r",
    )


async def test_timestamps_come_back_as_the_same_utc_instant(container: Container) -> None:
    person = a_person(at=datetime(2026, 3, 1, 12, 0, tzinfo=UTC) + timedelta(microseconds=123))
    async with container.ctx.uow() as uow:
        await uow.persons.add(person)
        await uow.commit()
    async with container.ctx.uow() as uow:
        stored = await uow.persons.get(person.id)
    assert stored is not None
    assert stored.created_at == person.created_at
    assert stored.created_at.utcoffset() == timedelta(0)


async def test_a_pesel_is_held_by_one_person_only(container: Container) -> None:
    async with container.ctx.uow() as uow:
        await uow.persons.add(a_person(JAN))
        await uow.commit()
    async with container.ctx.uow() as uow:
        with pytest.raises(DuplicateRecord):
            await uow.persons.add(a_person(JAN))


async def test_leaving_without_commit_keeps_nothing(container: Container) -> None:
    person = a_person(MARIA)
    async with container.ctx.uow() as uow:
        await uow.persons.add(person)
    async with container.ctx.uow() as uow:
        assert await uow.persons.get(person.id) is None


async def test_a_stale_update_is_refused(container: Container) -> None:
    person = a_person()
    async with container.ctx.uow() as uow:
        await uow.persons.add(person)
        await uow.commit()
    person.rename(first_name="Janusz", last_name=None, at=NOW)
    async with container.ctx.uow() as uow:
        await uow.persons.update(person, expected_version=1)
        await uow.commit()
    async with container.ctx.uow() as uow:
        with pytest.raises(StaleVersion) as raised:
            await uow.persons.update(person, expected_version=1)
    assert raised.value.current_version == 2


async def test_one_open_enrollment_per_person_and_institution(container: Container, ops: Party) -> None:
    person = a_person()
    async with container.ctx.uow() as uow:
        await uow.persons.add(person)
        await uow.enrollments.add(an_enrollment(person, ops.id))
        await uow.commit()
    async with container.ctx.uow() as uow:
        with pytest.raises(DuplicateRecord):
            await uow.enrollments.add(an_enrollment(person, ops.id))


async def test_own_records_are_enrollments_and_current_members_of_families_kept(
    container: Container, ops: Party, pup: Party, other_ops: Party
) -> None:
    parent, child = a_person(JAN), a_person(make_pesel("152101"))
    enrollment = an_enrollment(parent, pup.id)
    family = Family(
        id=FamilyId(new_id()), name="Nowakowie", teryt=None, created_by=ops.id, created_at=NOW, updated_at=NOW
    )
    family.add_member(
        membership_id=MembershipId(new_id()), person_id=parent.id, role="PARENT", since=date(2020, 1, 1), at=NOW
    )
    child_membership = family.add_member(
        membership_id=MembershipId(new_id()), person_id=child.id, role="CHILD", since=date(2020, 1, 1), at=NOW
    )
    async with container.ctx.uow() as uow:
        for p in (parent, child):
            await uow.persons.add(p)
        await uow.enrollments.add(enrollment)
        await uow.families.add(family)
        await uow.commit()

    async with container.ctx.uow() as uow:
        # Serving the parent shows the PUP the family, not the child: that is opened by the access policy alone.
        assert not await uow.persons.visible_to(child.id, pup.id)
        assert await uow.persons.visible_to(parent.id, pup.id)
        assert await uow.persons.visible_to(child.id, ops.id)  # a member of the family the MOPS keeps
        assert not await uow.persons.visible_to(child.id, other_ops.id)
        assert await uow.families.visible_among([family.id], pup.id) == {family.id}
        assert await uow.families.visible_among([family.id], other_ops.id) == set()

    family.end_membership(membership_id=child_membership.id, on=date(2026, 1, 1), reason="LEFT_HOUSEHOLD", at=NOW)
    enrollment.end(on=date(2026, 2, 1), at=NOW)
    async with container.ctx.uow() as uow:
        await uow.families.update(family, expected_version=1 + 2)
        await uow.enrollments.update(enrollment, expected_version=1)
        await uow.commit()
    async with container.ctx.uow() as uow:
        assert not await uow.persons.visible_to(child.id, ops.id)  # no longer a member
        assert not await uow.persons.visible_to(parent.id, pup.id)  # no longer enrolled
        assert not await uow.families.visible_to(family.id, pup.id)
        stored = await uow.families.get(family.id)
    assert stored is not None
    assert [m.current for m in stored.memberships if m.person_id == child.id] == [False]


async def test_pages_cover_every_row_once_in_a_stable_order(container: Container, ops: Party) -> None:
    people = [a_person(make_pesel(f"9001{day:02d}"), at=NOW + timedelta(seconds=day % 3)) for day in range(1, 12)]
    async with container.ctx.uow() as uow:
        for p in people:
            await uow.persons.add(p)
            await uow.enrollments.add(an_enrollment(p, ops.id))
        await uow.commit()

    seen: list[PersonId] = []
    page = PageRequest(limit=4)
    while True:
        async with container.ctx.uow() as uow:
            found = await uow.persons.list_visible(ops.id, page)
        seen += [p.id for p in found.items]
        if found.next_after is None:
            break
        page = PageRequest(limit=4, after=found.next_after)
    assert sorted(seen, key=str) == sorted((p.id for p in people), key=str)
    assert len(seen) == len(set(seen))


async def test_concurrent_registrations_of_one_pesel_make_one_person(
    container: Container, ops: Party, pup: Party
) -> None:
    def command(status: str) -> person_use.RegisterPerson:
        return person_use.RegisterPerson(
            first_name="Jan", last_name="Nowak", pesel=JAN, enrollment=person_use.EnrollmentDetails(status=status)
        )

    results = await asyncio.gather(
        person_use.register_person(container.ctx, caller_of(ops), command("APPLICANT")),
        person_use.register_person(container.ctx, caller_of(pup), command("UNEMPLOYED")),
    )

    assert results[0].view.person.id == results[1].view.person.id
    assert all(r.newly_enrolled for r in results)


async def test_rate_limit_windows_count_each_hit_and_a_new_window_drops_the_old(container: Container) -> None:
    first, second = NOW, NOW + timedelta(minutes=1)

    async def hit(bucket: str, window: datetime) -> int:
        async with container.ctx.uow() as uow:
            hits = await uow.rate_limits.hit(bucket, window)
            await uow.commit()
        return hits

    counted = [await hit("lookup:a", first) for _ in range(3)]
    other_client = await hit("lookup:b", first)
    next_window = await hit("lookup:a", second)

    async with container.engine.connect() as connection:
        left = (await connection.execute(text("SELECT bucket, hits FROM rate_limit_windows ORDER BY bucket"))).all()
    assert counted == [1, 2, 3]
    assert (other_client, next_window) == (1, 1)
    assert [tuple(row) for row in left] == [("lookup:a", 1), ("lookup:b", 1)]


async def test_the_audit_records_of_a_request_go_in_as_one_statement(container: Container, ops: Party) -> None:
    """A page of twenty referrals is twenty records read: one INSERT, not one round trip each."""
    records = [
        audit_record(caller_of(ops), AuditAction.READ, SubjectType.REFERRAL, new_id(), at=NOW) for _ in range(20)
    ]
    inserts: list[bool] = []

    def count(_conn: object, _cursor: object, statement: str, _params: object, _ctx: object, many: bool) -> None:
        # An executemany is one call here but a statement per row at the server.
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT_EVENTS"):
            inserts.append(many)

    event.listen(container.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with container.ctx.uow() as uow:
            await uow.audit.record_many(records)
            await uow.commit()
    finally:
        event.remove(container.engine.sync_engine, "before_cursor_execute", count)
    async with container.ctx.uow() as uow:
        stored = [r for record in records for r in await uow.audit.for_subject(record.subject_id)]
    assert inserts == [False]
    assert stored == records
