"""Administering institutions and their workers over REST: admins write, every authenticated caller reads."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import Party

pytestmark = pytest.mark.asyncio

INSTITUTIONS = "/v1/institutions"
VALID_REGON = "123456785"
VALID_NIP = "1234563218"


def institution_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "MOPS",
        "name": "Miejski Ośrodek Pomocy Społecznej w Bartoszycach",
        "teryt": "2802011",
        "regon": VALID_REGON,
        "nip": VALID_NIP,
        "address": {"street": "ul. Limanowskiego 7", "postal_code": "11-200", "city": "Bartoszyce"},
        "contact": {"email": "sekretariat@mops.bartoszyce.test", "phone": "+48 89 762 00 00"},
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def worker_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "first_name": "Ewa",
        "last_name": "Kowalska",
        "role": "FAMILY_ASSISTANT",
        "contact": {"email": "ewa.kowalska@mops.bartoszyce.test"},
    }
    return body | overrides


def assert_problem(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["type"] == f"/problems/{kind}"
    return problem


async def test_an_admin_registers_an_institution_with_201_location_and_etag(
    client: httpx.AsyncClient, ops: Party
) -> None:
    response = await client.post(
        INSTITUTIONS,
        json=institution_body(regon="12-34-56-785", nip="123-456-32-18", name="  MOPS   w  Bartoszycach "),
        headers=ops.headers("admin"),
    )

    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"] == f"/v1/institutions/{created['id']}"
    assert response.headers["etag"] == '"1"'
    # Identifiers are stored compact, names with single spaces.
    assert (created["regon"], created["nip"], created["name"]) == (VALID_REGON, VALID_NIP, "MOPS w Bartoszycach")
    assert created["address"]["city"] == "Bartoszyce"
    read = await client.get(response.headers["location"], headers=ops.headers("persons:read"))
    assert read.status_code == 200
    assert read.json() == created
    assert read.headers["etag"] == '"1"'


async def test_registering_an_institution_without_the_admin_scope_is_403(client: httpx.AsyncClient, ops: Party) -> None:
    everything_but_admin = [s for s in ops.scopes if s != "admin"]

    response = await client.post(INSTITUTIONS, json=institution_body(), headers=ops.headers(*everything_but_admin))

    assert_problem(response, 403, "insufficient-scope")
    listed = (await client.get(INSTITUTIONS, headers=ops.headers())).json()["items"]
    assert len(listed) == 4  # the four of the fixtures, no more


async def test_institutions_need_a_token_even_to_read(client: httpx.AsyncClient, ops: Party) -> None:
    assert_problem(await client.get(INSTITUTIONS), 401, "unauthorized")
    assert_problem(await client.get(f"{INSTITUTIONS}/{ops.id}"), 401, "unauthorized")
    assert_problem(await client.post(INSTITUTIONS, json=institution_body()), 401, "unauthorized")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"regon": "123456789"}, "regon"),  # checksum
        ({"regon": "12345"}, "regon"),  # length
        ({"nip": "1234567890"}, "nip"),  # checksum
        ({"nip": "abcdefghij"}, "nip"),
        ({"teryt": "0102011"}, "teryt"),  # 01 is no voivodeship
        ({"teryt": "2800"}, "teryt"),  # powiat 00
        ({"teryt": "2802016"}, "teryt"),  # 6 is no gmina type
        ({"teryt": "28020"}, "teryt"),  # neither 2, 4 nor 7 digits
        ({"type": "XYZ"}, "type"),  # not a code of InstitutionType
        ({"type": "mops"}, "type"),
        ({"name": ""}, "name"),
        ({"address": {"city": "Bartoszyce", "floor": 2}}, "address.floor"),
    ],
)
async def test_an_invalid_institution_is_422_naming_the_field(
    client: httpx.AsyncClient, ops: Party, change: dict[str, Any], field: str
) -> None:
    response = await client.post(INSTITUTIONS, json=institution_body(**change), headers=ops.headers())

    problem = assert_problem(response, 422, "validation-error")
    assert field in [e["field"] for e in problem["errors"]], problem


async def test_idempotency_key_replays_the_creation_and_refuses_another_body(
    client: httpx.AsyncClient, ops: Party
) -> None:
    headers = ops.headers(**{"Idempotency-Key": "powiat-import-42"})
    first = await client.post(INSTITUTIONS, json=institution_body(), headers=headers)
    replay = await client.post(INSTITUTIONS, json=institution_body(), headers=headers)
    other = await client.post(INSTITUTIONS, json=institution_body(name="PCPR w Bartoszycach"), headers=headers)

    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay.headers["location"] == first.headers["location"]
    assert replay.headers["idempotent-replayed"] == "true"
    assert_problem(other, 422, "idempotency-key-reused")
    listed = (await client.get(INSTITUTIONS, headers=ops.headers())).json()["items"]
    assert [i["id"] for i in listed].count(first.json()["id"]) == 1
    assert len(listed) == 5


async def test_changing_an_institution_needs_the_current_etag(client: httpx.AsyncClient, ops: Party) -> None:
    created = await client.post(INSTITUTIONS, json=institution_body(), headers=ops.headers())
    url = created.headers["location"]
    renamed = institution_body(name="Centrum Usług Społecznych w Bartoszycach", type="CUS")

    missing = await client.put(url, json=renamed, headers=ops.headers())
    changed = await client.put(url, json=renamed, headers=ops.headers(**{"If-Match": '"1"'}))
    stale = await client.put(url, json=institution_body(), headers=ops.headers(**{"If-Match": '"1"'}))

    assert_problem(missing, 428, "precondition-required")
    assert changed.status_code == 200, changed.text
    assert changed.headers["etag"] == '"2"'
    assert (changed.json()["type"], changed.json()["version"]) == ("CUS", 2)
    assert_problem(stale, 412, "precondition-failed")
    assert stale.headers["etag"] == '"2"'
    assert (await client.get(url, headers=ops.headers())).json()["name"] == "Centrum Usług Społecznych w Bartoszycach"


async def test_changing_an_institution_is_for_admins_and_validated(client: httpx.AsyncClient, ops: Party) -> None:
    url = (await client.post(INSTITUTIONS, json=institution_body(), headers=ops.headers())).headers["location"]
    if_match = {"If-Match": '"1"'}

    not_admin = await client.put(url, json=institution_body(), headers=ops.headers("persons:read", **if_match))
    bad_nip = await client.put(url, json=institution_body(nip="1234567890"), headers=ops.headers(**if_match))
    unknown = await client.put(
        f"{INSTITUTIONS}/{uuid.uuid4()}", json=institution_body(), headers=ops.headers(**if_match)
    )

    assert_problem(not_admin, 403, "insufficient-scope")
    assert [e["field"] for e in assert_problem(bad_nip, 422, "validation-error")["errors"]] == ["nip"]
    assert_problem(unknown, 404, "not-found")
    # Nothing of the refused changes stuck.
    assert (await client.get(url, headers=ops.headers())).headers["etag"] == '"1"'


async def test_the_institution_list_pages_through_every_institution_once(client: httpx.AsyncClient, ops: Party) -> None:
    for n in range(5):
        created = await client.post(INSTITUTIONS, json=institution_body(name=f"Stowarzyszenie {n}", type="NGO"))
        assert created.status_code == 401
        created = await client.post(
            INSTITUTIONS, json=institution_body(name=f"Stowarzyszenie {n}", type="NGO"), headers=ops.headers()
        )
        assert created.status_code == 201

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = await client.get(INSTITUTIONS, params=params, headers=ops.headers("persons:read"))
        assert page.status_code == 200
        assert len(page.json()["items"]) <= 2
        seen += [i["id"] for i in page.json()["items"]]
        pages += 1
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 9  # the four of the fixtures and five new
    assert pages == 5


async def test_reading_an_unknown_institution_is_404(client: httpx.AsyncClient, ops: Party) -> None:
    assert_problem(await client.get(f"{INSTITUTIONS}/{uuid.uuid4()}", headers=ops.headers()), 404, "not-found")


# --- workers -------------------------------------------------------------------------------------


async def test_an_admin_registers_a_worker_who_is_listed_and_readable(
    client: httpx.AsyncClient, ops: Party, pup: Party
) -> None:
    response = await client.post(f"{INSTITUTIONS}/{ops.id}/workers", json=worker_body(), headers=ops.headers("admin"))

    assert response.status_code == 201, response.text
    worker = response.json()
    assert response.headers["location"] == f"/v1/workers/{worker['id']}"
    assert worker["institution_id"] == str(ops.id)
    assert (worker["first_name"], worker["last_name"], worker["role"]) == ("Ewa", "Kowalska", "FAMILY_ASSISTANT")
    assert worker["active"] is True
    # Any authenticated caller reads workers: "who is the person's worker" crosses institutions.
    read = await client.get(response.headers["location"], headers=pup.headers("persons:read"))
    assert read.status_code == 200
    assert read.json() == worker
    listed = await client.get(f"{INSTITUTIONS}/{ops.id}/workers", headers=pup.headers("persons:read"))
    assert [w["id"] for w in listed.json()["items"]] == [str(ops.worker_id), worker["id"]]


async def test_the_worker_list_pages_and_holds_only_that_institutions_workers(
    client: httpx.AsyncClient, ops: Party
) -> None:
    for n in range(4):
        added = await client.post(
            f"{INSTITUTIONS}/{ops.id}/workers", json=worker_body(last_name=f"Nowak-{n}"), headers=ops.headers()
        )
        assert added.status_code == 201

    first = (await client.get(f"{INSTITUTIONS}/{ops.id}/workers", params={"limit": 3}, headers=ops.headers())).json()
    rest = (
        await client.get(
            f"{INSTITUTIONS}/{ops.id}/workers",
            params={"limit": 3, "cursor": first["next_cursor"]},
            headers=ops.headers(),
        )
    ).json()

    ids = [w["id"] for w in first["items"] + rest["items"]]
    assert len(ids) == len(set(ids)) == 5
    assert rest["next_cursor"] is None
    assert {w["institution_id"] for w in first["items"] + rest["items"]} == {str(ops.id)}


async def test_registering_a_worker_needs_the_admin_scope(client: httpx.AsyncClient, ops: Party) -> None:
    response = await client.post(
        f"{INSTITUTIONS}/{ops.id}/workers", json=worker_body(), headers=ops.headers("persons:write")
    )

    assert_problem(response, 403, "insufficient-scope")


async def test_workers_of_an_unknown_institution_are_404(client: httpx.AsyncClient, ops: Party) -> None:
    nowhere = f"{INSTITUTIONS}/{uuid.uuid4()}/workers"

    assert_problem(await client.post(nowhere, json=worker_body(), headers=ops.headers()), 404, "not-found")
    assert_problem(await client.get(nowhere, headers=ops.headers()), 404, "not-found")
    assert_problem(await client.get(f"/v1/workers/{uuid.uuid4()}", headers=ops.headers()), 404, "not-found")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"role": "WIZARD"}, "role"),  # not a code of SpecialistRole
        ({"role": "social_worker"}, "role"),
        ({"first_name": ""}, "first_name"),
        ({"last_name": "x" * 101}, "last_name"),
        ({"nickname": "Ewka"}, "nickname"),
    ],
)
async def test_an_invalid_worker_is_422_naming_the_field(
    client: httpx.AsyncClient, ops: Party, change: dict[str, Any], field: str
) -> None:
    response = await client.post(f"{INSTITUTIONS}/{ops.id}/workers", json=worker_body(**change), headers=ops.headers())

    problem = assert_problem(response, 422, "validation-error")
    assert field in [e["field"] for e in problem["errors"]], problem


async def test_an_identity_provider_subject_belongs_to_one_worker_per_institution(
    client: httpx.AsyncClient, ops: Party, pup: Party
) -> None:
    body = worker_body(idp_subject="kc-0b5e")
    first = await client.post(f"{INSTITUTIONS}/{ops.id}/workers", json=body, headers=ops.headers())
    again = await client.post(f"{INSTITUTIONS}/{ops.id}/workers", json=body, headers=ops.headers())
    elsewhere = await client.post(f"{INSTITUTIONS}/{pup.id}/workers", json=body, headers=ops.headers())

    assert first.status_code == 201
    assert_problem(again, 409, "conflict")
    assert elsewhere.status_code == 201


async def test_idempotency_key_replays_a_worker_registration(client: httpx.AsyncClient, ops: Party) -> None:
    headers = ops.headers(**{"Idempotency-Key": "hr-sync-7"})
    url = f"{INSTITUTIONS}/{ops.id}/workers"

    first = await client.post(url, json=worker_body(), headers=headers)
    replay = await client.post(url, json=worker_body(), headers=headers)
    other = await client.post(url, json=worker_body(first_name="Olga"), headers=headers)

    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay.headers["idempotent-replayed"] == "true"
    assert_problem(other, 422, "idempotency-key-reused")
    listed = (await client.get(url, headers=ops.headers())).json()["items"]
    assert len(listed) == 2


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/institutions", {"type": "MOPS", "name": "   ", "teryt": "2802011"}, "name"),
        ("workers", {"first_name": "  ", "last_name": "Nowak", "role": "SOCIAL_WORKER"}, "first_name"),
    ],
)
async def test_names_of_only_spaces_are_refused(
    client: httpx.AsyncClient, ops: Party, path: str, body: dict[str, str], field: str
) -> None:
    url = f"/v1/institutions/{ops.id}/workers" if path == "workers" else path

    response = await client.post(url, json=body, headers=ops.headers("admin"))

    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]
