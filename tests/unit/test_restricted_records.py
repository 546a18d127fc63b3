"""Restricted (Niebieska Karta) records in the domain: who may see one, and the use cases on in-memory adapters."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest

from app.domain.audit import AuditAction, SubjectType
from app.domain.caller import ALL_SCOPES, Caller, MissingScope, Scope
from app.domain.data_categories import DataCategory
from app.domain.errors import InvalidInput, NotFound, PermissionDenied, StaleVersion
from app.domain.ids import InstitutionId, PersonId, RestrictedRecordId, new_id
from app.domain.institutions import Institution
from app.domain.pagination import PageRequest
from app.domain.restricted_records import PURPOSE, TEAM_ROLE, RestrictedRecord, may_see
from app.domain.services import institutions as institution_use
from app.domain.services import persons as person_use
from app.domain.services import restricted_records as use
from app.domain.services.context import UseCaseContext
from app.domain.values import Address, Contact, Teryt
from tests.builders import JAN
from tests.fakes import InMemoryUnitOfWorkFactory, make_context

NOW = datetime(2025, 3, 10, 9, 30, tzinfo=UTC)
TEAM = frozenset({TEAM_ROLE})


def an_institution(kind: str, teryt: str = "2801011") -> Institution:
    return Institution(
        id=InstitutionId(new_id()),
        type=kind,
        name=f"{kind} w Bartoszycach",
        regon=None,
        nip=None,
        teryt=Teryt(teryt),
        address=Address(),
        contact=Contact(),
        created_at=NOW,
        updated_at=NOW,
    )


def a_caller(institution: Institution, roles: frozenset[str] = TEAM, *scopes: str) -> Caller:
    return Caller(
        subject="worker",
        institution_id=institution.id,
        scopes=frozenset(scopes) or ALL_SCOPES,
        roles=roles,
        worker_id=None,
        request_id="request",
    )


def test_only_the_owning_gminas_team_with_the_role_may_see_a_record() -> None:
    team = an_institution("ZI")
    other_team = an_institution("ZI", "2801063")
    county_team = an_institution("ZI", "2801")  # a team must be a gmina's
    assert may_see(a_caller(team), team, team.id)
    assert not may_see(a_caller(team, frozenset()), team, team.id)
    assert not may_see(a_caller(team, frozenset({"admin", "social_worker"})), team, team.id)
    assert not may_see(a_caller(other_team), other_team, team.id)
    assert not may_see(a_caller(county_team), county_team, county_team.id)
    assert not may_see(a_caller(other_team), team, team.id), "the institution must be the caller's own"
    for kind in ("OPS", "MOPS", "GOPS", "PCPR", "PUP", "NGO", "CIS", "ROPS"):
        institution = an_institution(kind)
        assert not may_see(a_caller(institution), institution, institution.id), kind


def test_a_record_is_about_exactly_one_subject_and_a_correction_makes_a_new_version() -> None:
    fields = {
        "id": RestrictedRecordId(new_id()),
        "team_id": InstitutionId(new_id()),
        "form": "NK_A",
        "procedure_date": date(2025, 3, 1),
        "note": "  spotkanie   grupy ",
        "today": date(2025, 3, 10),
        "at": NOW,
    }
    for person_id, family_id in ((None, None), (PersonId(new_id()), new_id())):
        with pytest.raises(InvalidInput):
            RestrictedRecord.open(person_id=person_id, family_id=family_id, **fields)
    record = RestrictedRecord.open(person_id=PersonId(new_id()), family_id=None, **fields)
    assert (record.note, record.version) == ("spotkanie grupy", 1)
    assert not record.correct(form="NK_A", today=date(2025, 3, 10), at=NOW)
    assert record.version == 1
    assert record.correct(form="NK_B", clear_note=True, today=date(2025, 3, 10), at=NOW)
    assert (record.form, record.note, record.version) == ("NK_B", None, 2)
    with pytest.raises(InvalidInput):
        record.correct(procedure_date=date(2025, 3, 11), today=date(2025, 3, 10), at=NOW)


@dataclass
class Gmina:
    ctx: UseCaseContext
    uow: InMemoryUnitOfWorkFactory
    team: Caller
    other_team: Caller
    ops: Caller
    person: PersonId


@pytest.fixture
async def gmina() -> Gmina:
    uow = InMemoryUnitOfWorkFactory()
    ctx = make_context(uow)
    callers = {}
    for key, (kind, teryt) in {
        "team": ("ZI", "2801011"),
        "other_team": ("ZI", "2801063"),
        "ops": ("MOPS", "2801011"),
    }.items():
        institution = await institution_use.register_institution(
            ctx, None, institution_use.InstitutionData(type=kind, name=f"{kind} {key}", teryt=teryt)
        )
        callers[key] = Caller(
            subject=key,
            institution_id=institution.id,
            scopes=ALL_SCOPES,
            roles=frozenset() if key == "ops" else TEAM,
            worker_id=None,
            request_id=f"request-{key}",
        )
    registered = await person_use.register_person(
        ctx,
        callers["ops"],
        person_use.RegisterPerson(
            first_name="Jan",
            last_name="Nowak",
            pesel=JAN,
            enrollment=person_use.EnrollmentDetails(status="BENEFIT_RECIPIENT"),
        ),
    )
    return Gmina(ctx=ctx, uow=uow, person=registered.view.person.id, **callers)


def opening(gmina: Gmina, **changes: object) -> use.OpenRestrictedRecord:
    command = use.OpenRestrictedRecord(
        form="NK_A", procedure_date=date(2025, 3, 1), person_id=gmina.person, note="zgłoszenie"
    )
    return dataclasses.replace(command, **changes)


async def test_the_team_keeps_its_records_audited_as_domestic_violence_data_and_emitting_no_event(
    gmina: Gmina,
) -> None:
    record = await use.open_restricted_record(gmina.ctx, gmina.team, opening(gmina))
    assert await use.read_restricted_record(gmina.ctx, gmina.team, record.id) == record
    listed = await use.list_restricted_records(gmina.ctx, gmina.team, PageRequest(), person_id=gmina.person)
    assert listed.items == [record]
    corrected = await use.correct_restricted_record(
        gmina.ctx, gmina.team, use.CorrectRestrictedRecord(record_id=record.id, expected_version=1, form="NK_B")
    )
    assert (corrected.form, corrected.version) == ("NK_B", 2)
    with pytest.raises(StaleVersion):
        await use.correct_restricted_record(
            gmina.ctx, gmina.team, use.CorrectRestrictedRecord(record_id=record.id, expected_version=1, note="x")
        )

    trail = [a for a in gmina.uow.store.audit if a.subject_id == record.id]
    assert [a.action for a in trail] == [AuditAction.CREATE, AuditAction.READ, AuditAction.LIST, AuditAction.UPDATE]
    assert {(a.subject_type, a.categories, a.purpose) for a in trail} == {
        (SubjectType.RESTRICTED_RECORD, (DataCategory.DOMESTIC_VIOLENCE,), PURPOSE)
    }
    assert gmina.uow.store.events == {}, "restricted records emit no events"


async def test_anyone_else_is_answered_as_if_there_were_no_record(gmina: Gmina) -> None:
    record = await use.open_restricted_record(gmina.ctx, gmina.team, opening(gmina))
    unknown = RestrictedRecordId(new_id())
    strangers = [
        gmina.other_team,
        dataclasses.replace(gmina.team, roles=frozenset()),
        gmina.ops,
        dataclasses.replace(gmina.ops, roles=TEAM),
    ]
    for caller in strangers:
        for record_id in (record.id, unknown):
            with pytest.raises(NotFound, match=r"^no such restricted record$"):
                await use.read_restricted_record(gmina.ctx, caller, record_id)
            with pytest.raises(NotFound, match=r"^no such restricted record$"):
                await use.correct_restricted_record(
                    gmina.ctx, caller, use.CorrectRestrictedRecord(record_id=record_id, expected_version=1, note="x")
                )
    for caller in strangers[1:]:
        with pytest.raises(PermissionDenied, match=r"^restricted to the interdisciplinary team$"):
            await use.list_restricted_records(gmina.ctx, caller, PageRequest(), person_id=gmina.person)
        with pytest.raises(PermissionDenied, match=r"^restricted to the interdisciplinary team$"):
            await use.open_restricted_record(gmina.ctx, caller, opening(gmina, form="NOT_A_FORM"))
    other = await use.list_restricted_records(gmina.ctx, gmina.other_team, PageRequest(), person_id=gmina.person)
    assert other.items == []
    assert {a.institution_id for a in gmina.uow.store.audit if a.subject_id == record.id} == {gmina.team.institution_id}
    with pytest.raises(MissingScope):
        await use.read_restricted_record(gmina.ctx, dataclasses.replace(gmina.team, scopes=frozenset()), record.id)
    assert Scope.PERSONS_READ.value in gmina.team.scopes
