"""Referrals as entities: the transition table, who may take each action, outcomes and history.

The expected table below is written out by hand from the documented lifecycle (docs and FHIR Task),
not derived from `RULES`, so a change to the rules shows up here as a failing case.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from app.domain.errors import InvalidInput, PermissionDenied
from app.domain.ids import InstitutionId, PersonId, ReferralId, new_id
from app.domain.referrals import (
    RULES,
    TERMINAL,
    Action,
    Outcome,
    Party,
    Referral,
    ReferralStatus,
    RequestedInstrument,
    StatusChange,
    TransitionNotAllowed,
)

S = ReferralStatus
A = Action

NOW = datetime(2025, 3, 10, 9, 30, tzinfo=UTC)
SENDER = InstitutionId(new_id())
RECEIVER = InstitutionId(new_id())
STRANGER = InstitutionId(new_id())
JAN = PersonId(new_id())
MARIA = PersonId(new_id())
KACPER = PersonId(new_id())

# The documented lifecycle: where each action leads ...
TARGET: dict[Action, ReferralStatus] = {
    A.SEND: S.SENT,
    A.RECEIVE: S.RECEIVED,
    A.ACCEPT: S.ACCEPTED,
    A.REJECT: S.REJECTED,
    A.START: S.IN_PROGRESS,
    A.HOLD: S.ON_HOLD,
    A.RESUME: S.IN_PROGRESS,
    A.COMPLETE: S.COMPLETED,
    A.FAIL: S.FAILED,
    A.CANCEL: S.CANCELLED,
    A.FORWARD: S.REJECTED,  # closed as rejected (reason FORWARDED); the onward referral is a new one
    A.EXPIRE: S.EXPIRED,
}

# ... who takes it ...
TAKER: dict[Action, Party] = {
    A.SEND: Party.SENDER,
    A.RECEIVE: Party.RECEIVER,
    A.ACCEPT: Party.RECEIVER,
    A.REJECT: Party.RECEIVER,
    A.START: Party.RECEIVER,
    A.HOLD: Party.RECEIVER,
    A.RESUME: Party.RECEIVER,
    A.COMPLETE: Party.RECEIVER,
    A.FAIL: Party.RECEIVER,
    A.CANCEL: Party.SENDER,
    A.FORWARD: Party.RECEIVER,
    A.EXPIRE: Party.SYSTEM,  # the deadline job, `by=None`
}

# ... and what each party may do in each status, in the order the API lists them.
ALLOWED: dict[ReferralStatus, dict[Party, list[Action]]] = {
    S.DRAFT: {Party.SENDER: [A.SEND, A.CANCEL], Party.RECEIVER: [], Party.SYSTEM: []},
    S.SENT: {Party.SENDER: [A.CANCEL], Party.RECEIVER: [A.RECEIVE, A.REJECT], Party.SYSTEM: [A.EXPIRE]},
    S.RECEIVED: {Party.SENDER: [A.CANCEL], Party.RECEIVER: [A.ACCEPT, A.REJECT, A.FORWARD], Party.SYSTEM: [A.EXPIRE]},
    S.ACCEPTED: {Party.SENDER: [A.CANCEL], Party.RECEIVER: [A.START, A.FAIL, A.FORWARD], Party.SYSTEM: []},
    S.IN_PROGRESS: {Party.SENDER: [A.CANCEL], Party.RECEIVER: [A.HOLD, A.COMPLETE, A.FAIL], Party.SYSTEM: []},
    S.ON_HOLD: {Party.SENDER: [A.CANCEL], Party.RECEIVER: [A.RESUME, A.FAIL], Party.SYSTEM: []},
} | {s: {Party.SENDER: [], Party.RECEIVER: [], Party.SYSTEM: []} for s in TERMINAL}

ACTIONS = list(TARGET)
INSTITUTION_OF: dict[Party, InstitutionId | None] = {
    Party.SENDER: SENDER,
    Party.RECEIVER: RECEIVER,
    Party.SYSTEM: None,
}


def referral(status: ReferralStatus = S.DRAFT, members: tuple[PersonId, ...] = (JAN,)) -> Referral:
    referral_id = ReferralId(new_id())
    return Referral(
        id=referral_id,
        sender_id=SENDER,
        sender_worker_id=None,
        receiver_id=RECEIVER,
        service_id=None,
        person_id=members[0] if len(members) == 1 else None,
        family_id=None,
        member_ids=members,
        reason="UNEMPLOYMENT",
        instrument=RequestedInstrument(code_list="LabourMarketInstrument", code="CAREER_GUIDANCE"),
        justification="",
        priority="routine",
        respond_by=date(2025, 3, 24),
        due=None,
        contract_action_ref=None,
        forwarded_from=None,
        chain_id=referral_id,
        status=status,
        created_at=NOW,
        updated_at=NOW,
    )


def take(r: Referral, action: Action, by: InstitutionId | None, at: datetime = NOW) -> StatusChange:
    return r.apply(action, by=by, actor="worker:test", at=at)


def snapshot(r: Referral) -> tuple[object, ...]:
    return (r.status, r.version, list(r.history), r.updated_at, list(r.outcomes))


def test_the_expected_table_covers_every_status_and_every_action_of_the_rules() -> None:
    assert set(ALLOWED) == set(ReferralStatus)
    assert set(TARGET) == set(RULES) == set(Action) - {A.CREATE}
    assert {S.REJECTED, S.COMPLETED, S.FAILED, S.CANCELLED, S.EXPIRED} == TERMINAL


# --------------------------------------------------------------------------- the transition table


@pytest.mark.parametrize("action", ACTIONS, ids=str)
@pytest.mark.parametrize("status", list(ReferralStatus), ids=str)
def test_the_right_party_moves_the_referral_or_learns_what_it_may_do(status: ReferralStatus, action: Action) -> None:
    party = TAKER[action]
    r = referral(status)
    later = NOW + timedelta(hours=1)

    if action in ALLOWED[status][party]:
        change = take(r, action, INSTITUTION_OF[party], at=later)
        assert r.status == change.to_status == TARGET[action]
        assert change.from_status == status
        assert (change.action, change.institution_id, change.at) == (action, INSTITUTION_OF[party], later)
        assert r.history == [change]
        assert (r.version, r.updated_at) == (2, later)
    else:
        before = snapshot(r)
        with pytest.raises(TransitionNotAllowed) as refused:
            take(r, action, INSTITUTION_OF[party], at=later)
        assert refused.value.allowed == tuple(ALLOWED[status][party])
        assert status.value in refused.value.detail
        assert action.value in refused.value.detail
        assert snapshot(r) == before, "a refused action changes nothing"


@pytest.mark.parametrize("status", list(ReferralStatus), ids=str)
def test_allowed_actions_per_party_follow_the_documented_lifecycle(status: ReferralStatus) -> None:
    r = referral(status)

    for party, expected in ALLOWED[status].items():
        assert r.allowed_actions(party) == expected, party


@pytest.mark.parametrize("action", ACTIONS, ids=str)
@pytest.mark.parametrize("status", list(ReferralStatus), ids=str)
def test_a_party_other_than_the_actions_taker_is_denied_whatever_the_status(
    status: ReferralStatus, action: Action
) -> None:
    wrong = [i for p, i in INSTITUTION_OF.items() if p != TAKER[action]] + [STRANGER]
    r = referral(status)
    before = snapshot(r)

    for by in wrong:
        with pytest.raises(PermissionDenied) as denied:
            take(r, action, by)
        assert not isinstance(denied.value, TransitionNotAllowed)
        assert TAKER[action].value in denied.value.detail

    assert snapshot(r) == before


# --------------------------------------------------------------------------- expiry


@pytest.mark.parametrize("status", [S.SENT, S.RECEIVED], ids=str)
def test_the_system_expires_unanswered_referrals(status: ReferralStatus) -> None:
    r = referral(status)

    change = take(r, A.EXPIRE, None)

    assert r.status == S.EXPIRED
    assert (change.from_status, change.institution_id) == (status, None)


@pytest.mark.parametrize("status", sorted(set(ReferralStatus) - {S.SENT, S.RECEIVED}), ids=str)
def test_the_system_cannot_expire_a_referral_that_was_answered_or_not_sent(status: ReferralStatus) -> None:
    r = referral(status)

    with pytest.raises(TransitionNotAllowed) as refused:
        take(r, A.EXPIRE, None)

    assert refused.value.allowed == ()
    assert r.status == status


@pytest.mark.parametrize("by", [SENDER, RECEIVER, STRANGER], ids=["sender", "receiver", "stranger"])
def test_no_institution_may_expire_a_referral(by: InstitutionId) -> None:
    r = referral(S.SENT)

    with pytest.raises(PermissionDenied):
        take(r, A.EXPIRE, by)

    assert r.status == S.SENT


@pytest.mark.parametrize("action", sorted(set(ACTIONS) - {A.EXPIRE}), ids=str)
def test_the_system_takes_no_other_action(action: Action) -> None:
    for status in ReferralStatus:
        with pytest.raises(PermissionDenied):
            take(referral(status), action, None)


# --------------------------------------------------------------------------- terminal statuses


@pytest.mark.parametrize("status", sorted(TERMINAL), ids=str)
def test_a_terminal_referral_allows_nothing_to_anyone(status: ReferralStatus) -> None:
    r = referral(status)

    assert r.allowed_actions(None) == []
    for party in Party:
        assert r.allowed_actions(party) == []
    for action in ACTIONS:
        with pytest.raises(TransitionNotAllowed) as refused:
            take(r, action, INSTITUTION_OF[TAKER[action]])
        assert refused.value.allowed == ()
    assert r.status == status


# --------------------------------------------------------------------------- sequences of actions


BY = [SENDER, RECEIVER, STRANGER, None]
PARTY_OF: dict[InstitutionId | None, Party | None] = {
    SENDER: Party.SENDER,
    RECEIVER: Party.RECEIVER,
    None: Party.SYSTEM,
}


@hypothesis_settings(database=None, deadline=None, max_examples=300)
@given(st.randoms(use_true_random=False), st.integers(min_value=1, max_value=12))
def test_any_sequence_of_actions_follows_the_table_and_the_history_records_each_move(
    rng: random.Random, steps: int
) -> None:
    r = referral(S.DRAFT)
    status = S.DRAFT
    moved = 0

    for i in range(steps):
        # Mostly a move the table allows, and one that keeps the referral open more often than one that closes
        # it, so that sequences reach every status; now and then any move at all.
        allowed = [(a, INSTITUTION_OF[p]) for p, actions in ALLOWED[status].items() for a in actions]
        keeping = [m for m in allowed if TARGET[m[0]] not in TERMINAL]
        closing = [m for m in allowed if TARGET[m[0]] in TERMINAL]
        roll = rng.random()
        if keeping and roll < 0.7:
            action, by = rng.choice(keeping)
        elif closing and roll < 0.85:
            action, by = rng.choice(closing)
        else:
            action, by = rng.choice(ACTIONS), rng.choice(BY)
        party = PARTY_OF.get(by)
        at = NOW + timedelta(minutes=i)
        if party != TAKER[action]:
            with pytest.raises(PermissionDenied):
                take(r, action, by, at=at)
        elif action not in ALLOWED[status][party]:
            with pytest.raises(TransitionNotAllowed) as refused:
                take(r, action, by, at=at)
            assert refused.value.allowed == tuple(ALLOWED[status][party])
        else:
            change = take(r, action, by, at=at)
            assert (change.from_status, change.to_status, change.at) == (status, TARGET[action], at)
            status = TARGET[action]
            moved += 1
        assert r.status == status
        assert r.version == 1 + moved
        assert len(r.history) == moved

    assert [h.to_status for h in r.history[:-1]] == [h.from_status for h in r.history[1:]], "a connected history"
    if r.history:
        assert r.history[0].from_status == S.DRAFT
        assert r.history[-1].to_status == r.status
    if status in TERMINAL:
        assert all(r.allowed_actions(p) == [] for p in Party)


def test_history_grows_by_one_entry_per_action_with_who_why_and_when() -> None:
    r = referral(S.DRAFT)
    script = [
        (A.SEND, SENDER, None, None),
        (A.RECEIVE, RECEIVER, None, None),
        (A.ACCEPT, RECEIVER, None, "przyjęte"),
        (A.START, RECEIVER, None, None),
        (A.HOLD, RECEIVER, None, "choroba"),
        (A.RESUME, RECEIVER, None, None),
        (A.FAIL, RECEIVER, "PERSON_ABSENT", None),
    ]

    for i, (action, by, reason, note) in enumerate(script, start=1):
        at = NOW + timedelta(days=i)
        r.apply(action, by=by, actor=f"worker:{i}", at=at, reason=reason, note=note)
        assert len(r.history) == i
        last = r.history[-1]
        assert (last.action, last.institution_id, last.actor, last.at) == (action, by, f"worker:{i}", at)
        assert (last.reason, last.note) == (reason, note)
        assert r.version == 1 + i

    assert [(h.from_status, h.to_status) for h in r.history] == [
        (S.DRAFT, S.SENT),
        (S.SENT, S.RECEIVED),
        (S.RECEIVED, S.ACCEPTED),
        (S.ACCEPTED, S.IN_PROGRESS),
        (S.IN_PROGRESS, S.ON_HOLD),
        (S.ON_HOLD, S.IN_PROGRESS),
        (S.IN_PROGRESS, S.FAILED),
    ]


# --------------------------------------------------------------------------- outcomes


def test_outcomes_are_recorded_one_per_member_concerned() -> None:
    r = referral(S.IN_PROGRESS, members=(JAN, MARIA))
    outcomes = [
        Outcome(person_id=JAN, kind="EMPLOYED_OPEN_MARKET", on=date(2025, 5, 2)),
        Outcome(person_id=MARIA, kind="TRAINING_COMPLETED", on=date(2025, 5, 3), note="kurs"),
    ]

    r.record_outcomes(outcomes)

    assert r.outcomes == outcomes


def test_an_outcome_for_a_person_the_referral_is_not_about_is_refused() -> None:
    r = referral(S.IN_PROGRESS, members=(JAN, MARIA))

    with pytest.raises(InvalidInput) as refused:
        r.record_outcomes(
            [
                Outcome(person_id=JAN, kind="EMPLOYED_OPEN_MARKET", on=date(2025, 5, 2)),
                Outcome(person_id=KACPER, kind="OTHER", on=date(2025, 5, 2)),
            ]
        )

    assert [e.field for e in refused.value.errors] == ["outcomes"]
    assert r.outcomes == [], "nothing of a refused list is kept"


def test_completing_needs_at_least_one_outcome() -> None:
    r = referral(S.IN_PROGRESS)

    with pytest.raises(InvalidInput) as refused:
        r.record_outcomes([])

    assert [e.field for e in refused.value.errors] == ["outcomes"]
    assert r.outcomes == []


# --------------------------------------------------------------------------- deadlines and parties


@pytest.mark.parametrize(
    ("status", "overdue"), [(S.SENT, True), (S.RECEIVED, True), (S.DRAFT, False), (S.ACCEPTED, False)]
)
def test_only_an_unanswered_referral_past_its_deadline_is_overdue(status: ReferralStatus, overdue: bool) -> None:
    r = referral(status)

    assert r.overdue(r.respond_by) is False, "the deadline day itself is still in time"
    assert r.overdue(r.respond_by + timedelta(days=1)) is overdue


def test_each_institution_is_the_party_it_plays() -> None:
    r = referral()

    assert (r.party_of(SENDER), r.party_of(RECEIVER), r.party_of(STRANGER)) == (Party.SENDER, Party.RECEIVER, None)
