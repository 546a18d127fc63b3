"""POST /v1/imports and GET /v1/imports/{id}: an export file uploaded by an institution's system."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Party
from tests.record_files import csv_file, sample_for, with_change, xlsx_file


async def upload(
    client: httpx.AsyncClient,
    party: Party,
    data: bytes,
    *,
    profile: str = "pomost-std",
    name: str = "eksport.csv",
    skip: bool | None = None,
    **headers: str,
) -> httpx.Response:
    form = {"profile": profile} | ({"skip_rejects": str(skip).lower()} if skip is not None else {})
    return await client.post(
        "/v1/imports", files={"file": (name, data, "text/csv")}, data=form, headers=party.headers(**headers)
    )


@pytest.mark.sqlite
async def test_an_uploaded_export_is_imported_and_its_report_read_back(client: httpx.AsyncClient, ops: Party) -> None:
    profile, people = sample_for("pomost-std", 6)

    response = await upload(client, ops, csv_file(people, profile, encoding="cp1250"))

    assert response.status_code == 201, response.text
    batch = response.json()
    assert batch["status"] == "imported"
    assert batch["counts"] | {"families_created": 0} == {
        "rows_read": 6,
        "created": 6,
        "enrolled": 0,
        "updated": 0,
        "unchanged": 0,
        "rejected": 0,
        "families_created": 0,
    }
    assert response.headers["location"] == f"/v1/imports/{batch['id']}"
    again = await client.get(response.headers["location"], headers=ops.headers())
    assert again.status_code == 200
    assert again.json() == batch
    listed = (await client.get("/v1/persons", headers=ops.headers())).json()["items"]
    assert len(listed) == 6


async def test_rejects_come_back_with_line_column_and_a_masked_pesel(client: httpx.AsyncClient, ops: Party) -> None:
    profile, people = sample_for("pomost-std", 4)
    bad = with_change(people, 2, pesel="85031212345")

    refused = await upload(client, ops, csv_file(bad, profile))
    skipped = await upload(client, ops, csv_file(bad, profile), skip=True)

    assert refused.status_code == 201
    assert refused.json()["status"] == "rejected"
    assert refused.json()["counts"]["created"] == 0
    assert refused.json()["rejects"] == [
        {
            "line": 4,
            "column": "PESEL",
            "field": "pesel",
            "reason": "PESEL 850312***** is not valid (length, birth date or checksum)",
            "external_ref": people[2].ref,
        }
    ]
    assert "85031212345" not in refused.text
    assert skipped.json()["status"] == "imported_with_rejects"
    assert skipped.json()["counts"]["created"] == 3


async def test_a_file_that_cannot_be_read_is_a_validation_problem(client: httpx.AsyncClient, ops: Party) -> None:
    response = await upload(client, ops, "ID;IMIE\n".encode("utf-16"))
    unknown = await upload(client, ops, b"a;b\n", profile="pomost-std-2")

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"] == [
        {"field": "file", "message": "line 1: the file is not UTF-8 or Windows-1250 text"}
    ]
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "profile"


async def test_a_batch_is_its_institutions_alone(client: httpx.AsyncClient, ops: Party, pup: Party) -> None:
    profile, people = sample_for("syriusz-std", 3)
    response = await upload(client, pup, xlsx_file(people, profile), profile="syriusz-std", name="rejestr.xlsx")
    assert response.status_code == 201, response.text
    location = response.headers["location"]

    assert (await client.get(location, headers=pup.headers())).status_code == 200
    assert (await client.get(location, headers=ops.headers())).status_code == 404
    no_scope = await client.get(location, headers=pup.headers("persons:read"))
    assert no_scope.status_code == 403


async def test_an_upload_repeated_with_its_idempotency_key_answers_the_same(
    client: httpx.AsyncClient, ops: Party
) -> None:
    profile, people = sample_for("generic-csv", 3)
    data = csv_file(people, profile)

    first = await upload(client, ops, data, profile="generic-csv", **{"Idempotency-Key": "upload-1"})
    second = await upload(client, ops, data, profile="generic-csv", **{"Idempotency-Key": "upload-1"})
    other = await upload(client, ops, data + b"\n", profile="generic-csv", **{"Idempotency-Key": "upload-1"})

    assert first.status_code == second.status_code == 201
    assert second.json()["id"] == first.json()["id"]
    assert second.headers["idempotent-replayed"] == "true"
    assert other.status_code == 422
