"""`spojnia sync import|export` run as a process, as cron runs it: progress on stderr, a summary on stdout, a
reject report file, and the exit status a script acts on (0 imported, 1 rejected, 2 unreadable)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.adapters.db.tables import PersonRow
from app.bootstrap import Container
from tests.conftest import Party
from tests.record_files import csv_file, sample_for, with_change

ROOT = Path(__file__).resolve().parents[2]


def spojnia(
    container: Container, tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = (
        os.environ
        | {
            "SPOJNIA_DATABASE_URL": container.settings.database_url,
            "SPOJNIA_LOCAL_ISSUER__KEY_FILE": str(tmp_path / "key.pem"),
            "SPOJNIA_LOG_LEVEL": "WARNING",
        }
        | (env or {})
    )
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "app.cli", "sync", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def persons(container: Container) -> int:
    async with container.engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(PersonRow)) or 0)


@pytest.mark.sqlite
async def test_an_import_reports_progress_and_a_summary_and_again_changes_nothing(
    container: Container, ops: Party, tmp_path: Path
) -> None:
    profile, people = sample_for("pomost-std", 12)
    export = tmp_path / "pomost.csv"
    export.write_bytes(csv_file(people, profile, encoding="cp1250"))
    args = ("import", "--institution", str(ops.id), "--profile", "pomost-std", str(export))

    first = spojnia(container, tmp_path, *args)
    again = spojnia(container, tmp_path, *args)

    assert first.returncode == 0, first.stderr
    assert "checking: 12/12 rows" in first.stderr
    assert "importing: 12/12 rows" in first.stderr
    assert "rows read 12, persons created 12, enrolled 0, updated 0, unchanged 0, rejected 0" in first.stdout
    assert "rows read 12, persons created 0, enrolled 0, updated 0, unchanged 12, rejected 0" in again.stdout
    assert await persons(container) == 12


async def test_rejects_exit_1_unless_skipped_and_go_to_the_report_file(
    container: Container, ops: Party, tmp_path: Path
) -> None:
    profile, people = sample_for("tt-pomoc", 5)
    bad = with_change(people, 1, pesel="85031212345")
    export = tmp_path / "klienci.csv"
    export.write_bytes(csv_file(bad, profile, encoding="cp1250"))
    report = tmp_path / "odrzucone.csv"
    args = ("import", "--institution", str(ops.id), "--profile", "tt-pomoc", "--rejects", str(report), str(export))

    refused = spojnia(container, tmp_path, *args)
    persons_after_refusal = await persons(container)
    skipped = spojnia(container, tmp_path, *args, "--skip-rejects")

    assert refused.returncode == 1
    assert "line 3, PESEL: PESEL 850312***** is not valid" in refused.stderr
    assert "nothing imported: 1 rows rejected" in refused.stderr
    assert persons_after_refusal == 0
    assert skipped.returncode == 0, skipped.stderr
    assert "persons created 4" in skipped.stdout
    written = report.read_text(encoding="utf-8-sig")
    assert written.splitlines()[1].startswith(f"3;PESEL;pesel;{people[1].ref};PESEL 850312*****")
    assert "85031212345" not in written


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "line 1: the file is empty"), ("ID;IMIĘ\n".encode("utf-16"), "not UTF-8 or Windows-1250")],
)
async def test_an_unreadable_file_exits_2(
    container: Container, ops: Party, tmp_path: Path, content: bytes, message: str
) -> None:
    export = tmp_path / "eksport.csv"
    export.write_bytes(content)

    result = spojnia(
        container, tmp_path, "import", "--institution", str(ops.id), "--profile", "pomost-std", str(export)
    )

    assert result.returncode == 2
    assert message in result.stderr
    assert await persons(container) == 0


async def test_an_export_is_written_in_the_profiles_encoding(container: Container, ops: Party, tmp_path: Path) -> None:
    out = tmp_path / "skierowania.csv"

    result = spojnia(
        container,
        tmp_path,
        "export",
        "--institution",
        str(ops.id),
        "--profile",
        "pomost-std",
        "--what",
        "referrals",
        str(out),
    )

    assert result.returncode == 0, result.stderr
    assert "wrote 0 referrals" in result.stdout
    assert out.read_bytes().decode("cp1250").startswith("ID_SKIEROWANIA;ID_NADAWCY;")


async def test_the_profile_defaults_to_the_record_system_the_settings_name_for_the_institution(
    container: Container, ops: Party, tmp_path: Path
) -> None:
    profile, people = sample_for("tt-pomoc", 3)
    export = tmp_path / "tt.csv"
    export.write_bytes(csv_file(people, profile, encoding="utf-8"))
    args = ("import", "--institution", str(ops.id), str(export))

    unnamed = spojnia(container, tmp_path, *args)
    named = spojnia(container, tmp_path, *args, env={"SPOJNIA_SYNC__INSTITUTIONS": f'{{"{ops.id}": "tt-pomoc"}}'})

    assert unnamed.returncode == 2
    assert "SPOJNIA_SYNC__INSTITUTIONS" in unnamed.stderr
    assert named.returncode == 0, named.stderr
    assert "persons created 3" in named.stdout
