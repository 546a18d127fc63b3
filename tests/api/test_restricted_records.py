"""Restricted (Niebieska Karta) records over REST: the owning team keeps them; for anyone else they do not exist."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from app.bootstrap import Container
from app.domain.audit import AuditAction, Decision, SubjectType
from app.domain.data_categories import DataCategory
from app.domain.restricted_records import PURPOSE, TEAM_ROLE
from tests.builders import JAN, KACPER, MARIA, person_body
from tests.conftest import Party

URL = "/v1/restricted-records"
TEAM = frozenset({TEAM_ROLE})
NOTE = "Zgłoszenie dzielnicowego, spotkanie grupy diagnostycznej 12.02."


def team_headers(party: Party, *scopes: str, roles: frozenset[str] = TEAM, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {party.token(*scopes, roles=roles)}", **extra}


async def registered(client: httpx.AsyncClient, party: Party, pesel: str, first_name: str) -> str:
    response = await client.post("/v1/persons", json=person_body(pesel, first_name=first_name), headers=party.headers())
    assert response.status_code in (200, 201), response.text
    person_id: str = response.json()["id"]
    return person_id


async def family_of(client: httpx.AsyncClient, party: Party, members: list[str]) -> str:
    response = await client.post(
        "/v1/families",
        headers=party.headers(),
        json={"name": "Rodzina Nowaków", "members": [{"person_id": m, "role": "PARENT"} for m in members]},
    )
    assert response.status_code == 201, response.text
    family_id: str = response.json()["id"]
    return family_id


async def open_record(client: httpx.AsyncClient, team: Party, **body: Any) -> httpx.Response:
    return await client.post(
        URL, json={"form": "NK_A", "procedure_date": "2025-01-15", "note": NOTE} | body, headers=team_headers(team)
    )


def without_request_id(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    body.pop("request_id", None)
    return body


async def test_the_owning_team_opens_reads_lists_and_corrects_its_records(
    client: httpx.AsyncClient, container: Container, ops: Party, zi: Party
) -> None:
    jan = await registered(client, ops, JAN, "Jan")
    family = await family_of(client, ops, [jan])

    created = await open_record(client, zi, person_id=jan)
    assert created.status_code == 201, created.text
    record = created.json()
    assert created.headers["location"] == f"{URL}/{record['id']}"
    assert created.headers["etag"] == '"1"'
    assert record | {"id": None, "created_at": None, "updated_at": None} == {
        "id": None,
        "team_id": str(zi.id),
        "form": "NK_A",
        "procedure_date": "2025-01-15",
        "person_id": jan,
        "family_id": None,
        "note": NOTE,
        "version": 1,
        "created_at": None,
        "updated_at": None,
    }
    about_family = await open_record(client, zi, family_id=family, form="NK_B", note=None)
    assert about_family.status_code == 201, about_family.text

    read = await client.get(created.headers["location"], headers=team_headers(zi))
    assert read.status_code == 200, read.text
    assert read.json() == record
    assert read.headers["etag"] == '"1"'

    def ids(response: httpx.Response) -> list[str]:
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["items"]]

    assert ids(await client.get(URL, params={"person_id": jan}, headers=team_headers(zi))) == [record["id"]]
    assert ids(await client.get(URL, params={"family_id": family}, headers=team_headers(zi))) == [
        about_family.json()["id"]
    ]
    first = await client.get(URL, params={"limit": 1}, headers=team_headers(zi))
    second = await client.get(URL, params={"limit": 1, "cursor": first.json()["next_cursor"]}, headers=team_headers(zi))
    assert ids(first) + ids(second) == [record["id"], about_family.json()["id"]]
    assert second.json()["next_cursor"] is None

    patch_url = f"{URL}/{record['id']}"
    without_if_match = await client.patch(patch_url, json={"form": "NK_C"}, headers=team_headers(zi))
    assert without_if_match.status_code == 428, without_if_match.text
    corrected = await client.patch(
        patch_url, json={"form": "NK_C", "clear_note": True}, headers=team_headers(zi, **{"If-Match": '"1"'})
    )
    assert corrected.status_code == 200, corrected.text
    assert corrected.headers["etag"] == '"2"'
    assert (corrected.json()["form"], corrected.json()["note"], corrected.json()["person_id"]) == ("NK_C", None, jan)
    stale = await client.patch(patch_url, json={"form": "NK_D"}, headers=team_headers(zi, **{"If-Match": '"1"'}))
    assert stale.status_code == 412, stale.text
    assert (await client.get(patch_url, headers=team_headers(zi))).json()["form"] == "NK_C"

    async with container.ctx.uow() as uow:
        trail = await uow.audit.for_subject(uuid.UUID(record["id"]))
    assert [a.action for a in trail] == [
        AuditAction.CREATE,
        AuditAction.READ,
        AuditAction.LIST,
        AuditAction.LIST,
        AuditAction.UPDATE,
        AuditAction.READ,
    ]
    for entry in trail:
        assert entry.subject_type == SubjectType.RESTRICTED_RECORD
        assert entry.categories == (DataCategory.DOMESTIC_VIOLENCE,)
        assert entry.purpose == PURPOSE
        assert entry.decision == Decision.ALLOW
        assert entry.institution_id == zi.id


async def test_a_record_names_exactly_one_existing_subject_a_blue_card_form_and_no_future_date(
    client: httpx.AsyncClient, ops: Party, zi: Party
) -> None:
    jan = await registered(client, ops, JAN, "Jan")
    family = await family_of(client, ops, [jan])
    cases: list[tuple[dict[str, Any], set[str]]] = [
        ({"person_id": jan, "family_id": family}, {"person_id", "family_id"}),
        ({}, {"person_id", "family_id"}),
        ({"person_id": jan, "form": "NK_X"}, {"form"}),
        ({"person_id": jan, "form": "UNEMPLOYMENT"}, {"form"}),
        ({"person_id": str(uuid.uuid4())}, {"person_id"}),
        ({"family_id": str(uuid.uuid4())}, {"family_id"}),
        ({"person_id": jan, "procedure_date": "2999-01-01"}, {"procedure_date"}),
        ({"person_id": jan, "note": "x" * 501}, {"note"}),
    ]
    for body, fields in cases:
        response = await open_record(client, zi, **body)
        assert response.status_code == 422, (body, response.text)
        assert {e["field"] for e in response.json()["errors"]} == fields, body

    both = await client.get(URL, params={"person_id": jan, "family_id": family}, headers=team_headers(zi))
    assert both.status_code == 422, both.text
    assert (await client.get(URL, params={"person_id": jan}, headers=team_headers(zi))).json()["items"] == []


# Who is refused: a team worker without the role, another gmina's team (with the role), and every other kind
# of institution, with every scope (admin too), with and without a token that claims the team's role.
DENIED = [
    pytest.param("zi", frozenset(), id="zi-without-the-role"),
    pytest.param("other_zi", TEAM, id="zi-of-another-gmina"),
    *(
        pytest.param(key, roles, id=f"{key}{'-claiming-the-role' if roles else ''}")
        for key in ("ops", "pup", "ngo", "pcpr")
        for roles in (frozenset(), TEAM)
    ),
]


@pytest.mark.parametrize(("key", "roles"), DENIED)
async def test_anyone_but_the_owning_team_with_its_role_finds_nothing_and_is_told_nothing(
    client: httpx.AsyncClient,
    container: Container,
    parties: dict[str, Party],
    pcpr: Party,
    zi: Party,
    other_zi: Party,
    key: str,
    roles: frozenset[str],
) -> None:
    ops = parties["ops"]
    jan = await registered(client, ops, JAN, "Jan")
    maria = await registered(client, ops, MARIA, "Maria")
    family = await family_of(client, ops, [jan, maria])
    record = (await open_record(client, zi, person_id=jan)).json()
    (await open_record(client, zi, family_id=family)).json()
    caller = {**parties, "pcpr": pcpr, "zi": zi, "other_zi": other_zi}[key]

    def headers(**extra: str) -> dict[str, str]:
        return team_headers(caller, roles=roles, **extra)

    unknown = str(uuid.uuid4())
    # Reading or correcting the record answers exactly as for an id that never existed.
    for method, body, extra in (("GET", None, {}), ("PATCH", {"note": "x"}, {"If-Match": '"1"'})):
        found = await client.request(method, f"{URL}/{record['id']}", json=body, headers=headers(**extra))
        never = await client.request(method, f"{URL}/{unknown}", json=body, headers=headers(**extra))
        assert found.status_code == never.status_code == 404, (method, found.text)
        assert without_request_id(found) == without_request_id(never), method
        assert "etag" not in found.headers

    lists = [
        await client.get(URL, params=params, headers=headers())
        for params in ({"person_id": jan}, {"family_id": family}, {"person_id": maria}, {"person_id": unknown}, {})
    ]
    if key == "other_zi":
        # Another gmina's team keeps records of its own: its list is its own, empty here whatever it names.
        for listed in lists:
            assert listed.status_code == 200, listed.text
            assert listed.json() == {"items": [], "next_cursor": None}
    else:
        # Anyone else is refused a list as a whole, whatever it names: a record's subject, a stranger, nothing.
        for listed in lists:
            assert listed.status_code == 403, listed.text
            assert without_request_id(listed) == without_request_id(lists[0])
        assert lists[0].json()["detail"] == "restricted to the interdisciplinary team"

        # And refused an opening without a word about the subject named, with or without an Idempotency-Key.
        kacper = await registered(client, ops, KACPER, "Kacper")
        subjects = [("person_id", jan), ("person_id", kacper), ("family_id", family), ("person_id", unknown)]
        for subject, subject_id in subjects:
            for extra in ({}, {"Idempotency-Key": f"k-{subject_id}"}):
                refused = await client.post(
                    URL,
                    json={"form": "NK_A", "procedure_date": "2025-01-15", subject: subject_id},
                    headers=headers(**extra),
                )
                assert refused.status_code == 403, refused.text
                assert subject_id not in refused.text
                assert without_request_id(refused) == without_request_id(lists[0])

    # Nothing of it changed the team's records.
    mine = await client.get(URL, headers=team_headers(zi))
    assert [(r["id"], r["version"], r["note"]) for r in mine.json()["items"]][:1] == [(record["id"], 1, NOTE)]
    assert len(mine.json()["items"]) == 2
    async with container.ctx.uow() as uow:
        trail = await uow.audit.for_subject(uuid.UUID(record["id"]))
    assert {a.institution_id for a in trail} == {zi.id}, "no one else's access to the record was recorded as done"
