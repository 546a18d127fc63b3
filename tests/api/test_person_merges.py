"""Person merges over REST: two records of one person made one (every link moved, history kept, audited), and
undone exactly, compared row by row; refused where it would join two persons or reach beyond the caller."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import Text, cast, or_, select

from app.adapters.db.person_links import EMBEDDED
from app.adapters.db.tables import PersonRow, metadata
from app.bootstrap import Container
from app.domain.audit import AuditAction
from app.domain.ids import PersonId
from app.domain.values import Pesel
from tests.builders import JAN, KACPER, MARIA, person_body
from tests.conftest import Party
from tests.reconciliation_support import enroll, family, source_says
from tests.sharing_support import given_consent

URL = "/v1/person-merges"
TODAY = datetime.now(UTC).date().isoformat()
DOCUMENT = {"kind": "PASSPORT", "number": "FA123456", "country": "UA"}
# Columns of a person's own row that a merge and its undo may stamp anew: the version, the time, and the PESEL's
# sealed form (sealed again with a fresh nonce when it moves back); everything else must come back as it was.
RESTAMPED = {"version", "updated_at", "pesel_sealed"}


async def dump(container: Container, *person_ids: str) -> dict[str, list[dict[str, Any]]]:
    """Every row that refers to these persons, found from the schema's foreign keys to persons.id, every row of a
    table that names them inside JSON or text, and their own rows: the state a merge and its undo must restore."""
    ids = [UUID(p) for p in person_ids]
    target = metadata.tables["persons"].c.id
    found: dict[str, list[dict[str, Any]]] = {}
    async with container.engine.connect() as connection:
        for table in metadata.sorted_tables:
            columns = [fk.parent for fk in table.foreign_keys if fk.column is target]
            embedded = [table.c[name] for name in EMBEDDED.get(table.name, ()) if name in table.c]
            if table.name in {"persons", "person_merges"} or not (columns or embedded):
                continue
            conditions = [c.in_(ids) for c in columns]
            conditions += [cast(c, Text).like(f"%{p}%") for c in embedded for p in person_ids]
            rows = (await connection.execute(select(table).where(or_(*conditions)))).mappings().all()
            found[table.name] = sorted((dict(r) for r in rows), key=repr)
        persons = (await connection.execute(select(PersonRow.__table__).where(target.in_(ids)))).mappings().all()
        found["persons"] = sorted(({k: v for k, v in r.items() if k not in RESTAMPED} for r in persons), key=repr)
    return found


async def post(client: httpx.AsyncClient, party: Party, path: str, body: dict[str, Any], **headers: str) -> Any:
    response = await client.post(path, json=body, headers=party.headers(**headers))
    assert response.status_code in (200, 201), response.text
    return response.json()


async def act(client: httpx.AsyncClient, party: Party, referral: dict[str, Any], action: str, **body: Any) -> Any:
    return await post(
        client, party, f"/v1/referrals/{referral['id']}/{action}", body, **{"If-Match": f'"{referral["version"]}"'}
    )


def without_pesel(first_name: str, status: str, **extra: Any) -> dict[str, Any]:
    # Born on the day JAN's PESEL encodes, so that PESEL can be given to this record.
    return (
        person_body(None, first_name=first_name, status=status, birth_date="1985-03-12", identity_document=DOCUMENT)
        | extra
    )


async def register(client: httpx.AsyncClient, party: Party, body: dict[str, Any]) -> str:
    response = await client.post("/v1/persons", json=body, headers=party.headers())
    assert response.status_code in (200, 201), response.text
    person_id: str = response.json()["id"]
    return person_id


async def duplicates(client: httpx.AsyncClient, ops: Party, pup: Party) -> tuple[str, str]:
    """Jan twice: registered without PESEL (passport) at the MOPS and the PUP, and with his PESEL at both."""
    without = await register(client, ops, without_pesel("Jan", "BENEFIT_RECIPIENT"))
    assert await register(client, pup, without_pesel("Jan", "UNEMPLOYED")) == without
    with_pesel = await enroll(client, ops, JAN, "Jan", "BENEFIT_RECIPIENT")
    assert await enroll(client, pup, JAN, "Jan", "UNEMPLOYED") == with_pesel
    return without, with_pesel


async def merge(client: httpx.AsyncClient, party: Party, kept: str, merged: str, **extra: str) -> httpx.Response:
    body = {"kept_person_id": kept, "merged_person_id": merged, "reason": "zidentyfikowany, ten sam paszport"}
    return await client.post(URL, json=body, headers=party.headers(**extra))


async def undo(client: httpx.AsyncClient, party: Party, merged: dict[str, Any], **body: Any) -> httpx.Response:
    return await client.post(
        f"{URL}/{merged['id']}/undo", json=body, headers=party.headers(**{"If-Match": f'"{merged["version"]}"'})
    )


async def test_a_merge_moves_every_link_and_its_undo_restores_every_row_exactly(
    client: httpx.AsyncClient,
    container: Container,
    partnership: dict[str, Any],
    ops: Party,
    pup: Party,
    ngo: Party,
    other_ops: Party,
    zi: Party,
) -> None:
    anon, jan = await duplicates(client, ops, pup)
    assert await register(client, ngo, without_pesel("Jan", "PARTICIPANT")) == anon
    kacper = await enroll(client, ops, KACPER, "Kacper", "BENEFIT_RECIPIENT")
    both = await family(client, ops, [(anon, "PARENT"), (jan, "OTHER_RELATIVE")])
    nowak = await family(client, ops, [(anon, "PARENT"), (kacper, "CHILD")])
    instrument = {"code_list": "LabourMarketInstrument", "code": "TRAINING"}
    referral = {"receiver_id": str(pup.id), "reason": "UNEMPLOYMENT", "instrument": instrument, "send": True}
    await post(client, ops, "/v1/referrals", referral | {"person_id": anon})
    household = await post(client, ops, "/v1/referrals", referral | {"family_id": both})
    for action in ("receive", "accept", "start"):
        household = await act(client, pup, household, action)
    outcomes = [{"person_id": p, "kind": "TRAINING_COMPLETED", "on": TODAY} for p in (anon, jan)]
    await act(client, pup, household, "complete", outcomes=outcomes)
    await given_consent(container, ops.id, UUID(anon), ngo.id)
    await post(client, ops, "/v1/deliveries", {"role": "SOCIAL_WORKER", "person_id": anon, "on": TODAY, "hours": "2"})
    benefit = {"legal_basis": "SOCIAL_ASSISTANCE_ACT", "amount": "612.50", "paid_on": TODAY, "person_id": anon}
    await post(client, ops, "/v1/benefits", benefit)
    await post(client, pup, "/v1/outcomes", {"person_id": anon, "kind": "TRAINING_COMPLETED", "on": TODAY})
    terms = {
        "goals": ["Zatrudnienie ojca"],
        "actions": [{"description": "Praca socjalna", "member_ids": [anon, kacper], "responsible": str(ops.id)}],
    }
    contract = {
        "kind": "TRI_PARTY_FAMILY",
        "partnership_id": partnership["id"],
        "family_id": nowak,
        "institutions": [str(ops.id), str(pup.id)],
        "signing_members": [anon],
        "terms": terms,
    }
    await post(client, ops, "/v1/contracts", contract, **{"X-Acting-Worker": str(ops.worker_id)})
    restricted = await client.post(
        "/v1/restricted-records",
        json={"form": "NK_A", "procedure_date": "2025-01-15", "person_id": anon},
        headers={"Authorization": f"Bearer {zi.token(roles=frozenset({'interdisciplinary_team'}))}"},
    )
    assert restricted.status_code == 201, restricted.text
    await source_says(container, ops, "OPS-A", anon, household=[(anon, "PARENT"), (kacper, "CHILD")])
    await source_says(
        container, pup, "PUP-J", jan, status="UNEMPLOYED", household=[(jan, "PARENT"), (anon, "OTHER_RELATIVE")]
    )

    before = await dump(container, anon, jan)
    assert {t for t, rows in before.items() if rows} == {
        "benefits",
        "consents",
        "contracts",
        "enrollments",
        "family_memberships",
        "outcomes",
        "persons",
        "referral_outcomes",
        "referral_subjects",
        "referrals",
        "restricted_records",
        "source_records",
        "specialist_hours",
    }
    merged_response = await merge(client, ops, jan, anon)
    assert merged_response.status_code == 201, merged_response.text
    merged = merged_response.json()
    assert merged_response.headers["location"] == f"{URL}/{merged['id']}"
    assert merged["state"] == "MERGED"
    assert merged["identity_document_moved"] is True
    assert merged["pesel_moved"] is False
    links = merged["links"]
    assert links["moved"]["enrollments"] == 3
    assert links["ended"] == {"enrollments": 2, "family_memberships": 1}  # both were served by the MOPS and the PUP
    assert links["set_aside"] == {"referral_subjects": 1, "referral_outcomes": 1}
    assert {"referrals", "consents", "specialist_hours", "benefits", "outcomes", "source_records"} <= set(
        links["moved"]
    )
    assert links["rewritten"]["contracts"] >= 2
    assert links["rewritten"]["source_records"] == 2
    assert "restricted_records" not in str(links)  # moved, but never named to the MOPS

    # Nothing refers to the merged record any more but its own history; it is kept, marked, out of every list.
    after = await dump(container, anon)
    assert {t: rows for t, rows in after.items() if rows and t != "persons"} == {}
    assert after["persons"][0]["merged_into"] == UUID(jan)
    moved = await dump(container, jan)
    assert len(moved["restricted_records"]) == 1
    read = await client.get(f"/v1/persons/{anon}", headers=ops.headers())
    assert read.status_code == 404
    assert f"/v1/persons/{jan}" in read.json()["detail"]
    # The NGO's enrollment moved with the rest: it is told too. An institution serving neither record is not.
    assert f"/v1/persons/{jan}" in (await client.get(f"/v1/persons/{anon}", headers=ngo.headers())).json()["detail"]
    assert (await client.get(f"/v1/persons/{anon}", headers=other_ops.headers())).json()["detail"] == "no such person"
    listed = (await client.get("/v1/persons", headers=ops.headers())).json()["items"]
    assert anon not in {p["id"] for p in listed}
    kept = (await client.get(f"/v1/persons/{jan}", headers=ops.headers())).json()
    assert set(kept["family_ids"]) == {both, nowak}
    assert kept["identity_document"]["number"] == DOCUMENT["number"]
    # The passport now finds the kept record.
    assert await register(client, pup, without_pesel("Jan", "UNEMPLOYED")) == jan
    assert (await client.get(f"{URL}/{merged['id']}", headers=ops.headers())).json() == merged
    assert (await client.get(f"{URL}/{merged['id']}", headers=pup.headers())).status_code == 404

    # The access report of the kept person holds the merged record's trail too.
    access = await client.get(f"/v1/persons/{jan}/access-report", headers=ops.headers())
    assert access.status_code == 200, access.text
    assert anon in access.text

    undone = await undo(client, ops, merged, note="pomyłka")
    assert undone.status_code == 200, undone.text
    assert undone.json()["state"] == "UNDONE"
    assert undone.json()["undo_note"] == "pomyłka"
    assert await dump(container, anon, jan) == before
    assert (await client.get(f"/v1/persons/{anon}", headers=ops.headers())).status_code == 200
    assert (await undo(client, ops, merged)).status_code == 412
    assert (await undo(client, ops, undone.json())).status_code == 409

    async with container.ctx.uow() as uow:
        trails = {p: await uow.audit.for_subject(UUID(p)) for p in (anon, jan)}
    for trail in trails.values():
        assert [r.action for r in trail if r.action in (AuditAction.MERGE, AuditAction.UNMERGE)] == [
            AuditAction.MERGE,
            AuditAction.UNMERGE,
        ]
        assert all(r.institution_id == ops.id for r in trail if r.action is AuditAction.MERGE)
        assert any(merged["id"] in (r.reason or "") for r in trail if r.action is AuditAction.MERGE)


async def test_the_kept_record_takes_the_pesel_it_lacked_and_gives_it_back_on_undo(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party
) -> None:
    anon, jan = await duplicates(client, ops, pup)
    merged = await merge(client, ops, anon, jan)
    assert merged.status_code == 201, merged.text
    assert merged.json()["pesel_moved"] is True
    async with container.ctx.uow() as uow:
        holder = await uow.persons.by_pesel(Pesel.parse(JAN))
    assert holder is not None
    assert str(holder.id) == anon
    assert await enroll(client, pup, JAN, "Jan", "UNEMPLOYED") == anon

    assert (await undo(client, ops, merged.json())).status_code == 200
    async with container.ctx.uow() as uow:
        holder = await uow.persons.by_pesel(Pesel.parse(JAN))
        without = await uow.persons.get(PersonId(UUID(anon)))
    assert holder is not None
    assert str(holder.id) == jan
    assert holder.pesel == Pesel(JAN)
    assert without is not None
    assert without.pesel is None
    assert without.merged_into is None


async def test_a_merge_is_refused_across_pesels_beyond_the_callers_clients_and_without_the_scope(
    client: httpx.AsyncClient, ops: Party, pup: Party
) -> None:
    jan = await enroll(client, ops, JAN, "Jan", "BENEFIT_RECIPIENT")
    maria = await enroll(client, ops, MARIA, "Maria", "BENEFIT_RECIPIENT")
    different = await merge(client, ops, jan, maria)
    assert different.status_code == 409
    assert "different PESELs" in different.json()["detail"]

    same = await merge(client, ops, jan, jan)
    assert same.status_code == 422

    theirs = await enroll(client, pup, KACPER, "Kacper", "UNEMPLOYED")
    assert (await merge(client, ops, jan, theirs)).status_code == 404
    assert (await merge(client, ops, str(UUID(int=5)), jan)).status_code == 404

    # A person the MOPS sees (in a family it keeps) but no longer enrolls: visible, not its to merge.
    anon = await register(client, ops, without_pesel("Jan", "BENEFIT_RECIPIENT"))
    await family(client, ops, [(anon, "PARENT"), (jan, "PARENT")])
    enrollment = (await client.get(f"/v1/persons/{anon}", headers=ops.headers())).json()["enrollments"][0]
    ended = await client.patch(
        f"/v1/enrollments/{enrollment['id']}",
        json={"until": TODAY},
        headers=ops.headers(**{"If-Match": f'"{enrollment["version"]}"'}),
    )
    assert ended.status_code == 200, ended.text
    not_enrolled = await merge(client, ops, jan, anon)
    assert not_enrolled.status_code == 403
    assert not_enrolled.json()["type"] == "/problems/forbidden"

    no_scope = await client.post(
        URL,
        json={"kept_person_id": jan, "merged_person_id": anon, "reason": "x"},
        headers=ops.headers("persons:read"),
    )
    assert no_scope.status_code == 403
    assert no_scope.json()["type"] == "/problems/insufficient-scope"


async def test_an_undo_is_refused_when_links_changed_since_and_says_which(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party
) -> None:
    anon, jan = await duplicates(client, ops, pup)
    first = (await merge(client, ops, jan, anon)).json()

    # Another duplicate merged into the same record later: that one must be undone first.
    other = await register(
        client, ops, without_pesel("Jan", "BENEFIT_RECIPIENT", identity_document=DOCUMENT | {"number": "FB999999"})
    )
    second = await merge(client, ops, jan, other)
    assert second.status_code == 201, second.text
    refused = await undo(client, ops, first)
    assert refused.status_code == 409
    assert second.json()["id"] in refused.json()["detail"]
    assert (await undo(client, ops, second.json())).status_code == 200

    # A benefit recorded for the person since: nobody can tell whose record it belongs to.
    benefit = {"legal_basis": "SOCIAL_ASSISTANCE_ACT", "amount": "100.00", "paid_on": TODAY, "person_id": jan}
    await post(client, ops, "/v1/benefits", benefit)
    blocked = await undo(client, ops, first)
    assert blocked.status_code == 409
    assert "benefits: 1" in blocked.json()["detail"]
    assert "keep_links_added_since" in blocked.json()["detail"]

    # A link the merge moved, re-pointed since (here by hand, as a repair would): not undone blindly.
    enrollments = metadata.tables["enrollments"]
    async with container.engine.begin() as connection:
        moved = (
            (
                await connection.execute(
                    select(enrollments.c.id).where(
                        enrollments.c.person_id == UUID(jan), enrollments.c.until.is_not(None)
                    )
                )
            )
            .scalars()
            .first()
        )
        await connection.execute(enrollments.update().where(enrollments.c.id == moved).values(person_id=UUID(other)))
    changed = await undo(client, ops, first, keep_links_added_since=True)
    assert changed.status_code == 409
    assert "enrollments: a row the merge moved no longer refers to the kept person" in changed.json()["detail"]
    async with container.engine.begin() as connection:
        await connection.execute(enrollments.update().where(enrollments.c.id == moved).values(person_id=UUID(jan)))

    undone = await undo(client, ops, first, keep_links_added_since=True)
    assert undone.status_code == 200, undone.text
    async with container.engine.connect() as connection:
        benefits = metadata.tables["benefits"]
        holders = (await connection.execute(select(benefits.c.person_id))).scalars().all()
    assert holders == [UUID(jan)]  # the benefit stayed with the kept person


@pytest.mark.sqlite
async def test_a_merge_and_its_undo_leave_every_row_as_it_was_on_either_database(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party
) -> None:
    anon, jan = await duplicates(client, ops, pup)
    await family(client, ops, [(anon, "PARENT"), (jan, "OTHER_RELATIVE")])
    await source_says(container, ops, "OPS-A", anon, household=[(anon, "PARENT")])
    before = await dump(container, anon, jan)

    merged = await merge(client, ops, jan, anon)
    assert merged.status_code == 201, merged.text
    assert merged.json()["links"]["ended"] == {"enrollments": 2, "family_memberships": 1}
    assert (await client.get(f"/v1/persons/{anon}", headers=ops.headers())).status_code == 404

    assert (await undo(client, ops, merged.json())).status_code == 200
    assert await dump(container, anon, jan) == before


async def test_every_institution_serving_the_person_learns_which_id_stands_for_them_and_no_other(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party, other_ops: Party
) -> None:
    anon, jan = await duplicates(client, ops, pup)
    merged = await merge(client, ops, anon, jan)
    assert merged.status_code == 201, merged.text
    assert (await undo(client, ops, merged.json())).status_code == 200
    await container.relay.run_once()

    def told(party: Party) -> Any:
        return client.get("/v1/events", headers=party.headers())

    feeds = {party.key: (await told(party)).json()["items"] for party in (ops, pup, other_ops)}

    expected = [
        ("person.merged", {"type": "person", "id": anon}, {"merged_person_id": jan}),
        ("person.merge_undone", {"type": "person", "id": anon}, {"merged_person_id": jan}),
    ]
    for key in ("ops", "pup"):
        assert [(e["type"], e["subject"], e["data"]) for e in feeds[key]] == expected, key
    assert feeds["other_ops"] == []
