"""SQL repositories behind the domain's ports, one class per port."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar
from uuid import UUID

from sqlalchemy import exists, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement, Select

from app.adapters.crypto.vault import PersonalDataVault
from app.adapters.db import mapping
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
from app.domain.errors import DuplicateRecord, StaleVersion
from app.domain.families import Family
from app.domain.ids import FamilyId, InstitutionId, PersonId, WorkerId
from app.domain.institutions import Institution, Worker
from app.domain.pagination import Page, PageRequest, Position
from app.domain.persons import Enrollment, Person
from app.domain.values import IdentityDocument, Pesel


class _Keyed(Protocol):
    """A row listed page by page: every such table has a creation time and an id."""

    created_at: datetime
    id: UUID


RowT = TypeVar("RowT", bound=_Keyed)


async def keyset_page(
    session: AsyncSession, query: Select[Any], row_type: type[RowT], page: PageRequest
) -> tuple[list[RowT], Position | None]:
    """Keyset pagination over (created_at, id): stable under inserts, no OFFSET scans."""
    order = (row_type.created_at, row_type.id)
    if page.after is not None:
        query = query.where(tuple_(*order) > tuple_(page.after.created_at, page.after.id))
    rows = list((await session.scalars(query.order_by(*order).limit(page.limit + 1))).all())
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    last = rows[-1] if more and rows else None
    return rows, Position(created_at=last.created_at, id=last.id) if last else None


async def insert_row(session: AsyncSession, row: object) -> None:
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as error:
        raise DuplicateRecord("a record with the same unique identity already exists") from error


async def versioned_update(
    session: AsyncSession, table: Any, row_id: Any, expected_version: int, values: dict[str, Any]
) -> None:
    result = await session.execute(
        update(table)
        .where(table.id == row_id, table.version == expected_version)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        current = await session.scalar(select(table.version).where(table.id == row_id))
        raise StaleVersion("the record was changed by someone else", int(current or 0))


def _values(row: Any, *exclude: str) -> dict[str, Any]:
    return {k: v for k, v in row.model_dump().items() if k not in exclude}


def _enrolled_now(institution_id: InstitutionId, person_col: Any) -> ColumnElement[bool]:
    return exists().where(
        EnrollmentRow.person_id == person_col,
        EnrollmentRow.institution_id == institution_id,
        EnrollmentRow.until.is_(None),
    )


def _family_visible(institution_id: InstitutionId, family_col: Any, created_by_col: Any) -> ColumnElement[bool]:
    member = MembershipRow.__table__.alias("visible_member")
    return or_(
        created_by_col == institution_id,
        exists().where(
            member.c.family_id == family_col,
            member.c.until.is_(None),
            _enrolled_now(institution_id, member.c.person_id),
        ),
    )


def _person_visible(institution_id: InstitutionId, person_col: Any) -> ColumnElement[bool]:
    """The institution's own records of a person: it enrolls them, or keeps a family they currently belong to.

    Serving another member of a family is not enough: the rest of that household is opened by the access
    policy (agreements, consent), never by this rule, or any member's institution could take the others over."""
    membership = MembershipRow.__table__.alias("own_membership")
    families = FamilyRow.__table__.alias("own_family")
    in_kept_family = exists().where(
        membership.c.person_id == person_col,
        membership.c.until.is_(None),
        families.c.id == membership.c.family_id,
        families.c.created_by == institution_id,
    )
    return or_(_enrolled_now(institution_id, person_col), in_kept_family)


class SqlInstitutionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, institution: Institution) -> None:
        await insert_row(self.session, mapping.institution_to_row(institution))

    async def get(self, institution_id: InstitutionId) -> Institution | None:
        row = await self.session.scalar(select(InstitutionRow).where(InstitutionRow.id == institution_id))
        return mapping.institution_from_row(row) if row else None

    async def get_many(self, ids: Sequence[InstitutionId]) -> list[Institution]:
        if not ids:
            return []  # no round trip for a query that cannot match
        rows = await self.session.scalars(select(InstitutionRow).where(InstitutionRow.id.in_(ids)))
        return [mapping.institution_from_row(r) for r in rows]

    async def list(self, page: PageRequest) -> Page[Institution]:
        rows, after = await keyset_page(self.session, select(InstitutionRow), InstitutionRow, page)
        return Page(items=[mapping.institution_from_row(r) for r in rows], next_after=after)

    async def update(self, institution: Institution, *, expected_version: int) -> None:
        row = mapping.institution_to_row(institution)
        await versioned_update(
            self.session, InstitutionRow, institution.id, expected_version, _values(row, "id", "created_at")
        )


class SqlWorkerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, worker: Worker) -> None:
        await insert_row(self.session, mapping.worker_to_row(worker))

    async def get(self, worker_id: WorkerId) -> Worker | None:
        row = await self.session.scalar(select(WorkerRow).where(WorkerRow.id == worker_id))
        return mapping.worker_from_row(row) if row else None

    async def get_many(self, ids: Sequence[WorkerId]) -> list[Worker]:
        if not ids:
            return []
        rows = await self.session.scalars(select(WorkerRow).where(WorkerRow.id.in_(ids)))
        return [mapping.worker_from_row(r) for r in rows]

    async def by_idp_subject(self, institution_id: InstitutionId, subject: str) -> Worker | None:
        row = await self.session.scalar(
            select(WorkerRow).where(WorkerRow.institution_id == institution_id, WorkerRow.idp_subject == subject)
        )
        return mapping.worker_from_row(row) if row else None

    async def list_for_institution(self, institution_id: InstitutionId, page: PageRequest) -> Page[Worker]:
        query = select(WorkerRow).where(WorkerRow.institution_id == institution_id)
        rows, after = await keyset_page(self.session, query, WorkerRow, page)
        return Page(items=[mapping.worker_from_row(r) for r in rows], next_after=after)


class SqlPersonRepository:
    def __init__(self, session: AsyncSession, vault: PersonalDataVault) -> None:
        self.session = session
        self.vault = vault

    async def add(self, person: Person) -> None:
        await insert_row(self.session, mapping.person_to_row(person, self.vault))

    async def get(self, person_id: PersonId) -> Person | None:
        row = await self.session.scalar(select(PersonRow).where(PersonRow.id == person_id))
        return mapping.person_from_row(row, self.vault) if row else None

    async def get_many(self, ids: Sequence[PersonId]) -> list[Person]:
        if not ids:
            return []
        rows = await self.session.scalars(select(PersonRow).where(PersonRow.id.in_(ids)))
        return [mapping.person_from_row(r, self.vault) for r in rows]

    async def by_pesel(self, pesel: Pesel) -> Person | None:
        # Every key's index: while a new HMAC key is rolled out, rows not yet re-hashed are still found.
        indexes = self.vault.blind_indexes(pesel.value)
        row = await self.session.scalar(select(PersonRow).where(PersonRow.pesel_hash.in_(indexes)).limit(1))
        return mapping.person_from_row(row, self.vault) if row else None

    async def by_identity_document(self, document: IdentityDocument) -> Person | None:
        row = await self.session.scalar(
            select(PersonRow).where(
                PersonRow.id_doc_country == document.country,
                PersonRow.id_doc_number == document.number,
                PersonRow.id_doc_kind == document.kind,
            )
        )
        return mapping.person_from_row(row, self.vault) if row else None

    async def update(self, person: Person, *, expected_version: int) -> None:
        row = mapping.person_to_row(person, self.vault)
        try:
            await versioned_update(
                self.session, PersonRow, person.id, expected_version, _values(row, "id", "created_at")
            )
        except IntegrityError as error:
            raise DuplicateRecord("another person holds this identity") from error

    async def visible_to(self, person_id: PersonId, institution_id: InstitutionId) -> bool:
        return bool(await self.session.scalar(select(_person_visible(institution_id, person_id))))

    async def visible_among(self, ids: Sequence[PersonId], institution_id: InstitutionId) -> set[PersonId]:
        if not ids:
            return set()
        query = select(PersonRow.id).where(PersonRow.id.in_(ids), _person_visible(institution_id, PersonRow.id))
        return {PersonId(i) for i in await self.session.scalars(query)}

    async def list_visible(self, institution_id: InstitutionId, page: PageRequest) -> Page[Person]:
        query = select(PersonRow).where(_enrolled_now(institution_id, PersonRow.id))
        rows, after = await keyset_page(self.session, query, PersonRow, page)
        return Page(items=[mapping.person_from_row(r, self.vault) for r in rows], next_after=after)


class SqlEnrollmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, enrollment: Enrollment) -> None:
        await insert_row(self.session, mapping.enrollment_to_row(enrollment))

    async def get(self, enrollment_id: object) -> Enrollment | None:
        row = await self.session.scalar(select(EnrollmentRow).where(EnrollmentRow.id == enrollment_id))
        return mapping.enrollment_from_row(row) if row else None

    async def active_at(self, person_id: PersonId, institution_id: InstitutionId) -> Enrollment | None:
        row = await self.session.scalar(
            select(EnrollmentRow).where(
                EnrollmentRow.person_id == person_id,
                EnrollmentRow.institution_id == institution_id,
                EnrollmentRow.until.is_(None),
            )
        )
        return mapping.enrollment_from_row(row) if row else None

    async def for_persons(self, person_ids: Sequence[PersonId], institution_id: InstitutionId) -> list[Enrollment]:
        if not person_ids:
            return []
        rows = await self.session.scalars(
            select(EnrollmentRow)
            .where(EnrollmentRow.person_id.in_(person_ids), EnrollmentRow.institution_id == institution_id)
            .order_by(EnrollmentRow.since, EnrollmentRow.id)
        )
        return [mapping.enrollment_from_row(r) for r in rows]

    async def update(self, enrollment: Enrollment, *, expected_version: int) -> None:
        row = mapping.enrollment_to_row(enrollment)
        await versioned_update(
            self.session, EnrollmentRow, enrollment.id, expected_version, _values(row, "id", "created_at")
        )


class SqlFamilyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, family: Family) -> None:
        await insert_row(self.session, mapping.family_to_row(family))
        for m in family.memberships:
            self.session.add(mapping.membership_to_row(m))
        await self.session.flush()

    async def get(self, family_id: FamilyId) -> Family | None:
        found = await self.get_many([family_id])
        return found[0] if found else None

    async def get_many(self, ids: Sequence[FamilyId]) -> list[Family]:
        if not ids:
            return []
        rows = list(await self.session.scalars(select(FamilyRow).where(FamilyRow.id.in_(ids))))
        return await self._with_members(rows)

    async def _with_members(self, rows: Sequence[FamilyRow]) -> list[Family]:
        members: defaultdict[Any, list[MembershipRow]] = defaultdict(list)
        if rows:
            found = await self.session.scalars(
                select(MembershipRow).where(MembershipRow.family_id.in_([r.id for r in rows]))
            )
            for m in found:
                members[m.family_id].append(m)
        return [mapping.family_from_rows(r, members[r.id]) for r in rows]

    async def update(self, family: Family, *, expected_version: int) -> None:
        row = mapping.family_to_row(family)
        await versioned_update(
            self.session, FamilyRow, family.id, expected_version, _values(row, "id", "created_at", "created_by")
        )
        known = set(await self.session.scalars(select(MembershipRow.id).where(MembershipRow.family_id == family.id)))
        for m in family.memberships:
            membership_row = mapping.membership_to_row(m)
            if m.id in known:
                await self.session.execute(
                    update(MembershipRow)
                    .where(MembershipRow.id == m.id)
                    .values(role=m.role, since=m.since, until=m.until, end_reason=m.end_reason)
                    .execution_options(synchronize_session=False)
                )
            else:
                self.session.add(membership_row)
        await self.session.flush()

    async def visible_to(self, family_id: FamilyId, institution_id: InstitutionId) -> bool:
        query = select(FamilyRow.id).where(
            FamilyRow.id == family_id, _family_visible(institution_id, FamilyRow.id, FamilyRow.created_by)
        )
        return (await self.session.scalar(query)) is not None

    async def visible_among(self, ids: Sequence[FamilyId], institution_id: InstitutionId) -> set[FamilyId]:
        if not ids:
            return set()
        query = select(FamilyRow.id).where(
            FamilyRow.id.in_(ids), _family_visible(institution_id, FamilyRow.id, FamilyRow.created_by)
        )
        return {FamilyId(i) for i in await self.session.scalars(query)}

    async def list_visible(self, institution_id: InstitutionId, page: PageRequest) -> Page[Family]:
        query = select(FamilyRow).where(_family_visible(institution_id, FamilyRow.id, FamilyRow.created_by))
        rows, after = await keyset_page(self.session, query, FamilyRow, page)
        return Page(items=await self._with_members(rows), next_after=after)

    async def families_of(self, person_ids: Sequence[PersonId]) -> dict[PersonId, list[FamilyId]]:
        result: dict[PersonId, list[FamilyId]] = defaultdict(list)
        if person_ids:
            rows = await self.session.execute(
                select(MembershipRow.person_id, MembershipRow.family_id).where(
                    MembershipRow.person_id.in_(person_ids),
                    MembershipRow.until.is_(None),
                )
            )
            for person_id, family_id in rows:
                result[PersonId(person_id)].append(FamilyId(family_id))
        return dict(result)


class SqlApiClientRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, client: ApiClient) -> None:
        await insert_row(self.session, mapping.client_to_row(client))

    async def get(self, client_id: str) -> ApiClient | None:
        row = await self.session.scalar(select(ApiClientRow).where(ApiClientRow.client_id == client_id))
        return mapping.client_from_row(row) if row else None
