"""The shared-client lookup: is this person also served elsewhere, and who is their worker there?

It answers that and nothing more (no benefits, no case content), only for institutions the access policy
opens to the caller for the named purpose, and an answer with nothing allowed looks exactly like no match.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from app.domain.audit import AuditAction, Decision, SubjectType
from app.domain.caller import Caller, Scope
from app.domain.errors import FieldError, InvalidInput, RateLimited
from app.domain.ids import InstitutionId, PersonId, new_id
from app.domain.institutions import Institution, Worker
from app.domain.persons import Enrollment
from app.domain.ports import UnitOfWork
from app.domain.services.access import access_check, check_purpose, status_category
from app.domain.services.context import UseCaseContext, audit
from app.domain.services.persons import caller_institution
from app.domain.values import Pesel


@dataclass(frozen=True, slots=True, kw_only=True)
class SharedClientQuery:
    purpose: str
    pesel: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    birth_date: date | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ServedThere:
    institution: Institution
    since: date
    worker: Worker | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SharedClientMatch:
    person_id: PersonId
    served_at: list[ServedThere]


def _window(now: datetime, seconds: int) -> tuple[datetime, int]:
    epoch = int(now.timestamp())
    start = epoch - epoch % seconds
    return datetime.fromtimestamp(start, tz=now.tzinfo), start + seconds - epoch


def _limit(ctx: UseCaseContext, caller: Caller) -> tuple[str, datetime, int]:
    window_start, retry_after = _window(ctx.clock.now(), ctx.policies.lookup_window_seconds)
    return f"lookup:{caller.institution_id}:{caller.subject}", window_start, retry_after


def _refuse_over(ctx: UseCaseContext, hits: int, retry_after: int) -> None:
    per_window, seconds = ctx.policies.lookups_per_window, ctx.policies.lookup_window_seconds
    if hits > per_window:
        raise RateLimited(f"at most {per_window} lookups per {seconds} s for one client", max(retry_after, 1))


async def _refuse_when_spent(uow: UnitOfWork, ctx: UseCaseContext, caller: Caller) -> None:
    """A client whose window is spent is refused before anything is searched: the answer comes as fast whether the
    person exists or not, and the database does no work for it."""
    bucket, window_start, retry_after = _limit(ctx, caller)
    _refuse_over(ctx, await uow.rate_limits.count(bucket, window_start) + 1, retry_after)


async def _count_against_limit(uow: UnitOfWork, ctx: UseCaseContext, caller: Caller) -> None:
    """Counted in the lookup's own transaction, as its last statement before the commit, so that the client's
    counter row is locked only for the commit. A lookup over the limit (lookups at the same moment the read above
    let through) is refused and rolled back whole: it discloses nothing and leaves no trace; a lookup that matches
    nothing, or nothing the caller may see, commits and counts (against enumeration)."""
    bucket, window_start, retry_after = _limit(ctx, caller)
    _refuse_over(ctx, await uow.rate_limits.hit(bucket, window_start), retry_after)


def _validate(query: SharedClientQuery) -> Pesel | None:
    if query.pesel is not None:
        if any(v is not None for v in (query.first_name, query.last_name, query.birth_date)):
            raise InvalidInput(
                "look up by PESEL or by names and birth date, not both",
                [FieldError("pesel", "give either a PESEL or names with a birth date")],
            )
        return Pesel.parse(query.pesel)
    missing = [
        FieldError(name, "required without a PESEL")
        for name, value in (
            ("first_name", query.first_name),
            ("last_name", query.last_name),
            ("birth_date", query.birth_date),
        )
        if not value or (isinstance(value, str) and not value.strip())
    ]
    if missing:
        raise InvalidInput("a person without PESEL is looked up by names and birth date", missing)
    return None


async def _candidates(uow: UnitOfWork, query: SharedClientQuery, pesel: Pesel | None) -> list[PersonId]:
    if pesel is not None:
        person = await uow.persons.by_pesel(pesel)
        return [person.id] if person else []
    if not (query.first_name and query.last_name and query.birth_date):
        return []
    return await uow.shared_clients.by_names(query.first_name, query.last_name, query.birth_date)


async def lookup_shared_client(
    ctx: UseCaseContext, caller: Caller, query: SharedClientQuery
) -> list[SharedClientMatch]:
    caller.require(Scope.PERSONS_READ)
    check_purpose(ctx, query.purpose)
    pesel = _validate(query)
    async with ctx.uow() as uow:
        await _refuse_when_spent(uow, ctx, caller)
        institution = await caller_institution(uow, caller)
        candidates = await _candidates(uow, query, pesel)
        enrollments = await uow.shared_clients.active_enrollments(candidates)
        places = {i.id: i for i in await uow.institutions.get_many(list({e.institution_id for e in enrollments}))}
        check = await access_check(uow, ctx, caller, institution, query.purpose, candidates)
        matches: list[SharedClientMatch] = []
        for person_id in candidates:
            decided = [
                (e, check.decide(person_id, status_category(places[e.institution_id].type), e.institution_id))
                for e in enrollments
                if e.person_id == person_id
            ]
            allowed = [e for e, decision in decided if decision.allowed]
            if not allowed:
                continue
            reasons = [decision.reason for _, decision in decided if decision.allowed]
            await audit(
                uow,
                ctx,
                caller,
                AuditAction.LOOKUP,
                SubjectType.PERSON,
                [person_id],
                categories=sorted({status_category(places[e.institution_id].type) for e in allowed}),
                purpose=query.purpose,
                reason="; ".join(dict.fromkeys(reasons)),
            )
            matches.append(SharedClientMatch(person_id=person_id, served_at=await _served(uow, allowed, places)))
        if not matches:
            # Recorded without a subject: a refused match is told apart from no match nowhere, not even in the
            # caller's own audit trail, so that the trail cannot be used to enumerate who exists.
            await audit(
                uow,
                ctx,
                caller,
                AuditAction.LOOKUP,
                SubjectType.LOOKUP,
                [new_id()],
                purpose=query.purpose,
                decision=Decision.DENY,
                reason="no match that the agreements and consents open to you",
            )
        await _count_against_limit(uow, ctx, caller)
        await uow.commit()
    return matches


async def _served(
    uow: UnitOfWork, enrollments: list[Enrollment], places: dict[InstitutionId, Institution]
) -> list[ServedThere]:
    worker_ids = [e.worker_id for e in enrollments if e.worker_id is not None]
    workers = {w.id: w for w in await uow.workers.get_many(worker_ids)} if worker_ids else {}
    return [
        ServedThere(
            institution=places[e.institution_id],
            since=e.since,
            worker=workers.get(e.worker_id) if e.worker_id else None,
        )
        for e in enrollments
    ]
