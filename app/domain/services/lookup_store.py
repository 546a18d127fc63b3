"""The lookup's read model over any unit of work: the repositories asked one by one.

Used where no storage of its own answers the lookup in one statement (SQLite, the in-memory fakes); PostgreSQL has
one (app/adapters/db/lookup_reads.py) and both must answer alike.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.domain.audit import AuditRecord
from app.domain.ids import InstitutionId, PersonId
from app.domain.lookup_reads import LookupGrounds, LookupKey, RateWindow
from app.domain.ports import UnitOfWork, UnitOfWorkFactory


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
            worker_ids = list({e.worker_id for e in enrollments if e.worker_id is not None})
            workers = await uow.workers.get_many(worker_ids) if worker_ids else []
            return LookupGrounds(
                hits=hits,
                caller_institution=institution,
                candidates=candidates,
                active_enrollments=enrollments,
                institutions={i.id: i for i in places},
                workers={w.id: w for w in workers},
                agreements=await uow.agreements.not_ended(caller_institution),
                consents=await uow.consents.of_persons(candidates) if candidates else [],
            )

    async def record(self, records: Sequence[AuditRecord], window: RateWindow) -> bool:
        async with self._uow() as uow:
            # Counted last, just before the commit, so that the client's counter row stays locked only that long.
            for entry in records:
                await uow.audit.record(entry)
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
