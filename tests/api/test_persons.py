"""Registering, reading and changing persons over REST, including the denial paths."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from tests.builders import JAN, MARIA, person_body
from tests.conftest import Party

pytestmark = pytest.mark.asyncio


async def register(client: httpx.AsyncClient, party: Party, body: dict[str, object], **headers: str) -> httpx.Response:
    return await client.post("/v1/persons", json=body, headers=party.headers(**headers))


@pytest.mark.sqlite
async def test_registering_a_client_answers_201_with_location_etag_and_own_enrollment(
    client: httpx.AsyncClient, ops: Party
) -> None:
    response = await register(client, ops, person_body(JAN))

    assert response.status_code == 201
    person = response.json()
    assert response.headers["location"] == f"/v1/persons/{person['id']}"
    assert response.headers["etag"] == '"1"'
    assert person["birth_date"] == "1985-03-12"
    assert person["sex"] == "M"
    assert [e["institution_id"] for e in person["enrollments"]] == [str(ops.id)]

    read = await client.get(response.headers["location"], headers=ops.headers())
    assert read.status_code == 200
    assert read.json()["id"] == person["id"]


async def test_a_known_pesel_is_enrolled_never_duplicated_and_never_reveals_other_institutions(
    client: httpx.AsyncClient, ops: Party, pup: Party
) -> None:
    first = await register(client, ops, person_body(JAN))
    second = await register(client, pup, person_body(JAN, status="LONG_TERM_UNEMPLOYED"))

    assert second.status_code == 201
    assert second.json()["id"] == first.json()["id"]
    assert [e["institution_id"] for e in second.json()["enrollments"]] == [str(pup.id)]
    assert str(ops.id) not in second.text

    again = await register(client, pup, person_body(JAN, status="LONG_TERM_UNEMPLOYED"))
    assert again.status_code == 200
    assert len(again.json()["enrollments"]) == 1


async def test_person_without_pesel_is_registered_with_an_identity_document(
    client: httpx.AsyncClient, ops: Party
) -> None:
    response = await register(client, ops, person_body(None))

    assert response.status_code == 201
    body = response.json()
    assert body["pesel"] is None
    assert body["identity_document"] == {"kind": "PASSPORT", "number": "FA123456", "country": "UA"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"pesel": "85031204312"}, "pesel"),  # checksum
        ({"pesel": "85131204311"}, "pesel"),  # month 13
        ({"pesel": JAN, "birth_date": "1985-03-13"}, "birth_date"),
        ({"pesel": MARIA, "sex": "M"}, "sex"),
        ({"pesel": None, "birth_date": None, "identity_document": None}, "birth_date"),
        ({"enrollment": {"status": "UNEMPLOYED"}}, "enrollment.status"),  # a PUP status at an OPS
        ({"enrollment": {"status": "BENEFIT_RECIPIENT"}, "first_name": ""}, "first_name"),
    ],
)
async def test_invalid_person_is_refused_with_problem_details_naming_the_field(
    client: httpx.AsyncClient, ops: Party, change: dict[str, object], field: str
) -> None:
    body = person_body(JAN) | change
    body = {k: v for k, v in body.items() if v is not None}

    response = await register(client, ops, body)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "/problems/validation-error"
    assert field in [e["field"] for e in problem["errors"]]
    assert "85031204312" not in response.text


async def test_other_institutions_person_is_not_found(client: httpx.AsyncClient, ops: Party, other_ops: Party) -> None:
    person = (await register(client, ops, person_body(JAN))).json()

    response = await client.get(f"/v1/persons/{person['id']}", headers=other_ops.headers())

    assert response.status_code == 404
    assert response.json()["type"] == "/problems/not-found"


async def test_listing_shows_only_own_clients_with_a_working_cursor(
    client: httpx.AsyncClient, ops: Party, pup: Party
) -> None:
    from tests.builders import make_pesel

    for day in range(1, 6):
        await register(client, ops, person_body(make_pesel(f"9001{day:02d}")))
    await register(client, pup, person_body(make_pesel("800101"), status="UNEMPLOYED"))

    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/v1/persons", params=params, headers=ops.headers())).json()
        seen += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5


async def test_bad_cursor_is_a_validation_problem(client: httpx.AsyncClient, ops: Party) -> None:
    response = await client.get("/v1/persons", params={"cursor": "not-a-cursor"}, headers=ops.headers())
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "cursor"


async def test_changing_a_person_needs_the_current_etag(client: httpx.AsyncClient, ops: Party) -> None:
    created = await register(client, ops, person_body(JAN))
    url = created.headers["location"]

    missing = await client.patch(url, json={"first_name": "Janusz"}, headers=ops.headers())
    assert missing.status_code == 428
    assert missing.json()["type"] == "/problems/precondition-required"

    changed = await client.patch(url, json={"first_name": "Janusz"}, headers=ops.headers(**{"If-Match": '"1"'}))
    assert changed.status_code == 200
    assert changed.json()["first_name"] == "Janusz"
    assert changed.headers["etag"] == '"2"'

    stale = await client.patch(url, json={"first_name": "Jan"}, headers=ops.headers(**{"If-Match": '"1"'}))
    assert stale.status_code == 412
    assert stale.headers["etag"] == '"2"'


async def test_only_an_enrolling_institution_changes_a_person(
    client: httpx.AsyncClient, ops: Party, pup: Party
) -> None:
    person = (await register(client, ops, person_body(JAN))).json()
    family = await client.post(
        "/v1/families",
        headers=ops.headers(),
        json={"name": "Rodzina Nowaków", "members": [{"person_id": person["id"], "role": "PARENT"}]},
    )
    assert family.status_code == 201
    maria = (await register(client, pup, person_body(MARIA, first_name="Maria", status="UNEMPLOYED"))).json()
    await client.post(
        f"/v1/families/{family.json()['id']}/members",
        headers=ops.headers(**{"If-Match": '"1"'}),
        json={"person_id": maria["id"], "role": "PARENT"},
    )

    # Before Maria joins, Jan is no client of the PUP's: under the county agreement it may read him, not change him.
    assert (await client.get(f"/v1/persons/{person['id']}", headers=pup.headers())).status_code == 200
    await register(client, ops, person_body(MARIA, first_name="Maria"))
    added = await client.post(
        f"/v1/families/{family.json()['id']}/members",
        headers=ops.headers(**{"If-Match": '"1"'}),
        json={"person_id": maria["id"], "role": "PARENT"},
    )
    assert added.status_code == 200, added.text
    assert (await client.get(f"/v1/persons/{person['id']}", headers=pup.headers())).status_code == 200
    refused = await client.patch(
        f"/v1/persons/{person['id']}", json={"first_name": "X"}, headers=pup.headers(**{"If-Match": '"1"'})
    )
    assert refused.status_code == 403
    assert refused.json()["type"] == "/problems/forbidden"


async def test_idempotency_key_replays_the_first_answer_and_refuses_another_body(
    client: httpx.AsyncClient, ops: Party
) -> None:
    headers = {"Idempotency-Key": "vendor-retry-1"}
    first = await register(client, ops, person_body(JAN), **headers)
    replay = await register(client, ops, person_body(JAN), **headers)

    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay.headers["location"] == first.headers["location"]
    assert replay.headers["idempotent-replayed"] == "true"

    other = await register(client, ops, person_body(MARIA, first_name="Maria"), **headers)
    assert other.status_code == 422
    assert other.json()["type"] == "/problems/idempotency-key-reused"
    listed = (await client.get("/v1/persons", headers=ops.headers())).json()["items"]
    assert len(listed) == 1


async def test_a_failed_request_frees_its_idempotency_key(client: httpx.AsyncClient, ops: Party) -> None:
    headers = {"Idempotency-Key": "k-2"}
    bad = await register(client, ops, person_body(JAN, enrollment={"status": "NOPE"}), **headers)
    assert bad.status_code == 422
    good = await register(
        client,
        ops,
        person_body(JAN, enrollment={"status": "NOPE"}) | {"enrollment": {"status": "APPLICANT"}},
        **headers,
    )
    assert good.status_code == 201, good.text


async def test_enrollment_changes_are_own_institution_only_and_versioned(
    client: httpx.AsyncClient, ops: Party, pup: Party
) -> None:
    person = (await register(client, ops, person_body(JAN))).json()
    enrollment = person["enrollments"][0]
    url = f"/v1/enrollments/{enrollment['id']}"

    foreign = await client.patch(url, json={"status": "CLOSED"}, headers=pup.headers(**{"If-Match": '"1"'}))
    assert foreign.status_code == 404

    changed = await client.patch(
        url,
        json={"status": "SOCIAL_CONTRACT", "worker_id": str(ops.worker_id)},
        headers=ops.headers(**{"If-Match": '"1"'}),
    )
    assert changed.status_code == 200
    assert changed.json()["worker"]["id"] == str(ops.worker_id)

    other_worker = await client.patch(
        url, json={"worker_id": str(pup.worker_id)}, headers=ops.headers(**{"If-Match": '"2"'})
    )
    assert other_worker.status_code == 422

    before_start = await client.patch(url, json={"until": "2001-01-31"}, headers=ops.headers(**{"If-Match": '"2"'}))
    assert before_start.status_code == 422
    today = datetime.now(UTC).date().isoformat()
    ended = await client.patch(url, json={"until": today}, headers=ops.headers(**{"If-Match": '"2"'}))
    assert ended.status_code == 200
    assert ended.json()["until"] == today
    assert (await client.get(f"/v1/persons/{person['id']}", headers=ops.headers())).status_code == 404
