"""Reconciliation over REST: where the OPS's and the PUP's records disagree about a shared client, what each
caller may see of it under the access policy, and a worker's resolution that hides it until a source changes."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest

from app.bootstrap import Container
from app.domain.audit import AuditAction
from tests.builders import JAN, KACPER, MARIA
from tests.conftest import Party
from tests.reconciliation_support import enroll, family, source_says
from tests.sharing_support import given_consent

URL = "/v1/reconciliation"


async def shared_client(client: httpx.AsyncClient, container: Container, ops: Party, pup: Party) -> dict[str, str]:
    """Jan: a MOPS client in a family of two and registered unemployed at the PUP; the two systems disagree about
    his household, whether he is registered unemployed, and the gmina he lives in."""
    jan = await enroll(client, ops, JAN, "Jan", "BENEFIT_RECIPIENT")
    assert await enroll(client, pup, JAN, "Jan", "UNEMPLOYED") == jan
    kacper = await enroll(client, ops, KACPER, "Kacper", "BENEFIT_RECIPIENT")
    household = [(jan, "PARENT"), (kacper, "CHILD")]
    nowak = await family(client, ops, household, teryt="2801011")
    await source_says(
        container, ops, "OPS-1", jan, registered_unemployed=False, address_teryt="2801011", household=household
    )
    await source_says(
        container, pup, "PUP-1", jan, status="UNEMPLOYED", address_teryt="2801022", household=[(jan, "PARENT")]
    )
    return {"jan": jan, "kacper": kacper, "family": nowak}


async def report(client: httpx.AsyncClient, party: Party, **params: str) -> dict[str, Any]:
    response = await client.get(URL, params=params, headers=party.headers())
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def values(difference: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {
        (v["reported_by"]["kind"], v["reported_by"]["institution_id"], json.dumps(v["value"], sort_keys=True))
        for v in difference["values"]
    }


def by_field(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["field"]: d for d in items}


def members(*pairs: tuple[str, str]) -> str:
    return json.dumps(
        sorted(({"person_id": p, "role": r} for p, r in pairs), key=lambda m: (m["person_id"], m["role"]))
    )


async def test_household_status_and_gmina_differences_are_listed_with_each_institutions_value(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party
) -> None:
    ids = await shared_client(client, container, ops, pup)
    jan, kacper, nowak = ids["jan"], ids["kacper"], ids["family"]

    found = by_field((await report(client, ops, person_id=jan))["items"])

    assert set(found) == {"household", "registered_unemployed", "address_gmina"}
    assert all(d["subject"] == {"type": "person", "id": jan} and d["status"] == "open" for d in found.values())
    both = members((jan, "PARENT"), (kacper, "CHILD"))
    assert values(found["household"]) == {
        ("family", str(ops.id), both),
        ("source", str(ops.id), both),
        ("source", str(pup.id), members((jan, "PARENT"))),
    }
    assert (
        next(v for v in found["household"]["values"] if v["reported_by"]["kind"] == "family")["reported_by"][
            "family_id"
        ]
        == nowak
    )
    assert values(found["registered_unemployed"]) == {
        ("source", str(ops.id), "false"),
        ("source", str(pup.id), "true"),
        ("enrollment", str(pup.id), "true"),
    }
    assert {v["detail"] for v in found["registered_unemployed"]["values"]} == {None, "UNEMPLOYED"}
    assert values(found["address_gmina"]) == {
        ("family", str(ops.id), '"2801011"'),
        ("source", str(ops.id), '"2801011"'),
        ("source", str(pup.id), '"2801022"'),
    }
    # The open list of the MOPS holds the same three, in the order of the fields.
    listed = (await report(client, ops))["items"]
    assert [d["field"] for d in listed] == ["household", "registered_unemployed", "address_gmina"]
    assert [d["id"] for d in listed] == [
        found[f]["id"] for f in ("household", "registered_unemployed", "address_gmina")
    ]

    # The report is an audited read of Jan's data, naming whose data was shown.
    async with container.ctx.uow() as uow:
        trail = await uow.audit.for_subject(UUID(jan))
    reads = [r for r in trail if r.institution_id == ops.id and r.reason and "reconciliation" in r.reason]
    assert reads
    assert {"household", "labour_market_status", "contact"} <= {c.value for c in reads[0].categories}
    assert str(pup.id) in (reads[0].reason or "")


async def test_a_resolution_hides_the_difference_until_a_source_says_something_new(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party
) -> None:
    jan = (await shared_client(client, container, ops, pup))["jan"]
    gmina = by_field((await report(client, ops, person_id=jan))["items"])["address_gmina"]
    pup_value = next(v for v in gmina["values"] if v["reported_by"]["institution_id"] == str(pup.id))
    path = f"{URL}/{gmina['id']}/resolve"

    stale = await client.post(path, json={"chosen": pup_value["key"], "values_seen": "0" * 64}, headers=ops.headers())
    assert stale.status_code == 409, stale.text
    unknown = await client.post(
        path, json={"chosen": "source:nobody", "values_seen": gmina["fingerprint"]}, headers=ops.headers()
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "chosen"
    nowhere = await client.post(
        f"{URL}/{UUID(int=7)}/resolve", json={"chosen": "x", "values_seen": "0" * 64}, headers=ops.headers()
    )
    assert nowhere.status_code == 404
    read_only = await client.post(
        path,
        json={"chosen": pup_value["key"], "values_seen": gmina["fingerprint"]},
        headers=ops.headers("persons:read"),
    )
    assert read_only.status_code == 403

    resolved = await client.post(
        path,
        json={"chosen": pup_value["key"], "values_seen": gmina["fingerprint"], "note": "potwierdzone w wywiadzie"},
        headers=ops.headers(),
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolved"
    assert resolved.json()["resolution"]["chosen"] == pup_value["key"]
    assert resolved.json()["resolution"]["chosen_value"] == "2801022"
    assert resolved.json()["resolution"]["note"] == "potwierdzone w wywiadzie"

    # Gone from the MOPS's open list, still in the report as resolved, and nothing else changed.
    assert [d["field"] for d in (await report(client, ops))["items"]] == ["household", "registered_unemployed"]
    assert by_field((await report(client, ops, person_id=jan))["items"])["address_gmina"]["status"] == "resolved"
    # The PUP decides for itself: its own list still holds it.
    assert "address_gmina" in {d["field"] for d in (await report(client, pup))["items"]}

    # The PUP's system says the same again: still hidden.
    later = container.ctx.clock.now() + timedelta(minutes=5)
    await source_says(
        container,
        pup,
        "PUP-1",
        jan,
        status="UNEMPLOYED",
        address_teryt="2801022",
        household=[(jan, "PARENT")],
        at=later,
    )
    assert "address_gmina" not in {d["field"] for d in (await report(client, ops))["items"]}

    # It says something new: open again.
    await source_says(
        container,
        pup,
        "PUP-1",
        jan,
        status="UNEMPLOYED",
        address_teryt="2801032",
        household=[(jan, "PARENT")],
        at=later,
    )
    reopened = by_field((await report(client, ops))["items"])["address_gmina"]
    assert reopened["status"] == "open"
    assert ("source", str(pup.id), '"2801032"') in values(reopened)
    assert reopened["resolution"]["chosen_value"] == "2801022"  # the old decision stays visible beside it

    async with container.ctx.uow() as uow:
        trail = await uow.audit.for_subject(UUID(jan))
    resolutions = [r for r in trail if r.action is AuditAction.RESOLVE]
    assert len(resolutions) == 1
    assert resolutions[0].institution_id == ops.id
    assert "potwierdzone w wywiadzie" in (resolutions[0].reason or "")


async def test_a_caller_without_grounds_sees_no_value_of_another_institution_not_even_a_hint(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party, other_ops: Party, ngo: Party
) -> None:
    jan = (await shared_client(client, container, ops, pup))["jan"]
    # The GOPS of another gmina serves Jan too, with no agreement with anyone, and its system disagrees.
    assert await enroll(client, other_ops, JAN, "Jan", "BENEFIT_RECIPIENT") == jan
    await source_says(container, other_ops, "GOPS-1", jan, registered_unemployed=False, address_teryt="2801063")

    alone = await client.get(URL, params={"person_id": jan}, headers=other_ops.headers())
    assert alone.status_code == 200
    # Its own values alone disagree with nothing it may see: no difference, and no word of the others.
    assert alone.json() == {"items": [], "next_cursor": None}
    assert (await report(client, other_ops))["items"] == []

    # The MOPS sees the PUP's values (agreement), never the GOPS's.
    seen = await client.get(URL, params={"person_id": jan}, headers=ops.headers())
    assert str(pup.id) in seen.text
    assert str(other_ops.id) not in seen.text
    assert "2801063" not in seen.text

    # An NGO sees another institution's value only with the person's consent.
    assert await enroll(client, ngo, JAN, "Jan", "PARTICIPANT") == jan
    await source_says(container, ngo, "NGO-1", jan, registered_unemployed=False)
    assert (await report(client, ngo, person_id=jan))["items"] == []
    await given_consent(
        container,
        ops.id,
        UUID(jan),
        ngo.id,
        categories=("identity", "labour_market_status"),
        purpose="FAMILY_COOPERATION",
    )
    with_consent = by_field((await report(client, ngo, person_id=jan))["items"])
    assert set(with_consent) == {"registered_unemployed"}
    assert {v["reported_by"]["institution_id"] for v in with_consent["registered_unemployed"]["values"]} == {
        str(ngo.id),
        str(pup.id),
    }
    # A person who is none of the caller's own is not found at all.
    maria = await enroll(client, pup, MARIA, "Maria", "UNEMPLOYED")
    assert (await client.get(URL, params={"person_id": maria}, headers=ops.headers())).status_code == 404


async def test_a_family_report_lists_its_members_differences_and_the_list_pages_through_fields(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party, ngo: Party
) -> None:
    ids = await shared_client(client, container, ops, pup)
    of_family = await report(client, ops, family_id=ids["family"])
    assert [(d["subject"]["id"], d["field"]) for d in of_family["items"]] == [
        (ids["jan"], "household"),
        (ids["jan"], "registered_unemployed"),
        (ids["jan"], "address_gmina"),
    ]
    assert (await client.get(URL, params={"family_id": ids["family"]}, headers=ngo.headers())).status_code == 404
    both = await client.get(URL, params={"family_id": ids["family"], "person_id": ids["jan"]}, headers=ops.headers())
    assert both.status_code == 422

    # A second person with one difference; pages of two resume inside a person's fields.
    maria = await enroll(client, ops, MARIA, "Maria", "BENEFIT_RECIPIENT")
    await enroll(client, pup, MARIA, "Maria", "JOB_SEEKER")
    await source_says(container, ops, "OPS-2", maria, registered_unemployed=True)
    seen: list[tuple[str, str]] = []
    cursor: str | None = None
    for _ in range(5):
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = await report(client, ops, **params)
        seen += [(d["subject"]["id"], d["field"]) for d in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [
        (ids["jan"], "household"),
        (ids["jan"], "registered_unemployed"),
        (ids["jan"], "address_gmina"),
        (maria, "registered_unemployed"),
    ]
    bad = await client.get(URL, params={"cursor": "not-a-cursor"}, headers=ops.headers())
    assert bad.status_code == 422


@pytest.mark.sqlite
async def test_differences_are_found_and_resolved_on_either_database(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party
) -> None:
    jan = (await shared_client(client, container, ops, pup))["jan"]
    status = by_field((await report(client, ops, person_id=jan))["items"])["registered_unemployed"]
    chosen = next(v for v in status["values"] if v["reported_by"]["kind"] == "enrollment")
    resolved = await client.post(
        f"{URL}/{status['id']}/resolve",
        json={"chosen": chosen["key"], "values_seen": status["fingerprint"]},
        headers=ops.headers(),
    )
    assert resolved.status_code == 200, resolved.text
    assert [d["field"] for d in (await report(client, ops))["items"]] == ["household", "address_gmina"]
