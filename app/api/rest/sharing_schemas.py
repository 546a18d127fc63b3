"""Bodies of /v1/agreements, /v1/persons/{id}/consents and /v1/shared-client-lookups."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Self
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints, model_validator

from app.api.rest.schemas import Code, ContactBody, Name, Strict
from app.domain.data_categories import DataCategory
from app.domain.services.lookups import ServedThere, SharedClientMatch
from app.domain.sharing import Agreement, AgreementParty, Consent

Category = Annotated[
    DataCategory,
    Field(description="A data category. `domestic_violence` is never shareable and is refused here."),
]
Purpose = Annotated[
    str,
    StringConstraints(min_length=1, max_length=40, pattern=r"^[A-Z0-9_]+$"),
    Field(description="Code of the SharingPurpose list.", examples=["REFERRAL"]),
]
Pesel = Annotated[str, StringConstraints(min_length=11, max_length=11, pattern=r"^\d{11}$")]


class PartyIn(Strict):
    institution_id: UUID
    receives: list[Category] = Field(
        max_length=20, description="The categories this party may receive from the other parties."
    )


class AgreementIn(Strict):
    title: str = Field(min_length=1, max_length=300, examples=["Porozumienie o współpracy MOPS i PUP"])
    parties: list[PartyIn] = Field(min_length=2, max_length=20)
    purposes: list[Purpose] = Field(min_length=1, max_length=10)
    legal_basis: str = Field(
        min_length=1, max_length=2000, examples=["art. 100 ust. 2 i art. 105 ustawy o pomocy społecznej"]
    )
    valid_from: date
    valid_to: date | None = None
    document_ref: str = Field(min_length=1, max_length=200, examples=["Porozumienie nr 12/2026 z 2026-01-15"])


class SignatureIn(Strict):
    signed_on: date | None = Field(default=None, description="The day your institution signed; defaults to today.")


class EndIn(Strict):
    reason: str | None = Field(default=None, max_length=500)


class PartyOut(BaseModel):
    institution_id: UUID
    receives: list[DataCategory]
    signed_on: date | None
    signed_by: str | None

    @classmethod
    def of(cls, p: AgreementParty) -> PartyOut:
        return cls(
            institution_id=p.institution_id,
            receives=sorted(p.receives),
            signed_on=p.signed_on,
            signed_by=p.signed_by,
        )


class AgreementOut(BaseModel):
    id: UUID
    title: str
    parties: list[PartyOut]
    purposes: list[str]
    legal_basis: str
    valid_from: date
    valid_to: date | None
    document_ref: str
    signed_on: date | None = Field(description="The day the last party signed; null until every party has.")
    in_force: bool = Field(description="Whether it opens data now: signed by all, within its dates, not ended.")
    ended_at: datetime | None
    end_reason: str | None
    created_by: UUID
    created_at: datetime
    version: int

    @classmethod
    def of(cls, a: Agreement, now: datetime) -> AgreementOut:
        return cls(
            id=a.id,
            title=a.title,
            parties=[PartyOut.of(p) for p in a.parties],
            purposes=sorted(a.purposes),
            legal_basis=a.legal_basis,
            valid_from=a.valid_from,
            valid_to=a.valid_to,
            document_ref=a.document_ref,
            signed_on=a.signed_on,
            in_force=a.in_force(now),
            ended_at=a.ended_at,
            end_reason=a.end_reason,
            created_by=a.created_by,
            created_at=a.created_at,
            version=a.version,
        )


class GranteeBody(Strict):
    institution_id: UUID | None = Field(default=None, description="A named institution…")
    kind: Code | None = Field(default=None, description="…or every institution of a kind (InstitutionType).")

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.institution_id is None) == (self.kind is None):
            raise ValueError("give exactly one of institution_id and kind")
        return self


class ConsentIn(Strict):
    grantee: GranteeBody
    categories: list[Category] = Field(min_length=1, max_length=20)
    purpose: Purpose
    method: Code = Field(description="Code of the ConsentMethod list.", examples=["SIGNED_FORM"])
    given_on: date
    valid_from: date | None = Field(default=None, description="Defaults to the day it was given.")
    valid_to: date | None = None
    document_ref: str | None = Field(default=None, max_length=200, description="Where the signed form is kept.")


class ConsentOut(BaseModel):
    id: UUID
    person_id: UUID
    grantee: GranteeBody
    categories: list[DataCategory]
    purpose: str
    method: str
    given_on: date
    valid_from: date
    valid_to: date | None
    document_ref: str | None
    recorded_by: UUID
    created_at: datetime
    withdrawn_at: datetime | None
    in_force: bool
    version: int

    @classmethod
    def of(cls, c: Consent, now: datetime) -> ConsentOut:
        return cls(
            id=c.id,
            person_id=c.person_id,
            grantee=GranteeBody(institution_id=c.grantee_institution_id, kind=c.grantee_kind),
            categories=sorted(c.categories),
            purpose=c.purpose,
            method=c.method,
            given_on=c.given_on,
            valid_from=c.valid_from,
            valid_to=c.valid_to,
            document_ref=c.document_ref,
            recorded_by=c.recorded_by,
            created_at=c.created_at,
            withdrawn_at=c.withdrawn_at,
            in_force=c.in_force(now),
            version=c.version,
        )


class ConsentList(BaseModel):
    items: list[ConsentOut]


class LookupIn(Strict):
    purpose: Purpose
    pesel: Pesel | None = Field(default=None, description="Look up by PESEL…")
    first_name: Name | None = Field(default=None, description="…or, for a person without one, by names…")
    last_name: Name | None = None
    birth_date: date | None = Field(default=None, description="…and birth date.")


class ContactWorker(BaseModel):
    first_name: str
    last_name: str
    contact: ContactBody


class ServedAt(BaseModel):
    institution_id: UUID
    institution_name: str
    institution_type: str
    since: date
    worker: ContactWorker | None
    institution_contact: ContactBody

    @classmethod
    def of(cls, s: ServedThere) -> ServedAt:
        w = s.worker
        return cls(
            institution_id=s.institution.id,
            institution_name=s.institution.name,
            institution_type=s.institution.type,
            since=s.since,
            worker=ContactWorker(first_name=w.first_name, last_name=w.last_name, contact=ContactBody.of(w.contact))
            if w
            else None,
            institution_contact=ContactBody.of(s.institution.contact),
        )


class LookupMatch(BaseModel):
    person_id: UUID
    served_at: list[ServedAt]

    @classmethod
    def of(cls, m: SharedClientMatch) -> LookupMatch:
        return cls(person_id=m.person_id, served_at=[ServedAt.of(s) for s in m.served_at])


class LookupOut(BaseModel):
    matches: list[LookupMatch] = Field(
        description="Persons found and where they are served, limited to what your agreements and their consents "
        "open for the purpose: an empty list does not say whether the person exists."
    )
