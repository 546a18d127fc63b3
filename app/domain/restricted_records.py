"""Restricted records: the Niebieska Karta procedure (forms NK-A to NK-D) kept by a gmina's interdisciplinary team.

No agreement or consent opens them (Dz.U. 2023 poz. 1870): only the team that owns a record sees it,
and only through a worker whose token carries the team's role. For everyone else they do not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from app.domain.access_policy import INTERDISCIPLINARY_TEAM_KIND, INTERDISCIPLINARY_TEAM_ROLE
from app.domain.caller import Caller
from app.domain.errors import FieldError, InvalidInput
from app.domain.ids import FamilyId, InstitutionId, PersonId, RestrictedRecordId
from app.domain.institutions import Institution
from app.domain.pagination import Page, PageRequest
from app.domain.values import TerytLevel, clean_text

# One rule with the access policy's restricted branch: the same team kind and role open Niebieska Karta data.
TEAM_TYPE = INTERDISCIPLINARY_TEAM_KIND
TEAM_ROLE = INTERDISCIPLINARY_TEAM_ROLE

FORM_LIST = "BlueCardForm"
PURPOSE = "BLUE_CARD_PROCEDURE"
"""The one purpose these records are processed for; audit records name it."""

NOTE_MAX_LENGTH = 500


def is_team_member(caller: Caller, caller_institution: Institution) -> bool:
    """The caller acts for a gmina's interdisciplinary team, with the team's role in the token."""
    return (
        caller_institution.id == caller.institution_id
        and caller_institution.type == TEAM_TYPE
        and caller_institution.teryt.level is TerytLevel.GMINA
        and TEAM_ROLE in caller.roles
    )


def may_see(caller: Caller, caller_institution: Institution, record_owner: InstitutionId) -> bool:
    """Only the owning team sees a restricted record: not another gmina's team, not the team without the role."""
    return is_team_member(caller, caller_institution) and caller_institution.id == record_owner


@dataclass(slots=True, kw_only=True)
class RestrictedRecord:
    """A step of the Niebieska Karta procedure about a person or a family (exactly one)."""

    id: RestrictedRecordId
    team_id: InstitutionId
    form: str
    procedure_date: date
    person_id: PersonId | None
    family_id: FamilyId | None
    note: str | None
    created_at: datetime
    updated_at: datetime
    version: int = 1

    @classmethod
    def open(
        cls,
        *,
        id: RestrictedRecordId,
        team_id: InstitutionId,
        form: str,
        procedure_date: date,
        person_id: PersonId | None,
        family_id: FamilyId | None,
        note: str | None,
        today: date,
        at: datetime,
    ) -> RestrictedRecord:
        if (person_id is None) == (family_id is None):
            message = "give exactly one of person_id and family_id"
            raise InvalidInput(message, [FieldError("person_id", message), FieldError("family_id", message)])
        _check_date(procedure_date, today)
        return cls(
            id=id,
            team_id=team_id,
            form=form,
            procedure_date=procedure_date,
            person_id=person_id,
            family_id=family_id,
            note=_clean_note(note),
            created_at=at,
            updated_at=at,
        )

    def correct(
        self,
        *,
        form: str | None = None,
        procedure_date: date | None = None,
        note: str | None = None,
        clear_note: bool = False,
        today: date,
        at: datetime,
    ) -> bool:
        """Apply a correction; False (and no new version) when it changes nothing."""
        before = (self.form, self.procedure_date, self.note)
        if form is not None:
            self.form = form
        if procedure_date is not None:
            _check_date(procedure_date, today)
            self.procedure_date = procedure_date
        if clear_note:
            self.note = None
        elif note is not None:
            self.note = _clean_note(note)
        if (self.form, self.procedure_date, self.note) == before:
            return False
        self.updated_at = at
        self.version += 1
        return True


def _check_date(procedure_date: date, today: date) -> None:
    if procedure_date > today:
        message = "the procedure date cannot be in the future"
        raise InvalidInput(message, [FieldError("procedure_date", message)])


def _clean_note(note: str | None) -> str | None:
    if note is None or not note.strip():
        return None
    return clean_text(note, field="note", max_length=NOTE_MAX_LENGTH)


class RestrictedRecordRepository(Protocol):
    async def add(self, record: RestrictedRecord) -> None:
        """Store a new record; DuplicateRecord when the id is taken or the subject does not exist."""

    async def get(self, record_id: RestrictedRecordId) -> RestrictedRecord | None:
        """The record, or None. Whoever asks, the caller decides with `may_see` before showing it."""

    async def update(self, record: RestrictedRecord, *, expected_version: int) -> None:
        """Save a correction; raises StaleVersion when someone else saved first."""

    async def list_for_team(
        self, team_id: InstitutionId, page: PageRequest, *, person_id: PersonId | None, family_id: FamilyId | None
    ) -> Page[RestrictedRecord]:
        """One team's records, about this person or family when given, ordered by creation."""
