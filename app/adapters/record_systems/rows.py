"""Checking rows read from a file against the profile: required fields, PESEL, dates, codes, duplicates.

Each row becomes a SourceRow or one or more Rejects naming its line and field. A PESEL in a reject's reason
is masked (`850312*****`): reject reports are kept and passed around.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date

from app.adapters.record_systems.profiles import Profile
from app.adapters.record_systems.readers import RawRow
from app.domain.errors import InvalidInput
from app.domain.record_imports import ParsedFile, Reject, SourceRow, mask_pesel
from app.domain.record_systems import SourceEnrollment, SourceHouseholdMember, SourcePerson
from app.domain.values import IdentityDocument, Pesel, Teryt

# Eleven digits standing alone look like a PESEL: outside its own column one is refused, never stored or shown.
_PESEL_SHAPE = re.compile(r"(?<![\w-])\d{11}(?![\w-])")


def shown(value: str) -> str:
    """A value as a report may quote it: anything shaped like a PESEL masked."""
    return _PESEL_SHAPE.sub(lambda m: mask_pesel(m.group()), value)


class _Row:
    """One raw row read field by field; what cannot be read becomes a Reject."""

    def __init__(self, raw: RawRow, profile: Profile) -> None:
        self.raw = raw
        self.profile = profile
        self.rejects: list[Reject] = []
        ref = raw.values.get("external_ref")
        self.ref = shown(ref) if ref else None
        if ref and ref != self.ref:
            self.reject("external_ref", "looks like a PESEL; Spójnia keeps no PESEL as an id: map another column")

    def reject(self, field: str, reason: str) -> None:
        self.rejects.append(Reject(line=self.raw.line, field=field, reason=reason, external_ref=self.ref))

    def rejects_fields(self) -> set[str]:
        return {r.field for r in self.rejects}

    def text(self, field: str) -> str | None:
        value = self.raw.values.get(field)
        if value is None and field in self.profile.rows.required:
            self.reject(field, "required, but empty")
        return value

    def day(self, field: str) -> date | None:
        raw = self.text(field)
        if raw is None:
            return None
        parsed = self.profile.parse_date(raw)
        if parsed is None:
            self.reject(field, f"'{shown(raw)}' is not a date in the form {self.profile.human_date_formats()}")
        return parsed

    def code(self, field: str, table: str) -> str | None:
        raw = self.text(field)
        if raw is None:
            return None
        code = self.profile.to_shared_code(table, raw)
        if code is None:
            known = ", ".join(self.profile.code_table(table).vendor_codes) or "none"
            self.reject(field, f"'{shown(raw)}' is not in the profile's {table} table (known: {known})")
        return code

    def flag(self, field: str) -> bool | None:
        raw = self.text(field)
        if raw is None:
            return None
        word = raw.casefold()
        if word in self.profile.true_words or word in self.profile.false_words:
            return word in self.profile.true_words
        self.reject(field, f"'{shown(raw)}' is neither yes nor no ({', '.join(sorted(self.profile.true_words))} / ...)")
        return None

    def pesel(self) -> Pesel | None:
        raw = self.text("pesel")
        if raw is None:
            return None
        try:
            return Pesel.parse(raw)
        except InvalidInput:
            self.reject("pesel", f"PESEL {mask_pesel(raw)} is not valid (length, birth date or checksum)")
            return None

    def teryt(self) -> str | None:
        raw = self.text("address_teryt")
        if raw is None:
            return None
        try:
            teryt = Teryt.parse(raw, field="address_teryt")
        except InvalidInput as error:
            self.reject("address_teryt", error.detail)
            return None
        if len(teryt.value) != 7:
            self.reject("address_teryt", "the gmina of residence needs its 7-digit TERYT code")
            return None
        return teryt.value

    def document(self) -> IdentityDocument | None:
        kind = self.code("id_doc_kind", "id_doc_kind")
        number, country = self.text("id_doc_number"), self.text("id_doc_country")
        if not (kind or number or country):
            return None
        if not (kind and number and country):
            self.reject("id_doc_number", "an identity document needs its kind, number and country")
            return None
        try:
            return IdentityDocument.parse(kind=kind, number=number, country=country)
        except InvalidInput as error:
            for problem in error.errors:
                self.reject(problem.field.replace("identity_document.", "id_doc_"), problem.message)
            return None


_FREE_TEXT = ("first_name", "last_name", "worker_name", "worker_ref", "household_ref", "household_name")


def _source_row(row: _Row) -> SourceRow | None:
    for field in _FREE_TEXT:
        value = row.raw.values.get(field)
        if value and _PESEL_SHAPE.search(value):
            row.reject(field, "holds what looks like a PESEL; a PESEL goes only in its own column")
    pesel = row.pesel()
    birth_date = row.day("birth_date")
    if pesel is not None and birth_date is not None and birth_date != pesel.birth_date:
        row.reject("birth_date", "does not match the birth date in the PESEL")
    sex = row.code("sex", "sex")
    if pesel is not None and sex is not None and sex != pesel.sex.value:
        row.reject("sex", "does not match the sex digit of the PESEL")
    if pesel is None and birth_date is None and not {"pesel", "birth_date"} & row.rejects_fields():
        row.reject("birth_date", "required for a person without PESEL")
    document = row.document()
    person = SourcePerson(
        external_ref=row.text("external_ref") or "",
        first_name=row.text("first_name") or "",
        last_name=row.text("last_name") or "",
        pesel=pesel.value if pesel else None,
        birth_date=birth_date,
        sex=sex,
        id_doc_kind=document.kind if document else None,
        id_doc_number=document.number if document else None,
        id_doc_country=document.country if document else None,
        address_teryt=row.teryt(),
    )
    enrollment = SourceEnrollment(
        person_ref=person.external_ref,
        status=row.code("status", "status") or "",
        since=row.day("since"),
        until=row.day("until"),
        worker_name=row.text("worker_name"),
        worker_ref=row.text("worker_ref"),
    )
    household_ref, role = row.text("household_ref"), row.code("role", "role")
    if household_ref is not None and role is None and "role" not in row.rejects_fields():
        row.reject("role", "required for a member of a household")
    registered = row.flag("registered_unemployed")
    if row.rejects:
        return None
    return SourceRow(
        line=row.raw.line,
        person=person,
        enrollment=enrollment,
        household_ref=household_ref,
        household_name=row.text("household_name"),
        membership=SourceHouseholdMember(person_ref=person.external_ref, role=role) if household_ref and role else None,
        registered_unemployed=registered,
    )


def _duplicates(raws: Sequence[RawRow], pesels: dict[int, str]) -> list[Reject]:
    """The same external ref (or the same PESEL under two refs) on several lines: every such line is rejected,
    naming the others, since which of them is right is for the institution to say."""
    rejects = []
    by_ref: dict[str, list[RawRow]] = defaultdict(list)
    for raw in raws:
        if ref := raw.values.get("external_ref"):
            by_ref[ref].append(raw)
    for ref, same in by_ref.items():
        if len(same) > 1:
            lines = ", ".join(str(r.line) for r in same)
            for raw in same:
                reason = f"the external ref {shown(ref)} appears more than once: lines {lines}"
                rejects.append(Reject(line=raw.line, field="external_ref", reason=reason, external_ref=shown(ref)))
    by_pesel: dict[str, list[RawRow]] = defaultdict(list)
    for raw in raws:
        if raw.line in pesels and len(by_ref[raw.values.get("external_ref") or ""]) <= 1:
            by_pesel[pesels[raw.line]].append(raw)
    for pesel, same in by_pesel.items():
        if len(same) > 1:
            lines = ", ".join(str(r.line) for r in same)
            for raw in same:
                reason = f"PESEL {mask_pesel(pesel)} appears under several external refs: lines {lines}"
                rejects.append(
                    Reject(line=raw.line, field="pesel", reason=reason, external_ref=raw.values.get("external_ref"))
                )
    return rejects


def check_rows(
    raws: Sequence[RawRow], profile: Profile, progress: Callable[[int, int], None] | None = None
) -> ParsedFile:
    rows: list[SourceRow] = []
    rejects: list[Reject] = []
    for done, raw in enumerate(raws, start=1):
        row = _Row(raw, profile)
        checked = _source_row(row)
        rejects.extend(row.rejects)
        if checked is not None:
            rows.append(checked)
        if progress is not None and (done % 500 == 0 or done == len(raws)):
            progress(done, len(raws))
    duplicated = _duplicates(raws, {r.line: r.person.pesel for r in rows if r.person.pesel})
    rejects.extend(duplicated)
    refused = {r.line for r in duplicated}
    return ParsedFile(
        profile=profile.name,
        profile_version=profile.version,
        status_list=profile.status_list,
        rows=[r for r in rows if r.line not in refused],
        rejects=sorted(rejects, key=lambda r: r.line),
        rows_read=len(raws),
    )
