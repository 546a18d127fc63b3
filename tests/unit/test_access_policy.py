"""The access policy's laws, checked over generated callers, holdings, agreements and consents (hypothesis)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from app.domain.access_policy import (
    INTERDISCIPLINARY_TEAM_ROLE,
    STATUTORY_KINDS,
    Basis,
    Grounds,
    Holding,
    Requester,
    decide,
)
from app.domain.caller import ALL_SCOPES
from app.domain.data_categories import SHAREABLE_CATEGORIES, DataCategory
from app.domain.ids import AgreementId, ConsentId, InstitutionId, PersonId, new_id
from app.domain.sharing import Agreement, Consent

NOW = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
KINDS = sorted(STATUTORY_KINDS | {"NGO", "CIS", "KIS", "ROPS", "ZI"})
PURPOSES = ["SOCIAL_ASSISTANCE", "EMPLOYMENT_ACTIVATION", "REFERRAL", "SHARED_CLIENT_CHECK"]

institutions = st.builds(lambda: InstitutionId(new_id()))
categories = st.sampled_from(sorted(DataCategory))
shareable = st.sampled_from(sorted(SHAREABLE_CATEGORIES))
purposes = st.sampled_from(PURPOSES)
roles = st.frozensets(st.sampled_from([INTERDISCIPLINARY_TEAM_ROLE, "social_worker", "dpo"]))


def requester(institution: InstitutionId, kind: str, purpose: str | None, role_set: frozenset[str]) -> Requester:
    return Requester(institution_id=institution, kind=kind, roles=role_set, scopes=ALL_SCOPES, purpose=purpose)


def agreement(
    a: InstitutionId,
    b: InstitutionId,
    receives: frozenset[DataCategory],
    purpose: str,
    *,
    valid_to: date | None = None,
    ended: datetime | None = None,
) -> Agreement:
    made = Agreement.draft(
        id=AgreementId(new_id()),
        title="Porozumienie o współpracy",
        parties=[(a, [c.value for c in receives]), (b, [c.value for c in receives])],
        purposes=[purpose],
        legal_basis="art. 100 ust. 2 u.p.s.",
        valid_from=date(2026, 1, 1),
        valid_to=valid_to,
        document_ref="DOC/1/2026",
        created_by=a,
        at=NOW - timedelta(days=200),
    )
    made.sign(a, by="a", on=date(2026, 1, 2), at=NOW - timedelta(days=190))
    made.sign(b, by="b", on=date(2026, 1, 3), at=NOW - timedelta(days=190))
    if ended is not None:
        made.end(a, reason=None, at=ended)
    return made


def consent(person: PersonId, grantee: InstitutionId, category: DataCategory, purpose: str) -> Consent:
    return Consent.record(
        id=ConsentId(new_id()),
        person_id=person,
        grantee_institution_id=grantee,
        grantee_kind=None,
        categories=[category.value],
        purpose=purpose,
        valid_from=date(2026, 1, 1),
        valid_to=None,
        method="SIGNED_FORM",
        given_on=date(2026, 1, 1),
        document_ref=None,
        recorded_by=grantee,
        at=NOW - timedelta(days=100),
    )


@given(institutions, institutions, st.sampled_from(KINDS), categories, st.one_of(st.none(), purposes), roles)
def test_no_agreement_and_no_consent_deny_another_institutions_data(
    caller: InstitutionId,
    owner: InstitutionId,
    kind: str,
    category: DataCategory,
    purpose: str | None,
    r: frozenset[str],
) -> None:
    holding = Holding(subject=PersonId(new_id()), category=category, owner=owner)
    decision = decide(requester(caller, kind, purpose, r), holding, Grounds(), NOW)
    assert not decision.allowed
    assert decision.reason


@given(institutions, st.sampled_from(sorted(STATUTORY_KINDS)), shareable, purposes, st.integers(1, 160))
def test_an_expired_or_ended_agreement_opens_nothing(
    owner: InstitutionId, kind: str, category: DataCategory, purpose: str, days_ago: int
) -> None:
    caller = InstitutionId(new_id())
    expired = agreement(caller, owner, frozenset({category}), purpose, valid_to=(NOW - timedelta(days=days_ago)).date())
    ended = agreement(caller, owner, frozenset({category}), purpose, ended=NOW - timedelta(seconds=days_ago))
    holding = Holding(subject=PersonId(new_id()), category=category, owner=owner)
    for grounds in (Grounds(agreements=[expired]), Grounds(agreements=[ended])):
        assert not decide(requester(caller, kind, purpose, frozenset()), holding, grounds, NOW).allowed
    live = agreement(caller, owner, frozenset({category}), purpose)
    allowed = decide(requester(caller, kind, purpose, frozenset()), holding, Grounds(agreements=[live]), NOW)
    assert allowed.allowed
    assert allowed.basis is Basis.AGREEMENT
    assert str(live.id) in allowed.reason


@given(institutions, st.sampled_from(sorted(STATUTORY_KINDS)), shareable, shareable, purposes, purposes)
def test_an_agreement_opens_only_its_categories_and_purposes(
    owner: InstitutionId, kind: str, granted: DataCategory, asked: DataCategory, purpose: str, asked_for: str
) -> None:
    caller = InstitutionId(new_id())
    grounds = Grounds(agreements=[agreement(caller, owner, frozenset({granted}), purpose)])
    holding = Holding(subject=PersonId(new_id()), category=asked, owner=owner)
    decision = decide(requester(caller, kind, asked_for, frozenset()), holding, grounds, NOW)
    assert decision.allowed == (granted == asked and purpose == asked_for)


@given(st.sampled_from(KINDS), roles, st.one_of(st.none(), purposes), institutions)
def test_restricted_data_only_for_the_owning_interdisciplinary_team_with_the_role(
    kind: str, r: frozenset[str], purpose: str | None, owner: InstitutionId
) -> None:
    person = PersonId(new_id())
    holding = Holding(subject=person, category=DataCategory.DOMESTIC_VIOLENCE, owner=owner)
    # Even an agreement and a consent naming every category (were they allowed to) open nothing.
    stranger = InstitutionId(new_id())
    everything = Grounds(
        agreements=[agreement(stranger, owner, frozenset(SHAREABLE_CATEGORIES), purpose or "REFERRAL")],
        consents=[consent(person, stranger, DataCategory.IDENTITY, purpose or "REFERRAL")],
    )
    assert not decide(requester(stranger, kind, purpose, r), holding, everything, NOW).allowed
    own = decide(requester(owner, kind, purpose, r), holding, everything, NOW)
    assert own.allowed == (kind == "ZI" and INTERDISCIPLINARY_TEAM_ROLE in r)


@given(institutions, st.sampled_from(KINDS), shareable, st.one_of(st.none(), purposes), roles)
def test_own_institutions_records_are_always_open_to_it(
    caller: InstitutionId, kind: str, category: DataCategory, purpose: str | None, r: frozenset[str]
) -> None:
    holding = Holding(subject=PersonId(new_id()), category=category, owner=caller)
    decision = decide(requester(caller, kind, purpose, r), holding, Grounds(), NOW)
    assert decision.allowed
    assert decision.basis is Basis.OWN_RECORDS


@given(institutions, st.sampled_from(["NGO", "CIS", "KIS", "ROPS"]), shareable, purposes)
def test_consent_opens_to_its_grantee_until_withdrawn(
    owner: InstitutionId, kind: str, category: DataCategory, purpose: str
) -> None:
    ngo, person = InstitutionId(new_id()), PersonId(new_id())
    given_consent = consent(person, ngo, category, purpose)
    holding = Holding(subject=person, category=category, owner=owner)
    asking = requester(ngo, kind, purpose, frozenset())
    assert decide(asking, holding, Grounds(consents=[given_consent]), NOW).basis is Basis.CONSENT
    # Another person's consent, or another grantee, opens nothing.
    other = Holding(subject=PersonId(new_id()), category=category, owner=owner)
    assert not decide(asking, other, Grounds(consents=[given_consent]), NOW).allowed
    assert not decide(
        requester(InstitutionId(new_id()), kind, purpose, frozenset()), holding, Grounds(consents=[given_consent]), NOW
    ).allowed
    given_consent.withdraw(owner, NOW - timedelta(seconds=1))
    assert not decide(asking, holding, Grounds(consents=[given_consent]), NOW).allowed


@given(institutions, shareable, purposes)
def test_a_statutory_institution_cannot_rest_on_consent_nor_an_ngo_on_an_agreement(
    owner: InstitutionId, category: DataCategory, purpose: str
) -> None:
    caller, person = InstitutionId(new_id()), PersonId(new_id())
    holding = Holding(subject=person, category=category, owner=owner)
    by_consent = Grounds(consents=[consent(person, caller, category, purpose)])
    assert not decide(requester(caller, "PUP", purpose, frozenset()), holding, by_consent, NOW).allowed
    by_agreement = Grounds(agreements=[agreement(caller, owner, frozenset({category}), purpose)])
    assert not decide(requester(caller, "NGO", purpose, frozenset()), holding, by_agreement, NOW).allowed


@given(institutions, shareable, purposes)
def test_a_token_without_a_read_scope_for_the_category_is_denied(
    owner: InstitutionId, category: DataCategory, purpose: str
) -> None:
    holding = Holding(subject=PersonId(new_id()), category=category, owner=owner)
    asking = Requester(
        institution_id=owner, kind="OPS", roles=frozenset(), scopes=frozenset({"admin"}), purpose=purpose
    )
    assert not decide(asking, holding, Grounds(), NOW).allowed


def test_an_agreement_binds_only_once_every_party_has_signed() -> None:
    a, b = InstitutionId(new_id()), InstitutionId(new_id())
    draft = Agreement.draft(
        id=AgreementId(new_id()),
        title="t",
        parties=[(a, ["identity"]), (b, ["identity"])],
        purposes=["REFERRAL"],
        legal_basis="x",
        valid_from=date(2026, 1, 1),
        valid_to=None,
        document_ref="d",
        created_by=a,
        at=NOW,
    )
    draft.sign(a, by="a", on=date(2026, 1, 2), at=NOW)
    assert not draft.in_force(NOW)
    draft.sign(b, by="b", on=date(2026, 6, 20), at=NOW)
    assert draft.signed_on == date(2026, 6, 20)
    assert not draft.in_force(NOW)  # signed after today: not yet
    assert draft.in_force(NOW + timedelta(days=10))
