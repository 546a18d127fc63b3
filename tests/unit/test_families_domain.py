"""Families as entities: members join, change roles and leave, and the history is never erased."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.domain.errors import Conflict, InvalidInput, NotFound
from app.domain.families import Family, Membership
from app.domain.ids import FamilyId, InstitutionId, MembershipId, PersonId, new_id
from app.domain.values import Teryt

NOW = datetime(2025, 3, 10, 9, 30, tzinfo=UTC)
LATER = datetime(2025, 4, 1, 12, 0, tzinfo=UTC)
JOINED = date(2025, 1, 15)


def family() -> Family:
    return Family(
        id=FamilyId(new_id()),
        name="Rodzina Nowaków",
        teryt=Teryt.parse("2802011"),
        created_by=InstitutionId(new_id()),
        created_at=NOW,
        updated_at=NOW,
    )


def join(f: Family, role: str = "PARENT", person: PersonId | None = None, since: date = JOINED) -> Membership:
    return f.add_member(
        membership_id=MembershipId(new_id()),
        person_id=person or PersonId(new_id()),
        role=role,
        since=since,
        at=NOW,
    )


# --------------------------------------------------------------------------- joining


def test_added_member_is_current_with_the_role_and_day_given() -> None:
    f = family()

    m = join(f, "CHILD")

    assert f.current_members == [m]
    assert (m.role, m.since, m.until, m.family_id) == ("CHILD", JOINED, None, f.id)
    assert f.version == 2
    assert f.updated_at == NOW


def test_a_current_member_cannot_be_added_twice() -> None:
    f = family()
    m = join(f)

    with pytest.raises(Conflict):
        join(f, "OTHER_RELATIVE", person=m.person_id)

    assert len(f.memberships) == 1
    assert f.version == 2


def test_a_member_who_left_may_rejoin_and_both_periods_stay_on_record() -> None:
    f = family()
    first = join(f)
    f.end_membership(membership_id=first.id, on=date(2025, 2, 1), reason="LEFT_HOUSEHOLD", at=NOW)

    again = join(f, person=first.person_id, since=date(2025, 3, 1))

    assert [m.id for m in f.memberships] == [first.id, again.id]
    assert [m.id for m in f.current_members] == [again.id]
    assert first.until == date(2025, 2, 1)


# --------------------------------------------------------------------------- changing roles


def test_changing_a_role_ends_the_old_membership_and_opens_a_new_one() -> None:
    f = family()
    child = join(f, "CHILD")
    version = f.version

    adult = f.change_role(
        membership_id=child.id, new_membership_id=MembershipId(new_id()), role="PARENT", on=date(2025, 3, 1), at=LATER
    )

    assert (child.role, child.until, child.end_reason) == ("CHILD", date(2025, 3, 1), "ROLE_CHANGED")
    assert (adult.person_id, adult.role, adult.since, adult.until) == (
        child.person_id,
        "PARENT",
        date(2025, 3, 1),
        None,
    )
    assert f.current_members == [adult]
    assert len(f.memberships) == 2
    assert f.version == version + 1
    assert f.updated_at == LATER


def test_changing_to_the_same_role_is_a_conflict_and_changes_nothing() -> None:
    f = family()
    m = join(f, "PARENT")

    with pytest.raises(Conflict):
        f.change_role(
            membership_id=m.id, new_membership_id=MembershipId(new_id()), role="PARENT", on=date(2025, 3, 1), at=LATER
        )

    assert f.memberships == [m]
    assert m.current


def test_role_change_dated_before_the_membership_began_is_refused_and_changes_nothing() -> None:
    f = family()
    m = join(f, "CHILD")
    version = f.version

    with pytest.raises(InvalidInput):
        f.change_role(
            membership_id=m.id, new_membership_id=MembershipId(new_id()), role="PARENT", on=date(2025, 1, 1), at=LATER
        )

    assert f.memberships == [m]
    assert m.current
    assert f.version == version


def test_the_role_of_a_past_membership_cannot_be_changed() -> None:
    f = family()
    m = join(f)
    f.end_membership(membership_id=m.id, on=date(2025, 2, 1), reason="DECEASED", at=NOW)

    with pytest.raises(Conflict):
        f.change_role(
            membership_id=m.id, new_membership_id=MembershipId(new_id()), role="CHILD", on=date(2025, 3, 1), at=LATER
        )


def test_an_unknown_membership_is_not_found() -> None:
    f = family()
    join(f)

    with pytest.raises(NotFound):
        f.change_role(
            membership_id=MembershipId(new_id()),
            new_membership_id=MembershipId(new_id()),
            role="CHILD",
            on=date(2025, 3, 1),
            at=LATER,
        )
    with pytest.raises(NotFound):
        f.end_membership(membership_id=MembershipId(new_id()), on=date(2025, 3, 1), reason="LEFT_HOUSEHOLD", at=LATER)


# --------------------------------------------------------------------------- leaving


def test_ending_a_membership_keeps_it_in_the_history_with_the_reason() -> None:
    f = family()
    parent, child = join(f, "PARENT"), join(f, "CHILD")

    ended = f.end_membership(membership_id=child.id, on=date(2025, 3, 31), reason="LEFT_HOUSEHOLD", at=LATER)

    assert ended is child
    assert (child.until, child.end_reason) == (date(2025, 3, 31), "LEFT_HOUSEHOLD")
    assert f.current_members == [parent]
    assert f.memberships == [parent, child]


def test_a_membership_cannot_end_twice() -> None:
    f = family()
    m = join(f)
    f.end_membership(membership_id=m.id, on=date(2025, 2, 1), reason="LEFT_HOUSEHOLD", at=NOW)

    with pytest.raises(Conflict):
        f.end_membership(membership_id=m.id, on=date(2025, 3, 1), reason="DECEASED", at=LATER)

    assert (m.until, m.end_reason) == (date(2025, 2, 1), "LEFT_HOUSEHOLD")


def test_a_membership_cannot_end_before_it_began() -> None:
    f = family()
    m = join(f)

    with pytest.raises(InvalidInput):
        f.end_membership(membership_id=m.id, on=date(2025, 1, 14), reason="LEFT_HOUSEHOLD", at=LATER)

    assert m.current


# --------------------------------------------------------------------------- name and place


def test_renaming_cleans_the_name_and_keeps_the_teryt_when_none_is_given() -> None:
    f = family()

    f.rename(name="  Rodzina   Kowalskich ", teryt=None, at=LATER)

    assert f.name == "Rodzina Kowalskich"
    assert f.teryt == Teryt.parse("2802011")
    assert f.version == 2


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_family_name_must_have_1_to_200_characters(name: str) -> None:
    with pytest.raises(InvalidInput) as error:
        Family.clean_name(name)

    assert [e.field for e in error.value.errors] == ["name"]
