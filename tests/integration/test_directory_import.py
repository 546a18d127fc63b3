"""Importing services from CSV and HSDS JSON into the real database: bad rows named by line, nothing
imported from a file with errors unless told to skip them, HSDS export and import round trip, and the
command itself run as a process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import delete

from app import directory_demo
from app.adapters import hsds
from app.adapters.db.directory_repository import SqlDirectoryStore
from app.adapters.db.directory_tables import LocationRow, ServiceAreaRow, ServiceCriterionRow, ServiceRow
from app.bootstrap import Container
from app.directory_import import FileProblem, read_csv, read_hsds, report_lines
from app.domain.directory import SearchRequest, ServiceId
from app.domain.services import directory as use
from tests.conftest import Party

pytestmark = pytest.mark.sqlite

ROOT = Path(__file__).resolve().parents[2]
HEADER = (
    "institution_id;name;description;category;areas;instrument_list;instrument_code;criteria;"
    "location_name;street;postal_code;city;location_teryt;opening_hours;fee_amount;open_places;capacity_total"
)


def csv_file(institution: Party, *rows: str) -> str:
    return "\ufeff" + "\n".join([HEADER, *(row.replace("{id}", str(institution.id)) for row in rows)]) + "\n"


GOOD_ROW = (
    "{id};Szkolenie „Opiekun osoby starszej”;Kurs 120 godzin z praktyką w DPS.;EDUCATIONAL;2801 2802;"
    "LabourMarketInstrument;TRAINING;REGISTERED_UNEMPLOYED;Sala szkoleniowa;ul. Szkolna 4;11-200;Bartoszyce;"
    '2801011;"MO-FR 08:00-15:30; SA 9:00-12:00";;12;20'
)


def store_of(container: Container) -> SqlDirectoryStore:
    return SqlDirectoryStore.over(container.engine)


async def everything(container: Container) -> list[use.SearchResultView]:
    found = await use.search_services(store_of(container), use.service_query(container.ctx), SearchRequest(limit=100))
    return list(found.items)


async def test_a_csv_file_of_a_spreadsheet_is_imported(container: Container, ngo: Party) -> None:
    text = csv_file(ngo, GOOD_ROW, "{id};Grupa wsparcia;Spotkania co tydzień.;SOCIAL;2801011;;;;;;;;;;;;")

    report = await use.import_services(container.ctx, store_of(container), read_csv(text))

    assert (report.created, report.updated, report.problems) == (2, 0, [])
    course = next(v.service for v in await everything(container) if v.service.name.startswith("Szkolenie"))
    assert [a.value for a in course.areas] == ["2801", "2802"]
    assert [h.day.value for h in course.locations[0].opening_hours] == ["MO", "TU", "WE", "TH", "FR", "SA"]
    assert f"{course.locations[0].opening_hours[-1].opens:%H:%M}" == "09:00"
    assert course.capacity.open_places == 12
    assert course.instrument is not None
    assert course.instrument.code == "TRAINING"


async def test_bad_rows_are_named_by_line_and_nothing_is_imported(container: Container, ngo: Party) -> None:
    text = csv_file(
        ngo,
        GOOD_ROW,
        '{id};"Pomoc\nw dwóch liniach";Opis.;SOCIAL;2801011;;;;;;;;;;;;',  # a quoted cell spans lines 3-4
        "{id};Bez kategorii;Opis.;;2801011;;;;;;;;;;;;",
        "not-a-uuid;Zła instytucja;Opis.;SOCIAL;2801011;;;;;;;;;;;;",
        "{id};Złe godziny;Opis.;SOCIAL;2801011;;;;Biuro;;;Bartoszyce;2801011;w poniedziałki;abc;;",
        "{id};Za dużo komórek;Opis.;SOCIAL;2801011;;;;;;;;;;;;;;;",
    )

    report = await use.import_services(container.ctx, store_of(container), read_csv(text))

    assert report.imported == 0
    assert await everything(container) == []
    assert [(p.line, p.field) for p in report.problems] == [
        (5, "category"),
        (6, "institution_id"),
        (7, "opening_hours"),
        (7, "fee_amount"),
        (8, ""),
    ]
    lines = list(report_lines(report, skip_invalid=False))
    assert lines[0].startswith("line 5, category: ")
    assert lines[-1].startswith("nothing imported: 5 problems")


async def test_told_to_skip_errors_the_valid_rows_are_imported(container: Container, ngo: Party) -> None:
    text = csv_file(ngo, GOOD_ROW, "{id};Bez obszaru;Opis.;SOCIAL;;;;;;;;;;;;;")

    report = await use.import_services(container.ctx, store_of(container), read_csv(text), skip_invalid=True)

    assert (report.created, report.skipped) == (1, 1)
    assert [(p.line, p.field) for p in report.problems] == [(3, "areas")]
    assert [v.service.name for v in await everything(container)] == ["Szkolenie „Opiekun osoby starszej”"]


def test_a_file_without_the_required_columns_is_refused_at_line_one() -> None:
    with pytest.raises(FileProblem) as problem:
        read_csv("name,description,colour\nA,B,C\n")

    assert problem.value.line == 1
    assert "missing columns: institution_id, category, areas" in problem.value.message
    assert "unknown columns: colour" in problem.value.message


async def export_document(container: Container) -> dict[str, Any]:
    exported = await use.export_directory(store_of(container))
    return hsds.bundle(exported.institutions, exported.services, container.ctx.codes)


async def test_the_hsds_export_imports_back_into_the_same_directory(container: Container) -> None:
    await directory_demo.seed_directory(container)
    before = await export_document(container)
    async with container.engine.begin() as connection:
        for table in (LocationRow, ServiceAreaRow, ServiceCriterionRow, ServiceRow):
            await connection.execute(delete(table))

    report = await use.import_services(container.ctx, store_of(container), read_hsds(json.dumps(before, indent=2)))
    after = await export_document(container)

    assert (report.created, report.problems) == (len(directory_demo.SERVICES), [])

    def stable(document: dict[str, Any]) -> dict[str, Any]:
        for service in document["services"]:
            service.pop("last_modified")
        return document

    assert stable(after) == stable(before)


async def test_an_hsds_item_that_cannot_be_read_is_named_by_its_line(container: Container, ngo: Party) -> None:
    await directory_demo.seed_directory(container)
    document = await export_document(container)
    document["services"] = document["services"][:3]
    document["services"][1]["id"] = "not-a-uuid"
    document["services"][2]["service_areas"][0]["extent"] = "28"
    text = json.dumps(document, indent=2, ensure_ascii=False)
    third_line = next(i for i, line in enumerate(text.splitlines(), 1) if document["services"][2]["id"] in line) - 1

    report = await use.import_services(container.ctx, store_of(container), read_hsds(text))

    assert report.imported == 0
    assert [p.field for p in report.problems] == ["id"]
    assert (
        report.problems[0].line
        == next(i for i, line in enumerate(text.splitlines(), 1) if '"id": "not-a-uuid"' in line) - 1
    )
    assert third_line > report.problems[0].line
    with pytest.raises(FileProblem) as broken:
        read_hsds('{\n  "services": [\n    {"id": ]\n}')
    assert broken.value.line == 3


async def test_services_of_a_list_with_nested_locations_are_read(container: Container, ngo: Party) -> None:
    await directory_demo.seed_directory(container)
    document = await export_document(container)
    pup_office = next(loc for loc in document["locations"] if loc["name"] == "Siedziba PUP")
    item = next(s for s in document["services"] if s["name"] == "Pośrednictwo pracy")
    item = item | {"name": "Pośrednictwo pracy (kopia)", "id": "7b0e1b8a-9a55-4f44-8d0f-2f1b8f7d3a10"}
    office = pup_office | {"id": "c0a80101-0000-4000-8000-000000000001"}
    item["service_at_locations"] = [{"id": "1d5e8b0c-0d8b-4b8c-9d5e-0a0b0c0d0e0f", "location": office}]

    report = await use.import_services(container.ctx, store_of(container), read_hsds(json.dumps([item])))
    view = await use.read_service(store_of(container), ServiceId(UUID(item["id"])))

    assert (report.created, report.problems) == (1, [])
    assert [loc.name for loc in view.service.locations] == ["Siedziba PUP"]


async def test_a_location_shared_by_services_in_hsds_becomes_one_per_service(container: Container) -> None:
    await directory_demo.seed_directory(container)
    document = await export_document(container)
    pup = [s for s in document["services"] if s["organization_id"] == str(directory_demo.PUP.id)][:2]
    office = next(loc for loc in document["locations"] if loc["name"] == "Siedziba PUP")
    shared = {
        "services": [s | {"id": new} for s, new in zip(pup, (str(uuid4()), str(uuid4())), strict=True)],
        "locations": [office | {"id": str(uuid4())}],
    }
    shared["service_at_locations"] = [
        {"id": str(uuid4()), "service_id": s["id"], "location_id": shared["locations"][0]["id"]}
        for s in shared["services"]
    ]

    report = await use.import_services(container.ctx, store_of(container), read_hsds(json.dumps(shared)))
    views = [await use.read_service(store_of(container), ServiceId(UUID(s["id"]))) for s in shared["services"]]

    assert (report.created, report.problems) == (2, [])
    first, second = (v.service.locations[0] for v in views)
    assert str(first.id) == shared["locations"][0]["id"]
    assert first.id != second.id
    assert first.address == second.address


async def test_a_location_id_of_another_service_is_refused(container: Container, ngo: Party) -> None:
    await directory_demo.seed_directory(container)
    document = await export_document(container)
    taken = document["locations"][0]
    item = document["services"][5] | {"id": str(uuid4())}
    item["service_at_locations"] = [{"id": str(uuid4()), "location": taken}]

    report = await use.import_services(container.ctx, store_of(container), read_hsds(json.dumps([item])))

    assert report.imported == 0
    assert [(p.line, p.field) for p in report.problems] == [(1, "locations[0].id")]


def run_command(container: Container, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = os.environ | {
        "SPOJNIA_DATABASE_URL": container.settings.database_url,
        "SPOJNIA_LOCAL_ISSUER__KEY_FILE": str(tmp_path / "key.pem"),
        "SPOJNIA_LOG_LEVEL": "WARNING",
    }
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "app.directory_import", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_the_import_command_reports_and_exits_as_a_script_expects(
    container: Container, ngo: Party, tmp_path: Path
) -> None:
    bad = tmp_path / "uslugi.csv"
    bad.write_text(csv_file(ngo, GOOD_ROW, "{id};Bez kategorii;Opis.;;2801011;;;;;;;;;;;;"), encoding="utf-8")

    refused = run_command(container, tmp_path, "import", str(bad))
    skipped = run_command(container, tmp_path, "import", str(bad), "--skip-errors")

    assert refused.returncode == 1
    assert "line 3, category:" in refused.stderr
    assert "nothing imported" in refused.stderr
    assert skipped.returncode == 0, skipped.stderr
    assert "imported 1 services (1 new, 0 updated), skipped 1" in skipped.stderr
    assert [v.service.name for v in await everything(container)] == ["Szkolenie „Opiekun osoby starszej”"]
