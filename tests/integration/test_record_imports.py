"""File batches through the import use case on the real database: every shipped profile in every format and
encoding, idempotent re-imports, changes only when the source says something new, identity conflicts, households,
per-institution overrides, and bad files that leave the database as it was."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from app.adapters.db.record_sync_tables import SourceHouseholdRow, SourceRecordRow
from app.adapters.db.tables import AuditEventRow, EnrollmentRow, FamilyRow, MembershipRow, PersonRow
from app.adapters.record_systems.file_batches import import_command, rejects_csv
from app.adapters.record_systems.profiles import Profile, load_profile
from app.adapters.record_systems.readers import FileProblem
from app.bootstrap import Container
from app.domain.errors import InvalidInput
from app.domain.ids import EnrollmentId
from app.domain.record_imports import BatchStatus, ImportBatch, ImportMode
from app.domain.services import persons as person_use
from app.domain.services.record_imports import ImportFile, import_file
from tests.builders import person_body
from tests.conftest import Party
from tests.record_files import SamplePerson, csv_file, sample_for, with_change, xlsx_file, xml_file
from tests.sharing_support import system_caller

PROFILES = ["pomost-std", "tt-pomoc", "syriusz-std", "generic-csv"]
VARIANTS = ["csv-utf8", "csv-bom", "csv-windows-1250", "xlsx", "xml-windows-1250"]


def file_of(variant: str, people: list[SamplePerson], profile: Profile) -> tuple[str, bytes]:
    if variant == "csv-utf8":
        return "eksport.csv", csv_file(people, profile)
    if variant == "csv-bom":
        return "eksport.csv", csv_file(people, profile, bom=True)
    if variant == "csv-windows-1250":
        return "eksport.csv", csv_file(people, profile, encoding="cp1250")
    if variant == "xlsx":
        return "eksport.xlsx", xlsx_file(people, profile, pesel_as_number=True)
    return "eksport.xml", xml_file(people, profile, encoding="windows-1250")


async def run_import(
    container: Container, party: Party, profile: Profile, data: bytes, name: str = "eksport.csv", *, skip: bool = False
) -> ImportBatch:
    command = import_command(data, name, profile, skip_rejects=skip)
    return await import_file(container.ctx, container.record_imports, system_caller(party.id), command)


async def count(container: Container, table: type, *where: object) -> int:
    async with container.engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(table).where(*where)) or 0)  # type: ignore[arg-type]


async def snapshot(container: Container) -> dict[str, int]:
    tables = (PersonRow, EnrollmentRow, FamilyRow, MembershipRow, SourceRecordRow, SourceHouseholdRow, AuditEventRow)
    return {t.__tablename__: await count(container, t) for t in tables}  # type: ignore[attr-defined]


def party_for(profile: Profile, ops: Party, pup: Party) -> Party:
    return pup if profile.status_list == "PupClientStatus" else ops


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", PROFILES)
async def test_each_profile_imports_a_sample_in_each_format_and_again_changes_nothing(
    container: Container, ops: Party, pup: Party, name: str, variant: str
) -> None:
    profile, people = sample_for(name, worker="Anna Pracownik-ops")
    party = party_for(profile, ops, pup)
    file_name, data = file_of(variant, people, profile)

    first = await run_import(container, party, profile, data, file_name)
    after_first = await snapshot(container)
    again = await run_import(container, party, profile, data, file_name)

    assert first.status is BatchStatus.IMPORTED, first.rejects
    assert (first.counts.rows_read, first.counts.created, first.counts.rejected) == (len(people), len(people), 0)
    households = {p.household_ref for p in people if p.household_ref}
    assert first.counts.families_created == len(households)
    assert after_first["source_records"] == len(people)
    assert after_first["persons"] == len(people)
    assert (again.counts.unchanged, again.counts.updated, again.counts.created) == (len(people), 0, 0)
    assert await snapshot(container) == after_first, "a repeated file writes no audit record and changes nothing"
    polish = next(p for p in people if "Ł" in p.first_name + p.last_name or "ż" in p.last_name + p.first_name)
    async with container.engine.connect() as connection:
        names = set(await connection.execute(select(PersonRow.first_name, PersonRow.last_name)))
    assert (polish.first_name, polish.last_name) in names


@pytest.mark.sqlite
async def test_a_pomost_export_imports_on_sqlite_too(container: Container, ops: Party) -> None:
    profile, people = sample_for("pomost-std")
    data = csv_file(people, profile, encoding="cp1250")

    first = await run_import(container, ops, profile, data)
    again = await run_import(container, ops, profile, data)

    assert (first.counts.created, again.counts.unchanged) == (len(people), len(people))
    assert await count(container, SourceRecordRow) == len(people)


@pytest.mark.sqlite
async def test_an_xml_export_imports_on_sqlite_too(container: Container, ops: Party) -> None:
    profile, people = sample_for("tt-pomoc")

    batch = await run_import(container, ops, profile, xml_file(people, profile), "klienci.xml")

    assert (batch.status, batch.counts.created) == (BatchStatus.IMPORTED, len(people))


async def test_the_worker_named_by_the_source_becomes_the_enrollment_worker(container: Container, ops: Party) -> None:
    profile, people = sample_for("pomost-std", 6)
    people = with_change(people, 0, worker_name="Anna Pracownik-ops")

    await run_import(container, ops, profile, csv_file(people, profile))

    async with container.engine.connect() as connection:
        worker = await connection.scalar(
            select(EnrollmentRow.worker_id).where(EnrollmentRow.external_ref == people[0].ref)
        )
    assert worker == ops.worker_id


async def test_a_status_changes_only_when_the_source_says_something_new(container: Container, ops: Party) -> None:
    profile, people = sample_for("pomost-std", 4)
    await run_import(container, ops, profile, csv_file(people, profile))
    async with container.engine.connect() as connection:
        enrollment_id, version = (
            await connection.execute(
                select(EnrollmentRow.id, EnrollmentRow.version).where(EnrollmentRow.external_ref == people[0].ref)
            )
        ).one()
    # A worker closes the case in Spójnia; the system's next export still says the old status.
    await person_use.change_enrollment(
        container.ctx,
        system_caller(ops.id),
        person_use.ChangeEnrollment(
            enrollment_id=EnrollmentId(enrollment_id), expected_version=version, status="CLOSED"
        ),
    )

    repeated = await run_import(container, ops, profile, csv_file(people, profile))
    changed = with_change(people, 0, status="SOCIAL_CONTRACT" if people[0].status != "SOCIAL_CONTRACT" else "APPLICANT")
    news = await run_import(container, ops, profile, csv_file(changed, profile))

    assert repeated.counts.unchanged == 4
    assert (news.counts.updated, news.counts.unchanged) == (1, 3)
    async with container.engine.connect() as connection:
        status = await connection.scalar(select(EnrollmentRow.status).where(EnrollmentRow.id == enrollment_id))
    assert status == changed[0].status


async def test_a_person_spojnia_knows_is_enrolled_not_duplicated(container: Container, ops: Party, pup: Party) -> None:
    profile, people = sample_for("pomost-std", 5)
    known = people[2]
    body = person_body(known.pesel, first_name=known.first_name, last_name=known.last_name, status="UNEMPLOYED")
    await person_use.register_person(
        container.ctx,
        system_caller(pup.id),
        person_use.RegisterPerson(
            first_name=body["first_name"],
            last_name=body["last_name"],
            pesel=known.pesel,
            enrollment=person_use.EnrollmentDetails(status="UNEMPLOYED"),
        ),
    )

    batch = await run_import(container, ops, profile, csv_file(people, profile))

    assert (batch.counts.created, batch.counts.enrolled) == (4, 1)
    assert await count(container, PersonRow) == 5


async def test_a_name_that_differs_from_another_institutions_record_is_rejected_and_nothing_imported(
    container: Container, ops: Party, pup: Party
) -> None:
    profile, people = sample_for("pomost-std", 5)
    known = people[1]
    await person_use.register_person(
        container.ctx,
        system_caller(pup.id),
        person_use.RegisterPerson(
            first_name="Inne",
            last_name="Nazwisko",
            pesel=known.pesel,
            enrollment=person_use.EnrollmentDetails(status="UNEMPLOYED"),
        ),
    )
    before = await snapshot(container)

    batch = await run_import(container, ops, profile, csv_file(people, profile))

    assert batch.status is BatchStatus.REJECTED
    assert [(r.line, r.field) for r in batch.rejects] == [(3, "last_name")]
    assert "another institution also serves" in batch.rejects[0].reason
    assert await snapshot(container) == before


async def test_told_to_skip_rejects_the_valid_rows_are_imported_in_one_go(container: Container, ops: Party) -> None:
    profile, people = sample_for("pomost-std", 6)
    bad = with_change(people, 3, pesel=people[3].pesel[:-1] + str((int(people[3].pesel[-1]) + 1) % 10))  # type: ignore[index]

    batch = await run_import(container, ops, profile, csv_file(bad, profile), skip=True)

    assert batch.status is BatchStatus.IMPORTED_WITH_REJECTS
    assert (batch.counts.created, batch.counts.rejected) == (5, 1)
    [reject] = batch.rejects
    assert (reject.line, reject.field, reject.external_ref) == (5, "pesel", people[3].ref)
    assert reject.reason.startswith(f"PESEL {people[3].pesel[:6]}*****")  # type: ignore[index]
    assert people[3].pesel not in reject.reason  # type: ignore[operator]


async def test_bad_rows_are_named_and_a_file_with_them_imports_nothing(container: Container, ops: Party) -> None:
    profile, people = sample_for("pomost-std", 6)
    rows = with_change(people, 1, pesel="85031212345")  # a wrong checksum
    rows = with_change(rows, 2, status="XX")
    rows.append(replace(rows[4], first_name="Dubel"))  # the same external ref twice: lines 6 and 8
    data = csv_file(rows, profile).replace(people[0].birth_date.strftime("%d.%m.%Y").encode(), b"31.02.1980", 1)
    before = await snapshot(container)

    batch = await run_import(container, ops, profile, data)

    assert batch.status is BatchStatus.REJECTED
    assert batch.counts.created == 0
    assert [(r.line, r.field) for r in batch.rejects] == [
        (2, "birth_date"),
        (3, "pesel"),
        (4, "status"),
        (6, "external_ref"),
        (8, "external_ref"),
    ]
    assert "lines 6, 8" in batch.rejects[3].reason
    assert "850312*****" in batch.rejects[1].reason
    assert "'XX' is not in the profile's status table" in batch.rejects[2].reason
    assert await snapshot(container) == before
    report = rejects_csv(batch.rejects, profile).decode("utf-8-sig")
    assert report.splitlines()[0] == "line;column;field;external_ref;reason"
    assert report.splitlines()[2].startswith(f"3;PESEL;pesel;{people[1].ref};PESEL 850312*****")
    assert "85031212345" not in report


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("puste.csv", b"", "the file is empty"),
        ("utf16.csv", "ID_OSOBY;IMIE\n1;Łucja\n".encode("utf-16"), "not UTF-8 or Windows-1250"),
        (
            "dos.csv",
            "ID_OSOBY;IMIE;NAZWISKO;STATUS_KLIENTA\n1;Michał;Wąsik;S\n".encode("cp852"),
            "not UTF-8 or Windows-1250",
        ),
        ("kolumny.csv", b"ID_OSOBY;PESEL;IMIE\n1;85031204311;Jan\n", "missing columns: NAZWISKO (last_name)"),
        (
            "uciete.xml",
            b'<?xml version="1.0"?>\n<eksport>\n<rodzina nr="1">\n<osoba id="1"><imie>Jan</im',
            "not well-formed",
        ),
        ("zeszyt.xlsx", b"PK\x03\x04 not really a workbook", "not an XLSX workbook"),
    ],
)
async def test_a_file_that_cannot_be_read_is_refused_before_anything_is_stored(
    container: Container, ops: Party, name: str, data: bytes, message: str
) -> None:
    profile = load_profile("pomost-std")
    before = await snapshot(container)

    with pytest.raises(FileProblem) as problem:
        await run_import(container, ops, profile, data, name)

    assert message in problem.value.message
    assert await snapshot(container) == before


async def test_a_truncated_xml_names_the_line_where_it_stops(container: Container, ops: Party) -> None:
    profile, people = sample_for("pomost-std", 4)
    data = xml_file(people, profile)
    cut = data[: len(data) * 2 // 3]

    with pytest.raises(FileProblem) as problem:
        await run_import(container, ops, profile, cut, "eksport.xml")

    assert problem.value.line == cut.count(b"\n") + 1


async def test_a_household_makes_a_family_once_and_later_differences_wait_for_reconciliation(
    container: Container, ops: Party
) -> None:
    profile, people = sample_for("generic-csv", 8)
    household = people[0].household_ref
    await run_import(container, ops, profile, csv_file(people, profile))
    families = await count(container, FamilyRow)
    members = await count(container, MembershipRow)
    moved = with_change(people, 0, household_ref="R/2026/99999")

    batch = await run_import(container, ops, profile, csv_file(moved, profile))

    assert batch.counts.families_created == 1, "the new household's family is made"
    assert await count(container, FamilyRow) == families + 1
    assert await count(container, MembershipRow) == members + 1, "the old family keeps its members"
    async with container.engine.connect() as connection:
        stored = await connection.scalar(
            select(SourceHouseholdRow.members).where(SourceHouseholdRow.external_ref == household)
        )
    assert str(people[0].ref) not in (stored or "")


async def test_an_institution_adjusts_a_profile_with_an_override_file(
    container: Container, ops: Party, tmp_path: Path
) -> None:
    (tmp_path / f"{ops.id}.pomost-std.yaml").write_text(
        "persons:\n  columns:\n    first_name: IMIĘ\ncodes:\n  status:\n    BEN: BENEFIT_RECIPIENT\n", encoding="utf-8"
    )
    adjusted = load_profile("pomost-std", institution_id=ops.id, overrides_dir=tmp_path)
    _, people = sample_for("pomost-std", 3)
    people = [replace(p, status="BENEFIT_RECIPIENT") for p in people]
    data = csv_file(people, adjusted)

    batch = await run_import(container, ops, adjusted, data)

    assert adjusted.overridden_by == f"{ops.id}.pomost-std.yaml"
    assert "IMIĘ" in data.decode().split("\r\n")[0]
    assert adjusted.to_vendor_code("status", "BENEFIT_RECIPIENT") == "S", "the shipped codes stay"
    assert (batch.status, batch.counts.created) == (BatchStatus.IMPORTED, 3)


async def test_a_profile_for_another_kind_of_institution_is_refused(container: Container, ops: Party) -> None:
    profile, people = sample_for("syriusz-std", 3)

    with pytest.raises(InvalidInput) as refused:
        await run_import(container, ops, profile, csv_file(people, profile))

    assert "choose the profile of your system" in refused.value.detail


async def test_no_plain_pesel_is_stored_by_an_import(container: Container, ops: Party) -> None:
    profile, people = sample_for("pomost-std", 5)
    people = with_change(people, 2, pesel="85031212345")
    await run_import(container, ops, profile, csv_file(people, profile), skip=True)

    async with container.engine.connect() as connection:
        for table in ("source_records", "source_households", "import_batches", "import_rejects", "audit_events"):
            dump = " ".join(str(row) for row in await connection.execute(text(f"SELECT * FROM {table}")))  # noqa: S608
            for person in people:
                assert person.pesel not in dump, table  # type: ignore[operator]


def test_the_command_records_the_file_and_its_mode() -> None:
    profile, people = sample_for("generic-csv", 2)
    data = csv_file(people, profile, delimiter=",")

    command = import_command(data, "/tmp/dir/eksport.csv", profile, skip_rejects=True)  # noqa: S108

    assert isinstance(command, ImportFile)
    assert (command.file_name, command.mode) == ("eksport.csv", ImportMode.SKIP_REJECTS)
    assert command.sha256 == hashlib.sha256(data).hexdigest()
    assert len(command.parsed.rows) == 2
