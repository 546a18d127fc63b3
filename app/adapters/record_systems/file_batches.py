"""File batches end to end, for the command line and the upload endpoint: a file read and checked with a
profile into what the import use case takes, and the reject report written for people.

The reject report names each rejected row's line, the column (as the profile calls it), the field and the
reason; a PESEL in it is masked. It holds no names.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from app.adapters.record_systems.profiles import Profile
from app.adapters.record_systems.readers import read_rows
from app.adapters.record_systems.rows import check_rows
from app.domain.record_imports import ImportBatch, ImportMode, Reject
from app.domain.services.record_imports import ImportFile

Progress = Callable[[str, int, int], None]  # (stage, rows done, rows in all)


def import_command(
    data: bytes, file_name: str, profile: Profile, *, skip_rejects: bool, progress: Progress | None = None
) -> ImportFile:
    """The import use case's command for a file; FileProblem when the file cannot be read with the profile."""
    _, raws = read_rows(data, file_name, profile)
    return ImportFile(
        parsed=check_rows(raws, profile, partial(progress, "checking") if progress else None),
        file_name=Path(file_name).name,
        sha256=hashlib.sha256(data).hexdigest(),
        mode=ImportMode.SKIP_REJECTS if skip_rejects else ImportMode.ALL_OR_NOTHING,
        progress=partial(progress, "importing") if progress else None,
    )


def column_of(profile: Profile, field: str) -> str:
    return profile.rows.columns.get(field, profile.rows.paths.get(field, field))


def rejects_csv(rejects: Sequence[Reject], profile: Profile) -> bytes:
    """The reject report as a file: UTF-8 with a BOM (spreadsheets open it right), `;` between cells."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["line", "column", "field", "external_ref", "reason"])
    for r in rejects:
        writer.writerow([r.line, column_of(profile, r.field), r.field, r.external_ref or "", r.reason])
    return out.getvalue().encode("utf-8-sig")


def reject_lines(rejects: Sequence[Reject], profile: Profile) -> list[str]:
    return [f"line {r.line}, {column_of(profile, r.field)}: {r.reason}" for r in rejects]


def summary(batch: ImportBatch) -> str:
    c = batch.counts
    text = (
        f"rows read {c.rows_read}, persons created {c.created}, enrolled {c.enrolled}, updated {c.updated}, "
        f"unchanged {c.unchanged}, rejected {c.rejected}"
    )
    if c.families_created:
        text += f", families created {c.families_created}"
    return text
