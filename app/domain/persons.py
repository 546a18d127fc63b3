"""Persons known to Spójnia and their enrollments: who serves them, since when, how."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from app.domain.clock import local_date
from app.domain.errors import Conflict, FieldError, InvalidInput
from app.domain.ids import EnrollmentId, InstitutionId, PersonId, WorkerId
from app.domain.values import IdentityDocument, Pesel, Sex, clean_text

# What an anonymised person is called, in brackets unlike any real name: the purge tells who is done by it.
ANONYMISED_NAME = "[zanonimizowano]"


@dataclass(slots=True, kw_only=True)
class Person:
    id: PersonId
    first_name: str
    last_name: str
    birth_date: date
    sex: Sex | None
    pesel: Pesel | None
    identity_document: IdentityDocument | None
    created_at: datetime
    updated_at: datetime
    version: int = 1
    # Set when this record was found to be a duplicate and merged into another; the row stays for history.
    merged_into: PersonId | None = None

    @classmethod
    def register(
        cls,
        *,
        id: PersonId,
        first_name: str,
        last_name: str,
        birth_date: date | None,
        sex: Sex | None,
        pesel: Pesel | None,
        identity_document: IdentityDocument | None,
        at: datetime,
    ) -> Person:
        """A person with a PESEL takes birth date and sex from it; without one, birth date is required."""
        if pesel is not None:
            if birth_date is not None and birth_date != pesel.birth_date:
                raise InvalidInput(
                    "birth date does not match the PESEL",
                    [FieldError("birth_date", "does not match the birth date encoded in PESEL")],
                )
            if sex is not None and sex != pesel.sex:
                raise InvalidInput(
                    "sex does not match the PESEL",
                    [FieldError("sex", "does not match the sex digit of PESEL")],
                )
            birth_date, sex = pesel.birth_date, pesel.sex
        elif birth_date is None:
            raise InvalidInput(
                "a person without PESEL needs a birth date",
                [FieldError("birth_date", "required when there is no PESEL")],
            )
        if birth_date > local_date(at):
            raise InvalidInput("birth date is in the future", [FieldError("birth_date", "in the future")])
        return cls(
            id=id,
            first_name=clean_text(first_name, field="first_name", max_length=100),
            last_name=clean_text(last_name, field="last_name", max_length=100),
            birth_date=birth_date,
            sex=sex,
            pesel=pesel,
            identity_document=identity_document,
            created_at=at,
            updated_at=at,
        )

    def rename(self, *, first_name: str | None, last_name: str | None, at: datetime) -> None:
        if first_name is not None:
            self.first_name = clean_text(first_name, field="first_name", max_length=100)
        if last_name is not None:
            self.last_name = clean_text(last_name, field="last_name", max_length=100)
        self.updated_at = at
        self.version += 1

    def identify(self, pesel: Pesel, at: datetime) -> None:
        """A person first registered without PESEL gets one (a newborn registered, a foreigner)."""
        if self.pesel is not None and self.pesel != pesel:
            raise Conflict("the person already has another PESEL")
        if pesel.birth_date != self.birth_date:
            raise InvalidInput(
                "PESEL does not match the person's birth date",
                [FieldError("pesel", "birth date encoded in PESEL differs from the person's")],
            )
        self.pesel = pesel
        self.sex = pesel.sex
        self.updated_at = at
        self.version += 1

    def merge_into(self, kept: PersonId, at: datetime) -> None:
        """This record is a duplicate of `kept`: it stays, marked, while its links move there."""
        if self.merged_into is not None:
            raise Conflict("the person's record has already been merged into another")
        if kept == self.id:
            raise InvalidInput("a person cannot be merged into themselves", [FieldError("kept_person_id", "same")])
        self.merged_into = kept
        self._touch(at)

    def unmerge(self, at: datetime) -> None:
        if self.merged_into is None:
            raise Conflict("the person's record is not merged into another")
        self.merged_into = None
        self._touch(at)

    def give_up_pesel(self, at: datetime, *, sex: Sex | None) -> Pesel:
        """The PESEL goes to the record this one is merged into (or back, when a merge is undone)."""
        if self.pesel is None:
            raise Conflict("the person has no PESEL to give up")
        pesel, self.pesel, self.sex = self.pesel, None, sex
        self._touch(at)
        return pesel

    def give_up_identity_document(self, at: datetime) -> IdentityDocument:
        if self.identity_document is None:
            raise Conflict("the person has no identity document to give up")
        document, self.identity_document = self.identity_document, None
        self._touch(at)
        return document

    def take_identity_document(self, document: IdentityDocument, at: datetime) -> None:
        if self.identity_document is not None:
            raise Conflict("the person already has an identity document")
        self.identity_document = document
        self._touch(at)

    def _touch(self, at: datetime) -> None:
        self.updated_at = at
        self.version += 1

    @property
    def anonymised(self) -> bool:
        return self.first_name == ANONYMISED_NAME and self.last_name == ANONYMISED_NAME and self.pesel is None

    def anonymise(self, at: datetime) -> None:
        """Retention: the identity goes, the row stays, so families, referrals and the audit trail still point at
        someone. The year of birth and sex stay too: too coarse to name anyone, and counts by age and sex need them."""
        self.first_name = self.last_name = ANONYMISED_NAME
        self.pesel = None
        self.identity_document = None
        self.birth_date = date(self.birth_date.year, 1, 1)
        self.updated_at = at
        self.version += 1


@dataclass(slots=True, kw_only=True)
class Enrollment:
    """That an institution serves a person: status there and the worker to contact."""

    id: EnrollmentId
    person_id: PersonId
    institution_id: InstitutionId
    status: str
    since: date
    until: date | None
    worker_id: WorkerId | None
    # The person's identifier in the institution's own record system (POMOST, Syriusz...).
    external_ref: str | None
    created_at: datetime
    updated_at: datetime
    version: int = 1

    @property
    def active(self) -> bool:
        return self.until is None

    def change(
        self,
        *,
        status: str | None,
        worker_id: WorkerId | None,
        clear_worker: bool,
        external_ref: str | None,
        at: datetime,
    ) -> None:
        if not self.active:
            raise Conflict("the enrollment has ended; register the person again to reopen it")
        if status is not None:
            self.status = status
        if clear_worker:
            self.worker_id = None
        elif worker_id is not None:
            self.worker_id = worker_id
        if external_ref is not None:
            self.external_ref = external_ref
        self.updated_at = at
        self.version += 1

    def end(self, *, on: date, at: datetime) -> None:
        if not self.active:
            raise Conflict("the enrollment has already ended")
        if on < self.since:
            raise InvalidInput("an enrollment cannot end before it began", [FieldError("until", "before since")])
        if on > local_date(at):
            # An ended enrollment stops the institution's access at once; a future end would cut it early.
            raise InvalidInput(
                "an enrollment ends on the day it ends, not ahead", [FieldError("until", "in the future")]
            )
        self.until = on
        self.updated_at = at
        self.version += 1
