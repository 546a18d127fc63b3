"""Reading an export file into rows of text by a profile's layout: CSV (UTF-8 with or without BOM, or the
profile's fallback encoding, Windows-1250 for the Polish vendors), XLSX and XML. Each row keeps where it
was: its line (CSV, where a record starts), row (XLSX) or the line of its element's start tag (XML).

What makes the whole file unusable (not text in either encoding, no header, missing columns, XML that is
not well-formed, a 0-byte file) raises FileProblem; anything wrong within a row is for validation.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from xml.sax import SAXException
from xml.sax.handler import ContentHandler

from defusedxml import DefusedXmlException
from defusedxml.sax import parseString

from app.adapters.record_systems.profiles import Layout, Profile

FORMATS = ("csv", "xlsx", "xml")
_DELIMITERS = (";", ",", "\t", "|")
_ALLOWED_CONTROLS = frozenset("\t\r\n")


class FileProblem(Exception):
    """The file as a whole cannot be read with the profile."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass(frozen=True, slots=True)
class RawRow:
    line: int
    values: Mapping[str, str | None]  # field -> the cell's text, stripped; None when empty or absent


def detect_format(file_name: str, data: bytes) -> str:
    suffix = file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    if suffix in FORMATS:
        return suffix
    if data.startswith(b"PK\x03\x04"):
        return "xlsx"
    if data.lstrip(codecs.BOM_UTF8 + b" \t\r\n").startswith(b"<"):
        return "xml"
    return "csv"


def _encoding_name(encoding: str) -> str:
    return "Windows-1250" if codecs.lookup(encoding).name == "cp1250" else encoding


def decode(data: bytes, fallback: str) -> str:
    """UTF-8 (a BOM dropped) when the bytes are UTF-8, else the fallback; text with control characters is
    neither (UTF-16, a binary file) and is refused like bytes that do not decode."""
    candidates = ["utf-8", fallback] if codecs.lookup(fallback).name != "utf-8" else ["utf-8"]
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if not any(c < " " and c not in _ALLOWED_CONTROLS for c in text):
            return text.removeprefix("\ufeff")
    raise FileProblem(1, f"the file is not UTF-8 or {_encoding_name(fallback)} text")


def _header_index(header: list[str], layout: Layout) -> dict[str, int]:
    """Which cell holds each field: columns matched ignoring surrounding spaces and letter case."""
    positions = {name.strip().casefold(): i for i, name in reversed(list(enumerate(header)))}
    wanted = {f: c.strip().casefold() for f, c in layout.columns.items()}
    found = {f: positions[c] for f, c in wanted.items() if c in positions}
    missing = [f for f in sorted(layout.required) if f not in found]
    if missing:
        named = ", ".join(f"{layout.column(f)} ({f})" for f in missing)
        raise FileProblem(1, f"missing columns: {named}")
    return found


def _cells_to_row(line: int, cells: list[str], index: Mapping[str, int]) -> RawRow:
    values: dict[str, str | None] = {}
    for field_name, i in index.items():
        text = cells[i].strip() if i < len(cells) else ""
        values[field_name] = text or None
    return RawRow(line, values)


def _delimiter(first_line: str, declared: str | None) -> str:
    if declared:
        return declared
    return max(_DELIMITERS, key=first_line.count)


def read_csv(data: bytes, profile: Profile, layout: Layout) -> list[RawRow]:
    text = decode(data, profile.encoding)
    delimiter = _delimiter(text.split("\n", 1)[0], profile.delimiter)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise FileProblem(1, f"the header row cannot be read: {error}") from None
    if not header or not any(h.strip() for h in header):
        raise FileProblem(1, "the file has no header row")
    index = _header_index(header, layout)
    rows: list[RawRow] = []
    line = reader.line_num + 1
    try:
        for cells in reader:
            start, line = line, reader.line_num + 1
            if any(cell.strip() for cell in cells):
                rows.append(_cells_to_row(start, cells, index))
    except csv.Error as error:
        raise FileProblem(reader.line_num, f"the file stops being CSV here: {error}") from None
    return rows


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_xlsx(data: bytes, profile: Profile, layout: Layout) -> list[RawRow]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as error:
        raise FileProblem(1, f"the file is not an XLSX workbook: {error}") from None
    try:
        if profile.sheet is not None and profile.sheet not in book.sheetnames:
            raise FileProblem(1, f"the workbook has no sheet '{profile.sheet}' (it has: {', '.join(book.sheetnames)})")
        sheet = book[profile.sheet] if profile.sheet is not None else book.worksheets[0]
        rows: list[RawRow] = []
        index: dict[str, int] | None = None
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            if number < profile.header_row:
                continue
            texts = [_cell_text(c) for c in cells]
            if index is None:
                index = _header_index(texts, layout)
                continue
            if any(t.strip() for t in texts):
                row = _cells_to_row(number, texts, index)
                rows.append(_pad_pesel(row))
        if index is None:
            raise FileProblem(profile.header_row, "the sheet has no header row")
        return rows
    finally:
        book.close()


def _pad_pesel(row: RawRow) -> RawRow:
    """A spreadsheet that took a PESEL for a number dropped its leading zero (born 2000-2009: 0...)."""
    pesel = row.values.get("pesel")
    if pesel and pesel.isdigit() and len(pesel) < 11:
        return RawRow(row.line, {**row.values, "pesel": pesel.zfill(11)})
    return row


@dataclass(slots=True)
class _Element:
    tag: str
    attributes: dict[str, str]
    line: int
    parent: _Element | None
    children: list[_Element] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    def child(self, tag: str) -> _Element | None:
        return next((c for c in self.children if c.tag == tag), None)


class _TreeBuilder(ContentHandler):
    """A small element tree that remembers each start tag's line (ElementTree forgets it)."""

    def __init__(self) -> None:
        super().__init__()
        self.root: _Element | None = None
        self._open: list[_Element] = []
        self._where: Any = None

    def setDocumentLocator(self, locator: Any) -> None:  # noqa: N802 - SAX's name
        self._where = locator

    def startElement(self, name: str, attrs: Any) -> None:  # noqa: N802 - SAX's name
        parent = self._open[-1] if self._open else None
        line = self._where.getLineNumber() if self._where is not None else 0
        element = _Element(name, dict(attrs.items()), line, parent)
        if parent is None:
            self.root = element
        else:
            parent.children.append(element)
        self._open.append(element)

    def endElement(self, name: str) -> None:  # noqa: N802, ARG002 - SAX's name and signature
        self._open.pop()

    def characters(self, content: str) -> None:
        if self._open:
            self._open[-1].text.append(content)


def _resolve(element: _Element, path: str) -> str | None:
    node: _Element | None = element
    steps = [s for s in path.split("/") if s and s != "."]
    for i, step in enumerate(steps):
        if node is None:
            return None
        if step == "..":
            node = node.parent
        elif step.startswith("@"):
            return node.attributes.get(step[1:]) if i == len(steps) - 1 else None
        else:
            node = node.child(step)
    return "".join(node.text) if node is not None else None


def _records(root: _Element, tag: str) -> Iterator[_Element]:
    pending = [root]
    while pending:
        element = pending.pop()
        if element.tag == tag:
            yield element
        pending.extend(reversed(element.children))


def read_xml(data: bytes, profile: Profile, layout: Layout) -> list[RawRow]:
    builder = _TreeBuilder()
    try:
        parseString(data, builder, forbid_dtd=True)
    except SAXException as error:
        line = getattr(error, "getLineNumber", lambda: 1)()
        raise FileProblem(line, f"the file is not well-formed XML (cut short?): {error.getMessage()}") from None
    except DefusedXmlException as error:
        raise FileProblem(1, f"the XML uses a construct refused for safety: {error}") from None
    except LookupError as error:  # an encoding Python does not know
        raise FileProblem(1, f"the XML declares an unknown encoding: {error}") from None
    if builder.root is None:
        raise FileProblem(1, "the XML has no root element")
    rows = []
    for element in _records(builder.root, profile.xml_record):
        values: dict[str, str | None] = {}
        for field_name, path in layout.paths.items():
            text = _resolve(element, path)
            values[field_name] = text.strip() or None if text is not None else None
        rows.append(RawRow(element.line, values))
    return rows


def read_rows(data: bytes, file_name: str, profile: Profile, layout: Layout | None = None) -> tuple[str, list[RawRow]]:
    """The file's format and its rows; FileProblem when it cannot be read with the profile."""
    if not data.strip(codecs.BOM_UTF8 + b" \t\r\n"):
        raise FileProblem(1, "the file is empty")
    kind = detect_format(file_name, data)
    if kind not in profile.formats:
        raise FileProblem(1, f"the profile {profile.name} reads {', '.join(profile.formats)}, not {kind}")
    reader = {"csv": read_csv, "xlsx": read_xlsx, "xml": read_xml}[kind]
    return kind, reader(data, profile, layout or profile.rows)
