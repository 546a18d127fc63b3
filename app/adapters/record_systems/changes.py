"""Changes as the RecordSystem port carries them, and the rows an import takes.

A file's checked rows become a ChangeBatch (the file exchange's pull); a ChangeBatch from any system is checked
again as rows of Spójnia's own layout (the generic-csv profile: Spójnia's field names and codes), so that a
partner API's changes meet the very checks a file's rows do (PESEL, birth date and sex against it, codes, a
PESEL hidden in free text, duplicates) and one import use case takes them all.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import asdict, replace
from datetime import date

from app.adapters.record_systems.profiles import load_profile
from app.adapters.record_systems.readers import RawRow
from app.adapters.record_systems.rows import check_rows, shown
from app.domain.record_imports import ImportMode, ParsedFile
from app.domain.record_systems import (
    ChangeBatch,
    RecordSystemKind,
    Reject,
    SourceEnrollment,
    SourceHousehold,
    SourceHouseholdMember,
)
from app.domain.services.record_imports import ImportFile, PulledUntil

# The layout whose fields and codes are Spójnia's own: what the port's changes are checked as.
OWN_LAYOUT = "generic-csv"
# The field of a reject that stands for a whole file that could not be read: such a batch is never imported past,
# whatever the mode, since none of its rows was read.
WHOLE_FILE = "file"


def changes_of_rows(parsed: ParsedFile, *, next_cursor: str | None, source: str) -> ChangeBatch:
    """A file's valid rows as the port's changes, keeping each row's line and the file's rejects."""
    households: dict[str, list[SourceHouseholdMember]] = defaultdict(list)
    names: dict[str, str] = {}
    for row in parsed.rows:
        if row.household_ref is not None and row.membership is not None:
            households[row.household_ref].append(row.membership)
            if row.household_name and row.household_ref not in names:
                names[row.household_ref] = row.household_name
    return ChangeBatch(
        persons=[replace(row.person, line=row.line) for row in parsed.rows],
        enrollments=[replace(row.enrollment, registered_unemployed=row.registered_unemployed) for row in parsed.rows],
        households=[
            SourceHousehold(external_ref=ref, members=members, name=names.get(ref))
            for ref, members in households.items()
        ],
        next_cursor=next_cursor,
        rejects=parsed.rejects,
        source=source,
        status_list=parsed.status_list,
    )


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _flag(value: bool | None) -> str | None:
    return None if value is None else ("true" if value else "false")


def _raw_rows(batch: ChangeBatch) -> tuple[list[RawRow], list[Reject]]:
    """One row per person, with their enrollment and household; what names a person the batch does not
    describe is rejected, since an import needs the person to enrol them."""
    enrollments: dict[str, SourceEnrollment] = {e.person_ref: e for e in batch.enrollments}
    memberships: dict[str, tuple[SourceHousehold, str]] = {
        m.person_ref: (h, m.role) for h in batch.households for m in h.members
    }
    rows: list[RawRow] = []
    for position, p in enumerate(batch.persons, start=1):
        e = enrollments.get(p.external_ref)
        household, role = memberships.get(p.external_ref, (None, None))
        values = {
            "external_ref": p.external_ref,
            "pesel": p.pesel,
            "first_name": p.first_name,
            "last_name": p.last_name,
            "birth_date": _day(p.birth_date),
            "sex": p.sex,
            "id_doc_kind": p.id_doc_kind,
            "id_doc_number": p.id_doc_number,
            "id_doc_country": p.id_doc_country,
            "address_teryt": p.address_teryt,
            "status": e.status if e else None,
            "since": _day(e.since) if e else None,
            "until": _day(e.until) if e else None,
            "worker_name": e.worker_name if e else None,
            "worker_ref": e.worker_ref if e else None,
            "registered_unemployed": _flag(e.registered_unemployed) if e else None,
            "household_ref": household.external_ref if household else None,
            "household_name": household.name if household else None,
            "role": role,
        }
        cleaned = {k: v.strip() for k, v in values.items() if v is not None and v.strip()}
        rows.append(RawRow(line=p.line or position, values=cleaned))
    described = {p.external_ref for p in batch.persons}
    next_line = max((r.line for r in rows), default=0) + 1
    orphans = []
    for ref in dict.fromkeys([*enrollments, *memberships]):
        if ref not in described:
            reason = (
                "names a person the changes do not describe: send each person whose status changed, and every "
                "member of a household sent, among the persons"
            )
            orphans.append(Reject(line=next_line, field="external_ref", reason=reason, external_ref=shown(ref)))
            next_line += 1
    return rows, orphans


def _fingerprint(batch: ChangeBatch) -> str:
    # Without the PESELs: a plain hash of a one-person page would let whoever reads the batch guess the number.
    content = json.dumps([asdict(replace(p, pesel=None)) for p in batch.persons], default=str, sort_keys=True)
    content += json.dumps([asdict(e) for e in batch.enrollments], default=str, sort_keys=True)
    content += json.dumps([asdict(h) for h in batch.households], default=str, sort_keys=True)
    return hashlib.sha256(content.encode()).hexdigest()


def changes_command(batch: ChangeBatch, kind: RecordSystemKind, *, since: str | None, mode: ImportMode) -> ImportFile:
    """The import use case's command for a batch of changes; the cursor after them moves with the import (a source
    that names no next cursor keeps the one it was asked from)."""
    raws, orphans = _raw_rows(batch)
    if any(r.field == WHOLE_FILE for r in batch.rejects):
        mode = ImportMode.ALL_OR_NOTHING
    parsed = check_rows(raws, load_profile(OWN_LAYOUT))
    rejects = sorted([*parsed.rejects, *batch.rejects, *orphans], key=lambda r: r.line)
    unread = {r.line for r in batch.rejects} | {r.line for r in orphans}
    return ImportFile(
        parsed=replace(
            parsed,
            profile=kind.value,
            status_list=batch.status_list,
            rejects=rejects,
            rows_read=parsed.rows_read + len(unread),
        ),
        file_name=batch.source or f"{kind.value}: changes after {since or 'the start'}",
        sha256=_fingerprint(batch),
        mode=mode,
        pulled_until=PulledUntil(since=since, cursor=batch.next_cursor if batch.next_cursor is not None else since),
    )
