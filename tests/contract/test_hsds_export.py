"""The directory's Open Referral export: every object valid by the HSDS 3 JSON Schemas (copied into
tests/contract/hsds with their licence, so no network is needed), and faithful to the directory."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from app import directory_demo
from app.adapters.hsds import CRITERIA_TAXONOMY, FACTS_TAXONOMY
from app.bootstrap import Container
from app.main import create_app
from tests.directory_support import with_directory

SCHEMAS = Path(__file__).parent / "hsds"


@cache
def validator(name: str) -> Draft202012Validator:
    if name == "location":  # HSDS publishes no schema of its own for a location: the nested one is it
        schema = json.loads((SCHEMAS / "service_at_location.json").read_text(encoding="utf-8"))
        schema = schema["properties"]["location"]
    else:
        schema = json.loads((SCHEMAS / f"{name}.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def assert_valid(kind: str, item: dict[str, Any]) -> None:
    error = best_match(validator(kind).iter_errors(item))
    assert error is None, f"{kind} {item.get('id')}: {error.message} at {list(error.absolute_path)}"


@pytest.fixture
async def client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    app = with_directory(create_app(container=container))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://spojnia.test") as http:
        yield http


@pytest.fixture
async def export(client: httpx.AsyncClient, container: Container) -> dict[str, Any]:
    await directory_demo.seed_directory(container)
    response = await client.get("/v1/services/hsds")
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def terms(item: dict[str, Any], taxonomy: str) -> dict[str, str | None]:
    return {
        a["taxonomy_term"]["code"]: a.get("value")
        for a in item.get("attributes", [])
        if a["taxonomy_term"]["taxonomy"] == taxonomy
    }


@pytest.mark.sqlite
async def test_every_exported_object_is_valid_hsds_3(export: dict[str, Any]) -> None:
    for organization in export["organizations"]:
        assert_valid("organization", organization)
    for service in export["services"]:
        assert_valid("service", service)
    for location in export["locations"]:
        assert_valid("location", location)
    for link in export["service_at_locations"]:
        assert_valid("service_at_location", link)
    assert export["hsds_version"] == "3.0"
    assert len(export["services"]) == len(directory_demo.SERVICES)
    assert len(export["organizations"]) == len(directory_demo.PROVIDERS)


async def test_the_schemas_catch_a_broken_object() -> None:
    """The validators do validate: a service without a status, or with a bad one, fails."""
    assert list(validator("service").iter_errors({"id": "7b0e1b8a-9a55-4f44-8d0f-2f1b8f7d3a10", "name": "X"}))
    assert list(
        validator("service").iter_errors(
            {"id": "7b0e1b8a-9a55-4f44-8d0f-2f1b8f7d3a10", "name": "X", "status": "open", "minimum_age": "six"}
        )
    )


async def test_links_point_at_exported_objects(export: dict[str, Any]) -> None:
    organizations = {o["id"] for o in export["organizations"]}
    services = {s["id"] for s in export["services"]}
    locations = {loc["id"] for loc in export["locations"]}

    assert {s["organization_id"] for s in export["services"]} == organizations
    assert {link["service_id"] for link in export["service_at_locations"]} <= services
    assert {link["location_id"] for link in export["service_at_locations"]} == locations
    assert {loc["organization_id"] for loc in export["locations"]} <= organizations


async def test_codes_areas_hours_and_fees_travel_in_hsds_terms(export: dict[str, Any]) -> None:
    by_name = {s["name"]: s for s in export["services"]}
    internship, care = by_name["Staże u pracodawców"], by_name["Usługi opiekuńcze w domu"]
    pup_office = next(loc for loc in export["locations"] if loc["name"] == "Siedziba PUP")

    assert terms(internship, "InstrumentCategory") == {"VOCATIONAL": None}
    assert terms(internship, "LabourMarketInstrument") == {"INTERNSHIP": None}
    assert terms(internship, CRITERIA_TAXONOMY) == {"REGISTERED_UNEMPLOYED": None}
    assert terms(internship, FACTS_TAXONOMY) == {"ACCEPTS_REFERRALS": "true", "CAPACITY": "60", "OPEN_PLACES": "12"}
    assert [a["extent"] for a in internship["service_areas"]] == ["2801"]
    assert internship["minimum_age"] == 18
    assert internship["assured_date"] == "2026-10-15"
    assert care["cost_options"][0]["currency"] == "PLN"
    assert care["cost_options"][0]["amount_description"] == "18.50 PLN"
    assert pup_office["external_identifier"] == "2801011"
    assert pup_office["addresses"][0]["state_province"] == "warmińsko-mazurskie"
    assert {h["byday"] for h in pup_office["schedules"]} == {"MO", "TU", "WE", "TH", "FR"}
    assert pup_office["schedules"][0]["opens_at"] == "07:30"


async def test_an_institutions_own_export_holds_only_its_services(
    client: httpx.AsyncClient, export: dict[str, Any]
) -> None:
    response = await client.get("/v1/services/hsds", params={"institution_id": str(directory_demo.CIS.id)})

    document = response.json()
    assert [o["name"] for o in document["organizations"]] == [directory_demo.CIS.data.name]
    assert [s["name"] for s in document["services"]] == ["Reintegracja społeczna i zawodowa w CIS"]
    assert len(document["locations"]) == 2
