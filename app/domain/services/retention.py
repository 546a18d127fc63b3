"""The retention purge: what has passed its institution's period goes, batch by batch, each removal audited.

Every batch is one transaction that finds, removes and audits together, so a run stopped half-way
leaves nothing purged without its audit record, and the next run carries on. Finders page by id and
each removal re-checks that it is still due, so a re-run, or two runs at once, purge nothing twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from functools import partial
from uuid import UUID

from app.domain.audit import AuditAction, SubjectType
from app.domain.caller import Caller
from app.domain.clock import local_date
from app.domain.data_categories import DataCategory
from app.domain.errors import StaleVersion
from app.domain.ids import PersonId, new_id
from app.domain.institutions import LABOUR_OFFICE_TYPES
from app.domain.ports import UnitOfWork
from app.domain.retention import ACTOR, PURPOSE, PurgeReport, RecordClass, Rule, Scope
from app.domain.services.context import UseCaseContext, audit

# A batch gets a unit of work and the id after which to look; it answers how many records it found
# (fewer than the batch size: no more follow), how many it purged, and the last id it looked at.
Batch = Callable[[UnitOfWork, UUID | None], Awaitable[tuple[int, int, UUID | None]]]


async def purge_expired(ctx: UseCaseContext, now: datetime | None = None, *, dry_run: bool = False) -> PurgeReport:
    """Purge, or with `dry_run` only count, every record past its period at `now` (by default the clock's).

    A dry run counts each class against the data as it stands: a person whom the real run would leave with
    nothing held, by deleting their last enrollment, is counted only by the real run.
    """
    run = _Run(ctx, now or ctx.clock.now(), dry_run=dry_run)
    counts: dict[RecordClass, int] = {}
    # In this order: a person is looked at after what else was let go of in the same run.
    counts[RecordClass.REFERRAL_COPY] = await run.by_scope(RecordClass.REFERRAL_COPY, run.referral_copies)
    counts[RecordClass.ENDED_ENROLLMENT] = await run.by_scope(RecordClass.ENDED_ENROLLMENT, run.enrollments)
    counts[RecordClass.CONSENT] = await run.by_scope(RecordClass.CONSENT, run.consents)
    counts[RecordClass.AGREEMENT] = await run.batches(run.agreements)
    counts[RecordClass.PERSON] = await run.batches(run.persons)
    return PurgeReport(dry_run=dry_run, counts=counts)


class _Run:
    def __init__(self, ctx: UseCaseContext, now: datetime, *, dry_run: bool) -> None:
        self.ctx = ctx
        self.now = now
        self.dry_run = dry_run
        self.request_id = f"retention-{new_id()}"
        self.policy = ctx.policies.retention
        self.limit = self.policy.batch_size

    async def batches(self, batch: Batch) -> int:
        purged, after = 0, None
        while True:
            async with self.ctx.uow() as uow:
                found, done, last = await batch(uow, after)
                if not self.dry_run:
                    await uow.commit()
            purged += done
            if found < self.limit or last is None:
                return purged
            after = last

    async def by_scope(
        self, record_class: RecordClass, batch: Callable[..., Awaitable[tuple[int, int, UUID | None]]]
    ) -> int:
        """One series of batches per institution with its own period, then one for the rest under the default."""
        purged = 0
        for scope, days in self.policy.passes(record_class):
            purged += await self.batches(partial(batch, scope=scope, days=days))
        return purged

    async def _audit(
        self,
        uow: UnitOfWork,
        rule: Rule,
        subject_type: SubjectType,
        subject_id: UUID,
        categories: Sequence[DataCategory] = (),
    ) -> None:
        # The purge acts under the rule of the institution whose record it removes.
        system = Caller(
            subject=ACTOR,
            institution_id=rule.owner,
            scopes=frozenset(),
            roles=frozenset(),
            worker_id=None,
            request_id=self.request_id,
        )
        await audit(
            uow,
            self.ctx,
            system,
            AuditAction.PURGE,
            subject_type,
            [subject_id],
            categories=categories,
            purpose=PURPOSE,
            reason=rule.describe(),
        )

    async def referral_copies(
        self, uow: UnitOfWork, after: UUID | None, *, scope: Scope, days: int
    ) -> tuple[int, int, UUID | None]:
        found = await uow.retention.closed_referrals(scope, self.now - timedelta(days=days), after, self.limit)
        done = 0
        for copy in found:
            if self.dry_run:
                done += 1
            elif await uow.retention.purge_receiver_copy(copy.referral_id, self.now):
                rule = self.policy.rule(RecordClass.REFERRAL_COPY, copy.receiver_id)
                categories = (DataCategory.IDENTITY, DataCategory.REFERRAL)
                await self._audit(uow, rule, SubjectType.REFERRAL, copy.referral_id, categories)
                done += 1
        return len(found), done, found[-1].referral_id if found else None

    async def enrollments(
        self, uow: UnitOfWork, after: UUID | None, *, scope: Scope, days: int
    ) -> tuple[int, int, UUID | None]:
        ended_before = local_date(self.now) - timedelta(days=days)
        found = await uow.retention.ended_enrollments(scope, ended_before, after, self.limit)
        done = 0
        for enrollment in found:
            if self.dry_run:
                done += 1
            elif await uow.retention.delete_enrollment(enrollment.enrollment_id, ended_before):
                rule = self.policy.rule(RecordClass.ENDED_ENROLLMENT, enrollment.institution_id)
                category = (
                    DataCategory.LABOUR_MARKET_STATUS
                    if enrollment.institution_type in LABOUR_OFFICE_TYPES
                    else DataCategory.SOCIAL_ASSISTANCE_STATUS
                )
                await self._audit(uow, rule, SubjectType.ENROLLMENT, enrollment.enrollment_id, [category])
                done += 1
        return len(found), done, found[-1].enrollment_id if found else None

    async def consents(
        self, uow: UnitOfWork, after: UUID | None, *, scope: Scope, days: int
    ) -> tuple[int, int, UUID | None]:
        ended_before = self.now - timedelta(days=days)
        found = await uow.retention.ended_consents(scope, ended_before, after, self.limit)
        done = 0
        for consent in found:
            if self.dry_run:
                done += 1
            elif await uow.retention.delete_consent(consent.consent_id, ended_before):
                rule = self.policy.rule(RecordClass.CONSENT, consent.owner)
                await self._audit(uow, rule, SubjectType.CONSENT, consent.consent_id)
                done += 1
        return len(found), done, found[-1].consent_id if found else None

    async def agreements(self, uow: UnitOfWork, after: UUID | None) -> tuple[int, int, UUID | None]:
        # Found by the shortest period of all; each then waits for the longest among its own parties.
        shortest = self.now - timedelta(days=self.policy.shortest(RecordClass.AGREEMENT))
        found = await uow.retention.ended_agreements(shortest, after, self.limit)
        done = 0
        for agreement in found:
            rule = self.policy.longest(RecordClass.AGREEMENT, agreement.parties)
            if not agreement.due(rule, self.now):
                continue
            if self.dry_run:
                done += 1
            elif await uow.retention.delete_agreement(agreement.agreement_id):
                await self._audit(uow, rule, SubjectType.AGREEMENT, agreement.agreement_id)
                done += 1
        return len(found), done, found[-1].agreement_id if found else None

    async def persons(self, uow: UnitOfWork, after: UUID | None) -> tuple[int, int, UUID | None]:
        shortest = self.now - timedelta(days=self.policy.shortest(RecordClass.PERSON))
        found = await uow.retention.idle_persons(shortest, after, self.limit)
        due: dict[PersonId, Rule] = {}
        for idle in found:
            rule = self.policy.longest(RecordClass.PERSON, idle.linked)
            if idle.due(rule, self.now):
                due[idle.person_id] = rule
        done = 0
        for person in await uow.persons.get_many(list(due)):
            if person.anonymised:
                continue
            if self.dry_run:
                done += 1
                continue
            expected = person.version
            person.anonymise(self.now)
            try:
                await uow.persons.update(person, expected_version=expected)
            except StaleVersion:
                continue  # changed since it was found: someone is working with the person again
            await self._audit(uow, due[person.id], SubjectType.PERSON, person.id, [DataCategory.IDENTITY])
            done += 1
        return len(found), done, found[-1].person_id if found else None
