"""Use cases of persons and families run against in-memory adapters: no database, no HTTP.

Four institutions of one county take part: the MOPS and a GOPS (social assistance), the
PUP (labour office) and an NGO. Each caller acts as one worker of its institution.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from app.domain.audit import AuditAction, AuditRecord, Decision, SubjectType
from app.domain.caller import ALL_SCOPES, Caller, MissingScope, Scope
from app.domain.data_categories import SHAREABLE_CATEGORIES, DataCategory
from app.domain.errors import Conflict, DuplicateRecord, InvalidInput, NotFound, PermissionDenied, StaleVersion
from app.domain.families import Family
from app.domain.ids import EnrollmentId, FamilyId, InstitutionId, PersonId, WorkerId, new_id
from app.domain.pagination import PageRequest
from app.domain.persons import Person
from app.domain.services import families as family_use
from app.domain.services import institutions as institution_use
from app.domain.services import persons as person_use
from app.domain.services import sharing as sharing_use
from app.domain.services.context import UseCaseContext
from app.domain.services.families import AddMember, ChangeMembership, CreateFamily, NewMember
from app.domain.services.persons import (
    ChangeEnrollment,
    ChangePerson,
    EnrollmentDetails,
    RegisterPerson,
    Registration,
)
from app.domain.services.views import FamilyView
from app.domain.values import IdentityDocument, Pesel
from tests.builders import JAN, KACPER, MARIA, ZOFIA, make_pesel
from tests.fakes import FixedClock, InMemoryUnitOfWorkFactory, make_context

STATUS = {"MOPS": "BENEFIT_RECIPIENT", "GOPS": "BENEFIT_RECIPIENT", "PUP": "UNEMPLOYED", "NGO": "PARTICIPANT"}
PASSPORT = IdentityDocument(kind="PASSPORT", number="FA123456", country="UA")


@dataclass
class County:
    """The institutions of one county, registered in Spójnia, and what Spójnia has stored."""

    ctx: UseCaseContext
    uow: InMemoryUnitOfWorkFactory
    clock: FixedClock
    ops: Caller
    pup: Caller
    ngo: Caller
    other_ops: Caller
    status: dict[InstitutionId, str]

    def today(self) -> date:
        return self.clock.now().date()

    def committed_audit(self, subject_id: Any, institution: Caller | None = None) -> list[AuditRecord]:
        return [
            r
            for r in self.uow.store.audit
            if r.subject_id == subject_id and (institution is None or r.institution_id == institution.institution_id)
        ]

    def persons(self) -> list[Person]:
        return list(self.uow.store.persons.values())

    def families(self) -> list[Family]:
        return list(self.uow.store.families.values())


@pytest.fixture
async def county() -> County:
    uow, clock = InMemoryUnitOfWorkFactory(), FixedClock()
    ctx = make_context(uow, clock)
    callers: dict[str, Caller] = {}
    status: dict[InstitutionId, str] = {}
    for key, (kind, name, teryt) in {
        "ops": ("MOPS", "MOPS w Bartoszycach", "2802011"),
        "pup": ("PUP", "PUP w Bartoszycach", "2802"),
        "ngo": ("NGO", "Stowarzyszenie Razem", "2802011"),
        "other_ops": ("GOPS", "GOPS w Sępopolu", "2802053"),
    }.items():
        institution = await institution_use.register_institution(
            ctx, None, institution_use.InstitutionData(type=kind, name=name, teryt=teryt)
        )
        worker = await institution_use.add_worker(
            ctx,
            None,
            institution_use.NewWorker(
                institution_id=institution.id, first_name="Anna", last_name=f"Pracownik-{key}", role="SOCIAL_WORKER"
            ),
        )
        callers[key] = Caller(
            subject=f"client-{key}",
            institution_id=institution.id,
            scopes=ALL_SCOPES,
            roles=frozenset(),
            worker_id=worker.id,
            request_id=f"request-{key}",
        )
        status[institution.id] = STATUS[kind]
    clock.advance(timedelta(minutes=5))
    return County(ctx=ctx, uow=uow, clock=clock, status=status, **callers)


def only(caller: Caller, *scopes: Scope) -> Caller:
    return dataclasses.replace(caller, scopes=frozenset(s.value for s in scopes))


async def register(county: County, caller: Caller, pesel: str | None = JAN, **changes: Any) -> Registration:
    fields: dict[str, Any] = {
        "first_name": "Jan",
        "last_name": "Nowak",
        "pesel": pesel,
        "enrollment": EnrollmentDetails(status=county.status.get(caller.institution_id, "BENEFIT_RECIPIENT")),
    }
    if pesel is None:
        fields |= {"birth_date": date(1990, 4, 2), "identity_document": PASSPORT}
    fields.update(changes)
    return await person_use.register_person(county.ctx, caller, RegisterPerson(**fields))


async def person_id(county: County, caller: Caller, pesel: str, first_name: str = "Jan") -> PersonId:
    return (await register(county, caller, pesel, first_name=first_name)).view.person.id


async def new_family(county: County, caller: Caller, *members: tuple[PersonId, str]) -> FamilyView:
    cmd = CreateFamily(
        name="Rodzina Nowaków",
        teryt="2802011",
        members=[NewMember(person_id=pid, role=role) for pid, role in members],
    )
    return await family_use.create_family(county.ctx, caller, cmd)


def membership_of(view: FamilyView, person: PersonId) -> Any:
    [current] = [m.membership for m in view.members if m.membership.person_id == person and m.membership.current]
    return current


# =========================================================================== registering persons


async def test_registering_a_new_person_stores_them_enrolled_at_the_callers_institution(county: County) -> None:
    registration = await register(county, county.ops)

    view = registration.view
    assert registration.newly_enrolled
    assert view.person.pesel == Pesel.parse(JAN)
    assert view.person.birth_date == date(1985, 3, 12)
    assert [(e.enrollment.institution_id, e.enrollment.status) for e in view.enrollments] == [
        (county.ops.institution_id, "BENEFIT_RECIPIENT")
    ]
    assert view.enrollments[0].enrollment.since == county.today()
    assert [p.id for p in county.persons()] == [view.person.id]


async def test_a_known_pesel_is_enrolled_at_the_second_institution_never_duplicated(county: County) -> None:
    first = await register(county, county.ops)

    second = await register(county, county.pup, first_name="Janek")

    assert second.newly_enrolled
    assert second.view.person.id == first.view.person.id
    assert second.view.person.first_name == "Jan"  # the record is shared; a second registration does not rename it
    assert len(county.persons()) == 1
    assert len(county.uow.store.enrollments) == 2


async def test_the_second_institution_is_answered_with_its_own_enrollment_only(county: County) -> None:
    await register(county, county.ops)

    second = await register(county, county.pup)

    assert [e.enrollment.institution_id for e in second.view.enrollments] == [county.pup.institution_id]
    assert [e.enrollment.status for e in second.view.enrollments] == ["UNEMPLOYED"]


async def test_registering_a_client_twice_at_the_same_institution_enrolls_once(county: County) -> None:
    await register(county, county.ops)

    again = await register(county, county.ops)

    assert not again.newly_enrolled
    assert len(again.view.enrollments) == 1
    assert len(county.uow.store.enrollments) == 1


async def test_a_person_without_pesel_is_found_again_by_the_same_identity_document(county: County) -> None:
    first = await register(county, county.ops, pesel=None)

    second = await register(county, county.pup, pesel=None)

    assert second.view.person.id == first.view.person.id
    assert second.view.person.identity_document == PASSPORT
    assert len(county.persons()) == 1


async def test_registration_creates_and_enrolls_with_audit_records_naming_the_acting_worker(county: County) -> None:
    registration = await register(county, county.ops)

    records = county.committed_audit(registration.view.person.id)
    assert [(r.action, r.subject_type) for r in records] == [
        (AuditAction.CREATE, SubjectType.PERSON),
        (AuditAction.ENROLL, SubjectType.PERSON),
    ]
    assert {(r.actor, r.actor_worker_id, r.institution_id, r.request_id) for r in records} == {
        (f"worker:{county.ops.worker_id}", county.ops.worker_id, county.ops.institution_id, "request-ops")
    }
    assert {r.occurred_at for r in records} == {county.clock.now()}


async def test_enrolling_a_known_person_is_audited_as_an_enrollment_not_a_creation(county: County) -> None:
    pid = await person_id(county, county.ops, JAN)

    await register(county, county.pup)

    assert [r.action for r in county.committed_audit(pid, county.pup)] == [AuditAction.ENROLL]


async def test_a_system_token_without_a_worker_is_audited_under_its_subject(county: County) -> None:
    system = dataclasses.replace(county.ops, worker_id=None, subject="spojnia-import")

    registration = await register(county, system)

    records = county.committed_audit(registration.view.person.id)
    assert {(r.actor, r.actor_worker_id) for r in records} == {("spojnia-import", None)}


async def test_registering_needs_the_persons_write_scope_and_stores_nothing_without_it(county: County) -> None:
    commits = county.uow.store.commits

    with pytest.raises(MissingScope):
        await register(county, only(county.ops, Scope.PERSONS_READ))

    assert county.persons() == []
    assert county.uow.store.commits == commits


async def test_a_status_from_another_institutions_list_is_refused_on_the_enrollment_status(county: County) -> None:
    with pytest.raises(InvalidInput) as error:
        await register(county, county.ops, enrollment=EnrollmentDetails(status="UNEMPLOYED"))

    assert [e.field for e in error.value.errors] == ["enrollment.status"]
    assert county.persons() == []


async def test_a_legacy_pup_profile_is_refused_as_a_status_after_may_2025(county: County) -> None:
    county.clock.at = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)

    with pytest.raises(InvalidInput) as error:
        await register(county, county.pup, enrollment=EnrollmentDetails(status="PROFILE_II"))

    assert [e.field for e in error.value.errors] == ["enrollment.status"]


async def test_an_unknown_identity_document_kind_is_refused(county: County) -> None:
    document = IdentityDocument(kind="LIBRARY_CARD", number="123456", country="PL")

    with pytest.raises(InvalidInput) as error:
        await register(county, county.ops, pesel=None, identity_document=document)

    assert [e.field for e in error.value.errors] == ["identity_document.kind"]


async def test_an_institution_unknown_to_spojnia_cannot_register_anyone(county: County) -> None:
    stranger = dataclasses.replace(county.ops, institution_id=InstitutionId(new_id()))

    with pytest.raises(PermissionDenied):
        await register(county, stranger)


async def test_an_interdisciplinary_team_keeps_no_enrollments(county: County) -> None:
    team = await institution_use.register_institution(
        county.ctx, None, institution_use.InstitutionData(type="ZI", name="Zespół Interdyscyplinarny", teryt="2802011")
    )

    with pytest.raises(InvalidInput):
        await register(county, dataclasses.replace(county.ops, institution_id=team.id))

    assert county.persons() == []


async def test_the_contact_worker_must_work_at_the_callers_institution(county: County) -> None:
    details = EnrollmentDetails(status="BENEFIT_RECIPIENT", worker_id=county.pup.worker_id)

    with pytest.raises(InvalidInput) as error:
        await register(county, county.ops, enrollment=details)

    assert [e.field for e in error.value.errors] == ["enrollment.worker_id"]
    assert county.persons() == []


async def test_the_contact_worker_of_the_callers_institution_is_shown_with_the_enrollment(county: County) -> None:
    details = EnrollmentDetails(status="BENEFIT_RECIPIENT", worker_id=county.ops.worker_id, external_ref="POMOST/17")

    view = (await register(county, county.ops, enrollment=details)).view

    [enrollment] = view.enrollments
    assert enrollment.worker is not None
    assert enrollment.worker.display_name == "Anna Pracownik-ops"
    assert enrollment.enrollment.external_ref == "POMOST/17"


async def test_a_birth_date_contradicting_the_pesel_stores_nothing(county: County) -> None:
    with pytest.raises(InvalidInput):
        await register(county, county.ops, birth_date=date(1985, 3, 13))

    assert county.persons() == []
    assert county.uow.store.enrollments == {}


async def test_a_registration_whose_audit_record_cannot_be_written_leaves_nothing_behind(county: County) -> None:
    county.uow.audit_outage = OSError("audit storage unavailable")

    with pytest.raises(OSError, match="audit storage unavailable"):
        await register(county, county.ops)

    assert county.persons() == []
    assert county.uow.store.enrollments == {}
    assert county.uow.store.audit == []


async def test_a_registration_that_loses_a_pesel_race_enrolls_the_person_the_winner_created(county: County) -> None:
    async def ops_registers_the_same_person_first() -> None:
        await register(county, county.ops)

    county.uow.before_next_commit.append(ops_registers_the_same_person_first)

    registration = await register(county, county.pup)

    [person] = county.persons()
    assert registration.view.person.id == person.id
    assert registration.newly_enrolled
    assert {e.institution_id for e in county.uow.store.enrollments.values()} == {
        county.ops.institution_id,
        county.pup.institution_id,
    }


# =========================================================================== reading and listing persons


async def test_reading_a_client_answers_the_person_with_the_callers_enrollment_and_audits_the_read(
    county: County,
) -> None:
    pid = await person_id(county, county.ops, JAN)
    await register(county, county.pup)

    view = await person_use.read_person(county.ctx, county.pup, pid)

    assert view.person.id == pid
    assert [e.enrollment.institution_id for e in view.enrollments] == [county.pup.institution_id]
    reads = [r for r in county.committed_audit(pid, county.pup) if r.action == AuditAction.READ]
    assert [(r.actor, r.request_id) for r in reads] == [(f"worker:{county.pup.worker_id}", "request-pup")]


async def test_a_person_served_only_elsewhere_is_not_found_and_the_refusal_is_audited_as_such(
    county: County,
) -> None:
    pid = await person_id(county, county.ops, JAN)

    with pytest.raises(NotFound):
        await person_use.read_person(county.ctx, county.pup, pid)

    [refusal] = county.committed_audit(pid, county.pup)
    assert refusal.decision is Decision.DENY
    assert refusal.categories == (DataCategory.IDENTITY,)
    assert refusal.purpose == "FAMILY_COOPERATION"
    assert "no agreement" in (refusal.reason or "")


async def test_an_unknown_person_and_an_invisible_one_get_the_same_answer(county: County) -> None:
    pid = await person_id(county, county.ops, JAN)

    with pytest.raises(NotFound) as invisible:
        await person_use.read_person(county.ctx, county.pup, pid)
    with pytest.raises(NotFound) as unknown:
        await person_use.read_person(county.ctx, county.pup, PersonId(new_id()))

    assert invisible.value.detail == unknown.value.detail


async def test_reading_needs_the_persons_read_scope(county: County) -> None:
    pid = await person_id(county, county.ops, JAN)

    with pytest.raises(MissingScope):
        await person_use.read_person(county.ctx, only(county.ops, Scope.PERSONS_WRITE), pid)


async def test_a_person_whose_enrollment_ended_is_no_longer_visible_to_that_institution(county: County) -> None:
    registration = await register(county, county.ops)
    [enrollment] = registration.view.enrollments
    end = ChangeEnrollment(
        enrollment_id=enrollment.enrollment.id, expected_version=enrollment.enrollment.version, until=county.today()
    )

    await person_use.change_enrollment(county.ctx, county.ops, end)

    with pytest.raises(NotFound):
        await person_use.read_person(county.ctx, county.ops, registration.view.person.id)


async def test_registering_again_after_an_enrollment_ended_opens_a_new_one_and_keeps_the_old(county: County) -> None:
    registration = await register(county, county.ops)
    [old] = registration.view.enrollments
    county.clock.advance(timedelta(days=30))
    await person_use.change_enrollment(
        county.ctx,
        county.ops,
        ChangeEnrollment(enrollment_id=old.enrollment.id, expected_version=1, until=county.today()),
    )
    county.clock.advance(timedelta(days=30))

    again = await register(county, county.ops)

    assert again.newly_enrolled
    assert [(e.enrollment.since, e.enrollment.active) for e in again.view.enrollments] == [
        (old.enrollment.since, False),
        (county.today(), True),
    ]


async def test_listing_answers_only_the_callers_clients_page_by_page_with_an_audited_listing(county: County) -> None:
    registered = []
    for pesel in (JAN, MARIA, KACPER):
        registered.append(await person_id(county, county.ops, pesel))
        county.clock.advance()
    await register(county, county.pup, ZOFIA)

    first = await person_use.list_persons(county.ctx, county.ops, PageRequest(limit=2))
    assert first.next_after is not None
    second = await person_use.list_persons(county.ctx, county.ops, PageRequest(limit=2, after=first.next_after))

    assert [v.person.id for v in [*first.items, *second.items]] == registered
    assert second.next_after is None
    listed = [r for pid in registered for r in county.committed_audit(pid, county.ops) if r.action == AuditAction.LIST]
    assert len(listed) == len(registered)


# =========================================================================== changing persons


async def test_an_enrolling_institution_corrects_the_name_and_the_version_moves_on(county: County) -> None:
    pid = await person_id(county, county.ops, JAN)

    view = await person_use.change_person(
        county.ctx, county.ops, ChangePerson(person_id=pid, expected_version=1, last_name="Nowak-Kowalski")
    )

    assert view.person.last_name == "Nowak-Kowalski"
    assert view.person.version == 2
    assert county.uow.store.persons[pid].last_name == "Nowak-Kowalski"
    assert [r.action for r in county.committed_audit(pid)][-1] == AuditAction.UPDATE


async def test_a_change_based_on_an_old_version_is_refused_with_the_current_version(county: County) -> None:
    pid = await person_id(county, county.ops, JAN)
    await person_use.change_person(
        county.ctx, county.ops, ChangePerson(person_id=pid, expected_version=1, first_name="Jan Maria")
    )

    with pytest.raises(StaleVersion) as error:
        await person_use.change_person(
            county.ctx, county.ops, ChangePerson(person_id=pid, expected_version=1, first_name="Janusz")
        )

    assert error.value.current_version == 2
    assert county.uow.store.persons[pid].first_name == "Jan Maria"


async def agreed(county: County, *parties: Caller) -> None:
    """An agreement in force between the parties' institutions, opening every shareable category for every purpose."""
    everything = [c.value for c in SHAREABLE_CATEGORIES]
    agreement = await sharing_use.create_agreement(
        county.ctx,
        parties[0],
        sharing_use.NewAgreement(
            title="Porozumienie",
            parties=[sharing_use.PartyTerms(institution_id=p.institution_id, receives=everything) for p in parties],
            purposes=["FAMILY_COOPERATION", "REFERRAL"],
            legal_basis="art. 100 ust. 2 u.p.s.",
            valid_from=date(2020, 1, 1),
            valid_to=None,
            document_ref="1/2020",
        ),
    )
    for party in parties:
        agreement = await sharing_use.sign_agreement(county.ctx, party, agreement.id, agreement.version, None)


async def test_an_institution_that_sees_a_person_only_through_the_family_cannot_change_them(county: County) -> None:
    jan = await person_id(county, county.ops, JAN)
    maria = await person_id(county, county.ops, MARIA, "Maria")
    await register(county, county.pup, JAN)
    await new_family(county, county.ops, (jan, "PARENT"), (maria, "PARENT"))
    await agreed(county, county.ops, county.pup)
    assert (await person_use.read_person(county.ctx, county.pup, maria)).person.id == maria

    with pytest.raises(PermissionDenied):
        await person_use.change_person(
            county.ctx, county.pup, ChangePerson(person_id=maria, expected_version=1, last_name="Kowalska")
        )

    assert county.uow.store.persons[maria].last_name == "Nowak"


async def test_an_institution_that_does_not_see_the_person_is_told_it_does_not_exist(county: County) -> None:
    pid = await person_id(county, county.ops, JAN)

    with pytest.raises(NotFound):
        await person_use.change_person(
            county.ctx, county.pup, ChangePerson(person_id=pid, expected_version=1, last_name="Kowalski")
        )


async def test_a_person_registered_without_pesel_is_identified_later(county: County) -> None:
    pid = (await register(county, county.ops, pesel=None, birth_date=date(1985, 3, 12))).view.person.id

    view = await person_use.change_person(
        county.ctx, county.ops, ChangePerson(person_id=pid, expected_version=1, pesel=JAN)
    )

    assert view.person.pesel == Pesel.parse(JAN)
    assert (await register(county, county.pup, JAN)).view.person.id == pid


async def test_a_pesel_held_by_another_person_cannot_be_given_to_this_one(county: County) -> None:
    await person_id(county, county.ops, JAN)
    pid = (await register(county, county.ops, pesel=None, birth_date=date(1985, 3, 12))).view.person.id

    with pytest.raises(InvalidInput) as error:
        await person_use.change_person(
            county.ctx, county.ops, ChangePerson(person_id=pid, expected_version=1, pesel=JAN)
        )

    assert [e.field for e in error.value.errors] == ["pesel"]
    assert county.uow.store.persons[pid].pesel is None


# =========================================================================== enrollments


async def test_changing_an_enrollment_sets_the_worker_and_status_with_a_new_version(county: County) -> None:
    [own] = (await register(county, county.ops)).view.enrollments

    changed = await person_use.change_enrollment(
        county.ctx,
        county.ops,
        ChangeEnrollment(
            enrollment_id=own.enrollment.id,
            expected_version=1,
            status="SOCIAL_CONTRACT",
            worker_id=county.ops.worker_id,
        ),
    )

    assert changed.enrollment.status == "SOCIAL_CONTRACT"
    assert changed.worker is not None
    assert changed.worker.id == county.ops.worker_id
    assert county.uow.store.enrollments[own.enrollment.id].version == 2


async def test_another_institutions_enrollment_is_not_found(county: County) -> None:
    await register(county, county.ops)
    [theirs] = (await register(county, county.pup)).view.enrollments

    with pytest.raises(NotFound):
        await person_use.change_enrollment(
            county.ctx,
            county.ops,
            ChangeEnrollment(enrollment_id=theirs.enrollment.id, expected_version=1, until=county.today()),
        )

    assert county.uow.store.enrollments[theirs.enrollment.id].active


async def test_an_enrollment_change_based_on_an_old_version_is_refused(county: County) -> None:
    [own] = (await register(county, county.ops)).view.enrollments
    change = ChangeEnrollment(enrollment_id=own.enrollment.id, expected_version=1, status="SOCIAL_WORK_CLIENT")
    await person_use.change_enrollment(county.ctx, county.ops, change)

    with pytest.raises(StaleVersion) as error:
        await person_use.change_enrollment(county.ctx, county.ops, dataclasses.replace(change, status="CLOSED"))

    assert error.value.current_version == 2
    assert county.uow.store.enrollments[own.enrollment.id].status == "SOCIAL_WORK_CLIENT"


async def test_an_unknown_enrollment_is_not_found(county: County) -> None:
    with pytest.raises(NotFound):
        await person_use.change_enrollment(
            county.ctx, county.ops, ChangeEnrollment(enrollment_id=EnrollmentId(new_id()), expected_version=1)
        )


# =========================================================================== families


@pytest.fixture
async def household(county: County) -> tuple[PersonId, PersonId, PersonId]:
    """Jan, Maria and their son Kacper, clients of the MOPS."""
    return (
        await person_id(county, county.ops, JAN),
        await person_id(county, county.ops, MARIA, "Maria"),
        await person_id(county, county.ops, KACPER, "Kacper"),
    )


async def test_a_family_is_created_with_its_members_at_version_one_and_audited(
    county: County, household: tuple[PersonId, PersonId, PersonId]
) -> None:
    jan, maria, kacper = household

    view = await new_family(county, county.ops, (jan, "PARENT"), (maria, "PARENT"), (kacper, "CHILD"))

    assert view.family.version == 1
    assert view.family.created_by == county.ops.institution_id
    assert {(m.membership.person_id, m.membership.role) for m in view.members} == {
        (jan, "PARENT"),
        (maria, "PARENT"),
        (kacper, "CHILD"),
    }
    stored = county.uow.store.families[view.family.id]
    assert len(stored.current_members) == 3
    assert [r.action for r in county.committed_audit(view.family.id)] == [AuditAction.CREATE]
    assert AuditAction.READ in [r.action for r in county.committed_audit(kacper)]


async def test_creating_a_family_needs_the_families_write_scope(
    county: County, household: tuple[PersonId, PersonId, PersonId]
) -> None:
    with pytest.raises(MissingScope):
        await new_family(county, only(county.ops, Scope.FAMILIES_READ), (household[0], "PARENT"))

    assert county.families() == []


async def test_a_family_with_one_member_the_caller_cannot_see_is_not_half_saved(
    county: County, household: tuple[PersonId, PersonId, PersonId]
) -> None:
    jan, _, _ = household
    stranger = await person_id(county, county.pup, ZOFIA, "Zofia")

    with pytest.raises(InvalidInput) as error:
        await new_family(county, county.ops, (jan, "PARENT"), (stranger, "CHILD"))

    assert [e.field for e in error.value.errors] == ["members[1].person_id"]
    assert county.families() == []


async def test_a_family_with_an_unknown_role_is_refused_on_that_member(
    county: County, household: tuple[PersonId, PersonId, PersonId]
) -> None:
    with pytest.raises(InvalidInput) as error:
        await new_family(county, county.ops, (household[0], "PARENT"), (household[2], "GRANDCHILD"))

    assert [e.field for e in error.value.errors] == ["members[1].role"]
    assert county.families() == []


async def test_a_family_whose_audit_cannot_be_written_is_not_saved(
    county: County, household: tuple[PersonId, PersonId, PersonId]
) -> None:
    county.uow.audit_outage = OSError("audit storage unavailable")

    with pytest.raises(OSError, match="audit storage unavailable"):
        await new_family(county, county.ops, (household[0], "PARENT"), (household[2], "CHILD"))

    assert county.families() == []


async def test_a_family_is_visible_to_its_creator_and_to_institutions_serving_a_current_member(
    county: County, household: tuple[PersonId, PersonId, PersonId]
) -> None:
    jan, maria, _ = household
    await register(county, county.pup, JAN)
    family = (await new_family(county, county.ops, (jan, "PARENT"), (maria, "PARENT"))).family

    assert (await family_use.read_family(county.ctx, county.ops, family.id)).family.id == family.id
    assert (await family_use.read_family(county.ctx, county.pup, family.id)).family.id == family.id
    with pytest.raises(NotFound):
        await family_use.read_family(county.ctx, county.ngo, family.id)
    assert await family_use.read_families(county.ctx, county.ngo, [family.id, FamilyId(new_id())]) == [None, None]


async def test_listing_families_answers_only_the_visible_ones(
    county: County, household: tuple[PersonId, PersonId, PersonId]
) -> None:
    jan, _, _ = household
    own = (await new_family(county, county.ops, (jan, "PARENT"))).family
    zofia = await person_id(county, county.pup, ZOFIA, "Zofia")
    county.clock.advance()
    await new_family(county, county.pup, (zofia, "CHILD"))

    page = await family_use.list_families(county.ctx, county.ops, PageRequest())

    assert [v.family.id for v in page.items] == [own.id]


async def test_adding_a_member_moves_the_version_on_and_an_old_version_is_refused(
    county: County, household: tuple[PersonId, PersonId, PersonId]
) -> None:
    jan, maria, kacper = household
    family = (await new_family(county, county.ops, (jan, "PARENT"))).family

    added = await family_use.add_member(
        county.ctx,
        county.ops,
        AddMember(family_id=family.id, expected_version=1, member=NewMember(person_id=maria, role="PARENT")),
    )
    assert added.family.version == 2

    with pytest.raises(StaleVersion) as error:
        await family_use.add_member(
            county.ctx,
            county.ops,
            AddMember(family_id=family.id, expected_version=1, member=NewMember(person_id=kacper, role="CHILD")),
        )

    assert error.value.current_version == 2
    assert {m.person_id for m in county.uow.store.families[family.id].current_members} == {jan, maria}


async def test_adding_a_current_member_again_is_a_conflict_and_changes_nothing(
    county: County, household: tuple[PersonId, PersonId, PersonId]
) -> None:
    jan, _, _ = household
    family = (await new_family(county, county.ops, (jan, "PARENT"))).family

    with pytest.raises(Conflict):
        await family_use.add_member(
            county.ctx,
            county.ops,
            AddMember(family_id=family.id, expected_version=1, member=NewMember(person_id=jan, role="OTHER_RELATIVE")),
        )

    stored = county.uow.store.families[family.id]
    assert (stored.version, len(stored.memberships)) == (1, 1)


async def test_a_role_change_keeps_the_old_membership_in_the_history(
    county: County, household: tuple[PersonId, PersonId, PersonId]
) -> None:
    _, maria, kacper = household
    view = await new_family(county, county.ops, (maria, "PARENT"), (kacper, "CHILD"))
    child = membership_of(view, kacper)
    county.clock.advance(timedelta(days=10))

    changed = await family_use.change_membership(
        county.ctx,
        county.ops,
        ChangeMembership(family_id=view.family.id, membership_id=child.id, expected_version=1, role="OTHER_RELATIVE"),
    )

    kacper_history = [
        (m.membership.role, m.membership.until, m.membership.end_reason)
        for m in changed.members
        if m.membership.person_id == kacper
    ]
    assert kacper_history == [("CHILD", county.today(), "ROLE_CHANGED"), ("OTHER_RELATIVE", None, None)]
    assert changed.family.version == 2
    assert len(county.uow.store.families[view.family.id].memberships) == 3


async def test_a_member_who_leaves_stays_in_the_history_with_the_reason(
    county: County, household: tuple[PersonId, PersonId, PersonId]
) -> None:
    jan, maria, _ = household
    view = await new_family(county, county.ops, (jan, "PARENT"), (maria, "PARENT"))

    changed = await family_use.change_membership(
        county.ctx,
        county.ops,
        ChangeMembership(
            family_id=view.family.id,
            membership_id=membership_of(view, jan).id,
            expected_version=1,
            end_reason="DECEASED",
        ),
    )

    stored = county.uow.store.families[view.family.id]
    assert [m.person_id for m in stored.current_members] == [maria]
    assert [(m.membership.person_id, m.membership.end_reason) for m in changed.members if not m.membership.current] == [
        (jan, "DECEASED")
    ]


async def test_an_unknown_reason_for_leaving_is_refused(
    county: County, household: tuple[PersonId, PersonId, PersonId]
) -> None:
    jan, _, _ = household
    view = await new_family(county, county.ops, (jan, "PARENT"))

    with pytest.raises(InvalidInput) as error:
        await family_use.change_membership(
            county.ctx,
            county.ops,
            ChangeMembership(
                family_id=view.family.id,
                membership_id=membership_of(view, jan).id,
                expected_version=1,
                end_reason="BORED",
            ),
        )

    assert [e.field for e in error.value.errors] == ["reason"]
    assert county.uow.store.families[view.family.id].current_members[0].person_id == jan


async def test_a_membership_change_based_on_an_old_version_is_refused(
    county: County, household: tuple[PersonId, PersonId, PersonId]
) -> None:
    jan, maria, _ = household
    view = await new_family(county, county.ops, (jan, "PARENT"), (maria, "PARENT"))
    await family_use.change_membership(
        county.ctx,
        county.ops,
        ChangeMembership(family_id=view.family.id, membership_id=membership_of(view, maria).id, expected_version=1),
    )

    with pytest.raises(StaleVersion):
        await family_use.change_membership(
            county.ctx,
            county.ops,
            ChangeMembership(family_id=view.family.id, membership_id=membership_of(view, jan).id, expected_version=1),
        )

    assert [m.person_id for m in county.uow.store.families[view.family.id].current_members] == [jan]


async def test_changing_a_family_the_caller_cannot_see_is_not_found(
    county: County, household: tuple[PersonId, PersonId, PersonId]
) -> None:
    jan, _, _ = household
    view = await new_family(county, county.ops, (jan, "PARENT"))

    with pytest.raises(NotFound):
        await family_use.change_membership(
            county.ctx,
            county.ngo,
            ChangeMembership(family_id=view.family.id, membership_id=membership_of(view, jan).id, expected_version=1),
        )


async def test_a_member_change_whose_audit_cannot_be_written_leaves_the_family_as_it_was(
    county: County, household: tuple[PersonId, PersonId, PersonId]
) -> None:
    jan, maria, _ = household
    view = await new_family(county, county.ops, (jan, "PARENT"))
    county.uow.audit_outage = OSError("audit storage unavailable")

    with pytest.raises(OSError, match="audit storage unavailable"):
        await family_use.add_member(
            county.ctx,
            county.ops,
            AddMember(family_id=view.family.id, expected_version=1, member=NewMember(person_id=maria, role="PARENT")),
        )

    stored = county.uow.store.families[view.family.id]
    assert (stored.version, [m.person_id for m in stored.memberships]) == (1, [jan])


async def test_serving_one_member_of_a_family_opens_the_others_only_under_an_agreement(
    county: County, household: tuple[PersonId, PersonId, PersonId]
) -> None:
    jan, maria, _ = household
    await register(county, county.pup, JAN)
    family = (await new_family(county, county.ops, (jan, "PARENT"), (maria, "PARENT"))).family
    with pytest.raises(NotFound):
        await person_use.read_person(county.ctx, county.pup, maria)
    [seen] = await family_use.read_families(county.ctx, county.pup, [family.id])
    assert [m.person.person.id for m in seen.members] == [jan]

    await agreed(county, county.ops, county.pup)

    assert (await person_use.read_person(county.ctx, county.pup, maria)).person.id == maria
    [seen] = await family_use.read_families(county.ctx, county.pup, [family.id])
    assert {m.person.person.id for m in seen.members} == {jan, maria}


# =========================================================================== known defects (see the report)


async def test_every_person_shown_in_a_family_view_is_audited_as_read(
    county: County, household: tuple[PersonId, PersonId, PersonId]
) -> None:
    """BUG: services/families.py `_views_and_audit` audits current members only, while
    views.family_views shows the person data of past members too."""
    jan, maria, _ = household
    view = await new_family(county, county.ops, (jan, "PARENT"), (maria, "PARENT"))
    await family_use.change_membership(
        county.ctx,
        county.ops,
        ChangeMembership(family_id=view.family.id, membership_id=membership_of(view, maria).id, expected_version=1),
    )
    county.clock.advance(timedelta(hours=1))

    read = await family_use.read_family(county.ctx, county.ops, view.family.id)

    shown = {m.person.person.id for m in read.members}
    audited = {
        r.subject_id
        for r in county.uow.store.audit
        if r.action == AuditAction.READ and r.occurred_at == county.clock.now()
    }
    assert maria in shown
    assert shown <= audited, "persons shown in the family view without a READ audit record"


async def test_a_family_view_reveals_no_person_the_caller_could_not_read_directly(
    county: County, household: tuple[PersonId, PersonId, PersonId]
) -> None:
    """BUG: views.family_views gives the full person view (name, PESEL) of past members, though a
    person is visible through a family only while a current member of it."""
    jan, maria, _ = household
    await register(county, county.pup, JAN)
    view = await new_family(county, county.ops, (jan, "PARENT"), (maria, "PARENT"))
    await family_use.change_membership(
        county.ctx,
        county.ops,
        ChangeMembership(family_id=view.family.id, membership_id=membership_of(view, maria).id, expected_version=1),
    )
    with pytest.raises(NotFound):
        await person_use.read_person(county.ctx, county.pup, maria)

    read = await family_use.read_family(county.ctx, county.pup, view.family.id)

    assert maria not in {m.person.person.id for m in read.members}


async def test_a_person_view_lists_only_families_the_caller_may_see(
    county: County, household: tuple[PersonId, PersonId, PersonId]
) -> None:
    """BUG: views.person_views takes family ids from FamilyRepository.families_of unfiltered, so
    the caller learns of families of other institutions that it may not read."""
    jan, maria, _ = household
    await register(county, county.pup, JAN)
    await new_family(county, county.ops, (jan, "PARENT"), (maria, "PARENT"))
    await register(county, county.other_ops, MARIA)  # the GOPS serves Maria too, in another household
    other = (await new_family(county, county.other_ops, (maria, "PARENT"))).family
    await agreed(county, county.ops, county.pup)
    with pytest.raises(NotFound):
        await family_use.read_family(county.ctx, county.pup, other.id)

    seen_by_pup = await person_use.read_person(county.ctx, county.pup, maria)

    assert other.id not in seen_by_pup.family_ids


async def test_registering_a_client_already_enrolled_is_audited_as_a_read(county: County) -> None:
    """BUG: services/persons.py `_register` answers the person's data without any audit record
    when the person exists and is already enrolled at the caller's institution."""
    pid = await person_id(county, county.ops, JAN)
    before = len(county.committed_audit(pid))

    again = await register(county, county.ops)

    assert not again.newly_enrolled
    assert [r.action for r in county.committed_audit(pid)[before:]] == [AuditAction.READ]


async def test_an_enrollment_ended_on_a_future_day_is_refused_rather_than_ended_today(county: County) -> None:
    """BUG: persons.Enrollment.end accepts a day after today, and `active` is `until is None`, so a
    planned end date cuts the institution off from its client at once."""
    registration = await register(county, county.ops)
    [own] = registration.view.enrollments
    planned = county.today() + timedelta(days=90)

    with pytest.raises(InvalidInput):
        await person_use.change_enrollment(
            county.ctx, county.ops, ChangeEnrollment(enrollment_id=own.enrollment.id, expected_version=1, until=planned)
        )

    still_served = await person_use.read_person(county.ctx, county.ops, registration.view.person.id)
    assert still_served.enrollments[0].enrollment.active


async def test_an_enrollment_registered_just_after_midnight_in_poland_starts_that_polish_day(county: County) -> None:
    """BUG: use cases take "today" as ctx.clock.now().date() in UTC; at 00:30 in Warsaw it is
    still the day before in UTC, so the enrollment starts (and codes are checked) a day early."""
    county.clock.at = datetime(2025, 3, 9, 23, 30, tzinfo=UTC)  # 10 March 2025, 00:30 in Warsaw (CET)

    registration = await register(county, county.ops)

    assert registration.view.enrollments[0].enrollment.since == date(2025, 3, 10)


# =========================================================================== the in-memory unit of work itself


async def test_fake_unit_of_work_discards_what_was_not_committed(county: County) -> None:
    before = await person_id(county, county.ops, JAN)
    async with county.uow() as uow:
        person = await uow.persons.get(before)
        assert person is not None
        person.rename(first_name="Janusz", last_name=None, at=county.clock.now())
        await uow.persons.update(person, expected_version=1)
        assert (await uow.persons.get(before)) == person  # the transaction sees its own change

    async with county.uow() as uow:
        stored = await uow.persons.get(before)
    assert stored is not None
    assert (stored.first_name, stored.version) == ("Jan", 1)


async def test_fake_unit_of_work_refuses_a_second_person_with_the_same_pesel(county: County) -> None:
    await person_id(county, county.ops, JAN)
    twin = Person.register(
        id=PersonId(new_id()),
        first_name="Jan",
        last_name="Nowak",
        birth_date=None,
        sex=None,
        pesel=Pesel.parse(JAN),
        identity_document=None,
        at=county.clock.now(),
    )

    async with county.uow() as uow:
        with pytest.raises(DuplicateRecord):
            await uow.persons.add(twin)


async def test_fake_unit_of_work_refuses_the_later_of_two_concurrent_updates(county: County) -> None:
    pid = await person_id(county, county.ops, JAN)
    async with county.uow() as first, county.uow() as second:
        mine, theirs = await first.persons.get(pid), await second.persons.get(pid)
        assert mine is not None
        assert theirs is not None
        mine.rename(first_name="Janusz", last_name=None, at=county.clock.now())
        theirs.rename(first_name="Jaś", last_name=None, at=county.clock.now())
        await first.persons.update(mine, expected_version=1)
        await second.persons.update(theirs, expected_version=1)
        await first.commit()
        with pytest.raises(StaleVersion):
            await second.commit()

    assert county.uow.store.persons[pid].first_name == "Janusz"


async def test_fake_unit_of_work_pages_by_creation_time_then_id(county: County) -> None:
    same_moment = [await person_id(county, county.ops, pesel) for pesel in (JAN, MARIA)]
    county.clock.advance()
    later = await person_id(county, county.ops, make_pesel("900402", "0011"))
    async with county.uow() as uow:
        first = await uow.persons.list_visible(county.ops.institution_id, PageRequest(limit=2))
        rest = await uow.persons.list_visible(county.ops.institution_id, PageRequest(limit=2, after=first.next_after))

    assert [p.id for p in first.items] == sorted(same_moment)
    assert [p.id for p in rest.items] == [later]
    assert rest.next_after is None


async def test_fake_repositories_hand_out_copies(county: County) -> None:
    pid = await person_id(county, county.ops, JAN)
    async with county.uow() as uow:
        person = await uow.persons.get(pid)
        assert person is not None
        person.first_name = "changed in memory only"
        again = await uow.persons.get(pid)

    assert again is not None
    assert again.first_name == "Jan"


async def test_fake_worker_reference_must_exist(county: County) -> None:
    [own] = (await register(county, county.ops)).view.enrollments
    async with county.uow() as uow:
        enrollment = await uow.enrollments.get(own.enrollment.id)
        assert enrollment is not None
        enrollment.worker_id = WorkerId(new_id())
        with pytest.raises(DuplicateRecord):
            await uow.enrollments.update(enrollment, expected_version=1)
