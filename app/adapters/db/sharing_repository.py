"""SQL storage of agreements, consents and the rate-limit counters shared by every worker process."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, exists, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.adapters.db import mapping
from app.adapters.db.repositories import insert_row, keyset_page, versioned_update
from app.adapters.db.sharing_tables import AgreementPartyRow, AgreementRow, ConsentRow, RateLimitWindowRow
from app.adapters.db.tables import EnrollmentRow, PersonRow
from app.domain.data_categories import DataCategory
from app.domain.ids import AgreementId, ConsentId, InstitutionId, PersonId
from app.domain.lookup_reads import folded
from app.domain.pagination import Page, PageRequest
from app.domain.persons import Enrollment
from app.domain.sharing import Agreement, AgreementParty, Consent


def _codes(values: Sequence[str] | frozenset[str]) -> str:
    return " ".join(sorted(values))


def _categories(raw: str) -> frozenset[DataCategory]:
    return frozenset(DataCategory(c) for c in raw.split())


def _agreement_row(a: Agreement) -> AgreementRow:
    return AgreementRow(
        id=a.id,
        title=a.title,
        purposes=_codes(a.purposes),
        legal_basis=a.legal_basis,
        valid_from=a.valid_from,
        valid_to=a.valid_to,
        document_ref=a.document_ref,
        created_by=a.created_by,
        created_at=a.created_at,
        updated_at=a.updated_at,
        ended_at=a.ended_at,
        end_reason=a.end_reason,
        version=a.version,
    )


def _party_rows(a: Agreement) -> list[AgreementPartyRow]:
    return [
        AgreementPartyRow(
            agreement_id=a.id,
            institution_id=p.institution_id,
            position=n,
            receives=_codes(p.receives),
            signed_on=p.signed_on,
            signed_by=p.signed_by,
        )
        for n, p in enumerate(a.parties)
    ]


def agreement_from_rows(r: AgreementRow, parties: list[AgreementPartyRow]) -> Agreement:
    return Agreement(
        id=AgreementId(r.id),
        title=r.title,
        parties=tuple(
            AgreementParty(
                institution_id=InstitutionId(p.institution_id),
                receives=_categories(p.receives),
                signed_on=p.signed_on,
                signed_by=p.signed_by,
            )
            for p in sorted(parties, key=lambda p: p.position)
        ),
        purposes=frozenset(r.purposes.split()),
        legal_basis=r.legal_basis,
        valid_from=r.valid_from,
        valid_to=r.valid_to,
        document_ref=r.document_ref,
        created_by=InstitutionId(r.created_by),
        created_at=r.created_at,
        updated_at=r.updated_at,
        ended_at=r.ended_at,
        end_reason=r.end_reason,
        version=r.version,
    )


def _consent_row(c: Consent) -> ConsentRow:
    return ConsentRow(
        id=c.id,
        person_id=c.person_id,
        grantee_institution_id=c.grantee_institution_id,
        grantee_kind=c.grantee_kind,
        categories=_codes(c.categories),
        purpose=c.purpose,
        valid_from=c.valid_from,
        valid_to=c.valid_to,
        method=c.method,
        given_on=c.given_on,
        document_ref=c.document_ref,
        recorded_by=c.recorded_by,
        created_at=c.created_at,
        withdrawn_at=c.withdrawn_at,
        withdrawn_by=c.withdrawn_by,
        version=c.version,
    )


def consent_from_row(r: ConsentRow) -> Consent:
    return Consent(
        id=ConsentId(r.id),
        person_id=PersonId(r.person_id),
        grantee_institution_id=InstitutionId(r.grantee_institution_id) if r.grantee_institution_id else None,
        grantee_kind=r.grantee_kind,
        categories=_categories(r.categories),
        purpose=r.purpose,
        valid_from=r.valid_from,
        valid_to=r.valid_to,
        method=r.method,
        given_on=r.given_on,
        document_ref=r.document_ref,
        recorded_by=InstitutionId(r.recorded_by),
        created_at=r.created_at,
        withdrawn_at=r.withdrawn_at,
        withdrawn_by=InstitutionId(r.withdrawn_by) if r.withdrawn_by else None,
        version=r.version,
    )


class SqlAgreementRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, agreement: Agreement) -> None:
        await insert_row(self.session, _agreement_row(agreement))
        self.session.add_all(_party_rows(agreement))
        await self.session.flush()

    async def get(self, agreement_id: AgreementId) -> Agreement | None:
        found = await self._load(select(AgreementRow).where(AgreementRow.id == agreement_id))
        return found[0] if found else None

    async def update(self, agreement: Agreement, *, expected_version: int) -> None:
        row = _agreement_row(agreement)
        values = {k: v for k, v in row.model_dump().items() if k not in {"id", "created_at", "created_by"}}
        await versioned_update(self.session, AgreementRow, agreement.id, expected_version, values)
        await self.session.execute(delete(AgreementPartyRow).where(AgreementPartyRow.agreement_id == agreement.id))
        self.session.add_all(_party_rows(agreement))
        await self.session.flush()

    async def of_institution(self, institution_id: InstitutionId, page: PageRequest) -> Page[Agreement]:
        query = select(AgreementRow).where(_party(institution_id))
        rows, after = await keyset_page(self.session, query, AgreementRow, page)
        return Page(items=await self._with_parties(rows), next_after=after)

    async def not_ended(self, institution_id: InstitutionId) -> list[Agreement]:
        return await self._load(select(AgreementRow).where(_party(institution_id), AgreementRow.ended_at.is_(None)))

    async def _load(self, query: Any) -> list[Agreement]:
        return await self._with_parties(
            list((await self.session.scalars(query.order_by(AgreementRow.created_at))).all())
        )

    async def _with_parties(self, rows: list[AgreementRow]) -> list[Agreement]:
        if not rows:
            return []
        parties: defaultdict[Any, list[AgreementPartyRow]] = defaultdict(list)
        found = await self.session.scalars(
            select(AgreementPartyRow).where(AgreementPartyRow.agreement_id.in_([r.id for r in rows]))
        )
        for p in found:
            parties[p.agreement_id].append(p)
        return [agreement_from_rows(r, parties[r.id]) for r in rows]


def _party(institution_id: InstitutionId) -> Any:
    return exists().where(
        AgreementPartyRow.agreement_id == AgreementRow.id, AgreementPartyRow.institution_id == institution_id
    )


class SqlConsentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, consent: Consent) -> None:
        await insert_row(self.session, _consent_row(consent))

    async def get(self, consent_id: ConsentId) -> Consent | None:
        row = await self.session.scalar(select(ConsentRow).where(ConsentRow.id == consent_id))
        return consent_from_row(row) if row else None

    async def update(self, consent: Consent, *, expected_version: int) -> None:
        values = {
            "withdrawn_at": consent.withdrawn_at,
            "withdrawn_by": consent.withdrawn_by,
            "version": consent.version,
        }
        await versioned_update(self.session, ConsentRow, consent.id, expected_version, values)

    async def of_persons(self, person_ids: Sequence[PersonId]) -> list[Consent]:
        if not person_ids:
            return []
        rows = await self.session.scalars(
            select(ConsentRow)
            .where(ConsentRow.person_id.in_(list(person_ids)))
            .order_by(ConsentRow.created_at, ConsentRow.id)
        )
        return [consent_from_row(r) for r in rows]


class SqlRateLimits:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def count(self, bucket: str, window_start: datetime) -> int:
        hits = await self.session.scalar(
            select(RateLimitWindowRow.hits).where(
                RateLimitWindowRow.bucket == bucket, RateLimitWindowRow.window_start == window_start
            )
        )
        return int(hits or 0)

    async def hit(self, bucket: str, window_start: datetime) -> int:
        # One statement that adds or increments, so that concurrent workers never lose a count.
        dialect = self.session.bind.dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        table: Any = RateLimitWindowRow.__table__
        statement = (
            insert(table)
            .values(bucket=bucket, window_start=window_start, hits=1)
            .on_conflict_do_update(index_elements=["bucket", "window_start"], set_={"hits": table.c.hits + 1})
            .returning(table.c.hits)
        )
        hits = (await self.session.execute(statement)).scalar_one()
        if hits > 1:
            return int(hits)
        # Old windows go as new ones open (the first hit of a window): the table stays as small as the number of
        # active clients, and the other hits of a window cost one statement.
        await self.session.execute(
            delete(RateLimitWindowRow).where(
                RateLimitWindowRow.bucket == bucket, RateLimitWindowRow.window_start < window_start
            )
        )
        return int(hits)


class SqlSharedClientQueries:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_names(self, first_name: str, last_name: str, birth_date: date) -> list[PersonId]:
        rows = await self.session.execute(
            select(PersonRow.id, PersonRow.first_name, PersonRow.last_name).where(PersonRow.birth_date == birth_date)
        )
        wanted = (folded(first_name), folded(last_name))
        return [PersonId(i) for i, first, last in rows if (folded(first), folded(last)) == wanted]

    async def active_enrollments(self, person_ids: Sequence[PersonId]) -> list[Enrollment]:
        if not person_ids:
            return []
        rows = await self.session.scalars(
            select(EnrollmentRow)
            .where(EnrollmentRow.person_id.in_(list(person_ids)), EnrollmentRow.until.is_(None))
            .order_by(EnrollmentRow.since, EnrollmentRow.id)
        )
        return [mapping.enrollment_from_row(r) for r in rows]
