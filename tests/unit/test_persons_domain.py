"""Persons and enrollments as entities: registration rules, identification, enrollment changes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from app.domain.errors import Conflict, InvalidInput
from app.domain.ids import EnrollmentId, InstitutionId, PersonId, WorkerId, new_id
from app.domain.persons import Enrollment, Person
from app.domain.values import IdentityDocument, Pesel, Sex
from tests.builders import JAN, KACPER, MARIA, make_pesel

NOW = datetime(2025, 3, 10, 9, 30, tzinfo=UTC)
LATER = datetime(2025, 4, 1, 12, 0, tzinfo=UTC)
PASSPORT = IdentityDocument(kind="PASSPORT", number="FA123456", country="UA")


def register(**overrides: Any) -> Person:
    arguments: dict[str, Any] = {
        "id": PersonId(new_id()),
        "first_name": "Jan",
        "last_name": "Nowak",
        "birth_date": None,
        "sex": None,
        "pesel": Pesel.parse(JAN),
        "identity_document": None,
        "at": NOW,
    }
    arguments.update(overrides)
    return Person.register(**arguments)


def error_fields(error: pytest.ExceptionInfo[InvalidInput]) -> list[str]:
    return [e.field for e in error.value.errors]


def enrollment(**overrides: Any) -> Enrollment:
    arguments: dict[str, Any] = {
        "id": EnrollmentId(new_id()),
        "person_id": PersonId(new_id()),
        "institution_id": InstitutionId(new_id()),
        "status": "BENEFIT_RECIPIENT",
        "since": date(2025, 1, 15),
        "until": None,
        "worker_id": None,
        "external_ref": None,
        "created_at": NOW,
        "updated_at": NOW,
    }
    arguments.update(overrides)
    return Enrollment(**arguments)


# --------------------------------------------------------------------------- registration


def test_person_with_pesel_takes_birth_date_and_sex_from_it() -> None:
    person = register(pesel=Pesel.parse(MARIA), first_name="Maria")

    assert person.birth_date == date(1987, 8, 24)
    assert person.sex == Sex.FEMALE
    assert person.version == 1
    assert person.created_at == person.updated_at == NOW


def test_person_with_pesel_may_repeat_the_matching_birth_date_and_sex() -> None:
    person = register(birth_date=date(1985, 3, 12), sex=Sex.MALE)

    assert (person.birth_date, person.sex) == (date(1985, 3, 12), Sex.MALE)


def test_birth_date_contradicting_the_pesel_is_refused_on_birth_date() -> None:
    with pytest.raises(InvalidInput) as error:
        register(birth_date=date(1985, 3, 13))

    assert error_fields(error) == ["birth_date"]


def test_sex_contradicting_the_pesel_is_refused_on_sex() -> None:
    with pytest.raises(InvalidInput) as error:
        register(pesel=Pesel.parse(MARIA), sex=Sex.MALE)

    assert error_fields(error) == ["sex"]


def test_person_without_pesel_is_registered_with_a_birth_date_and_document() -> None:
    person = register(pesel=None, birth_date=date(1990, 4, 2), identity_document=PASSPORT)

    assert person.pesel is None
    assert person.sex is None
    assert person.birth_date == date(1990, 4, 2)
    assert person.identity_document == PASSPORT


def test_person_without_pesel_needs_a_birth_date() -> None:
    with pytest.raises(InvalidInput) as error:
        register(pesel=None, identity_document=PASSPORT)

    assert error_fields(error) == ["birth_date"]


def test_birth_date_after_today_is_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        register(pesel=None, birth_date=date(2025, 3, 11))

    assert error_fields(error) == ["birth_date"]


def test_person_born_today_is_registered() -> None:
    assert register(pesel=None, birth_date=NOW.date()).birth_date == NOW.date()


def test_pesel_encoding_a_birth_in_the_future_is_refused_as_a_future_birth_date() -> None:
    not_yet_born = Pesel.parse(make_pesel("252401"))  # 2025-04-01, three weeks after NOW

    with pytest.raises(InvalidInput) as error:
        register(pesel=not_yet_born)

    assert error_fields(error) == ["birth_date"]


def test_names_are_trimmed_and_inner_whitespace_collapsed() -> None:
    person = register(first_name="  Anna   Maria ", last_name="Kowalska-\tNowak ")

    assert person.first_name == "Anna Maria"
    assert person.last_name == "Kowalska- Nowak"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"first_name": "   "}, "first_name"),
        ({"last_name": ""}, "last_name"),
        ({"last_name": "N" * 101}, "last_name"),
    ],
)
def test_empty_or_overlong_names_are_refused_on_their_field(overrides: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        register(**overrides)

    assert error_fields(error) == [field]


def test_rename_changes_only_the_names_given_and_bumps_the_version() -> None:
    person = register()

    person.rename(first_name=None, last_name=" Kowalski ", at=LATER)

    assert (person.first_name, person.last_name) == ("Jan", "Kowalski")
    assert person.version == 2
    assert person.updated_at == LATER
    assert person.created_at == NOW


def test_rename_to_an_empty_name_is_refused() -> None:
    person = register()

    with pytest.raises(InvalidInput):
        person.rename(first_name=" ", last_name=None, at=LATER)


# --------------------------------------------------------------------------- identification


def test_person_registered_without_pesel_is_identified_later_and_takes_sex_from_it() -> None:
    newborn = register(pesel=None, birth_date=date(2012, 5, 7), first_name="Kacper")

    newborn.identify(Pesel.parse(KACPER), LATER)

    assert newborn.pesel == Pesel.parse(KACPER)
    assert newborn.sex == Sex.MALE
    assert newborn.version == 2
    assert newborn.updated_at == LATER


def test_pesel_of_another_birth_date_does_not_identify_the_person() -> None:
    person = register(pesel=None, birth_date=date(1990, 4, 2))

    with pytest.raises(InvalidInput) as error:
        person.identify(Pesel.parse(JAN), LATER)

    assert error_fields(error) == ["pesel"]
    assert person.pesel is None
    assert person.version == 1


def test_a_person_with_a_pesel_cannot_be_given_another_one() -> None:
    person = register()
    same_day_other_serial = Pesel.parse(make_pesel("850312", "1111"))

    with pytest.raises(Conflict):
        person.identify(same_day_other_serial, LATER)

    assert person.pesel == Pesel.parse(JAN)


# --------------------------------------------------------------------------- enrollments


def test_new_enrollment_is_active_until_it_ends() -> None:
    assert enrollment().active
    assert not enrollment(until=date(2025, 2, 1)).active


def test_changing_an_enrollment_sets_status_worker_and_reference_and_bumps_the_version() -> None:
    worker = WorkerId(new_id())
    e = enrollment()

    e.change(status="SOCIAL_CONTRACT", worker_id=worker, clear_worker=False, external_ref="POMOST/2025/17", at=LATER)

    assert (e.status, e.worker_id, e.external_ref) == ("SOCIAL_CONTRACT", worker, "POMOST/2025/17")
    assert e.version == 2
    assert e.updated_at == LATER


def test_changing_only_the_status_keeps_the_worker_and_reference() -> None:
    worker = WorkerId(new_id())
    e = enrollment(worker_id=worker, external_ref="POMOST/1")

    e.change(status="SOCIAL_WORK_CLIENT", worker_id=None, clear_worker=False, external_ref=None, at=LATER)

    assert (e.status, e.worker_id, e.external_ref) == ("SOCIAL_WORK_CLIENT", worker, "POMOST/1")


def test_clearing_the_worker_removes_the_contact_person() -> None:
    e = enrollment(worker_id=WorkerId(new_id()))

    e.change(status=None, worker_id=None, clear_worker=True, external_ref=None, at=LATER)

    assert e.worker_id is None


def test_ending_an_enrollment_records_the_day_and_makes_it_inactive() -> None:
    e = enrollment()

    e.end(on=date(2025, 3, 31), at=LATER)

    assert e.until == date(2025, 3, 31)
    assert not e.active
    assert e.version == 2


def test_an_enrollment_may_end_on_the_day_it_began() -> None:
    e = enrollment()

    e.end(on=e.since, at=LATER)

    assert e.until == e.since


def test_an_enrollment_cannot_end_before_it_began() -> None:
    e = enrollment()

    with pytest.raises(InvalidInput) as error:
        e.end(on=date(2025, 1, 14), at=LATER)

    assert error_fields(error) == ["until"]
    assert e.active
    assert e.version == 1


def test_an_ended_enrollment_can_neither_end_again_nor_change() -> None:
    e = enrollment(until=date(2025, 2, 1))

    with pytest.raises(Conflict):
        e.end(on=date(2025, 3, 1), at=LATER)
    with pytest.raises(Conflict):
        e.change(status="CLOSED", worker_id=None, clear_worker=False, external_ref=None, at=LATER)

    assert (e.until, e.status, e.version) == (date(2025, 2, 1), "BENEFIT_RECIPIENT", 1)
