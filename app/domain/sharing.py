"""Agreements between institutions and a person's consents: the only two grounds on which data is shared."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime

from app.domain.clock import local_date
from app.domain.data_categories import RESTRICTED_CATEGORIES, DataCategory
from app.domain.errors import Conflict, FieldError, InvalidInput, PermissionDenied
from app.domain.ids import AgreementId, ConsentId, InstitutionId, PersonId
from app.domain.values import clean_text


def _categories(raw: Iterable[str], field_name: str) -> frozenset[DataCategory]:
    found: set[DataCategory] = set()
    for value in raw:
        try:
            found.add(DataCategory(value))
        except ValueError:
            raise InvalidInput(
                f"'{value}' is not a data category", [FieldError(field_name, f"unknown data category '{value}'")]
            ) from None
    if found & RESTRICTED_CATEGORIES:
        raise InvalidInput(
            "Niebieska Karta data cannot be shared by agreement or consent",
            [FieldError(field_name, "domestic_violence stays with the interdisciplinary team")],
        )
    return frozenset(found)


def _period(valid_from: date, valid_to: date | None, prefix: str = "") -> None:
    if valid_to is not None and valid_to < valid_from:
        raise InvalidInput("the period ends before it starts", [FieldError(f"{prefix}valid_to", "before valid_from")])


@dataclass(frozen=True, slots=True, kw_only=True)
class AgreementParty:
    institution_id: InstitutionId
    # The categories this party may receive from the other parties: an agreement is rarely symmetric
    # (a PUP receives social-assistance status, an OPS receives labour-market status).
    receives: frozenset[DataCategory]
    signed_on: date | None = None
    signed_by: str | None = None


@dataclass(slots=True, kw_only=True)
class Agreement:
    id: AgreementId
    title: str
    parties: tuple[AgreementParty, ...]
    purposes: frozenset[str]
    legal_basis: str
    valid_from: date
    valid_to: date | None
    document_ref: str
    created_by: InstitutionId
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None = None
    end_reason: str | None = None
    version: int = 1

    @classmethod
    def draft(
        cls,
        *,
        id: AgreementId,
        title: str,
        parties: Iterable[tuple[InstitutionId, Iterable[str]]],
        purposes: Iterable[str],
        legal_basis: str,
        valid_from: date,
        valid_to: date | None,
        document_ref: str,
        created_by: InstitutionId,
        at: datetime,
    ) -> Agreement:
        members = tuple(
            AgreementParty(institution_id=i, receives=_categories(c, f"parties[{n}].receives"))
            for n, (i, c) in enumerate(parties)
        )
        ids = [p.institution_id for p in members]
        if len(set(ids)) != len(ids) or len(ids) < 2:
            raise InvalidInput(
                "an agreement has at least two different parties", [FieldError("parties", "two or more, each once")]
            )
        if created_by not in ids:
            raise InvalidInput(
                "only a party drafts an agreement", [FieldError("parties", "must include your institution")]
            )
        if not purposes:
            raise InvalidInput("an agreement names its purposes", [FieldError("purposes", "at least one")])
        _period(valid_from, valid_to)
        return cls(
            id=id,
            title=clean_text(title, field="title", max_length=300),
            parties=members,
            purposes=frozenset(purposes),
            legal_basis=clean_text(legal_basis, field="legal_basis", max_length=2000),
            valid_from=valid_from,
            valid_to=valid_to,
            document_ref=clean_text(document_ref, field="document_ref", max_length=200),
            created_by=created_by,
            created_at=at,
            updated_at=at,
        )

    def party(self, institution_id: InstitutionId) -> AgreementParty | None:
        return next((p for p in self.parties if p.institution_id == institution_id), None)

    @property
    def signed_on(self) -> date | None:
        """The day the last party signed: the agreement binds from then (and from valid_from)."""
        days = [p.signed_on for p in self.parties]
        return None if any(d is None for d in days) else max(d for d in days if d is not None)

    def sign(self, institution_id: InstitutionId, *, by: str, on: date, at: datetime) -> None:
        party = self.party(institution_id)
        if party is None:
            raise PermissionDenied("only a party signs the agreement")
        if self.ended_at is not None:
            raise Conflict("the agreement has ended")
        if party.signed_on is not None:
            raise Conflict("your institution has already signed this agreement")
        self.parties = tuple(
            replace(p, signed_on=on, signed_by=by) if p.institution_id == institution_id else p for p in self.parties
        )
        self._touch(at)

    def end(self, institution_id: InstitutionId, *, reason: str | None, at: datetime) -> None:
        """Any party ends it, at once: from this moment it opens nothing."""
        if self.party(institution_id) is None:
            raise PermissionDenied("only a party ends the agreement")
        if self.ended_at is not None:
            raise Conflict("the agreement has already ended")
        self.ended_at = at
        self.end_reason = clean_text(reason, field="reason", max_length=500) if reason else None
        self._touch(at)

    def in_force(self, at: datetime) -> bool:
        today = local_date(at)
        signed = self.signed_on
        return (
            signed is not None
            and (self.ended_at is None or self.ended_at > at)
            and max(self.valid_from, signed) <= today
            and (self.valid_to is None or today <= self.valid_to)
        )

    def lets(
        self, recipient: InstitutionId, owner: InstitutionId, category: DataCategory, purpose: str, at: datetime
    ) -> bool:
        """Whether the owner may disclose this category to the recipient for this purpose now."""
        receiving = self.party(recipient)
        return (
            receiving is not None
            and recipient != owner
            and self.party(owner) is not None
            and category in receiving.receives
            and purpose in self.purposes
            and self.in_force(at)
        )

    def _touch(self, at: datetime) -> None:
        self.updated_at = at
        self.version += 1


@dataclass(slots=True, kw_only=True)
class Consent:
    """A person's consent to an institution (named, or every institution of a kind) for a purpose."""

    id: ConsentId
    person_id: PersonId
    grantee_institution_id: InstitutionId | None
    grantee_kind: str | None
    categories: frozenset[DataCategory]
    purpose: str
    valid_from: date
    valid_to: date | None
    method: str
    given_on: date
    document_ref: str | None
    recorded_by: InstitutionId
    created_at: datetime
    withdrawn_at: datetime | None = None
    withdrawn_by: InstitutionId | None = None
    version: int = 1

    @classmethod
    def record(
        cls,
        *,
        id: ConsentId,
        person_id: PersonId,
        grantee_institution_id: InstitutionId | None,
        grantee_kind: str | None,
        categories: Iterable[str],
        purpose: str,
        valid_from: date,
        valid_to: date | None,
        method: str,
        given_on: date,
        document_ref: str | None,
        recorded_by: InstitutionId,
        at: datetime,
    ) -> Consent:
        if (grantee_institution_id is None) == (grantee_kind is None):
            raise InvalidInput(
                "a consent names either one institution or one kind of institution",
                [FieldError("grantee", "give exactly one of institution_id and kind")],
            )
        found = _categories(categories, "categories")
        if not found:
            raise InvalidInput("a consent names its data categories", [FieldError("categories", "at least one")])
        _period(valid_from, valid_to)
        if given_on > local_date(at):
            raise InvalidInput("consent given in the future", [FieldError("given_on", "in the future")])
        return cls(
            id=id,
            person_id=person_id,
            grantee_institution_id=grantee_institution_id,
            grantee_kind=grantee_kind,
            categories=found,
            purpose=purpose,
            valid_from=valid_from,
            valid_to=valid_to,
            method=method,
            given_on=given_on,
            document_ref=clean_text(document_ref, field="document_ref", max_length=200) if document_ref else None,
            recorded_by=recorded_by,
            created_at=at,
        )

    def withdraw(self, by: InstitutionId, at: datetime) -> None:
        if self.withdrawn_at is not None:
            raise Conflict("the consent has already been withdrawn")
        self.withdrawn_at = at
        self.withdrawn_by = by
        self.version += 1

    def in_force(self, at: datetime) -> bool:
        today = local_date(at)
        return (
            (self.withdrawn_at is None or self.withdrawn_at > at)
            and self.valid_from <= today
            and (self.valid_to is None or today <= self.valid_to)
        )

    def lets(
        self, grantee: InstitutionId, grantee_kind: str, category: DataCategory, purpose: str, at: datetime
    ) -> bool:
        named = (
            self.grantee_institution_id == grantee if self.grantee_institution_id else grantee_kind == self.grantee_kind
        )
        return named and category in self.categories and purpose == self.purpose and self.in_force(at)
