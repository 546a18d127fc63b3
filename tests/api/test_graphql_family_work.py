"""A family's whole file over GraphQL in one request: diagnosis, contracts, delivery record, outcomes."""

from __future__ import annotations

from typing import Any

import httpx

from app.bootstrap import Container
from tests.api.test_family_work import acting, family, register, tri_party
from tests.api.test_graphql import counted_statements, gql
from tests.builders import make_pesel
from tests.conftest import Party

FAMILY_FILE = """
query ($id: UUID!) {
  family(id: $id) {
    name
    current_diagnosis { diagnosed_on areas { area urgent_needs } }
    contracts {
      status number goals actions { description responsible status } signatures { signer method } missing_signers
    }
    delivery_record { hours { role hours superseded } benefits { legal_basis amount } outcomes { kind on } }
    members { person { first_name referrals { status } } }
  }
}
"""


async def a_family_with_a_file(
    client: httpx.AsyncClient, ops: Party, pup: Party, partnership: dict[str, Any], size: int, seed: int
) -> str:
    members = [await register(client, ops, make_pesel(f"8{seed}02{i + 1:02d}"), f"Osoba{i}") for i in range(size)]
    family_id = await family(
        client, ops, f"Rodzina {seed}", [(m, "PARENT" if i < 2 else "CHILD") for i, m in enumerate(members)]
    )
    await client.post(
        f"/v1/families/{family_id}/diagnoses",
        headers=ops.headers(),
        json={"diagnosed_on": "2026-10-01", "areas": [{"area": "WORK", "urgent_needs": "praca"}]},
    )
    created = await client.post(
        "/v1/contracts", headers=acting(ops), json=tri_party(partnership, family_id, ops, pup, members[:1], members)
    )
    assert created.status_code == 201, created.text
    for person in members:
        await client.post(
            "/v1/deliveries",
            headers=ops.headers(),
            json={"role": "SOCIAL_WORKER", "person_id": person, "on": "2026-10-03", "hours": "1.5"},
        )
        await client.post(
            "/v1/benefits",
            headers=ops.headers(),
            json={
                "legal_basis": "SOCIAL_ASSISTANCE_ACT",
                "amount": "100.00",
                "paid_on": "2026-10-03",
                "person_id": person,
            },
        )
        await client.post(
            "/v1/outcomes", headers=ops.headers(), json={"person_id": person, "kind": "OTHER", "on": "2026-10-04"}
        )
    return family_id


async def test_the_family_file_comes_in_one_query_whatever_its_size(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party, partnership: dict[str, Any]
) -> None:
    small = await a_family_with_a_file(client, ops, pup, partnership, 2, seed=1)
    large = await a_family_with_a_file(client, ops, pup, partnership, 5, seed=2)

    with counted_statements(container) as for_small:
        small_file = await gql(client, ops, FAMILY_FILE, id=small)
    with counted_statements(container) as for_large:
        large_file = await gql(client, ops, FAMILY_FILE, id=large)

    assert "errors" not in large_file, large_file
    found = large_file["data"]["family"]
    assert found["current_diagnosis"]["areas"] == [{"area": "WORK", "urgent_needs": "praca"}]
    assert found["contracts"][0]["status"] == "draft"
    assert len(found["contracts"][0]["actions"]) == 3
    assert [h["hours"] for h in found["delivery_record"]["hours"]] == ["1.50"] * 5
    assert {b["amount"] for b in found["delivery_record"]["benefits"]} == {"100.00"}
    assert len(found["delivery_record"]["outcomes"]) == 5
    assert len(small_file["data"]["family"]["members"]) == 2
    assert len(for_small) == len(for_large)


async def test_a_partner_not_party_to_the_contract_sees_the_family_but_not_the_contract(
    client: httpx.AsyncClient, ops: Party, pup: Party, ngo: Party, partnership: dict[str, Any]
) -> None:
    family_id = await a_family_with_a_file(client, ops, pup, partnership, 2, seed=3)
    first = (await client.get(f"/v1/families/{family_id}", headers=ops.headers())).json()["members"][0]["person"]
    await register(client, ngo, make_pesel("830201"), first["first_name"], status="PARTICIPANT")

    seen = await gql(client, ngo, FAMILY_FILE, id=family_id)

    assert seen["data"]["family"]["contracts"] == []
    assert seen["data"]["family"]["delivery_record"]["benefits"] == [], "the MOPS's benefits are not the NGO's to see"
