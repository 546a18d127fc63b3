"""What each institution's record system last said about a person: one source record per (institution,
external_ref), kept as said and never merged into Spójnia's own data. Reconciliation compares them.

The payload is a small JSON object with the keys below, each optional (a key the source did not send is
absent, not null). It never holds a PESEL: the importer finds the person by it and keeps only `person_id`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from app.domain.ids import InstitutionId, PersonId

# The person's status at the source's institution, already mapped to Spójnia's code list for that institution
# (PupClientStatus at a labour office, SocialAssistanceStatus at an OPS, ParticipantStatus elsewhere).
STATUS = "status"
# The source's own view of whether the person is registered unemployed at a labour office (true/false): OPS
# systems record it for their clients; a labour office's view is its `status`.
REGISTERED_UNEMPLOYED = "registered_unemployed"
ADDRESS_TERYT = "address_teryt"  # the gmina of residence, 7 digits
HOUSEHOLD_REF = "household_ref"  # the household's id in the source
# [{"person_id": "<Spójnia person id or null>", "person_ref": "<id in the source>", "role": "<FamilyRole>"}]
HOUSEHOLD_MEMBERS = "household_members"
WORKER_NAME = "worker_name"  # the person's worker there, as the source names them

PAYLOAD_KEYS = frozenset({STATUS, REGISTERED_UNEMPLOYED, ADDRESS_TERYT, HOUSEHOLD_REF, HOUSEHOLD_MEMBERS, WORKER_NAME})

# Eleven digits in a row look like a PESEL: a payload holding one is refused rather than stored. Digits run on
# into letters or hyphens are part of something else: a UUID (a person id) has such runs now and then.
_PESEL_SHAPE = re.compile(r"(?<![\w-])\d{11}(?![\w-])")


# JSON's escapes (\n, \u0105...) end in letters or digits: read as a gap, as the string boundary they stand for.
_JSON_ESCAPE = re.compile(r"\\(?:u[0-9a-fA-F]{4}|.)")


def check_payload(payload: Mapping[str, object]) -> None:
    """Raises ValueError for a payload naming a PESEL or holding anything shaped like one.

    Keys besides PAYLOAD_KEYS are kept (a source may say more) but nothing compares them."""
    if any("pesel" in key.lower() for key in payload):
        raise ValueError("a source record must not hold a PESEL")
    # One search over the JSON text rather than a walk over every string: an import checks a payload per row. The
    # quotes, commas and brackets between values bound a run of digits as the ends of a string do.
    text = json.dumps(payload, ensure_ascii=False, default=str)
    if "\\" in text:
        text = _JSON_ESCAPE.sub(" ", text)
    if _PESEL_SHAPE.search(text):
        raise ValueError("a source record must not hold a PESEL (or anything shaped like one)")


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceHouseholdMember:
    person_id: PersonId | None  # None while the importer has not matched the member to a person
    role: str  # FamilyRole code
    person_ref: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceRecord:
    institution_id: InstitutionId
    external_ref: str  # the person's id in the institution's record system
    person_id: PersonId | None  # None while the importer has not matched the person
    payload: Mapping[str, object]
    seen_at: datetime  # when the source last said it
    # When the payload last changed; the repository keeps the stored one while the source repeats itself.
    changed_at: datetime | None = None

    def __post_init__(self) -> None:
        check_payload(self.payload)

    @property
    def since(self) -> datetime:
        return self.changed_at or self.seen_at

    @property
    def status(self) -> str | None:
        value = self.payload.get(STATUS)
        return value if isinstance(value, str) else None

    @property
    def registered_unemployed(self) -> bool | None:
        value = self.payload.get(REGISTERED_UNEMPLOYED)
        return value if isinstance(value, bool) else None

    @property
    def address_teryt(self) -> str | None:
        value = self.payload.get(ADDRESS_TERYT)
        return value if isinstance(value, str) and value else None

    @property
    def household_ref(self) -> str | None:
        value = self.payload.get(HOUSEHOLD_REF)
        return value if isinstance(value, str) and value else None

    @property
    def household_members(self) -> tuple[SourceHouseholdMember, ...] | None:
        """None when the source said nothing about the household; () when it said the person lives alone."""
        raw = self.payload.get(HOUSEHOLD_MEMBERS)
        if not isinstance(raw, list | tuple):
            return None
        members = []
        for item in raw:
            if not isinstance(item, Mapping) or not isinstance(item.get("role"), str):
                continue
            person_id = item.get("person_id")
            ref = item.get("person_ref")
            members.append(
                SourceHouseholdMember(
                    person_id=PersonId(UUID(person_id)) if isinstance(person_id, str) and person_id else None,
                    role=str(item["role"]),
                    person_ref=ref if isinstance(ref, str) else None,
                )
            )
        return tuple(members)

    @property
    def worker_name(self) -> str | None:
        value = self.payload.get(WORKER_NAME)
        return value if isinstance(value, str) else None


def make_payload(
    *,
    status: str | None = None,
    registered_unemployed: bool | None = None,
    address_teryt: str | None = None,
    household_ref: str | None = None,
    household_members: Sequence[SourceHouseholdMember] | None = None,
    worker_name: str | None = None,
) -> dict[str, object]:
    """A payload with only what the source said: keys it did not send stay out."""
    payload: dict[str, object] = {}
    if status is not None:
        payload[STATUS] = status
    if registered_unemployed is not None:
        payload[REGISTERED_UNEMPLOYED] = registered_unemployed
    if address_teryt is not None:
        payload[ADDRESS_TERYT] = address_teryt
    if household_ref is not None:
        payload[HOUSEHOLD_REF] = household_ref
    if household_members is not None:
        payload[HOUSEHOLD_MEMBERS] = [
            {
                "person_id": str(m.person_id) if m.person_id else None,
                "person_ref": m.person_ref,
                "role": m.role,
            }
            for m in household_members
        ]
    if worker_name is not None:
        payload[WORKER_NAME] = worker_name
    check_payload(payload)
    return payload


class SourceRecordRepository(Protocol):
    async def save(self, record: SourceRecord) -> None:
        """Keep the record as the source's last word for (institution_id, external_ref), replacing the one before;
        `changed_at` moves to `seen_at` when the payload or the person differs, and stays when the source repeats."""

    async def get(self, institution_id: InstitutionId, external_ref: str) -> SourceRecord | None:
        """The source's last word about one of its persons, or None."""

    async def for_persons(self, person_ids: Sequence[PersonId]) -> list[SourceRecord]:
        """What every institution's source last said about these persons, by institution and external_ref."""

    async def for_institution(
        self, institution_id: InstitutionId, *, after_ref: str | None = None, limit: int = 200
    ) -> list[SourceRecord]:
        """One institution's source records ordered by external_ref, after the one given."""
