"""Agreements, consents and the shared-client lookup over REST, and what they open (or stop opening) elsewhere."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.adapters.db.tables import AuditEventRow
from tests.builders import JAN, MARIA, person_body
from tests.conftest import Party

pytestmark = pytest.mark.asyncio


async def enroll(client: httpx.AsyncClient, party: Party, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/v1/persons", json=body, headers=party.headers())
    assert response.status_code in (200, 201), response.text
    found: dict[str, Any] = response.json()
    return found


def agreement_body(
    *parties: Party, receives: tuple[str, ...] = ("identity", "social_assistance_status")
) -> dict[str, Any]:
    return {
        "title": "Porozumienie o wymianie informacji",
        "parties": [{"institution_id": str(p.id), "receives": list(receives)} for p in parties],
        "purposes": ["SHARED_CLIENT_CHECK", "FAMILY_COOPERATION"],
        "legal_basis": "art. 100 ust. 2 ustawy o pomocy społecznej",
        "valid_from": "2025-01-01",
        "document_ref": "Porozumienie nr 7/2025",
    }


async def signed(client: httpx.AsyncClient, body: dict[str, Any], *parties: Party) -> dict[str, Any]:
    created = await client.post("/v1/agreements", json=body, headers=parties[0].headers())
    assert created.status_code == 201, created.text
    agreement: dict[str, Any] = created.json()
    for party in parties:
        signing = await client.post(
            f"/v1/agreements/{agreement['id']}/sign",
            json={"signed_on": "2025-01-02"},
            headers=party.headers(**{"If-Match": f'"{agreement["version"]}"'}),
        )
        assert signing.status_code == 200, signing.text
        agreement = signing.json()
    return agreement


async def refer(client: httpx.AsyncClient, sender: Party, receiver: Party, person_id: str) -> httpx.Response:
    body = {
        "person_id": person_id,
        "receiver_id": str(receiver.id),
        "reason": "UNEMPLOYMENT",
        "instrument": {"code_list": "LabourMarketInstrument", "code": "TRAINING"},
        "justification": "potrzebne szkolenie",
        "send": True,
    }
    return await client.post("/v1/referrals", json=body, headers=sender.headers())


async def lookup(client: httpx.AsyncClient, party: Party, **body: Any) -> httpx.Response:
    return await client.post(
        "/v1/shared-client-lookups", json={"purpose": "SHARED_CLIENT_CHECK", **body}, headers=party.headers()
    )


async def test_an_agreement_opens_nothing_until_every_party_signs_and_nothing_once_ended(
    client: httpx.AsyncClient, ops: Party, other_ops: Party
) -> None:
    person = await enroll(client, ops, person_body(JAN))
    created = await client.post("/v1/agreements", json=agreement_body(ops, other_ops), headers=ops.headers())
    assert created.status_code == 201
    assert created.headers["location"] == f"/v1/agreements/{created.json()['id']}"
    assert created.json()["in_force"] is False
    assert (await lookup(client, other_ops, pesel=JAN)).json() == {"matches": []}

    agreement = await signed(client, agreement_body(ops, other_ops), ops, other_ops)
    assert agreement["in_force"] is True
    assert agreement["signed_on"] == "2025-01-02"
    found = (await lookup(client, other_ops, pesel=JAN)).json()["matches"]
    assert [m["person_id"] for m in found] == [person["id"]]
    assert [s["institution_id"] for s in found[0]["served_at"]] == [str(ops.id)]
    assert found[0]["served_at"][0]["worker"] is None  # no worker named at the MOPS
    assert "pesel" not in str(found)
    assert "BENEFIT_RECIPIENT" not in str(found)

    ended = await client.post(
        f"/v1/agreements/{agreement['id']}/end",
        json={"reason": "wypowiedzenie"},
        headers=other_ops.headers(**{"If-Match": f'"{agreement["version"]}"'}),
    )
    assert ended.status_code == 200
    assert ended.json()["in_force"] is False
    assert (await lookup(client, other_ops, pesel=JAN)).json() == {"matches": []}


async def test_agreements_are_seen_by_their_parties_only_and_need_the_scope_to_change(
    client: httpx.AsyncClient, ops: Party, other_ops: Party, ngo: Party
) -> None:
    agreement = await signed(client, agreement_body(ops, other_ops), ops, other_ops)
    assert (await client.get(f"/v1/agreements/{agreement['id']}", headers=ngo.headers())).status_code == 404
    listed = await client.get("/v1/agreements", headers=other_ops.headers())
    assert agreement["id"] in [a["id"] for a in listed.json()["items"]]
    assert agreement["id"] not in (await client.get("/v1/agreements", headers=ngo.headers())).text
    no_scope = await client.post(
        "/v1/agreements", json=agreement_body(ops, other_ops), headers=ops.headers("persons:read")
    )
    assert no_scope.status_code == 403
    assert (await client.post("/v1/agreements", json=agreement_body(ops, other_ops))).status_code == 401


async def test_an_ngo_cannot_be_party_to_an_agreement_and_niebieska_karta_is_never_a_category(
    client: httpx.AsyncClient, ops: Party, ngo: Party, other_ops: Party
) -> None:
    with_ngo = await client.post("/v1/agreements", json=agreement_body(ops, ngo), headers=ops.headers())
    assert with_ngo.status_code == 422
    assert "consent" in with_ngo.text
    restricted = await client.post(
        "/v1/agreements", json=agreement_body(ops, other_ops, receives=("domestic_violence",)), headers=ops.headers()
    )
    assert restricted.status_code == 422
    unknown_purpose = agreement_body(ops, other_ops) | {"purposes": ["CURIOSITY"]}
    assert (await client.post("/v1/agreements", json=unknown_purpose, headers=ops.headers())).status_code == 422


async def test_consent_opens_to_the_ngo_what_it_names_and_withdrawal_takes_effect_on_the_next_request(
    client: httpx.AsyncClient, ops: Party, ngo: Party
) -> None:
    person = await enroll(client, ops, person_body(JAN))
    refused = await refer(client, ops, ngo, person["id"])
    assert refused.status_code == 403, refused.text
    assert refused.json()["type"].endswith("/sharing-refused")
    assert "consent" in refused.json()["detail"]

    consent = await client.post(
        f"/v1/persons/{person['id']}/consents",
        json={
            "grantee": {"institution_id": str(ngo.id)},
            "categories": ["identity", "referral", "social_assistance_status"],
            "purpose": "REFERRAL",
            "method": "SIGNED_FORM",
            "given_on": "2025-03-01",
            "document_ref": "teczka 12/2025",
        },
        headers=ops.headers(),
    )
    assert consent.status_code == 201, consent.text
    assert consent.json()["in_force"] is True

    sent = await refer(client, ops, ngo, person["id"])
    assert sent.status_code == 201, sent.text
    referral_url = f"/v1/referrals/{sent.json()['id']}"
    seen = await client.get(referral_url, headers=ngo.headers())
    assert [s["last_name"] for s in seen.json()["subjects"]] == ["Nowak"]

    withdrawn = await client.post(
        f"/v1/persons/{person['id']}/consents/{consent.json()['id']}/withdraw",
        headers=ops.headers(**{"If-Match": f'"{consent.json()["version"]}"'}),
    )
    assert withdrawn.status_code == 200
    assert withdrawn.json()["in_force"] is False
    after = await client.get(referral_url, headers=ngo.headers())
    assert after.status_code == 200
    assert after.json()["subjects"] == []
    assert "Nowak" not in after.text
    assert JAN not in after.text
    # The sender's own record is untouched.
    assert (await client.get(referral_url, headers=ops.headers())).json()["subjects"][0]["pesel"] == JAN


async def test_consents_are_listed_to_the_serving_institution_and_to_their_grantee_only(
    client: httpx.AsyncClient, ops: Party, ngo: Party, other_ops: Party
) -> None:
    person = await enroll(client, ops, person_body(JAN))
    url = f"/v1/persons/{person['id']}/consents"
    body = {
        "grantee": {"kind": "NGO"},
        "categories": ["identity"],
        "purpose": "SERVICE_DELIVERY",
        "method": "ELECTRONIC",
        "given_on": "2025-03-01",
    }
    assert (await client.post(url, json=body, headers=ops.headers())).status_code == 201
    assert len((await client.get(url, headers=ops.headers())).json()["items"]) == 1
    # A consent to every NGO does not name this one: it sees none of it, as for any stranger.
    assert (await client.get(url, headers=ngo.headers())).status_code == 404
    assert (await client.get(url, headers=other_ops.headers())).status_code == 404
    assert (await client.post(url, json=body, headers=other_ops.headers())).status_code == 404
    both = body | {"grantee": {"kind": "NGO", "institution_id": str(ngo.id)}}
    assert (await client.post(url, json=both, headers=ops.headers())).status_code == 422
    restricted = body | {"categories": ["domestic_violence"]}
    assert (await client.post(url, json=restricted, headers=ops.headers())).status_code == 422


@pytest.mark.sqlite  # SQLite answers lookups through the repositories, PostgreSQL in two statements
async def test_lookup_by_names_and_birth_date_finds_a_person_without_pesel(
    client: httpx.AsyncClient, ops: Party, pup: Party
) -> None:
    person = await enroll(client, ops, person_body(None, first_name="Ołena", last_name="Kowalenko"))
    found = await lookup(client, pup, first_name="OŁENA ", last_name="kowalenko", birth_date=person["birth_date"])
    assert found.status_code == 200
    assert [m["person_id"] for m in found.json()["matches"]] == [person["id"]]
    missing = await lookup(client, pup, first_name="Ołena")
    assert missing.status_code == 422
    assert {e["field"] for e in missing.json()["errors"]} == {"last_name", "birth_date"}
    both = await lookup(client, pup, pesel=JAN, first_name="Jan", last_name="K", birth_date="1985-03-12")
    assert both.status_code == 422
    assert (await lookup(client, pup, pesel="12345678901")).status_code == 422
    no_purpose = await client.post("/v1/shared-client-lookups", json={"pesel": JAN}, headers=pup.headers())
    assert no_purpose.status_code == 422


@pytest.mark.sqlite  # SQLite answers lookups through the repositories, PostgreSQL in two statements
async def test_a_lookup_refused_reads_exactly_like_no_match(
    client: httpx.AsyncClient, ops: Party, other_ops: Party
) -> None:
    await enroll(client, ops, person_body(JAN))
    known = await lookup(client, other_ops, pesel=JAN)
    unknown = await lookup(client, other_ops, pesel=MARIA)
    assert known.status_code == unknown.status_code == 200
    assert known.json() == unknown.json() == {"matches": []}


async def lookups_audited(party: Party) -> int:
    async with party.container.engine.connect() as connection:
        found = await connection.scalar(
            select(func.count())
            .select_from(AuditEventRow)
            .where(AuditEventRow.action == "LOOKUP", AuditEventRow.institution_id == party.id)
        )
    return int(found or 0)


@pytest.mark.sqlite  # SQLite answers lookups through the repositories, PostgreSQL in two statements
async def test_lookups_are_rate_limited_per_client_with_retry_after(
    client: httpx.AsyncClient, ops: Party, pup: Party
) -> None:
    policies = pup.container.ctx.policies
    limit, window = policies.lookups_per_window, policies.lookup_window_seconds
    # Windows are fixed on the clock: start at the beginning of one, so all the lookups below fall into it.
    left = window - time.time() % window
    if left < 15:
        await asyncio.sleep(left + 0.05)
    for _ in range(limit):
        assert (await lookup(client, pup, pesel=JAN)).status_code == 200
    audited = await lookups_audited(pup)
    refused = await lookup(client, pup, pesel=JAN)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["type"].endswith("/rate-limited")
    # Refused whole: no answer, and no audit record of a lookup that was not made.
    assert await lookups_audited(pup) == audited == limit
    # Another client has its own count.
    assert (await lookup(client, ops, pesel=JAN)).status_code == 200


async def test_a_partner_reads_the_categories_its_agreement_opens_and_no_more(
    client: httpx.AsyncClient, ops: Party, pup: Party, other_ops: Party
) -> None:
    person = await enroll(client, ops, person_body(JAN))
    url = f"/v1/persons/{person['id']}"
    # other_ops has no agreement: the person is not there for it.
    assert (await client.get(url, headers=other_ops.headers())).status_code == 404
    # The PUP's county agreement opens identity and the MOPS status for family cooperation.
    read = await client.get(url, headers=pup.headers())
    assert read.status_code == 200
    assert read.json()["enrollments"] == []
    assert [e["institution_id"] for e in read.json()["served_elsewhere"]] == [str(ops.id)]
    # An agreement opening identity alone shows the person without where they are served.
    await signed(client, agreement_body(ops, other_ops, receives=("identity",)), ops, other_ops)
    narrow = await client.get(url, headers=other_ops.headers(**{"X-Purpose": "FAMILY_COOPERATION"}))
    assert narrow.status_code == 200
    assert narrow.json()["last_name"] == "Nowak"
    assert narrow.json()["served_elsewhere"] == []
    # For a purpose the agreement does not name, nothing.
    other_purpose = await client.get(url, headers=other_ops.headers(**{"X-Purpose": "MONITORING"}))
    assert other_purpose.status_code == 404
    assert (await client.get(url, headers=other_ops.headers(**{"X-Purpose": "NOSUCH"}))).status_code == 422
