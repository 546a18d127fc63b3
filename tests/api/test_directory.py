"""The directory over REST: search in Polish, filters by place and eligibility, paging, reading
without a token, and an institution entering and changing its own services."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app import directory_demo
from app.bootstrap import Container
from app.domain.directory import ServiceId
from app.domain.errors import InvalidInput
from app.domain.services import directory as directory_use
from app.main import create_app
from tests.conftest import Party
from tests.directory_support import service_body, with_directory
from tests.sharing_support import signed_agreement


@pytest.fixture
async def client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    app = with_directory(create_app(container=container))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://spojnia.test") as http:
        yield http


@pytest.fixture
async def county(container: Container) -> Container:
    """The demo county with its directory of services."""
    assert await directory_demo.seed_directory(container)
    return container


async def search(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/v1/services", params=params | {"limit": 100})
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def names(items: list[dict[str, Any]]) -> list[str]:
    return [i["name"] for i in items]


# --- search -------------------------------------------------------------------------------------


@pytest.mark.sqlite
async def test_a_query_typed_without_polish_letters_finds_the_service_written_with_them(
    client: httpx.AsyncClient, county: Container
) -> None:
    found = await search(client, q="posrednictwo pracy")

    assert names(found)[0] == "Pośrednictwo pracy"
    assert found[0]["institution"]["type"] == "PUP"
    assert found[0]["score"] > 0


@pytest.mark.sqlite
async def test_l_with_stroke_folds_to_l_both_ways(client: httpx.AsyncClient, county: Container, ops: Party) -> None:
    created = await client.post(
        f"/v1/institutions/{ops.id}/services",
        json=service_body(name="Punkt informacyjny dla osób przyjezdnych", description="Dojazd z Łodzi i Łomży."),
        headers=ops.headers(),
    )
    assert created.status_code == 201, created.text

    assert "Punkt informacyjny dla osób przyjezdnych" in names(await search(client, q="lodzi"))
    assert "Punkt informacyjny dla osób przyjezdnych" in names(await search(client, q="ŁOMŻA"))


@pytest.mark.sqlite
async def test_inflected_words_find_each_other(client: httpx.AsyncClient, county: Container) -> None:
    assert "Szkolenia zawodowe" in names(await search(client, q="szkolenie"))
    assert "Staże u pracodawców" in names(await search(client, q="staż"))
    assert "Terapia uzależnień i grupa wsparcia dla rodzin" in names(await search(client, q="uzaleznienia"))


@pytest.mark.sqlite
async def test_a_match_in_the_name_ranks_above_one_in_the_description(
    client: httpx.AsyncClient, county: Container
) -> None:
    found = await search(client, q="psycholog")

    assert names(found)[0] == "Specjalistyczne poradnictwo: psycholog i pedagog"
    assert len(found) >= 4, "services with a psychologist only in their description come after it"
    assert all(a["score"] >= b["score"] for a, b in itertools.pairwise(found))
    assert set(names(await search(client, q="asystent rodziny"))) == {
        "Asystent rodziny",
        "Asystent rodziny w gminie Sępopol",
    }


@pytest.mark.sqlite
async def test_every_word_must_match_and_stop_words_do_not_count(client: httpx.AsyncClient, county: Container) -> None:
    both = names(await search(client, q="psycholog i pedagog"))

    assert both == ["Specjalistyczne poradnictwo: psycholog i pedagog", "Grupa wsparcia dla rodziców"]
    assert await search(client, q="psycholog ogrodnik") == []


@pytest.mark.sqlite
async def test_a_gmina_finds_services_of_the_gmina_its_powiat_and_voivodeship_only(
    client: httpx.AsyncClient, county: Container
) -> None:
    in_bisztynek_town = names(await search(client, teryt="2801044"))

    assert "Praca socjalna i poradnictwo w Bisztynku" in in_bisztynek_town  # the urban-rural gmina serves its town
    assert "Pośrednictwo pracy" in in_bisztynek_town  # the powiat's labour office serves every gmina
    assert "Praca socjalna w gminie Sępopol" not in in_bisztynek_town
    assert "Zasiłek okresowy" not in in_bisztynek_town  # the town of Bartoszyce's MOPS


@pytest.mark.sqlite
async def test_a_powiat_also_finds_services_of_its_gminas(client: httpx.AsyncClient, county: Container) -> None:
    in_powiat = names(await search(client, teryt="2801"))
    elsewhere = await search(client, teryt="2802")

    assert "Zasiłek okresowy" in in_powiat
    assert len(in_powiat) == len(directory_demo.SERVICES)
    assert elsewhere == []


@pytest.mark.sqlite
async def test_filters_combine_with_the_text(client: httpx.AsyncClient, county: Container) -> None:
    vocational_of_pup = await search(client, category="VOCATIONAL", institution_kind="PUP")
    disability = await search(client, eligibility="DISABILITY", q="rehabilitacja")
    young = names(await search(client, age=25, instrument=["INTERNSHIP_VOUCHER", "SOCIAL_WORK"], teryt="2801011"))
    with_places = await search(client, open_places="true", category="SOCIAL")

    assert vocational_of_pup
    assert {i["institution"]["type"] for i in vocational_of_pup} == {"PUP"}
    assert {i["category"] for i in vocational_of_pup} == {"VOCATIONAL"}
    assert names(disability) == ["Rehabilitacja ruchowa dla dzieci i dorosłych"]
    assert "DISABILITY" in disability[0]["eligibility"]["criteria"]
    assert young == ["Bon stażowy dla osób do 30 roku życia", "Praca socjalna"]
    assert with_places
    assert all(i["capacity"]["open_places"] > 0 for i in with_places)


@pytest.mark.sqlite
async def test_pages_follow_each_other_in_relevance_order_without_gaps(
    client: httpx.AsyncClient, county: Container
) -> None:
    everything = await search(client, q="pomoc")
    pages: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"q": "pomoc", "limit": 4} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/v1/services", params=params)).json()
        pages.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert len(everything) > 8
    assert [i["id"] for i in pages] == [i["id"] for i in everything]


async def test_browsing_without_a_query_goes_by_name_across_pages(client: httpx.AsyncClient, county: Container) -> None:
    first = (await client.get("/v1/services", params={"limit": 30})).json()
    second = (await client.get("/v1/services", params={"limit": 30, "cursor": first["next_cursor"]})).json()

    listed = names(first["items"] + second["items"])
    assert len(listed) == len(directory_demo.SERVICES)
    assert second["next_cursor"] is None
    assert listed[0] == "Asystent rodziny"


async def test_bad_search_parameters_are_validation_problems(client: httpx.AsyncClient) -> None:
    cases = [
        {"teryt": "0000000"},
        {"teryt": "28011"},
        {"category": "SPORT"},
        {"institution_kind": "BANK"},
        {"instrument": "NOTHING"},
        {"eligibility": "ANYONE"},
        {"cursor": "bm90IGEgY3Vyc29y"},
        {"age": "-1"},
    ]
    for params in cases:
        response = await client.get("/v1/services", params=params)
        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"], params


async def test_query_syntax_of_either_database_is_just_text(client: httpx.AsyncClient, county: Container) -> None:
    for q in ['"', "staż:*", "a & | !b", "NEAR(x y)", "{name}: x", "' OR 1=1 --", "*", "ąęł"]:
        response = await client.get("/v1/services", params={"q": q})
        assert response.status_code == 200, (q, response.text)


# --- reading one service --------------------------------------------------------------------------


@pytest.mark.sqlite
async def test_anyone_reads_a_service_with_its_etag_and_page(client: httpx.AsyncClient, county: Container) -> None:
    service = directory_demo.SERVICES[2]

    response = await client.get(f"/v1/services/{service.id}")

    assert response.status_code == 200
    assert response.headers["etag"] == '"1"'
    body = response.json()
    assert body["name"] == "Staże u pracodawców"
    assert body["instrument"] == {"code_list": "LabourMarketInstrument", "code": "INTERNSHIP"}
    assert body["capacity"] == {"total": 60, "open_places": 12}
    assert body["locations"][0]["opening_hours"][0] == {"day": "MO", "opens": "07:30", "closes": "15:00"}
    assert body["page_url"] == f"/informator/uslugi/{service.id}"
    missing = await client.get("/v1/services/00000000-0000-4000-8000-000000000999")
    assert missing.status_code == 404
    assert missing.json()["type"] == "/problems/not-found"


async def test_a_fee_is_a_decimal_string(client: httpx.AsyncClient, county: Container) -> None:
    care = next(s for s in directory_demo.SERVICES if s.name == "Usługi opiekuńcze w domu")

    body = (await client.get(f"/v1/services/{care.id}")).json()

    assert body["cost"]["free"] is False
    assert body["cost"]["amount"] == "18.50"


async def test_places_name_the_gminas_where_services_stand(client: httpx.AsyncClient, county: Container) -> None:
    places = (await client.get("/v1/services/places")).json()["items"]

    by_code = {(p["teryt"], p["name"]) for p in places}
    assert ("2801011", "Bartoszyce") in by_code
    assert ("2801044", "Bisztynek") in by_code
    assert {"teryt": "2801032", "name": "Wojciechy", "label": "Wojciechy (gmina wiejska)"} in places


# --- writing --------------------------------------------------------------------------------------


@pytest.mark.sqlite
async def test_an_institution_enters_its_service_and_it_can_be_found(client: httpx.AsyncClient, ngo: Party) -> None:
    response = await client.post(
        f"/v1/institutions/{ngo.id}/services",
        json=service_body(cost={"free": False, "amount": "25.00", "description": "Za spotkanie."}),
        headers=ngo.headers("directory:write", **{"Idempotency-Key": "svc-1"}),
    )

    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"] == f"/v1/services/{created['id']}"
    assert response.headers["etag"] == '"1"'
    assert created["institution"]["id"] == str(ngo.id)
    assert created["cost"] == {"free": False, "amount": "25.00", "description": "Za spotkanie."}
    found = await search(client, q="poradnictwo psychologiczne", teryt="2801011")
    assert [i["id"] for i in found] == [created["id"]]
    again = await client.post(
        f"/v1/institutions/{ngo.id}/services",
        json=service_body(cost={"free": False, "amount": "25.00", "description": "Za spotkanie."}),
        headers=ngo.headers("directory:write", **{"Idempotency-Key": "svc-1"}),
    )
    assert again.json()["id"] == created["id"]


async def test_only_the_institution_itself_with_the_scope_writes_its_services(
    client: httpx.AsyncClient, ngo: Party, ops: Party
) -> None:
    url = f"/v1/institutions/{ngo.id}/services"

    anonymous = await client.post(url, json=service_body())
    without_scope = await client.post(url, json=service_body(), headers=ngo.headers("persons:read"))
    another_institution = await client.post(url, json=service_body(), headers=ops.headers("directory:write"))

    assert anonymous.status_code == 401
    assert without_scope.status_code == 403
    assert without_scope.json()["type"] == "/problems/insufficient-scope"
    assert another_institution.status_code == 403
    assert another_institution.json()["type"] == "/problems/forbidden"


async def test_a_service_is_changed_with_if_match_and_keeps_its_location_ids(
    client: httpx.AsyncClient, ngo: Party, ops: Party
) -> None:
    created = (
        await client.post(f"/v1/institutions/{ngo.id}/services", json=service_body(), headers=ngo.headers())
    ).json()
    url = f"/v1/institutions/{ngo.id}/services/{created['id']}"
    locations = created["locations"]
    change = service_body(
        name="Poradnictwo psychologiczne i pedagogiczne",
        locations=locations,
        capacity={"total": 10, "open_places": 0},
        status="temporarily_closed",
    )

    no_etag = await client.put(url, json=change, headers=ngo.headers())
    changed = await client.put(url, json=change, headers=ngo.headers(**{"If-Match": '"1"'}))
    stale = await client.put(url, json=change, headers=ngo.headers(**{"If-Match": '"1"'}))
    not_theirs = await client.put(url, json=change, headers=ops.headers(**{"If-Match": '"2"'}))
    wrong_path = await client.put(
        f"/v1/institutions/{ops.id}/services/{created['id']}", json=change, headers=ops.headers(**{"If-Match": '"2"'})
    )

    assert no_etag.status_code == 428
    assert changed.status_code == 200, changed.text
    assert changed.headers["etag"] == '"2"'
    assert changed.json()["locations"][0]["id"] == locations[0]["id"]
    assert changed.json()["status"] == "temporarily_closed"
    assert stale.status_code == 412
    assert not_theirs.status_code == 403
    assert wrong_path.status_code == 404
    assert names(await search(client, q="pedagogiczne")) == ["Poradnictwo psychologiczne i pedagogiczne"]


async def test_an_inactive_service_is_not_found_by_search_but_still_readable(
    client: httpx.AsyncClient, ngo: Party
) -> None:
    created = (
        await client.post(
            f"/v1/institutions/{ngo.id}/services", json=service_body(status="inactive"), headers=ngo.headers()
        )
    ).json()

    assert await search(client, q="psychologiczne") == []
    assert (await client.get(f"/v1/services/{created['id']}")).json()["status"] == "inactive"


async def test_every_broken_rule_of_a_service_is_named(client: httpx.AsyncClient, ngo: Party) -> None:
    body = service_body(
        category="SPORT",
        areas=["2801011", "9901"],
        eligibility={"min_age": 60, "max_age": 18},
        locations=[
            {
                "name": "X",
                "city": "Bartoszyce",
                "teryt": "2801011",
                "opening_hours": [{"day": "MO", "opens": "16:00", "closes": "08:00"}],
            }
        ],
        cost={"free": True, "amount": "10.00"},
        instrument={"code_list": "AssistanceForm", "code": "INTERNSHIP"},
    )

    response = await client.post(f"/v1/institutions/{ngo.id}/services", json=body, headers=ngo.headers())

    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {
        "category",
        "areas[1]",
        "max_age",
        "locations[0].opening_hours[0]",
        "fee_amount",
        "instrument.code",
    }


async def test_a_service_names_no_person_and_takes_no_unknown_field(client: httpx.AsyncClient, ngo: Party) -> None:
    response = await client.post(
        f"/v1/institutions/{ngo.id}/services",
        json=service_body(contact={"email": "a@example.pl", "worker_name": "Anna Kowalska"}),
        headers=ngo.headers(),
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "contact.worker_name"


async def test_a_location_id_of_another_service_is_refused(client: httpx.AsyncClient, ngo: Party, ops: Party) -> None:
    theirs = (
        await client.post(f"/v1/institutions/{ngo.id}/services", json=service_body(), headers=ngo.headers())
    ).json()

    response = await client.post(
        f"/v1/institutions/{ops.id}/services", json=service_body(locations=theirs["locations"]), headers=ops.headers()
    )

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["locations[0].id"]


# --- referral target ------------------------------------------------------------------------------


async def test_a_referral_naming_a_service_goes_to_the_services_institution(
    client: httpx.AsyncClient, county: Container
) -> None:
    from app.adapters.db.directory_repository import SqlDirectoryStore

    store = SqlDirectoryStore.over(county.engine)
    internship = directory_demo.SERVICES[2]
    startup_grant = next(s for s in directory_demo.SERVICES if s.name.startswith("Jednorazowe środki"))

    target = await directory_use.resolve_referral_target(store, str(internship.id))

    assert target.institution_id == directory_demo.PUP.id
    assert target.instrument is not None
    assert target.instrument.code == "INTERNSHIP"
    for service_id, field in ((startup_grant.id, "service_id"), (ServiceId(internship.provider.id), "service_id")):
        with pytest.raises(InvalidInput) as refused:
            await directory_use.resolve_referral_target(store, service_id)
        assert refused.value.errors[0].field == field


# --- the demo county ------------------------------------------------------------------------------


async def test_the_demo_county_lists_over_forty_services_of_every_kind_of_provider(
    client: httpx.AsyncClient, county: Container
) -> None:
    everything = (await client.get("/v1/services", params={"limit": 100})).json()["items"]
    kinds = {i["institution"]["type"] for i in everything}

    assert len(everything) >= 40
    assert {"MOPS", "GOPS", "MGOPS", "PCPR", "PUP", "NGO", "CIS", "KIS"} <= kinds
    assert {i["category"] for i in everything} == {"HEALTH", "SOCIAL", "EDUCATIONAL", "VOCATIONAL"}
    assert not await directory_demo.seed_directory(county), "seeding twice changes nothing"


async def test_a_referral_sent_to_a_service_reaches_the_services_institution_over_the_api(
    client: httpx.AsyncClient, county: Container, ops: Party
) -> None:
    from tests.builders import JAN, person_body

    person = (await client.post("/v1/persons", json=person_body(JAN), headers=ops.headers())).json()
    await signed_agreement(county, ops.id, directory_demo.PUP.id)  # the envelope goes to the PUP under it
    internship = directory_demo.SERVICES[2]
    body = {
        "service_id": str(internship.id),
        "person_id": person["id"],
        "reason": "UNEMPLOYMENT",
        "send": True,
        "instrument": {"code_list": "LabourMarketInstrument", "code": "INTERNSHIP"},
    }

    sent = await client.post("/v1/referrals", json=body, headers=ops.headers())

    assert sent.status_code == 201, sent.text
    assert sent.json()["receiver_id"] == str(directory_demo.PUP.id)
    assert sent.json()["service_id"] == str(internship.id)
    wrong_receiver = await client.post("/v1/referrals", json=body | {"receiver_id": str(ops.id)}, headers=ops.headers())
    assert wrong_receiver.status_code == 422
    assert wrong_receiver.json()["errors"][0]["field"] == "receiver_id"
    nobody = {k: v for k, v in body.items() if k != "service_id"}
    assert (await client.post("/v1/referrals", json=nobody, headers=ops.headers())).status_code == 422


async def test_graphql_sends_a_referral_to_a_service_too(
    client: httpx.AsyncClient, county: Container, ops: Party
) -> None:
    from tests.builders import JAN, person_body

    person = (await client.post("/v1/persons", json=person_body(JAN), headers=ops.headers())).json()
    await signed_agreement(county, ops.id, directory_demo.PUP.id)  # the envelope goes to the PUP under it
    internship = directory_demo.SERVICES[2]
    mutation = """
    mutation ($input: ReferralInput!) { create_referral(input: $input) { status receiver_id } }
    """
    variables = {
        "input": {
            "service_id": str(internship.id),
            "person_id": person["id"],
            "reason": "UNEMPLOYMENT",
            "instrument": {"code_list": "LabourMarketInstrument", "code": "INTERNSHIP"},
            "send": True,
        }
    }

    response = await client.post("/graphql", json={"query": mutation, "variables": variables}, headers=ops.headers())

    assert response.json()["data"]["create_referral"] == {"status": "sent", "receiver_id": str(directory_demo.PUP.id)}
