"""The retention purge on the real database: what has passed its period goes, the rest stays, all audited."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from app.bootstrap import Container
from app.domain.audit import AuditAction, AuditRecord, SubjectType
from app.domain.caller import ALL_SCOPES, Caller
from app.domain.data_categories import DataCategory
from app.domain.families import Family, Membership
from app.domain.ids import (
    AgreementId,
    ConsentId,
    EnrollmentId,
    FamilyId,
    InstitutionId,
    MembershipId,
    PersonId,
    ReferralId,
    new_id,
)
from app.domain.persons import ANONYMISED_NAME, Enrollment, Person
from app.domain.referrals import Action, Referral, ReferralStatus, RequestedInstrument, StatusChange
from app.domain.retention import DEFAULT_RULE_OWNER, RecordClass, RetentionPolicy
from app.domain.services.context import UseCaseContext
from app.domain.services.referrals import read_referral
from app.domain.services.retention import purge_expired
from app.domain.sharing import Agreement, AgreementParty, Consent
from app.domain.values import IdentityDocument, Pesel
from tests.builders import JAN, KACPER, MARIA, ZOFIA, make_pesel
from tests.conftest import Party
from tests.fakes import FixedClock

NOW = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
LONG_AGO = NOW - timedelta(days=400)

DAYS = {
    RecordClass.REFERRAL_COPY: 30,
    RecordClass.ENDED_ENROLLMENT: 100,
    RecordClass.CONSENT: 200,
    RecordClass.AGREEMENT: 200,
    RecordClass.PERSON: 60,
}


def context(
    container: Container,
    overrides: dict[InstitutionId, dict[RecordClass, int]] | None = None,
    *,
    batch_size: int = 200,
) -> UseCaseContext:
    policy = RetentionPolicy(defaults=DAYS, overrides=overrides or {}, batch_size=batch_size)
    return replace(container.ctx, clock=FixedClock(NOW), policies=replace(container.ctx.policies, retention=policy))


def caller_of(party: Party) -> Caller:
    return Caller(
        subject=f"test-{party.key}",
        institution_id=party.id,
        scopes=frozenset(ALL_SCOPES),
        roles=frozenset(),
        worker_id=None,
        request_id="test",
    )


def ago(days: int) -> datetime:
    return NOW - timedelta(days=days)


async def a_person(container: Container, pesel: str, *, changed: datetime = LONG_AGO) -> Person:
    person = Person.register(
        id=PersonId(new_id()),
        first_name="Anna",
        last_name="Kowalska",
        birth_date=None,
        sex=None,
        pesel=Pesel.parse(pesel),
        identity_document=IdentityDocument(kind="PASSPORT", number=f"FA{pesel[-6:]}", country="UA"),
        at=changed,
    )
    async with container.ctx.uow() as uow:
        await uow.persons.add(person)
        await uow.commit()
    return person


async def an_enrollment(
    container: Container, person: Person, party: Party, *, ended: datetime | None = None
) -> Enrollment:
    enrollment = Enrollment(
        id=EnrollmentId(new_id()),
        person_id=person.id,
        institution_id=party.id,
        status="BENEFIT_RECIPIENT",
        since=LONG_AGO.date(),
        until=ended.date() if ended else None,
        worker_id=None,
        external_ref="POMOST/2024/17",
        created_at=LONG_AGO,
        updated_at=ended or LONG_AGO,
    )
    async with container.ctx.uow() as uow:
        await uow.enrollments.add(enrollment)
        await uow.commit()
    return enrollment


async def a_family(container: Container, party: Party, person: Person, *, left: datetime | None) -> Family:
    family_id = FamilyId(new_id())
    family = Family(
        id=family_id,
        name="Kowalscy",
        teryt=None,
        created_by=party.id,
        created_at=LONG_AGO,
        updated_at=LONG_AGO,
        memberships=[
            Membership(
                id=MembershipId(new_id()),
                family_id=family_id,
                person_id=person.id,
                role="HEAD",
                since=LONG_AGO.date(),
                recorded_at=LONG_AGO,
                until=left.date() if left else None,
                end_reason="LEFT" if left else None,
            )
        ],
    )
    async with container.ctx.uow() as uow:
        await uow.families.add(family)
        await uow.commit()
    return family


async def a_referral(
    container: Container, sender: Party, receiver: Party, persons: Sequence[Person], *, closed: datetime | None
) -> Referral:
    """Sent long ago with a justification and a note; cancelled at `closed`, or still open."""
    referral_id = ReferralId(new_id())
    referral = Referral(
        id=referral_id,
        sender_id=sender.id,
        sender_worker_id=None,
        receiver_id=receiver.id,
        service_id=None,
        person_id=persons[0].id,
        family_id=None,
        member_ids=tuple(p.id for p in persons),
        reason="UNEMPLOYMENT",
        instrument=RequestedInstrument(code_list="LabourMarketInstrument", code="CAREER_GUIDANCE"),
        justification="Samotnie wychowuje dwoje dzieci, długo bez pracy",
        priority="routine",
        respond_by=(LONG_AGO + timedelta(days=14)).date(),
        due=None,
        contract_action_ref=None,
        forwarded_from=None,
        chain_id=referral_id,
        status=ReferralStatus.DRAFT,
        created_at=LONG_AGO,
        updated_at=LONG_AGO,
    )
    referral.history.append(
        StatusChange(
            at=LONG_AGO,
            action=Action.CREATE,
            from_status=None,
            to_status=ReferralStatus.DRAFT,
            institution_id=sender.id,
            actor="test",
        )
    )
    referral.apply(Action.SEND, by=sender.id, actor="test", at=LONG_AGO, note="Pilne, proszę o kontakt")
    if closed is not None:
        referral.apply(Action.CANCEL, by=sender.id, actor="test", at=closed, note="Klientka zrezygnowała")
    async with container.ctx.uow() as uow:
        await uow.referrals.add(referral)
        await uow.commit()
    return referral


async def purges_of(container: Container, subject_id: object) -> list[AuditRecord]:
    async with container.ctx.uow() as uow:
        records = await uow.audit.for_subject(subject_id)
    return [r for r in records if r.action is AuditAction.PURGE]


async def stored_person(container: Container, person_id: PersonId) -> Person:
    async with container.ctx.uow() as uow:
        person = await uow.persons.get(person_id)
    assert person is not None
    return person


async def test_a_closed_referral_past_the_receivers_period_loses_the_receivers_copy_not_the_senders(
    container: Container, ops: Party, other_ops: Party
) -> None:
    ctx = context(container)
    jan = await a_person(container, JAN)
    await an_enrollment(container, jan, ops)
    old = await a_referral(container, ops, other_ops, [jan], closed=ago(31))
    young = await a_referral(container, ops, other_ops, [jan], closed=ago(29))
    still_open = await a_referral(container, ops, other_ops, [jan], closed=None)

    report = await purge_expired(ctx)

    assert report.counts[RecordClass.REFERRAL_COPY] == 1
    receivers = await read_referral(ctx, caller_of(other_ops), old.id)
    assert receivers.subjects == []
    assert receivers.referral.justification == ""
    assert all(h.note is None for h in receivers.referral.history)
    assert receivers.referral.receiver_copy_purged_at == NOW
    assert receivers.referral.member_ids == (jan.id,)  # the id alone names no one to the receiver
    senders = await read_referral(ctx, caller_of(ops), old.id)
    assert [s.first_name for s in senders.subjects] == ["Anna"]
    assert senders.subjects[0].pesel == JAN
    assert senders.referral.justification == old.justification
    assert [h.note for h in senders.referral.history][-2:] == ["Pilne, proszę o kontakt", "Klientka zrezygnowała"]
    for kept in (young, still_open):
        view = await read_referral(ctx, caller_of(other_ops), kept.id)
        assert view.referral.receiver_copy_purged_at is None
        assert view.referral.justification == kept.justification
        assert view.referral.history[-1].note is not None
    [purge] = await purges_of(container, old.id)
    assert purge.actor == "system:retention"
    assert purge.institution_id == other_ops.id
    assert purge.subject_type is SubjectType.REFERRAL
    assert purge.categories == (DataCategory.IDENTITY, DataCategory.REFERRAL)
    assert purge.reason == "referral_copy: 30 days after the referral closed (the default)"
    assert await purges_of(container, young.id) == []


async def test_an_institutions_own_period_wins_over_the_default(
    container: Container, ops: Party, pup: Party, ngo: Party, other_ops: Party
) -> None:
    ctx = context(container, {pup.id: {RecordClass.REFERRAL_COPY: 10}, ngo.id: {RecordClass.REFERRAL_COPY: 90}})
    jan = await a_person(container, JAN)
    to_pup = await a_referral(container, ops, pup, [jan], closed=ago(15))
    to_ngo = await a_referral(container, ops, ngo, [jan], closed=ago(40))
    to_other_ops = await a_referral(container, ops, other_ops, [jan], closed=ago(40))
    # The receiver's period counts, not the sender's.
    from_pup = await a_referral(container, pup, ops, [jan], closed=ago(15))

    report = await purge_expired(ctx)

    assert report.counts[RecordClass.REFERRAL_COPY] == 2
    async with container.ctx.uow() as uow:
        stored = {r.id: r for r in await uow.referrals.get_many([to_pup.id, to_ngo.id, to_other_ops.id, from_pup.id])}
    assert stored[to_pup.id].receiver_copy_purged_at == NOW
    assert stored[to_ngo.id].receiver_copy_purged_at is None
    assert stored[to_other_ops.id].receiver_copy_purged_at == NOW
    assert stored[from_pup.id].receiver_copy_purged_at is None
    [purge] = await purges_of(container, to_pup.id)
    assert purge.institution_id == pup.id
    assert purge.reason == "referral_copy: 10 days after the referral closed (the institution's file plan)"


async def test_many_referrals_are_purged_batch_by_batch(container: Container, ops: Party, pup: Party) -> None:
    jan = await a_person(container, JAN)
    referrals = [await a_referral(container, ops, pup, [jan], closed=ago(40)) for _ in range(5)]

    report = await purge_expired(context(container, batch_size=2))

    assert report.counts[RecordClass.REFERRAL_COPY] == 5
    for referral in referrals:
        assert len(await purges_of(container, referral.id)) == 1


@pytest.mark.sqlite
async def test_ended_enrollments_past_their_period_are_deleted(
    container: Container, ops: Party, pup: Party, ngo: Party
) -> None:
    jan, maria = await a_person(container, JAN), await a_person(container, MARIA)
    active = await an_enrollment(container, jan, pup)
    old = await an_enrollment(container, jan, ops, ended=ago(101))
    young = await an_enrollment(container, maria, ops, ended=ago(99))
    ngos_own = await an_enrollment(container, maria, ngo, ended=ago(31))

    report = await purge_expired(context(container, {ngo.id: {RecordClass.ENDED_ENROLLMENT: 30}}))

    assert report.counts[RecordClass.ENDED_ENROLLMENT] == 2
    async with container.ctx.uow() as uow:
        assert await uow.enrollments.get(old.id) is None
        assert await uow.enrollments.get(ngos_own.id) is None
        assert await uow.enrollments.get(young.id) is not None
        assert await uow.enrollments.get(active.id) is not None
    [purge] = await purges_of(container, old.id)
    assert purge.institution_id == ops.id
    assert purge.subject_type is SubjectType.ENROLLMENT
    assert purge.categories == (DataCategory.SOCIAL_ASSISTANCE_STATUS,)
    assert purge.reason == "ended_enrollment: 100 days after the enrollment ended (the default)"
    [purge] = await purges_of(container, ngos_own.id)
    assert purge.institution_id == ngo.id
    # Jan is still served by the PUP, Maria's ended enrollment at the OPS is still kept: neither is anonymised.
    assert report.counts[RecordClass.PERSON] == 0
    assert (await stored_person(container, jan.id)).first_name == "Anna"


@pytest.mark.sqlite
async def test_a_person_nothing_is_held_about_is_anonymised_and_the_rest_are_not(
    container: Container, ops: Party, pup: Party, ngo: Party
) -> None:
    ctx = context(container, {ngo.id: {RecordClass.PERSON: 365}})
    # Left a family of the OPS 61 days ago; nothing else.
    idle = await a_person(container, JAN)
    family = await a_family(container, ops, idle, left=ago(61))
    # Only an ended enrollment, itself past its period: both go in the same run.
    freed = await a_person(container, make_pesel("900101"))
    freed_enrollment = await an_enrollment(container, freed, pup, ended=ago(150))
    # Still linked, one way or another.
    enrolled = await a_person(container, MARIA)
    await an_enrollment(container, enrolled, pup)
    ended_kept = await a_person(container, KACPER)
    await an_enrollment(container, ended_kept, ops, ended=ago(99))
    in_family = await a_person(container, ZOFIA)
    await a_family(container, ops, in_family, left=None)
    referred = await a_person(container, make_pesel("800202"))
    await a_referral(container, ops, pup, [referred], closed=None)
    recently_referred = await a_person(container, make_pesel("800303"))
    await a_referral(container, ops, pup, [recently_referred], closed=ago(59))
    # Left a family the NGO made: the NGO keeps its persons a year, the longest period among those linked.
    ngos = await a_person(container, make_pesel("800404"))
    await a_family(container, ngo, ngos, left=ago(100))
    changed_lately = await a_person(container, make_pesel("800505"), changed=ago(10))

    report = await purge_expired(ctx)

    assert report.counts[RecordClass.PERSON] == 2
    assert report.counts[RecordClass.ENDED_ENROLLMENT] == 1
    anonymised = await stored_person(container, idle.id)
    assert anonymised.first_name == anonymised.last_name == ANONYMISED_NAME
    assert anonymised.pesel is None
    assert anonymised.identity_document is None
    assert anonymised.birth_date == date(1985, 1, 1)
    assert anonymised.sex == idle.sex
    assert anonymised.anonymised
    async with container.ctx.uow() as uow:
        kept_family = await uow.families.get(family.id)
        assert await uow.persons.by_pesel(Pesel.parse(JAN)) is None
    assert kept_family is not None
    assert [m.person_id for m in kept_family.memberships] == [idle.id]
    assert (await stored_person(container, freed.id)).anonymised
    for untouched in (enrolled, ended_kept, in_family, referred, recently_referred, ngos, changed_lately):
        person = await stored_person(container, untouched.id)
        assert person.first_name == "Anna"
        assert person.pesel == untouched.pesel
    [purge] = await purges_of(container, idle.id)
    assert purge.subject_type is SubjectType.PERSON
    assert purge.institution_id == ops.id
    assert purge.categories == (DataCategory.IDENTITY,)
    assert purge.reason == "person: 60 days after the person's last link with an institution ended (the default)"
    # With no institution linked any more, the operator's default applies and is recorded as such.
    [purge] = await purges_of(container, freed.id)
    assert purge.institution_id == DEFAULT_RULE_OWNER
    assert len(await purges_of(container, freed_enrollment.id)) == 1


@pytest.mark.sqlite
async def test_a_dry_run_changes_nothing_and_a_rerun_purges_nothing_more(
    container: Container, ops: Party, pup: Party
) -> None:
    ctx = context(container)
    jan, maria = await a_person(container, JAN), await a_person(container, MARIA)
    await an_enrollment(container, jan, ops)
    referral = await a_referral(container, ops, pup, [jan], closed=ago(31))
    enrollment = await an_enrollment(container, jan, pup, ended=ago(101))
    await a_family(container, ops, maria, left=ago(61))
    expected = {
        RecordClass.REFERRAL_COPY: 1,
        RecordClass.ENDED_ENROLLMENT: 1,
        RecordClass.CONSENT: 0,
        RecordClass.AGREEMENT: 0,
        RecordClass.PERSON: 1,
    }

    dry = await purge_expired(ctx, dry_run=True)

    assert dry.dry_run
    assert dict(dry.counts) == expected
    async with container.ctx.uow() as uow:
        stored = await uow.referrals.get(referral.id)
        assert stored is not None
        assert stored.receiver_copy_purged_at is None
        assert await uow.enrollments.get(enrollment.id) is not None
    assert (await stored_person(container, maria.id)).first_name == "Anna"
    for subject in (referral.id, enrollment.id, maria.id):
        assert await purges_of(container, subject) == []

    first = await purge_expired(ctx)
    again = await purge_expired(replace(ctx, clock=FixedClock(NOW + timedelta(hours=1))))

    assert dict(first.counts) == expected
    assert again.total == 0
    for subject in (referral.id, enrollment.id, maria.id):
        assert len(await purges_of(container, subject)) == 1


async def test_ended_consents_and_agreements_are_kept_as_proof_for_their_period(
    container: Container, ops: Party, pup: Party, ngo: Party
) -> None:
    jan = await a_person(container, JAN)
    await an_enrollment(container, jan, ngo)

    def consent(*, withdrawn: datetime | None, valid_to: date | None) -> Consent:
        return Consent(
            id=ConsentId(new_id()),
            person_id=jan.id,
            grantee_institution_id=ngo.id,
            grantee_kind=None,
            categories=frozenset({DataCategory.IDENTITY}),
            purpose="SERVICE_DELIVERY",
            valid_from=LONG_AGO.date(),
            valid_to=valid_to,
            method="SIGNED_FORM",
            given_on=LONG_AGO.date(),
            document_ref=None,
            recorded_by=ngo.id,
            created_at=LONG_AGO,
            withdrawn_at=withdrawn,
            withdrawn_by=ngo.id if withdrawn else None,
        )

    def agreement(*, ended: datetime | None, valid_to: date | None) -> Agreement:
        return Agreement(
            id=AgreementId(new_id()),
            title="Porozumienie o współpracy",
            parties=tuple(
                AgreementParty(institution_id=p.id, receives=frozenset({DataCategory.IDENTITY})) for p in (ops, pup)
            ),
            purposes=frozenset({"REFERRAL"}),
            legal_basis="art. 100 ust. 2 ustawy o pomocy społecznej",
            valid_from=LONG_AGO.date(),
            valid_to=valid_to,
            document_ref="OPS.0123.1.2025",
            created_by=ops.id,
            created_at=LONG_AGO,
            updated_at=LONG_AGO,
            ended_at=ended,
            end_reason="wypowiedziane" if ended else None,
        )

    withdrawn_long_ago = consent(withdrawn=ago(201), valid_to=None)
    lapsed_long_ago = consent(withdrawn=None, valid_to=ago(201).date())
    withdrawn_lately = consent(withdrawn=ago(199), valid_to=None)
    in_force = consent(withdrawn=None, valid_to=None)
    ended_long_ago = agreement(ended=ago(201), valid_to=None)
    ended_lately = agreement(ended=ago(150), valid_to=None)  # past the PUP's period, not the OPS's
    open_ended = agreement(ended=None, valid_to=None)
    async with container.ctx.uow() as uow:
        for c in (withdrawn_long_ago, lapsed_long_ago, withdrawn_lately, in_force):
            await uow.consents.add(c)
        for a in (ended_long_ago, ended_lately, open_ended):
            await uow.agreements.add(a)
        await uow.commit()
    ctx = context(container, {pup.id: {RecordClass.AGREEMENT: 100}, ops.id: {RecordClass.AGREEMENT: 180}})

    report = await purge_expired(ctx)

    assert report.counts[RecordClass.CONSENT] == 2
    assert report.counts[RecordClass.AGREEMENT] == 1
    async with container.ctx.uow() as uow:
        assert await uow.consents.get(withdrawn_long_ago.id) is None
        assert await uow.consents.get(lapsed_long_ago.id) is None
        assert await uow.consents.get(withdrawn_lately.id) is not None
        assert await uow.consents.get(in_force.id) is not None
        assert await uow.agreements.get(ended_long_ago.id) is None
        assert await uow.agreements.get(ended_lately.id) is not None
        assert await uow.agreements.get(open_ended.id) is not None
    [purge] = await purges_of(container, withdrawn_long_ago.id)
    assert purge.institution_id == ngo.id
    [purge] = await purges_of(container, ended_long_ago.id)
    assert purge.institution_id == ops.id  # the longer of the two parties' periods
    assert purge.reason == "agreement: 180 days after the agreement ended (the institution's file plan)"


async def test_the_receiver_is_shown_a_purged_copy_alike_over_rest_and_graphql(
    container: Container, client: httpx.AsyncClient, ops: Party, pup: Party
) -> None:
    jan = await a_person(container, JAN)
    await an_enrollment(container, jan, ops)
    referral = await a_referral(container, ops, pup, [jan], closed=ago(31))
    await purge_expired(context(container))
    query = (
        "query($id: UUID!) { referral(id: $id) { receiver_copy_purged_at subjects { person_id } history { note } } }"
    )

    receivers = (await client.get(f"/v1/referrals/{referral.id}", headers=pup.headers())).json()
    senders = (await client.get(f"/v1/referrals/{referral.id}", headers=ops.headers())).json()
    graph = await client.post(
        "/graphql", headers=pup.headers(), json={"query": query, "variables": {"id": str(referral.id)}}
    )

    assert receivers["receiver_copy_purged_at"] == senders["receiver_copy_purged_at"] == "2026-06-01T10:00:00Z"
    assert receivers["subjects"] == []
    assert receivers["justification"] == ""
    assert {h["note"] for h in receivers["history"]} == {None}
    assert [s["person_id"] for s in senders["subjects"]] == [str(jan.id)]
    assert senders["justification"] == referral.justification
    assert graph.json()["data"]["referral"] == {
        "receiver_copy_purged_at": "2026-06-01T10:00:00+00:00",
        "subjects": [],
        "history": [{"note": None}, {"note": None}, {"note": None}],
    }
