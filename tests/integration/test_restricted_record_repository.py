"""The SQL adapter of restricted records on the real database: one subject, versions, one team's pages."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app.bootstrap import Container
from app.domain.errors import DuplicateRecord, StaleVersion
from app.domain.ids import FamilyId, PersonId, RestrictedRecordId, new_id
from app.domain.pagination import PageRequest
from app.domain.restricted_records import RestrictedRecord
from app.domain.services import persons as person_use
from app.domain.services.persons import EnrollmentDetails, RegisterPerson
from tests.builders import JAN
from tests.conftest import Party
from tests.integration.test_repositories import caller_of

pytestmark = pytest.mark.sqlite

NOW = datetime(2026, 3, 1, 10, 30, tzinfo=UTC)


def a_record(team: Party, person_id: PersonId | None, at: datetime = NOW) -> RestrictedRecord:
    return RestrictedRecord(
        id=RestrictedRecordId(new_id()),
        team_id=team.id,
        form="NK_A",
        procedure_date=date(2026, 2, 1),
        person_id=person_id,
        family_id=None,
        note="notatka",
        created_at=at,
        updated_at=at,
    )


async def a_person(container: Container, ops: Party) -> PersonId:
    command = RegisterPerson(
        first_name="Jan", last_name="Nowak", pesel=JAN, enrollment=EnrollmentDetails(status="BENEFIT_RECIPIENT")
    )
    return (await person_use.register_person(container.ctx, caller_of(ops), command)).view.person.id


async def test_records_are_stored_corrected_with_versions_and_paged_per_team(
    container: Container, ops: Party, zi: Party, other_zi: Party
) -> None:
    person = await a_person(container, ops)
    mine = [a_record(zi, person, NOW + timedelta(seconds=i)) for i in range(3)]
    theirs = a_record(other_zi, person)
    async with container.ctx.uow() as uow:
        for record in [*mine, theirs]:
            await uow.restricted_records.add(record)
        await uow.commit()

    first = mine[0]
    assert first.correct(form="NK_B", note="inna", today=date(2026, 3, 1), at=NOW + timedelta(hours=1))
    async with container.ctx.uow() as uow:
        await uow.restricted_records.update(first, expected_version=1)
        await uow.commit()
    async with container.ctx.uow() as uow:
        assert await uow.restricted_records.get(first.id) == first
        with pytest.raises(StaleVersion) as raised:
            await uow.restricted_records.update(first, expected_version=1)
    assert raised.value.current_version == 2

    async with container.ctx.uow() as uow:
        page = await uow.restricted_records.list_for_team(zi.id, PageRequest(limit=2), person_id=person, family_id=None)
        rest = await uow.restricted_records.list_for_team(
            zi.id, PageRequest(limit=2, after=page.next_after), person_id=None, family_id=None
        )
        about_a_family = await uow.restricted_records.list_for_team(
            zi.id, PageRequest(), person_id=None, family_id=FamilyId(new_id())
        )
    assert [r.id for r in [*page.items, *rest.items]] == [r.id for r in mine]
    assert rest.next_after is None
    assert about_a_family.items == []


async def test_a_record_names_one_existing_subject(container: Container, ops: Party, zi: Party) -> None:
    person = await a_person(container, ops)
    for record in (a_record(zi, None), a_record(zi, PersonId(new_id()))):
        async with container.ctx.uow() as uow:
            with pytest.raises(DuplicateRecord):
                await uow.restricted_records.add(record)
    both = a_record(zi, person)
    both.family_id = FamilyId(new_id())
    async with container.ctx.uow() as uow:
        with pytest.raises(DuplicateRecord):
            await uow.restricted_records.add(both)
