"""Reconciliation's rules on plain values: what each reporter says, what counts as a difference for a caller who
sees only some of it, since when the values disagree, and when a resolution stops holding."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.data_categories import DataCategory
from app.domain.families import Family, Membership
from app.domain.ids import (
    DifferenceId,
    EnrollmentId,
    FamilyId,
    InstitutionId,
    MembershipId,
    PersonId,
    ResolutionId,
)
from app.domain.persons import Enrollment
from app.domain.reconciliation import (
    Compared,
    Holdings,
    Report,
    ReporterKind,
    Resolution,
    difference_id,
    differences_of,
)
from app.domain.source_records import SourceHouseholdMember, SourceRecord, check_payload, make_payload
from app.domain.values import Teryt

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
OPS, PUP, NGO = (InstitutionId(uuid4()) for _ in range(3))
TYPES = {OPS: "MOPS", PUP: "PUP", NGO: "NGO"}
JAN, KACPER = PersonId(uuid4()), PersonId(uuid4())


def record(institution: InstitutionId, ref: str, at: datetime = T0, **said: object) -> SourceRecord:
    return SourceRecord(
        institution_id=institution, external_ref=ref, person_id=JAN, payload=make_payload(**said), seen_at=at
    )


def nowak(teryt: str | None = "2801011") -> Family:
    family_id = FamilyId(uuid4())
    return Family(
        id=family_id,
        name="Nowakowie",
        teryt=Teryt(teryt) if teryt else None,
        created_by=OPS,
        created_at=T0,
        updated_at=T0,
        memberships=[
            Membership(
                id=MembershipId(uuid4()),
                family_id=family_id,
                person_id=p,
                role=r,
                since=date(2020, 1, 1),
                recorded_at=T0,
            )
            for p, r in ((JAN, "PARENT"), (KACPER, "CHILD"))
        ],
    )


def pup_enrollment(status: str) -> Enrollment:
    return Enrollment(
        id=EnrollmentId(uuid4()),
        person_id=JAN,
        institution_id=PUP,
        status=status,
        since=date(2025, 1, 1),
        until=None,
        worker_id=None,
        external_ref=None,
        created_at=T0,
        updated_at=T0,
    )


def everyone(_: Report) -> bool:
    return True


def test_a_labour_office_status_and_another_institutions_view_are_compared_as_registered_or_not() -> None:
    holdings = Holdings(
        sources=[
            record(PUP, "P1", status="LONG_TERM_UNEMPLOYED"),
            record(OPS, "O1", registered_unemployed=True),
            record(NGO, "N1", status="PARTICIPANT"),  # an NGO's own status says nothing about registration
        ],
        enrollments=[pup_enrollment("JOB_SEEKER")],
        families=[],
        institution_types=TYPES,
    )
    reports = holdings.reports_about(JAN)[Compared.REGISTERED_UNEMPLOYED]
    assert {(r.kind, r.institution_id, r.value, r.category) for r in reports} == {
        (ReporterKind.SOURCE, PUP, True, DataCategory.LABOUR_MARKET_STATUS),
        (ReporterKind.SOURCE, OPS, True, DataCategory.SOCIAL_ASSISTANCE_STATUS),
        (ReporterKind.ENROLLMENT, PUP, False, DataCategory.LABOUR_MARKET_STATUS),
    }
    [difference] = differences_of(JAN, {Compared.REGISTERED_UNEMPLOYED: reports}, everyone, {})
    assert difference.id == difference_id(JAN, Compared.REGISTERED_UNEMPLOYED)


def test_values_the_caller_may_not_see_neither_show_nor_make_a_difference() -> None:
    holdings = Holdings(
        sources=[record(OPS, "O1", address_teryt="2801011"), record(PUP, "P1", address_teryt="2801022")],
        enrollments=[],
        families=[nowak()],
        institution_types=TYPES,
    )
    reports = holdings.reports_about(JAN)

    def own_only(r: Report) -> bool:
        return r.institution_id == OPS

    assert differences_of(JAN, reports, own_only, {}) == []
    [seen] = differences_of(JAN, reports, everyone, {})
    assert seen.field is Compared.ADDRESS_GMINA
    assert {r.institution_id for r in seen.reports} == {OPS, PUP}


def test_a_household_is_the_same_whatever_the_order_of_its_members() -> None:
    listed = [SourceHouseholdMember(person_id=p, role=r) for p, r in ((KACPER, "CHILD"), (JAN, "PARENT"))]
    holdings = Holdings(
        sources=[record(OPS, "O1", household_members=listed)],
        enrollments=[],
        families=[nowak(teryt=None)],
        institution_types=TYPES,
    )
    assert differences_of(JAN, holdings.reports_about(JAN), everyone, {}) == []
    unmatched = [*listed, SourceHouseholdMember(person_id=None, role="OTHER_RELATIVE", person_ref="X-9")]
    holdings = Holdings(
        sources=[record(OPS, "O1", household_members=unmatched)],
        enrollments=[],
        families=[nowak(teryt=None)],
        institution_types=TYPES,
    )
    [difference] = differences_of(JAN, holdings.reports_about(JAN), everyone, {})
    assert difference.field is Compared.HOUSEHOLD


def test_values_disagree_since_the_second_of_them_was_first_said() -> None:
    holdings = Holdings(
        sources=[
            record(OPS, "O1", T0, address_teryt="2801011"),
            record(NGO, "N1", T0 + timedelta(days=9), address_teryt="2801011"),
            record(PUP, "P1", T0 + timedelta(days=3), address_teryt="2801022"),
        ],
        enrollments=[],
        families=[],
        institution_types=TYPES,
    )
    [difference] = differences_of(JAN, holdings.reports_about(JAN), everyone, {})
    assert difference.since == T0 + timedelta(days=3)


def test_a_resolution_holds_for_the_values_it_saw_and_no_others() -> None:
    def reports(pup_says: str) -> dict[Compared, list[Report]]:
        return Holdings(
            sources=[record(OPS, "O1", address_teryt="2801011"), record(PUP, "P1", address_teryt=pup_says)],
            enrollments=[],
            families=[],
            institution_types=TYPES,
        ).reports_about(JAN)

    [difference] = differences_of(JAN, reports("2801022"), everyone, {})
    resolution = Resolution(
        id=ResolutionId(uuid4()),
        difference_id=DifferenceId(difference.id),
        institution_id=OPS,
        chosen_key=difference.reports[0].key,
        chosen_value="2801011",
        fingerprint=difference.fingerprint,
        note=None,
        actor="worker:x",
        worker_id=None,
        resolved_at=T0,
    )
    [same] = differences_of(JAN, reports("2801022"), everyone, {difference.id: resolution})
    assert not same.open
    [changed] = differences_of(JAN, reports("2801032"), everyone, {difference.id: resolution})
    assert changed.open
    assert changed.resolution == resolution


def test_a_source_record_never_holds_a_pesel() -> None:
    with pytest.raises(ValueError, match="PESEL"):
        record(OPS, "O1", worker_name="85031204311")
    with pytest.raises(ValueError, match="PESEL"):
        SourceRecord(institution_id=OPS, external_ref="O1", person_id=JAN, payload={"pesel": "x"}, seen_at=T0)


_PESEL_ALONE = re.compile(r"(?<![\w-])\d{11}(?![\w-])")


def _every_string(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_every_string(k), *_every_string(v))]
    if isinstance(value, list):
        return [s for v in value for s in _every_string(v)]
    return []


_text = st.text(
    alphabet=st.sampled_from([*"0123456789", "-", "a", "ż", " ", "\n", "\\", '"', "\x01", "/"]), max_size=30
)


@settings(database=None, max_examples=500, deadline=None)
@given(
    payload=st.dictionaries(
        st.sampled_from(["status", "worker_name", "household_ref", "note"]),
        st.one_of(_text, st.lists(st.dictionaries(st.sampled_from(["person_ref", "role"]), _text), max_size=3)),
        max_size=4,
    ),
    planted=st.sampled_from(["", "85031204311", "x85031204311", "85031204311-1", "\n85031204311\t"]),
)
def test_a_payload_is_refused_exactly_when_one_of_its_strings_holds_eleven_digits_standing_alone(
    payload: dict[str, object], planted: str
) -> None:
    payload = {**payload, "worker_name": planted} if planted else payload
    holds_pesel = any(_PESEL_ALONE.search(s) for s in _every_string(payload))

    if holds_pesel:
        with pytest.raises(ValueError, match="PESEL"):
            check_payload(payload)
    else:
        check_payload(payload)
