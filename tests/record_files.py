"""Test data builder of export files as the vendors' systems write them, by the shipped mapping profiles:
households of persons with Polish names, valid PESELs, statuses and roles in the vendor's codes; written as
CSV (UTF-8, UTF-8 with BOM, Windows-1250), XLSX or XML in the profile's columns and paths."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

from openpyxl import Workbook
from stdnum.pl import pesel as stdnum_pesel

from app.adapters.record_systems.profiles import Profile, load_profile

FIRST = {
    "F": ["Łucja", "Żaneta", "Małgorzata", "Agnieszka", "Jadwiga", "Ewa", "Bożena", "Zofia", "Ścibora", "Anna"],
    "M": ["Łukasz", "Mikołaj", "Zbigniew", "Grzegorz", "Paweł", "Jędrzej", "Józef", "Bartłomiej", "Jan", "Piotr"],
}
LAST = [("Kowalski", "Kowalska"), ("Wąsik", "Wąsik"), ("Łączyński", "Łączyńska"), ("Żółtowski", "Żółtowska")]
LAST += [("Śliwa", "Śliwa"), ("Gąska", "Gąska"), ("Nowak", "Nowak"), ("Kałuża", "Kałuża"), ("Zając", "Zając")]
TERYT = ["2801011", "2801022", "2801063", "2801032"]
SOCIAL = ["APPLICANT", "BENEFIT_RECIPIENT", "SOCIAL_WORK_CLIENT", "SOCIAL_CONTRACT", "FAMILY_ASSISTANT_CARE"]
LABOUR = ["UNEMPLOYED", "JOB_SEEKER", "LONG_TERM_UNEMPLOYED"]


def pesel_of(born: date, sex: str, serial: int) -> str:
    month = born.month + (20 if born.year >= 2000 else 0)
    sex_digit = (serial % 5) * 2 + (1 if sex == "M" else 0)
    digits = f"{born:%y}{month:02d}{born:%d}{serial % 1000:03d}{sex_digit}"
    return digits + stdnum_pesel.calc_check_digit(digits)


@dataclass(frozen=True, slots=True, kw_only=True)
class SamplePerson:
    """A person as the source holds them, in Spójnia's codes (the writer turns them into the vendor's)."""

    ref: str
    first_name: str
    last_name: str
    sex: str
    birth_date: date
    pesel: str | None
    status: str
    since: date
    worker_name: str | None
    teryt: str
    household_ref: str | None = None
    role: str | None = None
    registered_unemployed: bool | None = None


def sample_people(
    count: int, *, statuses: Sequence[str] = SOCIAL, households: bool = True, seed: int = 7, worker: str | None = None
) -> list[SamplePerson]:
    """Households of two parents and children (or persons alone), the parents born 1960-1995, children 2005-2020."""
    rng = random.Random(seed)
    people: list[SamplePerson] = []
    serial = 100
    family = 0
    while len(people) < count:
        family += 1
        male, female = rng.choice(LAST)
        teryt = rng.choice(TERYT)
        size = rng.choice([1, 2, 3, 4]) if households else 1
        household = f"R/{2026}/{family:05d}" if households else None
        for member in range(size):
            if len(people) >= count:
                break
            sex = rng.choice("FM") if member != 1 else ("F" if people[-1].sex == "M" else "M")
            child = member >= 2
            born = date(
                rng.randint(2005, 2020) if child else rng.randint(1960, 1995), rng.randint(1, 12), rng.randint(1, 28)
            )
            serial += 1
            people.append(
                SamplePerson(
                    ref=f"{10000 + len(people)}",
                    first_name=rng.choice(FIRST[sex]),
                    last_name=male if sex == "M" else female,
                    sex=sex,
                    birth_date=born,
                    pesel=pesel_of(born, sex, serial),
                    status=rng.choice(list(statuses)),
                    since=date(2026, 1, 1) + timedelta(days=rng.randint(0, 300)),
                    worker_name=worker if worker and rng.random() < 0.5 else None,
                    teryt=teryt,
                    household_ref=household,
                    role=("CHILD" if child else "PARENT") if household else None,
                    registered_unemployed=None if child or not households else rng.random() < 0.3,
                )
            )
    return people


def field_values(person: SamplePerson, profile: Profile) -> dict[str, str]:
    """The row's cells by field, in the vendor's codes and date format."""
    day = profile.format_date
    booleans = sorted(profile.true_words), sorted(profile.false_words)
    values = {
        "external_ref": person.ref,
        "pesel": person.pesel or "",
        "first_name": person.first_name,
        "last_name": person.last_name,
        "birth_date": day(person.birth_date),
        "sex": profile.to_vendor_code("sex", person.sex),
        "address_teryt": person.teryt,
        "status": profile.to_vendor_code("status", person.status),
        "since": day(person.since),
        "worker_name": person.worker_name or "",
        "household_ref": person.household_ref or "",
        "role": profile.to_vendor_code("role", person.role) if person.role else "",
    }
    if person.registered_unemployed is not None and booleans[0]:
        values["registered_unemployed"] = (booleans[0] if person.registered_unemployed else booleans[1])[0].upper()
    return {f: v for f, v in values.items() if f in profile.rows.columns or f in profile.rows.paths}


def csv_file(
    people: Sequence[SamplePerson],
    profile: Profile,
    *,
    encoding: str = "utf-8",
    bom: bool = False,
    delimiter: str = ";",
) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    fields = list(profile.rows.columns)
    writer.writerow([profile.rows.columns[f] for f in fields])
    for person in people:
        values = field_values(person, profile)
        writer.writerow([values.get(f, "") for f in fields])
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode(encoding)


def xlsx_file(people: Sequence[SamplePerson], profile: Profile, *, pesel_as_number: bool = False) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    if profile.sheet:
        sheet.title = profile.sheet
    fields = list(profile.rows.columns)
    for _ in range(profile.header_row - 1):
        sheet.append([])
    sheet.append([profile.rows.columns[f] for f in fields])
    for person in people:
        values: dict[str, object] = dict(field_values(person, profile))
        values["birth_date"] = person.birth_date  # a real date cell, as spreadsheets keep them
        if pesel_as_number and person.pesel:
            values["pesel"] = int(person.pesel)
        sheet.append([values.get(f, "") for f in fields])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _element(
    path: str, value: str, record_attrs: dict[str, str], children: dict[str, tuple[str, dict[str, str]]]
) -> None:
    if path.startswith("@"):
        record_attrs[path[1:]] = value
        return
    name, _, attribute = path.partition("/@")
    text, attrs = children.get(name, ("", {}))
    if attribute:
        attrs = attrs | {attribute: value}
    else:
        text = value
    children[name] = (text, attrs)


def xml_file(people: Sequence[SamplePerson], profile: Profile, *, encoding: str = "utf-8") -> bytes:
    """Records grouped by household under a parent element when the profile reads the household from `../`."""
    paths = profile.rows.paths
    grouped = any(p.startswith("../") for p in paths.values())
    lines = [f'<?xml version="1.0" encoding="{encoding}"?>', "<eksport>"]
    groups: dict[str, list[SamplePerson]] = {}
    for person in people:
        groups.setdefault(person.household_ref or person.ref if grouped else "", []).append(person)
    for key, members in groups.items():
        if grouped:
            parent_path = next(p for p in paths.values() if p.startswith("../@"))
            lines.append(f"  <rodzina {parent_path[4:]}={quoteattr(key)}>")
        for person in members:
            attrs: dict[str, str] = {}
            children: dict[str, tuple[str, dict[str, str]]] = {}
            for field, value in field_values(person, profile).items():
                path = paths.get(field)
                if path and value and not path.startswith("../"):
                    _element(path, value, attrs, children)
            attributes = "".join(f" {k}={quoteattr(v)}" for k, v in attrs.items())
            lines.append(f"    <{profile.xml_record}{attributes}>")
            for name, (text, child_attrs) in children.items():
                extra = "".join(f" {k}={quoteattr(v)}" for k, v in child_attrs.items())
                lines.append(f"      <{name}{extra}>{xml_escape(text)}</{name}>")
            lines.append(f"    </{profile.xml_record}>")
        if grouped:
            lines.append("  </rodzina>")
    lines.append("</eksport>")
    return ("\n".join(lines) + "\n").encode(encoding)


def statuses_for(profile: Profile) -> Sequence[str]:
    return LABOUR if profile.status_list == "PupClientStatus" else SOCIAL


def sample_for(
    name: str, count: int = 24, *, worker: str | None = None, seed: int = 7
) -> tuple[Profile, list[SamplePerson]]:
    profile = load_profile(name)
    households = bool(profile.rows.columns.get("household_ref"))
    return profile, sample_people(
        count, statuses=statuses_for(profile), households=households, worker=worker, seed=seed
    )


def with_change(people: list[SamplePerson], index: int, **changes: object) -> list[SamplePerson]:
    changed = list(people)
    changed[index] = replace(changed[index], **changes)  # type: ignore[arg-type]
    return changed
