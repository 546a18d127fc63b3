"""Rows to domain objects and back; the one place that knows both shapes."""

from __future__ import annotations

from app.adapters.crypto.vault import PersonalDataVault, person_pesel_context
from app.adapters.db.tables import (
    ApiClientRow,
    EnrollmentRow,
    FamilyRow,
    InstitutionRow,
    MembershipRow,
    PersonRow,
    WorkerRow,
)
from app.domain.clients import ApiClient
from app.domain.families import Family, Membership
from app.domain.ids import (
    EnrollmentId,
    FamilyId,
    InstitutionId,
    MembershipId,
    PersonId,
    WorkerId,
)
from app.domain.institutions import Institution, Worker
from app.domain.persons import Enrollment, Person
from app.domain.values import Address, Contact, IdentityDocument, Nip, Pesel, Regon, Sex, Teryt


def institution_to_row(i: Institution) -> InstitutionRow:
    return InstitutionRow(
        id=i.id,
        type=i.type,
        name=i.name,
        regon=i.regon.value if i.regon else None,
        nip=i.nip.value if i.nip else None,
        teryt=i.teryt.value,
        street=i.address.street,
        postal_code=i.address.postal_code,
        city=i.address.city,
        email=i.contact.email,
        phone=i.contact.phone,
        created_at=i.created_at,
        updated_at=i.updated_at,
        version=i.version,
    )


def institution_from_row(r: InstitutionRow) -> Institution:
    return Institution(
        id=InstitutionId(r.id),
        type=r.type,
        name=r.name,
        regon=Regon(r.regon) if r.regon else None,
        nip=Nip(r.nip) if r.nip else None,
        teryt=Teryt(r.teryt),
        address=Address(street=r.street, postal_code=r.postal_code, city=r.city),
        contact=Contact(email=r.email, phone=r.phone),
        created_at=r.created_at,
        updated_at=r.updated_at,
        version=r.version,
    )


def worker_to_row(w: Worker) -> WorkerRow:
    return WorkerRow(
        id=w.id,
        institution_id=w.institution_id,
        first_name=w.first_name,
        last_name=w.last_name,
        role=w.role,
        email=w.contact.email,
        phone=w.contact.phone,
        idp_subject=w.idp_subject,
        active=w.active,
        created_at=w.created_at,
    )


def worker_from_row(r: WorkerRow) -> Worker:
    return Worker(
        id=WorkerId(r.id),
        institution_id=InstitutionId(r.institution_id),
        first_name=r.first_name,
        last_name=r.last_name,
        role=r.role,
        contact=Contact(email=r.email, phone=r.phone),
        idp_subject=r.idp_subject,
        active=r.active,
        created_at=r.created_at,
    )


def person_to_row(p: Person, vault: PersonalDataVault) -> PersonRow:
    doc = p.identity_document
    return PersonRow(
        id=p.id,
        first_name=p.first_name,
        last_name=p.last_name,
        birth_date=p.birth_date,
        sex=p.sex.value if p.sex else None,
        pesel_hash=vault.blind_index(p.pesel.value) if p.pesel else None,
        pesel_sealed=vault.seal(p.pesel.value, context=person_pesel_context(p.id)) if p.pesel else None,
        id_doc_kind=doc.kind if doc else None,
        id_doc_number=doc.number if doc else None,
        id_doc_country=doc.country if doc else None,
        created_at=p.created_at,
        updated_at=p.updated_at,
        version=p.version,
        merged_into=p.merged_into,
    )


def person_from_row(r: PersonRow, vault: PersonalDataVault) -> Person:
    doc = None
    if r.id_doc_kind and r.id_doc_number and r.id_doc_country:
        doc = IdentityDocument(kind=r.id_doc_kind, number=r.id_doc_number, country=r.id_doc_country)
    return Person(
        id=PersonId(r.id),
        first_name=r.first_name,
        last_name=r.last_name,
        birth_date=r.birth_date,
        sex=Sex(r.sex) if r.sex else None,
        pesel=Pesel(vault.open(r.pesel_sealed, context=person_pesel_context(r.id))) if r.pesel_sealed else None,
        identity_document=doc,
        created_at=r.created_at,
        updated_at=r.updated_at,
        version=r.version,
        merged_into=PersonId(r.merged_into) if r.merged_into else None,
    )


def enrollment_to_row(e: Enrollment) -> EnrollmentRow:
    return EnrollmentRow(
        id=e.id,
        person_id=e.person_id,
        institution_id=e.institution_id,
        status=e.status,
        since=e.since,
        until=e.until,
        worker_id=e.worker_id,
        external_ref=e.external_ref,
        created_at=e.created_at,
        updated_at=e.updated_at,
        version=e.version,
    )


def enrollment_from_row(r: EnrollmentRow) -> Enrollment:
    return Enrollment(
        id=EnrollmentId(r.id),
        person_id=PersonId(r.person_id),
        institution_id=InstitutionId(r.institution_id),
        status=r.status,
        since=r.since,
        until=r.until,
        worker_id=WorkerId(r.worker_id) if r.worker_id else None,
        external_ref=r.external_ref,
        created_at=r.created_at,
        updated_at=r.updated_at,
        version=r.version,
    )


def family_to_row(f: Family) -> FamilyRow:
    return FamilyRow(
        id=f.id,
        name=f.name,
        teryt=f.teryt.value if f.teryt else None,
        created_by=f.created_by,
        created_at=f.created_at,
        updated_at=f.updated_at,
        version=f.version,
    )


def membership_to_row(m: Membership) -> MembershipRow:
    return MembershipRow(
        id=m.id,
        family_id=m.family_id,
        person_id=m.person_id,
        role=m.role,
        since=m.since,
        recorded_at=m.recorded_at,
        until=m.until,
        end_reason=m.end_reason,
    )


def family_from_rows(r: FamilyRow, memberships: list[MembershipRow]) -> Family:
    return Family(
        id=FamilyId(r.id),
        name=r.name,
        teryt=Teryt(r.teryt) if r.teryt else None,
        created_by=InstitutionId(r.created_by),
        created_at=r.created_at,
        updated_at=r.updated_at,
        version=r.version,
        memberships=[
            Membership(
                id=MembershipId(m.id),
                family_id=FamilyId(m.family_id),
                person_id=PersonId(m.person_id),
                role=m.role,
                since=m.since,
                recorded_at=m.recorded_at,
                until=m.until,
                end_reason=m.end_reason,
            )
            for m in memberships
        ],
    )


def client_to_row(c: ApiClient) -> ApiClientRow:
    return ApiClientRow(
        client_id=c.client_id,
        secret_hash=c.secret_hash,
        institution_id=c.institution_id,
        scopes=" ".join(sorted(c.scopes)),
        name=c.name,
        created_at=c.created_at,
        active=c.active,
    )


def client_from_row(r: ApiClientRow) -> ApiClient:
    return ApiClient(
        client_id=r.client_id,
        secret_hash=r.secret_hash,
        institution_id=InstitutionId(r.institution_id),
        scopes=frozenset(r.scopes.split()),
        name=r.name,
        created_at=r.created_at,
        active=r.active,
    )
