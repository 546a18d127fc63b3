"""`spojnia directory import FILE`: services from a CSV file or an Open Referral (HSDS) JSON file.

Every entry is read and checked first; a bad one is reported with its line number. A file with any
bad entry imports nothing, unless `--skip-errors` is given: then the good entries are imported and
the bad ones listed. Services are matched by id: a known id updates the service, a new one creates it.

CSV: one service per row, UTF-8 (a BOM from a spreadsheet is fine), comma or semicolon separated,
with a header row of these columns (only the first five are required):

    institution_id, name, description, category, areas,
    id, alternate_name, instrument_list, instrument_code, eligibility_description, min_age, max_age,
    criteria, location_name, street, postal_code, city, location_teryt, opening_hours, accessibility,
    email, phone, website, application_process, accepts_referrals, free, fee_amount, fee_description,
    languages, capacity_total, open_places, status, last_verified_on

Lists (areas, criteria, languages) are separated by spaces, commas or semicolons. Opening hours read
like `MO-FR 08:00-15:30, SA 09:00-12:00` (quote the cell when its separator is the file's). A CSV row
holds one location; more go in HSDS.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

from app.adapters import hsds
from app.adapters.db.directory_repository import SqlDirectoryStore
from app.bootstrap import Container
from app.cli_support import with_container
from app.domain.directory import LocationData, OpeningHoursData, ServiceData, ServiceId, Weekday
from app.domain.errors import DomainError, FieldError
from app.domain.ids import InstitutionId
from app.domain.services import directory as use

REQUIRED_COLUMNS = ("institution_id", "name", "description", "category", "areas")
OPTIONAL_COLUMNS = (
    "id",
    "alternate_name",
    "instrument_list",
    "instrument_code",
    "eligibility_description",
    "min_age",
    "max_age",
    "criteria",
    "location_name",
    "street",
    "postal_code",
    "city",
    "location_teryt",
    "opening_hours",
    "accessibility",
    "email",
    "phone",
    "website",
    "application_process",
    "accepts_referrals",
    "free",
    "fee_amount",
    "fee_description",
    "languages",
    "capacity_total",
    "open_places",
    "status",
    "last_verified_on",
)
LOCATION_COLUMNS = ("location_name", "street", "postal_code", "city", "location_teryt", "opening_hours")
_LIST_SEPARATORS = re.compile(r"[\s,;]+")
_YES = {"tak", "true", "1", "yes", "t", "y"}
_NO = {"nie", "false", "0", "no", "n", "f"}
_DAYS = [d.value for d in Weekday]
_HOURS = re.compile(r"^([A-Z]{2})(?:-([A-Z]{2}))?\s+(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})$")


class FileProblem(Exception):
    """The file as a whole cannot be read (not CSV, not JSON, no header...)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


# ---------------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------------


class _Row:
    """One CSV row, read field by field; what cannot be read becomes a FieldError."""

    def __init__(self, values: Mapping[str, str | None]) -> None:
        self.values = {k: (v or "").strip() for k, v in values.items() if k}
        self.errors: list[FieldError] = []

    def text(self, column: str) -> str | None:
        return self.values.get(column) or None

    def whole(self, column: str) -> int | None:
        raw = self.text(column)
        if raw is None:
            return None
        if not raw.isdigit():
            self.errors.append(FieldError(column, "a whole number"))
            return None
        return int(raw)

    def flag(self, column: str, default: bool) -> bool:
        raw = (self.text(column) or "").lower()
        if not raw:
            return default
        if raw in _YES | _NO:
            return raw in _YES
        self.errors.append(FieldError(column, "tak or nie (true or false)"))
        return default

    def items(self, column: str) -> list[str]:
        return [part for part in _LIST_SEPARATORS.split(self.text(column) or "") if part]

    def uuid(self, column: str) -> UUID | None:
        raw = self.text(column)
        if raw is None:
            return None
        try:
            return UUID(raw)
        except ValueError:
            self.errors.append(FieldError(column, "not a UUID"))
            return None

    def day(self, column: str) -> date | None:
        raw = self.text(column)
        if raw is None:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            self.errors.append(FieldError(column, "a date like 2026-05-01"))
            return None

    def hours(self, column: str) -> list[OpeningHoursData]:
        found: list[OpeningHoursData] = []
        for part in (p.strip() for p in re.split(r"[;,]", self.text(column) or "")):
            if not part:
                continue
            match = _HOURS.match(part.upper())
            if match is None or match[1] not in _DAYS or (match[2] and match[2] not in _DAYS):
                self.errors.append(FieldError(column, f"'{part}' does not read like MO-FR 08:00-15:30"))
                continue
            first, last = _DAYS.index(match[1]), _DAYS.index(match[2] or match[1])
            opens, closes = (f"{int(h):02d}:{m}" for h, m in (t.split(":") for t in (match[3], match[4])))
            found.extend(OpeningHoursData(day=day, opens=opens, closes=closes) for day in _DAYS[first : last + 1])
        return found


def _csv_entry(line: int, row: _Row) -> use.ImportEntry:
    locations = []
    if any(row.text(c) for c in LOCATION_COLUMNS):
        locations.append(
            LocationData(
                name=row.text("location_name") or row.text("city") or "",
                street=row.text("street"),
                postal_code=row.text("postal_code"),
                city=row.text("city") or "",
                teryt=row.text("location_teryt") or "",
                opening_hours=row.hours("opening_hours"),
                accessibility=row.text("accessibility"),
            )
        )
    data = ServiceData(
        name=row.text("name") or "",
        alternate_name=row.text("alternate_name"),
        description=row.text("description") or "",
        category=row.text("category") or "",
        instrument_list=row.text("instrument_list"),
        instrument_code=row.text("instrument_code"),
        eligibility_description=row.text("eligibility_description") or "",
        min_age=row.whole("min_age"),
        max_age=row.whole("max_age"),
        criteria=row.items("criteria"),
        areas=row.items("areas"),
        locations=locations,
        email=row.text("email"),
        phone=row.text("phone"),
        website=row.text("website"),
        application_process=row.text("application_process") or "",
        accepts_referrals=row.flag("accepts_referrals", True),
        free=row.flag("free", not row.text("fee_amount")),
        fee_amount=row.text("fee_amount"),
        fee_description=row.text("fee_description"),
        languages=row.items("languages") or ["pl"],
        capacity_total=row.whole("capacity_total"),
        open_places=row.whole("open_places"),
        status=row.text("status") or "active",
        last_verified_on=row.day("last_verified_on"),
    )
    institution_id = row.uuid("institution_id")
    service_id = row.uuid("id")
    return use.ImportEntry(
        line=line,
        institution_id=InstitutionId(institution_id) if institution_id else None,
        service_id=ServiceId(service_id) if service_id else None,
        data=data,
        problems=row.errors,
    )


def read_csv(text: str) -> list[use.ImportEntry]:
    text = text.removeprefix("\ufeff")
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [name.strip() for name in next(reader, [])]
    except csv.Error as error:
        raise FileProblem(1, f"the header row cannot be read: {error}") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [c for c in header if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if missing or unknown:
        parts = ([f"missing columns: {', '.join(missing)}"] if missing else []) + (
            [f"unknown columns: {', '.join(unknown)}"] if unknown else []
        )
        raise FileProblem(1, "; ".join(parts))
    entries: list[use.ImportEntry] = []
    line = reader.line_num + 1  # where the next record starts; a quoted cell may span lines
    try:
        for cells in reader:
            start, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(header):
                problem = FieldError("", f"{len(cells)} cells, but {len(header)} columns")
                entries.append(use.ImportEntry(line=start, institution_id=None, data=None, problems=[problem]))
                continue
            entries.append(_csv_entry(start, _Row(dict(zip(header, cells, strict=False)))))
    except csv.Error as error:
        raise FileProblem(reader.line_num, f"the file stops being CSV here: {error}") from None
    return entries


# ---------------------------------------------------------------------------------------------
# HSDS JSON
# ---------------------------------------------------------------------------------------------


def _item_lines(text: str, key: str | None) -> list[int]:
    """The line on which each item of the top-level array `key` (or of the top-level array) begins.

    Python's JSON reader forgets where things were; this walks the top level with it, item by item.
    """
    decoder = json.JSONDecoder()
    newlines = [i for i, c in enumerate(text) if c == "\n"]

    def line_of(position: int) -> int:
        low, high = 0, len(newlines)
        while low < high:
            middle = (low + high) // 2
            if newlines[middle] < position:
                low = middle + 1
            else:
                high = middle
        return low + 1

    def skip(i: int) -> int:
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        return i

    def items(i: int) -> list[int]:
        lines: list[int] = []
        i = skip(i + 1)
        while text[i] != "]":
            lines.append(line_of(i))
            _, i = decoder.raw_decode(text, i)
            i = skip(i)
            if text[i] == ",":
                i = skip(i + 1)
        return lines

    i = skip(0)
    if text[i] == "[":
        return items(i) if key is None else []
    i = skip(i + 1)
    while text[i] != "}":
        name, i = decoder.raw_decode(text, i)
        i = skip(skip(i) + 1)  # past the colon
        if name == key and text[i] == "[":
            return items(i)
        _, i = decoder.raw_decode(text, i)
        i = skip(i)
        if text[i] == ",":
            i = skip(i + 1)
    return []


def read_hsds(text: str) -> list[use.ImportEntry]:
    """A bundle like /v1/services/hsds answers, or a list of HSDS services with nested locations."""
    try:
        document: Any = json.loads(text)
    except json.JSONDecodeError as error:
        raise FileProblem(error.lineno, f"not JSON: {error.msg}") from None
    if isinstance(document, list):
        services, lines, locations = document, _item_lines(text, None), {}
    elif isinstance(document, dict) and isinstance(document.get("services"), list):
        services, lines, locations = document["services"], _item_lines(text, "services"), hsds.index_locations(document)
    else:
        raise FileProblem(1, "expected an HSDS bundle with a `services` list, or a list of services")
    entries: list[use.ImportEntry] = []
    for line, item in zip(lines, services, strict=True):
        if not isinstance(item, dict):
            entries.append(
                use.ImportEntry(line=line, institution_id=None, data=None, problems=[FieldError("", "not an object")])
            )
            continue
        try:
            service_id, organization_id, data = hsds.service_data(item, locations)
        except hsds.HsdsProblem as problem:
            entries.append(use.ImportEntry(line=line, institution_id=None, data=None, problems=[problem.error]))
            continue
        entries.append(
            use.ImportEntry(
                line=line,
                institution_id=InstitutionId(organization_id),
                service_id=ServiceId(service_id),
                data=data,
            )
        )
    return entries


def read_file(path: Path, file_format: str | None = None) -> list[use.ImportEntry]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise FileProblem(1, "the file is not UTF-8 text") from None
    kind = file_format or ("hsds" if path.suffix.lower() == ".json" else "csv")
    return read_hsds(text) if kind == "hsds" else read_csv(text)


# ---------------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------------


def report_lines(report: use.ImportReport, *, skip_invalid: bool) -> Iterator[str]:
    for problem in report.problems:
        where = f"line {problem.line}" + (f", {problem.field}" if problem.field else "")
        yield f"{where}: {problem.message}"
    if report.problems and not skip_invalid:
        yield f"nothing imported: {len(report.problems)} problems (use --skip-errors to import the valid entries)"
    else:
        yield f"imported {report.imported} services ({report.created} new, {report.updated} updated)" + (
            f", skipped {report.skipped}" if report.skipped else ""
        )


def cmd_import(args: argparse.Namespace) -> None:
    try:
        entries = read_file(Path(args.file), args.format)
    except FileProblem as problem:
        sys.stderr.write(f"line {problem.line}: {problem.message}\n")
        raise SystemExit(1) from None
    except OSError as error:
        sys.stderr.write(f"cannot read {args.file}: {error.strerror}\n")
        raise SystemExit(1) from None

    async def work(app: Container) -> use.ImportReport:
        store = SqlDirectoryStore.over(app.engine)
        return await use.import_services(app.ctx, store, entries, skip_invalid=args.skip_errors)

    report = with_container(work)
    out = sys.stderr if report.problems else sys.stdout
    for text in report_lines(report, skip_invalid=args.skip_errors):
        out.write(text + "\n")
    if report.problems and (not args.skip_errors or report.imported == 0):
        raise SystemExit(1)


def cmd_seed(_: argparse.Namespace) -> None:
    from app import directory_demo

    created = with_container(directory_demo.seed)
    sys.stdout.write("demo directory loaded\n" if created else "demo directory already present\n")


def add_commands(commands: Any) -> None:
    """Register `spojnia directory ...` on the command line's subparsers (`commands` of app.cli.parser)."""
    _add_actions(
        commands.add_parser("directory", help="the directory of services").add_subparsers(dest="action", required=True)
    )


def _add_actions(actions: Any) -> None:
    load = actions.add_parser("import", help="load services from a CSV or HSDS JSON file")
    load.add_argument("file", help="a .csv or .json (HSDS) file")
    load.add_argument("--format", choices=["csv", "hsds"], help="by default from the file name")
    load.add_argument("--skip-errors", action="store_true", help="import the valid entries of a file with errors")
    load.set_defaults(run=cmd_import)
    seed = actions.add_parser("seed-demo", help="load the demo county's directory (40+ services)")
    seed.set_defaults(run=cmd_seed)


def main(argv: list[str] | None = None) -> None:
    """`python -m app.directory_import import FILE`: the same commands before `spojnia directory` is wired."""
    root = argparse.ArgumentParser(prog="python -m app.directory_import", description="The directory of services.")
    _add_actions(root.add_subparsers(dest="action", required=True))
    args = root.parse_args(argv)
    try:
        args.run(args)
    except DomainError as error:
        sys.stderr.write(f"spojnia: {error.detail}\n")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
