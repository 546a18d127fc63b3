"""The work with a family, end to end: a county partnership, diagnoses, contracts through every step,
what was delivered, and the monitoring report checked figure by figure against what was recorded."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from app.bootstrap import Container
from tests.builders import JAN, KACPER, MARIA, make_pesel, person_body
from tests.conftest import Party
from tests.sharing_support import consent_to_partner_referrals

TODAY = datetime.now(UTC).date().isoformat()
PERIOD = {"from": "2026-10-01", "to": TODAY}


async def register(
    client: httpx.AsyncClient, party: Party, pesel: str, first_name: str, status: str = "BENEFIT_RECIPIENT"
) -> str:
    response = await client.post(
        "/v1/persons", json=person_body(pesel, first_name=first_name, status=status), headers=party.headers()
    )
    assert response.status_code in (200, 201), response.text
    person_id: str = response.json()["id"]
    return person_id


async def family(client: httpx.AsyncClient, party: Party, name: str, members: list[tuple[str, str]]) -> str:
    response = await client.post(
        "/v1/families",
        headers=party.headers(),
        json={"name": name, "members": [{"person_id": p, "role": r} for p, r in members]},
    )
    assert response.status_code == 201, response.text
    family_id: str = response.json()["id"]
    return family_id


def acting(party: Party, **extra: str) -> dict[str, str]:
    return party.headers(**{"X-Acting-Worker": str(party.worker_id), **extra})


async def step(
    client: httpx.AsyncClient,
    party: Party,
    contract: dict[str, Any],
    name: str,
    body: dict[str, Any] | None = None,
    expect: int = 200,
) -> dict[str, Any]:
    response = await client.post(
        f"/v1/contracts/{contract['id']}/{name}",
        json=body or {},
        headers=acting(party, **{"If-Match": f'"{contract["version"]}"'}),
    )
    assert response.status_code == expect, response.text
    result: dict[str, Any] = response.json()
    return result


def tri_party(
    partnership: dict[str, Any], family_id: str, ops: Party, pup: Party, signing: list[str], members: list[str]
) -> dict[str, Any]:
    return {
        "kind": "TRI_PARTY_FAMILY",
        "partnership_id": partnership["id"],
        "family_id": family_id,
        "institutions": [str(ops.id), str(pup.id)],
        "signing_members": signing,
        "terms": {
            "goals": ["Zatrudnienie jednego z rodziców", "Regularna nauka dzieci"],
            "actions": [
                {
                    "description": "Doradztwo zawodowe dla ojca",
                    "member_ids": members[:1],
                    "responsible": str(pup.id),
                    "instrument": {"code_list": "LabourMarketInstrument", "code": "CAREER_GUIDANCE"},
                    "due": "2026-12-31",
                },
                {
                    "description": "Praca socjalna z rodziną",
                    "member_ids": members,
                    "responsible": str(ops.id),
                    "instrument": {"code_list": "AssistanceForm", "code": "SOCIAL_WORK"},
                },
                {
                    "description": "Udział w zajęciach grupy wsparcia",
                    "member_ids": members[1:2],
                    "responsible": "FAMILY",
                },
            ],
        },
    }


async def test_a_county_scenario_ends_in_exact_monitoring_figures(
    client: httpx.AsyncClient,
    partnership: dict[str, Any],
    pcpr: Party,
    ops: Party,
    pup: Party,
    ngo: Party,
    other_ops: Party,
) -> None:
    # Three families: the Nowaks (MOPS), the Kowalskis (GOPS), and Piotr, alone, on a social contract.
    jan, maria, kacper = (
        await register(client, ops, JAN, "Jan"),
        await register(client, ops, MARIA, "Maria"),
        await register(client, ops, KACPER, "Kacper"),
    )
    await register(client, pup, JAN, "Jan", status="LONG_TERM_UNEMPLOYED")  # served by PUP too
    await register(client, ngo, MARIA, "Maria", status="PARTICIPANT")
    nowak = await family(client, ops, "Nowakowie", [(jan, "PARENT"), (maria, "PARENT"), (kacper, "CHILD")])
    adam, ewa = (
        await register(client, other_ops, make_pesel("800101"), "Adam"),
        await register(client, other_ops, make_pesel("850101", "0462"), "Ewa"),
    )
    await register(client, pup, make_pesel("800101"), "Adam", status="UNEMPLOYED")
    kowalski = await family(client, other_ops, "Kowalscy", [(adam, "PARENT"), (ewa, "PARENT")])
    piotr = await register(client, ops, make_pesel("750505"), "Piotr")

    # Diagnoses: a second one does not erase the first.
    for day, need in (("2026-10-02", "praca"), ("2026-10-20", "mieszkanie")):
        created = await client.post(
            f"/v1/families/{nowak}/diagnoses",
            headers=ops.headers(),
            json={
                "diagnosed_on": day,
                "areas": [
                    {"area": "WORK", "deficits": "bezrobocie", "urgent_needs": need},
                    {"area": "HOUSING", "resources": "mieszkanie komunalne"},
                ],
            },
        )
        assert created.status_code == 201, created.text
    diagnoses = (await client.get(f"/v1/families/{nowak}/diagnoses", headers=ops.headers())).json()
    assert [d["areas"][0]["urgent_needs"] for d in diagnoses] == ["praca", "mieszkanie"]

    # The Nowaks' tri-party contract through every step, with an amendment and signing again.
    created = await client.post(
        "/v1/contracts",
        headers=acting(ops),
        json=tri_party(partnership, nowak, ops, pup, [jan, maria], [jan, maria, kacper]),
    )
    assert created.status_code == 201, created.text
    contract = created.json()
    assert contract["status"] == "draft"
    refused = await step(client, ops, contract, "sign", expect=409)
    assert refused["allowed_actions"] == ["submit", "amend", "terminate"]
    contract = await step(client, ops, contract, "submit")
    not_pzkw = await step(client, ops, contract, "approve", expect=403)
    assert not_pzkw["type"] == "/problems/forbidden"
    contract = await step(client, pcpr, contract, "approve")
    for signer, party in ((None, ops), (None, pup), (jan, ops), (maria, ops)):
        assert contract["status"] == "approved"
        contract = await step(
            client, party, contract, "sign", {"signer": signer or "institution", "method": "IN_PERSON"}
        )
    assert contract["status"] == "active"
    assert contract["missing_signers"] == []

    amended_terms = dict(contract["terms"])
    amended_terms["actions"] = [
        *contract["terms"]["actions"][:2],
        {
            "description": "Staż dla matki",
            "member_ids": [maria],
            "responsible": str(pup.id),
            "instrument": {"code_list": "LabourMarketInstrument", "code": "INTERNSHIP"},
        },
    ]
    contract = await step(client, ops, contract, "amend", {"terms": amended_terms})
    assert (contract["status"], contract["number"], contract["signatures"]) == ("draft", 2, [])
    assert contract["earlier_versions"][0]["number"] == 1
    assert len(contract["earlier_versions"][0]["signatures"]) == 4
    changes = (
        await client.get(
            f"/v1/contracts/{contract['id']}/differences", params={"from": 1, "to": 2}, headers=ops.headers()
        )
    ).json()
    assert {(c["item"], c["change"]) for c in changes["items"]} == {("action", "removed"), ("action", "added")}
    contract = await step(client, ops, contract, "submit")
    contract = await step(client, pup, contract, "approve")  # the PUP's worker sits on the PZKW too
    for signer, party in ((None, ops), (None, pup), (jan, ops), (maria, ops)):
        contract = await step(
            client, party, contract, "sign", {"signer": signer or "institution", "method": "TRUSTED_PROFILE"}
        )
    contract = await step(client, pup, contract, "review", {"review_on": TODAY, "findings": "Ojciec ukończył kurs."})
    contract = await step(client, ops, contract, "complete")
    assert contract["status"] == "completed"
    again = await step(client, ops, contract, "amend", {"terms": amended_terms}, expect=409)
    assert again["allowed_actions"] == []
    assert (await client.get(f"/v1/contracts/{contract['id']}", headers=ngo.headers())).status_code == 404

    # The Kowalskis' contract is approved but not yet signed by everyone; Piotr's social contract is terminated.
    kowalski_contract = (
        await client.post(
            "/v1/contracts",
            headers=acting(other_ops),
            json=tri_party(partnership, kowalski, other_ops, pup, [adam], [adam, ewa]),
        )
    ).json()
    kowalski_contract = await step(client, other_ops, kowalski_contract, "submit")
    kowalski_contract = await step(client, pcpr, kowalski_contract, "approve")
    kowalski_contract = await step(client, pup, kowalski_contract, "sign", {"signer": "institution"})
    assert kowalski_contract["status"] == "approved"
    social = await client.post(
        "/v1/contracts",
        headers=acting(ops),
        json={
            "kind": "SOCIAL_CONTRACT",
            "partnership_id": partnership["id"],
            "person_id": piotr,
            "institutions": [str(ops.id)],
            "signing_members": [piotr],
            "terms": {"goals": ["Podjęcie leczenia"], "actions": []},
        },
    )
    assert social.status_code == 201, social.text
    await step(client, ops, social.json(), "terminate", {"reason": "Wyprowadzka poza gminę"})

    # What was delivered in the period, and outside it.
    async def post(party: Party, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await client.post(path, headers=party.headers(), json=body)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    first = await post(
        pup, "/v1/deliveries", {"role": "CAREER_ADVISER", "person_id": jan, "on": "2026-10-05", "hours": "2.5"}
    )
    corrected = await client.post(
        f"/v1/deliveries/{first['id']}/correct",
        headers=pup.headers(),
        json={"role": "CAREER_ADVISER", "person_id": jan, "on": "2026-10-05", "hours": "3.5"},
    )
    assert corrected.status_code == 201
    twice = await client.post(
        f"/v1/deliveries/{first['id']}/correct",
        headers=pup.headers(),
        json={"role": "CAREER_ADVISER", "person_id": jan, "on": "2026-10-05", "hours": "4"},
    )
    assert twice.status_code == 409
    await post(ops, "/v1/deliveries", {"role": "SOCIAL_WORKER", "family_id": nowak, "on": "2026-10-06", "hours": "3"})
    await post(
        other_ops,
        "/v1/deliveries",
        {"role": "FAMILY_ASSISTANT", "person_id": adam, "on": "2026-10-07", "hours": "1.25"},
    )
    await post(ngo, "/v1/deliveries", {"role": "PSYCHOLOGIST", "person_id": maria, "on": "2026-10-08", "hours": "2"})
    await post(ops, "/v1/deliveries", {"role": "SOCIAL_WORKER", "person_id": piotr, "on": "2026-09-30", "hours": "5"})
    await post(
        ops,
        "/v1/benefits",
        {"legal_basis": "SOCIAL_ASSISTANCE_ACT", "amount": "612.50", "paid_on": "2026-10-10", "person_id": jan},
    )
    await post(
        ops,
        "/v1/benefits",
        {"legal_basis": "FAMILY_BENEFITS_ACT", "amount": "95.05", "paid_on": "2026-10-10", "person_id": maria},
    )
    await post(pup, "/v1/outcomes", {"person_id": jan, "kind": "TRAINING_COMPLETED", "on": "2026-10-30"})
    await post(ngo, "/v1/outcomes", {"person_id": maria, "kind": "TRAINING_COMPLETED", "on": "2026-10-30"})
    await post(
        pup, "/v1/outcomes", {"person_id": jan, "kind": "TRAINING_COMPLETED", "on": "2026-10-31", "note": "drugi kurs"}
    )
    await post(
        other_ops,
        "/v1/outcomes",
        {
            "person_id": adam,
            "kind": "INTERNSHIP_STARTED",
            "on": "2026-11-02",
            "source_type": "contract_action",
            "source_id": "x",
        },
    )

    # Referrals between members: one answered on time, one still waiting (not yet due).
    def referral(sender: Party, receiver: Party, person: str) -> dict[str, Any]:
        return {
            "receiver_id": str(receiver.id),
            "person_id": person,
            "reason": "UNEMPLOYMENT",
            "send": True,
            "instrument": {"code_list": "LabourMarketInstrument", "code": "TRAINING"},
        }

    answered = await post(ops, "/v1/referrals", referral(ops, pup, jan))
    answered = (
        await client.post(f"/v1/referrals/{answered['id']}/receive", headers=pup.headers(**{"If-Match": '"1"'}))
    ).json()
    await client.post(
        f"/v1/referrals/{answered['id']}/accept", headers=pup.headers(**{"If-Match": f'"{answered["version"]}"'})
    )
    await consent_to_partner_referrals(client, ops, maria)  # an NGO receives a referral on consent only
    await post(ops, "/v1/referrals", referral(ops, ngo, maria))

    response = await client.get(
        "/v1/reports/monitoring", params={"partnership": partnership["id"], **PERIOD}, headers=pcpr.headers()
    )
    assert response.status_code == 200, response.text
    report = response.json()

    def by_key(rows: list[dict[str, Any]], value: str = "value") -> dict[str, Any]:
        return {r["key"]: r[value] for r in rows}

    assert report["persons_served"] == 4  # Jan, Maria, Kacper (through family hours), Adam; Jan once
    assert report["families_served"] == 2  # Nowaks (hours, contract) and Kowalskis (approved contract)
    assert report["hours_total"] == "9.75"  # 3.5 (corrected) + 3 + 1.25 + 2; September's 5 left out
    assert by_key(report["hours_by_institution"]) == {
        str(pup.id): "3.50",
        str(ops.id): "3.00",
        str(other_ops.id): "1.25",
        str(ngo.id): "2.00",
    }
    assert by_key(report["hours_by_role"]) == {
        "CAREER_ADVISER": "3.50",
        "SOCIAL_WORKER": "3.00",
        "FAMILY_ASSISTANT": "1.25",
        "PSYCHOLOGIST": "2.00",
    }
    assert report["benefits_total"] == "707.55"
    assert by_key(report["benefits_by_legal_basis"]) == {
        "SOCIAL_ASSISTANCE_ACT": "612.50",
        "FAMILY_BENEFITS_ACT": "95.05",
    }
    assert by_key(report["outcomes_by_kind"], "count") == {"TRAINING_COMPLETED": 2, "INTERNSHIP_STARTED": 1}
    assert by_key(report["contracts_by_status"], "count") == {"completed": 1, "approved": 1, "terminated": 1}
    assert by_key(report["referrals_by_status"], "count") == {"accepted": 1, "sent": 1}
    assert (report["referrals_due"], report["referrals_answered_on_time"], report["share_answered_on_time"]) == (
        1,
        1,
        "1.0000",
    )

    csv = await client.get(
        "/v1/reports/monitoring",
        params={"partnership": partnership["id"], **PERIOD},
        headers=pcpr.headers(Accept="text/csv"),
    )
    assert csv.headers["content-type"].startswith("text/csv")
    assert "hours,total,9.75" in csv.text.splitlines()
    assert "benefits_by_legal_basis,SOCIAL_ASSISTANCE_ACT,612.50" in csv.text.splitlines()
    outsider = await client.get(
        "/v1/reports/monitoring",
        params={"partnership": partnership["id"], **PERIOD},
        headers=Party(
            key="x", id=pcpr.id.__class__(int=1), worker_id=pcpr.worker_id, container=pcpr.container
        ).headers(),
    )
    assert outsider.status_code in (403, 404)


@pytest.mark.sqlite
async def test_money_sums_are_exact_to_the_grosz(
    client: httpx.AsyncClient, partnership: dict[str, Any], ops: Party, pcpr: Party, container: Container
) -> None:
    jan = await register(client, ops, JAN, "Jan")
    amounts = ["0.10", "0.20", "0.01", "123456.78", "0.07"] * 40
    for amount in amounts:
        response = await client.post(
            "/v1/benefits",
            headers=ops.headers(),
            json={"legal_basis": "SOCIAL_ASSISTANCE_ACT", "amount": amount, "paid_on": "2026-10-15", "person_id": jan},
        )
        assert response.status_code == 201, response.text

    report = (
        await client.get(
            "/v1/reports/monitoring", params={"partnership": partnership["id"], **PERIOD}, headers=pcpr.headers()
        )
    ).json()

    assert Decimal(report["benefits_total"]) == sum((Decimal(a) for a in amounts), Decimal(0))
    assert report["benefits_total"] == "4938286.40"


@pytest.mark.parametrize("amount", ["12.345", "-5.00", "0", "1e3", "abc"])
async def test_amounts_are_decimal_strings_with_two_places(
    client: httpx.AsyncClient, partnership: dict[str, Any], ops: Party, amount: str
) -> None:
    jan = await register(client, ops, JAN, "Jan")
    response = await client.post(
        "/v1/benefits",
        headers=ops.headers(),
        json={"legal_basis": "SOCIAL_ASSISTANCE_ACT", "amount": amount, "paid_on": "2026-10-15", "person_id": jan},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "amount"


async def test_a_float_amount_is_refused(client: httpx.AsyncClient, ops: Party) -> None:
    jan = await register(client, ops, JAN, "Jan")
    response = await client.post(
        "/v1/benefits",
        headers=ops.headers(),
        json={"legal_basis": "SOCIAL_ASSISTANCE_ACT", "amount": 612.5, "paid_on": "2026-10-15", "person_id": jan},
    )
    assert response.status_code == 422


async def test_a_contract_outside_the_partnership_or_without_a_labour_office_is_refused(
    client: httpx.AsyncClient, partnership: dict[str, Any], ops: Party, pup: Party, ngo: Party
) -> None:
    jan = await register(client, ops, JAN, "Jan")
    nowak = await family(client, ops, "Nowakowie", [(jan, "PARENT")])
    no_pup = tri_party(partnership, nowak, ops, pup, [jan], [jan]) | {"institutions": [str(ops.id), str(ngo.id)]}
    response = await client.post("/v1/contracts", headers=ops.headers(), json=no_pup)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "institutions"
    stranger_signs = tri_party(partnership, nowak, ops, pup, [await register(client, ops, MARIA, "Maria")], [jan])
    assert (await client.post("/v1/contracts", headers=ops.headers(), json=stranger_signs)).status_code == 422


async def test_a_contract_action_for_another_institution_becomes_a_linked_referral(
    client: httpx.AsyncClient, partnership: dict[str, Any], ops: Party, pup: Party, ngo: Party
) -> None:
    jan, maria = await register(client, ops, JAN, "Jan"), await register(client, ops, MARIA, "Maria")
    nowak = await family(client, ops, "Nowakowie", [(jan, "PARENT"), (maria, "PARENT")])
    contract = (
        await client.post(
            "/v1/contracts", headers=acting(ops), json=tri_party(partnership, nowak, ops, pup, [jan], [jan, maria])
        )
    ).json()
    guidance = contract["terms"]["actions"][0]

    response = await client.post(
        f"/v1/contracts/{contract['id']}/actions/{guidance['id']}/referral",
        headers=ops.headers(),
        json={"receiver_id": str(pup.id), "reason": "UNEMPLOYMENT"},
    )

    assert response.status_code == 201, response.text
    referral = response.json()
    assert referral["contract_action_ref"] == f"{contract['id']}/{guidance['id']}"
    assert [s["person_id"] for s in referral["subjects"]] == [jan]
    assert referral["instrument"] == {"code_list": "LabourMarketInstrument", "code": "CAREER_GUIDANCE"}
    assert referral["status"] == "sent"
    no_instrument = contract["terms"]["actions"][2]
    refused = await client.post(
        f"/v1/contracts/{contract['id']}/actions/{no_instrument['id']}/referral",
        headers=ops.headers(),
        json={"receiver_id": str(ngo.id), "reason": "OTHER"},
    )
    assert refused.status_code == 422
    stranger = await client.post(
        f"/v1/contracts/{contract['id']}/actions/{guidance['id']}/referral",
        headers=ngo.headers(),
        json={"receiver_id": str(pup.id), "reason": "OTHER"},
    )
    assert stranger.status_code == 404
