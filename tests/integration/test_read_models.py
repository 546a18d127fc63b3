"""The read models on PostgreSQL (one asyncpg statement for the grounds, one for the records) answer exactly as the
repositories asked one by one, which is what SQLite and the domain's fakes use: the same grounds, the same records,
the same limit."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import text

from app.bootstrap import Container
from app.domain.audit import AuditAction, AuditRecord, Decision, SubjectType
from app.domain.ids import AuditEventId, FamilyId, InstitutionId, PersonId, new_id
from app.domain.lookup_reads import LookupKey, LookupReads, RateWindow
from app.domain.read_models import ReadModels
from app.domain.services.read_stores import UnitOfWorkFamilyReads, UnitOfWorkLookupReads, UnitOfWorkPersonReads
from app.domain.values import Pesel
from tests.api.test_sharing import agreement_body, enroll, signed
from tests.builders import JAN, KACPER, MARIA, ZOFIA, person_body
from tests.conftest import Party

pytestmark = pytest.mark.asyncio

WINDOW_START = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
BORN = date(1990, 4, 2)  # person_body's birth date for a person without PESEL


def postgresql_models(container: Container) -> ReadModels:
    """The one-statement read models; this module is not marked `sqlite`, so it runs on PostgreSQL only, where the
    container always has them."""
    assert container.ctx.read_models is not None, "a PostgreSQL container without its read models"
    return container.ctx.read_models


def stores(container: Container) -> tuple[LookupReads, LookupReads]:
    return postgresql_models(container).lookups, UnitOfWorkLookupReads(container.ctx.uow)


def window(bucket: str, per_window: int = 5, start: datetime = WINDOW_START) -> RateWindow:
    return RateWindow(bucket=bucket, start=start, per_window=per_window)


async def served_widely(client: httpx.AsyncClient, ops: Party, pup: Party, ngo: Party, other_ops: Party) -> None:
    """Jan at the MOPS (with a worker), the PUP and the NGO (with a consent), once at the GOPS (ended); the PUP's
    agreement with the GOPS ended (its agreement with the MOPS stands); two persons without PESEL born the same day,
    one named like Ołena."""
    jan = await enroll(
        client, ops, person_body(JAN, enrollment={"status": "BENEFIT_RECIPIENT", "worker_id": str(ops.worker_id)})
    )
    await enroll(client, pup, person_body(JAN, status="UNEMPLOYED"))
    await enroll(client, ngo, person_body(JAN, status="PARTICIPANT"))
    await enroll(client, other_ops, person_body(JAN, status="APPLICANT"))
    async with ops.container.engine.begin() as connection:
        await connection.execute(
            text("UPDATE enrollments SET until = '2026-01-31' WHERE person_id = :person AND institution_id = :gops"),
            {"person": jan["id"], "gops": other_ops.id},
        )
    await consent(client, ops, jan["id"], ngo, ["identity", "social_assistance_status"], "SHARED_CLIENT_CHECK")
    ended = await signed(client, agreement_body(pup, other_ops), pup, other_ops)
    finished = await client.post(
        f"/v1/agreements/{ended['id']}/end",
        json={"reason": "wygasło"},
        headers=pup.headers(**{"If-Match": f'"{ended["version"]}"'}),
    )
    assert finished.status_code == 200, finished.text
    await enroll(client, other_ops, person_body(MARIA, first_name="Maria", status="APPLICANT"))
    await enroll(client, ops, person_body(None, first_name="Ołena", last_name="Kowalenko"))
    await enroll(
        client,
        ops,
        person_body(
            None,
            first_name="Olga",
            last_name="Kowalenko",
            identity_document={"kind": "PASSPORT", "number": "FB765432", "country": "UA"},
        ),
    )


async def consent(
    client: httpx.AsyncClient, recorder: Party, person_id: str, grantee: Party, categories: list[str], purpose: str
) -> None:
    body = {
        "grantee": {"institution_id": str(grantee.id)},
        "categories": categories,
        "purpose": purpose,
        "method": "SIGNED_FORM",
        "given_on": "2025-03-01",
    }
    recorded = await client.post(f"/v1/persons/{person_id}/consents", json=body, headers=recorder.headers())
    assert recorded.status_code == 201, recorded.text


def comparable(grounds: Any) -> Any:
    """Grounds with their collections in one order: a mapping's order says nothing."""
    return (
        grounds.hits,
        grounds.caller_institution,
        list(grounds.candidates),
        list(grounds.active_enrollments),
        sorted(grounds.institutions.items()),
        sorted(grounds.workers.items()),
        list(grounds.agreements),
        list(grounds.consents),
    )


async def test_both_read_models_read_the_same_grounds(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party, ngo: Party, other_ops: Party
) -> None:
    fast, by_repositories = stores(container)
    await served_widely(client, ops, pup, ngo, other_ops)
    keys = {
        "by PESEL": LookupKey(pesel=Pesel.parse(JAN)),
        "by names, case and spaces aside": LookupKey(first_name=" OŁENA", last_name="kowalenko ", birth_date=BORN),
        "unknown PESEL": LookupKey(pesel=Pesel.parse("02070803628")),
        "names of nobody": LookupKey(first_name="Anna", last_name="Kowalenko", birth_date=BORN),
    }
    for caller in (pup, ngo, other_ops):
        for name, key in keys.items():
            read = await fast.grounds(caller.id, key, window(f"lookup:{caller.key}"))
            expected = await by_repositories.grounds(caller.id, key, window(f"lookup:{caller.key}"))
            assert comparable(read) == comparable(expected), (caller.key, name)

    jan = await fast.grounds(pup.id, keys["by PESEL"], window("lookup:pup"))
    assert len(jan.candidates) == 1
    assert {e.institution_id for e in jan.active_enrollments} == {ops.id, pup.id, ngo.id}
    assert set(jan.workers) == {ops.worker_id}
    assert len(jan.agreements) == 1  # the fixture's MOPS-PUP one; the ended one is not there
    assert len(jan.consents) == 1
    olena = await fast.grounds(pup.id, keys["by names, case and spaces aside"], window("lookup:pup"))
    assert len(olena.candidates) == 1
    assert {e.person_id for e in olena.active_enrollments} == set(olena.candidates)


async def test_a_spent_window_reads_no_person_and_an_unknown_institution_reads_none(
    container: Container, client: httpx.AsyncClient, ops: Party, pup: Party, ngo: Party, other_ops: Party
) -> None:
    fast, by_repositories = stores(container)
    await served_widely(client, ops, pup, ngo, other_ops)
    async with container.engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO rate_limit_windows (bucket, window_start, hits) VALUES ('lookup:spent', :at, 5)"),
            {"at": WINDOW_START},
        )
    key = LookupKey(pesel=Pesel.parse(JAN))
    for store in (fast, by_repositories):
        spent = await store.grounds(pup.id, key, window("lookup:spent"))
        assert (spent.hits, list(spent.candidates), list(spent.active_enrollments)) == (5, [], [])
        assert spent.caller_institution is not None
        stranger = await store.grounds(InstitutionId(new_id()), key, window("lookup:stranger"))
        assert stranger.caller_institution is None


def records_for(party: Party, count: int) -> list[AuditRecord]:
    return [
        AuditRecord(
            id=AuditEventId(new_id()),
            occurred_at=WINDOW_START,
            actor=f"client:{party.key}",
            actor_worker_id=party.worker_id,
            institution_id=party.id,
            action=AuditAction.LOOKUP,
            subject_type=SubjectType.LOOKUP,
            subject_id=new_id(),
            request_id="r-1",
            purpose="SHARED_CLIENT_CHECK",
            categories=(),
            decision=Decision.DENY,
            reason="no match",
        )
        for _ in range(count)
    ]


async def stored(container: Container, records: list[AuditRecord]) -> list[AuditRecord]:
    found = []
    async with container.ctx.uow() as uow:
        for record in records:
            found += [r for r in await uow.audit.for_subject(record.subject_id) if r.id == record.id]
    return found


async def test_recording_counts_writes_every_record_and_writes_nothing_once_the_window_is_spent(
    container: Container, pup: Party
) -> None:
    for name, store in zip(("fast", "by repositories"), stores(container), strict=True):
        limit = window(f"lookup:{name}", per_window=2)
        first, second, third = records_for(pup, 2), records_for(pup, 1), records_for(pup, 1)
        assert await store.record(first, limit)
        assert await store.record(second, limit)
        assert not await store.record(third, limit), name
        assert await stored(container, first + second + third) == first + second, name
        # A new window opens the count again, and the old window's row goes.
        later = window(f"lookup:{name}", per_window=2, start=WINDOW_START + timedelta(minutes=1))
        assert await store.record(third, later)
        async with container.engine.connect() as connection:
            rows = (
                await connection.execute(
                    text("SELECT hits FROM rate_limit_windows WHERE bucket = :bucket"), {"bucket": f"lookup:{name}"}
                )
            ).all()
        assert [tuple(r) for r in rows] == [(1,)], name


async def test_lookups_at_the_same_moment_never_pass_the_limit(container: Container, pup: Party) -> None:
    for name, store in zip(("fast", "by repositories"), stores(container), strict=True):
        limit = window(f"lookup:race:{name}", per_window=4)
        batches = [records_for(pup, 1) for _ in range(12)]
        answers = await asyncio.gather(*(store.record(b, limit) for b in batches))
        assert answers.count(True) == 4, name
        kept = await stored(container, [r for b in batches for r in b])
        assert len(kept) == 4, name


async def nowak_households(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party, ngo: Party, other_ops: Party
) -> tuple[str, ...]:
    """The MOPS keeps the Nowaks: Jan (also at the PUP, with the MOPS's worker), Maria (left the household, still the
    MOPS's client), Kacper (left, and now served only by the GOPS) and Zofia (also at the NGO, with a consent). The
    GOPS keeps a household of Kacper's; the NGO keeps one of Zofia's."""
    with_worker = {"status": "BENEFIT_RECIPIENT", "worker_id": str(ops.worker_id)}
    jan = (await enroll(client, ops, person_body(JAN, enrollment=with_worker)))["id"]
    await enroll(client, pup, person_body(JAN, status="UNEMPLOYED"))
    maria = (await enroll(client, ops, person_body(MARIA, first_name="Maria")))["id"]
    kacper = (await enroll(client, ops, person_body(KACPER, first_name="Kacper")))["id"]
    await enroll(client, other_ops, person_body(KACPER, first_name="Kacper", status="APPLICANT"))
    zofia = (await enroll(client, ops, person_body(ZOFIA, first_name="Zofia")))["id"]
    await enroll(client, ngo, person_body(ZOFIA, first_name="Zofia", status="PARTICIPANT"))
    await consent(client, ngo, zofia, ops, ["identity", "household"], "FAMILY_COOPERATION")
    nowaks = await family(client, ops, jan, maria, kacper, zofia)
    async with container.engine.begin() as connection:
        await connection.execute(
            text("UPDATE family_memberships SET until = '2026-02-01' WHERE family_id = :f AND person_id IN (:m, :k)"),
            {"f": nowaks, "m": maria, "k": kacper},
        )
        await connection.execute(
            text("UPDATE enrollments SET until = '2026-02-01' WHERE person_id = :k AND institution_id = :ops"),
            {"k": kacper, "ops": ops.id},
        )
    kacpers = await family(client, other_ops, kacper)
    zofias = await family(client, ngo, zofia)
    return jan, maria, kacper, zofia, nowaks, kacpers, zofias


async def test_both_family_read_models_read_the_same_grounds(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party, ngo: Party, other_ops: Party
) -> None:
    fast, by_repositories = postgresql_models(container).families, UnitOfWorkFamilyReads(container.ctx.uow)
    jan, maria, _, zofia, nowaks, kacpers, zofias = await nowak_households(client, container, ops, pup, ngo, other_ops)
    asked = [nowaks, kacpers, zofias, str(new_id())]
    for caller in (ops, pup, ngo, other_ops):
        ids = [FamilyId(UUID(f)) for f in asked]
        read = await fast.grounds(ids, caller.id)
        expected = await by_repositories.grounds(ids, caller.id)
        assert family_comparable(read) == family_comparable(expected), caller.key
    seen_by_ops = await fast.grounds([FamilyId(UUID(nowaks))], ops.id)
    assert {str(p.id) for p in seen_by_ops.persons} == {jan, maria, zofia}  # Kacper left and is not the MOPS's
    assert len(seen_by_ops.families[0].memberships) == 4
    assert set(seen_by_ops.workers) == {ops.worker_id}
    seen_by_gops = await fast.grounds([FamilyId(UUID(f)) for f in asked], other_ops.id)
    assert {str(f.id) for f in seen_by_gops.families} == {kacpers}
    assert len(seen_by_gops.consents) == 0
    seen_by_pup = await fast.grounds([FamilyId(UUID(nowaks))], pup.id)
    assert seen_by_pup.agreements
    assert {str(c.person_id) for c in seen_by_pup.consents} == {zofia}


async def family(client: httpx.AsyncClient, keeper: Party, *person_ids: str) -> str:
    body = {"name": "Rodzina", "members": [{"person_id": p, "role": "PARENT"} for p in person_ids]}
    created = await client.post("/v1/families", json=body, headers=keeper.headers())
    assert created.status_code == 201, created.text
    family_id: str = created.json()["id"]
    return family_id


def family_comparable(grounds: Any) -> Any:
    return (
        grounds.caller_institution,
        sorted((f.id, f.name, f.created_by, sorted(f.memberships, key=lambda m: m.id)) for f in grounds.families),
        sorted(grounds.persons, key=lambda p: p.id),
        list(grounds.own_enrollments),
        sorted(grounds.workers.items()),
        sorted((p, sorted(fs)) for p, fs in grounds.families_of.items()),
        list(grounds.agreements),
        list(grounds.consents),
    )


async def test_both_person_read_models_read_the_same_grounds(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party, ngo: Party, other_ops: Party
) -> None:
    fast, by_repositories = postgresql_models(container).persons, UnitOfWorkPersonReads(container.ctx.uow)
    jan, maria, kacper, zofia, nowaks, _, zofias = await nowak_households(client, container, ops, pup, ngo, other_ops)
    for caller in (ops, pup, ngo, other_ops):
        for person in (jan, maria, kacper, zofia, str(new_id())):
            read = await fast.grounds(PersonId(UUID(person)), caller.id)
            expected = await by_repositories.grounds(PersonId(UUID(person)), caller.id)
            assert person_comparable(read) == person_comparable(expected), (caller.key, person)
    kacper_for_ops = await fast.grounds(PersonId(UUID(kacper)), ops.id)
    assert not kacper_for_ops.own  # left the household, enrollment ended
    assert [e.institution_id for e in kacper_for_ops.active_enrollments] == [other_ops.id]
    assert len(kacper_for_ops.own_enrollments) == 1
    zofia_for_ngo = await fast.grounds(PersonId(UUID(zofia)), ngo.id)
    assert zofia_for_ngo.own
    # Serving a current member makes a household visible: the NGO's own, and the Nowaks.
    assert {str(f) for f in zofia_for_ngo.family_ids} == {zofias, nowaks}
    jan_for_pup = await fast.grounds(PersonId(UUID(jan)), pup.id)
    assert {str(f) for f in jan_for_pup.family_ids} == {nowaks}
    assert set(jan_for_pup.workers) == {ops.worker_id}
    assert set(jan_for_pup.institutions) == {ops.id}


def person_comparable(grounds: Any) -> Any:
    return (
        grounds.person,
        grounds.caller_institution,
        grounds.own,
        list(grounds.active_enrollments),
        sorted(grounds.institutions.items()),
        list(grounds.own_enrollments),
        sorted(grounds.workers.items()),
        sorted(grounds.family_ids),
        list(grounds.agreements),
        list(grounds.consents),
    )


async def test_the_read_models_run_on_generic_plans(container: Container) -> None:
    """Their statements are planned once, not again at each execution (planning cost a family read more than
    running it)."""
    assert container.read_pool is not None, "a PostgreSQL container without its read pool"
    pool = await container.read_pool()
    assert await pool.fetchval("SHOW plan_cache_mode") == "force_generic_plan"
