"""Mapping profiles: how a vendor's export maps onto Spójnia's fields and code lists.

A profile is a versioned YAML file shipped in `profiles/` (pomost-std, tt-pomoc, syriusz-std, generic-csv);
its header comment documents the layout it assumes. An institution adjusts one without code by an override
file `<institution id>.<profile>.yaml` in the overrides directory (SPOJNIA_SYNC__OVERRIDES_DIR), whose keys
are deep-merged over the profile's: mappings merge key by key, anything else (a list, a value) replaces.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from uuid import UUID

import yaml

SHARED = "shared"  # a code table that takes Spójnia's codes as they are

# The fields of one import row (person, enrollment, household membership), as profiles name them.
PERSON_FIELDS = (
    "external_ref",
    "pesel",
    "first_name",
    "last_name",
    "birth_date",
    "sex",
    "id_doc_kind",
    "id_doc_number",
    "id_doc_country",
    "address_teryt",
    "registered_unemployed",
)
ENROLLMENT_FIELDS = ("status", "since", "until", "worker_name", "worker_ref")
HOUSEHOLD_FIELDS = ("household_ref", "household_name", "role")
REFERRAL_FIELDS = (
    "referral_id",
    "sender_id",
    "receiver_id",
    "status",
    "reason",
    "instrument_code_list",
    "instrument_code",
    "respond_by",
    "sent_at",
    "person_id",
    "external_ref",
    "pesel",
    "first_name",
    "last_name",
    "birth_date",
    "sex",
)
CONTRACT_ACTION_FIELDS = (
    "contract_id",
    "action_id",
    "action",
    "responsible_institution_id",
    "instrument_code_list",
    "instrument_code",
    "due",
    "status",
    "person_id",
    "external_ref",
)
_SECTIONS = {"persons": PERSON_FIELDS, "enrollment": ENROLLMENT_FIELDS, "household": HOUSEHOLD_FIELDS}


class ProfileError(Exception):
    """A profile or an override that cannot be used: unknown name, bad YAML, an unknown field."""


def shipped_profiles() -> list[str]:
    folder = resources.files("app.adapters.record_systems").joinpath("profiles")
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@dataclass(frozen=True, slots=True, kw_only=True)
class CodeTable:
    """Vendor codes to Spójnia's, matched ignoring surrounding spaces and letter case; `shared` passes codes on."""

    shared: bool
    to_shared: Mapping[str, str]  # casefolded vendor code -> Spójnia code
    to_vendor: Mapping[str, str]  # Spójnia code -> the first vendor code listed for it
    vendor_codes: tuple[str, ...] = ()

    @classmethod
    def of(cls, raw: object, name: str) -> CodeTable:
        if raw == SHARED or raw is None:
            return cls(shared=True, to_shared={}, to_vendor={})
        if not isinstance(raw, Mapping):
            raise ProfileError(f"codes.{name} must be a mapping of vendor codes to Spójnia codes, or 'shared'")
        to_vendor: dict[str, str] = {}
        for vendor, shared in raw.items():
            to_vendor.setdefault(str(shared), str(vendor))
        return cls(
            shared=False,
            to_shared={str(k).strip().casefold(): str(v) for k, v in raw.items()},
            to_vendor=to_vendor,
            vendor_codes=tuple(str(k) for k in raw),
        )

    def shared_code(self, vendor_code: str) -> str | None:
        return vendor_code.strip() if self.shared else self.to_shared.get(vendor_code.strip().casefold())

    def vendor_code(self, shared_code: str) -> str:
        return shared_code if self.shared else self.to_vendor.get(shared_code, shared_code)


@dataclass(frozen=True, slots=True, kw_only=True)
class Layout:
    """Where each field of a row is: its column in CSV and XLSX, its path in XML."""

    columns: Mapping[str, str]
    paths: Mapping[str, str]
    required: frozenset[str]

    def column(self, field: str) -> str:
        return self.columns.get(field, field)


@dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    name: str
    version: int
    vendor: str
    status_list: str | None
    formats: tuple[str, ...]
    encoding: str  # the fallback when a file is not UTF-8
    export_encoding: str  # what exports are written in
    delimiter: str | None
    sheet: str | None
    header_row: int
    xml_record: str
    date_formats: tuple[str, ...]
    true_words: frozenset[str]
    false_words: frozenset[str]
    rows: Layout
    referrals: Layout
    contract_actions: Layout
    codes: Mapping[str, CodeTable]
    overridden_by: str | None = None

    def code_table(self, name: str) -> CodeTable:
        return self.codes.get(name) or CodeTable.of(SHARED, name)

    def to_shared_code(self, table: str, vendor_code: str) -> str | None:
        return self.code_table(table).shared_code(vendor_code)

    def to_vendor_code(self, table: str, shared_code: str) -> str:
        return self.code_table(table).vendor_code(shared_code)

    def parse_date(self, raw: str) -> date | None:
        for pattern in (*self.date_formats, "%Y-%m-%d"):
            parsed = _parse_day(raw, pattern)
            if parsed is not None:
                return parsed
        return None

    def format_date(self, day: date) -> str:
        return day.strftime(self.date_formats[0])

    def human_date_formats(self) -> str:
        readable = {"%d": "DD", "%m": "MM", "%Y": "RRRR"}

        def human(pattern: str) -> str:
            for code, text in readable.items():
                pattern = pattern.replace(code, text)
            return pattern

        return " or ".join(dict.fromkeys(human(p) for p in self.date_formats))


_FIELDS = {"%d": r"(?P<d>\d{1,2})", "%m": r"(?P<m>\d{1,2})", "%Y": r"(?P<y>\d{4})"}


@cache
def _day_pattern(pattern: str) -> re.Pattern[str] | None:
    """A regular expression for a format of day, month and year only (strptime is slow for 100,000 rows)."""
    parts = re.split(r"(%.)", pattern)
    if any(p.startswith("%") and p not in _FIELDS for p in parts) or sorted(p for p in parts if p in _FIELDS) != [
        "%Y",
        "%d",
        "%m",
    ]:
        return None
    return re.compile("".join(_FIELDS.get(p, re.escape(p)) for p in parts) + r"\Z")


def _parse_day(raw: str, pattern: str) -> date | None:
    fast = _day_pattern(pattern)
    try:
        if fast is None:
            return datetime.strptime(raw, pattern).date()  # noqa: DTZ007 - a calendar day, no time
        found = fast.match(raw)
        return date(int(found["y"]), int(found["m"]), int(found["d"])) if found else None
    except ValueError:
        return None


def _layout(raw: Mapping[str, Any], sections: Mapping[str, tuple[str, ...]], where: str) -> Layout:
    columns: dict[str, str] = {}
    paths: dict[str, str] = {}
    required: set[str] = set()
    for section, fields in sections.items():
        body = raw.get(section) or {}
        if not isinstance(body, Mapping):
            raise ProfileError(f"{where}{section} must be a mapping")
        for key in ("columns", "xml"):
            unknown = sorted(set(body.get(key) or {}) - set(fields))
            if unknown:
                raise ProfileError(f"{where}{section}.{key} names unknown fields: {', '.join(unknown)}")
        columns |= {f: str(c) for f, c in (body.get("columns") or {}).items() if c}
        paths |= {f: str(p) for f, p in (body.get("xml") or {}).items() if p}
        required |= set(body.get("required") or ())
    return Layout(columns=columns, paths=paths, required=frozenset(required))


def _check_encodings(csv: Mapping[str, Any]) -> None:
    for key in ("encoding", "export_encoding"):
        if csv.get(key):
            try:
                codecs.lookup(str(csv[key]))
            except LookupError:
                raise ProfileError(f"csv.{key}: no such encoding '{csv[key]}'") from None


def _profile(document: Mapping[str, Any], overridden_by: str | None) -> Profile:
    _check_encodings(document.get("csv") or {})
    try:
        csv = document.get("csv") or {}
        xlsx = document.get("xlsx") or {}
        booleans = document.get("booleans") or {}
        codes = document.get("codes") or {}
        return Profile(
            name=str(document["profile"]),
            version=int(document["version"]),
            vendor=str(document.get("vendor", "")),
            status_list=document.get("status_list"),
            formats=tuple(document.get("formats") or ("csv",)),
            encoding=str(csv.get("encoding") or "windows-1250"),
            export_encoding=str(csv.get("export_encoding") or csv.get("encoding") or "utf-8"),
            delimiter=csv.get("delimiter"),
            sheet=xlsx.get("sheet"),
            header_row=int(xlsx.get("header_row") or 1),
            xml_record=str((document.get("xml") or {}).get("record") or "record"),
            date_formats=tuple(document.get("dates") or ("%Y-%m-%d",)),
            true_words=frozenset(str(w).casefold() for w in booleans.get("true") or ()),
            false_words=frozenset(str(w).casefold() for w in booleans.get("false") or ()),
            rows=_layout(document, _SECTIONS, ""),
            referrals=_layout({"referrals": document.get("referrals")}, {"referrals": REFERRAL_FIELDS}, ""),
            contract_actions=_layout(
                {"contract_actions": document.get("contract_actions")}, {"contract_actions": CONTRACT_ACTION_FIELDS}, ""
            ),
            codes={name: CodeTable.of(raw, name) for name, raw in codes.items()},
            overridden_by=overridden_by,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ProfileError(f"the profile cannot be read: {error!r}") from None


def _yaml(text: str, where: str) -> dict[str, Any]:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ProfileError(f"{where} is not valid YAML: {error}") from None
    if not isinstance(document, dict):
        raise ProfileError(f"{where} must hold a mapping")
    return document


def load_profile(name: str, *, institution_id: UUID | None = None, overrides_dir: Path | None = None) -> Profile:
    """The shipped profile, with the institution's override merged over it when there is one."""
    if name not in shipped_profiles():
        raise ProfileError(f"no profile '{name}': choose one of {', '.join(shipped_profiles())}")
    text = resources.files("app.adapters.record_systems").joinpath("profiles", f"{name}.yaml").read_text("utf-8")
    document = _yaml(text, f"profile {name}")
    override = overrides_dir / f"{institution_id}.{name}.yaml" if overrides_dir and institution_id else None
    if override is not None and override.is_file():
        document = deep_merge(document, _yaml(override.read_text("utf-8"), str(override.name)))
        document["profile"] = name  # an override adjusts a profile; it does not rename it
        return _profile(document, override.name)
    return _profile(document, None)
