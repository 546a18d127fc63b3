"""Retention periods: defaults, an institution's own, which rule applies to what, and how settings give them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import pytest

from app.config import Settings
from app.domain.ids import InstitutionId, PersonId
from app.domain.persons import ANONYMISED_NAME, Person
from app.domain.retention import DEFAULT_DAYS, DEFAULT_RULE_OWNER, IdlePerson, RecordClass, RetentionPolicy, Scope
from app.domain.values import IdentityDocument, Pesel
from tests.builders import JAN

OPS = InstitutionId(UUID(int=1))
PUP = InstitutionId(UUID(int=2))
NGO = InstitutionId(UUID(int=3))
NOW = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)

POLICY = RetentionPolicy(
    defaults={**DEFAULT_DAYS, RecordClass.PERSON: 60},
    overrides={PUP: {RecordClass.PERSON: 30}, NGO: {RecordClass.PERSON: 365, RecordClass.REFERRAL_COPY: 7}},
)


def test_an_institution_without_its_own_period_has_the_default() -> None:
    rule = POLICY.rule(RecordClass.REFERRAL_COPY, OPS)

    assert (rule.days, rule.owner, rule.own) == (DEFAULT_DAYS[RecordClass.REFERRAL_COPY], OPS, False)
    assert POLICY.rule(RecordClass.REFERRAL_COPY, NGO).days == 7


def test_each_institution_with_its_own_period_gets_a_pass_and_the_default_covers_the_rest() -> None:
    passes = POLICY.passes(RecordClass.PERSON)

    assert passes == [
        (Scope(institution_id=PUP), 30),
        (Scope(institution_id=NGO), 365),
        (Scope(institution_id=None, excluding=frozenset({PUP, NGO})), 60),
    ]
    assert POLICY.shortest(RecordClass.PERSON) == 30


def test_a_person_waits_for_the_longest_period_among_the_institutions_linked() -> None:
    assert POLICY.longest(RecordClass.PERSON, [PUP, NGO]).owner == NGO
    assert POLICY.longest(RecordClass.PERSON, [PUP, OPS]).owner == OPS  # the default's 60 beats the PUP's 30
    nobody = POLICY.longest(RecordClass.PERSON, [])
    assert (nobody.owner, nobody.days) == (DEFAULT_RULE_OWNER, 60)


def test_a_person_is_due_only_when_every_trace_is_older_than_the_period() -> None:
    rule = POLICY.rule(RecordClass.PERSON, OPS)
    long_ago = NOW - timedelta(days=400)

    def idle(**traces: object) -> IdlePerson:
        values: dict[str, object] = {"updated_at": long_ago, "last_membership_end": None, "last_referral_change": None}
        values.update(traces)
        return IdlePerson(person_id=PersonId(UUID(int=9)), linked=frozenset(), **values)  # type: ignore[arg-type]

    assert idle().due(rule, NOW)
    assert not idle(updated_at=NOW - timedelta(days=59)).due(rule, NOW)
    assert not idle(last_referral_change=NOW - timedelta(days=59)).due(rule, NOW)
    assert not idle(last_membership_end=date(2026, 4, 2)).due(rule, NOW)
    assert idle(last_membership_end=date(2026, 4, 1)).due(rule, NOW)


def test_anonymising_keeps_the_row_but_not_who_it_was() -> None:
    person = Person.register(
        id=PersonId(UUID(int=5)),
        first_name="Jan",
        last_name="Nowak",
        birth_date=None,
        sex=None,
        pesel=Pesel.parse(JAN),
        identity_document=IdentityDocument(kind="PASSPORT", number="FA123456", country="UA"),
        at=NOW,
    )

    person.anonymise(NOW)

    assert (person.first_name, person.last_name, person.pesel, person.identity_document) == (
        ANONYMISED_NAME,
        ANONYMISED_NAME,
        None,
        None,
    )
    assert person.birth_date == date(1985, 1, 1)
    assert person.anonymised
    assert person.version == 2


def test_settings_give_the_defaults_and_each_institutions_own_periods(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPOJNIA_RETENTION__DEFAULTS__REFERRAL_COPY", "90")
    monkeypatch.setenv("SPOJNIA_RETENTION__INSTITUTIONS", f'{{"{NGO}": {{"person": 730}}}}')

    policy = Settings().retention.policy()

    assert policy.rule(RecordClass.REFERRAL_COPY, OPS).days == 90
    assert policy.rule(RecordClass.ENDED_ENROLLMENT, OPS).days == DEFAULT_DAYS[RecordClass.ENDED_ENROLLMENT]
    assert policy.rule(RecordClass.PERSON, NGO).days == 730
    assert policy.rule(RecordClass.REFERRAL_COPY, NGO).days == 90


def test_a_period_of_no_days_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPOJNIA_RETENTION__DEFAULTS__PERSON", "0")

    with pytest.raises(ValueError, match="person"):
        Settings()
