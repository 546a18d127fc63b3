"""The hot paths' read models over any unit of work: the repositories asked one by one.

Used where no storage of its own answers in one statement (SQLite, the in-memory fakes); PostgreSQL has its own
(app/adapters/db/read_models.py) and both must answer alike (tests/integration/test_read_models.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from app.domain.audit import AuditRecord
from app.domain.family_reads import FamilyGrounds
from app.domain.ids import FamilyId, InstitutionId, PersonId
from app.domain.lookup_reads import LookupGrounds, LookupKey, RateWindow
from app.domain.person_reads import PersonGrounds
from app.domain.ports import UnitOfWork, UnitOfWorkFactory
from app.domain.read_models import ReadModels
from app.domain.services.views import shown_members, visible_families_of, workers_of


class UnitOfWorkLookupReads:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def grounds(self, caller_institution: InstitutionId, key: LookupKey, window: RateWindow) -> LookupGrounds:
        async with self._uow() as uow:
            hits = await uow.rate_limits.count(window.bucket, window.start)
            institution = await uow.institutions.get(caller_institution)
            if hits >= window.per_window or institution is None:
                return LookupGrounds(hits=hits, caller_institution=institution)
            candidates = await _candidates(uow, key)
            enrollments = await uow.shared_clients.active_enrollments(candidates)
            places = await uow.institutions.get_many(list({e.institution_id for e in enrollments}))
            return LookupGrounds(
                hits=hits,
                caller_institution=institution,
                candidates=candidates,
                active_enrollments=enrollments,
                institutions={i.id: i for i in places},
                workers=await workers_of(uow, enrollments),
                agreements=await uow.agreements.not_ended(caller_institution),
                consents=await uow.consents.of_persons(candidates) if candidates else [],
            )

    async def record(self, records: Sequence[AuditRecord], window: RateWindow) -> bool:
        async with self._uow() as uow:
            # Counted last, just before the commit, so that the client's counter row stays locked only that long.
            await uow.audit.record_many(records)
            if await uow.rate_limits.hit(window.bucket, window.start) > window.per_window:
                return False
            await uow.commit()
        return True


async def _candidates(uow: UnitOfWork, key: LookupKey) -> list[PersonId]:
    if key.pesel is not None:
        person = await uow.persons.by_pesel(key.pesel)
        return [person.id] if person else []
    if not (key.first_name and key.last_name and key.birth_date):
        return []
    return await uow.shared_clients.by_names(key.first_name, key.last_name, key.birth_date)


class UnitOfWorkFamilyReads:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def grounds(self, family_ids: Sequence[FamilyId], caller_institution: InstitutionId) -> FamilyGrounds:
        async with self._uow() as uow:
            visible = await uow.families.visible_among(list(dict.fromkeys(family_ids)), caller_institution)
            families = await uow.families.get_many(list(visible))
            persons = await shown_members(uow, families, caller_institution)
            ids = [p.id for p in persons]
            enrollments = await uow.enrollments.for_persons(ids, caller_institution)
            kept_elsewhere = list(
                {m.person_id for f in families if f.created_by != caller_institution for m in f.current_members}
            )
            return FamilyGrounds(
                caller_institution=await uow.institutions.get(caller_institution),
                families=families,
                persons=persons,
                own_enrollments=enrollments,
                workers=await workers_of(uow, enrollments),
                families_of=await visible_families_of(uow, ids, caller_institution),
                agreements=await uow.agreements.not_ended(caller_institution) if kept_elsewhere else [],
                consents=await uow.consents.of_persons(kept_elsewhere) if kept_elsewhere else [],
            )

    async def record(self, records: Sequence[AuditRecord]) -> None:
        await _record(self._uow, records)


class UnitOfWorkPersonReads:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def grounds(self, person_id: PersonId, caller_institution: InstitutionId) -> PersonGrounds:
        async with self._uow() as uow:
            person = await uow.persons.get(person_id)
            institution = await uow.institutions.get(caller_institution)
            if person is None:
                return PersonGrounds(person=None, caller_institution=institution)
            active = await uow.shared_clients.active_enrollments([person_id])
            places = list({e.institution_id for e in active if e.institution_id != caller_institution})
            own_enrollments = await uow.enrollments.for_persons([person_id], caller_institution)
            families = await visible_families_of(uow, [person_id], caller_institution)
            return PersonGrounds(
                person=person,
                caller_institution=institution,
                own=await uow.persons.visible_to(person_id, caller_institution),
                active_enrollments=active,
                institutions={i.id: i for i in await uow.institutions.get_many(places)},
                own_enrollments=own_enrollments,
                workers=await workers_of(uow, [*own_enrollments, *active]),
                family_ids=families.get(person_id, []),
                agreements=await uow.agreements.not_ended(caller_institution),
                consents=await uow.consents.of_persons([person_id]),
            )

    async def record(self, records: Sequence[AuditRecord]) -> None:
        await _record(self._uow, records)


async def _record(factory: UnitOfWorkFactory, records: Sequence[AuditRecord]) -> None:
    async with factory() as uow:
        await uow.audit.record_many(records)
        await uow.commit()


def unit_of_work_read_models(uow: UnitOfWorkFactory) -> ReadModels:
    return ReadModels(
        lookups=UnitOfWorkLookupReads(uow), families=UnitOfWorkFamilyReads(uow), persons=UnitOfWorkPersonReads(uow)
    )
