"""Families over REST: members with roles, history kept on every change, versions, visibility."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.builders import JAN, KACPER, MARIA, ZOFIA, person_body
from tests.conftest import Party


async def person(
    client: httpx.AsyncClient, party: Party, pesel: str, first_name: str, status: str = "BENEFIT_RECIPIENT"
) -> str:
    response = await client.post(
        "/v1/persons", json=person_body(pesel, first_name=first_name, status=status), headers=party.headers()
    )
    assert response.status_code in (200, 201), response.text
    person_id: str = response.json()["id"]
    return person_id


async def nowak_family(client: httpx.AsyncClient, ops: Party) -> httpx.Response:
    jan, maria = await person(client, ops, JAN, "Jan"), await person(client, ops, MARIA, "Maria")
    kacper = await person(client, ops, KACPER, "Kacper")
    return await client.post(
        "/v1/families",
        headers=ops.headers(),
        json={
            "name": "Rodzina Nowaków",
            "teryt": "2801011",
            "members": [
                {"person_id": jan, "role": "PARENT"},
                {"person_id": maria, "role": "PARENT"},
                {"person_id": kacper, "role": "CHILD", "since": "2012-05-07"},
            ],
        },
    )


def members(family: dict[str, Any], *, current: bool | None = None) -> list[tuple[str, str]]:
    return [
        (m["person"]["first_name"], m["role"]) for m in family["members"] if current is None or m["current"] is current
    ]


@pytest.mark.sqlite
async def test_a_family_is_created_with_members_and_read_back(client: httpx.AsyncClient, ops: Party) -> None:
    created = await nowak_family(client, ops)

    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"/v1/families/{created.json()['id']}"
    assert created.headers["etag"] == '"1"'
    read = await client.get(created.headers["location"], headers=ops.headers())
    assert read.status_code == 200
    assert sorted(members(read.json())) == [("Jan", "PARENT"), ("Kacper", "CHILD"), ("Maria", "PARENT")]
    assert read.json()["teryt"] == "2801011"


async def test_changing_a_role_ends_the_old_membership_and_keeps_it_in_history(
    client: httpx.AsyncClient, ops: Party
) -> None:
    family = (await nowak_family(client, ops)).json()
    kacper = next(m for m in family["members"] if m["person"]["first_name"] == "Kacper")

    changed = await client.patch(
        f"/v1/families/{family['id']}/members/{kacper['membership_id']}",
        json={"role": "OTHER_RELATIVE"},
        headers=ops.headers(**{"If-Match": '"1"'}),
    )

    assert changed.status_code == 200, changed.text
    assert changed.headers["etag"] == '"2"'
    history = [(m["person"]["first_name"], m["role"], m["current"], m["end_reason"]) for m in changed.json()["members"]]
    assert ("Kacper", "CHILD", False, "ROLE_CHANGED") in history
    assert ("Kacper", "OTHER_RELATIVE", True, None) in history


async def test_ending_a_membership_keeps_the_member_in_history_only(client: httpx.AsyncClient, ops: Party) -> None:
    family = (await nowak_family(client, ops)).json()
    jan = next(m for m in family["members"] if m["person"]["first_name"] == "Jan")
    url = f"/v1/families/{family['id']}/members/{jan['membership_id']}/end"

    ended = await client.post(url, json={"reason": "LEFT_HOUSEHOLD"}, headers=ops.headers(**{"If-Match": '"1"'}))

    assert ended.status_code == 200
    assert ("Jan", "PARENT") not in members(ended.json(), current=True)
    assert ("Jan", "PARENT") in members(ended.json(), current=False)
    again = await client.post(url, json={}, headers=ops.headers(**{"If-Match": '"2"'}))
    assert again.status_code == 409
    assert again.json()["type"] == "/problems/conflict"


async def test_adding_a_member_twice_is_a_conflict_and_a_stale_version_is_refused(
    client: httpx.AsyncClient, ops: Party
) -> None:
    family = (await nowak_family(client, ops)).json()
    zofia = await person(client, ops, ZOFIA, "Zofia")
    url = f"/v1/families/{family['id']}/members"

    added = await client.post(
        url, json={"person_id": zofia, "role": "CHILD"}, headers=ops.headers(**{"If-Match": '"1"'})
    )
    assert added.status_code == 200
    twice = await client.post(
        url, json={"person_id": zofia, "role": "CHILD"}, headers=ops.headers(**{"If-Match": '"2"'})
    )
    assert twice.status_code == 409
    stale = await client.post(
        url, json={"person_id": zofia, "role": "CHILD"}, headers=ops.headers(**{"If-Match": '"1"'})
    )
    assert stale.status_code == 412
    missing = await client.post(url, json={"person_id": zofia, "role": "CHILD"}, headers=ops.headers())
    assert missing.status_code == 428


async def test_a_person_the_caller_cannot_see_cannot_be_added(
    client: httpx.AsyncClient, ops: Party, pup: Party
) -> None:
    family = (await nowak_family(client, ops)).json()
    stranger = await person(client, pup, ZOFIA, "Zofia", status="UNEMPLOYED")

    response = await client.post(
        f"/v1/families/{family['id']}/members",
        json={"person_id": stranger, "role": "CHILD"},
        headers=ops.headers(**{"If-Match": '"1"'}),
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "member.person_id"


async def test_an_institution_enrolling_a_member_sees_the_family_but_only_its_own_enrollments(
    client: httpx.AsyncClient, ops: Party, pup: Party, other_ops: Party
) -> None:
    family = (await nowak_family(client, ops)).json()
    await person(client, pup, JAN, "Jan", status="LONG_TERM_UNEMPLOYED")

    seen_by_pup = await client.get(f"/v1/families/{family['id']}", headers=pup.headers())
    assert seen_by_pup.status_code == 200
    enrollments = [e for m in seen_by_pup.json()["members"] for e in m["person"]["enrollments"]]
    assert [e["status"] for e in enrollments] == ["LONG_TERM_UNEMPLOYED"]
    assert str(ops.id) not in seen_by_pup.text

    assert (await client.get(f"/v1/families/{family['id']}", headers=other_ops.headers())).status_code == 404
    assert (await client.get("/v1/families", headers=other_ops.headers())).json()["items"] == []
    hidden_change = await client.patch(
        f"/v1/families/{family['id']}", json={"name": "X"}, headers=other_ops.headers(**{"If-Match": '"1"'})
    )
    assert hidden_change.status_code == 404


async def test_renaming_a_family_and_bad_teryt(client: httpx.AsyncClient, ops: Party) -> None:
    family = (await nowak_family(client, ops)).json()
    url = f"/v1/families/{family['id']}"

    bad = await client.patch(url, json={"teryt": "9902011"}, headers=ops.headers(**{"If-Match": '"1"'}))
    assert bad.status_code == 422
    renamed = await client.patch(url, json={"name": "Nowakowie"}, headers=ops.headers(**{"If-Match": '"1"'}))
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Nowakowie"


async def test_reading_a_family_is_audited_for_the_family_and_each_member(
    client: httpx.AsyncClient, ops: Party, container: Any
) -> None:
    family = (await nowak_family(client, ops)).json()
    await client.get(f"/v1/families/{family['id']}", headers=ops.headers(**{"X-Request-ID": "trace-family-read"}))

    async with container.ctx.uow() as uow:
        family_reads = [r for r in await uow.audit.for_subject(family["id"]) if r.request_id == "trace-family-read"]
        member_id = family["members"][0]["person"]["id"]
        member_reads = [r for r in await uow.audit.for_subject(member_id) if r.request_id == "trace-family-read"]
    assert [r.action.value for r in family_reads] == ["READ"]
    assert [r.action.value for r in member_reads] == ["READ"]
    assert family_reads[0].institution_id == ops.id


async def test_a_membership_ends_only_for_a_coded_reason(client: httpx.AsyncClient, ops: Party) -> None:
    family = (await nowak_family(client, ops)).json()
    jan = next(m for m in family["members"] if m["person"]["first_name"] == "Jan")
    url = f"/v1/families/{family['id']}/members/{jan['membership_id']}/end"

    refused = await client.post(url, json={"reason": "MOVED_TO_MARS"}, headers=ops.headers(**{"If-Match": '"1"'}))
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "reason"
    ended = await client.post(url, json={"reason": "DECEASED"}, headers=ops.headers(**{"If-Match": '"1"'}))
    assert ended.status_code == 200
    assert (
        next(m for m in ended.json()["members"] if m["membership_id"] == jan["membership_id"])["end_reason"]
        == "DECEASED"
    )


async def test_control_characters_in_text_are_refused_not_stored(client: httpx.AsyncClient, ops: Party) -> None:
    response = await client.post("/v1/families", headers=ops.headers(), json={"name": "Rodzina\x00Nowaków"})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "name"
