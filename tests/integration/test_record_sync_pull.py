"""Pulling through the RecordSystem port, whatever the institution's system: files in its exchange folder (read in
order from the stored cursor, a refused one read again until it is fixed), a partner API that serves pages of
changes (down meanwhile, and nothing skipped), referral statuses written back in a referrals file, and the
settings choosing the adapter per institution."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.adapters.db.record_sync_tables import SyncCursorRow
from app.adapters.db.tables import EnrollmentRow, FamilyRow, PersonRow
from app.adapters.record_systems.exports import read_referrals, referrals_csv
from app.adapters.record_systems.file_exchange import SETTLE_SECONDS, FileRecordSystem
from app.adapters.record_systems.partner_api import HttpRecordSystem, PartnerCallFailed
from app.adapters.record_systems.profiles import load_profile
from app.adapters.record_systems.pulls import pull_changes, pull_statuses
from app.bootstrap import Container, bootstrap
from app.config import PartnerApi, RecordSync, Settings
from app.domain.code_lists import default_code_lists
from app.domain.errors import Conflict
from app.domain.partner_links import Decision, PartnerEndpoint
from app.domain.record_imports import BatchStatus, ImportMode, SyncStream
from app.domain.record_systems import RecordSystemKind
from app.domain.services.record_exports import export_referrals
from app.domain.services.record_imports import save_sync_cursor
from tests.conftest import Party
from tests.integration.test_record_exports import person_id_of, refer
from tests.integration.test_record_sync_cli import spojnia
from tests.record_files import SamplePerson, csv_file, sample_for, with_change
from tests.sharing_support import system_caller
from tests.support.vendor import FakeVendor


def folder_of(exchange: Path, party: Party) -> Path:
    return exchange / str(party.id)


def drop(exchange: Path, party: Party, name: str, data: bytes, where: str = "changes", *, settled: bool = True) -> Path:
    """A file as the institution's system leaves it; settled: written long enough ago to be read."""
    folder = folder_of(exchange, party) / "in" / where
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    if settled:
        settle(folder / name)
    return folder / name


def settle(path: Path) -> None:
    written = time.time() - SETTLE_SECONDS - 1
    os.utime(path, (written, written))


def pomost(exchange: Path, party: Party) -> FileRecordSystem:
    return FileRecordSystem(RecordSystemKind.POMOST_STD, load_profile("pomost-std"), folder_of(exchange, party))


async def count(container: Container, table: Any) -> int:
    async with container.engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(table)) or 0)


async def family_names(container: Container) -> list[str]:
    async with container.engine.connect() as connection:
        return list(await connection.scalars(select(FamilyRow.name)))


async def cursor(container: Container, party: Party, stream: SyncStream = SyncStream.CHANGES) -> str | None:
    async with container.engine.connect() as connection:
        return await connection.scalar(
            select(SyncCursorRow.cursor).where(
                SyncCursorRow.institution_id == party.id, SyncCursorRow.stream == stream.value
            )
        )


async def test_exports_in_the_exchange_folder_are_imported_in_order_once_each(
    container: Container, ops: Party, tmp_path: Path
) -> None:
    profile, people = sample_for("pomost-std", 10)
    drop(tmp_path, ops, "osoby-20261201-0700.csv", csv_file(people[:6], profile, encoding="cp1250"))
    moved = with_change(people, 0, status="KS" if people[0].status != "KS" else "W")
    drop(tmp_path, ops, "osoby-20261202-0700.csv", csv_file(moved, profile, encoding="cp1250"))
    system = pomost(tmp_path, ops)

    batches = await pull_changes(container.ctx, container.record_imports, system_caller(ops.id), system)
    again = await pull_changes(container.ctx, container.record_imports, system_caller(ops.id), system)

    assert [(b.file_name, b.status) for b in batches] == [
        ("osoby-20261201-0700.csv", BatchStatus.IMPORTED),
        ("osoby-20261202-0700.csv", BatchStatus.IMPORTED),
    ]
    assert (batches[0].counts.created, batches[1].counts.created, batches[1].counts.unchanged) == (6, 4, 5)
    assert again == []
    assert await count(container, PersonRow) == 10
    assert await cursor(container, ops) == "osoby-20261202-0700.csv"


async def test_a_refused_export_stops_the_pull_and_is_read_again_once_fixed(
    container: Container, ops: Party, tmp_path: Path
) -> None:
    profile, people = sample_for("pomost-std", 6)
    drop(tmp_path, ops, "osoby-1.csv", csv_file(people[:3], profile, encoding="cp1250"))
    bad = drop(
        tmp_path, ops, "osoby-2.csv", csv_file(with_change(people, 4, pesel="85031212345"), profile, encoding="cp1250")
    )
    drop(tmp_path, ops, "osoby-3.csv", csv_file(people, profile, encoding="cp1250"))
    system = pomost(tmp_path, ops)
    caller = system_caller(ops.id)

    refused = await pull_changes(container.ctx, container.record_imports, caller, system)
    assert [b.status for b in refused] == [BatchStatus.IMPORTED, BatchStatus.REJECTED]
    assert [(r.line, r.field) for r in refused[1].rejects] == [(6, "pesel")]
    assert await cursor(container, ops) == "osoby-1.csv"
    assert await count(container, PersonRow) == 3

    bad.write_bytes(csv_file(people[:5], profile, encoding="cp1250"))
    settle(bad)
    fixed = await pull_changes(container.ctx, container.record_imports, caller, system)

    assert [(b.file_name, b.status) for b in fixed] == [
        ("osoby-2.csv", BatchStatus.IMPORTED),
        ("osoby-3.csv", BatchStatus.IMPORTED),
    ]
    assert await count(container, PersonRow) == 6
    assert await cursor(container, ops) == "osoby-3.csv"


async def test_an_unreadable_export_stops_the_pull_even_when_skipping_rejects_until_it_is_replaced(
    container: Container, ops: Party, tmp_path: Path
) -> None:
    profile, people = sample_for("pomost-std", 3)
    empty = drop(tmp_path, ops, "osoby-1.csv", b"")
    drop(tmp_path, ops, "osoby-2.csv", csv_file(people, profile, encoding="cp1250"))
    system = pomost(tmp_path, ops)
    caller = system_caller(ops.id)

    [refused] = await pull_changes(container.ctx, container.record_imports, caller, system)
    [still] = await pull_changes(container.ctx, container.record_imports, caller, system, mode=ImportMode.SKIP_REJECTS)
    empty.write_bytes(csv_file(people[:1], profile, encoding="cp1250"))
    settle(empty)
    replaced = await pull_changes(container.ctx, container.record_imports, caller, system)

    assert refused.status is still.status is BatchStatus.REJECTED
    assert [(r.field, r.reason) for r in still.rejects] == [("file", "the file is empty")]
    assert [b.status for b in replaced] == [BatchStatus.IMPORTED, BatchStatus.IMPORTED]
    assert await count(container, PersonRow) == 3


async def test_a_file_still_being_written_waits_and_so_do_the_files_after_it(
    container: Container, ops: Party, tmp_path: Path
) -> None:
    profile, people = sample_for("pomost-std", 4)
    fresh = drop(tmp_path, ops, "osoby-1.csv", csv_file(people[:2], profile, encoding="cp1250"), settled=False)
    drop(tmp_path, ops, "osoby-2.csv", csv_file(people, profile, encoding="cp1250"))
    system = pomost(tmp_path, ops)
    caller = system_caller(ops.id)

    waiting = await pull_changes(container.ctx, container.record_imports, caller, system)
    settle(fresh)
    later = await pull_changes(container.ctx, container.record_imports, caller, system)

    assert waiting == []
    assert [b.file_name for b in later] == ["osoby-1.csv", "osoby-2.csv"]
    assert await count(container, PersonRow) == 4


@pytest.mark.sqlite
async def test_a_cursor_moves_only_from_where_its_pull_found_it(container: Container, ops: Party) -> None:
    caller = system_caller(ops.id)
    store, ctx = container.record_imports, container.ctx

    await save_sync_cursor(ctx, store, caller, SyncStream.CHANGES, since=None, to="osoby-1.csv")
    with pytest.raises(Conflict):
        # A slower pull that also began at the start must not take the cursor back.
        await save_sync_cursor(ctx, store, caller, SyncStream.CHANGES, since=None, to="osoby-0.csv")
    with pytest.raises(Conflict):
        await save_sync_cursor(ctx, store, caller, SyncStream.CHANGES, since="osoby-0.csv", to="osoby-2.csv")
    await save_sync_cursor(ctx, store, caller, SyncStream.CHANGES, since="osoby-1.csv", to="osoby-2.csv")

    assert await cursor(container, ops) == "osoby-2.csv"


def changes_page(people: list[SamplePerson], household: str | None = None) -> dict[str, Any]:
    return {
        "persons": [
            {
                "external_ref": p.ref,
                "first_name": p.first_name,
                "last_name": p.last_name,
                "pesel": p.pesel,
                "birth_date": p.birth_date.isoformat(),
                "sex": p.sex,
            }
            for p in people
        ],
        "enrollments": [
            {"person_ref": p.ref, "status": "UNEMPLOYED", "since": "2026-03-01", "registered_unemployed": True}
            for p in people
        ],
        "households": (
            [
                {
                    "external_ref": household,
                    "name": f"Rodzina {people[0].last_name} z Syriusza",
                    "members": [{"person_ref": p.ref, "role": "PARENT"} for p in people],
                }
            ]
            if household
            else []
        ),
    }


@pytest.fixture
def vendor() -> Iterator[FakeVendor]:
    served = FakeVendor().start()
    yield served
    served.stop()


def partner_system(vendor: FakeVendor, party: Party, http: httpx.AsyncClient) -> HttpRecordSystem:
    endpoint = PartnerEndpoint(institution_id=party.id, base_url=vendor.url, token=vendor.token, timeout_seconds=2)
    return HttpRecordSystem(endpoint, http, default_code_lists(), allow_private_targets=True)


async def test_a_partner_apis_pages_of_changes_are_imported_and_none_lost_while_it_is_down(
    container: Container, pup: Party
) -> None:
    _, people = sample_for("syriusz-std", 6)
    vendor = FakeVendor().start()
    vendor.changes = [changes_page(people[:2], household="G-1"), changes_page(people[2:4])]
    caller = system_caller(pup.id)
    try:
        async with httpx.AsyncClient() as http:
            system = partner_system(vendor, pup, http)
            first = await pull_changes(container.ctx, container.record_imports, caller, system)
            vendor.changes.append(changes_page(people[4:]))
            vendor.stop()
            with pytest.raises(PartnerCallFailed):
                await pull_changes(container.ctx, container.record_imports, caller, system)
            assert await cursor(container, pup) == "2"
            vendor.start()
            later = await pull_changes(container.ctx, container.record_imports, caller, system)
    finally:
        vendor.stop()

    assert [b.counts.created for b in first] == [2, 2]
    assert first[0].counts.families_created == 1
    assert await family_names(container) == [f"Rodzina {people[0].last_name} z Syriusza"]
    assert [b.counts.created for b in later] == [2]
    assert [r.query.get("since") for r in vendor.made("GET", "/changes")] == [None, ["1"], ["2"], ["2"], ["3"]]
    assert await count(container, PersonRow) == 6
    assert await count(container, EnrollmentRow) == 6
    assert await cursor(container, pup) == "3"


async def test_a_partners_change_is_checked_as_a_files_row_and_an_enrollment_without_its_person_is_refused(
    container: Container, pup: Party, vendor: FakeVendor
) -> None:
    _, people = sample_for("syriusz-std", 2)
    page = changes_page(people)
    page["persons"][1]["pesel"] = "85031212345"
    # A partner's own id shaped like a PESEL is masked in the report.
    page["enrollments"].append({"person_ref": "85031204311", "status": "UNEMPLOYED"})
    vendor.changes = [page]

    async with httpx.AsyncClient() as http:
        [batch] = await pull_changes(
            container.ctx, container.record_imports, system_caller(pup.id), partner_system(vendor, pup, http)
        )

    assert batch.status is BatchStatus.REJECTED
    assert [(r.line, r.field, r.external_ref) for r in batch.rejects] == [
        (2, "pesel", people[1].ref),
        (3, "external_ref", "850312*****"),
    ]
    assert "85031204311" not in repr(batch)
    assert await count(container, PersonRow) == 0
    assert await cursor(container, pup) is None


async def test_a_partner_naming_no_next_cursor_is_asked_again_from_the_same_one(
    container: Container, pup: Party, vendor: FakeVendor
) -> None:
    _, people = sample_for("syriusz-std", 2)
    vendor.changes = [{**changes_page(people), "next_cursor": None}]
    caller = system_caller(pup.id)

    async with httpx.AsyncClient() as http:
        system = partner_system(vendor, pup, http)
        [first] = await pull_changes(container.ctx, container.record_imports, caller, system)
        [again] = await pull_changes(container.ctx, container.record_imports, caller, system)

    assert (first.counts.created, again.counts.unchanged) == (2, 2)
    assert [r.query.get("since") for r in vendor.made("GET", "/changes")] == [None, None]
    assert await cursor(container, pup) is None


async def test_statuses_written_back_in_a_referrals_file_become_the_receivers_actions(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party, tmp_path: Path
) -> None:
    profile, people = sample_for("syriusz-std", 1)
    drop(tmp_path, pup, "osoby-1.csv", csv_file(people, profile))
    system = FileRecordSystem(RecordSystemKind.SYRIUSZ_STD, profile, folder_of(tmp_path, pup))
    await pull_changes(container.ctx, container.record_imports, system_caller(pup.id), system)
    person = await person_id_of(client, ops, people[0], "BENEFIT_RECIPIENT")
    await refer(client, ops, pup, person, pup)
    referrals = await export_referrals(container.ctx, container.record_imports, system_caller(pup.id))
    [envelope] = referrals.envelopes
    written_back = referrals_csv([replace(envelope, status="received")], referrals.own_refs, profile)
    drop(tmp_path, pup, "skierowania-1.csv", written_back, where="statuses")

    decisions = await pull_statuses(container.ctx, container.record_imports, system_caller(pup.id), system)
    again = await pull_statuses(container.ctx, container.record_imports, system_caller(pup.id), system)

    assert [(d.status, d.decision) for d in decisions] == [("received", Decision.APPLIED)]
    assert again == []
    # A status the profile does not know is refused and said, not dropped.
    unknown = written_back.decode(profile.export_encoding).replace(
        profile.to_vendor_code("referral_status", "received"), "NIEZNANY"
    )
    drop(tmp_path, pup, "skierowania-2.csv", unknown.encode(profile.export_encoding), where="statuses")
    [refused] = await pull_statuses(container.ctx, container.record_imports, system_caller(pup.id), system)
    assert refused.decision is Decision.REJECTED
    read = await client.get(f"/v1/referrals/{envelope.referral_id}", headers=ops.headers())
    assert read.json()["status"] == "received"
    assert await cursor(container, pup, SyncStream.STATUSES) == "skierowania-2.csv"


async def test_what_spojnia_hands_over_is_written_whole_in_the_profile_and_reads_back(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party, tmp_path: Path
) -> None:
    profile, people = sample_for("syriusz-std", 1)
    drop(tmp_path, pup, "osoby-1.csv", csv_file(people, profile))
    system = container_system(container, pup, tmp_path, "syriusz-std")
    await pull_changes(container.ctx, container.record_imports, system_caller(pup.id), system)
    person = await person_id_of(client, ops, people[0], "BENEFIT_RECIPIENT")
    await refer(client, ops, pup, person, pup)
    [envelope] = (await export_referrals(container.ctx, container.record_imports, system_caller(pup.id))).envelopes

    await system.push_referral(envelope)
    await system.push_referral(envelope)

    out = folder_of(tmp_path, pup) / "out" / "referrals"
    assert sorted(p.name for p in out.iterdir()) == [f"referral-{envelope.referral_id}.csv"]
    data = (out / f"referral-{envelope.referral_id}.csv").read_bytes()
    [read_back] = read_referrals(data, profile)
    assert (read_back.referral_id, read_back.status, read_back.instrument_code) == (
        envelope.referral_id,
        envelope.status,
        envelope.instrument_code,
    )
    # The institution's own id of the person, from its import, so that its system finds them.
    assert people[0].ref in data.decode(profile.export_encoding)


def container_system(container: Container, party: Party, exchange: Path, profile: str) -> FileRecordSystem:
    settings = container.settings.model_copy(
        update={"sync": RecordSync(institutions={str(party.id): profile}, exchange_dir=exchange)}
    )
    chosen = replace(container, settings=settings).record_system(party.id)
    assert isinstance(chosen, FileRecordSystem)
    return chosen


def test_the_settings_choose_each_institutions_record_system(tmp_path: Path) -> None:
    ops_id, pup_id, ngo_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'choice.db'}",
        pesel={"key_file": tmp_path / "keys.json"},
        partner_apis={pup_id: PartnerApi(base_url="http://127.0.0.1:9/partner-api/v1", token="t")},
        sync=RecordSync(institutions={str(ops_id): "tt-pomoc"}, exchange_dir=tmp_path / "wymiana"),
    )
    app = bootstrap(settings)

    at_ops, at_pup, at_ngo = app.record_system(ops_id), app.record_system(pup_id), app.record_system(ngo_id)

    assert isinstance(at_ops, FileRecordSystem)
    assert (at_ops.kind, at_ops.profile.name, at_ops.folder) == (
        RecordSystemKind.TT_POMOC,
        "tt-pomoc",
        tmp_path / "wymiana" / str(ops_id),
    )
    assert isinstance(at_pup, HttpRecordSystem)
    assert at_pup.kind is RecordSystemKind.PARTNER_API
    assert at_ngo is None


@pytest.mark.sqlite
async def test_sync_pull_on_the_command_line_imports_the_folder_and_says_when_nothing_is_new(
    container: Container, ops: Party, tmp_path: Path
) -> None:
    profile, people = sample_for("pomost-std", 4)
    drop(tmp_path / "wymiana", ops, "osoby-1.csv", csv_file(people, profile, encoding="cp1250"))
    settings = {
        "SPOJNIA_SYNC__INSTITUTIONS": f'{{"{ops.id}": "pomost-std"}}',
        "SPOJNIA_SYNC__EXCHANGE_DIR": str(tmp_path / "wymiana"),
    }

    def pull(institution: uuid.UUID) -> subprocess.CompletedProcess[str]:
        return spojnia(container, tmp_path, "pull", "--institution", str(institution), env=settings)

    first, again, unknown = pull(ops.id), pull(ops.id), pull(uuid.uuid4())

    assert first.returncode == 0, first.stderr
    assert "(osoby-1.csv): imported" in first.stdout
    assert "persons created 4" in first.stdout
    assert (again.returncode, again.stdout.splitlines()[0]) == (0, "no new changes")
    assert unknown.returncode == 2
    assert "no record system in the settings" in unknown.stderr
    assert await count(container, PersonRow) == 4
