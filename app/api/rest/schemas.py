"""Request and response bodies of the REST API, and their mapping from domain objects."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from app.domain.institutions import Institution, Worker
from app.domain.services.views import EnrollmentView, FamilyView, MemberView, PersonView
from app.domain.values import Address, Contact, IdentityDocument, Sex

T = TypeVar("T")

Name = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[A-Z0-9_]+$")]
TerytCode = Annotated[str, StringConstraints(pattern=r"^\d{2}(\d{2}(\d{3})?)?$")]


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Strict(BaseModel):
    """Request bodies: unknown fields refused, and no control characters (a NUL would reach the database)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _printable(cls, value: object) -> object:
        if isinstance(value, str) and _CONTROL_CHARACTERS.search(value):
            raise ValueError("control characters are not allowed")
        return value


class Paged(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class AddressBody(Strict):
    street: str | None = Field(default=None, max_length=200)
    postal_code: str | None = Field(default=None, max_length=6, examples=["11-200"])
    city: str | None = Field(default=None, max_length=100)

    def to_domain(self) -> Address:
        return Address(street=self.street, postal_code=self.postal_code, city=self.city)

    @classmethod
    def of(cls, a: Address) -> AddressBody:
        return cls(street=a.street, postal_code=a.postal_code, city=a.city)


class ContactBody(Strict):
    email: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=30)

    def to_domain(self) -> Contact:
        return Contact(email=self.email, phone=self.phone)

    @classmethod
    def of(cls, c: Contact) -> ContactBody:
        return cls(email=c.email, phone=c.phone)


class InstitutionIn(Strict):
    type: Code = Field(description="Code of the InstitutionType list.", examples=["MOPS"])
    name: str = Field(min_length=1, max_length=300)
    teryt: TerytCode = Field(description="TERYT code of the gmina (7 digits) or powiat (4).", examples=["2802011"])
    regon: str | None = Field(default=None, max_length=20)
    nip: str | None = Field(default=None, max_length=20)
    address: AddressBody = AddressBody()
    contact: ContactBody = ContactBody()


class InstitutionOut(BaseModel):
    id: UUID
    type: str
    name: str
    teryt: str
    regon: str | None
    nip: str | None
    address: AddressBody
    contact: ContactBody
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, i: Institution) -> InstitutionOut:
        return cls(
            id=i.id,
            type=i.type,
            name=i.name,
            teryt=i.teryt.value,
            regon=i.regon.value if i.regon else None,
            nip=i.nip.value if i.nip else None,
            address=AddressBody.of(i.address),
            contact=ContactBody.of(i.contact),
            version=i.version,
            created_at=i.created_at,
            updated_at=i.updated_at,
        )


class WorkerIn(Strict):
    first_name: Name
    last_name: Name
    role: Code = Field(description="Code of the SpecialistRole list.", examples=["SOCIAL_WORKER"])
    contact: ContactBody = ContactBody()
    idp_subject: str | None = Field(
        default=None, max_length=255, description="The `sub` of this worker's tokens at the identity provider."
    )


class WorkerOut(BaseModel):
    id: UUID
    institution_id: UUID
    first_name: str
    last_name: str
    role: str
    contact: ContactBody
    active: bool

    @classmethod
    def of(cls, w: Worker) -> WorkerOut:
        return cls(
            id=w.id,
            institution_id=w.institution_id,
            first_name=w.first_name,
            last_name=w.last_name,
            role=w.role,
            contact=ContactBody.of(w.contact),
            active=w.active,
        )


class IdentityDocumentBody(Strict):
    kind: Code = Field(description="Code of the IdentityDocumentKind list.", examples=["PASSPORT"])
    number: str = Field(min_length=3, max_length=30)
    country: str = Field(min_length=2, max_length=2, examples=["UA"])

    @classmethod
    def of(cls, d: IdentityDocument | None) -> IdentityDocumentBody | None:
        return cls(kind=d.kind, number=d.number, country=d.country) if d else None


class EnrollmentIn(Strict):
    status: Code = Field(
        description="Status at your institution: PupClientStatus for labour offices, SocialAssistanceStatus "
        "for social-assistance centres, ParticipantStatus for partner organisations.",
        examples=["BENEFIT_RECIPIENT"],
    )
    since: date | None = Field(default=None, description="Defaults to today.")
    worker_id: UUID | None = Field(default=None, description="Your worker who handles the person.")
    external_ref: str | None = Field(default=None, max_length=100, description="The person's id in your own system.")


class PersonIn(Strict):
    pesel: str | None = Field(
        default=None, min_length=11, max_length=11, description="Optional: persons without PESEL are registered too."
    )
    identity_document: IdentityDocumentBody | None = None
    first_name: Name
    last_name: Name
    birth_date: date | None = Field(default=None, description="Required without PESEL; must match it with one.")
    sex: Sex | None = None
    enrollment: EnrollmentIn


class PersonChange(Strict):
    first_name: Name | None = None
    last_name: Name | None = None
    pesel: str | None = Field(
        default=None, min_length=11, max_length=11, description="Give a PESEL to a person registered without one."
    )


class EnrollmentChange(Strict):
    status: Code | None = None
    worker_id: UUID | None = None
    clear_worker: bool = False
    external_ref: str | None = Field(default=None, max_length=100)
    until: date | None = Field(default=None, description="Ends the enrollment on this day.")


class EnrollmentOut(BaseModel):
    id: UUID
    institution_id: UUID
    status: str
    since: date
    until: date | None
    worker: WorkerOut | None
    external_ref: str | None
    version: int

    @classmethod
    def of(cls, v: EnrollmentView) -> EnrollmentOut:
        e = v.enrollment
        return cls(
            id=e.id,
            institution_id=e.institution_id,
            status=e.status,
            since=e.since,
            until=e.until,
            worker=WorkerOut.of(v.worker) if v.worker else None,
            external_ref=e.external_ref,
            version=e.version,
        )


class ServedElsewhereOut(BaseModel):
    institution_id: UUID
    status: str
    since: date
    worker: WorkerOut | None

    @classmethod
    def of(cls, v: EnrollmentView) -> ServedElsewhereOut:
        e = v.enrollment
        return cls(
            institution_id=e.institution_id,
            status=e.status,
            since=e.since,
            worker=WorkerOut.of(v.worker) if v.worker else None,
        )


class PersonOut(BaseModel):
    id: UUID
    pesel: str | None
    identity_document: IdentityDocumentBody | None
    first_name: str
    last_name: str
    birth_date: date
    sex: Sex | None
    enrollments: list[EnrollmentOut] = Field(description="Your institution's enrollments of the person only.")
    served_elsewhere: list[ServedElsewhereOut] = Field(
        default_factory=list,
        description="Where else the person is served now: only the institutions whose status data your agreements "
        "(or, for a partner organisation, the person's consent) open for the purpose of the request (X-Purpose).",
    )
    family_ids: list[UUID]
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, v: PersonView) -> PersonOut:
        p = v.person
        return cls(
            id=p.id,
            pesel=p.pesel.value if p.pesel else None,
            identity_document=IdentityDocumentBody.of(p.identity_document),
            first_name=p.first_name,
            last_name=p.last_name,
            birth_date=p.birth_date,
            sex=p.sex,
            enrollments=[EnrollmentOut.of(e) for e in v.enrollments],
            served_elsewhere=[ServedElsewhereOut.of(e) for e in v.elsewhere],
            family_ids=list(v.family_ids),
            version=p.version,
            created_at=p.created_at,
            updated_at=p.updated_at,
        )


class MemberIn(Strict):
    person_id: UUID
    role: Code = Field(description="Code of the FamilyRole list.", examples=["PARENT"])
    since: date | None = None


class FamilyIn(Strict):
    name: str = Field(min_length=1, max_length=200, examples=["Rodzina Nowaków"])
    teryt: TerytCode | None = Field(default=None, description="TERYT code of the gmina of residence.")
    members: list[MemberIn] = Field(default_factory=list, max_length=30)


class FamilyChange(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    teryt: TerytCode | None = None


class MembershipChange(Strict):
    role: Code = Field(description="The new role; the old membership ends and a new one starts.")
    on: date | None = None


class MembershipEnd(Strict):
    on: date | None = Field(default=None, description="Defaults to today.")
    reason: Code = "LEFT_HOUSEHOLD"


class MemberPersonOut(BaseModel):
    id: UUID
    first_name: str
    last_name: str
    birth_date: date
    sex: Sex | None
    enrollments: list[EnrollmentOut]


class MemberOut(BaseModel):
    membership_id: UUID
    role: str
    since: date
    until: date | None
    end_reason: str | None
    current: bool
    person: MemberPersonOut

    @classmethod
    def of(cls, v: MemberView) -> MemberOut:
        m, p = v.membership, v.person.person
        return cls(
            membership_id=m.id,
            role=m.role,
            since=m.since,
            until=m.until,
            end_reason=m.end_reason,
            current=m.current,
            person=MemberPersonOut(
                id=p.id,
                first_name=p.first_name,
                last_name=p.last_name,
                birth_date=p.birth_date,
                sex=p.sex,
                enrollments=[EnrollmentOut.of(e) for e in v.person.enrollments],
            ),
        )


class FamilyOut(BaseModel):
    id: UUID
    name: str
    teryt: str | None
    members: list[MemberOut] = Field(description="Current and past memberships, in order of joining.")
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, v: FamilyView) -> FamilyOut:
        f = v.family
        return cls(
            id=f.id,
            name=f.name,
            teryt=f.teryt.value if f.teryt else None,
            members=[MemberOut.of(m) for m in v.members],
            version=f.version,
            created_at=f.created_at,
            updated_at=f.updated_at,
        )
